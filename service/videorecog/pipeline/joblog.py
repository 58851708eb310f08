"""The job-id log: a compacted Kafka topic so a restarted pipeline never submits a job twice.

Key: ``<topic>/<partition>/<offset>/<task>`` of the upload event; value: ``{"job_id": ...}``.
A record is written (and acknowledged) right after submission, before the event can be committed;
a tombstone clears it once the result is published. Whoever owns the partition next reads the log
and resumes polling those jobs instead of calling the API again.
"""

from __future__ import annotations

import logging

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

log = logging.getLogger(__name__)


def job_key(topic: str, partition: int, offset: int, task: str) -> str:
    return f"{topic}/{partition}/{offset}/{task}"


class JobLog:
    def __init__(self, producer: AIOKafkaProducer, bootstrap_servers: str, topic: str) -> None:
        self._producer = producer
        self._bootstrap = bootstrap_servers
        self._topic = topic
        self._jobs: dict[str, str] = {}

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
        """Read the whole log (it is compacted, so small) into memory; returns the live keys."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(self._topic) or set()
            if not partitions:
                await consumer.force_metadata_update()
                partitions = consumer.partitions_for_topic(self._topic) or set()
            tps = [TopicPartition(self._topic, p) for p in sorted(partitions)]
            if not tps:
                return 0
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            remaining = {tp for tp in tps if ends[tp] > 0}
            while remaining:
                batches = await consumer.getmany(*remaining, timeout_ms=1000)
                for records in batches.values():
                    for record in records:
                        key = (record.key or b"").decode()
                        if record.value is None:
                            self._jobs.pop(key, None)
                        else:
                            self._jobs[key] = str(orjson.loads(record.value)["job_id"])
                for tp in list(remaining):
                    if await consumer.position(tp) >= ends[tp]:
                        remaining.discard(tp)
        finally:
            await consumer.stop()
        log.info("job log loaded", extra={"jobs": len(self._jobs)})
        return len(self._jobs)
