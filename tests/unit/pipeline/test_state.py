from __future__ import annotations

from aiokafka import TopicPartition

from videorecog.pipeline.events import UploadEvent
from videorecog.pipeline.state import EventState, TaskState
from videorecog.protocol.constants import JobStatus


def _state(*outcomes: tuple[str, JobStatus]) -> EventState:
    event = UploadEvent("v", "http://h/v.mp4", tuple(t for t, _ in outcomes), {"a": 1})
    tasks = {}
    for task, status in outcomes:
        t = TaskState(task, job_id=f"job-{task}", status=status)
        if status is JobStatus.PROCESS_SUCCESS:
            t.result = (
                {"ShotFrameIds": [0, 9]}
                if task == "shots"
                else {"Outputs": [{"ImageURL": "http://e/c.png", "Confidence": 8.1}]}
            )
        else:
            t.error_code, t.error_message = "InvalidFile.Decode", "bad"
        tasks[task] = t
    return EventState(TopicPartition("up", 2), 41, event, tasks)


def test_result_record_shape() -> None:
    record = _state(
        ("shots", JobStatus.PROCESS_SUCCESS),
        ("cover", JobStatus.PROCESS_SUCCESS),
        ("gif", JobStatus.PROCESS_FAILED),
    ).record()
    assert record["status"] == "partial"
    assert record["tasks"]["shots"] == {
        "status": "PROCESS_SUCCESS",
        "job_id": "job-shots",
        "shot_frame_ids": [0, 9],
    }
    assert record["tasks"]["cover"]["outputs"] == [
        {"image_url": "http://e/c.png", "confidence": 8.1}
    ]
    assert record["tasks"]["gif"] == {
        "status": "PROCESS_FAILED",
        "job_id": "job-gif",
        "error_code": "InvalidFile.Decode",
        "error_message": "bad",
    }
    assert record["source"] == {"topic": "up", "partition": 2, "offset": 41}
    assert record["attributes"] == {"a": 1}
    assert record["submitted_at"].endswith("Z")
    assert record["completed_at"].endswith("Z")


def test_overall_status() -> None:
    assert _state(("shots", JobStatus.PROCESS_SUCCESS)).record()["status"] == "succeeded"
    assert _state(("shots", JobStatus.TIMEOUT_FAILED)).record()["status"] == "failed"


def test_stored_covers_join_their_outputs() -> None:
    """Each output keeps its image_url and gains its copy's fields (or its store_error)."""
    state = _state(("cover", JobStatus.PROCESS_SUCCESS))
    cover = state.tasks["cover"]
    cover.result = {
        "Outputs": [
            {"ImageURL": "http://e/1.png", "Confidence": 8.1},
            {"ImageURL": "http://e/2.png", "Confidence": 7.0},
        ]
    }
    assert cover.cover_urls() == ["http://e/1.png", "http://e/2.png"]
    cover.copying = True
    assert not state.done, "an event is not done while its covers are being copied"
    cover.copying = False
    cover.stored = [{"stored_url": "s3://b/p/v/ab.png", "sha256": "ab"}, {"store_error": "x"}]
    assert state.done
    assert state.record()["tasks"]["cover"]["outputs"] == [
        {
            "image_url": "http://e/1.png",
            "confidence": 8.1,
            "stored_url": "s3://b/p/v/ab.png",
            "sha256": "ab",
        },
        {"image_url": "http://e/2.png", "confidence": 7.0, "store_error": "x"},
    ]


def test_only_successful_tasks_have_covers_to_copy() -> None:
    """Shots and failed tasks give no cover links, so nothing is copied for them."""
    state = _state(("shots", JobStatus.PROCESS_SUCCESS), ("gif", JobStatus.PROCESS_FAILED))
    assert state.tasks["shots"].cover_urls() == []
    assert state.tasks["gif"].cover_urls() == []
