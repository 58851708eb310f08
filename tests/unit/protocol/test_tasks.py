from __future__ import annotations

import pytest

from videorecog.protocol.constants import Action
from videorecog.protocol.tasks import DEFAULT_TASKS, TASKS, task_for


def test_every_task_names_its_action_and_parameters() -> None:
    assert TASKS["shots"].action is Action.DETECT_VIDEO_SHOT
    assert TASKS["cover"].action is Action.GENERATE_VIDEO_COVER
    assert TASKS["gif"].params == {"IsGif": "true"}
    assert set(DEFAULT_TASKS) <= set(TASKS)


@pytest.mark.parametrize("name", list(TASKS))
def test_a_request_maps_back_to_its_task(name: str) -> None:
    """What the pipeline sends for a task is what the engine reads as that task."""
    task = TASKS[name]
    assert task_for(task.action, {"VideoUrl": "http://h/v.mp4", **task.params}) is task


@pytest.mark.parametrize("name", list(TASKS))
def test_the_simulators_example_parses_into_the_record(name: str) -> None:
    """Each task's canned Result parses into its fields of the result record."""
    task = TASKS[name]
    fields = task.parse(task.example("J1"))
    assert fields
    assert all(value for value in fields.values())


def test_parsed_fields_follow_the_result_schema() -> None:
    shots = TASKS["shots"].parse({"ShotFrameIds": [0, 9]})
    assert shots == {"shot_frame_ids": [0, 9]}
    covers = TASKS["gif"].parse({"Outputs": [{"ImageURL": "u", "Confidence": 7.0}]})
    assert covers == {"outputs": [{"image_url": "u", "confidence": 7.0}]}


def test_an_unknown_request_is_no_task() -> None:
    with pytest.raises(KeyError):
        task_for(Action.GET_ASYNC_JOB_RESULT, {})
