from __future__ import annotations

import base64

import orjson
import pytest

from videorecog.pipeline.events import InvalidEvent, UploadEvent, parse_event

GOOD = {
    "video_id": "v-1",
    "video_url": "https://h/v.mp4",
    "tasks": ["shots", "gif"],
    "attributes": {"k": [1, 2]},
}


def test_plain_json() -> None:
    event = parse_event(orjson.dumps(GOOD))
    assert event == UploadEvent("v-1", "https://h/v.mp4", ("shots", "gif"), {"k": [1, 2]})


def test_defaults() -> None:
    event = parse_event(b'{"video_id": "v", "video_url": "http://h/v.mp4"}')
    assert event.tasks == ("shots", "cover")
    assert event.attributes == {}


def test_duplicate_tasks_collapse_in_order() -> None:
    raw = orjson.dumps({**GOOD, "tasks": ["gif", "shots", "gif"]})
    assert parse_event(raw).tasks == ("gif", "shots")


def test_cloudevents_binary_mode() -> None:
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"1"),
        ("ce_source", b"/up"),
        ("ce_type", b"video.uploaded"),
        ("content-type", b"application/json"),
    ]
    assert parse_event(orjson.dumps(GOOD), headers).video_id == "v-1"


def test_cloudevents_structured_mode() -> None:
    envelope = {"specversion": "1.0", "id": "1", "source": "/up", "type": "t", "data": GOOD}
    headers = [("content-type", b"application/cloudevents+json; charset=utf-8")]
    assert parse_event(orjson.dumps(envelope), headers).video_url == "https://h/v.mp4"
    b64 = {**envelope, "data_base64": base64.b64encode(orjson.dumps(GOOD)).decode()}
    del b64["data"]
    assert parse_event(orjson.dumps(b64), headers).video_id == "v-1"


@pytest.mark.parametrize(
    ("value", "headers", "reason"),
    [
        (b"not json", [], "not_json"),
        (None, [], "not_json"),
        (b"[1, 2]", [], "schema"),
        (b'{"video_url": "https://h/v.mp4"}', [], "schema"),
        (b'{"video_id": "", "video_url": "https://h/v.mp4"}', [], "schema"),
        (b'{"video_id": "v", "video_url": 3}', [], "schema"),
        (b'{"video_id": "v", "video_url": "ftp://h/v.mp4"}', [], "bad_url"),
        (b'{"video_id": "v", "video_url": "not a url"}', [], "bad_url"),
        (b'{"video_id": "v", "video_url": "http://h/v.mp4", "tasks": []}', [], "schema"),
        (b'{"video_id": "v", "video_url": "http://h/v.mp4", "tasks": ["ocr"]}', [], "unknown_task"),
        (b'{"video_id": "v", "video_url": "http://h/v.mp4", "attributes": 1}', [], "schema"),
        (b'{"data": {}}', [("content-type", b"application/cloudevents+json")], "cloudevents"),
        (orjson.dumps(GOOD), [("ce_specversion", b"1.0")], "cloudevents"),
    ],
)
def test_invalid_events(value: bytes | None, headers: list[tuple[str, bytes]], reason: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        parse_event(value, headers)
    assert info.value.reason == reason
    assert info.value.message
