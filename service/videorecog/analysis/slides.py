"""Slides (pushes): the incoming picture pushes the outgoing one out of the frame.

Every frame of a slide is the frame before it moved one way, both pictures at one speed: to the
other tests that is a fast pan, and a pan is no boundary. What tells a slide from a pan is how
the move starts and stops. A slide moves the picture by the frame's whole width (or height), from
the shots' own calm before it to their calm after it, at once; a pan moves by whatever the camera
turned, eases in and out, and a fast one keeps moving or turns back.

So a slide is a run of ``slide_frames`` consecutive frames, each moved from the one before it
along one axis, the same way, by at least ``slide_speed`` of the picture's size and a pixel of
the analysis picture, the other axis moving less (the shots go on moving under a slide: where
one tilts, the other axis moves too; their own drift, slower, is no part of the run), but for
frames at the run's ends where the other axis moves more (a shot tilting faster than a slow
slide moves). The run adds up to ``slide_travel`` times the picture's size along that axis (more
than once: a picture inside bars is moved with its bars); measured on the whole pictures, no
frame of it moves more than ``slide_steady`` times its median speed (a burst of quick shots
gives moves all over the place, a few of which can add up to the size); the frames either side
(``slide_still`` of them) move at most half the run's median speed, or a pixel; and the speed
gets there, and comes back, within two frames (``_sudden``). Without that last test a pan
easing in over a few frames would pass for a slow slide: its first frames over a pixel a frame
follow frames under one, as calm as the 1-pixel bar asks. A single frame that breaks the run
(an estimate gone astray at a seam) is bridged.

The moves are first estimated cheaply for every frame from the pictures' row and column sums
(``signals.profile_moves``); runs that pass looser bars (``LOOSE_TRAVEL``) are measured again on
the whole pictures (``signals.phase_moves``), and must pass the plain bars there. A person
crossing the frame moves the column sums as a slide does, but not the whole picture.

Not found: a slide slower than ``slide_speed`` or a pixel of the analysis picture a frame, or
longer than ``slide_frames`` (at 25 frames/s: 2.2 s across a picture, about 1.4 s up or down a
16:9 one, whose analysis picture is 36 rows high; the same at 50 or 60 frames/s, where moves
are measured over ``slide_step`` frames, a 25th of a second); one that eases in or out; one in a
video of up to 30 frames/s made from a slower one by showing each picture three times or more
(the repeats do not move; a frame that does not move between two that do is bridged); and one of
a picture that fills under two thirds of the frame (a vertical video in bars).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from videorecog.analysis.detection import DetectorParams
from videorecog.analysis.signals import median

__all__ = ["LOOSE_TRAVEL", "Run", "runs"]

# The bars of the first estimate, from the row and column sums: a slide seen there travels
# about as far as on the whole pictures, but a glitch at its ends can shorten the run.
LOOSE_TRAVEL = (0.6, 1.8)
# How far before a run's first frame (after its last) its rise (fall) is looked for: the run's
# own ends may be a frame or two off, where the shots' motion adds to the slide's or takes away.
SUDDEN_REACH = 5


@dataclass(frozen=True)
class Run:
    """Frames ``first``..``last`` each moved from the one before along ``axis`` (0: down, 1:
    across), ``travel`` times the picture's size in all."""

    first: int
    last: int
    axis: int
    travel: float


