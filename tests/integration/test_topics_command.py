"""``videorecog topics`` creates the service's topics with the partitions asked for, and is safe
to run again (the chart runs it as a hook on every upgrade)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from aiokafka import AIOKafkaConsumer


def _run_topics(bootstrap: str, prefix: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VIDEORECOG_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "VIDEORECOG_INPUT_TOPIC": f"{prefix}-in",
        "VIDEORECOG_OUTPUT_TOPIC": f"{prefix}-out",
        "VIDEORECOG_DLQ_TOPIC": f"{prefix}-dlq",
        "VIDEORECOG_JOBS_TOPIC": f"{prefix}-jobs",
    }
    return subprocess.run(
        [sys.executable, "-m", "videorecog", "topics", "--partitions", "4"],
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
