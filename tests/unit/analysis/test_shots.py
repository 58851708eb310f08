"""Golden tests of the shot detector on generated clips (exact truth) and the labelled clips."""

from __future__ import annotations

import dataclasses
import json
from array import array
from pathlib import Path

import av
import numpy as np
import pytest

from tests.clips import Clip, encode
from tests.support import SHARED_MEDIA
from videorecog.analysis.decode import Frame
from videorecog.analysis.detection import Boundary, DetectorParams
from videorecog.analysis.scoring import Labels, score
from videorecog.analysis.shots import AdaptiveShotDetector, _Scale, repeated
from videorecog.analysis.tasks import detect_shots, storyboard

GENERATED = [
    "cuts",
    "cuts_mid_gop",
    "dissolves",
    "fade",
    "wipe",
    "vfr",
    "rotated",
    "bad_covers",
    "mixed_640",
]
DISTRACTORS = ["flashes", "fast_motion", "captions"]


@pytest.mark.parametrize("name", GENERATED)
def test_every_transition_is_found_and_nothing_else(name: str, clips: dict[str, Clip]) -> None:
    """Cuts within 2 frames, gradual transitions inside their span, no false boundary."""
    clip = clips[name]
    result = detect_shots(str(clip.path))
    labels = Labels(tuple(clip.truth.cuts), tuple(clip.truth.gradual))
    assert result.shot_frame_ids[0] == 0
    assert result.frames == clip.truth.frames
    outcome = score(result.shot_frame_ids, labels)
    assert (outcome.false_positives, outcome.false_negatives) == (0, 0), result.shot_frame_ids


@pytest.mark.parametrize("name", DISTRACTORS)
def test_distractors_are_not_boundaries(name: str, clips: dict[str, Clip]) -> None:
    """Flashes, fast camera motion and changing captions leave a single shot."""
    assert detect_shots(str(clips[name].path)).shot_frame_ids == [0]


def test_gradual_transition_is_reported_at_its_midpoint(clips: dict[str, Clip]) -> None:
    """A dissolve is reported near the middle of its blended frames, not at an edge."""
    clip = clips["dissolves"]
    ids = detect_shots(str(clip.path)).shot_frame_ids
    for first, last in clip.truth.gradual:
        middle = (first + last) / 2
        assert any(abs(i - middle) <= (last - first) / 4 + 1 for i in ids), (ids, first, last)


def _labels(name: str) -> Labels:
    data = json.loads((SHARED_MEDIA / "labels" / f"{name}.json").read_text())
    return Labels(
        tuple(data["cuts"]),
        tuple(tuple(g) for g in data["gradual"]),
        tuple(tuple(u["frames"]) for u in data["uncertain"]),
    )


@pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="labelled clips not present")
@pytest.mark.parametrize("name", ["testvideo.mp4", "goldeneye-vfr-drop3.mp4", "fades.mp4"])
def test_labelled_clips(name: str) -> None:
    """Real footage: every hand-labelled boundary found, no false one."""
    result = detect_shots(str(SHARED_MEDIA / name))
    outcome = score(result.shot_frame_ids, _labels(name))
    assert (outcome.false_positives, outcome.false_negatives) == (0, 0), result.shot_frame_ids


def test_short_window_detections_stand_inside_a_long_windows_span() -> None:
    """Dissolves a few frames apart, each found by the short window, while the long window
    smears two of them into one: each short-window detection stays a boundary of its own."""
    found = [
        Boundary(295, "gradual", 2.0, (288, 301), 8),
        Boundary(300, "gradual", 1.8, (286, 314), 16),
        Boundary(316, "gradual", 3.7, (311, 320), 8),
        Boundary(326, "gradual", 7.0, (316, 336), 16),
        Boundary(334, "gradual", 3.0, (329, 339), 8),
        Boundary(380, "gradual", 2.0, (366, 394), 16),  # seen by the long window alone: kept
    ]
    merged = AdaptiveShotDetector._merge_gradual(found)
    assert [b.frame for b in merged] == [295, 316, 334, 380]


