"""SIGKILL in the middle of the run: every event still gets a result, and no job is submitted
again for an event whose job id had been recorded."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from tests.conftest import BROKERS
from tests.integration.pipeline.conftest import (
    Results,
    Topics,
    event,
    kill_then_restart,
    pipeline_env,
    produce,
    simulated_api,
)


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


# Also against noida-db with the idempotent producer on: it never expires a SIGKILLed member, so
# the restart takes its place by static membership (the same VIDEORECOG_INSTANCE_ID).
@pytest.mark.parametrize("kafka_broker", BROKERS, indirect=True)
async def test_sigkill_then_restart_loses_nothing_and_resubmits_nothing(
    bootstrap_servers: str, topics: Topics, tmp_path: Path
) -> None:
    count = 300
    await produce(
        bootstrap_servers,
        topics.input,
        [event(f"v{i}", f"http://media.example/{i}.mp4", ["shots"]) for i in range(count)],
    )
    async with (
        simulated_api(median_job_seconds=1.5, seed=3) as (simulator, endpoint),
        Results(bootstrap_servers, topics.output) as results,
    ):
        env = pipeline_env(
            bootstrap_servers,
            topics,
            endpoint,
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
    assert set(results.video_ids) == {f"v{i}" for i in range(count)}
    resubmitted_after_record = [
        url for url, ids in job_ids.items() if any(j in recorded for j in ids[:-1])
    ]
    assert not resubmitted_after_record
    assert sum(len(ids) for ids in job_ids.values()) < count + 40  # only the unrecorded window
