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

Fill need not be black: apps and editors put a picture that does not fill the frame (a phone's
vertical video in a wide one) over a blurred, magnified copy of itself, or over a plain colour.
Such fill has next to no fine detail where the picture has plenty: lines whose detail is a small
share of the middle third's on the typical frame looked at, in runs of one thickness on both
sides, are fill, left out with the blurred edge where it meets the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import av.error
import numpy as np
import numpy.typing as npt

from videorecog.analysis import decode
from videorecog.analysis.errors import InvalidVideo
from videorecog.analysis.signals import median  # np.median imports numpy.ma: 15 ms

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
# Fill that is not black: a picture over a blurred, magnified copy of itself (as phone videos are
# shown in a wide frame) or over a plain colour. Its lines have little fine detail (the luma's
# curvature, its second difference) against the middle third of the frame (the picture), on
# the typical frame looked at (the median): at most ``FILL_LINE`` of the picture's each,
# ``FILL_DETAIL`` on average. Blurred fill measured 0.06-0.23 of its picture's on average at the
# probe's scale, the soft edges of real pictures (sky, a wall, a dark textured border) 0.25-0.34,
# most on one side only.
FILL_LINE = 0.4
FILL_DETAIL = 0.25
# A frame whose middle third has less detail than this (luma levels of curvature at the probe's
# scale: a fade, a dark or blank frame) tells nothing about fill; pictures measured 8-25.
FILL_PICTURE_MIN = 4.0
# Fill lies on both sides of the picture, equally thick within this share of the side, and it
# counts where it is at least ``MIN_BAR`` thicker than the black bars found (a blurred copy of
# a picture that has black bars of its own is dark where they were).
FILL_SYMMETRY = 0.02
# Where fill meets the picture, each blurs into the other (the fill's own blur, the scaling of
# the frame): this much more of the side is left out, a few of the picture's outermost lines.
FILL_EDGE = 0.02
FILL_OUTER = 0.01  # of the side: the frame's outermost lines, not held against fill
MIN_BAR = 0.03  # of the side: thinner dark edges are no bars
MAX_BAR = 0.4  # of the side: a dark run this long is a dark picture
SAMPLES = 4  # frames spread over the video, looked at when the first frame may have bars or fill
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
    ``decode.prepare(deblock=False)``); the file is then opened only when that frame may have
    bars or fill (``_Lines.may_hold_bars``)."""
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
                break  # no bars or fill on the frames so far, nor thick enough to hold them
            sample = _luma_at(container, stream, info.duration * (k + 0.5) / SAMPLES)
            if sample is not None:
                lines = lines.also(_Lines.of(sample))
    except av.error.FFmpegError:
        return Area.whole(info)
    top, bottom = _filled(
        _mirrored(_bars(lines.rows), lines.dim_rows),
        _runs(2 * lines.row_bar_frames >= lines.frames),
        _typical(lines.row_detail),
    )
    left, right = _filled(
        _mirrored(_bars(lines.columns), lines.dim_columns),
        _runs(2 * lines.column_bar_frames >= lines.frames),
        _typical(lines.column_detail),
    )
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
    """On how many of the frames looked at each row and column is a bar line (dark and flat),
    which are dim on every one (dark in ``DIM_SHARE`` of their pixels: a bar with subtitles or a
    logo in it), and how much fine detail each line has against the picture's on each frame
    (fill that need not be dark: ``FILL_DETAIL``)."""

    row_bar_frames: npt.NDArray[np.intp]
    column_bar_frames: npt.NDArray[np.intp]
    dim_rows: npt.NDArray[np.bool_]
    dim_columns: npt.NDArray[np.bool_]
    # Each line's fine detail against the picture's, a row per frame (``_typical``).
    row_detail: npt.NDArray[np.float32]
    column_detail: npt.NDArray[np.float32]

    @classmethod
    def of(cls, luma: npt.NDArray[np.uint8]) -> _Lines:
        row_detail, column_detail = _line_detail(luma)
        return cls(
            _bar_lines(luma, 1).astype(np.intp),
            _bar_lines(luma, 0).astype(np.intp),
            _dim_lines(luma, 1),
            _dim_lines(luma, 0),
            row_detail[None],
            column_detail[None],
        )

    @property
    def frames(self) -> int:
        return len(self.row_detail)

    @property
    def rows(self) -> npt.NDArray[np.bool_]:
        """The rows that are bar lines on every frame looked at."""
        return np.asarray(self.row_bar_frames == self.frames)

    @property
    def columns(self) -> npt.NDArray[np.bool_]:
        return np.asarray(self.column_bar_frames == self.frames)

    def also(self, other: _Lines) -> _Lines:
        """These lines on one more frame's (a frame of another size changes nothing)."""
        sizes = (len(self.row_bar_frames), len(self.column_bar_frames))
        if (len(other.row_bar_frames), len(other.column_bar_frames)) != sizes:
            return self
        return _Lines(
            self.row_bar_frames + other.row_bar_frames,
            self.column_bar_frames + other.column_bar_frames,
            self.dim_rows & other.dim_rows,
            self.dim_columns & other.dim_columns,
            np.concatenate([self.row_detail, other.row_detail]),
            np.concatenate([self.column_detail, other.column_detail]),
        )

    def may_hold_bars(self) -> bool:
        """Whether bars or fill may be there, and more frames are worth looking at."""
        return any(_may_be_bar(lines) for lines in (self.rows, self.columns)) or any(
            _may_be_fill(_typical(detail)) for detail in (self.row_detail, self.column_detail)
        )


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


