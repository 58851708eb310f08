"""Shot boundary detection: hard cuts and gradual transitions, streaming, in bounded memory.

Signals, per frame, from a small YUV image, each a change from the previous frame:
- ``step``: the L1 distance of normalised Y/U/V histograms; ~0 for the same content (even
  moving), approaching 1 for unrelated pictures -- blind to cuts between shots of one palette.
- ``pixel_step``: the mean absolute luma change over the pictures' own contrast (luma standard
  deviation), so a dark or washed-out video changes as much at a cut as a crisp one.
- ``structure_step``: one minus the correlation of the two luma planes: blind to brightness and
  contrast, high when the layout of the picture changes.

Hard cut at frame t: the three changes at t stand out from those of the frames around it (the
geometric mean of each change over the median of its ``window`` neighbours on either side, plus
a noise floor, is at least ``cut_standout``). Every decision is relative to the video itself:
a busy, noisy or dark video raises its own baseline. A flash, a corrupt frame or a one-frame
glitch jumps away and comes back: a picture within ``flash_frames`` after the jump that
matches one before it (``flash_similarity``) cancels the cut.

Gradual transition centred at t: a one-way move between two steady appearances. The mean
histogram of the C frames before t-W and that of the C frames after t+W differ (``gradual_min``),
each context is coherent (every frame near its context's mean: ``context_ratio``), and no single
step between t-W and t+W is large (the change is spread out: ``gradual_ratio``). Dissolves, fades
and wipes pass; camera motion, however fast, wanders around one scene and fails the first two.
A run of such centres is one transition, reported at the run's midpoint.

Fade through black: a run of dark frames (mean luma under ``dark_luma``) entered and left by
luminance ramps. When the dark run is too short to be a shot of its own it is one transition,
reported at its centre; otherwise the fade-out and the fade-in are each a boundary (at their
ramps' midpoints, or at the dark run's edges when the ramp is a hard cut). Other detections inside
a fade are dropped: the steep middle of a fast fade looks like a cut to the histogram.

There is no minimum shot length: a shot of a few frames between two cuts is kept. Only
detections within ``merge_frames`` of each other are one boundary (the stronger, a cut before a
gradual transition).
Per-frame scalars (mean luma) are kept for the whole video: a few bytes a frame; images only ever
for the last ``2(W+C)+1`` frames.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from videorecog.analysis.decode import Frame, Image

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Boundary:
    frame: int  # first frame of the new shot (a gradual transition: its midpoint)
    kind: Literal["cut", "gradual"]
    score: float
    span: tuple[int, int]  # frames the transition covers (a cut: (frame, frame))


class ShotDetector(Protocol):
    def detect(self, frames: Iterable[Frame], fps: float) -> list[Boundary]:
        """Boundaries in frame order; frame 0 is never one (it starts the first shot)."""
        ...


@dataclass(frozen=True)
class DetectorParams:
    """Named defaults, tuned on the labelled clips and the synthetic benchmark set."""

    window: int = 8  # W: half-window of the adaptive threshold and of the gradual test
    # How many times its neighbours' median change a cut's change is (geometric mean over the
    # histogram, pixel and structure changes).
    cut_standout: float = 3.0
    # Noise floors added to the neighbours' median (a still shot changes by about nothing).
    hist_floor: float = 0.005
    pixel_floor: float = 0.02
    structure_floor: float = 0.005
    # The survey decodes skipped frames for real where their decoded neighbours' change stands
    # out this much: lower than ``cut_standout``, so no cut is blended away.
    survey_standout: float = 2.0
    flash_frames: int = 4  # a picture that returns within this many frames was a flash
    flash_similarity: float = (
        0.5  # "returns": a change that stands out under this share of the jump's
    )
    merge_frames: int = 2  # detections this close are one boundary
    context: int = 8  # C: frames averaged on each side for the gradual test
    gradual_min: float = 0.17  # distance between the before- and after-context mean histograms
    context_ratio: float = 1.5  # that distance over the largest frame-to-context-mean distance
    gradual_ratio: float = 2.5  # spread-out test: t-W vs t+W distance / largest single step
    # ...and frame t must be close to a blend of frames t-W and t+W (on luma shrunk 4x more, which
    # tolerates the slow motion inside a dissolve but not the displacement of a fast pan).
    blend_residual_max: float = 0.5
    min_run: int = 3  # a transition holds for at least this many consecutive centres
    # Camera motion, not a transition: one global shift explains most of the change between
    # frames t-W/2 and t+W/2 (residual after the best shift below this share of the raw change).
    motion_residual_max: float = 0.5
    dark_luma: float = 20.0  # mean luma (0..255) under which a frame is black
    ramp_min_rise: float = 25.0  # a fade ramp climbs at least this much mean luma
    ramp_max_frames: int = 60
    ramp_min_step: float = 0.3  # along a ramp mean luma rises at least this much per frame
    # A dark run shorter than this is the bottom of one fade, not a black shot of its own.
    min_dark_shot_seconds: float = 0.3
    histogram_bins: tuple[int, int, int] = (16, 8, 8)  # Y, U, V


# Luma levels added to a picture's contrast before dividing by it: a flat field is not infinitely
# sensitive to noise.
CONTRAST_FLOOR = 2.0


@dataclass(frozen=True)
class Shape:
    """What the pixel and structure changes need of one frame's luma, computed once."""

    luma: FloatArray
    unit: FloatArray  # luma less its mean, scaled to length 1 (all zeros for a flat picture)
    contrast: float  # luma standard deviation, 0..255

    @classmethod
    def of(cls, luma: FloatArray) -> Shape:
        centred = (luma - luma.mean()).ravel()
        norm = float(np.sqrt(centred @ centred))
        contrast = norm / np.sqrt(centred.size)
        unit = centred / norm if contrast >= 0.5 else np.zeros_like(centred)
        return cls(luma, unit, contrast)


