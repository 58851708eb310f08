from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import orjson
from aiokafka import TopicPartition

from tests.unit.pipeline.fakes import FakeClient, FakeConsumer, FakeProducer, FakeReader, record
from videorecog.pipeline.backoff import PollPolicy, RetryPolicy
from videorecog.pipeline.committer import Committer
from videorecog.pipeline.dispatcher import Dispatcher
from videorecog.pipeline.intake import Intake
from videorecog.pipeline.joblog import JobLog
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.outputs import AckedSink
from videorecog.pipeline.publisher import Publisher
from videorecog.pipeline.quota import local_budgets
from videorecog.pipeline.state import EventState
from videorecog.pipeline.tracker import JobTracker
from videorecog.protocol.constants import Action, JobStatus

P0, P1 = TopicPartition("up", 0), TopicPartition("up", 1)


def upload(partition: int, offset: int) -> bytes:
    return orjson.dumps(
        {"video_id": f"v{partition}-{offset}", "video_url": "http://h/v.mp4", "tasks": ["shots"]}
    )


class Harness:
    """An Intake over a fake consumer; a tracker whose jobs stay PROCESSING until finish_all()."""

    def __init__(
        self, *partitions: TopicPartition, bound: int = 100, per_partition: int = 100
    ) -> None:
        self.consumer = FakeConsumer(*partitions)
        self.producer = FakeProducer()
        self.metrics = PipelineMetrics()
        self.client = FakeClient(default=JobStatus.PROCESSING)
        joblog = JobLog(self.producer, "jobs", FakeReader({}))  # type: ignore[arg-type]
        self.committer = Committer(
            self.consumer, joblog, self.metrics, interval_seconds=60, deadline_seconds=5
        )
        self.published: list[EventState] = []
        dispatcher = Dispatcher(
            self.client,  # type: ignore[arg-type]
            self.metrics,
            concurrency=8,
            budgets=local_budgets(dict.fromkeys(Action, 10_000.0)),
            retry=RetryPolicy(attempts=1),
        )
        self.tracker = JobTracker(
            dispatcher,
            joblog,
            self.metrics,
            poll=PollPolicy(first_seconds=0.01, cap_seconds=0.01, deadline_seconds=60),
            submitters=4,
            pollers=4,
            on_done=self._done,
            on_forget=self._room_changed,
        )
        self.intake = Intake(
            self.consumer,
            self.tracker,
            self.committer,
            Publisher(AckedSink(self.producer), "out", "dlq", self.metrics),  # type: ignore[arg-type]
            self.metrics,
            max_inflight=bound,
            max_inflight_per_partition=per_partition,
        )
        self.intake.release()

    def _room_changed(self) -> None:
        self.intake.wake()

    async def _done(self, state: EventState) -> None:
        self.published.append(state)
        self.committer.finished(state.tp, state.offset)

    def finish_all(self) -> None:
        self.client.default = JobStatus.PROCESS_SUCCESS

    def sample(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(f"videorecog_pipeline_{name}", labels)
        return value or 0.0

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(self.tracker.run()), asyncio.create_task(self.intake.run())]
        try:
            yield
        finally:
            self.intake.stop()
            await asyncio.wait_for(tasks[1], 5)
            tasks[0].cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tasks[0]


async def until(check: Callable[[], object], timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


async def test_good_events_are_tracked_and_poison_goes_to_the_dlq() -> None:
    h = Harness(P0)
    h.consumer.add(
        record("up", 0, 0, upload(0, 0)),
        record("up", 0, 1, b"{not json", key=b"k1"),
        record(
            "up", 0, 2, orjson.dumps({"video_id": "x", "video_url": "http://h/v", "tasks": ["ocr"]})
        ),
    )
    async with h.running():
        await until(lambda: len(h.producer.to("dlq")) == 2 and len(h.tracker) == 1)
    assert h.sample("events_consumed_total") == 3
    dead = h.producer.to("dlq")
    assert [dict(d.headers)["error-code"] for d in dead] == [b"not_json", b"unknown_task"]
    assert dead[0].key == b"k1"
    assert dead[0].value == b"{not json"
    assert dict(dead[0].headers)["source-offset"] == b"1"
    assert h.sample("dlq_published_total", reason="not_json") == 1
    assert h.committer.in_flight(P0) == 3  # 0 is in flight, so 1 and 2 wait behind it
    assert h.committer.watermark(P0) == 0


async def test_at_the_bound_partitions_pause_and_resume_as_events_finish() -> None:
    """Never more than the bound in flight; the backlog waits in the broker, then flows."""
    h = Harness(P0, P1, bound=3, per_partition=2)
    for p in (0, 1):
        h.consumer.add(*(record("up", p, o, upload(p, o)) for o in range(5)))
    peak = 0
    async with h.running():
        await until(lambda: len(h.tracker) == 3)
        await asyncio.sleep(0.1)
        peak = max(peak, len(h.tracker))
        assert h.consumer.paused == {P0, P1}
        assert h.committer.in_flight(P0) <= 2
        assert h.committer.in_flight(P1) <= 2
        h.finish_all()
        await until(lambda: len(h.published) == 10)
        # The intake resumes a partition on its next turn after the event that made room, which
        # may come after the last result is published.
        await until(lambda: not h.consumer.paused)
    assert peak == 3
    assert h.consumer.paused == set()
    assert h.sample("inflight_events") == 0


async def test_records_wait_while_the_job_log_is_read() -> None:
    """After ``hold()`` fetched records are not accepted until ``release()``."""
    h = Harness(P0)
    h.intake.hold()
    h.consumer.add(record("up", 0, 0, upload(0, 0)))
    async with h.running():
        await asyncio.sleep(0.2)
        assert h.sample("events_consumed_total") == 0
        assert h.intake.waiting
        h.intake.release()
        await until(lambda: h.sample("events_consumed_total") == 1)


async def test_lag_is_reported_per_partition_and_dropped_on_revocation() -> None:
    h = Harness(P0)
    h.consumer.add(*(record("up", 0, o, upload(0, o)) for o in range(3)))
    async with h.running():
        await until(lambda: h.sample("consumer_lag", topic="up", partition="0") == 3)
        h.intake.revoked({P0})
        h.consumer.assigned = set()
    assert (
        h.metrics.registry.get_sample_value(
            "videorecog_pipeline_consumer_lag", {"topic": "up", "partition": "0"}
        )
        is None
    )
