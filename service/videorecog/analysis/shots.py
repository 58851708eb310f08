"""Shot boundary detection: hard cuts and gradual transitions, streaming, in bounded memory.

The signals (``signals.py``) of each frame against the previous one: the histogram, pixel and
structure changes. Frames are taken in chunks and measured with one numpy call per signal per
chunk; only the few frames that pass the cheap tests are looked at one by one.

Hard cut at frame t: the three changes at t stand out from those of the frames around it (the
geometric mean of each change over the median of its ``window`` neighbours on either side, plus
a noise floor, is at least ``cut_standout``), the structure change among them
(``cut_structure_min``: a brightness change alone is no cut). Neighbours that repeat the
picture before them (a change under ``repeat_share`` of the window's usual one, beside one that
changed) are left out of the median where enough others changed: in a video whose frame rate
was raised by repeating pictures, the median neighbour would otherwise be no change at all.
Every decision is relative to the video itself: a busy, noisy or dark video raises its own
baseline. Not a cut either:
- a flash, a corrupt frame or a glitch jumps away and comes back: a picture within
  ``flash_frames`` after the jump whose change from one just before it is ordinary;
- a jolt of the camera: one global shift explains most of the change (``jolt_residual_max``);
- a step of a fast zoom or roll: a zoom in or out or a turn (and a shift) explains most of the
  change, and of the change before or after it (a cut to a closer view has no zoom beside it);
- a change of light (a lamp, a strobe, a colour wash) or a jump within the shot: the picture's
  edges stay where they were, pointing the same way (``edge_agreement_max``).
In a moving shot (a fast pan) every frame changes a lot, so a cut there stands out less by its
changes alone, and its structure change less than around it: from ``moving_cut_standout`` on it
is a cut too if the changes around it are shifts (the median of its neighbours' residuals after
the best global shift, and that of the frame before or after it, under ``jolt_residual_max``)
and its own is not (``moving_cut_residual``), on pictures less their means (a change of
brightness is no cut there either); ``cut_structure_min`` does not apply there.

Gradual transition centred at t, tested with each half-window W of ``gradual_windows`` (a long
dissolve fills a short window): a one-way move between two steady stretches. Either the change
from frame t-W to t+W stands out from the changes inside the C-frame contexts beside the window
(``gradual_standout``, short window only: in a moving shot pixels drift further over a longer
span), or the contexts' mean histograms differ (``gradual_min``, ``context_ratio`` times the
farthest frame from its context's mean) and the change still stands out a little
(``gradual_corroboration``: an exposure drift does not). Then no single step makes the change
(``gradual_ratio``), the middle frame is a blend of the two ends (``blend_residual_max``), and no
global shift explains it (``motion_residual_max``). A run of such centres is one transition;
where both windows see it, the short window's detection stands (the long one's may smear several
short-spaced transitions into one), and overlapping runs are reported once, at their median.

A slide (a push: the incoming picture pushes the outgoing one out of the frame) moves everything
one way at one speed, which the tests above take for a pan; it is found from each frame's move
(``slides.py``): a move by the picture's whole width or height, from calm to calm. A move onto or
off a blank wall, where the run or its calm shows nothing (``dark_contrast``), is no slide.

Fades through black or white, and through another flat colour, are found from the whole video's
luma once the pass is over (``fades.py``). Other detections inside a fade are dropped: the steep
middle of a fast fade looks like a cut to the histogram.

Frame rate: the spans in frames are those of 25 frames/s. At 50 or 60 frames/s the ones that
measure a duration (the gradual test's windows, contexts and shortest run, a flash, a fade's
ramp, the merging distance) cover twice the frames, the same time
(``detection.DetectorParams.at_rate``), and a fade's ramp may pause where a conversion repeated
a picture.

There is no minimum shot length: a shot of a few frames between two cuts is kept. Only
detections within ``merge_frames`` of each other are one boundary (a cut before a gradual
transition, else the stronger).

Memory: for the whole video, two numbers a frame (mean luma, contrast; three with ``scores``)
and the contrast of each of the 16 blocks in half precision, 40 bytes a frame without ``scores``
(7 MB for two hours at 24 frames/s); pictures only for the last ``2(W+C)`` frames of the
longest window (or of the longest slide and its calm, if more) and one chunk.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from videorecog.analysis.decode import Frame
from videorecog.analysis.detection import Boundary, DetectorParams
from videorecog.analysis.fades import FadeFinder
from videorecog.analysis.signals import (
    FLAT_CONTRAST,
    GRID,
    FloatArray,
    Image,
    blend_residual,
    blocks,
    changes,
    edge_agreement,
    hist_distance,
    histogram,
    histograms,
    median,
    phase_moves,
    profile_moves,
    profiles,
    shapes,
    shift_residuals,
    shrink,
    zoom_residuals,
)
from videorecog.analysis.slides import LOOSE_TRAVEL, runs

__all__ = [
    "AdaptiveShotDetector",
    "CutGate",
    "Scan",
    "hist_distance",
    "histogram",
    "may_hide_cut",
]

CHUNK = 128  # frames measured together
# A zoom's steps are alike: the structure change beside a step of one is at least this share of
# its own (``AdaptiveShotDetector._zooming``).
ZOOM_STEPS_ALIKE = 0.5


def repeated(
    steps: FloatArray, usable: npt.NDArray[np.bool_], params: DetectorParams
) -> npt.NDArray[np.bool_]:
    """Which frames of each centre's window (``steps``: centres x frames x 3, the frames in
    order, ``usable``: centres x frames) repeat the picture before them, as a conversion to a
    higher frame rate does: their pixel and structure changes both under ``repeat_share`` of
    the window's upper quartile (or of the noise floor where that is higher: in a still shot,
    nothing is a repeat but what changed by next to nothing), next to a frame that did change.
    A repeat is relative to the video's own changes: re-encoded repeats are no exact copies, and
    how small their changes come out depends on how the pictures were scaled. A still stretch
    beside a moving one is no run of repeats: only its frame next to the motion counts as one."""
    changes = np.where(usable[..., None], steps[..., 1:], np.inf)
    ordered = np.sort(changes, axis=1)  # the frames left out last
    rank = np.maximum(0, 3 * (usable.sum(axis=1) - 1) // 4)
    upper = np.take_along_axis(ordered, rank[:, None, None], axis=1)[:, 0]
    floors = np.asarray(params.floors[1:], dtype=np.float32)
    bar = params.repeat_share * np.maximum(floors, np.where(np.isfinite(upper), upper, 0))
    tiny = (steps[..., 1] < bar[:, None, 0]) & (steps[..., 2] < bar[:, None, 1])
    changed = usable & ~tiny
    beside = np.zeros_like(changed)
    beside[:, 1:] |= changed[:, :-1]
    beside[:, :-1] |= changed[:, 1:]
    return tiny & beside


def standout(change: FloatArray, baseline: FloatArray, params: DetectorParams) -> FloatArray:
    """How many times ``baseline`` (plus the noise floors) each change is, the geometric mean over
    the three signals (last axis)."""
    floors = np.asarray(params.floors, dtype=np.float32)
    return np.asarray(np.cbrt(np.prod(change / (baseline + floors), axis=-1)), dtype=np.float32)


@dataclass
class _Pictures:
    """Measures of consecutive frames ``first``, ``first + 1``, ...: what the tests need."""

    first: int
    hist: FloatArray  # N x bins
    luma: Image  # N x H x W, 8-bit
    grid: Image  # N x blocks x pixels: the 8-bit luma cut into blocks (``signals.blocks``)
    units: FloatArray  # N x blocks x pixels: each block's luma less its mean, length 1
    flat: npt.NDArray[np.bool_]  # N x blocks: blocks without structure
    block_contrast: FloatArray  # N x blocks
    contrast: FloatArray  # N
    steps: FloatArray  # N x 3: histogram, pixel, structure change from the previous frame
    # N x 3: the change over a context (``DetectorParams.context`` frames) ending at each frame,
    # zeros for the first frames: the gradual tests' contexts, measured once for both windows.
    spans: FloatArray
    rows: FloatArray  # N x H: each picture's row sums (``signals.profiles``)
    columns: FloatArray  # N x W: ...and column sums
    # N x 2: how far each picture moved from the one ``slide_step`` before, down and across,
    # estimated from those (``signals.profile_moves``); zeros for the first frames.
    moves: FloatArray

    @classmethod
    def measure(cls, first: int, images: Image, params: DetectorParams) -> _Pictures:
        """The pictures' own measures; their changes are left at zero (``measure_changes``)."""
        luma = images[:, 0]
        as_float = luma.astype(np.float32)
        units, block_contrast, contrast = shapes(as_float)
        rows, columns = profiles(as_float)
        grid = blocks(luma)
        hist = histograms(images, params.histogram_bins)
        flat = block_contrast < FLAT_CONTRAST
        steps, spans = (np.zeros((len(images), 3), dtype=np.float32) for _ in range(2))
        moves = np.zeros((len(images), 2), dtype=np.float32)
        return cls(
            first, hist, luma, grid, units, flat, block_contrast, contrast, steps, spans,
            rows, columns, moves,
        )  # fmt: skip

    def measure_changes(self, start: int, context: int, step: int) -> None:
        """``steps``, ``spans`` and ``moves`` of frames ``start``.. that have the frames they
        need here (one call each for a whole chunk: each call has a cost of its own)."""
        for gap, measured in ((1, self.steps), (context, self.spans)):
            low = max(start, self.first + gap)
            if low < self.end:
                ends = np.arange(low, self.end)
                measured[low - self.first :] = self.changes(ends - gap, ends)
        low = max(start, self.first + step) - self.first
        if low < len(self.moves):
            self.moves[low:, 0] = profile_moves(self.rows[low - step :], step)
            self.moves[low:, 1] = profile_moves(self.columns[low - step :], step)

    @property
    def end(self) -> int:
        return self.first + len(self.hist)

    def changes(self, a: Iterable[int] | np.ndarray, b: Iterable[int] | np.ndarray) -> FloatArray:
        """N x 3 changes from frames ``a`` to frames ``b`` (frame numbers)."""
        return self.changes_to(self, a, b)

    def changes_to(
        self, other: _Pictures, a: Iterable[int] | np.ndarray, b: Iterable[int] | np.ndarray
    ) -> FloatArray:
        """N x 3 changes from these pictures' frames ``a`` to ``other``'s frames ``b``."""
        i = _rows(np.asarray(a, dtype=np.int64) - self.first)
        j = _rows(np.asarray(b, dtype=np.int64) - other.first)
        hist = np.abs(other.hist[j] - self.hist[i]).sum(axis=1) / 6.0
        pixel, structure = changes(
            self.grid[i],
            self.units[i],
            self.flat[i],
            self.contrast[i],
            other.grid[j],
            other.units[j],
            other.flat[j],
            other.contrast[j],
        )
        return np.stack([hist, pixel, structure], axis=1).astype(np.float32)

    def extend(self, images: Image, params: DetectorParams, keep_from: int) -> _Pictures:
        """These pictures from ``keep_from`` on, then ``images`` (the frames that follow)."""
        new = _Pictures.measure(self.end, images, params)
        start = keep_from - self.first
        joined = _Pictures(
            keep_from,
            np.concatenate([self.hist[start:], new.hist]),
            np.concatenate([self.luma[start:], new.luma]),
            np.concatenate([self.grid[start:], new.grid]),
            np.concatenate([self.units[start:], new.units]),
            np.concatenate([self.flat[start:], new.flat]),
            np.concatenate([self.block_contrast[start:], new.block_contrast]),
            np.concatenate([self.contrast[start:], new.contrast]),
            np.concatenate([self.steps[start:], new.steps]),
            np.concatenate([self.spans[start:], new.spans]),
            np.concatenate([self.rows[start:], new.rows]),
            np.concatenate([self.columns[start:], new.columns]),
            np.concatenate([self.moves[start:], new.moves]),
        )
        joined.measure_changes(self.end, params.context, params.slide_step)
        return joined

    def hist_of(self, frame: int) -> FloatArray:
        return np.asarray(self.hist[frame - self.first], dtype=np.float32)

    def luma_of(self, frame: int) -> FloatArray:
        return np.asarray(self.luma[frame - self.first], dtype=np.float32)


