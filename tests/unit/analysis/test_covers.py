"""Covers: judged against the video's own frames; never black, over-exposed, blurred or
mid-transition when something better exists; one per shot, best first; GIFs inside one shot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter, ImageSequence

from tests.clips import Clip
from tests.support import SHARED_MEDIA
from videorecog.analysis import covers, gif
from videorecog.analysis.detection import Boundary
from videorecog.analysis.errors import InvalidVideo
from videorecog.analysis.tasks import make_covers
from videorecog.samples import Plan, Shot, Transition, render


def _decoded(path: Path) -> list[np.ndarray]:
    from videorecog.analysis import decode

    container = decode.open_video(str(path))
    try:
        stream, _ = decode.probe(container)
        return [
            f.image.astype(np.float32)
            for f in decode.iter_frames(container, stream, width=64, height=36)
        ]
    finally:
        container.close()


def _frames_of(image: Image.Image, frames: list[np.ndarray]) -> list[int]:
    """Which frames a picture shows: all that match it as well as the best one does (a still
    shot has many identical frames)."""
    small = np.asarray(image.convert("RGB").resize((64, 36)), dtype=np.float32)
    errors = [float(np.abs(f - small).mean()) for f in frames]
    best = min(errors)
    return [i for i, e in enumerate(errors) if e <= best + 0.5]


def _shot_of(frame: int, starts: list[int]) -> int:
    return max(i for i, s in enumerate(starts) if s <= frame)


def _textured(seed: int, shape: tuple[int, int] = (180, 320)) -> np.ndarray:
    """A natural-looking picture: smooth colour fields with fine texture."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(30, 220, (shape[0] // 20, shape[1] // 20, 3), dtype=np.uint8)
    field = Image.fromarray(coarse).resize((shape[1], shape[0]), Image.Resampling.BICUBIC)
    texture = rng.normal(0, 18, (*shape, 1))
    return np.clip(np.asarray(field, np.float32) + texture, 0, 255).astype(np.uint8)


def _blurred(rgb: np.ndarray, radius: float) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(radius)))


def _candidate(index: int, rgb: np.ndarray) -> covers.Candidate:
    return covers.make_candidate(index, index / 25, rgb, np.full(32, 1 / 32, np.float32))


def test_no_defective_cover(clips: dict[str, Clip], tmp_path: Path) -> None:
    """With black, blurred and mid-dissolve frames planted, every cover comes from a good frame."""
    clip = clips["bad_covers"]
    result = make_covers(str(clip.path), str(tmp_path), "bad", is_gif=False)
    assert result.covers
    frames = _decoded(clip.path)
    for cover in result.covers:
        with Image.open(tmp_path / cover.file) as im:
            shown = _frames_of(im, frames)
        good = [f for f in shown if not any(lo <= f <= hi for lo, hi in clip.truth.bad)]
        assert good, (shown, cover)


def test_covers_come_from_distinct_shots_best_first(clips: dict[str, Clip], tmp_path: Path) -> None:
    """Every shot of a four-shot clip gives one cover, each from a different shot, confidence
    on 0..10 and never increasing down the list."""
    clip = clips["cuts"]
    result = make_covers(str(clip.path), str(tmp_path), "cuts", is_gif=False)
    assert len(result.covers) == len(clip.truth.shot_frame_ids)
    confidences = [c.confidence for c in result.covers]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0 <= c <= 10 for c in confidences)
    frames = _decoded(clip.path)
    shots = set()
    for cover in result.covers:
        with Image.open(tmp_path / cover.file) as im:
            shots.add(_shot_of(_frames_of(im, frames)[0], clip.truth.shot_frame_ids))
    assert len(shots) == len(result.covers)


def test_a_soft_video_gets_covers(tmp_path: Path) -> None:
    """Blurred from end to end (every shot out of focus): judged against itself, it still gets
    a cover from each of its shots instead of InvalidFile.Content."""
    plan = Plan(
        shots=(Shot(30, "still", 301, blurred=True), Shot(30, "pan", 302, blurred=True)),
        transitions=(Transition("cut"),),
        width=320,
        height=180,
    )
    render(plan, tmp_path / "soft.mp4")
    result = make_covers(str(tmp_path / "soft.mp4"), str(tmp_path), "s", is_gif=False)
    assert len(result.covers) == 2


