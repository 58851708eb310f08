"""The shot detector on real footage: the labelled clips, and clips composed from their shots with
a known change (darkened, overlaid, flashed, faded through white) whose truth is exact."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from tests.clips import encode
from tests.support import SHARED_MEDIA
from videorecog.analysis import decode
from videorecog.analysis.detection import Boundary
from videorecog.analysis.scoring import Labels, score
from videorecog.analysis.shots import AdaptiveShotDetector
from videorecog.analysis.source import Setup, analysis_frames
from videorecog.analysis.tasks import detect_shots
from videorecog.samples import labels_at, night_graded, repeated_to_rate

pytestmark = pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="labelled clips not present")

Rgb = npt.NDArray[np.uint8]
LOW_RES = SHARED_MEDIA / "transnet_test.mp4"  # 160x90, 129 hand-labelled cuts


def _assert_one_boundary(path: Path, frames: Sequence[Rgb], lo: int, hi: int) -> None:
    """``frames`` encoded to ``path`` hold one boundary, at a frame from ``lo`` to ``hi``."""
    ids = detect_shots(str(encode(path, frames))).shot_frame_ids
    assert len(ids) == 2, ids
    assert lo <= ids[1] <= hi, ids


def _labels(name: str) -> Labels:
    data = json.loads((SHARED_MEDIA / "labels" / f"{name}.json").read_text())
    return Labels(
        tuple(data["cuts"]),
        tuple(tuple(g) for g in data["gradual"]),
        tuple(tuple(u["frames"]) for u in data["uncertain"]),
    )


def _frames(path: Path, first: int, count: int) -> list[Rgb]:
    """Frames ``first`` .. ``first + count - 1`` of a video, as RGB arrays."""
    out: list[Rgb] = []
    with av.open(str(path)) as container:
        for k, frame in enumerate(container.decode(video=0)):
            if k >= first + count:
                break
            if k >= first:
                out.append(frame.to_ndarray(format="rgb24"))
    return out


def _upscaled(frames: Sequence[Rgb], width: int, height: int) -> Iterator[Rgb]:
    from PIL import Image

    for f in frames:
        yield np.asarray(Image.fromarray(f).resize((width, height), Image.Resampling.BICUBIC))


# Three shots of the low-resolution clip, well inside their labelled boundaries.
SHOTS = [(2510, 24), (2620, 30), (2720, 28)]


@pytest.fixture(scope="module")
def shots() -> list[list[Rgb]]:
    return [list(_upscaled(_frames(LOW_RES, a, n), 320, 180)) for a, n in SHOTS]


def test_low_resolution_real_clip_scores_at_least_097() -> None:
    """160x90 music-video footage, 129 hand-labelled cuts, strobe lighting: F1 >= 0.97."""
    outcome = score(detect_shots(str(LOW_RES)).shot_frame_ids, _labels(LOW_RES.name))
    assert outcome.f1 >= 0.97, outcome


def test_the_low_resolution_clips_closing_fade_is_one_boundary() -> None:
    """The clip ends in a slow fade to black (its last labelled transition, 63 frames) whose
    light flickers on the way down: the fade test's walk up its ramp stops there, and the
    gradual test finds the fade's first part. One transition, reported once."""
    lo, hi = _labels(LOW_RES.name).gradual[-1]
    ids = detect_shots(str(LOW_RES)).shot_frame_ids
    assert len([i for i in ids if lo - 2 <= i <= hi + 2]) == 1, ids[-3:]


def test_short_real_shots_are_kept() -> None:
    """Every labelled shot shorter than a third of a second keeps both its cuts (no minimum
    shot length): 17 and 24 are seven frames apart."""
    cuts = _labels(LOW_RES.name).cuts
    ids = detect_shots(str(LOW_RES)).shot_frame_ids
    short = [(a, b) for a, b in itertools.pairwise(cuts) if b - a < 8]
    assert short, "the clip has short shots"
    for a, b in short:
        assert any(abs(i - a) <= 2 for i in ids), (a, b)
        assert any(abs(i - b) <= 2 for i in ids), (a, b)


def test_a_darkened_video_has_the_same_cuts(shots: list[list[Rgb]], tmp_path: Path) -> None:
    """Decisions are relative to the video's own changes: the same cuts at a fifth of the
    brightness."""
    frames = [f for shot in shots for f in shot]
    dark = [(f.astype(np.float32) * 0.2).astype(np.uint8) for f in frames]
    bright_ids = detect_shots(str(encode(tmp_path / "bright.mp4", frames))).shot_frame_ids
    dark_ids = detect_shots(str(encode(tmp_path / "dark.mp4", dark))).shot_frame_ids
    assert bright_ids == [0, 24, 54]
    assert dark_ids == bright_ids