def runs(
    moves: npt.NDArray[np.floating],
    first: int,
    size: tuple[int, int],
    params: DetectorParams,
    travel: tuple[float, float],
    lasts: range | None = None,
    steady: float = math.inf,
) -> list[Run]:
    """The slides among ``moves`` (N x 2: each frame's move (dy, dx) from the one
    ``slide_step`` before; frame ``first`` first, the first moves unknown) in a picture of
    ``size`` (H, W), travelling ``travel`` (lowest, highest) times the size, no frame moving
    more than ``steady`` times the run's median speed; only those whose last frame is in
    ``lasts`` when given. A run that starts within ``slide_still`` frames of the first frame, or
    ends within them of the last, has no calm measured on that side: it is left out (the caller
    measures it when more frames have come)."""
    p = params
    found = []
    for axis in (0, 1):
        along = moves[:, axis].astype(np.float64)
        across = moves[:, 1 - axis].astype(np.float64)
        fast = np.abs(along) >= max(1.0, p.slide_speed * size[axis])
        way = np.sign(along) * (fast & (np.abs(across) < np.abs(along)))
        # A frame's estimate gone astray touches ``slide_step`` moves.
        bridged = _bridge(way, along, p.slide_step)
        _extend(way, np.sign(along) * fast)
        edges = np.flatnonzero(np.diff(np.r_[0, way, 0]))
        starts, ends = edges[:-1], edges[1:]
        # Most runs are a frame or two of a shot's own motion: sorted out for all at once.
        length = ends - starts
        wanted = (way[starts] != 0) & (length >= p.slide_frames[0]) & (length <= p.slide_frames[1])
        wanted &= (starts >= 1 + p.slide_still) & (ends + p.slide_still <= len(moves))
        if lasts is not None:
            wanted &= (first + ends - 1 >= lasts.start) & (first + ends - 1 < lasts.stop)
        for start, end in zip(starts[wanted].tolist(), ends[wanted].tolist(), strict=True):
            moved = abs(float(along[start:end].sum())) / p.slide_step / size[axis]
            if not travel[0] <= moved <= travel[1]:
                continue
            pace = float(median(np.abs(along[start:end])))
            measured = np.abs(along[start:end][~bridged[start:end]])
            if measured.max() > steady * float(median(measured)):
                continue  # not one speed: motion all over the place
            calm = max(1.0, pace / 2)
            before = np.abs(along[start - p.slide_still : start])
            after = np.abs(along[end : end + p.slide_still])
            if max(float(median(before)), float(median(after))) > calm:
                continue
            if _sudden(along * way[start], start, end, calm):
                found.append(Run(first + start, first + end - 1, axis, moved))
    return found


def _bridge(
    way: npt.NDArray[np.float64], along: npt.NDArray[np.float64], most: int
) -> npt.NDArray[np.bool_]:
    """Up to ``most`` frames out of step between frames in step one way: counted in step, at
    the mean speed of the frames either side (in place). Which frames were bridged."""
    bridged = np.zeros(len(way), dtype=bool)
    for gap in range(1, most + 1):
        n = len(way) - gap - 1
        if n <= 0:
            break
        before, after = way[:n], way[gap + 1 :]
        odd = (before != 0) & (before == after)
        for k in range(1, gap + 1):
            odd &= way[k : k + n] != before
        for start in np.flatnonzero(odd).tolist():
            way[start + 1 : start + gap + 1] = way[start]
            along[start + 1 : start + gap + 1] = (along[start] + along[start + gap + 1]) / 2
            bridged[start + 1 : start + gap + 1] = True
    return bridged


def _extend(way: npt.NDArray[np.float64], loose: npt.NDArray[np.float64]) -> None:
    """Runs in ``way`` carried on (in place) over the frames next to them that move the same
    way fast enough (``loose``), though the other axis moves more there: where a shot under a
    slow slide tilts faster than the slide moves, at the slide's ends, the slide goes on."""
    while True:
        grows = (way == 0) & (loose != 0)
        grows &= (np.r_[0, way[:-1]] == loose) | (np.r_[way[1:], 0] == loose)
        if not grows.any():
            return
        way[grows] = loose[grows]


def _sudden(speed: npt.NDArray[np.float64], start: int, end: int, change: float) -> bool:
    """Whether ``speed`` (along the run's way) rises by ``change`` within two frames before the
    run ``start``..``end - 1`` gets going, and falls by as much within two as it stops."""
    lo, hi = max(0, start - SUDDEN_REACH), min(len(speed), end + SUDDEN_REACH)
    rise = speed[lo + 2 : start + 2] - speed[lo:start]
    fall = speed[end - 2 : hi - 2] - speed[end:hi]
    return bool(min(rise.max(initial=0.0), fall.max(initial=0.0)) >= change)
