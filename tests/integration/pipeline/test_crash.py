"""SIGKILL in the middle of the run: every event still gets a result, and no job is submitted
again for an event whose job id had been recorded."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from tests.conftest import BROKERS
from tests.integration.pipeline.conftest import (
    Topics,
    event,
    pipeline_env,
    produce,
    simulated_api,
)


class Results:
    """Reads the output topic as results arrive."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
        )
        self.video_ids: list[str] = []

    async def __aenter__(self) -> Results:
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def read(self) -> int:
        batches = await self._consumer.getmany(timeout_ms=100)
        self.video_ids += [orjson.loads(r.value)["video_id"] for b in batches.values() for r in b]
        return len(self.video_ids)


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


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "videorecog", "pipeline"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


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
        first = _start(env, tmp_path / "first.log")
        try:
            async with asyncio.timeout(90):
                while await results.read() < 30:
                    assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        assert await results.read() < count, "the crash should come mid-run"

        second = _start(env, tmp_path / "second.log")
        try:
            async with asyncio.timeout(120):
                while len(set(results.video_ids)) < count:
                    assert second.poll() is None, (tmp_path / "second.log").read_text()[-3000:]
                    await results.read()
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=60) == 0, (tmp_path / "second.log").read_text()[-3000:]

        recorded = await _recorded_job_ids(bootstrap_servers, topics.jobs)
        job_ids = dict(simulator.state.job_ids)
    assert set(results.video_ids) == {f"v{i}" for i in range(count)}
    resubmitted_after_record = [
        url for url, ids in job_ids.items() if any(j in recorded for j in ids[:-1])
    ]
    assert not resubmitted_after_record
    assert sum(len(ids) for ids in job_ids.values()) < count + 40  # only the unrecorded window
