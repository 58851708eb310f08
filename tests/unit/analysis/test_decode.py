"""Decoding: frame numbering, VFR, rotation, and each InvalidFile path."""

from __future__ import annotations

import itertools
from pathlib import Path

import av
import numpy as np
import pytest

from tests.clips import Clip
from videorecog.analysis import decode
from videorecog.analysis.errors import InvalidVideo
from videorecog.analysis.tasks import detect_shots, make_covers


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("not_video", "InvalidFile.Decode"),
        ("corrupt", "InvalidFile.Decode"),
        ("audio_only", "InvalidFile.Content"),
        ("too_large", "InvalidFile.Resolution"),
    ],
)
def test_bad_files_fail_with_their_code(name: str, code: str, clips: dict[str, Clip]) -> None:
    with pytest.raises(InvalidVideo) as info:
        detect_shots(str(clips[name].path))
    assert info.value.code == code


def test_frames_numbered_in_decode_order_with_timestamps(clips: dict[str, Clip]) -> None:
    """Variable frame rate: numbers are consecutive positions, times rise irregularly."""
    clip = clips["vfr"]
    container = decode.open_video(str(clip.path))
    try:
        stream, _ = decode.probe(container)
        frames = list(decode.iter_frames(container, stream, width=32, height=18))
    finally:
        container.close()
    assert [f.index for f in frames] == list(range(clip.truth.frames))
    gaps = {round(b.time - a.time, 3) for a, b in itertools.pairwise(frames)}
    assert len(gaps) > 1, "timestamps should be irregular in a VFR clip"
    assert all(g > 0 for g in gaps)


def test_rotated_video_covers_are_upright(clips: dict[str, Clip], tmp_path: object) -> None:
    """A 320x180 clip flagged with a 90-degree display rotation yields portrait covers."""
    from pathlib import Path

    from PIL import Image

    out = Path(str(tmp_path))
    result = make_covers(str(clips["rotated"].path), str(out), "rot", is_gif=False)
    with Image.open(out / result.covers[0].file) as image:
        assert image.height > image.width


def test_scaled_size_keeps_aspect_and_never_upscales() -> None:
    assert decode.scaled_size(1280, 720, 64) == (64, 36)
    assert decode.scaled_size(100, 50, 640) == (100, 50)
    w, h = decode.scaled_size(1281, 545, 160)
    assert w % 2 == 0
    assert h % 2 == 0


def test_a_few_corrupt_packets_are_tolerated(clips: dict[str, Clip], tmp_path: Path) -> None:
    """Three unreadable packets: the rest decodes and the cut is still found."""
    from tests.clips import corrupt_packets

    clip = clips["cuts"]
    damaged = tmp_path / "damaged.mp4"
    corrupt_packets(clip.path, damaged, [20, 50, 100])
    result = detect_shots(str(damaged))
    assert clip.truth.frames - 3 <= result.frames < clip.truth.frames
    assert len(result.shot_frame_ids) == len(clip.truth.shot_frame_ids)
    for found, true in zip(result.shot_frame_ids, clip.truth.shot_frame_ids, strict=True):
        assert abs(found - true) <= 3  # frames lost before a cut shift its number


def test_too_many_corrupt_packets_fail_as_decode(clips: dict[str, Clip], tmp_path: Path) -> None:
    from tests.clips import corrupt_packets

    damaged = tmp_path / "ruined.mp4"
    corrupt_packets(clips["cuts"].path, damaged, list(range(5, 5 + decode.MAX_DECODE_ERRORS + 5)))
    with pytest.raises(InvalidVideo) as info:
        detect_shots(str(damaged))
    assert info.value.code == "InvalidFile.Decode"


def _frame(width: int, height: int, pixel_format: str) -> av.VideoFrame:
    """A smooth colour field, different in every channel, with no detail finer than a cell."""
    y, x = np.mgrid[0:height, 0:width] / np.array([[[height]], [[width]]])
    rgb = np.stack([x * 255, y * 255, 128 + 100 * np.sin(3 * x + 2 * y)], axis=-1)
    return av.VideoFrame.from_ndarray(rgb.astype(np.uint8), format="rgb24").reformat(
        format=pixel_format
    )


@pytest.mark.parametrize(
    ("picker", "width", "height", "pixel_format"),
    [
        (decode.PlaneSampler, 1280, 720, "yuv420p"),
        (decode.PlaneSampler, 641, 361, "yuv420p"),
        (decode.PlaneSampler, 640, 360, "yuv422p"),
        (decode.PlaneSampler, 1920, 1080, "yuv444p"),
        (decode.PlaneResizer, 160, 90, "yuv420p"),
        (decode.PlaneResizer, 161, 91, "yuv420p"),
        (decode.PlaneResizer, 320, 180, "yuv422p"),
        (decode.PlaneResizer, 480, 270, "yuv444p"),
    ],
)
def test_frames_taken_from_the_planes_match_libswscale(
    picker: type[decode.PlaneSampler | decode.PlaneResizer],
    width: int,
    height: int,
    pixel_format: str,
) -> None:
    """Picked (large frames) or resized (small ones) straight from the planes, the analysis frame
    is what libswscale's averaging scaler gives, within a few grey levels, for odd sizes, several
    halvings and every chroma layout they take."""
    frame = _frame(width, height, pixel_format)
    picked = picker(64, 36).sample(frame)
    assert picked is not None
    assert picked.shape == (3, 36, 64)
    assert picked.dtype == np.uint8
    reference = frame.reformat(width=64, height=36, format="yuv444p", interpolation="AREA")
    expected = reference.to_ndarray().astype(int)
    assert np.abs(picked.astype(int) - expected).max() <= 4