def test_cuts_in_a_night_scene_stand(tmp_path: Path) -> None:
    """The film clip graded as a night scene (in full range, black at 0) is dark throughout,
    its mean luma under 20, but not black, its lights standing out: its two cuts are found,
    nothing else. (Taken for one long black run, every cut inside it was dropped.)"""
    name, video = "goldeneye-vfr-drop3.mp4", tmp_path / "night.mp4"
    night_graded(SHARED_MEDIA / name, video, (320, 136))
    outcome = score(detect_shots(str(video)).shot_frame_ids, _labels(name))
    assert (outcome.false_positives, outcome.false_negatives) == (0, 0), outcome


def test_fades_into_a_night_scene_are_found(tmp_path: Path) -> None:
    """The 720p clip graded as a night scene: its cuts, its dissolve and its four fades through
    black (two in, two out, to and from pictures whose mean luma is about 20 above black, their
    contrast more) are found, and nothing is added. (A ramp had to climb 25 levels of mean luma
    from the edge of the black run: three of them were missed; then the last, a fade out of a
    picture whose mean and contrast both stay under 25 levels, into true black.)"""
    name, video = "testvideo.mp4", tmp_path / "night.mp4"
    night_graded(SHARED_MEDIA / name, video, (320, 180))
    labels = _labels(name)
    assert labels.gradual[-1] == (664, 692)
    found = detect_shots(str(video)).shot_frame_ids
    outcome = score(found, labels)
    assert (outcome.false_positives, outcome.false_negatives) == (0, 0), found


def test_flashes_and_overlays_are_not_cuts(shots: list[list[Rgb]], tmp_path: Path) -> None:
    """Inside one real shot: a one-frame and a three-frame flash, and a station logo that
    appears for twenty frames, change nothing."""
    frames = [f.copy() for f in shots[2] + shots[2][::-1]]  # 56 frames of one shot
    for k in (10, 30, 31, 32):
        frames[k] = np.clip(frames[k].astype(np.int16) + 150, 0, 255).astype(np.uint8)
    for k in range(20, 40):
        frames[k][8:32, 250:310] = (250, 250, 40)
    assert detect_shots(str(encode(tmp_path / "distracted.mp4", frames))).shot_frame_ids == [0]


def test_a_lamp_switched_on_and_off_is_not_a_cut(shots: list[list[Rgb]], tmp_path: Path) -> None:
    """Inside one real shot a warm lamp lights the picture for eight frames (longer than a
    flash), brightest at the left, falling off to nothing two thirds across: the edges stay
    where they were, so no cut, though the histogram, pixel and structure changes stand out as
    a cut's do. (A lamp lighting exactly the left half, a hard edge down the middle, agreed
    0.70-0.84 depending on where the analysis grid fell: too close to the bar of 0.75 to
    test; the 4:3 clip's pillarbox, analysed with it until the bars were cut off, had added
    edges that never moved.)"""
    frames = [f.astype(np.float32) for f in shots[2] + shots[2][::-1]]  # 56 frames of one shot
    width = frames[0].shape[1]
    light = np.clip(1 - np.arange(width) / (2 * width / 3), 0, 1)[None, :, None]
    for k in range(20, 28):
        frames[k] = frames[k] + light * (frames[k] * 0.7 + (40, 10, -30))
    lit = [np.clip(f, 0, 255).astype(np.uint8) for f in frames]
    assert detect_shots(str(encode(tmp_path / "lit.mp4", lit))).shot_frame_ids == [0]


def test_the_strobe_light_on_the_low_resolution_clip_is_not_a_cut() -> None:
    """Frame 5143 of the 160x90 clip: the light on the wall behind the singer changes colour
    at once, within one shot."""
    ids = detect_shots(str(LOW_RES)).shot_frame_ids
    assert not any(abs(i - 5143) <= 2 for i in ids), ids


def test_a_fade_through_white_is_one_gradual_boundary(
    shots: list[list[Rgb]], tmp_path: Path
) -> None:
    """Shot A fades to white over 8 frames, holds white for 3, and shot B fades in over 8: one
    boundary inside the fade."""
    a, b = shots[0], shots[2]
    white = np.full_like(a[0], 255)
    out = [*a[:16]]
    out += [(f * (1 - k / 8) + white * (k / 8)).astype(np.uint8) for k, f in enumerate(a[16:24])]
    out += [white] * 3
    out += [(f * (k / 8) + white * (1 - k / 8)).astype(np.uint8) for k, f in enumerate(b[:8])]
    out += b[8:]
    _assert_one_boundary(tmp_path / "white.mp4", out, 16, 35)


