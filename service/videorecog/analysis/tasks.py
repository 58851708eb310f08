"""What the engine's worker processes run: one function per API action, file in, result out."""

from __future__ import annotations

import bisect
import contextlib
import gc
import itertools
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image as PILImage

from videorecog.analysis import covers, decode, gif
from videorecog.analysis.errors import InvalidVideo
from videorecog.analysis.shots import AdaptiveShotDetector, Boundary, CutGate, histogram
from videorecog.analysis.survey import Survey, SurveyUnavailable

ANALYSIS_WIDTH = 64  # the detector's frames (height by aspect ratio)
SAMPLE_WIDTH = 320  # cover candidates are scored at this width (fine enough to tell blur)
SAMPLE_EVERY_SECONDS = 0.25
IMAGE_COVERS = 5  # the most GenerateVideoCover returns; each from a different shot
SHORTLIST = 8  # best-per-shot candidates that are looked at for faces
FACE_PREVIEW_WIDTH = 480
GIF_COVERS = 2
# Below this many pixels a frame decodes faster than the survey can skip it: decoded in full.
SURVEY_MIN_PIXELS = 640 * 360


@dataclass(frozen=True)
class ShotsResult:
    shot_frame_ids: list[int]
    frames: int
    fps: float
    # The stream's own timestamps (seconds), exact on variable frame rate: the first frame of each
    # shot, and the end of the last frame (its time plus the interval before it).
    shot_times: list[float] = field(default_factory=list)
    end_time: float = 0.0


@dataclass(frozen=True)
class CoverFile:
    file: str  # name inside the output directory
    confidence: float


@dataclass(frozen=True)
class CoversResult:
    covers: list[CoverFile]
    frames: int


@dataclass(frozen=True)
class Still:
    """One frame of a storyboard."""

    frame: int
    time: float  # the stream's own timestamp (seconds)


@dataclass(frozen=True)
class Storyboard:
    """Everything a storyboard shows, from one decoding pass (and seeks for the pictures)."""

    shots: ShotsResult
    stills: list[tuple[Still, Still, Still]]  # each shot's first, middle and last frame
    signal: list[float]  # every frame's cut score (``AdaptiveShotDetector.scores``)
    cut_score: float  # the score a cut reaches (``DetectorParams.cut_standout``)
    covers: list[CoverFile]  # best first; none for a video with nothing visible
    gif: CoverFile | None


@dataclass
class _Pass:
    """One decoding pass: the detector's boundaries, the frame count and cover candidates."""

    info: decode.VideoInfo
    boundaries: list[Boundary]
    frames: int
    pool: covers.CandidatePool
    times: array[float] = field(default_factory=lambda: array("d"))  # each frame's, in order
    signal: array[float] = field(default_factory=lambda: array("f"))  # when asked for


Progress = Callable[[int], None]


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The decoding loop allocates a few small, short-lived, acyclic objects per frame: the
    garbage collector's passes, which they trigger, find nothing to free and cost about 2% of
    the analysis time. Anything cyclic left behind is collected once the loop is over."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _analyse(
    path: str,
    with_candidates: bool,
    progress: Progress | None = None,
    survey: bool | None = None,
    signal: bool = False,
) -> _Pass:
    """One pass over the video. ``survey``: decode reference frames only where that is exact
    (``survey.Survey``); a stream that cannot be surveyed is decoded again in full. By default
    only frames of at least ``SURVEY_MIN_PIXELS`` are surveyed. ``signal``: keep every frame's
    cut score."""
    if survey is not False:
        try:
            return _analysis_pass(path, with_candidates, progress, survey=survey, signal=signal)
        except SurveyUnavailable:
            pass
    return _analysis_pass(path, with_candidates, progress, survey=False, signal=signal)


