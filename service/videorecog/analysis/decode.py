"""Decoding with PyAV: small analysis frames, numbered in decode order, never the whole video.

Frames are scaled in libswscale; large 8-bit YUV frames are picked from the decoded planes with
strided numpy views (``PlaneSampler``) and, in long videos, small ones resized from those planes
by OpenCV (``PlaneResizer``), both several times faster; never by a Python loop over pixels.
Variable frame rate is fine (numbers are positions, timestamps are the stream's own); each
frame's display rotation turns cover samples upright; a bounded number of corrupt packets is
tolerated.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar, Literal, cast

import av
import av.error
import numpy as np
import numpy.typing as npt
from av.video.reformatter import VideoReformatter

from videorecog.analysis.errors import InvalidVideo

# The engine goes beyond the cloud's 1080p: anything up to 4K DCI, nothing below a thumbnail.
MAX_LONG_SIDE = 4096
MAX_SHORT_SIDE = 2160
MIN_SIDE = 16
MAX_DECODE_ERRORS = 32
MIN_CELL = 8  # PlaneSampler: source pixels per analysis pixel (each way) below which it declines
BATCH = 32  # small frames resized together (``PlaneResizer.sample_many``)

Image = npt.NDArray[np.uint8]
# The part of a frame taken (``Pictures``): columns left..right - 1, rows top..bottom - 1,
# even numbers (so that halved chroma planes hold the same part).
Window = tuple[int, int, int, int]
# The analysis size and window (``Pictures``), decided from the first frame decoded.
Sizing = Callable[["av.VideoFrame"], tuple[int, int, Window | None]]


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    duration: float  # seconds; 0 when the container does not say


@dataclass
class Tally:
    """What this process's decoders have done, for tests and benchmarks: a pass over a whole
    stream costs far more than the short reads after seeking, and these counts tell them apart."""

    opens: int = 0  # containers opened
    passes: int = 0  # passes over a whole stream (a survey given up is started again in full)
    frames: int = 0  # frames out of a decoder, in passes and after seeking alike

    def since(self, earlier: Tally) -> Tally:
        """What was done after ``earlier`` (a copy taken with ``dataclasses.replace``)."""
        return Tally(
            *(getattr(self, f.name) - getattr(earlier, f.name) for f in dataclasses.fields(self))
        )


TALLY = Tally()


@dataclass(frozen=True)
class Frame:
    index: int  # 0-based position in decode order
    time: float  # seconds, from the stream's timestamps
    image: Image  # as ``to_ndarray`` gives the pixel format: rgb24 H x W x 3, yuv444p 3 x H x W
    sample: Image | None = None  # a larger upright RGB sample, every ``sample_every`` seconds


def to_image(
    frame: av.VideoFrame,
    width: int,
    height: int,
    pixel_format: str,
    reformatter: VideoReformatter,
) -> Image:
    """Scale and convert in libswscale; hand back the pixels as uint8.

    Use one ``reformatter`` for every frame of a stream: it keeps libswscale's context (filters
    computed once), where ``frame.reformat`` builds a new one each call -- that setup costs three
    times the scaling itself (0.9 ms vs 0.24 ms a 720p frame).
    """
    small = reformatter.reformat(
        frame, width=width, height=height, format=pixel_format, interpolation="FAST_BILINEAR"
    )
    return np.asarray(small.to_ndarray(), dtype=np.uint8)


class PlaneSampler:
    """Small planar YUV 4:4:4 frames picked straight out of the decoder's 8-bit YUV planes.

    For a 20x reduction, libswscale's fast bilinear filter takes about two taps per output pixel
    anyway, but it still walks every input line; picking 2x2 luma taps per cell with numpy costs
    less than half of that (about 0.1 ms against 0.24 ms for 720p), which matters when analysis
    must keep pace with decoding. Other pixel formats go through libswscale.
    """

    # Chroma subsampling (horizontal, vertical shift) of the formats taken directly; the
    # full-range "yuvj" variants are left to libswscale, which maps them to video range.
    FORMATS: ClassVar[Mapping[str, tuple[int, int]]] = {
        "yuv420p": (1, 1),
        "yuv422p": (1, 0),
        "yuv444p": (0, 0),
    }

    def __init__(
        self, width: int, height: int, taps: int = 2, window: Window | None = None
    ) -> None:
        self.width, self.height, self.taps, self.window = width, height, taps, window
        self._layouts: dict[tuple[str, int, int], list[_Taps] | None] = {}

    def sample(self, frame: av.VideoFrame) -> Image | None:
        """3 x height x width uint8, or None when the frame is not taken directly (``takes``)."""
        layout = self._layout_of(frame)
        if layout is None:
            return None
        out = np.empty((3, self.height, self.width), dtype=np.uint8)
        for k, (plane, taps) in enumerate(zip(frame.planes, layout, strict=True)):
            pixels = _pixels(plane, self.window, _shifts(frame, k))
            picks = [pixels[rows][:, cols] for rows in taps.rows for cols in taps.cols]
            if len(picks) == 1:
                out[k] = picks[0]
                continue
            total = picks[0].astype(np.uint16)
            for pick in picks[1:]:
                total += pick
            np.floor_divide(total, len(picks), out=out[k], casting="unsafe")
        return out

    def takes(self, frame: av.VideoFrame) -> bool:
        """Whether ``sample`` takes this frame: a large enough one, in a format listed."""
        return self._layout_of(frame) is not None

    def _layout_of(self, frame: av.VideoFrame) -> list[_Taps] | None:
        key = (frame.format.name, frame.width, frame.height)
        if key not in self._layouts:
            self._layouts[key] = self._layout(*key)
        return self._layouts[key]

    def _layout(self, name: str, width: int, height: int) -> list[_Taps] | None:
        if self.window is not None:
            left, top, right, bottom = self.window
            width, height = right - left, bottom - top
        shifts = self.FORMATS.get(name)
        if shifts is None or width < MIN_CELL * self.width or height < MIN_CELL * self.height:
            # Other formats; and small pictures, which libswscale scales cheaply anyway and
            # smoother than a few taps per cell would.
            return None
        layout = []
        for plane in range(3):
            sx, sy = shifts if plane else (0, 0)
            # Chroma is smooth and half the resolution already: one tap is enough there.
            taps = self.taps if plane == 0 else 1
            plane_w, plane_h = -(-width >> sx), -(-height >> sy)  # ceil, as the codec rounds
            layout.append(
                _Taps(_positions(plane_h, self.height, taps), _positions(plane_w, self.width, taps))
            )
        return layout


Index = slice | npt.NDArray[np.intp]


@dataclass(frozen=True)
class _Taps:
    rows: list[Index]  # one selection per tap
    cols: list[Index]


def _positions(size: int, out: int, taps: int) -> list[Index]:
    """For each tap, the source positions of that tap in each of the ``out`` cells of ``size``.

    A plain stride when a whole number of pixels per cell covers nearly all of ``size`` (the
    usual sizes: 1280, 1920, 720, 1080 for 64 x 36): numpy then copies through a view instead of
    gathering by index, several times faster. Otherwise the exact positions."""
    step = size // out
    if step * out >= 0.95 * size:
        return [
            slice(offset, offset + step * (out - 1) + 1, step)
            for offset in ((2 * t + 1) * step // (2 * taps) for t in range(taps))
        ]
    cell = size / out
    return [
        np.minimum(((np.arange(out) + (t + 0.5) / taps) * cell).astype(np.intp), size - 1)
        for t in range(taps)
    ]


class PlaneResizer:
    """Small planar YUV 4:4:4 frames resized from the decoder's 8-bit YUV planes by OpenCV: each
    plane halved by 2 x 2 averages while it is at least twice the output size, then bilinear to
    the output size (a step under 2x, where bilinear still looks at every source pixel; one
    area-averaging step of any ratio costs three times as much at these sizes).

    Below ``MIN_CELL`` source pixels per output pixel (where ``PlaneSampler`` declines), the cost
    of a frame is PyAV's, not the pixels': libswscale's reformat and ``to_ndarray`` take about
    0.2 ms a frame even at 160x90, more than decoding it; this takes 0.03 ms, and about a third
    of that for frames resized together (``sample_many``, as ``iter_frames`` does). OpenCV's import
    costs about 80 ms, repaid only by a long video (``source.RESIZE_MIN_FRAMES``), and is done at
    the first frame taken: a video whose frames all go elsewhere never imports it.
    """

    def __init__(self, width: int, height: int, window: Window | None = None) -> None:
        self.width, self.height, self.window = width, height, window
        self._resize: Callable[..., Image] | None = None  # cv2.resize, once imported

    def sample(self, frame: av.VideoFrame) -> Image | None:
        """3 x height x width uint8, or None when the frame's format is not taken directly."""
        if frame.format.name not in PlaneSampler.FORMATS:
            return None
        resize = self._resize or self._import_opencv()
        out = np.empty((3, self.height, self.width), dtype=np.uint8)
        size = (self.width, self.height)
        for k, plane in enumerate(frame.planes):
            pixels = _pixels(plane, self.window, _shifts(frame, k))
            w, h = pixels.shape[1], pixels.shape[0]  # unless halved: the last halving's size
            for w, h in self._halvings(pixels.shape[1], pixels.shape[0]):
                pixels = resize(pixels[: 2 * h, : 2 * w], (w, h), interpolation=self._area)
            resize(pixels[:h, :w], size, dst=out[k], interpolation=self._linear)
        return out

    def sample_many(self, frames: Sequence[av.VideoFrame]) -> npt.NDArray[np.uint8] | None:
        """N x 3 x height x width uint8: ``sample`` of each frame, the same pixels, from four
        OpenCV calls for all the frames instead of four a frame (at 160x90 the calls cost more
        than their pixels). None when the frames differ in format or size, their format is not
        taken, or a plane's last step cannot be shared (below).

        Each plane of the frames is laid side by side in one picture. A halving averages 2 x 2
        blocks, within a frame while its width is even (an odd last column is cut first). The
        bilinear step places each output column by its number in the row, and it lands where it
        would in a frame alone only when the plane's width over the output's is a binary
        fraction: exactly so for the output's 64 columns, whatever the plane's width."""
        key = (frames[0].format.name, frames[0].width, frames[0].height)
        if key[0] not in PlaneSampler.FORMATS or any(
            (f.format.name, f.width, f.height) != key for f in frames
        ):
            return None
        shifts = [_shifts(frames[0], k) for k in range(len(frames[0].planes))]
        sizes = [
            (pixels.shape[1], pixels.shape[0])
            for pixels in (
                _pixels(p, self.window, shifts[k]) for k, p in enumerate(frames[0].planes)
            )
        ]
        steps = [self._halvings(w, h) for w, h in sizes]
        last = [halved[-1] if halved else size for halved, size in zip(steps, sizes, strict=True)]
        if any(not _binary_fraction(Fraction(w, self.width)) for w, _ in last):
            return None
        resize = self._resize or self._import_opencv()
        n = len(frames)
        planes = [frame.planes for frame in frames]
        out = np.empty((n, 3, self.height, self.width), dtype=np.uint8)
        for k, halved in enumerate(steps):
            # As the first step reads each frame: a halving an even number of rows and columns,
            # the bilinear step the whole plane.
            w, h = (2 * halved[0][0], 2 * halved[0][1]) if halved else sizes[k]
            side = np.empty((h, n * w), dtype=np.uint8)
            for i, frame_planes in enumerate(planes):
                plane = _pixels(frame_planes[k], self.window, shifts[k])
                side[:, i * w : (i + 1) * w] = plane[:h, :w]
            for w, h in halved:
                side = _columns(side[: 2 * h], n, 2 * w)
                side = resize(side, (n * w, h), interpolation=self._area)
            scaled = resize(side, (n * self.width, self.height), interpolation=self._linear)
            out[:, k] = scaled.reshape(self.height, n, self.width).transpose(1, 0, 2)
        return out

    def _halvings(self, width: int, height: int) -> list[tuple[int, int]]:
        """A plane's size after each halving: while it is at least twice the output's (an odd
        last row or column is left out)."""
        sizes = []
        while width >= 2 * self.width and height >= 2 * self.height:
            width, height = width // 2, height // 2
            sizes.append((width, height))
        return sizes

    def _import_opencv(self) -> Callable[..., Image]:
        import cv2  # only where it is repaid (see above)

        cv2.setNumThreads(0)  # no thread pool: these pictures are tiny, and processes fork
        self._area, self._linear = cv2.INTER_AREA, cv2.INTER_LINEAR
        # Typed as what it gives here: uint8 in, uint8 out.
        self._resize = cast(Callable[..., Image], cv2.resize)
        return self._resize


