"""Slides (pushes): a move by the picture's whole size, from calm to calm, is a transition; a pan
is not, nor is a thing crossing the frame."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from tests.support import SHARED_MEDIA
from videorecog.analysis import segments
from videorecog.analysis.decode import Frame
from videorecog.analysis.detection import DetectorParams
from videorecog.analysis.shots import AdaptiveShotDetector
from videorecog.analysis.slides import Run, runs
from videorecog.analysis.tasks import detect_shots

PARAMS = DetectorParams()
SIZE = (36, 64)  # H, W of the analysis picture

needs_media = pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="labelled clips not present")


def _moves(*stretches: tuple[int, int, int]) -> np.ndarray:
    """N x 2 moves (dy, dx) from (frames, dy, dx) stretches, one after the other."""
    return np.concatenate([np.tile([dy, dx], (n, 1)) for n, dy, dx in stretches]).astype(np.int16)


def test_a_move_by_the_width_from_calm_to_calm_is_a_slide() -> None:
    moves = _moves((10, 0, 0), (8, 0, 8), (10, 0, 0))
    assert runs(moves, 100, SIZE, PARAMS, PARAMS.slide_travel) == [Run(110, 117, 1, 1.0)]
    upward = _moves((10, 0, 0), (6, -6, 0), (10, 0, 0))
    assert runs(upward, 0, SIZE, PARAMS, PARAMS.slide_travel) == [Run(10, 15, 0, 1.0)]


@pytest.mark.parametrize(
    "moves",
    [
        _moves((10, 0, 0), (8, 0, 4), (10, 0, 0)),  # half the width: a pan that stopped
        _moves((10, 0, 0), (30, 0, 8), (10, 0, 0)),  # nearly four widths: a pan
        _moves((10, 0, 6), (8, 0, 8), (10, 0, 0)),  # moving before it
        _moves((10, 0, 0), (8, 0, 8), (10, 0, -6)),  # turning back after it
        _moves((10, 0, 0), (2, 0, 32), (10, 0, 0)),  # two frames: a jump, for the cut tests
        _moves((10, 0, 0), (8, 8, 8), (10, 0, 0)),  # diagonal
    ],
    ids=["half", "pan", "moving-before", "back-after", "two-frames", "diagonal"],
)
def test_other_moves_are_no_slide(moves: np.ndarray) -> None:
    assert runs(moves, 0, SIZE, PARAMS, PARAMS.slide_travel) == []


def test_one_frame_out_of_step_is_bridged() -> None:
    moves = _moves((10, 0, 0), (4, 0, 8), (1, 0, -3), (3, 0, 8), (10, 0, 0))
    assert runs(moves, 0, SIZE, PARAMS, PARAMS.slide_travel) == [Run(10, 17, 1, 1.0)]


def test_a_slow_slide_is_a_slide() -> None:
    """Across the picture in 40 frames (1.6 s at 25 frames/s), 1.6 pixels a frame."""
    moves = np.zeros((60, 2))
    moves[10:50, 1] = 1.6
    assert runs(moves, 0, SIZE, PARAMS, PARAMS.slide_travel) == [Run(10, 49, 1, 1.0)]


def test_a_slide_goes_on_where_the_shots_move_across_faster() -> None:
    """The shots tilt faster than the slide moves for its first and last frames (the other
    axis moves more there): the slide is still the whole move, from calm to calm."""
    moves = _moves((10, 0, 0), (3, 3, 2), (26, 0, 2), (3, -3, 2), (10, 0, 0))
    assert runs(moves, 0, SIZE, PARAMS, PARAMS.slide_travel) == [Run(10, 41, 1, 1.0)]


@pytest.mark.parametrize(("peak", "ease"), [(1.5, 10), (2.5, 6), (3.0, 10)])
def test_a_pan_easing_in_and_out_is_no_slide(peak: float, ease: int) -> None:
    """A pan that gathers speed over ``ease`` frames, holds ``peak`` pixels a frame and slows
    down as gently, moving about the picture's width from calm to calm."""
    ramp = np.linspace(0, peak, ease + 2)[1:-1]
    hold = round((64 - 2 * ramp.sum()) / peak)
    speed = np.r_[np.zeros(10), ramp, np.full(hold, peak), ramp[::-1], np.zeros(10)]
    moves = np.c_[np.zeros_like(speed), speed]
    assert runs(moves, 0, SIZE, PARAMS, PARAMS.slide_travel) == []


