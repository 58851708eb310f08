"""The pipeline's three parts together, on fakes: the shutdown sequence and a part that dies."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from aiokafka import TopicPartition

from tests.unit.pipeline.fakes import FakeClient, FakeConsumer, FakeProducer, FakeReader, record
from videorecog.pipeline.joblog import JobLog
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.service import Pipeline
from videorecog.protocol.constants import JobStatus
from videorecog.settings import load

P0 = TopicPartition("up", 0)


def _pipeline(
    consumer: FakeConsumer, producer: FakeProducer, client: FakeClient, grace: str = "5"
) -> Pipeline:
    settings = load(
        {
            "VIDEORECOG_INPUT_TOPIC": "up",
            "VIDEORECOG_OUTPUT_TOPIC": "out",
            "VIDEORECOG_DLQ_TOPIC": "dlq",
            "VIDEORECOG_JOBS_TOPIC": "jobs",
            "VIDEORECOG_POLL_FIRST_SECONDS": "0.01",
            "VIDEORECOG_POLL_MAX_SECONDS": "0.02",
            "VIDEORECOG_COMMIT_INTERVAL_SECONDS": "0.05",
            "VIDEORECOG_SHUTDOWN_GRACE_SECONDS": grace,
            "VIDEORECOG_API_RATE_LIMIT": "10000",
            "VIDEORECOG_POLL_RATE_LIMIT": "10000",
        }
    )
    joblog = JobLog(producer, "jobs", FakeReader({"jobs": {0: []}}))  # type: ignore[arg-type]
    return Pipeline(
        settings,
        PipelineMetrics(),
        consumer=consumer,  # type: ignore[arg-type]
        producer=producer,  # type: ignore[arg-type]
        client=client,  # type: ignore[arg-type]
        joblog=joblog,
    )


def _uploads(count: int) -> list[object]:
    return [
        record(
            "up",
            0,
            i,
            orjson.dumps({"video_id": f"v{i}", "video_url": "http://h/v.mp4", "tasks": ["shots"]}),
        )
        for i in range(count)
    ]


async def test_a_stop_drains_commits_and_returns() -> None:
    """Stop taking work, finish what is in flight, commit it all, return."""
    consumer, producer = FakeConsumer(P0), FakeProducer()
    pipeline = _pipeline(consumer, producer, FakeClient())
    consumer.add(*_uploads(5))  # type: ignore[arg-type]
    await pipeline.partitions_assigned({P0})
    stop = asyncio.Event()
    task = asyncio.create_task(pipeline.run(stop))
    async with asyncio.timeout(5):
        while not pipeline.is_ready() or not producer.to("out"):
            await asyncio.sleep(0.01)
    stop.set()
    await asyncio.sleep(0)
    assert not pipeline.is_ready()
    await asyncio.wait_for(task, 5)
    assert len(producer.to("out")) == 5
    assert consumer.commits[-1] == {P0: 5}
    assert pipeline.in_flight == 0


async def test_the_drain_ends_at_its_deadline_and_what_is_left_is_not_committed() -> None:
    consumer, producer = FakeConsumer(P0), FakeProducer()
    pipeline = _pipeline(consumer, producer, FakeClient(default=JobStatus.PROCESSING), grace="0.2")
    consumer.add(*_uploads(3))  # type: ignore[arg-type]
    await pipeline.partitions_assigned({P0})
    stop = asyncio.Event()
    task = asyncio.create_task(pipeline.run(stop))
    async with asyncio.timeout(5):
        while pipeline.in_flight < 3:
            await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert producer.to("out") == []
    assert all(c[P0] == 0 for c in consumer.commits)
    assert pipeline.in_flight == 3  # abandoned: read again from the last commit, job ids logged


async def test_a_part_that_dies_stops_the_others_and_run_raises_its_error() -> None:
    """Publishing fails for good: the tracker dies, the intake is cancelled, run() raises."""
    consumer, producer = FakeConsumer(P0), FakeProducer()
    pipeline = _pipeline(consumer, producer, FakeClient())
    await pipeline.partitions_assigned({P0})
    producer.fail = RuntimeError("broker gone")
    consumer.add(*_uploads(1))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="broker gone"):
        await asyncio.wait_for(pipeline.run(asyncio.Event()), 5)
    assert all(c[P0] == 0 for c in consumer.commits)  # the event is not done: not committed past
