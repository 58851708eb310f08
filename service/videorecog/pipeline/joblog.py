"""The job-id log: a compacted Kafka topic so a restarted pipeline never submits a job twice.

Key: ``<topic>/<partition>/<offset>/<task>`` of the upload event; value: ``{"job_id": ...}``.
A record is written (and acknowledged) right after submission, before the event can be committed;
a tombstone clears it once the event's offset is committed. Whoever owns the partition next reads
the log and resumes polling those jobs instead of calling the API again.

``async with JobLog(producer, topic, reader)`` starts the reader (a consumer outside any group),
checks that the topic exists, and stops the reader at the end; ``load()`` reads the log.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Self

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from videorecog.settings import SettingsError

log = logging.getLogger(__name__)


class MissingTopicError(SettingsError):
    """A topic the pipeline needs does not exist (and it was not asked to create it)."""


def job_key(topic: str, partition: int, offset: int, task: str) -> str:
    return f"{topic}/{partition}/{offset}/{task}"


class JobLog:
    def __init__(self, producer: AIOKafkaProducer, topic: str, reader: AIOKafkaConsumer) -> None:
        self._producer = producer
        self._topic = topic
        self._reader = reader
        self._partitions: list[TopicPartition] = []
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
            partitions = self._reader.partitions_for_topic(self._topic) or set()
            self._partitions = [TopicPartition(self._topic, p) for p in sorted(partitions)]
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

    async def record(self, key: str, job_id: str) -> None:
        """Write and wait for the broker's acknowledgement."""
        self._jobs[key] = job_id
        await self._producer.send_and_wait(
            self._topic, orjson.dumps({"job_id": job_id}), key=key.encode()
        )

    async def clear(self, key: str) -> None:
        self._jobs.pop(key, None)
        await self._producer.send_and_wait(self._topic, None, key=key.encode())

    async def load(self) -> int:
        """Read the log (it is compacted, so small) into memory; returns the live keys."""
        tps = self._partitions
        if tps:
            self._reader.assign(tps)
            await self._reader.seek_to_beginning(*tps)
            ends = await self._reader.end_offsets(tps)
            remaining = {tp for tp in tps if ends[tp] > 0}
            while remaining:
                batches = await self._reader.getmany(*remaining, timeout_ms=1000)
                for records in batches.values():
                    for record in records:
                        key = (record.key or b"").decode()
                        if record.value is None:
                            self._jobs.pop(key, None)
                        else:
                            self._jobs[key] = str(orjson.loads(record.value)["job_id"])
                for tp in list(remaining):
                    if await self._reader.position(tp) >= ends[tp]:
                        remaining.discard(tp)
        log.info("job log loaded", extra={"jobs": len(self._jobs)})
        return len(self._jobs)
