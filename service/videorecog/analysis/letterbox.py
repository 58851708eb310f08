"""Letterbox and pillarbox bars: the picture inside them, found once per video before its pass.

A film letterboxed in a 16:9 frame, a 4:3 programme pillarboxed in it or a phone's vertical
picture shown in a wide one carries dark bars on every frame. Analysed with the bars, the
picture takes only part of the detector's small frames and the bars' edges sit still in the
blocks along them: there, the structure change at a cut is the bars' (none), and cuts go unseen
(a 2.39:1 picture in a 16:9 frame lost a fifth of its cuts). So the detector analyses the
picture alone (``source.Setup``), at its usual width.

Bars are the rows and columns dark and flat on every sampled frame: the first frame and, while
an edge is dark on every frame so far (a bar, or a fade from black), up to ``SAMPLES`` more
spread over the video, each the keyframe at or before its time (a millisecond at 160x90, about
12 at 720p). The same frames give the same answer in every process of a split video. Dark
edges thinner than ``MIN_BAR`` of a side are left: an encoder's padding or a dark border of the
picture itself changes nothing worth a different scaling. A run of dark rows reaching
``MAX_BAR`` of a side is a dark picture, not a bar. Bars come in pairs of one thickness: where
subtitles or a logo in one bar cut its run of plain lines short, the lines up to the other
bar's thickness count as bar if they are mostly dark on every frame looked at.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import av.error
import numpy as np
import numpy.typing as npt

from videorecog.analysis import decode
from videorecog.analysis.errors import InvalidVideo

# 8-bit video-range luma at or under which a row or column is dark (black is 16; a bar's pixels
# by the picture's edge ring a few levels above it).
BAR_LUMA = 32.0
# A row or column is dark when this share of its pixels is (a stray bright pixel or a logo's
# corner does not make a dark row bright)...
DARK_SHARE = 0.95
# ...and flat: its luma's standard deviation at most this. A bar is one level, a dark picture
# (a night sky, a shadow) has grain and texture: 5-7 levels measured at the dark edges of real
# footage, 0-1 on bars.
BAR_SPREAD = 3.0
# A line of a bar with subtitles or a logo in it is still dark in at least this share of its
# pixels (subtitles cover up to about half a line).
DIM_SHARE = 0.4
MIN_BAR = 0.03  # of the side: thinner dark edges are no bars
MAX_BAR = 0.4  # of the side: a dark run this long is a dark picture
SAMPLES = 4  # frames spread over the video, looked at when the first frame has a dark edge
PROBE_WIDTH = 256  # the frames looked at, scaled to this width (never enlarged)


@dataclass(frozen=True)
class Area:
    """The picture inside the bars, in the video's pixels: columns ``left``..``right - 1``,
    rows ``top``..``bottom - 1``."""

    left: int
    top: int
    right: int
    bottom: int

    @classmethod
    def whole(cls, info: decode.VideoInfo) -> Area:
        return cls(0, 0, info.width, info.height)

    def is_whole(self, info: decode.VideoInfo) -> bool:
        return self == Area.whole(info)


def picture_area(path: str, info: decode.VideoInfo, first: av.VideoFrame | None = None) -> Area:
    """The picture inside the video's bars (the whole frame when it has none or none can be
    read here: the pass that follows says what is wrong with a bad file). ``first``: the
    video's first frame, where the caller has decoded it already (as the analysis decodes,
    ``decode.prepare(deblock=False)``); the file is then opened only when its edges are dark."""
    lines = _Lines.of(_luma(first)) if first is not None else None
    if lines is not None and not lines.may_hold_bars():
        return Area.whole(info)
    try:
        container = decode.open_video(path)
    except InvalidVideo:
        return Area.whole(info)
    try:
        return area_in(container, info, lines)
    finally:
        container.close()


def area_in(
    container: av.container.InputContainer, info: decode.VideoInfo, lines: _Lines | None = None
) -> Area:
    """``picture_area`` from a container opened already, whose video stream has decoded
    nothing yet (it seeks: where it was read up to does not matter)."""
    try:
        stream = container.streams.video[0]
        decode.prepare(stream, deblock=False)
        # Frame threads hold a first frame back until each has one: slices do not.
        stream.thread_type = "SLICE"
        if lines is None:
            luma = _luma_at(container, stream, 0.0)
            if luma is None:
                return Area.whole(info)
            lines = _Lines.of(luma)
        for k in range(SAMPLES if info.duration > 0 else 0):
            if not lines.may_hold_bars():
                break  # no edge is dark on every frame so far, or too thin a one: no bars
            sample = _luma_at(container, stream, info.duration * (k + 0.5) / SAMPLES)
            if sample is not None:
                lines = lines.also(_Lines.of(sample))
    except av.error.FFmpegError:
        return Area.whole(info)
    top, bottom = _mirrored(_bars(lines.rows), lines.dim_rows)
    left, right = _mirrored(_bars(lines.columns), lines.dim_columns)
    # From the probe's scale to the video's pixels.
    sy, sx = info.height / len(lines.rows), info.width / len(lines.columns)
    return Area(
        round(left * sx),
        round(top * sy),
        info.width - round(right * sx),
        info.height - round(bottom * sy),
    )


@dataclass(frozen=True)
class _Lines:
    """Which rows and columns are bar lines (dark and flat) on every frame looked at, and which
    are dim on every one (dark in ``DIM_SHARE`` of their pixels: a bar with subtitles or a logo
    in it)."""

    rows: npt.NDArray[np.bool_]
    columns: npt.NDArray[np.bool_]
    dim_rows: npt.NDArray[np.bool_]
    dim_columns: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, luma: npt.NDArray[np.uint8]) -> _Lines:
        return cls(
            _bar_lines(luma, 1), _bar_lines(luma, 0), _dim_lines(luma, 1), _dim_lines(luma, 0)
        )

    def also(self, other: _Lines) -> _Lines:
        """These lines on one more frame's (a frame of another size changes nothing)."""
        if (len(other.rows), len(other.columns)) != (len(self.rows), len(self.columns)):
            return self
        return _Lines(
            self.rows & other.rows,
            self.columns & other.columns,
            self.dim_rows & other.dim_rows,
            self.dim_columns & other.dim_columns,
        )

    def may_hold_bars(self) -> bool:
        return _may_be_bar(self.rows) or _may_be_bar(self.columns)