def _through(a: Sequence[Rgb], b: Sequence[Rgb], colour: Rgb, hold: int) -> list[Rgb]:
    """``a`` fading out to ``colour`` over its frames, ``hold`` frames of it, ``b`` fading in."""
    n = len(a)
    out = [
        (f * (1 - (k + 1) / n) + colour * ((k + 1) / n)).astype(np.uint8) for k, f in enumerate(a)
    ]
    out += [colour.astype(np.uint8)] * hold
    out += [
        (f * ((k + 1) / n) + colour * (1 - (k + 1) / n)).astype(np.uint8) for k, f in enumerate(b)
    ]
    return out


@pytest.mark.parametrize("rgb", [(200, 30, 30), (16, 32, 64), (128, 128, 128), (90, 160, 40)])
def test_a_fade_through_a_colour_is_one_boundary(
    hd_shots: list[list[Rgb]], tmp_path: Path, rgb: tuple[int, int, int]
) -> None:
    """Shot A fades to a flat colour (neither black nor white: red, navy, grey, green) over 12
    frames, holds it for 2 and shot B fades in over 12, an editor's dip to colour: one
    boundary, inside it. (Each was two boundaries.)"""
    a, b = hd_shots[0], hd_shots[1]
    colour = np.empty_like(a[0], dtype=np.float32)
    colour[:] = rgb
    out = [*a[:10], *_through(a[10:22], b[:12], colour, 2), *b[12:]]
    _assert_one_boundary(tmp_path / "dip.mp4", out, 10 - 2, 35 + 2)


def test_a_colour_card_between_two_cuts_is_one_boundary(
    hd_shots: list[list[Rgb]], tmp_path: Path
) -> None:
    """Four frames of flat orange cut in between two shots: one boundary, as four black frames
    would be (it was two cuts)."""
    orange = np.full_like(hd_shots[0][0], (230, 140, 20))
    out = [*hd_shots[0][:20], *[orange] * 4, *hd_shots[1]]
    _assert_one_boundary(tmp_path / "card.mp4", out, 20 - 2, 23 + 2)


def test_a_pan_onto_a_blank_wall_and_back_is_no_boundary(
    hd_shots: list[list[Rgb]], tmp_path: Path
) -> None:
    """Inside one shot the camera pans onto a blank wall, stays on it for 22 frames and pans
    back: the picture flattens frame by frame, as it does into a dip to colour, but it is not
    blended with the wall: no boundary."""
    shot = [*hd_shots[2], *hd_shots[2][::-1], *hd_shots[2]]
    width = shot[0].shape[1]
    wall = np.empty_like(shot[0])
    wall[:] = (150, 140, 120)
    scene = [np.concatenate([f, wall], axis=1) for f in shot]  # the wall right of the scene
    offsets = [0] * 10 + [round(width * (k + 1) / 14) for k in range(14)] + [width] * 10
    offsets += offsets[::-1]
    out = [np.ascontiguousarray(scene[k][:, x : x + width]) for k, x in enumerate(offsets)]
    ids = detect_shots(str(encode(tmp_path / "wall.mp4", out))).shot_frame_ids
    assert ids == [0], ids


def _closer(frame: Rgb, zoom: float, centre: tuple[float, float] = (0.5, 0.5)) -> Rgb:
    """``frame`` seen ``zoom`` times closer (about ``centre``, as shares of its height and
    width), at 320x180."""
    from PIL import Image

    h, w = frame.shape[:2]
    ch, cw = round(h / zoom), round(w / zoom)
    y, x = round((h - ch) * centre[0]), round((w - cw) * centre[1])
    part = Image.fromarray(frame[y : y + ch, x : x + cw])
    return np.asarray(part.resize((320, 180), Image.Resampling.BICUBIC))


@pytest.fixture(scope="module")
def hd_shot() -> list[Rgb]:
    """100 frames of one shot of the 720p clip (its cuts are at 30 and 180)."""
    return _frames(SHARED_MEDIA / "testvideo.mp4", 60, 100)


@pytest.mark.parametrize("inwards", [True, False])
def test_a_crash_zoom_is_no_cut(hd_shot: list[Rgb], inwards: bool, tmp_path: Path) -> None:
    """A real shot zoomed 3 times closer (or back out) in 6 frames: each frame magnifies the
    one before by a fifth, more than any cut stands out by. A zoom explains each change and
    the ones beside it, so none is a cut. (Two and one were found.)"""
    zooms = np.clip(1 + (np.arange(100) - 40) / 3, 1, 3)
    frames = [_closer(f, z if inwards else 4 - z) for f, z in zip(hd_shot, zooms, strict=True)]
    found = detect_shots(str(encode(tmp_path / "zoom.mp4", frames))).shot_frame_ids
    assert found == [0]


