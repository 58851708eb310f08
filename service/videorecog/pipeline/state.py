"""What the pipeline knows about an event while its jobs run, and the result record it becomes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import TopicPartition

from videorecog.pipeline.events import UploadEvent
from videorecog.protocol.constants import JobStatus
from videorecog.protocol.tasks import TASKS, Task

# Outcomes the pipeline decides itself: their ``error_code`` in the result record. They are not
# API codes, so a reader can tell "the API said so" from "the pipeline gave up".
DEADLINE_EXCEEDED = "Pipeline.DeadlineExceeded"
"""No final status within VIDEORECOG_JOB_TIMEOUT_SECONDS of submission (status TIMEOUT_FAILED)."""
RETRIES_EXHAUSTED = "Pipeline.RetriesExhausted"
"""Every one of VIDEORECOG_RETRY_ATTEMPTS tries failed retryably (status PROCESS_FAILED)."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class TaskState:
    task: str
    job_id: str | None = None
    status: JobStatus | None = None  # set once final
    result: dict[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None
    submitted: float = 0.0  # monotonic, for job_duration_seconds
    polls: int = 0
    resubmitted: bool = False
    # Durable covers: while ``copying`` the task has its outcome but the event is not done; then
    # ``stored`` holds, per output, its stored_url and sha256 or its store_error.
    copying: bool = False
    stored: list[dict[str, str]] | None = None

    @property
    def kind(self) -> Task:
        return TASKS[self.task]

    def cover_urls(self) -> list[str | None]:
        """The links of a successful task's covers, one per output (none for other tasks)."""
        if self.status is not JobStatus.PROCESS_SUCCESS or self.result is None:
            return []
        outputs = self.kind.parse(self.result).get("outputs", [])
        return [output.get("image_url") for output in outputs]

    def entry(self) -> dict[str, Any]:
        """The task's part of the result record."""
        out: dict[str, Any] = {"status": self.status.value if self.status else None}
        if self.job_id:
            out["job_id"] = self.job_id
        if self.status is JobStatus.PROCESS_SUCCESS and self.result is not None:
            out.update(self.kind.parse(self.result))
            if self.stored is not None:
                for output, copy in zip(out["outputs"], self.stored, strict=True):
                    output.update(copy)
        if self.error_code:
            out["error_code"] = self.error_code
            out["error_message"] = self.error_message or ""
        return out


@dataclass
class EventState:
    tp: TopicPartition
    offset: int
    event: UploadEvent
    tasks: dict[str, TaskState] = field(default_factory=dict)
    submitted_at: str = field(default_factory=now_iso)
    started: float = field(default_factory=time.monotonic)
    cancelled: bool = False  # its partition was revoked: drop, do not publish

    @property
    def done(self) -> bool:
        return all(t.status is not None and not t.copying for t in self.tasks.values())

    def record(self) -> dict[str, Any]:
        """The result record (DESIGN.md schema)."""
        statuses = [t.status for t in self.tasks.values()]
        succeeded = sum(s is JobStatus.PROCESS_SUCCESS for s in statuses)
        overall = (
            "succeeded" if succeeded == len(statuses) else "failed" if succeeded == 0 else "partial"
        )
        return {
            "video_id": self.event.video_id,
            "video_url": self.event.video_url,
            "status": overall,
            "tasks": {name: t.entry() for name, t in self.tasks.items()},
            "attributes": self.event.attributes,
            "source": {
                "topic": self.tp.topic,
                "partition": self.tp.partition,
                "offset": self.offset,
            },
            "submitted_at": self.submitted_at,
            "completed_at": now_iso(),
        }