def changes(a_hist: FloatArray, a: Shape, b_hist: FloatArray, b: Shape) -> Changes:
    """The histogram, pixel and structure changes from one picture to another."""
    pixel = float(np.abs(b.luma - a.luma).mean()) / (
        0.5 * (a.contrast + b.contrast) + CONTRAST_FLOOR
    )
    flat_a, flat_b = not a.unit.any(), not b.unit.any()
    structure = float(flat_a != flat_b) if flat_a or flat_b else 1.0 - float(a.unit @ b.unit)
    return Changes(hist_distance(a_hist, b_hist), pixel, structure)


@dataclass(frozen=True)
class Changes:
    hist: float
    pixel: float
    structure: float

    def standout(self, baseline: Changes, params: DetectorParams) -> float:
        """How many times ``baseline`` (plus the noise floors) this change is: the geometric
        mean over the three signals."""
        return float(
            np.cbrt(
                self.hist
                / (baseline.hist + params.hist_floor)
                * self.pixel
                / (baseline.pixel + params.pixel_floor)
                * self.structure
                / (baseline.structure + params.structure_floor)
            )
        )


def median_changes(steps: Sequence[Changes]) -> Changes:
    if not steps:
        return Changes(0.0, 0.0, 0.0)
    hist, pixel, structure = np.median(
        np.array([(c.hist, c.pixel, c.structure) for c in steps]), axis=0
    )
    return Changes(float(hist), float(pixel), float(structure))


@dataclass
class _Features:
    index: int
    hist: FloatArray
    luma: FloatArray
    # Sum of the histograms of every frame so far, this one included: the mean histogram of any
    # run of frames is then one subtraction (the gradual test takes two per frame).
    cumulative: npt.NDArray[np.float64]
    shape: Shape
    change: Changes = Changes(0.0, 0.0, 0.0)  # from the previous frame

    @property
    def step(self) -> float:
        """Histogram distance to the previous frame."""
        return self.change.hist

    context_distance: float = 0.0
    _coarse: FloatArray | None = None
    _spectrum: npt.NDArray[np.complex128] | None = None

    @property
    def coarse(self) -> FloatArray:
        """Luma shrunk 4x more, for the blend test (only frames near a transition need it)."""
        if self._coarse is None:
            self._coarse = shrink(self.luma, 4)
        return self._coarse

    @property
    def spectrum(self) -> npt.NDArray[np.complex128]:
        """The motion test compares each frame twice (as the earlier and as the later picture):
        its spectrum is computed once."""
        if self._spectrum is None:
            self._spectrum = spectrum(self.luma)
        return self._spectrum


