"""Long videos on several cores: one stretch of the video per process, the scans joined as one.

A single pass uses one core for the analysis, however many the machine has (the decoder's own
threads only help the decoding). A long video is cut into consecutive stretches, one per
process; each process scans (``AdaptiveShotDetector.scan``) from ``MARGIN`` frames before its
stretch to ``MARGIN`` frames after it and keeps what it found inside the stretch. It seeks to the
keyframe before its first frame and decodes the run-up reference frames only; the stretches
are placed so that no process has much more of this work than another (``work``: a seam just
after a keyframe spares the next process its run-up). The margins are
wider than anything the detector looks at around a frame, so a frame near the joint is judged
on the same neighbourhood as in a single pass. The parts are joined (``Scan.join``) and
finished as one scan: fades, which need the whole video's luma, and the merging of close
detections are done once, over everything.

The processes are forked, so they start in milliseconds with everything imported. A process
that fails or is lost leaves the video to a single pass; whatever happens, none outlives the call.

Frames are numbered by their timestamp's rank among the timestamps of every packet, read in one
demuxing pass (no decoding: a few milliseconds a thousand frames). Each process checks that it
decoded exactly the frames of those numbers, in order. A stream without a timestamp on every
packet, with two packets at one timestamp, a damaged packet or a frame the decoder would not give
(an open picture group after seeking) is analysed in a single pass instead (``Unsplittable``):
the single pass numbers frames as they come, and the two would disagree.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import multiprocessing
import multiprocessing.connection
import os
from array import array
from collections.abc import Callable, Iterable, Iterator, MutableSequence, Sequence
from dataclasses import dataclass
from fractions import Fraction
from multiprocessing.connection import Connection
from typing import cast

import av
import numpy as np
import numpy.typing as npt

from videorecog.analysis import allocator, decode
from videorecog.analysis.detection import rate_factor
from videorecog.analysis.errors import InvalidVideo
from videorecog.analysis.shots import AdaptiveShotDetector, Scan
from videorecog.analysis.source import Setup, analysis_frames
from videorecog.analysis.survey import SurveyUnavailable

# Frames scanned beyond a stretch on either side: the detector's reach around a frame at most
# (the gradual test's longest window and context on each side, 24 frames, and a run of centres;
# the longest slide, with its calm either side and the frames read around it, 64); times
# ``detection.rate_factor``, as those spans are (``DetectorParams.at_rate``).
MARGIN = 64
# A stretch shorter than this is not worth a process (starting one and the margins cost about
# what 2 s of analysis does).
MIN_STRETCH_SECONDS = 20.0
# A frame of the run-up from the keyframe before a stretch against a frame scanned: only frames
# that others are predicted from are decoded there, and none is analysed (measured on H.264:
# about 0.3 of a scanned frame's time at 160x90, 0.65 at 640x360).
RUN_UP_COST = 0.5
PROGRESS_EVERY = 64  # frames between a process's progress reports
POLL_SECONDS = 0.25  # how often the parent passes the processes' progress on

Progress = Callable[[int], None]


def available_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class Unsplittable(Exception):
    """This video is analysed in a single pass (see the module docstring for why)."""


@dataclass(frozen=True)
class Stretch:
    """One process's share: frames ``start``..``end - 1``, scanned from frame ``first`` through
    frame ``stop - 1``. Decoding starts at the keyframe at or before ``first`` (timestamp
    ``seek_pts``); of the frames before ``first`` only those the others are predicted from."""

    number: int  # its place among the stretches (its progress slot)
    seek_pts: int
    first: int
    start: int
    end: int
    stop: int
    times: tuple[float, ...]  # seconds of frames ``first``..``stop - 1``, as the decoder gives them


@dataclass(frozen=True)
class Scanned:
    """The detector's scan of a whole video, put together from its stretches."""

    setup: Setup
    scan: Scan
    times: array[float]  # each frame's, in order