def test_moves_all_over_the_place_are_no_slide_however_far_they_add_up() -> None:
    """A burst of quick shots: each frame's estimate is some move, and a few one way may add
    up to the width, one of them most of it. A slide moves at one speed."""
    moves = _moves((10, 0, 0), (2, 0, 5), (1, 0, 30), (3, 0, 8), (10, 0, 0))
    assert runs(moves, 0, SIZE, PARAMS, PARAMS.slide_travel) != []
    assert runs(moves, 0, SIZE, PARAMS, PARAMS.slide_travel, steady=PARAMS.slide_steady) == []


def test_a_run_is_judged_once_its_calm_has_come_and_where_asked() -> None:
    moves = _moves((10, 0, 0), (8, 0, 8), (10, 0, 0))
    assert runs(moves[:20], 0, SIZE, PARAMS, PARAMS.slide_travel) == []  # 2 calm frames after it
    assert runs(moves, 0, SIZE, PARAMS, PARAMS.slide_travel, range(0, 17)) == []
    assert runs(moves, 0, SIZE, PARAMS, PARAMS.slide_travel, range(17, 18)) != []


def _real_pictures() -> tuple[np.ndarray, np.ndarray]:
    """Two real pictures of different shots (3 x 36 x 64 YUV), from the 720p clip."""
    with av.open(str(SHARED_MEDIA / "testvideo.mp4")) as container:
        decoded = [f for k, f in enumerate(container.decode(video=0)) if k in (100, 600)]
    first, second = (
        f.reformat(width=64, height=36, format="yuv444p").to_ndarray().astype(np.float64)
        for f in decoded
    )
    return first, second


def _clip(pictures: list[np.ndarray]) -> list[Frame]:
    rng = np.random.default_rng(0)
    return [
        Frame(i, i / 25, np.clip(p + rng.normal(0, 1.0, p.shape), 0, 255).astype(np.uint8))
        for i, p in enumerate(pictures)
    ]


def _pushed_pictures(
    first: np.ndarray, second: np.ndarray, axis: int, frames: int
) -> list[np.ndarray]:
    """The ``frames - 1`` pictures between ``first`` and ``second`` (3 x H x W) of a push along
    ``axis`` (2: the second comes in from the right; 1: from below)."""
    both = np.concatenate([first, second], axis=axis)
    size = first.shape[axis]
    offsets = (round(k * size / frames) for k in range(1, frames))
    return [np.take(both, range(o, o + size), axis=axis) for o in offsets]


@needs_media
@pytest.mark.parametrize("axis", [2, 1], ids=["left", "up"])
def test_a_push_between_real_pictures_is_one_transition(axis: int) -> None:
    """30 frames of one picture, a push of 10 frames (the other picture comes in from the
    right, or from below, the first goes out the other side), 30 frames of the other."""
    first, second = _real_pictures()
    pushed = _pushed_pictures(first, second, axis, 10)
    found = AdaptiveShotDetector().detect(_clip([first] * 30 + pushed + [second] * 30), 25.0)
    assert len(found) == 1
    assert found[0].kind == "gradual"
    assert 29 <= found[0].span[0] <= found[0].frame <= found[0].span[1] <= 40