def _analysis_pass(
    path: str,
    with_candidates: bool,
    progress: Progress | None,
    *,
    survey: bool | None,
    signal: bool = False,
) -> _Pass:
    container = decode.open_video(path)
    try:
        stream, info = decode.probe(container)
        surveyed = survey if survey is not None else info.width * info.height >= SURVEY_MIN_PIXELS
        width, height = decode.scaled_size(info.width, info.height, ANALYSIS_WIDTH)
        sample_size = decode.scaled_size(info.width, info.height, SAMPLE_WIDTH)
        sample_every = SAMPLE_EVERY_SECONDS if with_candidates else 0.0
        pool = covers.CandidatePool()
        detector = AdaptiveShotDetector(scores=array("f") if signal else None)
        count = 0
        times = array("d")
        source: Iterable[decode.Frame] = (
            Survey(
                container,
                stream,
                width=width,
                height=height,
                must_decode=CutGate(detector.params),
                sample_every=sample_every,
                sample_size=sample_size,
            )
            if surveyed
            else decode.iter_frames(
                container,
                stream,
                width=width,
                height=height,
                pixel_format="yuv444p",
                sample_every=sample_every,
                sample_size=sample_size,
                deblock=False,
            )
        )

        def frames() -> Iterator[decode.Frame]:
            nonlocal count
            for frame in source:
                count += 1
                times.append(frame.time)
                if progress is not None:
                    progress(count)
                if frame.sample is not None:
                    hist = histogram(frame.image, detector.params.histogram_bins)
                    pool.add(covers.make_candidate(frame.index, frame.time, frame.sample, hist))
                yield frame

        with _collector_paused():
            boundaries = detector.detect(frames(), info.fps)
    finally:
        container.close()
    return _Pass(info, boundaries, count, pool, times, detector.scores or array("f"))


def detect_shots(
    path: str, progress: Progress | None = None, *, survey: bool | None = None
) -> ShotsResult:
    """ShotFrameIds: 0 and the first frame of every later shot.

    Raises:
        InvalidVideo: the file cannot be decoded or holds no usable video.
    """
    return _shots_of(_analyse(path, with_candidates=False, progress=progress, survey=survey))


def _shots_of(result: _Pass) -> ShotsResult:
    ids = [0] + [b.frame for b in result.boundaries]
    times = result.times
    last = times[-1] if times else 0.0
    step = last - times[-2] if len(times) > 1 else 1.0 / (result.info.fps or 25.0)
    shot_times = [times[i] for i in ids] if times else []
    return ShotsResult(ids, result.frames, result.info.fps, shot_times, last + step)


def storyboard(path: str, out_dir: str, stem: str, progress: Progress | None = None) -> Storyboard:
    """The shots, each one's first, middle and last frames, the detection signal, the covers
    (``<stem>-cover-<n>.jpg``) and a GIF preview (``<stem>-preview-0.gif``) in ``out_dir``.

    Raises:
        InvalidVideo: the file cannot be decoded or holds no usable video.
    """
    result = _analyse(path, with_candidates=True, progress=progress, signal=True)
    shots = _shots_of(result)
    try:
        images = _covers_of(result, path, Path(out_dir), f"{stem}-cover", False, "jpeg")
        gifs = _covers_of(result, path, Path(out_dir), f"{stem}-preview", True, count=1)
    except InvalidVideo:  # nothing visible: the storyboard still shows the shots
        images, gifs = [], []
    return Storyboard(
        shots,
        _stills(shots, result.times),
        result.signal.tolist(),
        AdaptiveShotDetector().params.cut_standout,
        images,
        gifs[0] if gifs else None,
    )


def _stills(shots: ShotsResult, times: Sequence[float]) -> list[tuple[Still, Still, Still]]:
    """Each shot's first and last frames, and the first frame at or after its middle time."""
    ids = [*shots.shot_frame_ids, shots.frames]
    stills = []
    for first, end in itertools.pairwise(ids):
        stop = times[end] if end < len(times) else shots.end_time
        middle = bisect.bisect_left(times, (times[first] + stop) / 2 - 1e-6, first, end - 1)
        last = end - 1
        stills.append(
            (Still(first, times[first]), Still(middle, times[middle]), Still(last, times[last]))
        )
    return stills


