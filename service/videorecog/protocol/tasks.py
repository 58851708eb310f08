"""The registry of tasks: what an upload event may ask for, and how each maps onto the API.

A task names the API action that starts it, the parameters it sends besides ``VideoUrl``, how the
job's ``Result`` becomes the task's fields in the result record, and a canned ``Result`` for the
simulator. The pipeline, the engine and the simulator all look tasks up here; adding a task is one
entry below plus its analysis in the engine (``engine/runner.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from videorecog.protocol.constants import Action


def _shots(result: Mapping[str, Any]) -> dict[str, Any]:
    return {"shot_frame_ids": list(result.get("ShotFrameIds", []))}


def _outputs(result: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "outputs": [
            {"image_url": o.get("ImageURL"), "confidence": o.get("Confidence")}
            for o in result.get("Outputs", [])
        ]
    }


@dataclass(frozen=True)
class Task:
    """One kind of work an event may ask for."""

    name: str
    """As written in the event's ``tasks`` and as the key in the result record's ``tasks``."""
    action: Action
    """The API action that starts its job."""
    params: Mapping[str, str] = field(default_factory=dict)
    """Fixed parameters sent with ``VideoUrl``."""
    parse: Callable[[Mapping[str, Any]], dict[str, Any]] = _shots
    """The job's ``Result`` -> the task's fields in the result record."""
    example: Callable[[str], dict[str, Any]] = lambda job_id: {}
    """A ``Result`` of the right shape for a job id (the simulator answers with it)."""

    def matches(self, action: str, params: Mapping[str, str]) -> bool:
        """Whether a request of ``action`` with ``params`` asks for this task."""
        if action != self.action:
            return False
        return all(params.get(k, "").lower() == v for k, v in self.params.items())


def _example_covers(job_id: str) -> dict[str, Any]:
    return {"Outputs": [{"ImageURL": f"http://simulator.invalid/{job_id}.png", "Confidence": 7.5}]}


SHOTS = Task(
    "shots",
    Action.DETECT_VIDEO_SHOT,
    parse=_shots,
    example=lambda job_id: {"ShotFrameIds": [0, 25, 50]},
)
COVER = Task(
    "cover",
    Action.GENERATE_VIDEO_COVER,
    {"IsGif": "false"},
    parse=_outputs,
    example=_example_covers,
)
GIF = Task(
    "gif",
    Action.GENERATE_VIDEO_COVER,
    {"IsGif": "true"},
    parse=_outputs,
    example=_example_covers,
)

TASKS: Mapping[str, Task] = {task.name: task for task in (SHOTS, COVER, GIF)}
"""Every task by name, in the order they are documented."""

DEFAULT_TASKS = (SHOTS.name, COVER.name)
"""What an event that names no tasks gets."""


def task_for(action: str, params: Mapping[str, str]) -> Task:
    """The task a submission asks for.

    Raises: KeyError when no task matches (the caller checked the action and its parameters).
    """
    for task in TASKS.values():
        if task.matches(action, params):
            return task
    raise KeyError(f"no task for {action} with {dict(params)}")
