"""The Committer: per-partition watermarks, periodic commits, and job-log tombstones after them.

Events finish out of order; a partition's committable offset is the lowest offset still in flight
(``offsets.PartitionProgress``). Once an offset is committed, the events below it are never
delivered again, so their job-log entries are cleared (tombstoned). A commit is given
``deadline_seconds`` (the session timeout): a broker that stops answering must not hold a round,
a rebalance or a stop for good.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterable
from typing import Protocol

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError

from videorecog.pipeline.joblog import JobLog
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.offsets import PartitionProgress

log = logging.getLogger(__name__)


class CommitTarget(Protocol):
    """What the Committer needs of the consumer (``AIOKafkaConsumer`` is one)."""

    def assignment(self) -> set[TopicPartition]: ...

    async def commit(self, offsets: dict[TopicPartition, int]) -> None: ...


class Committer:
    """Tracks each input offset from accepted to done, and commits the watermarks."""

    def __init__(
        self,
        consumer: CommitTarget,
        joblog: JobLog,
        metrics: PipelineMetrics,
        *,
        interval_seconds: float,
        deadline_seconds: float,
    ) -> None:
        self._consumer = consumer
        self._joblog = joblog
        self._metrics = metrics
        self._interval = interval_seconds
        self._deadline = deadline_seconds
        self._progress: dict[TopicPartition, PartitionProgress] = {}
        # Per partition: (offset, job-log keys) of finished events, cleared once committed past.
        self._tombstones: dict[TopicPartition, list[tuple[int, list[str]]]] = {}

    def started(self, tp: TopicPartition, offset: int) -> None:
        self._progress.setdefault(tp, PartitionProgress()).start(offset)

    def finished(self, tp: TopicPartition, offset: int, job_keys: Collection[str] = ()) -> None:
        """The event at ``offset`` is done (result or dead letter acknowledged)."""
        progress = self._progress.get(tp)
        if progress is None:
            return  # its partition was revoked meanwhile
        if job_keys:
            self._tombstones.setdefault(tp, []).append((offset, list(job_keys)))
        progress.finish(offset)

    def in_flight(self, tp: TopicPartition) -> int:
        progress = self._progress.get(tp)
        return progress.in_flight if progress else 0

    def watermark(self, tp: TopicPartition) -> int | None:
        progress = self._progress.get(tp)
        return progress.watermark() if progress else None

    def forget(self, revoked: Iterable[TopicPartition]) -> None:
        """Drop revoked partitions: their next owner reads them again from the last commit."""
        for tp in revoked:
            self._progress.pop(tp, None)
            self._tombstones.pop(tp, None)

    async def run(self) -> None:
        """Commit every interval until cancelled (the time a commit takes counts in it)."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await self.commit()
            await self._next_round(max(0.0, self._interval - (loop.time() - started)))

    async def _next_round(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def _marks(self, only: Collection[TopicPartition] | None) -> dict[TopicPartition, int]:
        """The watermarks that moved, of assigned partitions (of ``only`` when given)."""
        assigned = self._consumer.assignment()
        offsets = {}
        for tp, progress in self._progress.items():
            if tp in assigned and (only is None or tp in only):
                mark = progress.to_commit()
                if mark is not None:
                    offsets[tp] = mark
        return offsets

    def _committed(self, offsets: dict[TopicPartition, int]) -> None:
        self._metrics.commits.inc()
        for tp, mark in offsets.items():
            if tp in self._progress:
                self._progress[tp].committed(mark)

    def _keys_below(self, tp: TopicPartition, mark: int) -> list[str]:
        """Take the job-log keys of the finished events below ``mark``."""
        entries = self._tombstones.get(tp, [])
        self._tombstones[tp] = [(o, keys) for o, keys in entries if o >= mark]
        return [key for offset, keys in entries if offset < mark for key in keys]

    async def commit(self, only: Collection[TopicPartition] | None = None) -> None:
        """Commit the watermarks that moved, then tombstone the job-log entries below them.

        A commit the group refuses (it is rebalancing) or the broker does not answer in time is
        left for the next round; so are tombstones not acknowledged in time (an entry left in
        the job log only names a job of an event that is never read again).
        Raises: KafkaError other than CommitFailedError.
        """
        offsets = self._marks(only)
        if not offsets:
            return
        try:
            async with asyncio.timeout(self._deadline):
                await self._consumer.commit(offsets)
        except CommitFailedError:
            log.warning("commit refused (the group is rebalancing); will retry")
            return
        except TimeoutError:
            log.warning(
                "commit not answered in time; will retry", extra={"seconds": self._deadline}
            )
            return
        self._committed(offsets)
        keys = [key for tp, mark in offsets.items() for key in self._keys_below(tp, mark)]
        try:
            async with asyncio.timeout(self._deadline):
                await asyncio.gather(*(self._joblog.clear(key) for key in keys))
        except TimeoutError:
            log.warning("job-log tombstones not acknowledged in time", extra={"keys": len(keys)})