@needs_media
@pytest.mark.parametrize("axis", [2, 1], ids=["left", "up"])
def test_a_push_at_a_raised_frame_rate_is_one_transition(axis: int) -> None:
    """The push of ``test_a_push_between_real_pictures_is_one_transition`` over 20 frames, in a
    video raised to 50 frames/s by showing each picture twice: every other frame does not move,
    the moves over a 25th of a second do."""
    first, second = _real_pictures()
    pushed = [p for p in _pushed_pictures(first, second, axis, 20) for _ in range(2)]
    frames = _clip([first] * 60 + pushed + [second] * 60)
    found = AdaptiveShotDetector(DetectorParams().at_rate(50.0)).detect(frames, 50.0)
    assert len(found) == 1, found
    assert found[0].kind == "gradual"
    assert 58 <= found[0].span[0] <= found[0].frame <= found[0].span[1] <= 100


@needs_media
@pytest.mark.parametrize("travel", [0.5, 1.0])
def test_a_thing_crossing_a_still_picture_is_no_slide(travel: float) -> None:
    """A tall bar of another picture crossing a still one, ``travel`` times its width in 10
    frames: the column sums follow the bar (as they did a singer crossing the 160x90 clip), the
    whole picture stays where it is."""
    first, second = _real_pictures()
    bar = second[:, :, 20:36]
    pictures = []
    for k in range(60):
        picture = first.copy()
        x = round(min(max(k - 25, 0), 10) * travel * 64 / 10) - 16
        left, right = max(x, 0), min(x + 16, 64)
        if right > left:
            picture[:, :, left:right] = bar[:, :, left - x : right - x]
        pictures.append(picture)
    frames = _clip(pictures)
    found = AdaptiveShotDetector().detect(frames, 25.0)
    assert [b for b in found if b.kind == "gradual" and b.window == 0] == [], found


# Four still pictures of the 720p clip, and the pushes between them: frames, axis (0: rows),
# way (1: out to the left or the top).
STILLS = (100, 250, 440, 600)
PUSHES = ((10, 1, 1), (8, 0, 1), (14, 1, -1))


def _pushed(a: np.ndarray, b: np.ndarray, k: int, push: tuple[int, int, int]) -> np.ndarray:
    """Frame ``k`` of a push from picture ``a`` to ``b`` (RGB, H x W x 3)."""
    length, axis, way = push
    size = a.shape[axis]
    both = np.concatenate([a, b] if way > 0 else [b, a], axis=axis)
    start = round(k * size / length) if way > 0 else size - round(k * size / length)
    return np.take(both, range(start, start + size), axis=axis)


@needs_media
def test_pushes_in_a_video_shared_by_processes_are_the_single_pass_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Still pictures joined by pushes to the left, up and to the right, encoded with a
    keyframe every 20 frames and cut into stretches of 3 s: each push is one boundary inside
    its span, and the stretches give the single pass's answer."""
    with av.open(str(SHARED_MEDIA / "testvideo.mp4")) as container:
        pictures = [
            f.to_ndarray(width=320, height=180, format="rgb24")
            for k, f in enumerate(container.decode(video=0))
            if k in STILLS
        ]
    out, spans = [pictures[0]] * 50, []
    for push, a, b in zip(PUSHES, pictures, pictures[1:], strict=False):
        spans.append((len(out), len(out) + push[0] - 2))
        out += [_pushed(a, b, k, push) for k in range(1, push[0])]
        out += [b] * 50
    video = tmp_path / "pushes.mp4"
    with av.open(str(video), mode="w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.pix_fmt, stream.height, stream.width = "yuv420p", 180, 320
        stream.options = {"crf": "20", "g": "20"}
        for image in out:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))
    monkeypatch.setattr(segments, "MIN_STRETCH_SECONDS", 3.0)
    assert len(segments.plan(str(video), 3)[1]) == 3
    one = detect_shots(str(video))
    assert detect_shots(str(video), processes=3) == one
    found = one.shot_frame_ids[1:]
    assert len(found) == len(spans), (found, spans)
    assert all(a - 2 <= f <= b + 2 for f, (a, b) in zip(found, spans, strict=True)), (found, spans)
