"""What the engine's worker processes run: one function per API action, file in, result out."""

from __future__ import annotations

import bisect
import contextlib
import gc
import itertools
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from videorecog.analysis import allocator, covers, decode, segments
from videorecog.analysis.detection import Boundary
from videorecog.analysis.errors import InvalidVideo
from videorecog.analysis.shots import AdaptiveShotDetector, histogram
from videorecog.analysis.source import Setup, analysis_frames
from videorecog.analysis.survey import SurveyUnavailable

SAMPLE_WIDTH = 320  # cover candidates are scored at this width (fine enough to tell blur)
SAMPLE_EVERY_SECONDS = 0.25
IMAGE_COVERS = 5  # the most GenerateVideoCover returns; each from a different shot
SHORTLIST = 8  # best-per-shot candidates that are looked at for faces
FACE_PREVIEW_WIDTH = 480
KEEP_PIXELS = 1920 * 1088  # the largest cover frame held between face finding and writing
PNG_COMPRESS_LEVEL = 1  # zlib's fastest: a fifth of level 6's time, files about a third larger
GIF_COVERS = 2


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


OUTPUTS = frozenset({"shots", "cover", "gif"})  # what ``analyse`` makes, named as the API's tasks
COVER_OUTPUTS = ("cover", "gif")  # the outputs made from cover candidates, in the order made


@dataclass(frozen=True)
class VideoAnalysis:
    """Every output asked of one decoding pass (``analyse``); None where not asked for."""

    frames: int  # the video's frames, numbered in decode order as ShotFrameIds count them
    shots: ShotsResult | None = None  # "shots": what ``detect_shots`` gives
    cover: CoversResult | None = None  # "cover": image covers, as ``make_covers(is_gif=False)``
    gif: CoversResult | None = None  # "gif": GIF covers, as ``make_covers(is_gif=True)``
    # Outputs asked for that could not be made, with the error their own analysis raises (a
    # video with no visible frame has shots but no cover); the other outputs are still made.
    failed: Mapping[str, InvalidVideo] = field(default_factory=dict)


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
Box = tuple[float, float, float, float]  # letterbox/pillarbox bars (``covers.bars``)


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
    survey: bool = False,
    signal: bool = False,
) -> _Pass:
    """One pass over the video. ``survey``: decode reference frames only where that is exact
    (``survey.Survey``; not by default, see ``source``); a stream that cannot be surveyed is
    decoded again in full. ``signal``: keep every frame's cut score."""
    allocator.keep_freed_memory()
    if survey:
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
    survey: bool,
    signal: bool = False,
) -> _Pass:
    container = decode.open_video(path)
    try:
        stream, info = decode.probe(container)
        sample_size = decode.scaled_size(info.width, info.height, SAMPLE_WIDTH)
        sample_every = SAMPLE_EVERY_SECONDS if with_candidates else 0.0
        pool = covers.CandidatePool()
        setup = Setup.of(path, info)
        detector = AdaptiveShotDetector(setup.params, scores=array("f") if signal else None)
        count = 0
        times = array("d")
        source = analysis_frames(
            container,
            stream,
            setup,
            survey=survey,
            sample_every=sample_every,
            sample_size=sample_size,
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
    path: str,
    progress: Progress | None = None,
    *,
    survey: bool = False,
    processes: int = 1,
) -> ShotsResult:
    """ShotFrameIds: 0 and the first frame of every later shot. ``processes``: how many may
    share a long video (``segments``); the engine's workers, each already one of many, use 1.

    Raises:
        InvalidVideo: the file cannot be decoded or holds no usable video.
    """
    if processes > 1:
        try:
            scanned = segments.scan_in_parallel(path, processes, survey, progress)
        except segments.Unsplittable:
            pass
        else:
            detector = AdaptiveShotDetector(scanned.setup.params)
            boundaries = detector.finish(scanned.scan, scanned.setup.info.fps)
            whole = _Pass(
                scanned.setup.info,
                boundaries,
                len(scanned.times),
                covers.CandidatePool(),
                scanned.times,
            )
            return _shots_of(whole)
    return _shots_of(_analyse(path, with_candidates=False, progress=progress, survey=survey))