def make_covers(
    path: str,
    out_dir: str,
    stem: str,
    is_gif: bool,
    image_format: str = "png",
    progress: Progress | None = None,
) -> CoversResult:
    """Write the covers into ``out_dir`` as ``<stem>-<n>.<ext>``, best first (``covers``: frames
    judged against the video's own, one cover per shot, defective frames only as a last resort).

    Raises:
        InvalidVideo: undecodable, or ``InvalidFile.Content`` when no frame has visible content.
    """
    result = _analyse(path, with_candidates=True, progress=progress)
    files = _covers_of(result, path, Path(out_dir), stem, is_gif, image_format)
    return CoversResult(files, result.frames)


def _covers_of(
    result: _Pass,
    path: str,
    out: Path,
    stem: str,
    is_gif: bool,
    image_format: str = "png",
    count: int | None = None,
) -> list[CoverFile]:
    """Choose the covers of a pass and write them (see ``make_covers``); at most ``count``.

    Raises:
        InvalidVideo: ``InvalidFile.Content`` when no frame has visible content.
    """
    candidates = result.pool.all()
    ranked = covers.best_per_shot(
        candidates, result.boundaries, result.frames, result.info.fps, result.pool.reference()
    )
    if not ranked:
        raise InvalidVideo(
            "InvalidFile.Content",
            "No frame has visible content (black or flat throughout).",
        )
    if is_gif:
        ranked = _long_enough(ranked, result.times, result.info.fps)
    shortlist = ranked[:SHORTLIST]
    from videorecog.analysis import faces  # OpenCV: loaded only when covers are made

    previews = decode.frame_at_times(
        path, [p.candidate.time for p in shortlist], width=FACE_PREVIEW_WIDTH
    )
    rescored = [
        p.with_face(faces.largest_face(previews[p.candidate.time]))
        if p.candidate.time in previews
        else p
        for p in shortlist
    ]
    picks = covers.diverse(rescored, count or (GIF_COVERS if is_gif else IMAGE_COVERS))
    box = covers.bars(candidates)
    out.mkdir(parents=True, exist_ok=True)
    files: list[CoverFile] = []
    if is_gif:
        for n, pick in enumerate(picks):
            first, end = _times_of(pick.clean, result.times, result.info.fps)
            start, stop = gif.segment(pick.candidate.time, first, end)
            frames = gif.read_segment(path, start, stop, box)
            if not frames:
                continue
            name = f"{stem}-{n}.gif"
            gif.write_gif(frames, out / name)
            files.append(CoverFile(name, pick.confidence))
    else:
        images = decode.frame_at_times(path, [p.candidate.time for p in picks])
        ext = "jpg" if image_format.lower() in ("jpg", "jpeg") else "png"
        for n, pick in enumerate(picks):
            image = images.get(pick.candidate.time)
            if image is None:
                continue
            name = f"{stem}-{n}.{ext}"
            PILImage.fromarray(covers.crop(image, box)).save(
                out / name,
                format="JPEG" if ext == "jpg" else "PNG",
                **({"quality": 90} if ext == "jpg" else {"optimize": False}),
            )
            files.append(CoverFile(name, pick.confidence))
    if not files:
        raise InvalidVideo("InvalidFile.Decode", "The chosen cover frames could not be decoded.")
    return files


def _times_of(frames: tuple[int, int], times: Sequence[float], fps: float) -> tuple[float, float]:
    """Times of a frame range (first, end exclusive) from the stream's own timestamps (exact on
    variable frame rate); past the last frame, one frame interval after it."""
    step = times[-1] - times[-2] if len(times) > 1 else 1.0 / (fps or 25.0)

    def at(frame: int) -> float:
        if frame < len(times):
            return times[frame]
        return (times[-1] if times else 0.0) + step * (frame - len(times) + 1)

    return at(frames[0]), at(frames[1])


def _long_enough(
    ranked: list[covers.Pick], times: Sequence[float], fps: float
) -> list[covers.Pick]:
    """For GIF covers, the shots whose clean part holds a whole preview, when there are any."""
    shortest = gif.GIF_SECONDS[0] + 2 * gif.EDGE_MARGIN_SECONDS
    long = [p for p in ranked if _span(_times_of(p.clean, times, fps)) >= shortest]
    return long or ranked


def _span(times: tuple[float, float]) -> float:
    return times[1] - times[0]
