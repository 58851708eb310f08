"""The pipeline service: consume, submit, poll, publish, commit — at least once, bounded.

Flow of one event: the consumer parses it (a malformed one goes to the dead-letter topic) and
starts its tasks; submitters call the API (or, when the job log already knows a job id for that
event and task, skip straight to polling); pollers ask GetAsyncJobResult on a schedule; when every
task is final the result is published (acknowledged by the broker) and the event is done. Offsets
are committed per partition at the watermark; job-log entries are cleared after that commit.

Bounds: at most ``max_inflight`` events in flight overall and ``max_inflight_per_partition`` per
partition; at the bound the consumer pauses partitions instead of buffering, so memory does not
grow with the backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord

from videorecog.client import VideorecogClient
from videorecog.pipeline.backoff import PollPolicy, RetryPolicy, TypicalDuration
from videorecog.pipeline.dispatcher import Dispatcher
from videorecog.pipeline.events import InvalidEvent, parse_event
from videorecog.pipeline.joblog import JobLog, job_key
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.offsets import PartitionProgress
from videorecog.pipeline.publisher import Publisher
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
from videorecog.settings import Settings

log = logging.getLogger(__name__)

Work = tuple[EventState, TaskState]


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self._pipeline.partitions_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        await self._pipeline.partitions_assigned(set(assigned))


class Pipeline:
    """``await Pipeline(settings).run(stop)`` runs until ``stop`` is set, then drains and exits."""

    def __init__(self, settings: Settings, metrics: PipelineMetrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or PipelineMetrics()
        p = settings.pipeline
        self.metrics.inflight_events_limit.set(p.max_inflight)
        self._poll_policy = PollPolicy(
            first_seconds=p.poll_first_seconds,
            cap_seconds=p.poll_max_seconds,
            deadline_seconds=p.job_timeout_seconds,
        )
        self._typical = {task: TypicalDuration() for task in TASKS}
        self._events: dict[tuple[TopicPartition, int], EventState] = {}
        self._progress: dict[TopicPartition, PartitionProgress] = {}
        self._paused: set[TopicPartition] = set()
        self._cleanup: dict[TopicPartition, list[tuple[int, list[str]]]] = {}
        self._room_changed = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        # aiokafka hands the new assignment to its fetcher before it calls the rebalance listener,
        # so records can arrive while the listener still reads the job log; they wait for this.
        self._job_log_current = asyncio.Event()
        self._submissions: asyncio.Queue[Work] = asyncio.Queue()
        self._schedule: PollSchedule[Work] = PollSchedule(time.monotonic)
        self.ready = False  # partitions assigned and the job log read
        self.stopping = False
        self.heartbeat = time.monotonic()
        self._stop: asyncio.Event | None = None
        # Set in run():
        self._consumer: AIOKafkaConsumer
        self._joblog: JobLog
        self._publisher: Publisher
        self._dispatcher: Dispatcher

    # --- lifecycle ---

    def is_ready(self) -> bool:
        """Connected, assigned, and not shutting down (from the moment a stop is asked)."""
        stopping = self.stopping or (self._stop is not None and self._stop.is_set())
        return self.ready and not stopping

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        s = self.settings
        # A few milliseconds of linger let concurrent results and job-log writes share requests.
        producer = AIOKafkaProducer(
            bootstrap_servers=s.kafka.bootstrap_servers,
            acks="all",
            enable_idempotence=s.kafka.idempotence,
            linger_ms=5,
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka.bootstrap_servers,
            group_id=s.kafka.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=s.pipeline.session_timeout_ms,
            heartbeat_interval_ms=max(100, s.pipeline.session_timeout_ms // 10),
        )
        client = VideorecogClient(
            s.api.endpoint,
            s.api.access_key_id,
            s.api.access_key_secret.reveal(),
            signature=s.api.signature,
            region_id=s.api.region_id,
            max_connections=4 * s.pipeline.api_concurrency,
        )
        self._dispatcher = Dispatcher(
            client,
            self.metrics,
            concurrency=s.pipeline.api_concurrency,
            rate_per_second=s.pipeline.api_rate_per_second,
            retry=RetryPolicy(attempts=s.pipeline.retry_attempts),
        )
        await producer.start()
        try:
            self._joblog = JobLog(producer, s.kafka.bootstrap_servers, s.kafka.jobs_topic)
            self._publisher = Publisher(
                producer, s.kafka.output_topic, s.kafka.dlq_topic, self.metrics
            )
            await self._joblog.load()
            self._consumer.subscribe([s.kafka.input_topic], listener=_Rebalance(self))
            await self._consumer.start()
            try:
                await self._serve(stop)
            finally:
                await self._consumer.stop()
        finally:
            await producer.stop()  # flushes what is buffered
            await client.close()

    async def _serve(self, stop: asyncio.Event) -> None:
        workers = [
            asyncio.create_task(self._submitter(), name=f"submitter-{i}")
            for i in range(2 * self.settings.pipeline.api_concurrency)
        ]
        workers += [
            asyncio.create_task(self._poller(), name=f"poller-{i}")
            for i in range(self.settings.pipeline.pollers)
        ]
        workers.append(asyncio.create_task(self._committer(), name="committer"))
        try:
            await self._consume(stop, workers)
            self.stopping = True
            self.ready = False
            grace = self.settings.pipeline.shutdown_grace_seconds
            log.info("draining", extra={"inflight": len(self._events), "grace_seconds": grace})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), grace)
        finally:
            for task in workers:
                task.cancel()
            results = await asyncio.gather(*workers, return_exceptions=True)
            with contextlib.suppress(KafkaError):
                await self._commit()
        for result in results:
            if isinstance(result, Exception):
                raise result
        log.info("stopped", extra={"left_in_flight": len(self._events)})

    # --- consuming ---

    def _in_flight(self, tp: TopicPartition) -> int:
        progress = self._progress.get(tp)
        return progress.in_flight if progress else 0

    def _room(self) -> int:
        p = self.settings.pipeline
        room = p.max_inflight - len(self._events)
        for tp in self._consumer.assignment():
            if tp not in self._paused:
                used = self._in_flight(tp)
                room = min(room, p.max_inflight_per_partition - used)
        return room

    def _apply_bounds(self) -> None:
        p = self.settings.pipeline
        assignment = self._consumer.assignment()
        full = len(self._events) >= p.max_inflight
        for tp in assignment:
            used = self._in_flight(tp)
            should_pause = full or used >= p.max_inflight_per_partition
            if should_pause and tp not in self._paused:
                self._consumer.pause(tp)
                self._paused.add(tp)
            elif not should_pause and tp in self._paused:
                self._consumer.resume(tp)
                self._paused.discard(tp)

    async def _consume(self, stop: asyncio.Event, workers: list[asyncio.Task[None]]) -> None:
        while not stop.is_set():
            self.heartbeat = time.monotonic()
            for task in workers:
                if task.done():
                    task.result()  # a worker died: surface its exception, stop the service
            self._apply_bounds()
            room = self._room()
            if room <= 0:
                self._room_changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._room_changed.wait(), 0.5)
                continue
            batches = await self._consumer.getmany(timeout_ms=300, max_records=room)
            if batches:
                await self._job_log_current.wait()
                assignment = self._consumer.assignment()
                for tp, records in batches.items():
                    if tp not in assignment:
                        continue  # revoked while we waited: its new owner reads these again
                    for record in records:
                        await self._accept(record)
            self._update_lag()

    async def _accept(self, record: ConsumerRecord[bytes, bytes]) -> None:
        self.metrics.events_consumed.inc()
        tp = TopicPartition(record.topic, record.partition)
        progress = self._progress.setdefault(tp, PartitionProgress())
        progress.start(record.offset)
        try:
            event = parse_event(record.value, list(record.headers or ()))
        except InvalidEvent as exc:
            self.metrics.events_invalid.labels(exc.reason).inc()
            await self._publisher.dead_letter(record, exc.reason, exc.message)
            log.info(
                "event to dead-letter topic",
                extra={
                    "reason": exc.reason,
                    "partition": record.partition,
                    "offset": record.offset,
                },
            )
            progress.finish(record.offset)
            return
        state = EventState(tp, record.offset, event, {t: TaskState(t) for t in event.tasks})
        self._events[(tp, record.offset)] = state
        self._idle.clear()
        self.metrics.inflight_events.set(len(self._events))
        for task in state.tasks.values():
            known = self._joblog.get(job_key(tp.topic, tp.partition, record.offset, task.task))
            if known:
                # Submitted before a crash or by the partition's previous owner: poll, not resubmit.
                task.job_id = known
                task.submitted = time.monotonic()
                self._pending(task, +1)
                self._schedule.add((state, task), time.monotonic())
            else:
                self._submissions.put_nowait((state, task))

    def _update_lag(self) -> None:
        for tp in self._consumer.assignment():
            end = self._consumer.highwater(tp)
            if end is None:
                continue
            progress = self._progress.get(tp)
            mark = progress.watermark() if progress else None
            done_to = mark if mark is not None else end
            self.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(max(0, end - done_to))

    # --- submitting and polling ---

    def _pending(self, task: TaskState, delta: int) -> None:
        self.metrics.jobs_pending.labels(task.kind.action.value).inc(delta)

    async def _submitter(self) -> None:
        while True:
            state, task = await self._submissions.get()
            if state.cancelled:
                continue
            try:
                job_id = await self._dispatcher.submit(task.kind, state.event.video_url)
            except ApiError as exc:
                code, message = exc.code, exc.message
                if exc.retryable:
                    code, message = RETRIES_EXHAUSTED, f"the last try: {exc}"
                await self._finish_task(state, task, JobStatus.PROCESS_FAILED, None, code, message)
                continue
            task.job_id = job_id
            task.submitted = time.monotonic()
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
            first = self._poll_policy.first(self._typical[task.task].median())
            self._schedule.add((state, task), time.monotonic() + first)

    async def _poller(self) -> None:
        while True:
            state, task = await self._schedule.next_due()
            if state.cancelled or task.job_id is None:
                continue
            try:
                answer = await self._dispatcher.poll(task.kind, task.job_id)
            except ApiError as exc:
                if isinstance(exc, InvalidJobIdNotFound) and not task.resubmitted:
                    # The API forgot the job (expired, or another account's): submit it anew.
                    task.resubmitted = True
                    self._pending(task, -1)
                    self._submissions.put_nowait((state, task))
                elif exc.retryable and not self._overdue(task):
                    task.polls += 1
                    self._schedule.add((state, task), self._next_poll(task))
                else:
                    self._pending(task, -1)
                    if exc.retryable:
                        status, code = JobStatus.TIMEOUT_FAILED, DEADLINE_EXCEEDED
                        message = f"no final status in time; the last poll: {exc}"
                    else:
                        status, code, message = JobStatus.PROCESS_FAILED, exc.code, exc.message
                    await self._finish_task(state, task, status, None, code, message)
                continue
            task.polls += 1
            if answer.status.is_final:
                self._pending(task, -1)
                if answer.status is JobStatus.PROCESS_SUCCESS:
                    self._typical[task.task].add(time.monotonic() - task.submitted)
                await self._finish_task(
                    state,
                    task,
                    answer.status,
                    answer.result,
                    answer.error_code,
                    answer.error_message,
                )
            elif self._overdue(task):
                self._pending(task, -1)
                await self._finish_task(
                    state,
                    task,
                    JobStatus.TIMEOUT_FAILED,
                    None,
                    DEADLINE_EXCEEDED,
                    f"no final status within {self._poll_policy.deadline_seconds:g} s",
                )
            else:
                self._schedule.add((state, task), self._next_poll(task))

    def _next_poll(self, task: TaskState) -> float:
        now = time.monotonic()
        return now + self._poll_policy.next(now - task.submitted)

    def _overdue(self, task: TaskState) -> bool:
        return time.monotonic() - task.submitted > self._poll_policy.deadline_seconds

    async def _finish_task(
        self,
        state: EventState,
        task: TaskState,
        status: JobStatus,
        result: dict[str, object] | None,
        code: str | None,
        message: str | None,
    ) -> None:
        task.status, task.result, task.error_code, task.error_message = (
            status,
            result,
            code,
            message,
        )
        action = task.kind.action.value
        self.metrics.jobs_completed.labels(action, status.value).inc()
        if task.submitted:
            self.metrics.job_duration.labels(action).observe(time.monotonic() - task.submitted)
        if state.done and not state.cancelled:
            await self._complete(state)

    async def _complete(self, state: EventState) -> None:
        record = state.record()
        await self._publisher.result(state.event.video_id, record)
        log.info(
            "result published",
            extra={
                "video_id": state.event.video_id,
                "status": record["status"],
                "partition": state.tp.partition,
                "offset": state.offset,
            },
        )
        keys = [
            job_key(state.tp.topic, state.tp.partition, state.offset, t.task)
            for t in state.tasks.values()
            if t.job_id
        ]
        if keys:
            self._cleanup.setdefault(state.tp, []).append((state.offset, keys))
        self._forget(state)
        progress = self._progress.get(state.tp)
        if progress is not None:
            progress.finish(state.offset)

    def _forget(self, state: EventState) -> None:
        self._events.pop((state.tp, state.offset), None)
        self.metrics.inflight_events.set(len(self._events))
        self._room_changed.set()
        if not self._events:
            self._idle.set()

    # --- committing ---

    async def _committer(self) -> None:
        while True:
            await asyncio.sleep(self.settings.pipeline.commit_interval_seconds)
            await self._commit()

    async def _commit(self, only: set[TopicPartition] | None = None) -> None:
        assigned = self._consumer.assignment()
        offsets = {}
        for tp, progress in self._progress.items():
            if tp in assigned and (only is None or tp in only):
                mark = progress.to_commit()
                if mark is not None:
                    offsets[tp] = mark
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except CommitFailedError:
            log.warning("commit refused (the group is rebalancing); will retry")
            return
        self.metrics.commits.inc()
        for tp, mark in offsets.items():
            self._progress[tp].committed(mark)
            await self._clear_job_log(tp, mark)

    async def _clear_job_log(self, tp: TopicPartition, committed: int) -> None:
        """Tombstones for events below the committed offset: they will never be redelivered."""
        entries = self._cleanup.get(tp, [])
        self._cleanup[tp] = [(o, keys) for o, keys in entries if o >= committed]
        done = [key for offset, keys in entries if offset < committed for key in keys]
        await asyncio.gather(*(self._joblog.clear(key) for key in done))

    # --- rebalancing ---

    async def partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Commit what is done; drop the rest (the new owner gets it again, with job ids)."""
        self.ready = False
        self._job_log_current.clear()
        with contextlib.suppress(KafkaError):
            await self._commit(revoked)
        for state in list(self._events.values()):
            if state.tp in revoked:
                state.cancelled = True
                for task in state.tasks.values():
                    if task.job_id and task.status is None:
                        self._pending(task, -1)
                self._forget(state)
        self._schedule.remove_where(lambda work: work[0].tp in revoked)
        for tp in revoked:
            self._progress.pop(tp, None)
            self._paused.discard(tp)
            self._cleanup.pop(tp, None)
            # The new owner reports this partition's lag now; a stale series would count it twice.
            with contextlib.suppress(KeyError):
                self.metrics.consumer_lag.remove(tp.topic, str(tp.partition))
        log.info("partitions revoked", extra={"partitions": sorted(t.partition for t in revoked)})

    async def partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        # The previous owners may have recorded jobs for events we are about to read again.
        await self._joblog.load()
        self._job_log_current.set()
        self.ready = bool(assigned) or bool(self._consumer.assignment())
        log.info("partitions assigned", extra={"partitions": sorted(t.partition for t in assigned)})
