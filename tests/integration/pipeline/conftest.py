"""A pipeline in the test's own event loop, wired to the real broker and the real engine."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.conftest import CREDENTIALS, Topics
from tests.support import NoidaBroker
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.runner import started
from videorecog.pipeline.service import Pipeline
from videorecog.settings import Settings, load


@pytest.fixture
def private_noida_broker(tmp_path: Path) -> Iterator[NoidaBroker]:
    """A noida-db broker of the test's own, to be frozen (``NoidaBroker.freeze``) without harming
    other tests: ``@pytest.mark.parametrize("kafka_broker", ["private_noida"], indirect=True)``."""
    broker = NoidaBroker(tmp_path / "noida-db")
    broker.start()
    try:
        asyncio.run(asyncio.wait_for(broker.wait_ready(), 30))
        yield broker
    finally:
        broker.thaw()
        broker.stop()


def pipeline_settings(bootstrap: str, topics: Topics, endpoint: str, **extra: str) -> Settings:
    return load(pipeline_env(bootstrap, topics, endpoint, **extra))


def pipeline_env(bootstrap: str, topics: Topics, endpoint: str, **extra: str) -> dict[str, str]:
    return {
        "VIDEORECOG_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "VIDEORECOG_INPUT_TOPIC": topics.input,
        "VIDEORECOG_OUTPUT_TOPIC": topics.output,
        "VIDEORECOG_DLQ_TOPIC": topics.dlq,
        "VIDEORECOG_JOBS_TOPIC": topics.jobs,
        "VIDEORECOG_GROUP_ID": topics.group,
        # Each pipeline of a test its own member of the group; a restart reuses its env (and id).
        "VIDEORECOG_INSTANCE_ID": f"pipeline-{uuid.uuid4().hex[:8]}",
        "VIDEORECOG_KAFKA_IDEMPOTENCE": str(topics.idempotence).lower(),
        "VIDEORECOG_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "VIDEORECOG_ENDPOINT": endpoint,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "ak-test",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": CREDENTIALS["ak-test"],
        "VIDEORECOG_API_RATE_LIMIT": "40",
        "VIDEORECOG_POLL_RATE_LIMIT": "40",
        "VIDEORECOG_API_CONCURRENCY": "4",
        "VIDEORECOG_POLL_FIRST_SECONDS": "0.2",
        "VIDEORECOG_POLL_MAX_SECONDS": "0.5",
        "VIDEORECOG_COMMIT_INTERVAL_SECONDS": "0.2",
        "VIDEORECOG_SHUTDOWN_GRACE_SECONDS": "5",
        "VIDEORECOG_METRICS_PORT": "0",
        **extra,
    }


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Pipeline]:
    """Run a pipeline until the block ends, then stop it the way SIGTERM does."""
    stop = asyncio.Event()
    async with started(settings, PipelineMetrics(), host="127.0.0.1") as (pipeline, _):
        task = asyncio.create_task(pipeline.run(stop))
        try:
            yield pipeline
        finally:
            stop.set()
            await stopped(task, 60)


async def stopped(task: asyncio.Task[None], seconds: float) -> None:
    """Wait for a pipeline told to stop; one still running after ``seconds`` fails the test
    (``wait_for`` would wait on for good for a task that does not end when cancelled)."""
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        waiting = _stacks()  # where it waits, before cancelling moves it on
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=10)
        raise AssertionError(
            f"the pipeline did not stop within {seconds:g} s"
            + ("" if done else ", nor when cancelled")
            + f"; its tasks were waiting here:\n{waiting}"
        )
    task.result()


def _stacks() -> str:
    """Where every unfinished task of the loop waits (a stuck stop is otherwise a mystery)."""
    out = io.StringIO()
    for pending in asyncio.all_tasks():
        if not pending.done():
            pending.print_stack(limit=12, file=out)
    return out.getvalue()


def sample(pipeline: Pipeline, name: str, **labels: str) -> float:
    """The value of one metric sample (0 when it was never touched)."""
    value = pipeline.metrics.registry.get_sample_value(f"videorecog_pipeline_{name}", labels)
    return value or 0.0


async def produce(
    bootstrap: str,
    topic: str,
    events: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]],
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value, headers in events:
            await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def read_all(
    bootstrap: str,
    topic: str,
    want: int,
    timeout: float = 120,
    distinct: Callable[[Any], object] | None = None,
) -> list[Any]:
    """Read from the start of ``topic`` (no group) until ``want`` records (or, with
    ``distinct``, ``want`` distinct keys of records) are there; fail after ``timeout``."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        # What downstream readers of exactly-once output use (the same as any other otherwise).
        isolation_level="read_committed",
    )
    await consumer.start()
    records: list[Any] = []
    try:

        def enough() -> bool:
            if distinct is None:
                return len(records) >= want
            return len({distinct(r) for r in records}) >= want

        async with asyncio.timeout(timeout):
            while not enough():
                batches = await consumer.getmany(timeout_ms=500)
                for batch in batches.values():
                    records.extend(batch)
        # Anything beyond ``want`` that is already there counts too (duplicates show up).
        batches = await consumer.getmany(timeout_ms=1000)
        for batch in batches.values():
            records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def committed(bootstrap: str, topic: str, group: str, partitions: int) -> dict[int, int]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        return {
            p: (await consumer.committed(TopicPartition(topic, p))) or 0 for p in range(partitions)
        }
    finally:
        await consumer.stop()


