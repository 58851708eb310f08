"""Small stand-ins for what the pipeline's parts talk to: the broker's consumer and producer, the
API client. They record what they were asked and answer from scripts; no network."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from videorecog.client import JobResult
from videorecog.protocol.constants import JobStatus
from videorecog.protocol.errors import ApiError
from videorecog.protocol.tasks import Task


@dataclass
class Sent:
    topic: str
    value: bytes | None
    key: bytes | None
    headers: list[tuple[str, bytes]]
    partition: int | None


class FakeProducer:
    """``send_and_wait`` records each write; ``fail`` makes the next ones raise."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.fail: Exception | None = None

    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        await asyncio.sleep(0)
        if self.fail is not None:
            raise self.fail
        self.sent.append(Sent(topic, value, key, list(headers or []), partition))

    def to(self, topic: str) -> list[Sent]:
        return [s for s in self.sent if s.topic == topic]


def record(
    topic: str, partition: int, offset: int, value: bytes | None, key: bytes | None = None
) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=0,
        headers=(),
    )


class FakeConsumer:
    """A group member's consumer: an assignment, records waiting per partition, pauses, commits."""

    def __init__(self, *partitions: TopicPartition) -> None:
        self.assigned: set[TopicPartition] = set(partitions)
        self.waiting: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
        self.paused: set[TopicPartition] = set()
        self.commits: list[dict[TopicPartition, int]] = []
        self.commit_error: Exception | None = None
        self.ends: dict[TopicPartition, int] = {}
        self._arrived = asyncio.Event()

    def add(self, *records: ConsumerRecord[bytes, bytes]) -> None:
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            self.waiting.setdefault(tp, []).append(r)
            self.ends[tp] = max(self.ends.get(tp, 0), r.offset + 1)
        self._arrived.set()

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    def pause(self, *partitions: TopicPartition) -> None:
        self.paused.update(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self.paused.difference_update(partitions)

    def highwater(self, partition: TopicPartition) -> int | None:
        return self.ends.get(partition)

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        out: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
        budget = max_records if max_records is not None else 1 << 30
        for tp in sorted(self.assigned - self.paused):
            queue = self.waiting.get(tp, [])
            take, self.waiting[tp] = queue[:budget], queue[budget:]
            if take:
                out[tp] = take
                budget -= len(take)
        if not out:
            self._arrived.clear()
            try:
                async with asyncio.timeout(min(timeout_ms, 50) / 1000):
                    await self._arrived.wait()
            except TimeoutError:
                pass
        return out

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        await asyncio.sleep(0)
        if self.commit_error is not None:
            raise self.commit_error
        self.commits.append(dict(offsets))


@dataclass
class FakeClient:
    """The API: ``submits`` answer submissions in order (a job id or an error), ``polls`` map a
    job id to its answers in order (the last one repeats); other jobs answer ``default``."""

    submits: list[str | ApiError] = field(default_factory=list)
    polls: dict[str, list[JobStatus | ApiError | JobResult]] = field(default_factory=dict)
    submitted: list[tuple[str, str]] = field(default_factory=list)
    polled: list[str] = field(default_factory=list)
    default: JobStatus = JobStatus.PROCESS_SUCCESS
    result: Callable[[str], dict[str, Any]] = lambda job_id: {"ShotFrameIds": [0, 9]}

    async def submit(self, task: Task, video_url: str) -> str:
        await asyncio.sleep(0)
        self.submitted.append((task.name, video_url))
        answer = self.submits.pop(0) if self.submits else f"J{len(self.submitted)}"
        if isinstance(answer, ApiError):
            raise answer
        return answer

    async def get_async_job_result(self, job_id: str) -> JobResult:
        await asyncio.sleep(0)
        self.polled.append(job_id)
        script = self.polls.get(job_id, [self.default])
        answer = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(answer, ApiError):
            raise answer
        if isinstance(answer, JobResult):
            return answer
        result = self.result(job_id) if answer is JobStatus.PROCESS_SUCCESS else None
        return JobResult("R", job_id, answer, result, None, None)


class FakeReader:
    """The job log's reader: a consumer outside any group over ``log`` (partition -> records)."""

    def __init__(self, topics: dict[str, dict[int, list[tuple[bytes, bytes | None]]]]) -> None:
        self.topics_ = topics
        self.started = False
        self.stopped = False
        self.assigned: list[TopicPartition] = []
        self._positions: dict[TopicPartition, int] = {}

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def topics(self) -> set[str]:
        return set(self.topics_)

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return set(self.topics_[topic]) if topic in self.topics_ else None

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.assigned = list(partitions)

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        for tp in partitions:
            self._positions[tp] = 0

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: len(self.topics_[tp.topic][tp.partition]) for tp in partitions}

    async def position(self, tp: TopicPartition) -> int:
        return self._positions[tp]

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        out = {}
        for tp in partitions:
            at = self._positions[tp]
            chunk = self.topics_[tp.topic][tp.partition][at : at + 2]  # a few at a time
            out[tp] = [
                record(tp.topic, tp.partition, at + i, value, key)
                for i, (key, value) in enumerate(chunk)
            ]
            self._positions[tp] = at + len(chunk)
        return out
