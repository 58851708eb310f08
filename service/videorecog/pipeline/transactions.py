"""Exactly once: finished events, their outputs and their offsets committed in Kafka transactions.

The ``TransactionalCommitter`` is the Committer of exactly-once delivery and the sink of its
outputs. An event's result or dead letter is staged with the event; a transaction takes, per
partition, every event below the watermark that moved: their staged outputs, the job-log
tombstones of their jobs, and the watermark itself (``send_offsets_to_transaction``). Events
finished above the watermark wait for a later transaction: writing their results now would
duplicate them when a restart reads again from the committed offset.

Transactions are batched: one is committed once ``max_events`` events finished, and at least
every ``max_seconds`` while any did. The transactional id is derived from the instance id
(``transactional_id``): a restarted instance's producer fences its predecessor, and the broker
aborts whatever transaction the predecessor left open. A transaction is given as long as the
broker gives it (``deadline_seconds``, the producer's transaction timeout): one the broker does
not answer by then fails, so that the stop sequence never waits on an unanswering broker.

The boundary: API submissions are outside any transaction. A job is submitted, then recorded in
the job log (acknowledged at once, outside the transaction) so that a restart polls it instead of
submitting it again; a crash between the submission and the record resubmits that job. The API
sees each job at least once; the output topics see each event once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Iterable

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from videorecog.pipeline.committer import CommitTarget, Committer
from videorecog.pipeline.joblog import JobLog
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.outputs import Output
from videorecog.settings import KafkaSettings

log = logging.getLogger(__name__)


def transactional_id(kafka: KafkaSettings) -> str:
    """The producer's transactional id: stable across restarts of one instance, distinct between
    instances and between pipelines (consumer groups) sharing a cluster."""
    return f"{kafka.group_id}.{kafka.instance_id}"


class TransactionFailedError(KafkaError):  # type: ignore[misc]
    """A transaction did not commit; this committer commits nothing more (a restart takes over)."""


class TransactionalCommitter(Committer):
    """Commits finished events with their outputs and offsets, one transaction per batch."""

    def __init__(
        self,
        consumer: CommitTarget,
        producer: AIOKafkaProducer,
        joblog: JobLog,
        metrics: PipelineMetrics,
        *,
        group_id: str,
        max_events: int,
        max_seconds: float,
        deadline_seconds: float,
    ) -> None:
        super().__init__(
            consumer,
            joblog,
            metrics,
            interval_seconds=max_seconds,
            deadline_seconds=deadline_seconds,
        )
        self._producer = producer
        self._group_id = group_id
        self._max_events = max_events
        self._finished_since = 0  # events finished since the last transaction
        self._full = asyncio.Event()
        self._staged: dict[TopicPartition, list[tuple[int, Output]]] = {}
        self._lock = asyncio.Lock()  # one transaction at a time
        self._failed: BaseException | None = None

    async def write(self, source: TopicPartition, offset: int, output: Output) -> None:
        """Stage an output with its event (the ``Sink`` of exactly-once delivery).

        It never suspends, so nothing (a revocation) comes between it and the ``finished()`` of
        the same event that follows.
        """
        if source in self._progress:
            self._staged.setdefault(source, []).append((offset, output))

    def finished(self, tp: TopicPartition, offset: int, job_keys: Collection[str] = ()) -> None:
        super().finished(tp, offset, job_keys)
        self._finished_since += 1
        if self._finished_since >= self._max_events:
            self._full.set()

    def forget(self, revoked: Iterable[TopicPartition]) -> None:
        """Drop revoked partitions with what they staged: their next owner writes it again."""
        revoked = list(revoked)
        super().forget(revoked)
        for tp in revoked:
            self._staged.pop(tp, None)

    async def _next_round(self, seconds: float) -> None:
        try:
            async with asyncio.timeout(seconds):
                await self._full.wait()
        except TimeoutError:
            pass
        self._full.clear()

    async def commit(self, only: Collection[TopicPartition] | None = None) -> None:
        """Commit one transaction with what is committable (of ``only`` when given).

        A transaction under way is finished even if the caller is cancelled, so no transaction is
        left open by a stop.
        Raises: TransactionFailedError (or the KafkaError that failed it).
        """
        await asyncio.shield(self._commit(only))

    async def _commit(self, only: Collection[TopicPartition] | None) -> None:
        async with self._lock:
            if self._failed is not None:
                raise TransactionFailedError("an earlier transaction failed") from self._failed
            # Counted from here even when nothing is committable (a slow event holds the
            # watermark), so that each later finish does not wake another round.
            self._finished_since = 0
            offsets = self._marks(only)
            if not offsets:
                return
            outputs: list[Output] = []
            keys: list[str] = []
            for tp, mark in offsets.items():
                staged = self._staged.get(tp, [])
                self._staged[tp] = [(o, out) for o, out in staged if o >= mark]
                outputs += [out for o, out in staged if o < mark]
                keys += self._keys_below(tp, mark)
            outputs += [self._joblog.tombstone(key) for key in keys]
            try:
                async with asyncio.timeout(self._deadline):
                    await self._transaction(outputs, offsets)
            except TimeoutError as exc:
                self._failed = exc
                raise TransactionFailedError(
                    f"no answer from the broker in {self._deadline:g} s"
                ) from exc
            except BaseException as exc:
                # The outputs taken for it are gone: committing offsets past them later would
                # lose them. The process stops, and its restart reads these events again.
                self._failed = exc
                raise
        self._committed(offsets)
        self._joblog.discard(keys)
        log.debug("transaction committed", extra={"outputs": len(outputs)})

    async def _transaction(self, outputs: list[Output], offsets: dict[TopicPartition, int]) -> None:
        producer = self._producer
        await producer.begin_transaction()
        try:
            sent = [
                await producer.send(
                    out.topic,
                    out.value,
                    key=out.key,
                    partition=out.partition,
                    headers=list(out.headers),
                )
                for out in outputs
            ]
            await asyncio.gather(*sent)
            await producer.send_offsets_to_transaction(offsets, self._group_id)
        except BaseException:
            # Bounded as well: after a deadline the broker may not answer the abort either (it
            # aborts the transaction itself once the transaction timeout passes).
            with contextlib.suppress(TimeoutError, KafkaError):
                async with asyncio.timeout(self._deadline):
                    await producer.abort_transaction()
            raise
        await producer.commit_transaction()