def _rows(index: npt.NDArray[np.int64]) -> slice | npt.NDArray[np.int64]:
    """``index`` as a slice where it is a run of consecutive rows: reading through a view
    copies nothing, and most reads (each frame against the previous one, a window's ends) are
    such runs."""
    if len(index) and index[-1] - index[0] == len(index) - 1 and (np.diff(index) == 1).all():
        return slice(int(index[0]), int(index[-1]) + 1)
    return index


def _across(pictures: _Pictures, frames: npt.NDArray[np.int64]) -> tuple[FloatArray, FloatArray]:
    """The luma of the frame before each of ``frames`` and of the frame itself (the two sides
    of a cut candidate), in floating point."""
    rows = frames - pictures.first
    before, after = (pictures.luma[k].astype(np.float32) for k in (rows - 1, rows))
    return before, after


def _chunks(frames: Iterable[Frame]) -> Iterator[Image]:
    iterator = iter(frames)
    while batch := list(itertools.islice(iterator, CHUNK)):
        yield np.stack([f.image for f in batch])


@dataclass
class _Scale:
    """One window size of the gradual test, and the run of centres that passed it so far."""

    window: int  # W
    reach: int  # W + C: frames needed on either side of a centre
    next: int = -1  # the next centre to test
    first: int = -1  # the run: first and last centre, and the largest change seen
    last: int = -1
    peak: float = 0.0

    def __post_init__(self) -> None:
        self.next = self.reach


