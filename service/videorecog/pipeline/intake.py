"""The Intake: consume upload events within the bounds, parse them, dead-letter the poison.

At most ``max_inflight`` events in flight overall and ``max_inflight_per_partition`` per
partition: at the bound the consumer's partitions are paused instead of buffering, so memory does
not grow with the backlog, and resumed as events finish (``wake()``). Records of a new assignment
wait until the job log of its partitions has been read (``hold()`` / ``release()``): aiokafka
hands the assignment to its fetcher before the rebalance listener runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Collection
from typing import Protocol

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from videorecog.pipeline.committer import Committer
from videorecog.pipeline.events import InvalidEvent, parse_event
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.publisher import Publisher
from videorecog.pipeline.state import EventState, TaskState
from videorecog.pipeline.tracker import JobTracker

log = logging.getLogger(__name__)

FETCH_TIMEOUT_MS = 300  # a fetch returns at least this often, so a stop is noticed quickly


class Source(Protocol):
    """What the Intake needs of the consumer (``AIOKafkaConsumer`` is one)."""

    def assignment(self) -> set[TopicPartition]: ...

    def pause(self, *partitions: TopicPartition) -> None: ...

    def resume(self, *partitions: TopicPartition) -> None: ...

    def highwater(self, partition: TopicPartition) -> int | None: ...

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]: ...


class Intake:
    def __init__(
        self,
        consumer: Source,
        tracker: JobTracker,
        committer: Committer,
        publisher: Publisher,
        metrics: PipelineMetrics,
        *,
        max_inflight: int,
        max_inflight_per_partition: int,
    ) -> None:
        self._consumer = consumer
        self._tracker = tracker
        self._committer = committer
        self._publisher = publisher
        self._metrics = metrics
        self._max = max_inflight
        self._max_per_partition = max_inflight_per_partition
        self._paused: set[TopicPartition] = set()
        self._wake = asyncio.Event()
        self._stopping = False
        self._current = False  # the job log of the assignment has been read
        self.heartbeat = time.monotonic()
        self.waiting = False  # for room or for the job log: alive, though the loop does not tick

    @property
    def current(self) -> bool:
        """Whether records may be accepted: the job log of the assignment has been read."""
        return self._current

    def wake(self) -> None:
        """Something changed (an event finished, a stop was asked): look at the bounds again."""
        self._wake.set()

    def stop(self) -> None:
        """Take no more records; ``run()`` returns after the fetch under way."""
        self._stopping = True
        self._wake.set()

    def hold(self) -> None:
        """Hold records until ``release()``: a rebalance started."""
        self._current = False

    def release(self) -> None:
        """The job log of the new assignment has been read: records may be accepted."""
        self._current = True
        self._wake.set()

    def revoked(self, partitions: Collection[TopicPartition]) -> None:
        for tp in partitions:
            self._paused.discard(tp)
            # The new owner reports this partition's lag now; a stale series would count it twice.
            with contextlib.suppress(KeyError):
                self._metrics.consumer_lag.remove(tp.topic, str(tp.partition))
        self._wake.set()

    async def run(self) -> None:
        """Consume until ``stop()``. Raises: KafkaError, or what publishing a dead letter raises."""
        while not self._stopping:
            self.heartbeat = time.monotonic()
            self._wake.clear()
            self._apply_bounds()
            room = self._room()
            if room <= 0:
                await self._wait()
                continue
            batches = await self._consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS, max_records=room)
            if batches:
                if not await self._job_log_read():
                    return  # stopped first: these are read again from the last commit
                assignment = self._consumer.assignment()
                for tp, records in batches.items():
                    if tp not in assignment:
                        continue  # revoked while we waited: its new owner reads these again
                    for record in records:
                        await self._accept(record)
            self._update_lag()

    async def _job_log_read(self) -> bool:
        """Wait until records may be accepted; False if a stop came first."""
        while not self._current and not self._stopping:
            await self._wait()
        return not self._stopping

    async def _wait(self) -> None:
        self.waiting = True
        try:
            await self._wake.wait()
        finally:
            self.waiting = False
        self._wake.clear()

    # --- bounds ---

    def _room(self) -> int:
        room = self._max - len(self._tracker)
        for tp in self._consumer.assignment():
            if tp not in self._paused:
                room = min(room, self._max_per_partition - self._committer.in_flight(tp))
        return room

    def _apply_bounds(self) -> None:
        full = len(self._tracker) >= self._max
        for tp in self._consumer.assignment():
            pause = full or self._committer.in_flight(tp) >= self._max_per_partition
            if pause and tp not in self._paused:
                self._consumer.pause(tp)
                self._paused.add(tp)
            elif not pause and tp in self._paused:
                self._consumer.resume(tp)
                self._paused.discard(tp)

    # --- records ---

    async def _accept(self, record: ConsumerRecord[bytes, bytes]) -> None:
        self._metrics.events_consumed.inc()
        tp = TopicPartition(record.topic, record.partition)
        self._committer.started(tp, record.offset)
        try:
            event = parse_event(record.value, list(record.headers or ()))
        except InvalidEvent as exc:
            self._metrics.events_invalid.labels(exc.reason).inc()
            await self._publisher.dead_letter(record, exc.reason, exc.message)
            log.info(
                "event to dead-letter topic",
                extra={
                    "reason": exc.reason,
                    "partition": record.partition,
                    "offset": record.offset,
                },
            )
            self._committer.finished(tp, record.offset)
            return
        tasks = {name: TaskState(name) for name in event.tasks}
        self._tracker.track(EventState(tp, record.offset, event, tasks))

    def _update_lag(self) -> None:
        for tp in self._consumer.assignment():
            end = self._consumer.highwater(tp)
            if end is None:
                continue
            mark = self._committer.watermark(tp)
            done_to = mark if mark is not None else end
            self._metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(
                max(0, end - done_to)
            )