def test_detections_whose_spans_touch_are_one_transition() -> None:
    """A long window's run that broke in the middle of a dissolve leaves two spans with no frame
    between them (no shot can lie there): one boundary; a frame of shot between them keeps two."""
    found = [
        Boundary(90, "gradual", 6.6, (81, 99), 16),
        Boundary(102, "gradual", 3.1, (100, 103), 8),
        Boundary(109, "gradual", 7.3, (100, 118), 16),  # holds the short window's: dropped
        Boundary(140, "gradual", 5.0, (131, 149), 16),
        Boundary(160, "gradual", 5.0, (151, 169), 16),
    ]
    merged = AdaptiveShotDetector._merge_gradual(found)
    assert [(b.frame, b.span) for b in merged] == [
        (96, (81, 103)),
        (140, (131, 149)),
        (160, (151, 169)),
    ]


@pytest.mark.parametrize(
    ("after", "cut", "boundaries"),
    [
        # A short wipe: a cut at its steepest frame inside both detections either side of it,
        # reported at the cut (their midpoints' median would be 134).
        ((128, 156), 133, [(133, "gradual", (120, 156))]),
        # The cut lies outside the second detection: a shot may begin there.
        (
            (134, 150),
            133,
            [(127, "gradual", (120, 133)), (133, "cut", (133, 133)), (142, "gradual", (134, 150))],
        ),
        # The second detection spans twice its half-window or more: a run longer than its
        # window, whose windows did not all hold the cut (``_close``).
        (
            (131, 170),
            133,
            [(127, "gradual", (120, 133)), (133, "cut", (133, 133)), (150, "gradual", (131, 170))],
        ),
    ],
)
def test_a_cut_inside_the_detections_either_side_of_it_is_their_steepest_frame(
    after: tuple[int, int], cut: int, boundaries: list[tuple[int, str, tuple[int, int]]]
) -> None:
    """A short wipe or blur is seen as a gradual detection, a cut, and another gradual
    detection, their spans overlapping: one transition, reported once, at the cut. Where the
    cut lies outside either span, or a span is wider than every window of its run held, the
    three stay apart (the cut test's own merging may still join what lies within two frames)."""
    found = [
        Boundary(127, "gradual", 2.5, (120, 133), 8),
        Boundary(cut, "cut", 4.0, (cut, cut)),
        Boundary((after[0] + after[1]) // 2, "gradual", 3.0, after, 16),
    ]
    merged = AdaptiveShotDetector._merge_gradual(found)
    assert [(b.frame, b.kind, b.span) for b in merged] == boundaries


def test_a_run_longer_than_its_window_spans_the_frames_around_it() -> None:
    """A dissolve longer than the window: the short window's run broke, and its second part,
    longer than 2W centres, passed while the window lay inside the dissolve. Its span reaches
    W frames beyond its first and last centres, so the two parts are one boundary."""
    detector = AdaptiveShotDetector()
    w = detector.params.window
    found = [Boundary(537, "gradual", 1.8, (533, 540), w)]
    run = _Scale(w, w + detector.params.context, first=543, last=543 + 2 * w)
    detector._close(run, found)
    assert found[-1].span == (543 - w, 543 + 3 * w)
    merged = AdaptiveShotDetector._merge_gradual(found)
    assert [(b.frame, b.span) for b in merged] == [(544, (533, 543 + 3 * w))]


def test_spans_that_measure_durations_scale_with_the_frame_rate() -> None:
    """At 50 or 60 frames/s the gradual test's windows, contexts and shortest run, a flash, a
    fade's ramp, the merging distance, the longest slide and its calm cover twice the frames,
    the same time; the cut test's neighbours and the shortest slide stay. A fade's ramp may
    pause for the frames beyond one in a frame of 25."""
    base = DetectorParams()
    assert base.at_rate(25.0) == base
    assert base.at_rate(23.976) == base
    assert base.at_rate(29.97) == dataclasses.replace(base, ramp_pause_frames=1)
    sixty = base.at_rate(60.0)
    assert sixty.gradual_windows == tuple(2 * w for w in base.gradual_windows)
    assert (sixty.context, sixty.min_run, sixty.flash_frames, sixty.merge_frames) == (
        2 * base.context,
        2 * base.min_run,
        2 * base.flash_frames,
        2 * base.merge_frames,
    )
    assert (sixty.ramp_max_frames, sixty.ramp_min_step) == (
        2 * base.ramp_max_frames,
        base.ramp_min_step / 2,
    )
    assert sixty.ramp_pause_frames == 2
    assert (sixty.slide_frames, sixty.slide_still, sixty.slide_step) == (
        (base.slide_frames[0], 2 * base.slide_frames[1]),
        2 * base.slide_still,
        2,  # moves measured over a 25th of a second: a frame's speed bar the same
    )
    assert sixty.slide_speed == base.slide_speed
    assert sixty.window == base.window
    assert base.at_rate(50.0).ramp_pause_frames == 1


def _window(pixel: list[float], structure: list[float]) -> np.ndarray:
    """One centre's window of changes (histogram change 0): 1 x frames x 3."""
    return np.array([[[0.0, p, s] for p, s in zip(pixel, structure, strict=True)]], np.float32)


def test_repeats_are_tiny_changes_beside_new_pictures_whatever_their_scale() -> None:
    """Pictures shown two or three times (re-encoded: their repeats change by a little, here
    0.03, above a tenth of the pixel floor, 0.002): each repeat sits beside a new picture
    (changes of 0.5) and is one; new pictures are not. In a quiet video, its new pictures
    changing by less than the floors, a repeat must change by under a tenth of the floors."""
    params = DetectorParams()

    def repeats(new: float, again: float) -> list[bool]:
        cadence = [new, again, new, again, again] * 3 + [new, again]
        everywhere = np.ones((1, len(cadence)), dtype=bool)
        return [bool(r) for r in repeated(_window(cadence, cadence), everywhere, params)[0]]

    assert repeats(0.5, 0.03) == [False, True, False, True, True] * 3 + [False, True]
    assert not any(repeats(0.004, 0.003))
    assert repeats(0.004, 0.0004) == repeats(0.5, 0.03)


def test_a_still_stretch_beside_motion_is_no_run_of_repeats() -> None:
    """Eight frames of a still shot (changes of 0.01) then nine of a moving one (0.5): only the
    still frame next to the motion counts as a repeat, so the still shot's changes still make
    most of a cut's baseline between them."""
    changes = [0.01] * 8 + [0.5] * 9
    everywhere = np.ones((1, len(changes)), dtype=bool)
    found = repeated(_window(changes, changes), everywhere, DetectorParams())[0]
    assert np.flatnonzero(found).tolist() == [7]


def test_storyboard_signal_has_a_score_per_frame_peaking_at_the_cuts(
    clips: dict[str, Clip], tmp_path: Path
) -> None:
    """The storyboard's pass keeps one cut score per frame; the cuts, and only they, reach the
    detector's bar, and its shots are those of ``detect_shots``."""
    clip = clips["cuts"]
    story = storyboard(str(clip.path), str(tmp_path), "cuts")
    assert len(story.signal) == clip.truth.frames
    assert [k for k, s in enumerate(story.signal) if s >= story.cut_score] == list(clip.truth.cuts)
    assert story.shots.shot_frame_ids == detect_shots(str(clip.path)).shot_frame_ids


@pytest.mark.parametrize(("flash_frames", "found"), [(4, []), (0, [51])])
def test_a_flash_is_no_cut_unless_no_frame_may_return(flash_frames: int, found: list[int]) -> None:
    rng = np.random.default_rng(0)
    still, flash = (rng.integers(0, 256, (3, 36, 64), dtype=np.uint8) for _ in range(2))

    def noisy(picture: np.ndarray) -> np.ndarray:
        return np.clip(picture + rng.integers(-3, 4, picture.shape), 0, 255).astype(np.uint8)

    frames = [Frame(i, i / 25, noisy(flash if i == 50 else still)) for i in range(100)]
    detector = AdaptiveShotDetector(DetectorParams(flash_frames=flash_frames))
    assert [b.frame for b in detector.detect(frames, 25.0)] == found


def _smooth_picture(rng: np.random.Generator, width: int, cell: int = 4) -> np.ndarray:
    """3 x 36 x ``width``: random levels on a grid of ``cell`` pixels, bilinearly between (a
    picture with structure at every scale a 64 x 36 analysis picture sees)."""
    coarse = rng.uniform(30, 220, (3, 36 // cell + 2, width // cell + 2))
    ys = np.linspace(0, coarse.shape[1] - 1.001, 36)
    xs = np.linspace(0, coarse.shape[2] - 1.001, width)
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    return np.asarray(
        coarse[:, y0][:, :, x0] * (1 - fy) * (1 - fx)
        + coarse[:, y0 + 1][:, :, x0] * fy * (1 - fx)
        + coarse[:, y0][:, :, x0 + 1] * (1 - fy) * fx
        + coarse[:, y0 + 1][:, :, x0 + 1] * fy * fx
    )


@pytest.mark.parametrize(("change", "found"), [("cut", [50]), ("brighter", []), ("none", [])])
def test_a_cut_between_moving_shots_is_found_where_it_does_not_stand_out(
    change: str, found: list[int]
) -> None:
    """Pans of 2 pixels a frame across detailed pictures: every frame changes so much that a cut
    to another pan at frame 50 stands out less than ``cut_standout``; no global shift explains
    its change, one explains each of the others'. The same pan 40 grey levels brighter from
    frame 50 on stands out as much, and is no cut; nor is the pan alone."""
    rng = np.random.default_rng(0)
    step = 2
    first, second = (_smooth_picture(rng, 64 + 100 * step) for _ in range(2))
    frames = []
    for i in range(100):
        picture, k = (second, i - 50) if change == "cut" and i >= 50 else (first, i)
        pixels = picture[:, :, k * step : k * step + 64] + rng.normal(0, 1.0, (3, 36, 64))
        if change == "brighter" and i >= 50:
            pixels[0] += 40
        frames.append(Frame(i, i / 25, np.clip(pixels, 0, 255).astype(np.uint8)))
    detector = AdaptiveShotDetector(scores=array("d"))
    assert [b.frame for b in detector.detect(frames, 25.0)] == found
    assert detector.scores is not None
    if change != "none":  # the moving shot's test is what decides
        params = detector.params
        assert params.moving_cut_standout <= detector.scores[50] < params.cut_standout


@pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="labelled clips not present")
@pytest.mark.parametrize(("width", "step"), [(256, 2), (640, 6)])
def test_a_fast_pan_over_a_real_picture_is_no_transition(width: int, step: int) -> None:
    """A window panning ``step`` pixels a frame (of 64) across a real 1280x720 frame scaled to
    ``width`` x 40: over half a gradual window it moves further than a shift is searched for,
    and the histogram of its contexts changes like a dissolve's; still one shot."""
    with av.open(str(SHARED_MEDIA / "testvideo.mp4")) as container:
        picture = (
            next(f for k, f in enumerate(container.decode(video=0)) if k == 100)
            .reformat(width=width, height=40, format="yuv444p")
            .to_ndarray()
        )
    rng = np.random.default_rng(0)
    frames = []
    for i in range(60):
        window = picture[:, 2:38, step * i : step * i + 64] + rng.normal(0, 1.0, (3, 36, 64))
        frames.append(Frame(i, i / 25, np.clip(window, 0, 255).astype(np.uint8)))
    assert AdaptiveShotDetector().detect(frames, 25.0) == []


def _title_card(text: str) -> np.ndarray:
    """White writing, centred, on a black 640x360 card (none for an empty ``text``)."""
    from PIL import Image, ImageDraw, ImageFont

    card = Image.new("RGB", (640, 360))
    draw = ImageDraw.Draw(card)
    font = ImageFont.load_default(size=20)
    _, _, width, height = draw.multiline_textbbox((0, 0), text, font=font, align="center")
    at = ((640 - width) / 2, (360 - height) / 2)
    draw.multiline_text(at, text, font=font, fill=(235, 235, 235), align="center")
    return np.asarray(card)


def test_cuts_between_title_cards_are_found(tmp_path: Path) -> None:
    """A trailer's cards, cut from one to the next: the writing fills a few blocks of the grid,
    the black field the rest. The median block of the field did not change; the writing is the
    picture, so its blocks decide (two one-line cards in a row were taken for one)."""
    texts = ["IN A WORLD", "WHERE NOTHING\nIS WHAT IT SEEMS", "ONE MAN", "THIS SUMMER", "SOON"]
    frames = [_title_card(text) for text in texts for _ in range(30)]
    video = encode(tmp_path / "cards.mp4", frames)
    assert detect_shots(str(video)).shot_frame_ids == [0, 30, 60, 90, 120]


def test_writing_that_appears_on_a_blank_field_is_no_cut(tmp_path: Path) -> None:
    """A line of writing appearing on a black screen and going again, as a subtitle does: the
    field is the same picture with or without it (the blocks written on in one picture only
    decide nothing)."""
    frames = [_title_card(text) for text in ("", "WHERE ARE YOU GOING?", "") for _ in range(30)]
    video = encode(tmp_path / "subtitle.mp4", frames)
    assert detect_shots(str(video)).shot_frame_ids == [0]
