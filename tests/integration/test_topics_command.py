"""``videorecog topics`` creates the service's topics with the partitions asked for, and is safe
to run again (the chart runs it as a hook on every upgrade)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition


def _run_topics(bootstrap: str, prefix: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VIDEORECOG_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "VIDEORECOG_INPUT_TOPIC": f"{prefix}-in",
        "VIDEORECOG_OUTPUT_TOPIC": f"{prefix}-out",
        "VIDEORECOG_DLQ_TOPIC": f"{prefix}-dlq",
        "VIDEORECOG_JOBS_TOPIC": f"{prefix}-jobs",
    }
    return subprocess.run(
        [sys.executable, "-m", "videorecog", "topics", "--partitions", "4", *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_topics_command_creates_and_is_idempotent(bootstrap_servers: str) -> None:
    prefix = f"topics-{uuid.uuid4().hex[:8]}"
    first = _run_topics(bootstrap_servers, prefix)
    assert first.returncode == 0, first.stderr
    again = _run_topics(bootstrap_servers, prefix)
    assert again.returncode == 0, again.stderr

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers)
    await consumer.start()
    try:
        await consumer.topics()  # refreshes the metadata partitions_for_topic reads
        partitions = {
            suffix: len(consumer.partitions_for_topic(f"{prefix}-{suffix}") or ())
            for suffix in ("in", "out", "dlq", "jobs")
        }
    finally:
        await consumer.stop()
    assert partitions == {"in": 4, "out": 4, "dlq": 1, "jobs": 4}


async def test_migrating_the_job_log_moves_old_entries_to_their_partition(
    bootstrap_servers: str,
) -> None:
    """Entries an earlier version placed by key hash move to their input partition's partition;
    where that partition already has the key, it wins and the old entry is only cleared."""
    prefix = f"migrate-{uuid.uuid4().hex[:8]}"
    assert _run_topics(bootstrap_servers, prefix).returncode == 0
    jobs, key = f"{prefix}-jobs", f"{prefix}-in/{{}}".format
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        old = [
            (key("1/5/shots"), b'{"job_id": "J1"}', 3),  # belongs in 1
            (key("2/0/gif"), b'{"job_id": "J2"}', 2),  # already in place
            (key("0/3/cover"), b'{"job_id": "J3"}', 1),  # belongs in 0, which cleared it since
            (key("0/3/cover"), None, 0),
        ]
        for k, value, partition in old:
            await producer.send_and_wait(jobs, value, key=k.encode(), partition=partition)
    finally:
        await producer.stop()

    done = _run_topics(bootstrap_servers, prefix, "--migrate-job-log")
    assert done.returncode == 0, done.stderr
    assert f"job log {jobs}: 1 entries moved" in done.stdout

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    latest: dict[tuple[str, int], bytes | None] = {}
    try:
        tps = [TopicPartition(jobs, p) for p in range(4)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    latest[(r.key.decode(), r.partition)] = r.value
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    live = {k: v for k, v in latest.items() if v is not None}
    assert live == {
        (key("1/5/shots"), 1): b'{"job_id": "J1"}',
        (key("2/0/gif"), 2): b'{"job_id": "J2"}',
    }
