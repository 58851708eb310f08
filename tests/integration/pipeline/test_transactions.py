"""The TransactionalCommitter against a broker with transactions (noida-db)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.conftest import MakeTopic
from tests.integration.pipeline.conftest import read_all
from tests.support import NoidaBroker
from videorecog.pipeline.joblog import JobLog
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.outputs import Output
from videorecog.pipeline.transactions import TransactionalCommitter, TransactionFailedError

noida = pytest.mark.parametrize("kafka_broker", ["noida"], indirect=True)
DEADLINE_SECONDS = 3.0


@dataclass
class Rig:
    committer: TransactionalCommitter
    source: TopicPartition
    output: str
    jobs: str
    group: str


@pytest.fixture
async def rig(bootstrap_servers: str, make_topic: MakeTopic) -> AsyncIterator[Rig]:
    """A committer over one assigned input partition, with its own transactional id."""
    source = TopicPartition(await make_topic("uploads"), 0)
    output = await make_topic("results")
    jobs = await make_topic("jobs", **{"cleanup.policy": "compact"})
    group = f"group-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, transactional_id=f"{group}.test"
    )
    plain = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, enable_idempotence=True)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    async with producer, plain, consumer, JobLog(plain, jobs, reader) as joblog:
        consumer.assign([source])
        committer = TransactionalCommitter(
            consumer,
            producer,
            joblog,
            PipelineMetrics(),
            group_id=group,
            max_events=2,
            max_seconds=60,
            deadline_seconds=DEADLINE_SECONDS,
        )
        yield Rig(committer, source, output, jobs, group)


async def _finish(rig: Rig, offset: int, *job_keys: str) -> None:
    out = Output(rig.output, str(offset).encode(), key=str(offset).encode())
    await rig.committer.write(rig.source, offset, out)
    rig.committer.finished(rig.source, offset, job_keys)


async def _committed(bootstrap: str, rig: Rig) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=rig.group)
    async with consumer:
        offset: int | None = await consumer.committed(rig.source)
        return offset


@noida
async def test_outputs_wait_for_the_offset_that_passes_them(
    bootstrap_servers: str, rig: Rig
) -> None:
    """Events finished above an unfinished one are not written; once it finishes, one transaction
    holds the three outputs, the job-log tombstone and the offset past them."""
    for offset in (0, 1, 2):
        rig.committer.started(rig.source, offset)
    await _finish(rig, 1)
    await _finish(rig, 2)
    await rig.committer.commit()
    assert await _committed(bootstrap_servers, rig) == 0  # offset 0 is still in flight
    assert await read_all(bootstrap_servers, rig.output, want=0, timeout=10) == []

    await _finish(rig, 0, "up/0/0/shots")
    await rig.committer.commit()
    results = await read_all(bootstrap_servers, rig.output, want=3, timeout=10)
    assert sorted(r.value for r in results) == [b"0", b"1", b"2"]
    assert await _committed(bootstrap_servers, rig) == 3
    [tombstone] = await read_all(bootstrap_servers, rig.jobs, want=1, timeout=10)
    assert (tombstone.key, tombstone.value) == (b"up/0/0/shots", None)


@noida
async def test_a_full_batch_commits_before_the_interval(bootstrap_servers: str, rig: Rig) -> None:
    """With max_events=2 two finished events are committed at once, not after the 60 s interval."""
    running = asyncio.create_task(rig.committer.run())
    try:
        await asyncio.sleep(0.2)  # the first round found nothing to commit
        for offset in (0, 1):
            rig.committer.started(rig.source, offset)
            await _finish(rig, offset)
        results = await read_all(bootstrap_servers, rig.output, want=2, timeout=10)
    finally:
        running.cancel()
    assert sorted(r.value for r in results) == [b"0", b"1"]


@pytest.mark.parametrize("kafka_broker", ["private_noida"], indirect=True)
async def test_a_transaction_the_broker_does_not_answer_fails_at_its_deadline(
    kafka_broker: NoidaBroker, rig: Rig
) -> None:
    """A broker that stops answering mid-run cannot hold a commit (and so a stop) for good: the
    transaction fails once its deadline passes, and the committer commits nothing after it."""
    rig.committer.started(rig.source, 0)
    await _finish(rig, 0)
    kafka_broker.freeze()
    began = time.monotonic()
    with pytest.raises(TransactionFailedError, match="no answer"):
        await rig.committer.commit()
    # The transaction's deadline, then the abort's (the broker does not answer that either).
    assert time.monotonic() - began < 2 * DEADLINE_SECONDS + 2
    kafka_broker.thaw()
    rig.committer.started(rig.source, 1)
    await _finish(rig, 1)
    with pytest.raises(TransactionFailedError, match="earlier transaction failed"):
        await rig.committer.commit()
