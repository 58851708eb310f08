"""The pipeline: three parts with one concern each, run together, stopped in one sequence.

- ``Intake`` consumes upload events within the in-flight bounds (pausing partitions at them),
  parses them and sends the poison to the dead-letter topic;
- ``JobTracker`` submits each task's job, polls it until final and says when an event is done;
- ``Committer`` commits each partition's watermark and then clears the job log below it (with
  exactly-once delivery, ``TransactionalCommitter`` writes the results, dead letters, job-log
  tombstones and watermarks of a batch of events in one transaction).

``Pipeline`` wires them to the broker and the API (all given to it, already started, by the app
factory in ``app.py``), publishes each finished event's result, follows rebalances, and answers
``/healthz`` and ``/readyz``. The parts run under one ``asyncio.TaskGroup``: if one dies, the
others are cancelled and ``run()`` raises its error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from videorecog.client import VideorecogClient
from videorecog.pipeline.backoff import PollPolicy, RetryPolicy
from videorecog.pipeline.committer import Committer
from videorecog.pipeline.coverstore import CoverStore
from videorecog.pipeline.dispatcher import Dispatcher
from videorecog.pipeline.intake import Intake
from videorecog.pipeline.joblog import JobLog, job_key
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.outputs import AckedSink, Sink
from videorecog.pipeline.publisher import Publisher
from videorecog.pipeline.quota import Budgets, action_rates, local_budgets
from videorecog.pipeline.state import EventState
from videorecog.pipeline.tracker import JobTracker
from videorecog.pipeline.transactions import TransactionalCommitter
from videorecog.settings import Settings

log = logging.getLogger(__name__)

# The intake ticks every fraction of a second unless it waits for room: a minute is a hang.
STALL_SECONDS = 60.0


def _sole(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one error inside nested groups of one (a part's own TaskGroup wraps it again)."""
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self._pipeline.partitions_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        await self._pipeline.partitions_assigned(set(assigned))


class Pipeline:
    """``await pipeline.run(stop)`` runs until ``stop`` is set, then drains, commits and returns.

    The consumer must be subscribed with ``pipeline.listener`` before it starts.
    """

    def __init__(
        self,
        settings: Settings,
        metrics: PipelineMetrics,
        *,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        client: VideorecogClient,
        joblog: JobLog,
        covers: CoverStore | None = None,
        budgets: Budgets | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        k, p = settings.kafka, settings.pipeline
        metrics.inflight_events_limit.set(p.max_inflight)
        self._consumer = consumer
        self._joblog = joblog
        self._committer: Committer
        sink: Sink
        # A commit's deadline: exactly once, also the producer's transaction timeout (app.py),
        # when the broker gives up on the transaction itself.
        deadline = p.session_timeout_ms / 1000
        if k.delivery == "exactly-once":
            self._committer = sink = TransactionalCommitter(
                consumer,
                producer,
                joblog,
                metrics,
                group_id=k.group_id,
                max_events=p.transaction_max_events,
                max_seconds=p.transaction_max_ms / 1000,
                deadline_seconds=deadline,
            )
        else:
            self._committer = Committer(
                consumer,
                joblog,
                metrics,
                interval_seconds=p.commit_interval_seconds,
                deadline_seconds=deadline,
            )
            sink = AckedSink(producer)
        self._publisher = Publisher(sink, k.output_topic, k.dlq_topic, metrics)
        dispatcher = Dispatcher(
            client,
            metrics,
            concurrency=p.api_concurrency,
            budgets=budgets or local_budgets(action_rates(settings)),
            retry=RetryPolicy(attempts=p.retry_attempts),
        )
        self._tracker = JobTracker(
            dispatcher,
            joblog,
            metrics,
            poll=PollPolicy(
                first_seconds=p.poll_first_seconds,
                cap_seconds=p.poll_max_seconds,
                deadline_seconds=p.job_timeout_seconds,
            ),
            submitters=2 * p.api_concurrency,
            pollers=p.pollers,
            on_done=self._publish,
            on_forget=self._room_changed,
            covers=covers,
        )
        self._intake = Intake(
            consumer,
            self._tracker,
            self._committer,
            self._publisher,
            metrics,
            max_inflight=p.max_inflight,
            max_inflight_per_partition=p.max_inflight_per_partition,
        )
        self.listener = _Rebalance(self)
        self._stop: asyncio.Event | None = None

    def _room_changed(self) -> None:
        self._intake.wake()

    # --- what the health routes and the tests look at ---

    @property
    def in_flight(self) -> int:
        """Events accepted and not yet done."""
        return len(self._tracker)

    @property
    def pending_polls(self) -> int:
        return self._tracker.pending_polls

    def is_ready(self) -> bool:
        """Running, partitions assigned and their job log read, and no stop asked."""
        running = self._stop is not None and not self._stop.is_set()
        return running and self._intake.current and bool(self._consumer.assignment())

    def is_live(self) -> bool:
        """The intake ticks, or waits for room or for the job log."""
        return self._intake.waiting or time.monotonic() - self._intake.heartbeat <= STALL_SECONDS

    # --- running ---

    async def run(self, stop: asyncio.Event) -> None:
        """Raises: what stopped a part (the others cancelled first)."""
        self._stop = stop
        try:
            async with asyncio.TaskGroup() as group:
                parts = [
                    group.create_task(self._tracker.run(), name="tracker"),
                    group.create_task(self._committer.run(), name="committer"),
                ]
                intake = group.create_task(self._intake.run(), name="intake")
                await stop.wait()
                # 1. Stop taking work.
                self._intake.stop()
                await intake
                # 2. Drain to a deadline.
                grace = self.settings.pipeline.shutdown_grace_seconds
                log.info("draining", extra={"inflight": self.in_flight, "grace_seconds": grace})
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(grace):
                        await self._tracker.drained()
                # 3. Cancel the rest.
                for part in parts:
                    part.cancel()
        except BaseExceptionGroup as group_error:
            error = _sole(group_error)
            if error is group_error:
                raise
            raise error from None
        finally:
            # 4. Commit what is done (within the committer's deadline: what is not committed is
            # read again by the next owner). (5. The app's cleanup leaves the group within that
            # deadline and closes consumer, log, client and producer, flushed.)
            with contextlib.suppress(KafkaError):
                await self._committer.commit()
        log.info("stopped", extra={"left_in_flight": self.in_flight})

    async def _publish(self, state: EventState) -> None:
        """The event is done: publish its result, then let its offset be committed."""
        record = state.record()
        await self._publisher.result(state.tp, state.offset, record)
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
        self._committer.finished(state.tp, state.offset, keys)

    # --- rebalancing ---

    async def partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Commit what is done; drop the rest (the new owner gets it again, with job ids)."""
        self._intake.hold()
        with contextlib.suppress(KafkaError):
            await self._committer.commit(revoked)
        self._tracker.drop(revoked)
        self._committer.forget(revoked)
        self._intake.revoked(revoked)
        self._joblog.forget({tp.partition for tp in revoked})
        log.info("partitions revoked", extra={"partitions": sorted(t.partition for t in revoked)})

    async def partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        # The previous owners may have recorded jobs for events we are about to read again: read
        # the job log of these partitions (only these, once per assignment).
        await self._joblog.load({tp.partition for tp in assigned})
        self._intake.release()
        log.info("partitions assigned", extra={"partitions": sorted(t.partition for t in assigned)})
