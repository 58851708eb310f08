from __future__ import annotations

import pytest

from tests.unit.pipeline.fakes import FakeProducer, FakeReader
from videorecog.pipeline.joblog import JobLog, MissingTopicError, input_partition, job_key
from videorecog.settings import SettingsError


def test_a_key_names_its_input_partition() -> None:
    assert job_key("up", 1, 7, "shots") == "up/1/7/shots"
    assert input_partition("video.uploads-v2/11/7/gif") == 11
    assert input_partition("filler/9") == -1
    assert input_partition("not a key") == -1


async def test_entries_go_to_the_partition_of_their_input_partition() -> None:
    """Partitioned like the input topic: input partition p -> log partition p mod N."""
    producer = FakeProducer()
    reader = FakeReader({"jobs": {0: [], 1: [], 2: []}})
    async with JobLog(producer, "jobs", reader) as joblog:  # type: ignore[arg-type]
        await joblog.record(job_key("up", 1, 7, "shots"), "J1")
        await joblog.record(job_key("up", 5, 0, "gif"), "J2")
        assert joblog.get("up/1/7/shots") == "J1"
        await joblog.clear("up/1/7/shots")
        assert joblog.get("up/1/7/shots") is None
    assert [(s.key, s.value, s.partition) for s in producer.sent] == [
        (b"up/1/7/shots", b'{"job_id":"J1"}', 1),
        (b"up/5/0/gif", b'{"job_id":"J2"}', 2),
        (b"up/1/7/shots", None, 1),
    ]


async def test_load_reads_only_the_assigned_partitions_to_their_end() -> None:
    """Tombstones count; other partitions' entries are neither read nor kept."""
    log = {
        0: [(b"up/0/1/shots", b'{"job_id": "A"}'), (b"up/2/1/shots", b'{"job_id": "X"}')],
        1: [
            (b"up/1/5/gif", b'{"job_id": "C"}'),
            (b"up/1/5/gif", None),
            (b"up/1/6/gif", b'{"job_id": "D"}'),
        ],
    }
    reader = FakeReader({"jobs": log})
    async with JobLog(FakeProducer(), "jobs", reader) as joblog:  # type: ignore[arg-type]
        # Two log partitions for three input partitions: input 2 shares log partition 0.
        assert await joblog.load({1}) == 1
        assert [tp.partition for tp in reader.assigned] == [1]
        assert await joblog.load({0}) == 1
        assert joblog.get("up/0/1/shots") == "A"
        assert joblog.get("up/2/1/shots") is None  # input partition 2 is not ours
        assert (joblog.get("up/1/5/gif"), joblog.get("up/1/6/gif")) == (None, "D")
        joblog.forget({1})
        assert joblog.get("up/1/6/gif") is None
        assert len(joblog) == 1
    assert reader.stopped


async def test_a_missing_topic_is_a_configuration_error_naming_it() -> None:
    """No traceback-worthy crash: a SettingsError naming the topic and the fix; reader closed."""
    reader = FakeReader({"other": {0: []}})
    with pytest.raises(MissingTopicError) as info:
        async with JobLog(FakeProducer(), "jobs", reader):  # type: ignore[arg-type]
            pytest.fail("entered without its topic")
    assert isinstance(info.value, SettingsError)
    assert str(info.value) == (
        "job-log topic jobs does not exist: run `videorecog topics` "
        "or set VIDEORECOG_CREATE_TOPICS=true"
    )
    assert reader.started
    assert reader.stopped