def test_a_whip_roll_is_no_cut(hd_shot: list[Rgb], tmp_path: Path) -> None:
    """A real shot turned a quarter turn in 8 frames, 12 degrees a frame, the corners black as a
    rotating frame leaves them: a roll explains each change and the ones beside it. (Two cuts
    were found.)"""
    from PIL import Image

    turns = np.clip((np.arange(100) - 40) * 12, 0, 90)
    frames = [
        np.asarray(Image.fromarray(_closer(f, 1.0)).rotate(float(a), Image.Resampling.BILINEAR))
        for f, a in zip(hd_shot, turns, strict=True)
    ]
    found = detect_shots(str(encode(tmp_path / "roll.mp4", frames))).shot_frame_ids
    assert found == [0]


@pytest.mark.parametrize("zoom", [1.25, 2.0])
def test_a_cut_to_a_closer_view_is_a_cut(hd_shot: list[Rgb], zoom: float, tmp_path: Path) -> None:
    """A cut to the same picture seen closer (an axial cut, or a punch-in): a zoom explains the
    change, but nothing zooms before or after it."""
    frames = [_closer(f, 1.0) for f in hd_shot[:40]]
    frames += [_closer(f, zoom, (0.3, 0.7)) for f in hd_shot[40:]]
    found = detect_shots(str(encode(tmp_path / "closer.mp4", frames))).shot_frame_ids
    assert found == [0, 40]


def _dissolve(a: Sequence[Rgb], b: Sequence[Rgb]) -> list[Rgb]:
    """Frame k of ``len(a)`` is a blend moving from ``a[k]`` to ``b[k]``."""
    n = len(a) + 1
    return [
        (x * (1 - (k + 1) / n) + y * ((k + 1) / n)).astype(np.uint8)
        for k, (x, y) in enumerate(zip(a, b, strict=True))
    ]


@pytest.fixture(scope="module")
def hd_shots() -> list[list[Rgb]]:
    """Four shots of the 720p clip (inside its labelled shots), at 320x180."""
    source = SHARED_MEDIA / "testvideo.mp4"
    return [list(_upscaled(_frames(source, a, 30), 320, 180)) for a in (100, 250, 440, 600)]


def test_dissolves_around_short_shots_are_one_boundary_each(
    hd_shots: list[list[Rgb]], tmp_path: Path
) -> None:
    """Three 8-frame dissolves in a row with 10-frame shots between them: three gradual
    boundaries, one inside each dissolve (a long window spans two at once)."""
    out, spans = [*hd_shots[0][:16]], []
    for k, (x, y) in enumerate(itertools.pairwise(hd_shots)):
        spans.append((len(out), len(out) + 7))
        out += _dissolve(x[-8:], y[:8])
        out += y[8:18] if k < 2 else y[8:]
    ids = detect_shots(str(encode(tmp_path / "chain.mp4", out))).shot_frame_ids
    assert len(ids) == 4, (ids, spans)
    for found, (a, b) in zip(ids[1:], spans, strict=True):
        assert a - 2 <= found <= b + 2, (ids, spans)


def test_a_long_dissolve_is_one_boundary(hd_shots: list[list[Rgb]], tmp_path: Path) -> None:
    """Shot A dissolves into shot B over 24 frames: one boundary, inside the dissolve."""
    a, b = hd_shots[0], hd_shots[1]
    out = [*a[:6], *_dissolve(a[6:30], b[:24]), *b[24:], *b[::-1]]
    _assert_one_boundary(tmp_path / "long.mp4", out, 6, 29)


def _boundaries(path: Path) -> list[Boundary]:
    """The detector's boundaries in a video, with their kinds, at the video's frame rate."""
    container = decode.open_video(str(path))
    try:
        stream, info = decode.probe(container)
        setup = Setup.of(str(path), info)
        detector = AdaptiveShotDetector(setup.params)
        return detector.detect(analysis_frames(container, stream, setup), info.fps)
    finally:
        container.close()


def test_a_frame_rate_raised_by_repeating_pictures_adds_no_cut(tmp_path: Path) -> None:
    """The first 600 pictures of the low-resolution clip (25 frames/s) shown at 60, each two or
    three times, as a frame-rate conversion does: more than half the frames repeat the one
    before, and the cuts found are the labelled ones, no more. (With the repeats counted among
    a cut's neighbours, the median neighbour had not changed, and new pictures of moving shots
    stood out as cuts.)"""
    video = tmp_path / "raised.mp4"
    firsts = repeated_to_rate(LOW_RES, video, 60, (160, 90), 600)
    cuts = [b.frame for b in _boundaries(video) if b.kind == "cut"]
    outcome = score(cuts, labels_at(_labels("transnet_test.mp4"), firsts))
    assert (outcome.false_positives, outcome.false_negatives) == (0, 0), cuts