@pytest.mark.parametrize("black", [True, False], ids=["black", "flat grey"])
def test_a_video_with_nothing_to_see_fails_with_content(tmp_path: Path, black: bool) -> None:
    """All black, or one flat grey level: no cover can be made, and the job says why."""
    path = tmp_path / "empty.mp4"
    if black:
        render(Plan(shots=(Shot(30, "still", 1, black=True),), transitions=()), path)
    else:
        _encode([np.full((90, 160, 3), 128, np.uint8)] * 30, path)
    with pytest.raises(InvalidVideo) as info:
        make_covers(str(path), str(tmp_path), "b", is_gif=False)
    assert info.value.code == "InvalidFile.Content"


def _encode(images: list[np.ndarray], path: Path) -> None:
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.height, stream.width = images[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for image in images:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def test_blur_is_judged_against_the_video() -> None:
    """The same soft picture is blurred in a sharp video and fine in a video as soft as it."""
    sharp = [_textured(k) for k in range(6)]
    soft = [_blurred(im, 2.5) for im in sharp]
    in_sharp, in_soft = covers.CandidatePool(), covers.CandidatePool()
    for k in range(6):
        in_sharp.add(_candidate(k, sharp[k]))
        in_soft.add(_candidate(k, soft[k]))
    probe = _candidate(99, soft[0]).features
    judged_in_sharp = covers.judge(probe, in_sharp.reference())
    judged_in_soft = covers.judge(probe, in_soft.reference())
    assert "blurred" in judged_in_sharp.defects
    assert judged_in_soft.usable
    assert judged_in_soft.sharpness > 0.7 > judged_in_sharp.sharpness


def test_exposure_defects() -> None:
    """Near-white and clipped frames are over-exposed, near-black ones under-exposed; a frame of
    one level is not visible at all."""
    picture = _textured(7)
    reference = covers.Reference(detail=covers.measure(picture).detail, mean=0.45, std=0.2)
    blown = np.clip(picture.astype(np.float32) * 1.6 + 140, 0, 255).astype(np.uint8)
    dark = (picture * 0.06).astype(np.uint8)
    assert covers.judge(covers.measure(picture), reference).usable
    assert "over-exposed" in covers.judge(covers.measure(blown), reference).defects
    assert "under-exposed" in covers.judge(covers.measure(dark), reference).defects
    assert not covers.measure(np.full((90, 160, 3), 250, np.uint8)).visible
    assert not covers.measure(np.zeros((90, 160, 3), np.uint8)).visible


def test_a_night_scene_is_dark_but_not_under_exposed() -> None:
    """A frame as dark on average as a fade's last frames, but with lights standing out, is no
    defect in a video of such frames; a visible frame whose every part is dim is."""
    rng = np.random.default_rng(3)
    night = np.full((180, 320, 3), 4, np.uint8)
    for y, x in rng.integers((10, 10), (170, 310), (12, 2)):
        night[y : y + 8, x : x + 8] = 230  # windows lit in the dark
    dim = np.clip((_textured(7).astype(np.float32) - 128) * 0.2 + 9, 0, 255).astype(np.uint8)
    reference = covers.Reference(detail=covers.measure(night).detail, mean=0.03, std=0.08)
    for frame in (night, dim):
        assert covers.measure(frame).mean < covers.DARK_LUMA
        assert covers.measure(frame).visible
    assert covers.judge(covers.measure(night), reference).usable
    assert "under-exposed" in covers.judge(covers.measure(dim), reference).defects


@pytest.mark.parametrize("seeds", [(1, 2), (5, 6), (8, 9)])
def test_the_same_picture_is_told_apart_from_another_dark_one(seeds: tuple[int, int]) -> None:
    """A picture and its blurred copy are the same picture, dark or not; two different pictures
    darkened to a few levels (still visible) are alike in colours and levels, not in layout."""
    a, b = (_textured(seed) for seed in seeds)
    assert covers.same_picture(_candidate(0, a), _candidate(1, _blurred(a, 2)))
    assert not covers.same_picture(_candidate(0, a), _candidate(1, b))
    dark_a, dark_b = ((x * 0.1).astype(np.uint8) for x in (a, b))
    assert covers.measure(dark_a).visible
    assert covers.measure(dark_b).visible
    same_dark = covers.same_picture(_candidate(0, dark_a), _candidate(1, _blurred(dark_a, 2)))
    assert same_dark
    assert not covers.same_picture(_candidate(0, dark_a), _candidate(1, dark_b))


def test_defective_frames_only_as_a_last_resort() -> None:
    """A shot with only over-exposed frames gives no cover when another shot has a clean one;
    when every frame is defective the best of them is still a cover (never a refusal)."""
    clean, blown = _textured(3), np.full((180, 320, 3), 245, np.uint8)
    blown[::7] = 200  # near white, with a little content
    shots = [Boundary(50, "cut", 1.0, (50, 50))]
    reference = covers.Reference(detail=covers.measure(clean).detail, mean=0.45, std=0.2)
    mixed = [_candidate(10, blown), _candidate(20, blown), _candidate(70, clean)]
    picks = covers.best_per_shot(mixed, shots, 100, 25.0, reference)
    assert [p.candidate.index for p in picks] == [70]
    only_blown = [_candidate(10, blown), _candidate(70, blown)]
    picks = covers.best_per_shot(only_blown, shots, 100, 25.0, reference)
    assert len(picks) == 2
    assert all(p.tier == 2 and p.confidence <= 5.0 for p in picks)


def test_frames_inside_a_transition_are_defective() -> None:
    """A frame inside a detected dissolve loses to any frame outside it; the shots' clean parts
    (where GIF covers are taken) keep a margin from it."""
    frames = [_candidate(i, _textured(i)) for i in (30, 60, 90)]
    dissolve = [Boundary(60, "gradual", 1.0, (50, 70))]
    picks = covers.best_per_shot(frames, dissolve, 120, 25.0)
    assert 60 not in [p.candidate.index for p in picks]
    margin = round(covers.TRANSITION_MARGIN_SECONDS * 25)
    assert sorted(p.clean for p in picks) == [(0, 50 - margin), (71 + margin, 120)]


def test_a_missed_dissolve_is_unsteady() -> None:
    """Samples in the middle of a dissolve nobody detected change far more than the still
    pictures either side: they count as near a transition, the stills do not."""
    a, b = _textured(11).astype(np.float32), _textured(12).astype(np.float32)
    frames = [a] * 40 + [a + (b - a) * (k + 1) / 31 for k in range(30)] + [b] * 40
    samples = [_candidate(n, frames[n].astype(np.uint8)) for n in range(0, 110, 6)]
    unsteady = covers._unsteady(samples, [0] * len(samples))
    flagged = [c.index for c, u in zip(samples, unsteady, strict=True) if u]
    assert flagged
    assert all(40 <= n < 70 for n in flagged)
    picks = covers.best_per_shot(samples, [], 110, 25.0)
    assert not 40 <= picks[0].candidate.index < 70


def test_pool_is_bounded_and_keeps_the_distribution() -> None:
    """A long video keeps a bounded number of candidates from all of its length; the reference
    is the distribution of every sample it saw."""
    pool = covers.CandidatePool(per_bucket=2, max_buckets=8)
    pictures = [_textured(k, (45, 80)) for k in range(4)]
    for n in range(400):
        pool.add(covers.make_candidate(n, n * 0.5, pictures[n % 4], np.zeros(32, np.float32)))
    kept = pool.all()
    assert len(kept) <= 2 * 8
    assert kept[0].time < 50
    assert kept[-1].time > 150
    details = sorted(covers.measure(p).detail for p in pictures)
    assert details[0] * 0.9 <= pool.reference().detail <= details[-1] * 1.1


def test_letterbox_bars_are_cropped() -> None:
    """Rows dark in every sample at top and bottom are found and cut away."""
    rng = np.random.default_rng(1)
    samples = []
    for i in range(5):
        rgb = rng.integers(40, 220, (90, 160, 3), dtype=np.uint8)
        rgb[:12] = 0
        rgb[-12:] = 0
        samples.append(covers.make_candidate(i, float(i), rgb, np.zeros(32, np.float32)))
    box = covers.bars(samples)
    assert box[0] == pytest.approx(12 / 90, abs=0.02)
    assert box[1] == pytest.approx(12 / 90, abs=0.02)
    cropped = covers.crop(np.zeros((900, 1600, 3), np.uint8), box)
    assert cropped.shape[0] == pytest.approx(900 - 240, abs=20)


def test_gif_cover_properties(clips: dict[str, Clip], tmp_path: Path) -> None:
    """GIF covers: at most 480 px wide, looping, 2-4 s at about 10 fps, small."""
    clip = clips["cuts"]
    result = make_covers(str(clip.path), str(tmp_path), "g", is_gif=True)
    assert result.covers
    for cover in result.covers:
        path = tmp_path / cover.file
        with Image.open(path) as im:
            assert im.format == "GIF"
            assert im.width <= gif.GIF_MAX_WIDTH
            assert im.info.get("loop") == 0
            durations = [frame.info["duration"] for frame in ImageSequence.Iterator(im)]
        total = sum(durations) / 1000
        assert 1.0 <= total <= 4.0 + 0.2  # a 1.6 s shot gives all it has, less its margins
        assert min(durations) >= 90  # 10 fps, identical frames merged
        assert path.stat().st_size < 600_000


def test_gif_cover_lies_inside_one_shot(tmp_path: Path) -> None:
    """Every frame of each GIF cover comes from one shot (the frames around a transition are
    kept out of the preview's window by ``Pick.clean``, tested below)."""
    plan = Plan(
        shots=(Shot(70, "pan", 401), Shot(75, "zoom", 402), Shot(70, "pan", 403)),
        transitions=(Transition("cut"), Transition("cut")),
        width=320,
        height=180,
    )
    path = tmp_path / "gif.mp4"
    truth = render(plan, path)
    result = make_covers(str(path), str(tmp_path), "g", is_gif=True)
    assert len(result.covers) == 2
    frames = _decoded(path)
    for cover in result.covers:
        with Image.open(tmp_path / cover.file) as im:
            shown = [_frames_of(frame.copy(), frames)[0] for frame in ImageSequence.Iterator(im)]
        assert len(shown) >= 10
        assert len({_shot_of(f, truth.shot_frame_ids) for f in shown}) == 1, shown
        assert not any(lo <= f <= hi for f in shown for lo, hi in truth.gradual), shown


def test_face_term_raises_confidence() -> None:
    """A clear face adds up to one point on the 0..10 scale, no more."""
    quality = covers.Quality(0.8, 0.8, 0.8, 0.8)
    plain = quality.confidence(1.0)
    assert quality.confidence(1.0, face=covers.FACE_FULL) == pytest.approx(plain + 1.0)
    assert quality.confidence(1.0, face=0.5) == pytest.approx(plain + 1.0)
    assert quality.confidence(1.0, face=covers.FACE_FULL / 2) == pytest.approx(plain + 0.5)


def test_shot_detection_does_not_load_opencv() -> None:
    """OpenCV (faces) is imported by the cover task when it runs, not with the task module:
    ``videorecog shots`` starts without it."""
    code = "import sys, videorecog.analysis.tasks; print('cv2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_face_in_a_generated_scene(clips: dict[str, Clip]) -> None:
    from videorecog.analysis import decode, faces

    frames = decode.frame_at_times(str(clips["cuts"].path), [0.5, 2.0], width=480)
    assert frames
    assert all(faces.largest_face(image) == 0.0 for image in frames.values())


@pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="labelled clips not present")
def test_face_found_in_real_footage() -> None:
    """The close-up in the GoldenEye clip (shot 3) has a face covering several % of the frame."""
    from videorecog.analysis import decode, faces

    frames = decode.frame_at_times(str(SHARED_MEDIA / "goldeneye-vfr-drop3.mp4"), [9.5], width=480)
    assert faces.largest_face(frames[9.5]) > covers.FACE_FULL