def plan(path: str, processes: int) -> tuple[Setup, list[Stretch]]:
    """The stretches for ``processes`` processes (at least ``MIN_STRETCH_SECONDS`` each), and
    how each is to look at the video.

    Raises:
        Unsplittable: too short for two stretches, or see the module docstring.
        InvalidVideo: the file cannot be opened or holds no usable video stream.
    """
    container = decode.open_video(path)
    try:
        stream, info = decode.probe(container)
        parts = min(processes, int(info.duration // MIN_STRETCH_SECONDS))
        if parts < 2:
            raise Unsplittable(f"{info.duration:.1f} s is too short to split")
        stamps, keys = _timestamps(container, stream)
        setup = Setup.of(path, info).settled(container)
    finally:
        container.close()
    time_base = stream.time_base or Fraction(1, 1)
    ranks = sorted(bisect.bisect_left(stamps, key) for key in keys)
    total = len(stamps)
    margin = MARGIN * rate_factor(info.fps)
    seams = _seams(total, parts, ranks, margin)
    stretches = []
    for k in range(parts):
        start, end = seams[k], seams[k + 1]
        first = max(0, start - margin)
        keyframe = _keyframe_before(ranks, first)
        if k and keyframe == 0:
            raise Unsplittable("no keyframe far enough into the video to start a stretch at")
        stop = min(total, end + margin)
        times = tuple(decode.seconds(pts, time_base) for pts in stamps[first:stop])
        stretches.append(Stretch(k, stamps[keyframe], first, start, end, stop, times))
    return setup, stretches


def _timestamps(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> tuple[list[int], list[int]]:
    """Every frame's timestamp in display order, and the keyframes' (raises Unsplittable)."""
    stamps: list[int] = []
    keys: list[int] = []
    for packet in container.demux(stream):
        if packet.size == 0:
            continue  # the end-of-stream flush
        if packet.pts is None or packet.is_corrupt or packet.is_discard:
            raise Unsplittable("a packet without a timestamp, flagged corrupt or discarded")
        stamps.append(packet.pts)
        if packet.is_keyframe:
            keys.append(packet.pts)
    stamps.sort()
    if any(a == b for a, b in itertools.pairwise(stamps)):
        raise Unsplittable("two packets at one timestamp")
    return stamps, keys


def work(start: int, end: int, total: int, ranks: Sequence[int], margin: int = MARGIN) -> int:
    """What scanning frames ``start``..``end - 1`` of ``total`` costs a process, in half frames
    (whole numbers): the frames it scans, ``margin`` on either side included, and its run-up
    from the keyframe before them (``ranks``: the keyframes' numbers), ``RUN_UP_COST`` a frame."""
    first, stop = max(0, start - margin), min(total, end + margin)
    run_up = first - _keyframe_before(ranks, first) if start else 0
    return 2 * (stop - first) + round(2 * RUN_UP_COST * run_up)


def _seams(total: int, parts: int, ranks: Sequence[int], margin: int = MARGIN) -> list[int]:
    """Where the stretches meet (``parts + 1`` frame numbers from 0 to ``total``): the largest
    process's ``work`` as small as it can be. A seam just after a keyframe spares the next
    process a run-up of up to a picture group.

    The smallest budget that ``parts`` stretches can meet, by bisection; for a budget, the seams
    it can reach stretch after stretch (a shorter stretch may let the next start just after a
    keyframe, so every reachable seam is kept, not only the farthest).

    Raises: Unsplittable when there are fewer frames than stretches (a still picture over a long
    sound track).
    """
    starts = np.arange(total + 1)
    first = np.maximum(0, starts - margin)
    keys = np.asarray([0, *ranks], dtype=np.int64)  # 0 before any keyframe, as in ``work``
    before = keys[np.searchsorted(keys, first, side="right") - 1]
    run_up = np.where(starts > 0, first - before, 0)
    extra = np.round(2 * RUN_UP_COST * run_up).astype(np.int64)
    whole = 2 * (total - first) + extra  # a stretch from each start to the end

    def reachable(budget: int) -> tuple[list[npt.NDArray[np.bool_]], npt.NDArray[np.int64]]:
        """Per stretch, the seams its end can be at; and each start's last end in budget."""
        last = np.where(whole <= budget, total, (budget - extra) // 2 + first - margin)
        last = np.minimum(last, total)
        stages = [starts == 0]
        for _ in range(parts):
            begins = np.flatnonzero(stages[-1] & (last > starts))
            marks = np.zeros(total + 2, dtype=np.int64)
            np.add.at(marks, begins + 1, 1)
            np.add.at(marks, last[begins] + 1, -1)
            stages.append(np.cumsum(marks)[: total + 1] > 0)
        return stages, last

    def meets(budget: int) -> bool:
        return bool(reachable(budget)[0][-1][total])

    if total < parts:
        raise Unsplittable(f"{total} frames for {parts} stretches")
    even = [total * n // parts for n in range(parts + 1)]
    low, high = 0, max(work(a, b, total, ranks, margin) for a, b in itertools.pairwise(even))
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if meets(middle) else (middle + 1, high)
    stages, last = reachable(high)
    # Back from the end: each seam the reachable start that can still reach the seam after it,
    # the one nearest an even share.
    seams = [total]
    for n in range(parts - 1, 0, -1):
        after = seams[-1]
        options = np.flatnonzero(stages[n] & (starts < after) & (last >= after))
        seams.append(int(options[np.abs(options - even[n]).argmin()]))
    return [0, *reversed(seams)]


def _keyframe_before(ranks: Sequence[int], frame: int) -> int:
    """The number of the last keyframe at or before ``frame`` (0 when none)."""
    k = bisect.bisect_right(ranks, frame)
    return ranks[k - 1] if k and frame >= 0 else 0


def scan_in_parallel(
    path: str, processes: int, survey: bool = False, progress: Progress | None = None
) -> Scanned:
    """The video's scan from one process per stretch (forked: they start in milliseconds).

    Raises:
        Unsplittable: see ``plan`` (the caller analyses the video in a single pass).
        InvalidVideo: see ``plan``.
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        raise Unsplittable("processes cannot be forked here")
    setup, stretches = plan(path, processes)
    allocator.keep_freed_memory()  # the processes inherit it
    context = multiprocessing.get_context("fork")
    # A forked process must never free what it inherited: a libswscale or decoder context
    # left as garbage by this process waits, when freed, for threads that exist only here (the
    # process hangs). The collector of a process forked while everything is frozen never looks
    # at what was there before; this process frees its garbage later, as usual (collecting it
    # first would cost more than forking: 15 ms).
    gc.freeze()
    try:
        parts = _scan_in_processes(path, setup, stretches, survey, progress, context)
    finally:
        gc.unfreeze()
    times = array("d")
    for _, stretch_times in parts:
        times.extend(stretch_times)
    return Scanned(setup, Scan.join([scan for scan, _ in parts]), times)


Part = tuple[Scan, list[float]]


def _scan_in_processes(
    path: str,
    setup: Setup,
    stretches: list[Stretch],
    survey: bool,
    progress: Progress | None,
    context: multiprocessing.context.ForkContext,
) -> list[Part]:
    """Each stretch's part, from a process of its own. Whatever happens here (an error, an
    interrupt, a process lost), no process outlives the call.

    Raises:
        Unsplittable: a stretch failed or its process was lost (see ``scan_in_parallel``).
    """
    done = context.Array("q", len(stretches), lock=False)
    # Decoder threads only where the processes leave cores idle: on cores all busy with
    # processes, threads just take turns with them.
    threads = max(1, available_cores() // len(stretches))
    running: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
    answers: dict[int, tuple[str, object]] = {}
    try:
        for stretch in stretches:
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(
                target=_run_stretch,
                args=(sender, path, setup, stretch, survey, threads, done),
                name=f"videorecog-stretch-{stretch.number}",
                daemon=True,
            )
            process.start()
            sender.close()
            running.append((process, receiver))
        waiting = {receiver: k for k, (_, receiver) in enumerate(running)}
        while waiting:
            for ready in multiprocessing.connection.wait(list(waiting), timeout=POLL_SECONDS):
                k = waiting.pop(cast(Connection, ready))  # ``wait`` gives back what it got
                try:
                    answers[k] = running[k][1].recv()
                except EOFError:  # the process died without answering (lost to memory, say)
                    running[k][0].join(timeout=5)
                    answers[k] = ("lost", f"exit code {running[k][0].exitcode}")
            if progress is not None:
                progress(sum(done))
    finally:
        for child, receiver in running:
            if child.is_alive():
                child.terminate()
            child.join()
            receiver.close()
    parts: list[Part] = []
    for k in range(len(running)):
        status, value = answers[k]
        if status != "ok":
            # A single pass says what is wrong with a bad file, or copes with what a stretch
            # could not.
            raise Unsplittable(f"stretch {k} failed: {value}")
        parts.append(value)  # type: ignore[arg-type]
    return parts


def _run_stretch(
    answer: Connection,
    path: str,
    setup: Setup,
    stretch: Stretch,
    survey: bool,
    threads: int,
    done: MutableSequence[int],
) -> None:
    """In a stretch's process: its part, or the error that stopped it, sent through ``answer``."""
    try:
        part = scan_stretch(path, setup, stretch, survey, threads, done)
    except (InvalidVideo, SurveyUnavailable, Unsplittable) as error:
        answer.send(("error", str(error)))
    else:
        answer.send(("ok", part))
    finally:
        answer.close()


def scan_stretch(
    path: str,
    setup: Setup,
    stretch: Stretch,
    survey: bool,
    threads: int = 0,
    done: MutableSequence[int] | None = None,
) -> Part:
    """One stretch's part of the scan, and its frames' times (``start``..``end - 1``).
    ``done[stretch.number]``: its frames done so far, for the parent's progress.

    Raises:
        Unsplittable: the frames decoded are not the frames expected.
        InvalidVideo: see ``decode.iter_frames``.
    """
    gc.disable()  # a process for one stretch; see ``tasks._collector_paused``
    try:
        return _scan_stretch(path, setup, stretch, survey, threads, done)
    except SurveyUnavailable:
        if not survey:
            raise
        return _scan_stretch(path, setup, stretch, False, threads, done)


def _scan_stretch(
    path: str,
    setup: Setup,
    stretch: Stretch,
    survey: bool,
    threads: int,
    done: MutableSequence[int] | None,
) -> Part:
    container = decode.open_video(path)
    try:
        stream, _ = decode.probe(container)
        if stretch.first:
            container.seek(stretch.seek_pts, stream=stream, backward=True, any_frame=False)
        detector = AdaptiveShotDetector(setup.params)
        frames = analysis_frames(
            container,
            stream,
            setup,
            survey=survey,
            threads=threads,
            references_before=stretch.times[0],
        )
        scan = detector.scan(_numbered(frames, stretch, done))
    finally:
        container.close()
    part = scan.part(stretch.first, stretch.start, stretch.end)
    offset = stretch.start - stretch.first
    return part, list(stretch.times[offset : offset + stretch.end - stretch.start])


def _numbered(
    frames: Iterable[decode.Frame], stretch: Stretch, done: MutableSequence[int] | None
) -> Iterator[decode.Frame]:
    """The stretch's frames ``first``..``stop - 1``, checked against their expected times."""
    expected = stretch.times
    k = 0
    for frame in frames:
        if frame.time < expected[0]:
            continue  # the run-up from the keyframe (or from where the demuxer's seek landed)
        if frame.time != expected[k]:
            raise Unsplittable(f"frame {stretch.first + k} is not the one expected")
        yield frame
        k += 1
        if done is not None and k % PROGRESS_EVERY == 0:
            share = stretch.end - stretch.start
            done[stretch.number] = min(share, max(0, stretch.first + k - stretch.start))
        if k == len(expected):
            return
    raise Unsplittable(f"frames {stretch.first + k}.. were not decoded")