@pytest.mark.parametrize(
    "picture",
    [(0, 23, 320, 134), (109, 0, 102, 180)],
    ids=["letterbox 2.39:1", "vertical picture"],
)
def test_bars_around_the_picture_hide_no_cut(tmp_path: Path, picture: tuple[int, ...]) -> None:
    """The first 600 pictures of the low-resolution clip (a 4:3 picture pillarboxed in 16:9)
    scaled into a 2.39:1 letterbox of a 320x180 frame, so that bars surround it, or into a
    vertical picture pillarboxed: every cut is found, none added. (Analysed with the bars, the
    blocks along them kept the bars' edges from picture to picture, and a third of the cuts
    did not stand out.)"""
    video = tmp_path / "boxed.mp4"
    left, top, width, height = picture
    firsts = repeated_to_rate(LOW_RES, video, 25, (320, 180), 600, (left, top, width, height))
    cuts = [b.frame for b in _boundaries(video) if b.kind == "cut"]
    outcome = score(cuts, labels_at(_labels("transnet_test.mp4"), firsts))
    assert (outcome.false_positives, outcome.false_negatives) == (0, 0), cuts


def test_a_blurred_copy_around_the_picture_hides_no_cut(tmp_path: Path) -> None:
    """The first 600 pictures of the low-resolution clip as a vertical picture over a blurred
    copy of itself in a 320x180 frame, as phone videos are shown: every cut is found, none
    added. (With the fill taken for picture, the picture was a third of what was analysed, and
    half the cuts did not stand out.)"""
    video = tmp_path / "filled.mp4"
    firsts = repeated_to_rate(LOW_RES, video, 25, (320, 180), 600, (109, 0, 102, 180), "blur")
    cuts = [b.frame for b in _boundaries(video) if b.kind == "cut"]
    outcome = score(cuts, labels_at(_labels("transnet_test.mp4"), firsts))
    assert (outcome.false_positives, outcome.false_negatives) == (0, 0), cuts


def test_fades_and_dissolves_at_a_frame_rate_raised_by_repeating_pictures(
    tmp_path: Path,
) -> None:
    """The 720p clip (30 frames/s: two hard cuts, four fades through black, a cross-dissolve)
    at 60, each picture shown twice (now and then three times): every boundary is found and
    nothing else. A fade's luma pauses at every repeat: the ramp test stopped there and found
    no fade; and the gradual test's spans of 25 frames/s, a third of a second at 60, found
    transitions in motion."""
    video = tmp_path / "raised.mp4"
    firsts = repeated_to_rate(SHARED_MEDIA / "testvideo.mp4", video, 60, (320, 180))
    found = detect_shots(str(video)).shot_frame_ids
    outcome = score(found, labels_at(_labels("testvideo.mp4"), firsts))
    assert (outcome.false_positives, outcome.false_negatives) == (0, 0), found


def test_the_labelled_hd_clip_at_a_size_that_is_no_multiple_of_the_analysis_size(
    tmp_path: Path,
) -> None:
    """The 720p clip at 642x362: the analysis pictures are sampled from other pixels (10.03
    source pixels to one), and every labelled boundary is still found once; its 28-frame
    cross-dissolve used to be reported twice."""
    source, video = SHARED_MEDIA / "testvideo.mp4", tmp_path / "odd.mp4"
    repeated_to_rate(source, video, size=(642, 362))  # at its own rate: each picture once
    outcome = score(detect_shots(str(video)).shot_frame_ids, _labels("testvideo.mp4"))
    assert (outcome.false_positives, outcome.false_negatives) == (0, 0)


@pytest.mark.parametrize(("width", "height"), [(160, 90), (1920, 1080)])
def test_the_same_cuts_at_any_resolution(width: int, height: int, tmp_path: Path) -> None:
    """The three real shots at 160x90 (as filmed) and upscaled to 1080p: the same two cuts."""
    frames = [
        f
        for a, n in SHOTS
        for f in (
            _frames(LOW_RES, a, n)
            if width == 160
            else list(_upscaled(_frames(LOW_RES, a, n), width, height))
        )
    ]
    ids = detect_shots(str(encode(tmp_path / f"{width}.mp4", frames))).shot_frame_ids
    assert ids == [0, 24, 54]
