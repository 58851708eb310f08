"""A storyboard of a video's shots: ``videorecog report``.

Two views of one ``Board``, written into the output directory:
- ``<name>-report.html`` (``reportpage.py``): one self-contained page, its pictures inlined as
  data URIs, no script or style from elsewhere, so it works offline and can be mailed as it is;
- ``<name>-contact.png`` (``contactsheet.py``): the same on one image.

Both show a timeline strip of the shots (by frames) with the detector's cut score of every frame
under it, the covers with their confidence and the GIF preview (the covers and the GIF are also
written as files: ``<name>-cover-N.jpg``, ``<name>-cover-N.gif``), and each shot's first,
middle and last frames with their timecodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from videorecog.analysis import decode
from videorecog.analysis.covers import Image
from videorecog.analysis.tasks import Storyboard
from videorecog.shotlist import Shot, ShotList, timestamp

STILL_WIDTH = 240
SIGNAL_POINTS = 2000  # at most this many points of the signal are drawn (each the peak of its run)
STILL_NAMES = ("first", "middle", "last")


@dataclass(frozen=True)
class StillView:
    name: str  # first, middle or last
    frame: int
    timecode: str  # from the video's first frame
    image: Image | None  # None: the frame could not be decoded


@dataclass(frozen=True)
class ShotView:
    shot: Shot
    stills: tuple[StillView, ...]


@dataclass(frozen=True)
class CoverView:
    path: Path
    confidence: float


@dataclass(frozen=True)
class Board:
    """What both views show."""

    shots: ShotList
    panels: list[ShotView]
    signal: list[float]  # every frame's cut score
    cut_score: float  # the score at which the cut test finds a cut
    covers: list[CoverView]
    gif: Path | None


@dataclass(frozen=True)
class Report:
    page: Path
    contact_sheet: Path
    covers: list[CoverView]
    gif: Path | None


def write_report(path: str, story: Storyboard, shots: ShotList, out_dir: Path) -> Report:
    """Write the storyboard of the video at ``path`` (``story``, from ``tasks.storyboard`` with
    the same ``out_dir``; ``shots``, its shot list) into ``out_dir``."""
    from videorecog import contactsheet, reportpage

    out_dir.mkdir(parents=True, exist_ok=True)
    origin = story.shots.shot_times[0] if story.shots.shot_times else 0.0
    times = [still.time for stills in story.stills for still in stills]
    images = decode.frame_at_times(path, times, width=STILL_WIDTH)
    panels = [
        ShotView(
            shot,
            tuple(
                StillView(name, still.frame, timestamp(still.time - origin), images.get(still.time))
                for name, still in zip(STILL_NAMES, stills, strict=True)
            ),
        )
        for shot, stills in zip(shots.shots, story.stills, strict=True)
    ]
    board = Board(
        shots,
        panels,
        story.signal,
        story.cut_score,
        [CoverView(out_dir / c.file, c.confidence) for c in story.covers],
        out_dir / story.gif.file if story.gif is not None else None,
    )
    page = out_dir / f"{shots.name}-report.html"
    page.write_text(reportpage.render(board), encoding="utf-8")
    sheet = out_dir / f"{shots.name}-contact.png"
    contactsheet.render(board).save(sheet, format="PNG")
    return Report(page, sheet, board.covers, board.gif)


def signal_points(
    signal: list[float], cut_score: float, width: float, height: float
) -> tuple[list[tuple[float, float]], float]:
    """The signal as a line ``width`` x ``height`` (y down; one point per frame, or per run of
    frames holding the run's peak, so that no cut is lost to thinning), on a log scale that keeps
    both the ordinary changes and the cuts in view; and the height of ``cut_score`` on it."""
    top = math.log1p(max([*signal, 2 * cut_score]))

    def y(score: float) -> float:
        return height * (1 - math.log1p(max(score, 0.0)) / top)

    run = max(1, math.ceil(len(signal) / SIGNAL_POINTS))
    frames = max(len(signal), 1)
    points = [
        (width * (k + run / 2) / frames, y(max(signal[k : k + run])))
        for k in range(0, len(signal), run)
    ]
    return points, y(cut_score)


def shot_span(shot: Shot, frames: int, width: float) -> tuple[float, float]:
    """Where a shot starts on a timeline ``width`` wide, and how wide it is (by frames)."""
    scale = width / max(frames, 1)
    return shot.start_frame * scale, shot.frames * scale
