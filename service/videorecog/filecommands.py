"""The one-shot file commands behind ``cli.py``: ``videorecog shots``, ``split``, ``report`` and
``cover``.

Each takes a FILE that is a path, ``-`` or an http(s) URL (``inputs.py``), shows a progress bar on
a terminal (``progress.py``), prints its result on standard output and errors on standard error
(exit 1 for a video or input that cannot be used).
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from videorecog.inputs import FetchRules, allow_list
from videorecog.parsers import positive_int
from videorecog.settings import Settings

if TYPE_CHECKING:
    from pathlib import Path

    from videorecog.analysis.tasks import Progress, ShotsResult
    from videorecog.shotlist import ShotList

FORMATS = ("json", "csv", "edl", "otio", "fcpxml")
T = TypeVar("T")


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE, ``--quiet`` and ``--allow-host``: what every file command takes."""
    parser.add_argument("file", help="a video: a path, - for standard input, or an http(s) URL")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="fetch from this host or CIDR although it is private or loopback (repeatable; "
        "adds to VIDEORECOG_ENGINE_ALLOW_HOSTS)",
    )
    # Tests set it to 0 to see the bar on a short video.
    parser.add_argument("--progress-delay", type=float, default=2.0, help=argparse.SUPPRESS)


def _positive_int(text: str) -> int:
    """``parsers.positive_int``, refusing in argparse's words."""
    try:
        return positive_int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number") from None


def add_processes_argument(parser: argparse.ArgumentParser) -> None:
    """``--processes``: for the commands whose analysis a long video can share out."""
    parser.add_argument(
        "--processes",
        type=_positive_int,
        metavar="N",
        help="processes that share a long video's analysis (default: the cores available)",
    )


def add_survey_argument(parser: argparse.ArgumentParser) -> None:
    """``--survey``: for the commands that detect shots (``analysis.survey``, off by default)."""
    parser.add_argument(
        "--survey",
        action="store_true",
        help="decode H.264/HEVC reference frames only, the rest only where a cut may hide: "
        "10-20%% faster on HD, a few more false cuts at flashes and overlays",
    )


def add_shots_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser)
    add_processes_argument(parser)
    add_survey_argument(parser)
    parser.add_argument(
        "--format",
        default="json",
        choices=FORMATS,
        help="json (default), csv (PySceneDetect's scene list), edl (CMX 3600), "
        "otio (OpenTimelineIO), fcpxml (Final Cut Pro X XML)",
    )


def render(shots: ShotList, fmt: str, width: int = 0, height: int = 0) -> str:
    from videorecog import shotlist

    if fmt == "json":
        return shotlist.to_json(shots)
    if fmt == "csv":
        return shotlist.to_csv(shots)
    # OpenTimelineIO takes a tenth of the start-up to import: only for the timeline formats.
    from videorecog import timelines

    writers: dict[str, Callable[[ShotList], str]] = {
        "edl": timelines.to_edl,
        "otio": timelines.to_otio_json,
        "fcpxml": lambda s: timelines.to_fcpxml(s, width, height),
    }
    return writers[fmt](shots)


def _fail(error: Exception) -> int:
    print(f"videorecog: {error}", file=sys.stderr)
    if getattr(error, "code", "") == "InvalidFile.Unsafe":
        print(
            "videorecog: to fetch from this host anyway, pass --allow-host HOST "
            "(or set VIDEORECOG_ENGINE_ALLOW_HOSTS)",
            file=sys.stderr,
        )
    return 1


def run_shots(settings: Settings, args: argparse.Namespace) -> int:
    from videorecog.analysis.errors import InvalidVideo
    from videorecog.inputs import open_source
    from videorecog.protocol.errors import InvalidFileError
    from videorecog.shotlist import shot_list

    try:
        with open_source(args.file, fetch_rules(settings, args)) as source:
            width, height, _ = video_facts(str(source.path))
            result = detect_with_progress(source.path, args)
    except (InvalidVideo, InvalidFileError, OSError) as exc:
        return _fail(exc)
    shots = shot_list(result, source.name, source.media_url)
    sys.stdout.write(render(shots, args.format, width, height))
    sys.stdout.flush()
    return 0


def fetch_rules(settings: Settings, args: argparse.Namespace) -> FetchRules:
    engine = settings.engine
    return FetchRules(
        allow_list(engine.allow_hosts, args.allow_host),
        engine.max_download_bytes,
        engine.download_timeout_seconds,
    )


@functools.lru_cache(maxsize=4)
def video_facts(path: str) -> tuple[int, int, int]:
    """Width, height and the frames expected (from the container; 0 when it does not say), or
    zeros when the file cannot be read (the analysis will say why). Remembered: a command asks
    for them more than once (the output, the progress bar), and opening a file costs 70 ms."""
    from videorecog.analysis import decode
    from videorecog.analysis.errors import InvalidVideo

    try:
        container = decode.open_video(path)
    except InvalidVideo:
        return 0, 0, 0
    try:
        stream, info = decode.probe(container)
        total = stream.frames or round(info.duration * info.fps)
        return info.width, info.height, int(total)
    except InvalidVideo:
        return 0, 0, 0
    finally:
        container.close()


