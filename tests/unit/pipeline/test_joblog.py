from __future__ import annotations

import pytest

from tests.unit.pipeline.fakes import FakeProducer, FakeReader
from videorecog.pipeline.joblog import JobLog, MissingTopicError, job_key
from videorecog.settings import SettingsError


async def test_records_and_tombstones_are_written_and_remembered() -> None:
    producer = FakeProducer()
    joblog = JobLog(producer, "jobs", FakeReader({"jobs": {0: []}}))  # type: ignore[arg-type]
    key = job_key("up", 1, 7, "shots")
    assert key == "up/1/7/shots"
    await joblog.record(key, "J1")
    assert joblog.get(key) == "J1"
    await joblog.clear(key)
    assert joblog.get(key) is None
    assert [(s.topic, s.key, s.value) for s in producer.sent] == [
        ("jobs", b"up/1/7/shots", b'{"job_id":"J1"}'),
        ("jobs", b"up/1/7/shots", None),
    ]


async def test_load_reads_the_log_to_its_end_tombstones_included() -> None:
    log = {
        0: [(b"up/0/1/shots", b'{"job_id": "A"}'), (b"up/0/2/shots", b'{"job_id": "B"}')],
        1: [
            (b"up/1/5/gif", b'{"job_id": "C"}'),
            (b"up/1/5/gif", None),
            (b"up/1/6/gif", b'{"job_id": "D"}'),
        ],
    }
    reader = FakeReader({"jobs": log})
    async with JobLog(FakeProducer(), "jobs", reader) as joblog:  # type: ignore[arg-type]
        assert await joblog.load() == 3
    assert reader.stopped
    assert [
        joblog.get(k) for k in ("up/0/1/shots", "up/0/2/shots", "up/1/5/gif", "up/1/6/gif")
    ] == [
        "A",
        "B",
        None,
        "D",
    ]


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