def _pixels(
    plane: av.video.plane.VideoPlane, window: Window | None = None, shifts: tuple[int, int] = (0, 0)
) -> npt.NDArray[np.uint8]:
    """A plane's pixels (PyAV planes export the buffer protocol, rows of its line size): those
    of ``window``, in a plane subsampled by ``shifts`` (horizontal, vertical), else all."""
    pixels = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(plane.height, plane.line_size)
    if window is None:
        return pixels[:, : plane.width]
    left, top, right, bottom = window
    sx, sy = shifts
    return pixels[top >> sy : bottom >> sy, left >> sx : right >> sx]


def _shifts(frame: av.VideoFrame, plane: int) -> tuple[int, int]:
    """How plane ``plane`` of a frame in one of ``PlaneSampler.FORMATS`` is subsampled."""
    return PlaneSampler.FORMATS[frame.format.name] if plane else (0, 0)


def _columns(side: npt.NDArray[np.uint8], n: int, width: int) -> npt.NDArray[np.uint8]:
    """The first ``width`` columns of each of the ``n`` frames laid side by side in ``side``."""
    if side.shape[1] == n * width:
        return side
    rows = side.shape[0]
    return np.ascontiguousarray(side.reshape(rows, n, -1)[:, :, :width]).reshape(rows, n * width)


