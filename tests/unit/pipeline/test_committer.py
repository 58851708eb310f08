from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError

from tests.unit.pipeline.fakes import FakeConsumer, FakeProducer, FakeReader
from videorecog.pipeline.committer import Committer
from videorecog.pipeline.joblog import JobLog
from videorecog.pipeline.metrics import PipelineMetrics

P0, P1 = TopicPartition("up", 0), TopicPartition("up", 1)


def _committer(consumer: FakeConsumer) -> tuple[Committer, FakeProducer, PipelineMetrics]:
    producer = FakeProducer()
    metrics = PipelineMetrics()
    joblog = JobLog(producer, "jobs", FakeReader({}))  # type: ignore[arg-type]
    committer = Committer(consumer, joblog, metrics, interval_seconds=0.01, deadline_seconds=5)
    return committer, producer, metrics


async def test_commits_follow_the_watermark() -> None:
    """Out-of-order finishes commit only up to the lowest offset still in flight."""
    consumer = FakeConsumer(P0)
    committer, _, metrics = _committer(consumer)
    for offset in (10, 11, 12):
        committer.started(P0, offset)
    committer.finished(P0, 11)
    committer.finished(P0, 12)
    await committer.commit()
    assert consumer.commits == [{P0: 10}]  # 10 is still in flight
    committer.finished(P0, 10)
    await committer.commit()
    await committer.commit()  # nothing moved: no second commit
    assert consumer.commits == [{P0: 10}, {P0: 13}]
    assert metrics.registry.get_sample_value("videorecog_pipeline_commits_total") == 2


async def test_job_log_entries_are_cleared_once_committed_past() -> None:
    consumer = FakeConsumer(P0)
    committer, producer, _ = _committer(consumer)
    committer.started(P0, 0)
    committer.started(P0, 1)
    committer.finished(P0, 1, ["up/0/1/shots"])
    await committer.commit()
    assert producer.sent == []  # offset 1 is not committed yet: 0 is in flight
    committer.finished(P0, 0, ["up/0/0/shots", "up/0/0/cover"])
    await committer.commit()
    tombstones = {(s.key, s.value) for s in producer.to("jobs")}
    assert tombstones == {(b"up/0/0/shots", None), (b"up/0/0/cover", None), (b"up/0/1/shots", None)}


async def test_a_refused_commit_is_tried_again() -> None:
    """While the group rebalances the commit is refused; the next round commits the same mark."""
    consumer = FakeConsumer(P0)
    committer, producer, metrics = _committer(consumer)
    committer.started(P0, 5)
    committer.finished(P0, 5, ["up/0/5/shots"])
    consumer.commit_error = CommitFailedError("rebalancing")
    await committer.commit()
    assert producer.sent == []
    assert metrics.registry.get_sample_value("videorecog_pipeline_commits_total") == 0
    consumer.commit_error = None
    await committer.commit()
    assert consumer.commits == [{P0: 6}]
    assert [s.key for s in producer.sent] == [b"up/0/5/shots"]


async def test_only_assigned_or_chosen_partitions_are_committed() -> None:
    consumer = FakeConsumer(P0, P1)
    committer, _, _ = _committer(consumer)
    for tp in (P0, P1):
        committer.started(tp, 0)
        committer.finished(tp, 0)
    await committer.commit(only={P1})
    assert consumer.commits == [{P1: 1}]
    consumer.assigned = {P1}
    await committer.commit()
    assert consumer.commits == [{P1: 1}]  # P0 is no longer ours


async def test_revoked_partitions_are_forgotten() -> None:
    """After a revocation its offsets are neither counted nor committed, even if they finish."""
    consumer = FakeConsumer(P0)
    committer, producer, _ = _committer(consumer)
    committer.started(P0, 3)
    assert committer.in_flight(P0) == 1
    committer.forget({P0})
    committer.finished(P0, 3, ["up/0/3/shots"])
    await committer.commit()
    assert committer.in_flight(P0) == 0
    assert committer.watermark(P0) is None
    assert consumer.commits == []
    assert producer.sent == []
