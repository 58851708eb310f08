"""Slides (pushes): the incoming picture pushes the outgoing one out of the frame.

Every frame of a slide is the frame before it moved one way, both pictures at one speed: to the
other tests that is a fast pan, and a pan is no boundary. What tells a slide from a pan is where
the move starts and stops. A slide moves the picture by the frame's whole width (or height), from
the shots' own calm before it to their calm after it; a pan moves by whatever the camera turned,
and a fast one keeps moving or turns back.

So a slide is a run of ``slide_frames`` consecutive frames, each moved from the one before it
along one axis, the same way, by at least ``slide_speed`` of the picture's size and a pixel of
the analysis picture, the other axis moving less (the shots go on moving under a slide: where
one tilts, the other axis moves too; their own drift, slower, is no part of the run). The run
adds up to ``slide_travel`` times the picture's size along that axis (more than once: a picture
inside bars is moved with its bars), and the frames either side (``slide_still`` of them) move
at most half the run's median speed, or a pixel. A single frame that breaks the run (an
estimate gone astray at a seam) is bridged.

The moves are first estimated cheaply for every frame from the pictures' row and column sums
(``signals.profile_moves``); runs that pass looser bars (``LOOSE_TRAVEL``) are measured again on
the whole pictures (``signals.phase_moves``), and must pass the plain bars there. A person
crossing the frame moves the column sums as a slide does, but not the whole picture.

Not found: a slide slower than ``slide_speed`` (about 1.3 s across the picture at 25 frames/s),
one in a video whose frame rate was raised by repeating pictures (the repeats do not move), and
one of a picture that fills under two thirds of the frame (a vertical video in bars).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from videorecog.analysis.detection import DetectorParams
from videorecog.analysis.signals import median

__all__ = ["LOOSE_TRAVEL", "Run", "runs"]

# The bars of the first estimate, from the row and column sums: a slide seen there travels
# about as far as on the whole pictures, but a glitch at its ends can shorten the run.
LOOSE_TRAVEL = (0.6, 1.8)


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
) -> list[Run]:
    """The slides among ``moves`` (N x 2: each frame's move (dy, dx) from the one before; frame
    ``first`` first, its own move unknown) in a picture of ``size`` (H, W), travelling
    ``travel`` (lowest, highest) times the size; only those whose last frame is in ``lasts``
    when given. A run that starts within ``slide_still`` frames of the first frame, or ends
    within them of the last, has no calm measured on that side: it is left out (the caller
    measures it when more frames have come)."""
    p = params
    found = []
    for axis in (0, 1):
        along = moves[:, axis].astype(np.float64)
        across = moves[:, 1 - axis].astype(np.float64)
        fast = np.abs(along) >= max(1.0, p.slide_speed * size[axis])
        way = np.sign(along) * (fast & (np.abs(across) < np.abs(along)))
        # One frame out of step between two in step: bridged, at the speed of its neighbours.
        odd = np.flatnonzero((way[1:-1] != way[:-2]) & (way[:-2] == way[2:]) & (way[:-2] != 0)) + 1
        way[odd] = way[odd - 1]
        along[odd] = (along[odd - 1] + along[odd + 1]) / 2
        edges = np.flatnonzero(np.diff(np.r_[0, way, 0]))
        starts, ends = edges[:-1], edges[1:]
        # Most runs are a frame or two of a shot's own motion: sorted out for all at once.
        length = ends - starts
        wanted = (way[starts] != 0) & (length >= p.slide_frames[0]) & (length <= p.slide_frames[1])
        wanted &= (starts >= 1 + p.slide_still) & (ends + p.slide_still <= len(moves))
        if lasts is not None:
            wanted &= (first + ends - 1 >= lasts.start) & (first + ends - 1 < lasts.stop)
        for start, end in zip(starts[wanted].tolist(), ends[wanted].tolist(), strict=True):
            moved = abs(float(along[start:end].sum())) / size[axis]
            if not travel[0] <= moved <= travel[1]:
                continue
            calm = max(1.0, float(median(np.abs(along[start:end]))) / 2)
            before = np.abs(along[start - p.slide_still : start])
            after = np.abs(along[end : end + p.slide_still])
            if max(float(median(before)), float(median(after))) <= calm:
                found.append(Run(first + start, first + end - 1, axis, moved))
    return found