def histogram(yuv: npt.NDArray[np.uint8], bins: tuple[int, int, int]) -> FloatArray:
    """Concatenated Y, U, V histograms, each normalised to sum 1 (planar input: 3 x H x W)."""
    shifts, offsets = _bin_layout(bins)
    # One bincount over all three planes: each plane's bin numbers moved past the previous ones
    # (still within uint8: the bins number at most 3 x 256 / 2).
    codes = (yuv.reshape(3, -1) >> shifts) + offsets
    counts = np.bincount(codes.ravel(), minlength=sum(bins))
    return (counts / (yuv.size // 3)).astype(np.float32)


@functools.cache
def _bin_layout(bins: tuple[int, int, int]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    if sum(bins) > 256:
        raise ValueError(f"at most 256 histogram bins in all, not {bins}")
    shifts = np.array([[8 - int(np.log2(n))] for n in bins], dtype=np.uint8)
    offsets = np.array([[0], [bins[0]], [bins[0] + bins[1]]], dtype=np.uint8)
    return shifts, offsets


def _mean_hist(first: _Features, last: _Features) -> FloatArray:
    """The mean histogram of the frames from ``first`` to ``last``, both included."""
    total = last.cumulative - first.cumulative + first.hist
    return (total / (last.index - first.index + 1)).astype(np.float32)


def _farthest(features: list[_Features], mean: FloatArray) -> float:
    """The largest ``hist_distance`` of any of ``features`` from ``mean``."""
    return float(np.abs(np.stack([f.hist for f in features]) - mean).sum(axis=1).max()) / 6.0


def _shift_residual(start: _Features, end: _Features) -> float:
    return shift_residual(start.luma, end.luma, spectra=(start.spectrum, end.spectrum))


def hist_distance(a: FloatArray, b: FloatArray) -> float:
    """Mean over Y, U, V of half the L1 distance: 0 (same) .. 1 (disjoint)."""
    return float(np.abs(a - b).sum() / 6.0)


def shrink(luma: FloatArray, factor: int) -> FloatArray:
    """Average ``factor`` x ``factor`` blocks."""
    h, w = (luma.shape[0] // factor) * factor, (luma.shape[1] // factor) * factor
    blocks = luma[:h, :w].reshape(h // factor, factor, w // factor, factor)
    return np.asarray(blocks.mean(axis=(1, 3)), dtype=np.float32)


def blend_residual(middle: FloatArray, start: FloatArray, end: FloatArray) -> float:
    """How far ``middle`` is from the best ``a*start + b*end``, relative to |end - start|;
    infinite when the best blend is not a plausible mix (weights far outside 0..1)."""
    basis = np.stack([start.ravel(), end.ravel()], axis=1)
    coeffs, *_ = np.linalg.lstsq(basis, middle.ravel(), rcond=None)
    if not all(-0.25 <= float(c) <= 1.25 for c in coeffs):
        return float("inf")
    residual = float(np.linalg.norm(middle.ravel() - basis @ coeffs))
    return residual / (float(np.linalg.norm(end - start)) + 1e-6)


def spectrum(luma: FloatArray) -> npt.NDArray[np.complex128]:
    """The 2-D spectrum of a picture without its mean, for phase correlation."""
    return np.fft.rfft2(luma - luma.mean())


def shift_residual(
    start: FloatArray,
    end: FloatArray,
    max_shift: float = 0.4,
    spectra: tuple[npt.NDArray[np.complex128], npt.NDArray[np.complex128]] | None = None,
) -> float:
    """How much of the change from ``start`` to ``end`` remains after the best global shift
    (found by phase correlation), 0..1+; 1 when no plausible shift helps. ``spectra``: the two
    pictures' ``spectrum``, when already known."""
    h, w = start.shape
    a, b = spectra or (spectrum(start), spectrum(end))
    cross = a * np.conj(b)
    correlation = np.fft.irfft2(cross / (np.abs(cross) + 1e-9), s=(h, w))
    dy, dx = (int(v) for v in np.unravel_index(int(np.argmax(correlation)), correlation.shape))
    dy, dx = (dy - h if dy > h // 2 else dy), (dx - w if dx > w // 2 else dx)
    if abs(dy) > max_shift * h or abs(dx) > max_shift * w:
        return 1.0
    # start[y, x] ~ end[y - dy, x - dx]: compare the overlapping parts.
    moved = start[max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx)]
    landed = end[max(0, -dy) : h + min(0, -dy), max(0, -dx) : w + min(0, -dx)]
    raw = float(np.abs(end - start).mean()) + 1e-6
    return float(np.abs(moved - landed).mean()) / raw


class CutGate:
    """Whether the frames between ``before`` and ``after``, decoded pictures a few frames apart,
    must be seen one by one: the change between the two stands out (``survey_standout``, below
    the cut test's own bar) from the changes between the decoded pictures either side,
    ``previous`` to ``before`` and ``after`` to ``following``. For anything else -- motion,
    transitions, which keep changing from one decoded picture to the next -- a blend of the two
    stands in. Called with each decoded picture up to three times in a row: the description of
    the last few is kept."""

    def __init__(self, params: DetectorParams) -> None:
        self.params = params
        self._described: collections.deque[tuple[Image, tuple[FloatArray, Shape]]] = (
            collections.deque(maxlen=4)
        )

    def _describe(self, image: Image) -> tuple[FloatArray, Shape]:
        for known, description in self._described:
            if known is image:
                return description
        description = (
            histogram(image, self.params.histogram_bins),
            Shape.of(image[0].astype(np.float32)),
        )
        self._described.append((image, description))
        return description

    def __call__(
        self, previous: Image | None, before: Image, after: Image, following: Image | None
    ) -> bool:
        start, end = self._describe(before), self._describe(after)
        change = changes(*start, *end)
        nothing = Changes(0.0, 0.0, 0.0)
        if change.standout(nothing, self.params) < self.params.survey_standout:
            return False  # too small to be a cut even in a still shot
        around = [
            changes(*self._describe(previous), *start) if previous is not None else nothing,
            changes(*end, *self._describe(following)) if following is not None else nothing,
        ]
        baseline = Changes(
            max(c.hist for c in around),
            max(c.pixel for c in around),
            max(c.structure for c in around),
        )
        return change.standout(baseline, self.params) >= self.params.survey_standout


def may_hide_cut(
    previous: Image | None,
    before: Image,
    after: Image,
    following: Image | None,
    params: DetectorParams,
) -> bool:
    """``CutGate``'s answer for one gap (nothing kept between calls)."""
    return CutGate(params)(previous, before, after, following)


@dataclass
class AdaptiveShotDetector:
    """The default detector (see the module docstring)."""

    params: DetectorParams = field(default_factory=DetectorParams)

    def detect(self, frames: Iterable[Frame], fps: float) -> list[Boundary]:
        p = self.params
        half = p.window + p.context
        size = 2 * half + 1
        recent: collections.deque[_Features] = collections.deque(maxlen=size)
        candidates: list[Boundary] = []
        run: list[_Features] = []
        means: list[float] = []
        previous: _Features | None = None
        for frame in frames:
            luma = frame.image[0].astype(np.float32)
            hist = histogram(frame.image, p.histogram_bins)
            cumulative = hist + previous.cumulative if previous is not None else hist.astype(float)
            feats = _Features(frame.index, hist, luma, cumulative, Shape.of(luma))
            means.append(float(luma.sum()) / luma.size)
            if previous is not None:
                feats.change = changes(previous.hist, previous.shape, hist, feats.shape)
            previous = feats
            recent.append(feats)
            if len(recent) == size:
                self._evaluate(list(recent), candidates, run)
        # The last frames never sit in the middle of a full window (nor any frame of a clip
        # shorter than one window): test them for cuts with what is left.
        tail = list(recent)
        first = half + 1 if len(tail) == size else 1
        for centre in range(first, len(tail)):
            self._cut_at(tail, centre, candidates)
        self._close_run(run, candidates)
        fades, dark_runs = self._fades(np.asarray(means, dtype=np.float32), fps)
        quiet = [f.span for f in fades] + dark_runs
        kept = [
            b
            for b in candidates
            if not any(
                (lo < b.frame <= hi) if b.kind == "cut" else (b.span[0] <= hi and b.span[1] >= lo)
                for lo, hi in quiet
            )
        ]
        ordered = self._merge_gradual(sorted(kept, key=lambda b: b.frame))
        return self._merge_close(sorted(ordered + fades, key=lambda b: b.frame))

    def _evaluate(
        self, window: list[_Features], found: list[Boundary], run: list[_Features]
    ) -> None:
        p = self.params
        w, c = p.window, p.context
        half = w + c
        if window[0].index == 0:
            # The first frames are centres too, with a partial window: a cut at frame 3 counts.
            for early in range(1, half):
                self._cut_at(window, early, found)
        self._cut_at(window, half, found)
        centre = window[half]
        before = _mean_hist(window[0], window[c])
        after = _mean_hist(window[-c - 1], window[-1])
        distance = hist_distance(before, after)
        centre.context_distance = distance
        # The tests in order of cost; most frames fail the first (the two contexts look alike),
        # and the frames around a hard cut the second (one step makes all the change).
        if (
            distance >= p.gradual_min
            and hist_distance(window[c].hist, window[-c - 1].hist)
            >= p.gradual_ratio * max(f.step for f in window[c + 1 : -c])
            and distance
            >= p.context_ratio
            * max(_farthest(window[: c + 1], before), _farthest(window[-c - 1 :], after))
            and blend_residual(centre.coarse, window[c].coarse, window[-c - 1].coarse)
            <= p.blend_residual_max
            # Over half the window: a fast pan moves less than the search range, a dissolve still
            # changes plenty.
            and _shift_residual(window[c + w // 2], window[-c - 1 - w // 2]) > p.motion_residual_max
        ):
            run.append(centre)
        else:
            self._close_run(run, found)

    def _close_run(self, run: list[_Features], found: list[Boundary]) -> None:
        if len(run) < self.params.min_run:
            run.clear()
            return
        first, last = run[0].index, run[-1].index
        peak = max(f.context_distance for f in run)
        found.append(
            Boundary(
                (first + last + 1) // 2,
                "gradual",
                peak,
                (first - self.params.window, last + self.params.window),
            )
        )
        run.clear()

    def _fades(self, means: FloatArray, fps: float) -> tuple[list[Boundary], list[tuple[int, int]]]:
        """Fade boundaries, and the dark runs (inside which nothing else is a boundary)."""
        p = self.params
        dark = means < p.dark_luma
        found: list[Boundary] = []
        runs: list[tuple[int, int]] = []
        n = len(means)
        k = 0
        while k < n:
            if not dark[k]:
                k += 1
                continue
            d0 = k
            while k < n and dark[k]:
                k += 1
            d1 = k - 1
            runs.append((d0, d1))
            out_start = self._ramp(means, d0 - 1, -1)
            in_end = self._ramp(means, d1 + 1, +1)
            has_out = d0 > 0 and out_start < d0 and means[out_start] - means[d0] >= p.ramp_min_rise
            has_in = d1 < n - 1 and in_end > d1 and means[in_end] - means[d1] >= p.ramp_min_rise
            is_shot = (d1 - d0 + 1) >= max(1, round(p.min_dark_shot_seconds * fps))
            if not is_shot:
                if d0 > 0 and d1 < n - 1 and (has_out or has_in):
                    lo = out_start if has_out else d0
                    hi = in_end if has_in else d1
                    found.append(Boundary((d0 + d1 + 1) // 2, "gradual", 1.0, (lo, hi)))
                continue
            # A one-frame ramp is a hard cut into (or out of) black.
            if has_out and out_start == d0 - 1:
                found.append(Boundary(d0, "cut", 1.0, (d0, d0)))
            elif has_out:
                found.append(Boundary((out_start + d0) // 2, "gradual", 1.0, (out_start, d0 - 1)))
            if has_in and in_end == d1 + 1:
                found.append(Boundary(d1 + 1, "cut", 1.0, (d1 + 1, d1 + 1)))
            elif has_in:
                found.append(Boundary((d1 + 1 + in_end + 1) // 2, "gradual", 1.0, (d1 + 1, in_end)))
        return found, runs

    def _ramp(self, means: FloatArray, start: int, direction: int) -> int:
        """Walk from ``start`` away from a dark run while mean luma keeps rising."""
        p = self.params
        n = len(means)
        if not 0 <= start < n:
            return start - direction
        k = start
        while (
            0 <= k + direction < n
            and abs(k + direction - start) < p.ramp_max_frames
            and means[k + direction] >= means[k] + p.ramp_min_step
        ):
            k += direction
        return k

    def _cut_at(self, window: list[_Features], centre: int, found: list[Boundary]) -> None:
        p = self.params
        here = window[centre]
        if here.index == 0:
            return
        neighbours = [
            f.change
            for f in window[max(0, centre - p.window) : centre + p.window + 1]
            if f is not here and f.index > 0
        ]
        baseline = median_changes(neighbours)
        jump = here.change.standout(baseline, p)
        if jump < p.cut_standout:
            return
        # A flash (or a corrupt frame) jumps away and back: a picture after the jump matches
        # one before it, their change as ordinary as the neighbours'. Compare the frames before
        # this jump with those after it.
        behind = window[max(0, centre - 1 - p.flash_frames) : centre]
        ahead = window[centre : centre + 1 + p.flash_frames]
        for b in behind:
            for a in ahead:
                is_the_jump = b is window[centre - 1] and a is here
                if (
                    not is_the_jump
                    and changes(b.hist, b.shape, a.hist, a.shape).standout(baseline, p)
                    < p.flash_similarity * jump
                ):
                    return
        found.append(Boundary(here.index, "cut", here.step, (here.index, here.index)))

    @staticmethod
    def _merge_gradual(boundaries: list[Boundary]) -> list[Boundary]:
        """One transition whose run broke in the middle gives overlapping spans: join them."""
        merged: list[Boundary] = []
        for b in boundaries:
            last = merged[-1] if merged else None
            if last is not None and b.kind == last.kind == "gradual" and b.span[0] <= last.span[1]:
                lo, hi = last.span[0], max(last.span[1], b.span[1])
                merged[-1] = Boundary(
                    (lo + hi + 1) // 2, "gradual", max(last.score, b.score), (lo, hi)
                )
            else:
                merged.append(b)
        return merged

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
