"""What the pipeline writes for an event, and the two ways it reaches the broker.

An event ends in ``Output`` records: its result or its dead letter, and the job-log tombstones of
its jobs. At least once, each is written and acknowledged on its own (``AckedSink``) before the
event's offset may be committed. Exactly once, they are staged with the event and written in the
transaction that commits its offset (``transactions.TransactionalCommitter`` is that sink).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from aiokafka import AIOKafkaProducer, TopicPartition


class Output(NamedTuple):
    """One record to write."""

    topic: str
    value: bytes | None
    """None: a tombstone."""
    key: bytes | None = None
    headers: Sequence[tuple[str, bytes]] = ()
    partition: int | None = None
    """None: the producer's partitioner (by key)."""


class Sink(Protocol):
    """Where the outputs of the event at ``offset`` of ``source`` go."""

    async def write(self, source: TopicPartition, offset: int, output: Output) -> None: ...


class AckedSink:
    """At least once: every output is written and acknowledged (acks=all) before this returns."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def write(self, source: TopicPartition, offset: int, output: Output) -> None:
        await send(self._producer, output)


async def send(producer: AIOKafkaProducer, output: Output) -> None:
    """Write one output and wait for the broker's acknowledgement."""
    await producer.send_and_wait(
        output.topic,
        output.value,
        key=output.key,
        partition=output.partition,
        headers=list(output.headers),
    )
