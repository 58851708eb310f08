from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiokafka import TopicPartition

from tests.unit.pipeline.fakes import FakeClient, FakeProducer, FakeReader
from videorecog.pipeline.backoff import PollPolicy, RetryPolicy
from videorecog.pipeline.dispatcher import Dispatcher
from videorecog.pipeline.events import UploadEvent
from videorecog.pipeline.joblog import JobLog, job_key
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.quota import local_budgets
from videorecog.pipeline.state import DEADLINE_EXCEEDED, RETRIES_EXHAUSTED, EventState, TaskState
from videorecog.pipeline.tracker import JobTracker
from videorecog.protocol import errors
from videorecog.protocol.constants import Action, JobStatus

TP = TopicPartition("up", 0)
URL = "http://h/v.mp4"


class Harness:
    def __init__(self, client: FakeClient, *, deadline: float = 30.0, attempts: int = 3) -> None:
        self.client = client
        self.producer = FakeProducer()
        self.metrics = PipelineMetrics()
        self.joblog = JobLog(self.producer, "jobs", FakeReader({}))  # type: ignore[arg-type]
        self.done: list[EventState] = []
        dispatcher = Dispatcher(
            client,  # type: ignore[arg-type]
            self.metrics,
            concurrency=4,
            budgets=local_budgets(dict.fromkeys(Action, 10_000.0)),
            retry=RetryPolicy(attempts=attempts, base_seconds=0.001, cap_seconds=0.001),
        )
        self.tracker = JobTracker(
            dispatcher,
            self.joblog,
            self.metrics,
            poll=PollPolicy(first_seconds=0.01, cap_seconds=0.02, deadline_seconds=deadline),
            submitters=2,
            pollers=2,
            on_done=self._done,
        )

    async def _done(self, state: EventState) -> None:
        self.done.append(state)

    def track(self, offset: int, *tasks: str) -> EventState:
        event = UploadEvent(f"v{offset}", URL, tasks)
        state = EventState(TP, offset, event, {t: TaskState(t) for t in tasks})
        self.tracker.track(state)
        return state

    def sample(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(f"videorecog_pipeline_{name}", labels)
        return value or 0.0

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self.tracker.run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def drained(self) -> None:
        async with asyncio.timeout(5):
            await self.tracker.drained()


async def test_a_task_is_submitted_recorded_polled_and_done() -> None:
    """Submit, write the job id to the job log, poll until final; then the event is done."""
    h = Harness(
        FakeClient(submits=["J1"], polls={"J1": [JobStatus.PROCESSING, JobStatus.PROCESS_SUCCESS]})
    )
    async with h.running():
        h.track(7, "shots")
        await h.drained()
    [state] = h.done
    task = state.tasks["shots"]
    assert (task.status, task.job_id, task.polls) == (JobStatus.PROCESS_SUCCESS, "J1", 2)
    assert state.record()["tasks"]["shots"]["shot_frame_ids"] == [0, 9]
    assert [(s.key, s.value) for s in h.producer.to("jobs")] == [
        (job_key("up", 0, 7, "shots").encode(), b'{"job_id":"J1"}')
    ]
    assert len(h.tracker) == 0
    assert h.sample("jobs_completed_total", action="DetectVideoShot", status="PROCESS_SUCCESS") == 1
    assert h.sample("jobs_pending", action="DetectVideoShot") == 0


async def test_a_job_the_log_knows_is_polled_not_submitted() -> None:
    h = Harness(FakeClient())
    await h.joblog.record(job_key("up", 0, 3, "cover"), "J-old")
    async with h.running():
        h.track(3, "cover")
        await h.drained()
    assert h.client.submitted == []
    assert h.client.polled == ["J-old"]
    assert h.done[0].tasks["cover"].status is JobStatus.PROCESS_SUCCESS


async def test_retries_that_run_out_are_the_pipelines_own_outcome() -> None:
    """A submission failing retryably on each try ends PROCESS_FAILED, Pipeline.RetriesExhausted."""
    busy = [errors.InternalServerErrorBusy() for _ in range(3)]
    h = Harness(FakeClient(submits=list(busy)), attempts=3)
    async with h.running():
        h.track(1, "shots")
        await h.drained()
    task = h.done[0].tasks["shots"]
    assert task.status is JobStatus.PROCESS_FAILED
    assert task.error_code == RETRIES_EXHAUSTED
    assert "InternalServerError.Busy" in (task.error_message or "")
    assert len(h.client.submitted) == 3
    assert (
        h.sample("api_retries_total", action="DetectVideoShot", code="InternalServerError.Busy")
        == 2
    )


async def test_a_retry_that_succeeds_is_no_failure() -> None:
    h = Harness(FakeClient(submits=[errors.ThrottlingUser(), "J9"]))
    async with h.running():
        h.track(1, "gif")
        await h.drained()
    assert h.done[0].tasks["gif"].status is JobStatus.PROCESS_SUCCESS
    assert h.client.submitted == [("gif", URL), ("gif", URL)]


async def test_a_refused_submission_fails_the_task_with_the_apis_code() -> None:
    h = Harness(FakeClient(submits=[errors.InvalidFileURL("bad url")]))
    async with h.running():
        h.track(1, "shots", "cover")
        await h.drained()
    record = h.done[0].record()
    assert record["status"] == "partial"
    assert record["tasks"]["shots"]["error_code"] == "InvalidFile.URL"
    assert record["tasks"]["shots"]["status"] == "PROCESS_FAILED"
    assert len(h.client.submitted) == 2  # not retried


async def test_a_failed_job_carries_the_apis_code() -> None:
    from videorecog.client import JobResult

    failed = JobResult("R", "J1", JobStatus.PROCESS_FAILED, None, "InvalidFile.Decode", "bad")
    h = Harness(FakeClient(submits=["J1"], polls={"J1": [failed]}))
    async with h.running():
        h.track(1, "shots")
        await h.drained()
    task = h.done[0].tasks["shots"]
    assert (task.status, task.error_code) == (JobStatus.PROCESS_FAILED, "InvalidFile.Decode")


async def test_a_job_the_api_forgot_is_submitted_again_once() -> None:
    h = Harness(
        FakeClient(
            submits=["J1", "J2"],
            polls={"J1": [errors.InvalidJobIdNotFound()], "J2": [JobStatus.PROCESS_SUCCESS]},
        )
    )
    async with h.running():
        h.track(1, "shots")
        await h.drained()
    assert h.client.polled == ["J1", "J2"]
    assert len(h.client.submitted) == 2
    assert h.done[0].tasks["shots"].status is JobStatus.PROCESS_SUCCESS


async def test_past_the_deadline_a_task_is_timeout_failed() -> None:
    """A job still PROCESSING after the deadline ends TIMEOUT_FAILED, Pipeline.DeadlineExceeded."""
    h = Harness(FakeClient(submits=["J1"], polls={"J1": [JobStatus.PROCESSING]}), deadline=0.1)
    async with h.running():
        h.track(1, "shots")
        await h.drained()
    task = h.done[0].tasks["shots"]
    assert task.status is JobStatus.TIMEOUT_FAILED
    assert task.error_code == DEADLINE_EXCEEDED
    assert task.polls >= 2
    assert h.sample("jobs_completed_total", action="DetectVideoShot", status="TIMEOUT_FAILED") == 1


async def test_polls_failing_retryably_until_the_deadline_are_timeout_failed() -> None:
    busy = errors.ServiceUnavailable()
    h = Harness(FakeClient(submits=["J1"], polls={"J1": [busy]}), deadline=0.1, attempts=1)
    async with h.running():
        h.track(1, "shots")
        await h.drained()
    task = h.done[0].tasks["shots"]
    assert (task.status, task.error_code) == (JobStatus.TIMEOUT_FAILED, DEADLINE_EXCEEDED)
    assert "ServiceUnavailable" in (task.error_message or "")


async def test_dropped_partitions_are_abandoned_unpublished() -> None:
    """On revocation events in flight are dropped: not done, no longer pending, nothing polled."""
    h = Harness(FakeClient(submits=["J1"], polls={"J1": [JobStatus.PROCESSING]}))
    async with h.running():
        h.track(1, "shots")
        async with asyncio.timeout(5):
            while not h.client.polled:
                await asyncio.sleep(0.01)
        h.tracker.drop({TP})
        await h.drained()
        # A poll already on its way when the partition was dropped may still land (polls come
        # every 10-20 ms here); none may start after it.
        await asyncio.sleep(0.2)
        polls = len(h.client.polled)
        await asyncio.sleep(0.2)
    assert h.done == []
    assert len(h.client.polled) == polls
    assert h.tracker.pending_polls == 0
    assert h.sample("jobs_pending", action="DetectVideoShot") == 0