def test_plane_sampler_leaves_other_formats_to_libswscale() -> None:
    assert decode.PlaneSampler(64, 36).sample(_frame(640, 360, "rgb24")) is None
    assert decode.PlaneSampler(64, 36).sample(_frame(640, 360, "yuvj420p")) is None
    # Small pictures: libswscale is cheap there and smoother than a few taps.
    assert decode.PlaneSampler(64, 36).sample(_frame(320, 180, "yuv420p")) is None


def test_plane_resizer_leaves_other_formats_to_libswscale() -> None:
    assert decode.PlaneResizer(64, 36).sample(_frame(160, 90, "rgb24")) is None
    # Full-range YUV: libswscale maps it to the video range the detector expects.
    assert decode.PlaneResizer(64, 36).sample(_frame(160, 90, "yuvj420p")) is None


@pytest.mark.parametrize(
    ("width", "height", "pixel_format"),
    [
        (160, 90, "yuv420p"),  # the low-resolution real clip's size
        (161, 91, "yuv420p"),  # odd: a row and a column left out at each halving
        (322, 182, "yuv420p"),  # a halved width odd before the second halving
        (426, 240, "yuv420p"),
        (352, 288, "yuv422p"),
        (480, 270, "yuv444p"),
    ],
)
def test_small_frames_resized_together_are_resized_as_alone(
    width: int, height: int, pixel_format: str
) -> None:
    """Side by side in one picture, each frame's pixels are exactly what it gets alone: nothing
    of a neighbour bleeds in, at odd sizes and over several halvings."""
    rng = np.random.default_rng(width * height)
    frames = [
        av.VideoFrame.from_ndarray(
            rng.integers(0, 256, (height, width, 3), dtype=np.uint8), format="rgb24"
        ).reformat(format=pixel_format)
        for _ in range(5)
    ]
    out_height = decode.scaled_size(width, height, 64)[1]
    resizer = decode.PlaneResizer(64, out_height)
    together = resizer.sample_many(frames)
    assert together is not None
    alone = np.stack([resizer.sample(frame) for frame in frames])  # type: ignore[misc]
    assert np.array_equal(together, alone)


def test_frames_resized_together_only_when_alike() -> None:
    """Frames of different sizes or formats, or a width whose last step would place columns
    differently side by side, are left to ``sample``: ``sample_many`` declines."""
    resizer = decode.PlaneResizer(64, 36)
    small, other = _frame(160, 90, "yuv420p"), _frame(192, 108, "yuv420p")
    assert resizer.sample_many([small, other]) is None
    assert resizer.sample_many([small, _frame(160, 90, "yuv444p")]) is None
    assert resizer.sample_many([_frame(160, 90, "rgb24")]) is None
    # 48 output columns from 80: 5/3 of a column a step, not a binary fraction.
    assert decode.PlaneResizer(48, 36).sample_many([small, small]) is None
    assert decode.PlaneResizer(48, 36).sample(small) is not None


def test_iterated_small_frames_come_in_order_as_resized_alone(clips: dict[str, Clip]) -> None:
    """Held back to be resized together, the frames of a small video still come one by one in
    order, with their own times and the pixels ``sample`` gives each."""
    path = str(clips["cuts"].path)
    with av.open(path) as container:
        stream, info = decode.probe(container)
        width, height = decode.scaled_size(info.width, info.height, 64)
        frames = list(
            decode.iter_frames(
                container, stream, width=width, height=height, pixel_format="yuv444p",
                deblock=False, resize_small=True,
            )
        )  # fmt: skip
    with av.open(path) as container:
        stream = container.streams.video[0]
        decode.prepare(stream, deblock=False)
        decoded = list(container.decode(stream))
    resizer = decode.PlaneResizer(width, height)
    assert len(frames) == len(decoded) > decode.BATCH  # a full batch and a rest
    assert [f.index for f in frames] == list(range(len(decoded)))
    assert [f.time for f in frames] == [float(d.time or 0) for d in decoded]
    for frame, picture in zip(frames, decoded, strict=True):
        assert np.array_equal(frame.image, resizer.sample(picture))


def test_long_videos_of_small_frames_are_resized_by_opencv(
    clips: dict[str, Clip], monkeypatch: pytest.MonkeyPatch
) -> None:
    """From ``RESIZE_MIN_FRAMES`` on, small frames come from ``PlaneResizer``; below, from
    libswscale (a short video does not repay OpenCV's import)."""
    from videorecog.analysis import letterbox, source
    from videorecog.analysis.detection import DetectorParams

    def first_image(path: Path) -> np.ndarray:
        with av.open(str(path)) as container:
            stream, info = decode.probe(container)
            setup = source.Setup(str(path), info, DetectorParams(), letterbox.Area.whole(info))
            frames = source.analysis_frames(container, stream, setup, survey=False)
            return next(iter(frames)).image

    path = clips["cuts"].path
    with av.open(str(path)) as container:
        stream, info = decode.probe(container)
        decode.prepare(stream, deblock=False)  # as the analysis decodes
        frame = next(container.decode(stream))
        width, height = decode.scaled_size(info.width, info.height, source.ANALYSIS_WIDTH)
        resized = decode.PlaneResizer(width, height).sample(frame)
        scaled = decode.to_image(frame, width, height, "yuv444p", decode.VideoReformatter())
    assert resized is not None
    assert not np.array_equal(resized, scaled)
    assert info.duration * info.fps < source.RESIZE_MIN_FRAMES
    assert np.array_equal(first_image(path), scaled)
    monkeypatch.setattr(source, "RESIZE_MIN_FRAMES", 1)
    assert np.array_equal(first_image(path), resized)