@dataclass(frozen=True)
class Scan:
    """What the pass over the frames found (``AdaptiveShotDetector.scan``), frames numbered from
    the first frame scanned; ``finish`` turns it into boundaries. Scans of consecutive stretches
    of one video join with ``Scan.join``."""

    found: list[Boundary]  # cuts and gradual transitions, before fades and merging
    means: FloatArray  # each frame's mean luma
    contrasts: FloatArray  # each frame's contrast
    # Each frame's contrast in each block of the ``signals.GRID`` grid (N x blocks, half
    # precision): whether a picture flattens all over, as into a dip to colour, or part by part,
    # as a pan onto a wall.
    block_contrasts: npt.NDArray[np.float16]

    def part(self, first: int, start: int, end: int) -> Scan:
        """This scan of frames ``first``.. of a video, cut down to frames ``start``..``end - 1``:
        the detections there (by their frame) and those frames' measures, numbered in the
        video."""
        found = [
            dataclasses.replace(
                b, frame=b.frame + first, span=(b.span[0] + first, b.span[1] + first)
            )
            for b in self.found
            if start <= b.frame + first < end
        ]
        return Scan(
            found,
            self.means[start - first : end - first],
            self.contrasts[start - first : end - first],
            self.block_contrasts[start - first : end - first],
        )

    @staticmethod
    def join(parts: Sequence[Scan]) -> Scan:
        """Scans of consecutive stretches (``part``) as one scan of them all."""
        return Scan(
            [b for part in parts for b in part.found],
            np.concatenate([part.means for part in parts]),
            np.concatenate([part.contrasts for part in parts]),
            np.concatenate([part.block_contrasts for part in parts]),
        )