def _binary_fraction(ratio: Fraction) -> bool:
    return ratio.denominator & (ratio.denominator - 1) == 0


def seconds(pts: int, time_base: Fraction) -> float:
    """A timestamp in seconds: exactly ``float(pts * time_base)`` (int / int rounds correctly),
    without making a Fraction, which costs more than the rest of a small frame's bookkeeping.
    Every frame time that is compared with another (a stretch's plan, the survey's frames) is
    computed here."""
    return pts * time_base.numerator / time_base.denominator


def display_rotation(frame: av.VideoFrame) -> int:
    """Clockwise degrees that turn ``frame`` upright (from its display matrix; 0 if none)."""
    return (-round(getattr(frame, "rotation", 0) or 0)) % 360


def probe(container: av.container.InputContainer) -> tuple[av.video.stream.VideoStream, VideoInfo]:
    """The video stream and its facts.

    Raises:
        InvalidVideo: ``InvalidFile.Content`` (no video stream) or ``InvalidFile.Resolution``.
    """
    if not container.streams.video:
        raise InvalidVideo("InvalidFile.Content", "The file has no video stream.")
    stream = container.streams.video[0]
    width, height = stream.codec_context.width, stream.codec_context.height
    long_side, short_side = max(width, height), min(width, height)
    if short_side < MIN_SIDE or long_side > MAX_LONG_SIDE or short_side > MAX_SHORT_SIDE:
        raise InvalidVideo(
            "InvalidFile.Resolution",
            f"{width}x{height} is outside {MIN_SIDE}px..{MAX_LONG_SIDE}x{MAX_SHORT_SIDE}.",
        )
    rate = stream.average_rate or stream.guessed_rate or Fraction(25)
    duration = (
        float(stream.duration * stream.time_base)
        if stream.duration and stream.time_base
        else (container.duration or 0) / 1_000_000
    )
    info = VideoInfo(width, height, float(rate), duration)
    return stream, info


