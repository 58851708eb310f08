"""The JobTracker: submit each task's job, poll it until final, say when an event is done.

Submitters take tasks from a queue and start their jobs through the dispatcher (limits, retries);
each job id is written to the job log before it is polled. A fixed set of pollers serves every
pending job from one schedule (``PollSchedule``). A task the job log already knows (submitted
before a crash, or by the partition's previous owner) is polled, not submitted again. Each task
ends with an ``Outcome``; when every task of an event has one, ``on_done(event)`` is awaited and the
event is forgotten. With a ``CoverStore``, a task with covers counts as finished only once they
are copied; the copy runs in a task of its own, so pollers never wait for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any, NamedTuple

from aiokafka import TopicPartition

from videorecog.client import JobResult
from videorecog.pipeline.backoff import PollPolicy, TypicalDuration
from videorecog.pipeline.coverstore import CoverStore
from videorecog.pipeline.dispatcher import Dispatcher
from videorecog.pipeline.joblog import JobLog, job_key
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.schedule import PollSchedule
from videorecog.pipeline.state import (
    DEADLINE_EXCEEDED,
    RETRIES_EXHAUSTED,
    EventState,
    TaskState,
)
from videorecog.protocol.constants import JobStatus
from videorecog.protocol.errors import ApiError, InvalidJobIdNotFound
from videorecog.protocol.tasks import TASKS

log = logging.getLogger(__name__)

Work = tuple[EventState, TaskState]


class Outcome(NamedTuple):
    """How a task ended: a final status, the job's Result or an error code and message."""

    status: JobStatus
    result: dict[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None

    @classmethod
    def of(cls, answer: JobResult) -> Outcome:
        return cls(answer.status, answer.result, answer.error_code, answer.error_message)

    @classmethod
    def failed(cls, exc: ApiError) -> Outcome:
        """A request that failed for good: the API's code, or RETRIES_EXHAUSTED if retryable."""
        if exc.retryable:
            return cls(JobStatus.PROCESS_FAILED, None, RETRIES_EXHAUSTED, f"the last try: {exc}")
        return cls(JobStatus.PROCESS_FAILED, None, exc.code, exc.message)

    @classmethod
    def too_late(cls, deadline: float, last: ApiError | None = None) -> Outcome:
        message = f"no final status within {deadline:g} s"
        if last is not None:
            message += f"; the last poll: {last}"
        return cls(JobStatus.TIMEOUT_FAILED, None, DEADLINE_EXCEEDED, message)


class JobTracker:
    """Every event in flight, from its tasks' submission to their outcomes."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        joblog: JobLog,
        metrics: PipelineMetrics,
        *,
        poll: PollPolicy,
        submitters: int,
        pollers: int,
        on_done: Callable[[EventState], Awaitable[None]],
        on_forget: Callable[[], None] = lambda: None,
        covers: CoverStore | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dispatcher = dispatcher
        self._joblog = joblog
        self._metrics = metrics
        self._poll = poll
        self._submitters = submitters
        self._pollers = pollers
        self._on_done = on_done
        self._on_forget = on_forget
        self._covers = covers
        self._copies: asyncio.TaskGroup | None = None  # run()'s group, where copies run
        self._clock = clock
        self._typical = {name: TypicalDuration() for name in TASKS}
        self._events: dict[tuple[TopicPartition, int], EventState] = {}
        self._submissions: asyncio.Queue[Work] = asyncio.Queue()
        self._schedule: PollSchedule[Work] = PollSchedule(clock)
        self._idle = asyncio.Event()
        self._idle.set()

    def __len__(self) -> int:
        """Events in flight."""
        return len(self._events)

    @property
    def pending_polls(self) -> int:
        return len(self._schedule)

    def track(self, state: EventState) -> None:
        """Start the event's tasks: poll the jobs the job log knows, submit the others."""
        self._events[(state.tp, state.offset)] = state
        self._idle.clear()
        self._metrics.inflight_events.set(len(self._events))
        now = self._clock()
        for task in state.tasks.values():
            known = self._joblog.get(
                job_key(state.tp.topic, state.tp.partition, state.offset, task.task)
            )
            if known:
                task.job_id = known
                task.submitted = now
                self._pending(task, +1)
                self._schedule.add((state, task), now)
            else:
                self._submissions.put_nowait((state, task))

    def drop(self, partitions: Collection[TopicPartition]) -> None:
        """Abandon the events of revoked partitions: their next owner resumes them."""
        for state in list(self._events.values()):
            if state.tp in partitions:
                state.cancelled = True
                for task in state.tasks.values():
                    if task.job_id and task.status is None:
                        self._pending(task, -1)
                self._forget(state)
        self._schedule.remove_where(lambda work: work[0].tp in partitions)

    async def drained(self) -> None:
        """Until no event is in flight."""
        await self._idle.wait()

    async def run(self) -> None:
        """Submitters and pollers, until cancelled. Raises: whatever kills one of them."""
        async with asyncio.TaskGroup() as group:
            self._copies = group
            for i in range(self._submitters):
                group.create_task(self._submitter(), name=f"submitter-{i}")
            for i in range(self._pollers):
                group.create_task(self._poller(), name=f"poller-{i}")

    # --- submitting ---

    async def _submitter(self) -> None:
        while True:
            state, task = await self._submissions.get()
            if state.cancelled:
                continue
            try:
                job_id = await self._dispatcher.submit(task.kind, state.event.video_url)
            except ApiError as exc:
                await self._finish(state, task, Outcome.failed(exc))
                continue
            task.job_id = job_id
            task.submitted = self._clock()
            await self._joblog.record(
                job_key(state.tp.topic, state.tp.partition, state.offset, task.task), job_id
            )
            log.info(
                "job submitted",
                extra={
                    "video_id": state.event.video_id,
                    "job_id": job_id,
                    "task": task.task,
                    "offset": state.offset,
                },
            )
            self._pending(task, +1)
            first = self._poll.first(self._typical[task.task].median())
            self._schedule.add((state, task), self._clock() + first)

    # --- polling ---

    async def _poller(self) -> None:
        while True:
            state, task = await self._schedule.next_due()
            if state.cancelled or task.job_id is None:
                continue
            try:
                answer = await self._dispatcher.poll(task.kind, task.job_id)
            except ApiError as exc:
                await self._poll_failed(state, task, exc)
                continue
            task.polls += 1
            if answer.status.is_final:
                self._pending(task, -1)
                if answer.status is JobStatus.PROCESS_SUCCESS:
                    self._typical[task.task].add(self._clock() - task.submitted)
                await self._finish(state, task, Outcome.of(answer))
            elif self._overdue(task):
                self._pending(task, -1)
                await self._finish(state, task, Outcome.too_late(self._poll.deadline_seconds))
            else:
                self._schedule.add((state, task), self._next_poll(task))

    async def _poll_failed(self, state: EventState, task: TaskState, exc: ApiError) -> None:
        if isinstance(exc, InvalidJobIdNotFound) and not task.resubmitted:
            # The API forgot the job (expired, or another account's): submit it anew, once.
            task.resubmitted = True
            self._pending(task, -1)
            self._submissions.put_nowait((state, task))
        elif exc.retryable and not self._overdue(task):
            task.polls += 1
            self._schedule.add((state, task), self._next_poll(task))
        else:
            self._pending(task, -1)
            outcome = (
                Outcome.too_late(self._poll.deadline_seconds, exc)
                if exc.retryable
                else Outcome(JobStatus.PROCESS_FAILED, None, exc.code, exc.message)
            )
            await self._finish(state, task, outcome)

    def _next_poll(self, task: TaskState) -> float:
        now = self._clock()
        return now + self._poll.next(now - task.submitted)

    def _overdue(self, task: TaskState) -> bool:
        return self._clock() - task.submitted > self._poll.deadline_seconds

    # --- finishing ---

    def _pending(self, task: TaskState, delta: int) -> None:
        self._metrics.jobs_pending.labels(task.kind.action.value).inc(delta)

    async def _finish(self, state: EventState, task: TaskState, outcome: Outcome) -> None:
        task.status, task.result, task.error_code, task.error_message = outcome
        action = task.kind.action.value
        self._metrics.jobs_completed.labels(action, outcome.status.value).inc()
        if task.submitted:
            self._metrics.job_duration.labels(action).observe(self._clock() - task.submitted)
        if self._covers is not None and task.cover_urls():
            if self._copies is None:
                raise RuntimeError("the tracker is not running")
            task.copying = True
            self._copies.create_task(self._keep_covers(self._covers, state, task), name="covers")
            return
        await self._complete(state)

    async def _keep_covers(self, covers: CoverStore, state: EventState, task: TaskState) -> None:
        """Copy the task's covers (their failures are marked, never raised), then finish it."""
        task.stored = await covers.keep(state.event.video_id, task.cover_urls())
        task.copying = False
        await self._complete(state)

    async def _complete(self, state: EventState) -> None:
        if state.done and not state.cancelled:
            await self._on_done(state)
            self._forget(state)

    def _forget(self, state: EventState) -> None:
        self._events.pop((state.tp, state.offset), None)
        self._metrics.inflight_events.set(len(self._events))
        if not self._events:
            self._idle.set()
        self._on_forget()