def storyboard(path: str, out_dir: str, stem: str, progress: Progress | None = None) -> Storyboard:
    """The shots, each one's first, middle and last frames, the detection signal, the covers
    (``<stem>-cover-<n>.jpg``) and a GIF preview (``<stem>-cover-<n>.gif``) in ``out_dir``.

    Raises:
        InvalidVideo: the file cannot be decoded or holds no usable video.
    """
    result = _analyse(path, with_candidates=True, progress=progress, signal=True)
    shots = _shots_of(result)
    made = _made_covers(path, result, COVER_OUTPUTS, Path(out_dir), f"{stem}-cover", "jpeg")
    images, gifs = (made[k] for k in COVER_OUTPUTS)
    return Storyboard(
        shots,
        _stills(shots, result.times),
        result.signal.tolist(),
        AdaptiveShotDetector().params.cut_standout,
        # Nothing visible: the storyboard still shows the shots.
        images.covers if isinstance(images, CoversResult) else [],
        gifs.covers[0] if isinstance(gifs, CoversResult) and gifs.covers else None,
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
    kind = "gif" if is_gif else "cover"
    result = _analyse(path, with_candidates=True, progress=progress)
    made = _made_covers(path, result, (kind,), Path(out_dir), stem, image_format)[kind]
    if isinstance(made, InvalidVideo):
        raise made
    return made


def analyse(
    path: str,
    outputs: frozenset[str],
    out_dir: str = "",
    stem: str = "",
    image_format: str = "png",
    progress: Progress | None = None,
    *,
    survey: bool = False,
) -> VideoAnalysis:
    """Every output in ``outputs`` (``OUTPUTS``) from one decoding pass, each the same as its own
    analysis gives (``detect_shots``, ``make_covers``); covers are chosen within the shots that
    pass found, and written into ``out_dir`` as ``<stem>-<n>.<ext>`` (png/jpg images, gif).

    Raises:
        InvalidVideo: the file cannot be decoded or holds no usable video (no output is made).
        ValueError: an unknown output, none at all, or covers without ``out_dir``.
    """
    unknown = outputs - OUTPUTS
    kinds = [kind for kind in COVER_OUTPUTS if kind in outputs]
    if unknown or not outputs or (kinds and not out_dir):
        raise ValueError(
            f"outputs {sorted(outputs)} (known: {sorted(OUTPUTS)}), out_dir {out_dir!r}"
        )
    result = _analyse(path, with_candidates=bool(kinds), progress=progress, survey=survey)
    made = _made_covers(path, result, kinds, Path(out_dir), stem, image_format) if kinds else {}

    def written(kind: str) -> CoversResult | None:
        value = made.get(kind)
        return value if isinstance(value, CoversResult) else None

    return VideoAnalysis(
        frames=result.frames,
        shots=_shots_of(result) if "shots" in outputs else None,
        cover=written("cover"),
        gif=written("gif"),
        failed={k: v for k, v in made.items() if isinstance(v, InvalidVideo)},
    )


def _shots_of(result: _Pass) -> ShotsResult:
    ids = [0] + [b.frame for b in result.boundaries]
    times = result.times
    last = times[-1] if times else 0.0
    step = last - times[-2] if len(times) > 1 else 1.0 / (result.info.fps or 25.0)
    shot_times = [times[i] for i in ids] if times else []
    return ShotsResult(ids, result.frames, result.info.fps, shot_times, last + step)


def _made_covers(
    path: str, result: _Pass, kinds: Sequence[str], out: Path, stem: str, image_format: str
) -> dict[str, CoversResult | InvalidVideo]:
    """Covers of each kind (``COVER_OUTPUTS``) from one pass's candidates and boundaries. The
    kinds share the ranking and the face finder, which looks at each shortlisted frame once."""
    candidates = result.pool.all()
    ranked = covers.best_per_shot(
        candidates, result.boundaries, result.frames, result.info.fps, result.pool.reference()
    )
    if not ranked:
        empty = InvalidVideo(
            "InvalidFile.Content", "No frame has visible content (black or flat throughout)."
        )
        return dict.fromkeys(kinds, empty)
    long = _long_enough(ranked, result.times, result.info.fps) if "gif" in kinds else ranked
    shortlists = {kind: (long if kind == "gif" else ranked)[:SHORTLIST] for kind in kinds}
    keep = {p.candidate.time for p in shortlists.get("cover", [])}
    face_of, frames = _faces(
        path, sorted({p.candidate.time for s in shortlists.values() for p in s}), keep
    )
    box = covers.bars(candidates)
    out.mkdir(parents=True, exist_ok=True)
    made: dict[str, CoversResult | InvalidVideo] = {}
    for kind, shortlist in shortlists.items():
        rescored = [
            p.with_face(face_of[p.candidate.time]) if p.candidate.time in face_of else p
            for p in shortlist
        ]
        if kind == "gif":
            picks = covers.diverse(rescored, GIF_COVERS)
            files = _write_gifs(path, picks, result, box, out, stem)
        else:
            picks = covers.diverse(rescored, IMAGE_COVERS)
            files = _write_images(path, picks, frames, box, out, stem, image_format)
        made[kind] = (
            CoversResult(files, result.frames)
            if files
            else InvalidVideo("InvalidFile.Decode", "The chosen cover frames could not be decoded.")
        )
    return made


def _faces(
    path: str, times: list[float], keep: set[float]
) -> tuple[dict[float, float], dict[float, decode.Image]]:
    """The largest face's share of the picture in the frame at each time that decodes, and the
    full frames at the times in ``keep`` (the image covers' candidates), so that the covers are
    not sought and decoded a second time; above KEEP_PIXELS a frame is too large to hold."""
    from videorecog.analysis import faces  # OpenCV: loaded only when covers are made

    face_of: dict[float, float] = {}
    kept: dict[float, decode.Image] = {}
    for t, image in decode.frames_at_times(path, times):
        face_of[t] = faces.largest_face(image, FACE_PREVIEW_WIDTH)
        height, width = image.shape[:2]
        if t in keep and width * height <= KEEP_PIXELS:
            kept[t] = image
    return face_of, kept


def _write_gifs(
    path: str, picks: Sequence[covers.Pick], result: _Pass, box: Box, out: Path, stem: str
) -> list[CoverFile]:
    """A GIF of each pick's segment (read again after seeking: a few seconds of the video)."""
    from videorecog.analysis import gif  # with Pillow: only where GIFs are made

    files: list[CoverFile] = []
    for n, pick in enumerate(picks):
        first, end = _times_of(pick.clean, result.times, result.info.fps)
        start, stop = gif.segment(pick.candidate.time, first, end)
        frames = gif.read_segment(path, start, stop, box)
        if not frames:
            continue
        name = f"{stem}-{n}.gif"
        gif.write_gif(frames, out / name)
        files.append(CoverFile(name, pick.confidence))
    return files


def _write_images(
    path: str,
    picks: Sequence[covers.Pick],
    held: Mapping[float, decode.Image],
    box: Box,
    out: Path,
    stem: str,
    image_format: str,
) -> list[CoverFile]:
    """Each pick's frame in full: held since the faces were found, or decoded again after seeking
    (the pass kept small samples only)."""
    missing = [p.candidate.time for p in picks if p.candidate.time not in held]
    images = {**held, **(decode.frame_at_times(path, missing) if missing else {})}
    from PIL import Image as PILImage  # here: ``videorecog shots`` starts faster without it

    ext = "jpg" if image_format.lower() in ("jpg", "jpeg") else "png"
    files: list[CoverFile] = []
    for n, pick in enumerate(picks):
        image = images.get(pick.candidate.time)
        if image is None:
            continue
        name = f"{stem}-{n}.{ext}"
        PILImage.fromarray(covers.crop(image, box)).save(
            out / name,
            format="JPEG" if ext == "jpg" else "PNG",
            **({"quality": 90} if ext == "jpg" else {"compress_level": PNG_COMPRESS_LEVEL}),
        )
        files.append(CoverFile(name, pick.confidence))
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
    from videorecog.analysis import gif

    shortest = gif.GIF_SECONDS[0] + 2 * gif.EDGE_MARGIN_SECONDS
    long = [p for p in ranked if _span(_times_of(p.clean, times, fps)) >= shortest]
    return long or ranked


def _span(times: tuple[float, float]) -> float:
    return times[1] - times[0]
