"""Upload events: parsing and validation (plain JSON, or CloudEvents in binary or structured mode).

An event that can never be processed raises ``InvalidEvent`` with a short ``reason`` (a metric
label and DLQ header) and a human message; it goes to the dead-letter topic, never to the API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from videorecog.protocol.errors import InvalidFileError
from videorecog.protocol.tasks import DEFAULT_TASKS, TASKS
from videorecog.protocol.urls import check_url_syntax

MAX_VIDEO_ID = 256
CLOUDEVENTS_JSON = "application/cloudevents+json"


class InvalidEvent(ValueError):
    """``reason`` is one of: not_json, schema, bad_url, unknown_task, cloudevents."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class UploadEvent:
    video_id: str
    video_url: str
    tasks: tuple[str, ...] = DEFAULT_TASKS
    attributes: dict[str, Any] = field(default_factory=dict)


def _header(headers: Sequence[tuple[str, bytes]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("utf-8", "replace")
    return None


def _json(raw: bytes | None, what: str) -> Any:
    if raw is None:
        raise InvalidEvent("not_json", f"the {what} is empty")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent("not_json", f"the {what} is not JSON: {exc}") from None


def _unwrap(value: bytes | None, headers: Sequence[tuple[str, bytes]]) -> Any:
    """The event object, out of whichever envelope it came in."""
    content_type = (_header(headers, "content-type") or "").split(";")[0].strip().lower()
    if content_type == CLOUDEVENTS_JSON:
        envelope = _json(value, "CloudEvent")
        if not isinstance(envelope, dict) or "specversion" not in envelope:
            raise InvalidEvent("cloudevents", "a structured CloudEvent needs specversion")
        if "data" in envelope:
            return envelope["data"]
        if "data_base64" in envelope:
            import base64

            try:
                return _json(base64.b64decode(envelope["data_base64"]), "CloudEvent data")
            except ValueError as exc:
                raise InvalidEvent("cloudevents", f"data_base64 is not base64: {exc}") from None
        raise InvalidEvent("cloudevents", "the CloudEvent carries no data")
    if _header(headers, "ce_specversion") is not None:
        for required in ("ce_id", "ce_source", "ce_type"):
            if _header(headers, required) is None:
                raise InvalidEvent("cloudevents", f"binary-mode CloudEvent without {required}")
    return _json(value, "event")


def parse_event(value: bytes | None, headers: Sequence[tuple[str, bytes]] = ()) -> UploadEvent:
    """Raises: InvalidEvent."""
    data = _unwrap(value, headers)
    if not isinstance(data, Mapping):
        raise InvalidEvent("schema", "the event must be a JSON object")
    video_id = data.get("video_id")
    if not isinstance(video_id, str) or not video_id.strip() or len(video_id) > MAX_VIDEO_ID:
        raise InvalidEvent(
            "schema", f"video_id must be a non-empty string of at most {MAX_VIDEO_ID} characters"
        )
    video_url = data.get("video_url")
    if not isinstance(video_url, str):
        raise InvalidEvent("schema", "video_url must be a string")
    try:
        check_url_syntax(video_url)
    except InvalidFileError as exc:
        raise InvalidEvent("bad_url", exc.message) from None
    tasks = data.get("tasks", list(DEFAULT_TASKS))
    if not isinstance(tasks, list) or not tasks or not all(isinstance(t, str) for t in tasks):
        raise InvalidEvent("schema", "tasks must be a non-empty list of strings")
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        raise InvalidEvent(
            "unknown_task", f"unknown task(s) {', '.join(unknown)}; known: {', '.join(TASKS)}"
        )
    attributes = data.get("attributes", {})
    if not isinstance(attributes, dict):
        raise InvalidEvent("schema", "attributes must be an object")
    return UploadEvent(video_id, video_url, tuple(dict.fromkeys(tasks)), attributes)