def _line_detail(
    luma: npt.NDArray[np.uint8],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Each row's and each column's fine detail (mean curvature) over that of the frame's
    middle third: blur and plain colour have next to none, a picture's texture and grain some
    even where it is dark. NaN for a frame with too little detail to tell
    (``FILL_PICTURE_MIN``)."""
    values = luma.astype(np.float32)
    curvature = np.abs(np.diff(values, n=2, axis=0))[:, 1:-1]
    curvature += np.abs(np.diff(values, n=2, axis=1))[1:-1, :]

    def relative(detail: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        detail = np.pad(detail, 1, mode="edge")  # the outermost lines: as their neighbours
        n = len(detail)
        picture = float(median(detail[n // 3 : n - n // 3]))
        if picture < FILL_PICTURE_MIN:
            return np.full(n, np.nan, dtype=np.float32)
        # Single lines stand out where the blur of a strong edge bends, and at the frame's
        # edges (the encoder's and the scaler's artefacts): each line is judged with its
        # neighbours, and the outermost ones not at all.
        smooth = np.convolve(np.pad(detail, 1, mode="edge"), np.ones(3) / 3, mode="valid")
        outer = max(1, round(FILL_OUTER * n))
        smooth[:outer] = smooth[n - outer :] = 0
        return np.asarray(smooth / picture, dtype=np.float32)

    if curvature.size == 0:
        return np.full(luma.shape[0], np.nan, np.float32), np.full(
            luma.shape[1], np.nan, np.float32
        )
    return relative(curvature.mean(axis=1)), relative(curvature.mean(axis=0))


def _typical(detail: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Each line's detail on the typical frame of those that tell (the median: a soft shot or
    a strong blurred edge in one frame is outvoted); zeros when none tells."""
    telling = detail[~np.isnan(detail[:, 0])]
    if not len(telling):
        return np.zeros(detail.shape[1], dtype=np.float32)
    return np.asarray(median(telling.T), dtype=np.float32)


def _may_be_fill(detail: npt.NDArray[np.float32]) -> bool:
    """Whether the runs of lines under ``FILL_LINE`` at both ends are thick enough to be fill
    (or to hold it, once more frames are looked at: a frame with too little detail to tell
    leaves every line possible)."""
    return _fill_runs(detail) is not None


def _fill_runs(detail: npt.NDArray[np.float32]) -> tuple[int, int] | None:
    """The runs of lines under ``FILL_LINE`` at either end, where both are at least ``MIN_BAR``
    thick; else None."""
    first, last = _runs(detail <= FILL_LINE)
    return (first, last) if min(first, last) >= MIN_BAR * len(detail) else None


def _fill(detail: npt.NDArray[np.float32]) -> tuple[int, int]:
    """The fill at either end of lines of ``detail``: runs of lines under ``FILL_LINE`` on both
    sides (``_fill_runs``), equally thick within ``FILL_SYMMETRY``, thinner than ``MAX_BAR`` and
    under ``FILL_DETAIL`` on average; else none."""
    n = len(detail)
    runs = _fill_runs(detail)
    if runs is None:
        return 0, 0
    first, last = runs
    if (
        max(first, last) < MAX_BAR * n
        and abs(first - last) <= FILL_SYMMETRY * n
        and detail[:first].mean() <= FILL_DETAIL
        and detail[n - last :].mean() <= FILL_DETAIL
    ):
        return first, last
    return 0, 0


def _filled(
    bars: tuple[int, int], typical_bars: tuple[int, int], detail: npt.NDArray[np.float32]
) -> tuple[int, int]:
    """The bars, or the fill around the picture (and ``FILL_EDGE``) where it is thicker by
    ``MIN_BAR`` or more on both sides than the bars, on every frame and on the typical one
    (``typical_bars``: the runs of lines that are bar lines on half the frames or more). Black
    bars that are not black on every frame (a fade to white) are left as they are: the fill is
    what is not black."""
    fill = _fill(detail)
    margin = MIN_BAR * len(detail)
    if all(fill[k] >= max(bars[k], typical_bars[k]) + margin for k in (0, 1)):
        edge = round(FILL_EDGE * len(detail))
        return fill[0] + edge, fill[1] + edge
    return bars