def detect_with_progress(path: Path, args: argparse.Namespace) -> ShotsResult:
    """``detect_shots`` with a progress bar (on a terminal) sized by the frames expected.

    Raises:
        InvalidVideo: the file cannot be decoded or holds no usable video.
    """
    from videorecog.analysis import segments
    from videorecog.analysis.tasks import detect_shots

    return with_progress(
        path,
        args,
        "shots",
        lambda p: detect_shots(
            str(path),
            progress=p,
            survey=args.survey,
            processes=args.processes or segments.available_cores(),
        ),
    )


def with_progress(
    path: Path, args: argparse.Namespace, description: str, work: Callable[[Progress], T]
) -> T:
    """``work(progress)`` under a progress bar (on a terminal) sized by the frames expected."""
    from videorecog.progress import FrameProgress

    _, _, total = video_facts(str(path))
    with FrameProgress(
        total, description=description, quiet=args.quiet, delay=args.progress_delay
    ) as progress:
        return work(progress)


def add_split_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser)
    add_processes_argument(parser)
    add_survey_argument(parser)
    parser.add_argument("--out", default=".", help="output directory (default: current)")


def run_split(settings: Settings, args: argparse.Namespace) -> int:
    """Detect the shots, write one file per shot, print ``{"Outputs": [...]}``."""
    from pathlib import Path

    import av.error
    import orjson

    from videorecog.analysis.errors import InvalidVideo
    from videorecog.inputs import open_source
    from videorecog.progress import FrameProgress
    from videorecog.protocol.errors import InvalidFileError
    from videorecog.shotlist import shot_list
    from videorecog.split import split

    out_dir = Path(args.out)
    try:
        with open_source(args.file, fetch_rules(settings, args)) as source:
            result = detect_with_progress(source.path, args)
            with FrameProgress(
                result.frames, description="split", quiet=args.quiet, delay=args.progress_delay
            ) as progress:
                pieces = split(
                    str(source.path), result.shot_frame_ids, out_dir, source.name, progress
                )
    except (InvalidVideo, InvalidFileError, OSError, av.error.FFmpegError) as exc:
        return _fail(exc)
    shots = {s.number: s for s in shot_list(result, source.name).shots}
    outputs = [
        {
            "file": str(p.path.resolve()),
            "shot": p.shot,
            "start_frame": p.start_frame,
            "end_frame": p.end_frame,
            "frames": p.end_frame - p.start_frame,
            "start": round(shots[p.shot].start, 6),
            "end": round(shots[p.shot].end, 6),
            "method": p.method,
            "encoded_frames": p.encoded_frames,
        }
        for p in pieces
    ]
    print(orjson.dumps({"Outputs": outputs}).decode(), flush=True)
    return 0


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser)
    parser.add_argument("--out", default=".", help="output directory (default: current)")


def run_report(settings: Settings, args: argparse.Namespace) -> int:
    """Analyse the video once, write the storyboard (page, contact sheet, covers, GIF), print
    ``{"Report": page, "ContactSheet": png, "Covers": [...], "Gif": gif}``."""
    from pathlib import Path

    import orjson

    from videorecog.analysis.errors import InvalidVideo
    from videorecog.analysis.tasks import storyboard
    from videorecog.inputs import open_source
    from videorecog.protocol.errors import InvalidFileError
    from videorecog.report import write_report
    from videorecog.shotlist import shot_list

    out_dir = Path(args.out)
    try:
        with open_source(args.file, fetch_rules(settings, args)) as source:
            story = with_progress(
                source.path,
                args,
                "storyboard",
                lambda p: storyboard(str(source.path), str(out_dir), source.name, progress=p),
            )
            shots = shot_list(story.shots, source.name, source.media_url)
            report = write_report(str(source.path), story, shots, out_dir)
    except (InvalidVideo, InvalidFileError, OSError) as exc:
        return _fail(exc)
    out = {
        "Report": str(report.page.resolve()),
        "ContactSheet": str(report.contact_sheet.resolve()),
        "Covers": [
            {"ImageURL": str(c.path.resolve()), "Confidence": c.confidence} for c in report.covers
        ],
        "Gif": str(report.gif.resolve()) if report.gif is not None else None,
    }
    print(orjson.dumps(out).decode(), flush=True)
    return 0


def add_cover_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser)
    parser.add_argument("--gif", action="store_true", help="animated GIF covers")
    parser.add_argument("--out", default=".", help="output directory (default: current)")
    parser.add_argument(
        "--format", default="png", choices=["png", "jpeg"], help="still image format (default png)"
    )


def run_cover(settings: Settings, args: argparse.Namespace) -> int:
    """Write the covers as ``<name>-<n>.<ext>``, best first, print
    ``{"Outputs": [{"ImageURL": path, "Confidence": c}, ...]}`` (the API's ``Outputs``)."""
    from pathlib import Path

    import orjson

    from videorecog.analysis.errors import InvalidVideo
    from videorecog.analysis.tasks import make_covers
    from videorecog.inputs import open_source
    from videorecog.protocol.errors import InvalidFileError

    out_dir = Path(args.out)
    try:
        with open_source(args.file, fetch_rules(settings, args)) as source:
            result = with_progress(
                source.path,
                args,
                "covers",
                lambda p: make_covers(
                    str(source.path), str(out_dir), source.name, args.gif, args.format, progress=p
                ),
            )
    except (InvalidVideo, InvalidFileError, OSError) as exc:
        return _fail(exc)
    outputs = [
        {"ImageURL": str((out_dir / c.file).resolve()), "Confidence": c.confidence}
        for c in result.covers
    ]
    print(orjson.dumps({"Outputs": outputs}).decode(), flush=True)
    return 0
