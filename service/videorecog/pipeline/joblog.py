"""The job-id log: a compacted Kafka topic so a restarted pipeline never submits a job twice.

Key: ``<topic>/<partition>/<offset>/<task>`` of the upload event; value: ``{"job_id": ...}``.
A record is written (and acknowledged) right after submission, before the event can be committed;
a tombstone clears it once the event's offset is committed. Whoever owns the partition next reads
the log and resumes polling those jobs instead of calling the API again.

Exactly once, the tombstone is written in the transaction that commits the event's offset, and the
log is read with ``read_committed``. The record itself stays outside any transaction, written by a
producer of its own: it stands for an API call that no abort can undo, so it must survive one.

The log is partitioned like the input topic: the entry of input partition ``p`` lives in
partition ``p mod N`` of the log (N its partition count; ``videorecog topics`` gives both topics
the same count, so ``p`` itself). A pipeline reads only the log partitions of the input partitions
it was assigned, once per assignment. ``migrate()`` moves entries written by earlier versions
(placed by key hash) to their partition: ``videorecog topics --migrate-job-log``.

``async with JobLog(producer, topic, reader)`` starts the reader (a consumer outside any group),
checks that the topic exists, and stops the reader at the end.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection
from types import TracebackType
from typing import Self

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from videorecog.pipeline.outputs import Output, send
from videorecog.settings import SettingsError

log = logging.getLogger(__name__)


class MissingTopicError(SettingsError):
    """A topic the pipeline needs does not exist (and it was not asked to create it)."""


def job_key(topic: str, partition: int, offset: int, task: str) -> str:
    return f"{topic}/{partition}/{offset}/{task}"


def input_partition(key: str) -> int:
    """The input partition a key belongs to (topic names hold no slash); -1 for a foreign key."""
    parts = key.rsplit("/", 3)
    try:
        return int(parts[-3])
    except (IndexError, ValueError):
        return -1


async def _read_to_end(
    reader: AIOKafkaConsumer, partitions: Collection[TopicPartition]
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Every record of ``partitions`` from the beginning to the end they have now."""
    tps = sorted(partitions)
    if not tps:
        return
    reader.assign(tps)
    await reader.seek_to_beginning(*tps)
    ends = await reader.end_offsets(tps)
    remaining = {tp for tp in tps if ends[tp] > 0}
    while remaining:
        batches = await reader.getmany(*remaining, timeout_ms=1000)
        for records in batches.values():
            for record in records:
                yield record
        for tp in list(remaining):
            if await reader.position(tp) >= ends[tp]:
                remaining.discard(tp)


class JobLog:
    def __init__(self, producer: AIOKafkaProducer, topic: str, reader: AIOKafkaConsumer) -> None:
        self._producer = producer
        self._topic = topic
        self._reader = reader
        self._count = 0  # partitions of the log
        self._jobs: dict[str, str] = {}

    async def __aenter__(self) -> Self:
        """Raises: MissingTopicError when the topic does not exist."""
        await self._reader.start()
        try:
            if self._topic not in await self._reader.topics():
                raise MissingTopicError(
                    f"job-log topic {self._topic} does not exist: run `videorecog topics` "
                    "or set VIDEORECOG_CREATE_TOPICS=true"
                )
            self._count = len(self._reader.partitions_for_topic(self._topic) or ())
        except BaseException:
            await self._reader.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._reader.stop()

    def get(self, key: str) -> str | None:
        return self._jobs.get(key)

    def __len__(self) -> int:
        return len(self._jobs)

    def partition_for(self, input_partition: int) -> int:
        return input_partition % max(1, self._count)

    async def record(self, key: str, job_id: str) -> None:
        """Write and wait for the broker's acknowledgement."""
        self._jobs[key] = job_id
        await self._producer.send_and_wait(
            self._topic,
            orjson.dumps({"job_id": job_id}),
            key=key.encode(),
            partition=self.partition_for(input_partition(key)),
        )

    def tombstone(self, key: str) -> Output:
        """The record that clears ``key`` (exactly once, it is written in a transaction)."""
        return Output(
            self._topic, None, key=key.encode(), partition=self.partition_for(input_partition(key))
        )

    def discard(self, keys: Collection[str]) -> None:
        """Forget entries whose tombstones were written."""
        for key in keys:
            self._jobs.pop(key, None)

    async def clear(self, key: str) -> None:
        """Write the tombstone of ``key`` and wait for the broker's acknowledgement."""
        self._jobs.pop(key, None)
        await send(self._producer, self.tombstone(key))

    def forget(self, input_partitions: Collection[int]) -> None:
        """Drop what is known of partitions no longer ours (their next owner reads it)."""
        self._jobs = {
            k: v for k, v in self._jobs.items() if input_partition(k) not in input_partitions
        }

    async def load(self, input_partitions: Collection[int]) -> int:
        """Read the log partitions of ``input_partitions`` (compacted, so small) to their end;
        returns the live entries of those input partitions."""
        wanted = set(input_partitions)
        tps = {TopicPartition(self._topic, self.partition_for(p)) for p in wanted}
        async for record in _read_to_end(self._reader, tps):
            key = (record.key or b"").decode()
            if input_partition(key) not in wanted:
                continue  # another input partition's entry, sharing this log partition
            if record.value is None:
                self._jobs.pop(key, None)
            else:
                self._jobs[key] = str(orjson.loads(record.value)["job_id"])
        live = sum(input_partition(k) in wanted for k in self._jobs)
        log.info("job log read", extra={"partitions": sorted(wanted), "jobs": live})
        return live


async def migrate(bootstrap_servers: str, topic: str) -> int:
    """Move each live entry written by an earlier version (placed by the hash of its key) to the
    partition of its input partition; returns how many moved. Run it with the pipeline stopped.

    Where the entry's own partition already holds that key, that one is current and the old one
    is only cleared.
    """
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    async with reader, producer:
        if topic not in await reader.topics():
            raise MissingTopicError(f"job-log topic {topic} does not exist")
        count = len(reader.partitions_for_topic(topic) or ())
        latest: dict[tuple[str, int], bytes | None] = {}
        tps = {TopicPartition(topic, p) for p in range(count)}
        async for record in _read_to_end(reader, tps):
            latest[((record.key or b"").decode(), record.partition)] = record.value
        moved = 0
        for (key, partition), value in latest.items():
            home = input_partition(key)
            if value is None or home < 0 or home % count == partition:
                continue
            if (key, home % count) not in latest:
                await producer.send_and_wait(topic, value, key=key.encode(), partition=home % count)
                moved += 1
            await producer.send_and_wait(topic, None, key=key.encode(), partition=partition)
    log.info("job log migrated", extra={"topic": topic, "moved": moved})
    return moved
