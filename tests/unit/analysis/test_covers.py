"""Covers: never black, blurred or mid-transition; diverse; GIFs small, looping, ~10 fps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageSequence

from tests.clips import Clip
from tests.support import SHARED_MEDIA
from videorecog.analysis import covers, gif
from videorecog.analysis.errors import InvalidVideo
from videorecog.analysis.tasks import make_covers


def _frames_of(image_path: Path, clip: Clip) -> list[int]:
    """Which frames of the clip a cover shows: all that match it as well as the best one does
    (a still shot has many identical frames)."""
    from videorecog.analysis import decode

    with Image.open(image_path) as im:
        cover = np.asarray(im.convert("RGB").resize((64, 36)), dtype=np.float32)
    container = decode.open_video(str(clip.path))
    try:
        stream, _ = decode.probe(container)
        errors = [
            float(np.abs(f.image.astype(np.float32) - cover).mean())
            for f in decode.iter_frames(container, stream, width=64, height=36)
        ]
    finally:
        container.close()
    best = min(errors)
    return [i for i, e in enumerate(errors) if e <= best + 0.5]


def test_no_defective_cover(clips: dict[str, Clip], tmp_path: Path) -> None:
    """With black, blurred and mid-dissolve frames planted, every cover comes from a good frame."""
    clip = clips["bad_covers"]
    result = make_covers(str(clip.path), str(tmp_path), "bad", is_gif=False)
    assert result.covers
    for cover in result.covers:
        frames = _frames_of(tmp_path / cover.file, clip)
        good = [f for f in frames if not any(lo <= f <= hi for lo, hi in clip.truth.bad)]
        assert good, (frames, cover)


def test_covers_are_diverse_and_ordered(clips: dict[str, Clip], tmp_path: Path) -> None:
    """Several covers come from different shots, best first, confidence on 0..10."""
    clip = clips["cuts"]
    result = make_covers(str(clip.path), str(tmp_path), "cuts", is_gif=False)
    assert len(result.covers) >= 2
    confidences = [c.confidence for c in result.covers]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0 <= c <= 10 for c in confidences)
    starts = clip.truth.shot_frame_ids
    shots = {
        max(i for i, s in enumerate(starts) if s <= _frames_of(tmp_path / c.file, clip)[0])
        for c in result.covers
    }
    assert len(shots) == len(result.covers)


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


def test_black_and_blurred_frames_are_unusable() -> None:
    rng = np.random.default_rng(2)
    sharp = rng.integers(0, 255, (90, 160, 3), dtype=np.uint8)
    assert covers.assess(sharp).usable
    assert not covers.assess(np.zeros((90, 160, 3), np.uint8)).usable
    blurred = np.asarray(
        Image.fromarray(sharp).resize((16, 9)).resize((160, 90), Image.Resampling.BICUBIC)
    )
    assert not covers.assess(blurred).usable


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


def test_a_video_with_no_usable_frame_fails_with_content(tmp_path: Path) -> None:
    """All black: no cover can be made, and the job says why."""
    from videorecog.samples import Plan, Shot, render

    render(Plan(shots=(Shot(30, "still", 1, black=True),), transitions=()), tmp_path / "b.mp4")
    with pytest.raises(InvalidVideo) as info:
        make_covers(str(tmp_path / "b.mp4"), str(tmp_path), "b", is_gif=False)
    assert info.value.code == "InvalidFile.Content"


def test_face_term_raises_confidence() -> None:
    """A clear face adds up to one point on the 0..10 scale, no more."""
    quality = covers.Quality(0.8, 0.8, 0.8, 0.8, usable=True)
    plain = quality.confidence(1.0)
    assert quality.confidence(1.0, face=covers.FACE_FULL) == pytest.approx(plain + 1.0)
    assert quality.confidence(1.0, face=0.5) == pytest.approx(plain + 1.0)
    assert quality.confidence(1.0, face=covers.FACE_FULL / 2) == pytest.approx(plain + 0.5)


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