def _luma(frame: av.VideoFrame) -> npt.NDArray[np.uint8]:
    """The frame's luma at ``PROBE_WIDTH``."""
    width, height = decode.scaled_size(frame.width, frame.height, PROBE_WIDTH)
    gray = frame.reformat(width=width, height=height, format="gray")
    return np.asarray(gray.to_ndarray(), dtype=np.uint8)


def _luma_at(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, seconds: float
) -> npt.NDArray[np.uint8] | None:
    """The luma, at ``PROBE_WIDTH``, of the keyframe at or before ``seconds`` (the first
    keyframe for 0)."""
    if not stream.time_base:
        return None
    start = stream.start_time or 0
    container.seek(start + int(seconds / stream.time_base), stream=stream, backward=True)
    for packet in container.demux(stream):
        if packet.is_keyframe:
            # A decoder that reorders frames gives this one back only after others, or when
            # drained; the seek flushes it for the next.
            frames = packet.decode() or stream.codec_context.decode(None)
            return _luma(frames[0]) if frames else None
    return None


def _bar_lines(luma: npt.NDArray[np.uint8], axis: int) -> npt.NDArray[np.bool_]:
    """Which rows (``axis`` 1) or columns (``axis`` 0) are dark and flat."""
    dark = _quantile(luma, DARK_SHARE, axis) <= BAR_LUMA
    return np.asarray(dark & (luma.std(axis=axis) <= BAR_SPREAD))


def _runs(lines: npt.NDArray[np.bool_]) -> tuple[int, int]:
    """How many bar lines there are at either end of ``lines`` before the picture."""

    def run(values: npt.NDArray[np.bool_]) -> int:
        picture = np.flatnonzero(~values)
        return int(picture[0]) if len(picture) else len(values)

    return run(lines), run(lines[::-1])


def _may_be_bar(lines: npt.NDArray[np.bool_]) -> bool:
    """Whether a run at either end is thick enough to be a bar (or to hold one, once more
    frames are looked at)."""
    return max(_runs(lines)) >= MIN_BAR * len(lines)


def _dim_lines(luma: npt.NDArray[np.uint8], axis: int) -> npt.NDArray[np.bool_]:
    """Which rows or columns are dark in at least ``DIM_SHARE`` of their pixels."""
    return np.asarray(_quantile(luma, DIM_SHARE, axis) <= BAR_LUMA)


def _quantile(luma: npt.NDArray[np.uint8], share: float, axis: int) -> npt.NDArray[np.float64]:
    """``np.quantile(luma, share, axis=axis)`` (its default, linear method), value for value:
    np.quantile imports numpy.ma on its first call, 15 ms of every command's start-up."""
    n = luma.shape[axis]
    position = (n - 1) * share
    low = int(np.floor(position))
    high = min(low + 1, n - 1)
    ordered = np.partition(luma, (low, high), axis=axis)
    a = np.take(ordered, low, axis=axis).astype(np.float64)
    b = np.take(ordered, high, axis=axis).astype(np.float64)
    t = position - low
    # As numpy interpolates: from the nearer end, so that either end comes out exactly.
    return np.asarray(a + (b - a) * t if t < 0.5 else b - (b - a) * (1 - t))


def _mirrored(bars: tuple[int, int], dim: npt.NDArray[np.bool_]) -> tuple[int, int]:
    """Bars on both sides as thick as the thicker where the lines between are dark in
    ``DIM_SHARE`` of their pixels on every frame looked at: letterboxes and pillarboxes are
    symmetric, and subtitles or a channel's logo in one bar break its run of plain bar lines."""
    first, last = bars
    n = len(dim)
    if first > last and dim[n - first : n - last].all():
        return first, first
    if last > first and dim[first:last].all():
        return last, last
    return first, last


def _bars(lines: npt.NDArray[np.bool_]) -> tuple[int, int]:
    """The runs of bar lines at either end of ``lines`` that are bars (else 0)."""
    n = len(lines)
    first, last = _runs(lines)

    def bar(run: int) -> int:
        return run if MIN_BAR * n <= run < MAX_BAR * n else 0

    return bar(first), bar(last)
