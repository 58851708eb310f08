"""Letterbox and pillarbox bars: the picture inside them, and the analysis frames cut to it."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from tests.clips import encode
from tests.support import SHARED_MEDIA
from videorecog.analysis import decode, letterbox
from videorecog.analysis.detection import DetectorParams
from videorecog.analysis.letterbox import Area
from videorecog.analysis.source import ANALYSIS_WIDTH, Setup
from videorecog.samples import repeated_to_rate

needs_media = pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="labelled clips not present")
LOW_RES = SHARED_MEDIA / "transnet_test.mp4"  # 160x90: a 4:3 picture pillarboxed in 16:9
# 1280x544, no bars; its right edge is dark and textured in most of its shots.
WIDE = SHARED_MEDIA / "goldeneye-vfr-drop3.mp4"


def _area(path: Path) -> Area:
    with av.open(str(path)) as container:
        _, info = decode.probe(container)
    return letterbox.picture_area(str(path), info)


def _boxed(tmp_path: Path, picture: tuple[int, int, int, int]) -> Path:
    """The wide clip's pictures scaled into ``picture`` (left, top, width, height) of a 320x180
    frame, black around them."""
    video = tmp_path / "boxed.mp4"
    repeated_to_rate(WIDE, video, 25, (320, 180), picture=picture)
    return video


def _near(found: Area, expected: Area) -> bool:
    """Within two pixels on each side (the encoder blurs a bar's edge)."""
    pairs = zip(
        (found.left, found.top, found.right, found.bottom),
        (expected.left, expected.top, expected.right, expected.bottom),
        strict=True,
    )
    return all(abs(a - b) <= 2 for a, b in pairs)


@needs_media
@pytest.mark.parametrize(
    "picture",
    [(0, 23, 320, 134), (109, 0, 102, 180), (40, 23, 240, 134)],
    ids=["letterbox 2.39:1", "vertical picture", "bars on all sides"],
)
def test_the_picture_inside_bars_is_found(tmp_path: Path, picture: tuple[int, ...]) -> None:
    left, top, width, height = picture
    found = _area(_boxed(tmp_path, (left, top, width, height)))
    assert _near(found, Area(left, top, left + width, top + height)), found


@needs_media
def test_subtitles_in_a_bar_leave_it_a_bar(tmp_path: Path) -> None:
    """A letterboxed film with subtitles in its lower bar two seconds in three (blocks of
    "words" across about half the width): the lower bar's plain lines stop at the subtitles,
    and the bar is taken as thick as the upper one, the picture alone left."""

    def subtitled() -> Iterator[np.ndarray]:
        with av.open(str(WIDE)) as source:
            for k, frame in enumerate(source.decode(video=0)):
                image = np.zeros((180, 320, 3), dtype=np.uint8)
                image[23:157] = frame.to_ndarray(width=320, height=134, format="rgb24")
                if (k // 25) % 3 != 2:
                    rng = np.random.default_rng(k // 25)
                    x = 60
                    for _ in range(6):
                        width = int(rng.integers(10, 30))
                        image[162:171, x : x + width] = 235
                        x += width + 6
                yield image

    video = encode(tmp_path / "subtitled.mp4", subtitled())
    found = _area(video)
    assert _near(found, Area(0, 23, 320, 157)), found


@needs_media
@pytest.mark.parametrize(
    ("size", "picture"),
    [((320, 180), (109, 0, 102, 180)), ((180, 320), (0, 70, 180, 180))],
    ids=["vertical picture in 16:9", "square picture in 9:16"],
)
def test_the_picture_over_a_blurred_copy_is_found(
    tmp_path: Path, size: tuple[int, int], picture: tuple[int, int, int, int]
) -> None:
    """Blurred fill is no black bar, but the picture is found inside it all the same: within
    ``FILL_EDGE`` and a few pixels of the encoder's blur, not wider."""
    video = tmp_path / "filled.mp4"
    repeated_to_rate(WIDE, video, 25, size, picture=picture, fill="blur")
    left, top, width, height = picture
    found = _area(video)
    expected = Area(left, top, left + width, top + height)
    edge = math.ceil(letterbox.FILL_EDGE * max(size)) + 3
    inside = (found.left, found.top, -found.right, -found.bottom)
    outer = (expected.left, expected.top, -expected.right, -expected.bottom)
    assert all(o <= i <= o + edge for i, o in zip(inside, outer, strict=True)), found


@needs_media
def test_the_real_clips_own_pillarbox_is_found() -> None:
    """20 black columns on either side of the 4:3 picture (the picture's own dark edge may
    add a column or two)."""
    found = _area(LOW_RES)
    assert (found.top, found.bottom) == (0, 90)
    assert 20 <= found.left <= 23, found
    assert 137 <= found.right <= 140, found


@needs_media
def test_a_dark_edge_of_the_picture_is_no_bar() -> None:
    """Dark but textured in every frame looked at: picture, not a bar."""
    assert _area(WIDE) == Area(0, 0, 1280, 544)


@needs_media
def test_thin_dark_edges_are_no_bars(tmp_path: Path) -> None:
    """Two black rows at the top and the bottom (1% of the height): the frame is analysed whole,
    as without them."""
    assert _area(_boxed(tmp_path, (0, 2, 320, 176))) == Area(0, 0, 320, 180)


def test_a_black_video_is_no_bar(tmp_path: Path) -> None:
    video = encode(tmp_path / "black.mp4", [np.zeros((36, 64, 3), dtype=np.uint8)] * 50)
    assert _area(video) == Area(0, 0, 64, 36)


@pytest.mark.parametrize("share", [letterbox.DARK_SHARE, letterbox.DIM_SHARE, 0.0, 0.5, 1.0])
def test_line_quantiles_are_numpys(share: float) -> None:
    """The bar tests' quantiles are np.quantile's, value for value, at every interpolation
    (lines of 1 to 40 pixels; both ends of the range)."""
    rng = np.random.default_rng(7)
    for height, width in [(1, 1), (1, 40), (40, 1), *rng.integers(2, 41, size=(30, 2))]:
        luma = rng.integers(0, 64, size=(height, width), dtype=np.uint8)
        for axis in (0, 1):
            expected = np.quantile(luma, share, axis=axis)
            assert np.array_equal(letterbox._quantile(luma, share, axis), expected)


def test_the_picture_inside_bars_is_analysed_at_the_usual_width() -> None:
    """A 4:3 picture pillarboxed in a 160x90 frame (found a pixel off at an odd edge): its
    window, at even pixels, is analysed 64 wide, the height by its aspect ratio; without bars
    the whole frame is scaled as it always was."""
    info = decode.VideoInfo(160, 90, 25.0, 10.0)
    assert Setup("", info, DetectorParams(), Area(21, 1, 139, 90)).scaling() == (
        ANALYSIS_WIDTH,
        48,
        (22, 2, 138, 90),
    )
    assert Setup("", info, DetectorParams(), Area.whole(info)).scaling() == (64, 36, None)


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (320, 180)])
def test_every_scaling_path_takes_the_same_window(width: int, height: int) -> None:
    """A letterboxed frame's picture, taken by tap sampling (large frames), by OpenCV (small
    frames of long videos) and by libswscale (other formats): the same picture each time,
    none of the bars in it."""
    rng = np.random.default_rng(7)
    top = height // 8
    picture = np.kron(rng.integers(40, 220, (6, 8, 3)), np.ones((1, 1, 1)))
    rgb = np.zeros((height, width, 3), dtype=np.uint8)
    inner = np.asarray(
        av.VideoFrame.from_ndarray(picture.astype(np.uint8), format="rgb24")
        .reformat(width=width, height=height - 2 * top, interpolation="BILINEAR")
        .to_ndarray(),
        dtype=np.uint8,
    )
    rgb[top : height - top] = inner
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    window = (0, top, width, height - top)
    out_w, out_h = decode.scaled_size(width, height - 2 * top, ANALYSIS_WIDTH)
    taken = {
        "taps": decode.PlaneSampler(out_w, out_h, window=window).sample(frame),
        "opencv": decode.PlaneResizer(out_w, out_h, window).sample(frame),
        "libswscale": decode.Pictures(out_w, out_h, "yuv444p", window=window)._scaled(frame),
    }
    if width < decode.MIN_CELL * out_w:
        assert taken["taps"] is None  # too small for taps
        del taken["taps"]
    expected = decode.Pictures(out_w, out_h, "yuv444p")._scaled(
        av.VideoFrame.from_ndarray(inner, format="rgb24").reformat(format="yuv420p")
    )
    for path, image in taken.items():
        assert image is not None
        assert image.shape == (3, out_h, out_w), path
        difference = np.abs(image.astype(int) - expected.astype(int))
        assert difference[0].mean() < 6, path  # luma as the picture's own, bars left out
        assert image[0].min() > 20, path  # no black row of a bar