async def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        ends = await consumer.end_offsets(tps)
        return {tp.partition: ends[tp] for tp in tps}
    finally:
        await consumer.stop()


Upload = tuple[bytes, bytes, list[tuple[str, bytes]]]
"""An upload event's key, value and headers."""


def event(video_id: str, url: str, tasks: list[str] | None = None) -> Upload:
    body: dict[str, Any] = {"video_id": video_id, "video_url": url, "attributes": {"n": video_id}}
    if tasks is not None:
        body["tasks"] = tasks
    return video_id.encode(), orjson.dumps(body), []


def with_malformed(count: int, every: int) -> tuple[list[Upload], set[bytes]]:
    """``count`` good events with a malformed one (not JSON) after every ``every``; the keys of
    the malformed ones."""
    events: list[Upload] = []
    malformed: set[bytes] = set()
    for i in range(count):
        events.append(event(f"v{i}", f"http://media.example/{i}.mp4", ["shots"]))
        if i % every == every - 1:
            key = f"bad-{i}".encode()
            events.append((key, b"{not json", []))
            malformed.add(key)
    return events, malformed


def assert_delivered(
    results: list[Any], dead: list[Any], count: int, malformed: set[bytes], delivery: str
) -> None:
    """Every event has its outcome; exactly once, a single one (read with read_committed)."""
    video_ids = Counter(orjson.loads(r.value)["video_id"] for r in results)
    dead_keys = Counter(r.key for r in dead)
    assert set(video_ids) == {f"v{i}" for i in range(count)}
    assert set(dead_keys) == malformed
    if delivery == "exactly-once":
        assert [v for v, n in video_ids.items() if n > 1] == []
        assert [k for k, n in dead_keys.items() if n > 1] == []


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def simulated_api(**config: Any) -> AsyncIterator[tuple[Any, str]]:
    """The API SIMULATOR on a free loopback port: (simulator, endpoint)."""
    from videorecog.serving import serving
    from videorecog.simulator import ApiSimulator, SimulatorConfig

    simulator = ApiSimulator({"ak-test": CREDENTIALS["ak-test"]}, SimulatorConfig(**config))
    async with serving(simulator.app(), "127.0.0.1", 0) as port:
        yield simulator, f"http://127.0.0.1:{port}"


def start_pipeline(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``videorecog pipeline`` as a child process (to be killed), its output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "videorecog", "pipeline"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


class Results:
    """Reads the output topic as results arrive: their bodies and video ids, in order."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        # Committed records only: with exactly-once delivery what an aborted transaction wrote
        # is never a result.
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        self.bodies: list[dict[str, Any]] = []

    @property
    def video_ids(self) -> list[str]:
        return [body["video_id"] for body in self.bodies]

    async def __aenter__(self) -> Results:
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def read(self) -> int:
        batches = await self._consumer.getmany(timeout_ms=100)
        self.bodies += [orjson.loads(r.value) for b in batches.values() for r in b]
        return len(self.bodies)


async def kill_then_restart(
    env: dict[str, str],
    results: Results,
    logs: Path,
    *,
    kill_after: int,
    count: int,
    uncommitted: bool = False,
) -> None:
    """Run ``videorecog pipeline`` until ``kill_after`` results are out and SIGKILL it; then run
    it again with the same settings until ``count`` events have results, and stop it (SIGTERM,
    exit status 0). ``uncommitted``: the first run committed nothing, so the second one gives
    every event a result again: read until as many more results as events have come (among them
    the second answers to the events answered before the crash), not only until every event has
    one."""
    first = start_pipeline(env, logs / "first.log")
    try:
        async with asyncio.timeout(90):
            while await results.read() < kill_after:
                assert first.poll() is None, (logs / "first.log").read_text()[-3000:]
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert len(set(results.video_ids)) < count, "the crash should come mid-run"
    # The second run gives all ``count`` events a result: this many more is enough even when
    # some of the first run's arrive late (those read before the crash then come again).
    expected = len(results.bodies) + count if uncommitted else count

    second = start_pipeline(env, logs / "second.log")
    try:
        async with asyncio.timeout(120):
            while len(set(results.video_ids)) < count or len(results.bodies) < expected:
                assert second.poll() is None, (logs / "second.log").read_text()[-3000:]
                await results.read()
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0, (logs / "second.log").read_text()[-3000:]