@dataclass
class AdaptiveShotDetector:
    """The default detector (see the module docstring)."""

    params: DetectorParams = field(default_factory=DetectorParams)
    # When given, each ``detect`` fills it with every frame's cut score, the standout that the cut
    # test holds against ``cut_standout`` (frame 0: 0), for pictures of the detection signal. It is
    # one more number a frame, so it is kept only when asked for.
    scores: array[float] | None = None

    def detect(self, frames: Iterable[Frame], fps: float) -> list[Boundary]:
        return self.finish(self.scan(frames), fps)

    def scan(self, frames: Iterable[Frame]) -> Scan:
        """The pass over the frames: every cut and gradual transition in frame order, and the
        luma and contrast of every frame for ``finish``."""
        p = self.params
        found: list[Boundary] = []
        # One gradual test per window size: a long dissolve fills a short window.
        scales = [_Scale(w, w + p.context) for w in p.gradual_windows]
        means: list[FloatArray] = []
        contrasts: list[FloatArray] = []
        block_contrasts: list[npt.NDArray[np.float16]] = []
        pictures: _Pictures | None = None
        next_cut = 1
        next_slide = 1  # the last frame of the next slide to look for
        # A slide is looked for once its calm after it has come, and needs its whole run and
        # the calm before it at hand.
        slide_reach = p.slide_reach
        if self.scores is not None:
            del self.scores[:]
            self.scores.append(0.0)
        for images in _chunks(frames):
            keep_from = max(
                0,
                min(
                    [next_cut - p.window - 1, next_slide - slide_reach]
                    + [s.next - s.reach for s in scales]
                ),
            )
            if pictures is None:
                pictures = _Pictures.measure(0, images, p)
                pictures.measure_changes(0, p.context, p.slide_step)
            else:
                pictures = pictures.extend(images, p, keep_from)
            means.append(pictures.luma[-len(images) :].astype(np.float32).mean(axis=(1, 2)))
            contrasts.append(pictures.contrast[-len(images) :])
            block_contrasts.append(pictures.block_contrast[-len(images) :].astype(np.float16))
            ready = pictures.end - 1 - p.window  # the last centre with a full window after it
            found += self._cuts(pictures, range(next_cut, ready + 1))
            next_cut = max(next_cut, ready + 1)
            for scale in scales:
                last = pictures.end - 1 - scale.reach
                self._gradual(pictures, scale, range(scale.next, last + 1), found)
                scale.next = max(scale.next, last + 1)
            calm = pictures.end - p.slide_still
            found += self._slides(pictures, range(next_slide, calm))
            next_slide = max(next_slide, calm)
        if pictures is None:
            nothing = np.zeros(0, np.float32)
            return Scan([], nothing, nothing, np.zeros((0, GRID * GRID), np.float16))
        # The last frames never sit in the middle of a full window: test them for cuts with what
        # is left.
        found += self._cuts(pictures, range(next_cut, pictures.end))
        for scale in scales:
            self._close(scale, found)
        return Scan(
            found,
            np.concatenate(means),
            np.concatenate(contrasts),
            np.concatenate(block_contrasts),
        )

    def finish(self, scan: Scan, fps: float) -> list[Boundary]:
        """The boundaries: fades found from the whole video's luma, what lies inside them
        dropped, and detections close together merged."""
        gradual = [b for b in scan.found if b.kind == "gradual"]
        finder = FadeFinder(self.params)
        fades, plain_runs = finder.fades(scan.means, scan.contrasts, fps, gradual)
        cuts = {b.frame for b in scan.found if b.kind == "cut"}
        fades += finder.dips(
            scan.means, scan.contrasts, scan.block_contrasts, fps, plain_runs, cuts
        )
        # Inside a fade nothing else is a boundary: the steep part of a fast fade, or its
        # first or last frame, looks like a cut. A plain run's own first frame may still be a cut
        # into it that the fade test did not see (too small a step).
        spans = [(f.span[0] - 1, f.span[1] + 1) for f in fades] + plain_runs
        kept = [
            b
            for b in scan.found
            if not any(
                (lo < b.frame <= hi) if b.kind == "cut" else (b.span[0] <= hi and b.span[1] >= lo)
                for lo, hi in spans
            )
        ]
        ordered = self._merge_gradual(sorted(kept, key=lambda b: b.frame))
        return self._merge_close(sorted(ordered + fades, key=lambda b: b.frame))

    def _cuts(self, pictures: _Pictures, centres: range) -> list[Boundary]:
        p = self.params
        if not centres:
            return []
        t = np.asarray(centres, dtype=np.int64)
        window = t[:, None] + np.arange(-p.window, p.window + 1)  # the centre in the middle
        # Frame 0 has no change of its own, and the last frames have fewer neighbours.
        usable = (window >= max(1, pictures.first + 1)) & (window < pictures.end)
        steps = pictures.steps[np.clip(window, pictures.first, pictures.end - 1) - pictures.first]
        neighbours = np.r_[0 : p.window, p.window + 1 : 2 * p.window + 1]  # the centre left out
        usable = self._changed_where_many(steps, usable, neighbours)
        steps = steps[:, neighbours]
        # centres x signals x neighbours, the neighbours left out NaN (sorted last by ``median``)
        steps = np.where(usable[..., None], steps, np.nan).transpose(0, 2, 1)
        if usable.all():
            baseline = median(steps)
        else:
            counts = np.broadcast_to(usable.sum(axis=1)[:, None], steps.shape[:2])
            baseline = median(steps, counts)
        here = pictures.steps[t - pictures.first]
        jumps = standout(here, baseline, p)
        if self.scores is not None:  # centres come in order, each frame once
            self.scores.extend(jumps.tolist())
        # A change of brightness alone (a flash fading, a light switched on) is no cut: the
        # structure must change more than around it too.
        floor = p.floors[2]
        reshaped = here[:, 2] / (baseline[:, 2] + floor) >= p.cut_structure_min
        standing = (jumps >= p.cut_standout) & reshaped
        # In a moving shot the structure changes from frame to frame too: there, that no global
        # shift explains the change, brightness aside, is the test of structure.
        moving = np.flatnonzero(~standing & (jumps >= p.moving_cut_standout))
        if len(moving):
            standing[moving[self._cut_in_motion(pictures, t[moving])]] = True
        # The tests after the standout, each for all of the chunk's candidates at once.
        candidates = np.flatnonzero(standing)
        if not len(candidates):
            return []
        candidates = candidates[
            ~self._returns(pictures, t[candidates], baseline[candidates], jumps[candidates])
        ]
        candidates = candidates[~self._moved(pictures, t[candidates])]
        candidates = candidates[~self._zooming(pictures, t[candidates])]
        candidates = candidates[~self._relit(pictures, t[candidates])]
        return [
            Boundary(int(t[k]), "cut", float(here[k, 0]), (int(t[k]), int(t[k])))
            for k in candidates
        ]

    def _changed_where_many(
        self,
        steps: FloatArray,
        usable: npt.NDArray[np.bool_],
        neighbours: npt.NDArray[np.intp],
    ) -> npt.NDArray[np.bool_]:
        """The neighbours whose changes make a centre's baseline (``usable``: centres x
        window, ``steps`` their changes, ``neighbours`` the window's columns other than the
        centre's): those that are no repeat, where at least ``changed_share`` of them are not.
        A video whose frame rate was raised by repeating pictures (25 frames/s shown at 50 or
        60) repeats half its frames or more: with the repeats counted, the median neighbour did
        not change at all and every new picture stood out as a cut. Elsewhere, a still shot
        among them, all count. Returns centres x neighbours."""
        p = self.params
        changed = (usable & ~repeated(steps, usable, p))[:, neighbours]
        wanted = np.ceil(p.changed_share * usable[:, neighbours].sum(axis=1))
        many = changed.sum(axis=1) >= wanted
        return np.where(many[:, None], changed, usable[:, neighbours])

    def _returns(
        self,
        pictures: _Pictures,
        frames: npt.NDArray[np.int64],
        baselines: FloatArray,
        jumps: FloatArray,
    ) -> npt.NDArray[np.bool_]:
        """Which of the cuts at ``frames`` are a flash (or a corrupt frame), jumping away and
        back: a picture after the jump whose change from one before it, at most
        ``flash_frames + 1`` frames earlier, stands out less than half the jump does and less
        than a cut would over that many frames (``cut_standout`` times the square root of the
        gap: a moving shot drifts further over more frames)."""
        p = self.params
        f = p.flash_frames
        pairs = [(b, a) for b in range(-1 - f, 0) for a in range(f + 1) if a - b <= f + 1]
        pairs.remove((-1, 0))  # the jump itself
        offsets = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)  # none when flash_frames is 0
        before = frames[:, None] + offsets[:, 0]
        after = frames[:, None] + offsets[:, 1]
        cut, pair = np.nonzero((before >= pictures.first) & (after < pictures.end))
        before, after = before[cut, pair], after[cut, pair]
        back = standout(pictures.changes(before, after), baselines[cut], p)
        # In double precision, as the jump's own test is.
        bar = np.minimum(
            p.flash_similarity * jumps.astype(np.float64)[cut],
            p.cut_standout * np.sqrt(after - before),
        )
        returned = np.zeros(len(frames), dtype=bool)
        returned[cut[back < bar]] = True
        return returned

    def _cut_in_motion(
        self, pictures: _Pictures, frames: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.bool_]:
        """Which of ``frames`` (not cuts by the plain test) change in a way no global shift
        explains, in a shot whose other changes are shifts: a cut in a moving shot. Pictures are
        compared less their means, so that a change of brightness during a pan is no cut. The
        whole neighbourhood is measured only where the frame itself and the one before or after
        it pass (a few frames a video)."""
        p = self.params
        luma = pictures.luma
        rows = frames - pictures.first

        def residuals(ends: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
            starts, stops = (
                # Each picture's mean as for that picture alone: a pair's answer must not depend
                # on the pictures measured with it (a stretch's chunks are not a single pass's).
                np.stack([picture - picture.mean() for picture in luma[k].astype(np.float32)])
                for k in (ends - 1, ends)
            )
            return shift_residuals(starts, stops)

        # Rows of each frame, the one before it and the one after it. Frame 1 has no change
        # before it: its own stands in, and cannot pass as a shift since ``moving_cut_residual``
        # is above ``jolt_residual_max``; the last frame kept stands in for a next one likewise.
        near = np.stack([rows, np.maximum(rows - 1, 1), np.minimum(rows + 1, len(luma) - 1)], 1)
        own, before, after = residuals(near.ravel()).reshape(-1, 3).T
        cut = (own >= p.moving_cut_residual) & (np.minimum(before, after) < p.jolt_residual_max)
        for k in np.flatnonzero(cut):
            row = int(rows[k])
            around = np.r_[
                max(1, row - p.window) : row, row + 1 : min(len(luma), row + p.window + 1)
            ]
            cut[k] = float(np.median(residuals(around))) < p.jolt_residual_max
        return cut

    def _relit(self, pictures: _Pictures, frames: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Which of the cuts at ``frames`` keep the picture's edges where they were: a change of
        light (a lamp switched on, a strobe, a colour wash) or a jump within one shot."""
        return np.asarray(
            edge_agreement(*_across(pictures, frames)) > self.params.edge_agreement_max
        )

    def _moved(self, pictures: _Pictures, frames: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Which of the cuts at ``frames`` are a jolt of the camera: one global shift explains
        the change (a cut leaves most of it)."""
        residuals = shift_residuals(*_across(pictures, frames))
        return np.asarray(residuals < self.params.jolt_residual_max)

    def _zooming(self, pictures: _Pictures, frames: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Which of the cuts at ``frames`` are a step of a fast zoom (or roll): a zoom explains
        the change (``zoom_residuals``, under ``jolt_residual_max``), and the change before or
        after it too. A cut to a closer or wider view of the same picture has no zoom on
        either side of it: it stands. The sides are measured only where the frame's own change
        is a zoom (hardly ever, at a cut), and that only where the structure changed by half as
        much or more beside it: a zoom's steps are alike, and the test costs a few milliseconds
        a frame."""
        limit = self.params.jolt_residual_max
        first, end = pictures.first, pictures.end
        structure = pictures.steps[:, 2]
        rows = frames - first
        beside = np.maximum(
            structure[np.maximum(rows - 1, 0)], structure[np.minimum(rows + 1, end - first - 1)]
        )
        alike = beside >= ZOOM_STEPS_ALIKE * structure[rows]

        def zooms(at: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
            return np.asarray(zoom_residuals(*_across(pictures, at)) < limit)

        zooming = np.zeros(len(frames), dtype=bool)
        if alike.any():
            zooming[alike] = zooms(frames[alike])
        if zooming.any():
            near = frames[zooming]
            # The first frame kept has no change before it, nor the last one after it.
            sides = np.concatenate([near - 1, near + 1])
            there = (sides > first) & (sides < end)
            side_zooms = np.zeros(len(sides), dtype=bool)
            if there.any():
                side_zooms[there] = zooms(sides[there])
            zooming[zooming] = side_zooms.reshape(2, -1).any(axis=0)
        return zooming

    def _gradual(
        self, pictures: _Pictures, run: _Scale, centres: range, found: list[Boundary]
    ) -> None:
        p = self.params
        if not centres:
            return
        w, c = run.window, p.context
        t = np.asarray(centres, dtype=np.int64)
        # The mean histograms of the contexts beside the window (below): cheap, from running sums.
        first = pictures.first
        cumulative = np.concatenate(
            [np.zeros((1, pictures.hist.shape[1])), np.cumsum(pictures.hist, axis=0)]
        )
        before = (cumulative[t - w + 1 - first] - cumulative[t - w - c - first]) / (c + 1)
        after = (cumulative[t + w + c + 1 - first] - cumulative[t + w - first]) / (c + 1)
        distance = np.abs(before - after).sum(axis=1) / 6.0
        # In a moving shot pixels and structure drift further the longer the span: over a long
        # window they stand out from the short contexts anywhere, so there they only corroborate
        # the contexts' mean histograms -- and are measured only where those differ enough.
        short = w == p.window
        tested = np.ones(len(t), dtype=bool) if short else distance >= p.gradual_min
        # The change across the window against the changes inside each context beside it.
        across = np.zeros((len(t), 3), dtype=np.float32)
        rise = np.zeros(len(t), dtype=np.float32)
        if tested.any():
            u = t[tested]
            across[tested] = pictures.changes(u - w, u + w)
            # The contexts' own changes: t-W-C to t-W and t+W to t+W+C.
            contexts = np.maximum(pictures.spans[u - w - first], pictures.spans[u + w + c - first])
            rise[tested] = standout(across[tested], contexts, p)
        alone = rise >= p.gradual_standout if short else np.zeros(len(t), dtype=bool)
        # ...or, robust to motion inside the shots, the mean histograms of the contexts differ
        # more than any of their frames differs from its own context's mean.
        passed = alone.copy()
        maybe = np.flatnonzero(
            ~alone & (rise >= p.gradual_corroboration) & (distance >= p.gradual_min)
        )
        if len(maybe):
            # Each context's frames: C + 1 of them, from t-W-C and from t+W.
            frames = np.arange(c + 1)
            lo = (t[maybe] - w - c - first)[:, None] + frames
            hi = (t[maybe] + w - first)[:, None] + frames
            farthest = (
                np.maximum(
                    np.abs(pictures.hist[lo] - before[maybe][:, None]).sum(axis=2).max(axis=1),
                    np.abs(pictures.hist[hi] - after[maybe][:, None]).sum(axis=2).max(axis=1),
                )
                / 6.0
            )
            passed[maybe] = distance[maybe] >= p.context_ratio * farthest
        # Spread out: the change across the window over its largest single step (cheap, for all
        # at once, before the tests of one centre at a time).
        candidates = np.flatnonzero(passed)
        if len(candidates):
            steps = pictures.steps[(t[candidates] - w + 1 - first)[:, None] + np.arange(2 * w)]
            spread = standout(across[candidates], steps.max(axis=1), p)
            passed[candidates] = spread >= p.gradual_ratio
        candidates = np.flatnonzero(passed)
        if len(candidates):
            passed[candidates] = self._transitions_at(pictures, t[candidates], w)
        # The run goes on through consecutive centres that passed (from the last chunk too) and
        # ends at the first that did not.
        for k in np.flatnonzero(passed):
            frame = centres[k]
            if run.first >= 0 and frame != run.last + 1:
                self._close(run, found, pictures)
            if run.first < 0:
                run.first = frame
            run.last = frame
            run.peak = max(run.peak, float(rise[k]))
        if run.first >= 0 and run.last != centres[-1]:
            self._close(run, found, pictures)

    def _transitions_at(
        self, pictures: _Pictures, centres: npt.NDArray[np.int64], w: int
    ) -> npt.NDArray[np.bool_]:
        """The tests of centres whose change is spread out over their window: a blend, and no
        camera motion (the motion tests of all the centres in one call: the transforms of a
        few small pictures cost their calls, not their arithmetic)."""
        p = self.params
        blended = np.array(
            [
                blend_residual(
                    shrink(pictures.luma_of(centre), 4),
                    shrink(pictures.luma_of(centre - w), 4),
                    shrink(pictures.luma_of(centre + w), 4),
                )
                <= p.blend_residual_max
                for centre in centres.tolist()
            ],
            dtype=bool,
        )
        # Over half the shortest window, whichever window is tested, where a dissolve changes
        # plenty, and over two frames, where a faster pan still moves less than the search range
        # (over half the long window a pan of 2 pixels a frame in 64 moved out of it: no shift
        # explained it, and it passed for a dissolve).
        rows = centres[blended] - pictures.first
        if len(rows):
            spans = np.asarray([max(1, min(p.gradual_windows) // 2), 1])[:, None]
            starts, ends = ((rows + sign * spans).ravel() for sign in (-1, 1))
            residuals = shift_residuals(
                pictures.luma[starts].astype(np.float32), pictures.luma[ends].astype(np.float32)
            )
            blended[blended] = (residuals.reshape(len(spans), -1) > p.motion_residual_max).all(0)
        return blended

    def _slides(self, pictures: _Pictures, lasts: range) -> list[Boundary]:
        """The slides (``slides.py``) whose last moved frame is one of ``lasts``: found on the
        pictures' row and column sums, then measured again on the whole pictures."""
        p = self.params
        first, contrast = pictures.first, pictures.contrast
        size = (pictures.luma.shape[1], pictures.luma.shape[2])
        found = []
        for rough in runs(pictures.moves, first, size, p, LOOSE_TRAVEL, lasts):
            # The run and its calm either side, each frame's move from the one ``slide_step``
            # before it.
            step = p.slide_step
            lo = max(first, rough.first - p.slide_still - p.slide_read - (step - 1))
            hi = min(pictures.end, rough.last + p.slide_still + p.slide_read)
            luma = pictures.luma[lo - first : hi - first].astype(np.float32)
            moves = np.concatenate(
                [np.zeros((step, 2), np.float32), phase_moves(luma[:-step], luma[step:])]
            )
            for run in runs(moves, lo, size, p, p.slide_travel, steady=p.slide_steady):
                same = run.first <= rough.last and run.last >= rough.first
                # A move onto a blank wall, or off one, pushes no picture out with another:
                # every frame of the run and its calm shows something.
                calm = p.slide_still
                shown = contrast[run.first - calm - first : run.last + calm + 1 - first]
                if same and shown.min() >= p.dark_contrast:
                    span = (run.first, run.last - 1)
                    found.append(Boundary((run.first + run.last) // 2, "gradual", run.travel, span))
        return found

    def _close(self, run: _Scale, found: list[Boundary], pictures: _Pictures | None = None) -> None:
        if run.first >= 0 and run.last - run.first + 1 >= self.params.min_run:
            # Centre t passes while frames t-W and t+W bracket the transition: from (its last
            # frame - W) to (its first frame + W), fewer than 2W centres. So it spans about
            # last-W .. first+W. A longer run is a transition longer than the window, passing
            # while the window lies inside it: it spans first-W .. last+W at least (read the
            # other way, its span would be a frame or two in its middle, and the part of the
            # dissolve a broken run found before it would not join it).
            w = run.window
            short = run.last - run.first < 2 * w
            span = (run.last - w, run.first + w) if short else (run.first - w, run.last + w)
            boundary = Boundary((run.first + run.last + 1) // 2, "gradual", run.peak, span, w)
            previous = self._continued(boundary, found, pictures)
            if previous is None:
                found.append(boundary)
            else:
                span = (previous.span[0], boundary.span[1])
                found[found.index(previous)] = Boundary(
                    (span[0] + span[1]) // 2,
                    "gradual",
                    max(previous.score, boundary.score),
                    span,
                    run.window,
                )
        run.first, run.last, run.peak = -1, -1, 0.0

    def _continued(
        self, boundary: Boundary, found: list[Boundary], pictures: _Pictures | None
    ) -> Boundary | None:
        """The transition just before ``boundary`` (same window) if both are one long
        transition whose run broke: they are at most C frames apart and the frames between them
        are still a blend of the first one's start and this one's end. Between two transitions
        with a shot between them, that shot's pictures are no blend of the shots either side."""
        previous = next(
            (b for b in reversed(found) if b.kind == "gradual" and b.window == boundary.window),
            None,
        )
        if previous is None or pictures is None:
            return None
        gap = boundary.span[0] - previous.span[1]
        start, end = previous.span[0], boundary.span[1]
        if not 0 < gap <= self.params.context or start < pictures.first or end >= pictures.end:
            return None
        middle = (previous.span[1] + boundary.span[0]) // 2
        residual = blend_residual(
            shrink(pictures.luma_of(middle), 4),
            shrink(pictures.luma_of(start), 4),
            shrink(pictures.luma_of(end), 4),
        )
        return previous if residual <= self.params.blend_residual_max else None

    @staticmethod
    def _merge_gradual(boundaries: list[Boundary]) -> list[Boundary]:
        """Each transition once. The shortest window places a transition best: a longer one's
        detection that holds the midpoint of a shorter one's is the same transition seen
        coarsely (or, where shots between dissolves are short, several of them smeared into
        one), and is dropped. What is left and still overlaps or touches -- a run that broke in
        the middle: no frame of a shot lies between them -- is one boundary, at the median of the
        midpoints. A cut between two such detections that lies inside both is the transition's
        steepest frame (``_inside``): the three are one boundary, at the cut."""
        gradual = [b for b in boundaries if b.kind == "gradual"]
        kept = [
            b
            for b in boundaries
            if b.kind != "gradual"
            or not any(o.window < b.window and b.span[0] <= o.frame <= b.span[1] for o in gradual)
        ]
        groups: list[list[Boundary]] = []
        steepest: dict[int, list[int]] = {}  # by group: the cuts it took in, where it is reported
        for b in kept:
            last = groups[-1] if groups else None
            if (
                last is not None
                and b.kind == last[-1].kind == "gradual"
                and b.span[0] <= max(g.span[1] for g in last) + 1
            ):
                last.append(b)
                continue
            cuts = list(itertools.takewhile(lambda g: g[0].kind == "cut", reversed(groups)))
            before = len(groups) - len(cuts) - 1
            if (
                b.kind == "gradual"
                and cuts
                and before >= 0
                and AdaptiveShotDetector._inside([c[0] for c in cuts], groups[before][-1], b)
            ):
                del groups[before + 1 :]
                groups[before].append(b)
                steepest.setdefault(before, []).extend(c[0].frame for c in cuts)
                continue
            groups.append([b])
        return [
            Boundary(
                int(np.median(steepest.get(k, [g.frame for g in group]))),
                group[0].kind,
                max(g.score for g in group),
                (min(g.span[0] for g in group), max(g.span[1] for g in group)),
                min(g.window for g in group),
            )
            for k, group in enumerate(groups)
        ]

    @staticmethod
    def _inside(cuts: list[Boundary], before: Boundary, after: Boundary) -> bool:
        """Whether ``cuts`` lie inside both gradual detections, ``before`` and ``after`` them,
        whose spans overlap or touch, each the frames that every window of its run held
        (a run shorter than its window spans what all its windows share, ``_close``). Every
        window that passed then held the cut, and passed the spread-out test with it
        (``gradual_ratio``): the cut is a step of the transition, its steepest, not a cut of its
        own. A short wipe or blur is seen that way, a cut with a gradual detection either side."""
        return (
            after.span[0] <= before.span[1] + 1
            and all(d.span[1] - d.span[0] < 2 * d.window for d in (before, after))
            and all(
                max(before.span[0], after.span[0]) <= c.frame <= min(before.span[1], after.span[1])
                for c in cuts
            )
        )

    def _merge_close(self, boundaries: list[Boundary]) -> list[Boundary]:
        """Detections within ``merge_frames`` of each other are one boundary: a cut rather than
        a gradual transition, else the stronger."""
        kept: list[Boundary] = []
        for b in boundaries:
            if b.frame <= 0:
                continue
            if kept and b.frame - kept[-1].frame <= self.params.merge_frames:
                last = kept[-1]
                if (b.kind == "cut", b.score) > (last.kind == "cut", last.score):
                    kept[-1] = b
                continue
            kept.append(b)
        return kept


class CutGate:
    """Whether the frames between ``before`` and ``after``, decoded pictures a few frames apart,
    must be seen one by one: the change between the two stands out (``survey_standout``, below
    the cut test's own bar) from the changes between the decoded pictures either side,
    ``previous`` to ``before`` and ``after`` to ``following``. For anything else -- motion,
    transitions, which keep changing from one decoded picture to the next -- a blend of the two
    stands in. Each decoded picture comes up to three times in a row: the last few measures are
    kept."""

    def __init__(self, params: DetectorParams) -> None:
        self.params = params
        self._measured: collections.deque[tuple[Image, _Pictures]] = collections.deque(maxlen=4)

    def _measure(self, image: Image) -> _Pictures:
        for known, measured in self._measured:
            if known is image:
                return measured
        measured = _Pictures.measure(0, image[None], self.params)
        self._measured.append((image, measured))
        return measured

    def _change(self, a: Image, b: Image) -> FloatArray:
        change: FloatArray = self._measure(a).changes_to(self._measure(b), [0], [0])[0]
        return change

    def __call__(
        self, previous: Image | None, before: Image, after: Image, following: Image | None
    ) -> bool:
        change = self._change(before, after)
        bar = self.params.survey_standout
        nothing = np.zeros(3, dtype=np.float32)
        if float(standout(change, nothing, self.params)) < bar:
            return False  # too small to be a cut even in a still shot
        around = [
            self._change(previous, before) if previous is not None else nothing,
            self._change(after, following) if following is not None else nothing,
        ]
        return float(standout(change, np.maximum(*around), self.params)) >= bar


def may_hide_cut(
    previous: Image | None,
    before: Image,
    after: Image,
    following: Image | None,
    params: DetectorParams,
) -> bool:
    """``CutGate``'s answer for one gap (nothing kept between calls)."""
    return CutGate(params)(previous, before, after, following)
