"""SIGKILL in the middle of the run: every event still gets a result (exactly once with
exactly-once delivery), and no job is submitted again for an event whose job id had been
recorded."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import ProducerFenced

from tests.conftest import chains
from tests.integration.pipeline.conftest import (
    Results,
    Topics,
    assert_delivered,
    event,
    kill_then_restart,
    pipeline_env,
    pipeline_settings,
    produce,
    read_all,
    running,
    simulated_api,
    with_malformed,
)
from videorecog.pipeline.transactions import transactional_id


async def _recorded_job_ids(bootstrap: str, topic: str) -> set[str]:
    """Every job id ever written to the job log (tombstones aside)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    ids: set[str] = set()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=700)
            if not batches:
                return ids
            ids |= {orjson.loads(r.value)["job_id"] for b in batches.values() for r in b if r.value}
    finally:
        await consumer.stop()


# Against noida-db with the idempotent producer on: it never expires a SIGKILLed member, so the
# restart takes its place by static membership (the same VIDEORECOG_INSTANCE_ID).
@chains
async def test_sigkill_then_restart_loses_nothing_and_resubmits_nothing(
    bootstrap_servers: str, topics: Topics, tmp_path: Path, delivery: str
) -> None:
    """A SIGKILL mid-run and a restart under the same instance id: every event gets its result
    (malformed ones their dead letter), exactly once with exactly-once delivery; no job whose id
    had been recorded is submitted again."""
    count = 300
    uploads, malformed = with_malformed(count, every=30)
    await produce(bootstrap_servers, topics.input, uploads)
    async with (
        simulated_api(median_job_seconds=1.5, seed=3) as (simulator, endpoint),
        Results(bootstrap_servers, topics.output) as results,
    ):
        env = pipeline_env(
            bootstrap_servers,
            topics,
            endpoint,
            VIDEORECOG_DELIVERY=delivery,
            VIDEORECOG_LOG_LEVEL="WARNING",
            VIDEORECOG_MAX_INFLIGHT="120",
            VIDEORECOG_MAX_INFLIGHT_PER_PARTITION="60",
            VIDEORECOG_API_RATE_LIMIT="200",
            VIDEORECOG_POLL_RATE_LIMIT="200",
            VIDEORECOG_API_CONCURRENCY="16",
        )
        await kill_then_restart(env, results, tmp_path, kill_after=30, count=count)

        recorded = await _recorded_job_ids(bootstrap_servers, topics.jobs)
        job_ids = dict(simulator.state.job_ids)
    outputs = await read_all(bootstrap_servers, topics.output, want=count)
    dead = await read_all(bootstrap_servers, topics.dlq, want=len(malformed))
    assert_delivered(outputs, dead, count, malformed, delivery)
    resubmitted_after_record = [
        url for url, ids in job_ids.items() if any(j in recorded for j in ids[:-1])
    ]
    assert not resubmitted_after_record
    assert sum(len(ids) for ids in job_ids.values()) < count + 40  # only the unrecorded window


@pytest.mark.parametrize("kafka_broker", ["noida"], indirect=True)
async def test_a_restart_closes_the_transaction_its_predecessor_left_open(
    bootstrap_servers: str, topics: Topics
) -> None:
    """A transaction left open under the instance's transactional id (a predecessor killed in the
    middle of it) is aborted when the instance starts again: its records are never read, and
    read_committed readers are not held up behind it (noida-db, like Kafka before the
    transaction timeout, would keep it open)."""
    await produce(bootstrap_servers, topics.input, [event("v0", "http://media.example/0.mp4")])
    async with simulated_api(median_job_seconds=0.2, seed=1) as (_, endpoint):
        settings = pipeline_settings(
            bootstrap_servers, topics, endpoint, VIDEORECOG_DELIVERY="exactly-once"
        )
        zombie = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers, transactional_id=transactional_id(settings.kafka)
        )
        await zombie.start()
        try:
            await zombie.begin_transaction()
            await zombie.send_and_wait(topics.output, b'{"video_id": "zombie"}', key=b"zombie")
            async with running(settings):
                outputs = await read_all(bootstrap_servers, topics.output, want=1, timeout=30)
            with pytest.raises(ProducerFenced):
                await zombie.commit_transaction()
        finally:
            await zombie.stop()
    assert [r.key for r in outputs] == [b"v0"]