def open_video(path: str) -> av.container.InputContainer:
    """Raises: InvalidVideo ``InvalidFile.Decode`` when the container cannot be read."""
    TALLY.opens += 1
    try:
        return av.open(path, mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise InvalidVideo("InvalidFile.Decode", f"The file cannot be opened: {exc}") from None


def scaled_size(width: int, height: int, target_width: int) -> tuple[int, int]:
    """Width ``target_width`` (never upscaled), height by aspect ratio, both even."""
    w = min(target_width, width)
    h = max(2, round(height * w / width / 2) * 2)
    return max(2, w - w % 2), h


def prepare(stream: av.video.stream.VideoStream, *, deblock: bool, threads: int = 0) -> None:
    """Frame threading (``threads`` 0: as many as FFmpeg likes; 1: none, for a process that
    shares the cores with others doing the same: on 2 cores, two processes decode 10% faster
    without threads than with); and with ``deblock=False``, no in-loop deblocking (see
    ``iter_frames``)."""
    if threads == 1:
        stream.thread_type = "NONE"
    else:
        stream.thread_type = "AUTO"
        stream.thread_count = threads
    if not deblock:
        # "fast": H.264's speed-ups that are not bit-exact, equally invisible at analysis sizes.
        stream.codec_context.options = {"skip_loop_filter": "all", "flags2": "+fast"}


class Pictures:
    """What the analysis takes from each decoded frame: the small analysis image, ``width`` x
    ``height``, of the frame or of its ``window``, and every ``sample_every`` seconds a larger
    upright RGB sample (cover candidates). ``sizing``: the size and window are decided from the
    first frame instead (``width``, ``height`` and ``window`` are then not used)."""

    def __init__(
        self,
        width: int,
        height: int,
        pixel_format: str,
        sample_every: float = 0.0,
        sample_size: tuple[int, int] = (0, 0),
        *,
        resize_small: bool = False,
        window: Window | None = None,
        sizing: Sizing | None = None,
    ) -> None:
        self.pixel_format, self.resize_small = pixel_format, resize_small
        self.sample_every, self.sample_size = sample_every, sample_size
        self._next_sample = 0.0
        self._analysis_scaler, self._sample_scaler = VideoReformatter(), VideoReformatter()
        self._sizing = sizing
        self._scale_to(width, height, window)

    def _scale_to(self, width: int, height: int, window: Window | None) -> None:
        self.width, self.height, self.window = width, height, window
        planar = self.pixel_format == "yuv444p"
        self._direct = PlaneSampler(width, height, window=window) if planar else None
        resizer = planar and self.resize_small
        self._resizer = PlaneResizer(width, height, window) if resizer else None

    def _settle(self, frame: av.VideoFrame) -> None:
        """The size and window, from the first frame where they wait for it (``sizing``)."""
        if self._sizing is not None:
            sizing, self._sizing = self._sizing, None
            self._scale_to(*sizing(frame))

    def batched(self, frame: av.VideoFrame) -> bool:
        """Whether this frame is best taken with others (``images``): a small one that
        ``PlaneResizer`` takes. Large frames are never held back: they are picked one by one
        as cheaply, and a batch of them would hold megabytes of decoded pictures."""
        self._settle(frame)
        return (
            self._resizer is not None
            and self._direct is not None
            and frame.format.name in PlaneSampler.FORMATS
            and not self._direct.takes(frame)
        )

    def images(self, frames: Sequence[av.VideoFrame]) -> Iterable[Image]:
        """``image`` of each frame, small ones resized together where they can be."""
        if frames:
            self._settle(frames[0])
        together = self._resizer.sample_many(frames) if self._resizer and frames else None
        return together if together is not None else [self.image(f) for f in frames]

    def image(self, frame: av.VideoFrame) -> Image:
        self._settle(frame)
        image = self._direct.sample(frame) if self._direct is not None else None
        if image is None and self._resizer is not None:
            image = self._resizer.sample(frame)
        if image is None:
            image = self._scaled(frame)
        return image

    def _scaled(self, frame: av.VideoFrame) -> Image:
        """The frame's image by libswscale, which scales whole frames only: for a window, the
        frame scaled so that the window comes out a pixel larger each way than wanted, and
        the window cut from it, inside its edges (no row or column of a bar blended in)."""
        if self.window is None:
            return to_image(
                frame, self.width, self.height, self.pixel_format, self._analysis_scaler
            )
        left, top, right, bottom = self.window
        scale_x, scale_y = (self.width + 1) / (right - left), (self.height + 1) / (bottom - top)
        width, height = round(frame.width * scale_x), round(frame.height * scale_y)
        whole = to_image(frame, width, height, self.pixel_format, self._analysis_scaler)
        x = min(math.ceil(left * scale_x), width - self.width)
        y = min(math.ceil(top * scale_y), height - self.height)
        return whole[..., y : y + self.height, x : x + self.width]

    def sample(self, frame: av.VideoFrame, seconds: float) -> Image | None:
        if not self.sample_every or seconds < self._next_sample:
            return None
        self._next_sample = seconds + self.sample_every
        width, height = self.sample_size
        small = to_image(frame, width, height, "rgb24", self._sample_scaler)
        return rotate_upright(small, display_rotation(frame))


def iter_frames(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    *,
    width: int,
    height: int,
    pixel_format: str = "rgb24",
    max_errors: int = MAX_DECODE_ERRORS,
    sample_every: float = 0.0,
    sample_size: tuple[int, int] = (0, 0),
    deblock: bool = True,
    threads: int = 0,
    references_before: float | None = None,
    resize_small: bool = False,
    window: Window | None = None,
    sizing: Sizing | None = None,
) -> Iterator[Frame]:
    """Every frame, scaled to ``width`` x ``height`` in ``pixel_format`` (``rgb24``/``gray``).

    ``deblock=False`` skips the codec's in-loop deblocking filter (H.264, HEVC) and allows its
    non-bit-exact shortcuts: 10-20% less decoding, and the only effect, slightly blockier
    pictures, vanishes at analysis sizes. Frames saved as covers are decoded again in full.
    ``references_before`` (seconds): frames shown earlier are skipped unless others are
    predicted from them; the caller drops those given (a run-up after seeking).
    ``resize_small``: small 8-bit YUV frames are resized by OpenCV (``PlaneResizer``).
    ``window``: the part of each frame scaled, not the whole; ``sizing``: the size and window
    decided from the first frame instead (``Pictures``).

    Raises:
        InvalidVideo: ``InvalidFile.Decode`` past ``max_errors`` corrupt packets, or when not a
            single frame decodes; ``InvalidFile.Content`` when the stream holds no frame.
    """
    TALLY.passes += 1
    prepare(stream, deblock=deblock, threads=threads)
    time_base = stream.time_base or Fraction(1, 1)
    pictures = Pictures(
        width,
        height,
        pixel_format,
        sample_every,
        sample_size,
        resize_small=resize_small,
        window=window,
        sizing=sizing,
    )
    errors = 0
    index = 0
    context = stream.codec_context
    skipping: str = "DEFAULT"
    # Small frames wait here to be resized together (``Pictures.batched``), at most ``BATCH``.
    held: list[tuple[int, float, av.VideoFrame, Image | None]] = []

    def release() -> Iterator[Frame]:
        images = pictures.images([frame for _, _, frame, _ in held])
        yield from (Frame(k, t, image, s) for (k, t, _, s), image in zip(held, images, strict=True))
        held.clear()

    for packet in container.demux(stream):
        if references_before is not None:
            skipping = _skip_early(context, packet, time_base, references_before, skipping)
        try:
            decoded = packet.decode()
        except av.error.FFmpegError as exc:
            errors += 1
            if errors > max_errors:
                yield from release()
                raise InvalidVideo(
                    "InvalidFile.Decode", f"Too many corrupt packets ({errors}): {exc}"
                ) from None
            continue
        TALLY.frames += len(decoded)
        for frame in decoded:
            pts = frame.pts
            if pts is None:
                pts = frame.dts
            shown = seconds(pts, time_base) if pts is not None else index / 25.0
            sample = pictures.sample(frame, shown)
            if pictures.batched(frame):
                held.append((index, shown, frame, sample))
                if len(held) == BATCH:
                    yield from release()
            else:
                if held:
                    yield from release()
                yield Frame(index, shown, pictures.image(frame), sample)
            index += 1
    yield from release()
    if index == 0:
        code = "InvalidFile.Decode" if errors else "InvalidFile.Content"
        raise InvalidVideo(code, "No frame could be decoded." if errors else "The video is empty.")


def frame_at_times(
    path: str,
    times: list[float],
    *,
    width: int | None = None,
) -> dict[float, Image]:
    """Full-quality RGB frames nearest each requested time (seeking, not decoding everything)."""
    return dict(frames_at_times(path, times, width=width))


def frames_at_times(
    path: str,
    times: list[float],
    *,
    width: int | None = None,
) -> Iterator[tuple[float, Image]]:
    """``frame_at_times`` one frame at a time, in time order: only one is held at once."""
    container = open_video(path)
    try:
        stream, info = probe(container)
        stream.thread_type = "AUTO"
        time_base = stream.time_base or Fraction(1, 1)
        w, h = scaled_size(info.width, info.height, width or info.width)
        scaler = VideoReformatter()
        for wanted in sorted(times):
            target = math.floor(wanted / float(time_base)) if time_base else 0
            container.seek(max(0, target), stream=stream, backward=True, any_frame=False)
            chosen: av.VideoFrame | None = None
            for frame in decoded_from(container, stream, wanted):
                chosen = frame  # converted once, below: only the frame kept needs its pixels
                pts = frame.pts if frame.pts is not None else 0
                if seconds(pts, time_base) >= wanted - 1e-3:
                    break
            if chosen is not None:
                yield (
                    wanted,
                    rotate_upright(
                        to_image(chosen, w, h, "rgb24", scaler), display_rotation(chosen)
                    ),
                )
    finally:
        container.close()


def decoded_from(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, first: float
) -> Iterator[av.VideoFrame]:
    """The frames after a seek, in order, those shown before ``first`` seconds only when other
    frames are predicted from them: reading up to a frame costs the references on the way (a
    third of the frames of a typical H.264 picture group), and every frame decoded is exactly
    what decoding all of them gives."""
    time_base = stream.time_base or Fraction(1, 1)
    context = stream.codec_context
    skipping: str = context.skip_frame
    try:
        for packet in container.demux(stream):
            skipping = _skip_early(context, packet, time_base, first, skipping)
            decoded = packet.decode()
            TALLY.frames += len(decoded)
            yield from decoded
    finally:
        context.skip_frame = "DEFAULT"


def _skip_early(
    context: av.video.codeccontext.VideoCodecContext,
    packet: av.packet.Packet[Any],
    time_base: Fraction,
    first: float,
    skipping: str,
) -> str:
    """Let the decoder skip ``packet`` if it holds a frame shown before ``first`` seconds that
    no other frame is predicted from; decided packet by packet, as decode order is not display
    order. ``skipping``: the setting in force; the one in force after."""
    early = packet.pts is not None and seconds(packet.pts, time_base) < first - 1e-3
    wanted: Literal["DEFAULT", "NONREF"] = "NONREF" if early else "DEFAULT"
    if wanted != skipping:
        context.skip_frame = wanted
    return wanted


def rotate_upright(image: Image, rotation: int) -> Image:
    """Turn an image by the stream's display rotation (clockwise degrees)."""
    turns = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(image, k=-turns)) if turns else image
