"""Choosing covers: measure sampled frames, judge them against the video's own frames, keep the
best frame of each shot away from transitions, pick up to five from different shots.

Measured on each sample (a ~320 px RGB picture, every 0.25 s): *detail*, the variance of the
Laplacian relative to the variance of luma (contrast-independent), on a 2x2-averaged copy (the
codec's noise would pass for detail in a soft picture); luma mean and spread; the share of
clipped-white pixels; colourfulness (Hasler and Suesstrunk's metric); a 16x9 thumbnail.

Judged relative to the video (``Reference``: its samples' distribution, kept in bounded histograms):
- sharpness (0..1): detail against the video's typical sharp frame (the 75th percentile of its
  well-exposed samples), on a log scale: 1 at or above it, 0 at ``BLUR_RATIO`` of it or below;
  a soft or upscaled video is measured against itself, so its best frames still score well;
- defects: *blurred* (detail under ``BLUR_RATIO`` of the typical), *under-exposed* (nearly
  black, its lighter parts dim too, or mean luma under ``DARK_SHARE`` of the video's median),
  *over-exposed* (near white, largely clipped, or ``BRIGHTER`` than the median with some
  clipping), *washed out* (luma spread under ``FLAT_SHARE`` of the video's median) and
  *mid-transition* (inside a detected gradual transition).

Only a sample with no visible content (black or flat: one level throughout) is never a candidate;
a video with nothing else fails with ``InvalidFile.Content``. Every other video gets covers: in each
shot the best frame of the best tier -- clean; near a transition (within
``TRANSITION_MARGIN_SECONDS`` of a gradual one or ``CUT_MARGIN_FRAMES`` of a cut, or changing
``UNSTEADY_RATIO`` times more than the video's samples usually do: a missed dissolve); defective --;
frames near a transition only to make up a second cover, defective frames only when the video has
no other; among nearly equal frames, the one in the middle of its shot. Up to five covers, each
from a different shot, best first, the same picture twice (a shot that returns, a blurred copy)
skipped, and none scoring under half the best one's confidence.

Quality terms (each 0..1): sharpness as above; exposure: mean luma near mid-grey, few clipped
pixels; contrast: luma standard deviation; colourfulness; representativeness: the length of the
frame's shot relative to the longest shot; face: the largest frontal face's share of the picture
(full marks from ``FACE_FULL`` up), found with OpenCV's Haar cascade on a 480 px copy, for the
shortlist only (it is the slow part).

``Confidence`` = 10 x (0.30 sharpness + 0.20 exposure + 0.15 contrast + 0.10 colourfulness
+ 0.15 representativeness + 0.10 face) x tier factor (1 clean, 0.8 near a transition, 0.5
defective), so 0..10: a sharp (for this video), well-exposed, colourful frame from a long shot
scores about 7-9, a clear face adds up to 1; a dull but acceptable frame about 5; a defective
frame, returned only when nothing better exists, at most 5. Covers are listed by ``Confidence``,
highest first.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from videorecog.analysis.detection import Boundary
from videorecog.analysis.shots import hist_distance

Image = npt.NDArray[np.uint8]

WEIGHTS = {
    "sharpness": 0.30,
    "exposure": 0.20,
    "contrast": 0.15,
    "colourfulness": 0.10,
    "representativeness": 0.15,
    "face": 0.10,
}
FACE_FULL = 0.02  # a face covering 2% of the picture (a medium close-up) earns the whole term
# No visible content (absolute, the only frames never considered): black or flat.
BLACK_LUMA = 0.07  # mean + 2 std of luma (0..1) below this: nothing but near-black
FLAT_STD = 0.012  # luma std below this: one level throughout
# Defects, mostly relative to the video's own samples.
TYPICAL_DETAIL = 0.75  # the percentile of detail that stands for "this video's sharp frame"
BLUR_RATIO = 0.33  # detail under this share of the typical: blurred (sharpness term 0)
# Under-exposed: mean luma under ``DARK_SHARE`` of the video's median, or, whatever the video,
# under ``DARK_LUMA`` with the lighter parts (mean + 2 std) under ``LIT_LUMA`` too (so that a
# night scene's lights in the dark pass).
DARK_SHARE = 0.35
DARK_LUMA = 0.04
LIT_LUMA = 0.14
BRIGHT_LUMA = 0.8  # mean luma above this: over-exposed
CLIPPED_WHITE = 0.25  # or this share of pixels clipped to white
BRIGHTER = 0.3  # or this much brighter than the video's median with some clipping
FLAT_SHARE = 0.3  # luma spread under this share of the video's median: washed out
TRANSITION_MARGIN_SECONDS = 0.4  # around a gradual transition: near it
CUT_MARGIN_FRAMES = 2  # either side of a cut: near it
TIER_FACTOR = (1.0, 0.8, 0.5)  # clean, near a transition, defective
NEAR_ONLY_UP_TO = 2  # shots whose best frame is near a transition: only up to this many covers
STEADY_SECONDS = 0.6  # neighbouring samples this close show whether a picture is steady
UNSTEADY_RATIO = 3.0  # changing this many times the video's median change: near a transition
UNSTEADY_CHANGE = 0.015  # ...and at least this much (mean luma of 16x9 thumbnails, 0..1)
CENTRE_BONUS = 0.2  # confidence points that favour a frame in the middle of its shot (ranking)
WEAKEST = 0.5  # a further cover scores at least this share of the best one's confidence
NEAR_DUPLICATE = 0.12  # histogram distance under which two covers may be the same picture
SAME_PICTURE = 0.05  # ...and mean luma difference of their 16x9 thumbnails under which they are
# ...and of their layouts, each thumbnail in units of its own spread: two dark pictures are alike
# in colours and levels however different they are (different pictures measure 0.85-1.2).
SAME_LAYOUT = 0.5
# A thumbnail's spread counted at least this (0..1 luma): under it a picture is flat, no layout
# to tell (a dark but visible picture's thumbnail spreads 0.007 or more).
LAYOUT_SPREAD_MIN = 0.003
THUMB = (9, 16)
BAR_LUMA = 0.07  # rows/columns this dark in every sample are letterbox/pillarbox bars


@dataclass(frozen=True)
class Features:
    """What is measured on one sample, before the video as a whole is known."""

    mean: float  # luma, 0..1
    std: float
    clipped: float  # share of pixels below 0.02 or above 0.98
    white: float  # share of pixels above 0.96
    detail: float  # Laplacian variance over luma variance, at half the sample's size
    colourfulness: float  # 0..1

    @property
    def visible(self) -> bool:
        """Not black and not flat: there is something to see."""
        return self.std >= FLAT_STD and self.mean + 2 * self.std >= BLACK_LUMA

    @property
    def well_exposed(self) -> bool:
        """Used for the video's typical detail (clipping and noise in the dark distort it)."""
        return (
            DARK_LUMA * 2 <= self.mean <= BRIGHT_LUMA
            and self.white < CLIPPED_WHITE
            and self.std >= 2 * FLAT_STD
        )


@dataclass(frozen=True)
class Reference:
    """The video's own distribution, against which each frame is judged."""

    detail: float  # typical detail of a well-exposed sample (``TYPICAL_DETAIL`` percentile)
    mean: float  # median mean luma
    std: float  # median luma spread


NOMINAL = Reference(detail=0.15, mean=0.45, std=0.2)  # before anything is known


@dataclass(frozen=True)
class Quality:
    sharpness: float
    exposure: float
    contrast: float
    colourfulness: float
    defects: tuple[str, ...] = ()  # empty: usable

    @property
    def usable(self) -> bool:
        return not self.defects

    def confidence(self, representativeness: float, face: float = 0.0) -> float:
        """0..10 before the tier factor; ``face`` is the largest face's share of the picture."""
        total = (
            WEIGHTS["sharpness"] * self.sharpness
            + WEIGHTS["exposure"] * self.exposure
            + WEIGHTS["contrast"] * self.contrast
            + WEIGHTS["colourfulness"] * self.colourfulness
            + WEIGHTS["representativeness"] * representativeness
            + WEIGHTS["face"] * min(1.0, face / FACE_FULL)
        )
        return round(10.0 * total, 4)


@dataclass(frozen=True)
class Candidate:
    index: int
    time: float
    features: Features
    hist: npt.NDArray[np.float32]
    luma_rows: npt.NDArray[np.float32]  # per-row max luma, for bar detection
    luma_cols: npt.NDArray[np.float32]
    thumb: npt.NDArray[np.float32]  # 16x9 luma, to tell the same picture in two shots


def _luma(rgb: Image) -> npt.NDArray[np.float32]:
    f = rgb.astype(np.float32) / 255.0
    return np.asarray(0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2], dtype=np.float32)


def _laplacian_variance(y: npt.NDArray[np.float32]) -> float:
    lap = -4 * y[1:-1, 1:-1] + y[:-2, 1:-1] + y[2:, 1:-1] + y[1:-1, :-2] + y[1:-1, 2:]
    return float(lap.var())


def _halve(y: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """2x2 means: a properly filtered half-size picture (the sample itself is scaled fast, with
    aliasing, and carries the codec's noise, which would pass for detail in a soft picture)."""
    h, w = y.shape[0] // 2 * 2, y.shape[1] // 2 * 2
    y = y[:h, :w]
    return np.asarray(0.25 * (y[::2, ::2] + y[1::2, ::2] + y[::2, 1::2] + y[1::2, 1::2]))


def _thumb(y: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    rows, cols = THUMB
    h, w = y.shape[0] // rows, y.shape[1] // cols
    if not h or not w:
        return np.zeros(THUMB, np.float32)
    return np.asarray(y[: h * rows, : w * cols].reshape(rows, h, cols, w).mean(axis=(1, 3)))


def measure(rgb: Image, y: npt.NDArray[np.float32] | None = None) -> Features:
    """Measure one RGB sample (H x W x 3); ``y`` its luma when already computed."""
    if y is None:
        y = _luma(rgb)
    mean, std = float(y.mean()), float(y.std())
    half = _halve(y) if min(y.shape) >= 32 else y
    f = rgb.astype(np.float32)
    rg = f[..., 0] - f[..., 1]
    yb = 0.5 * (f[..., 0] + f[..., 1]) - f[..., 2]
    colourful = float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
    return Features(
        mean=mean,
        std=std,
        clipped=float(((y < 0.02) | (y > 0.98)).mean()),
        white=float((y > 0.96).mean()),
        detail=_laplacian_variance(half) / (float(half.var()) + 1e-6),
        colourfulness=min(1.0, colourful / 100.0),
    )


def judge(features: Features, reference: Reference) -> Quality:
    """The quality terms and defects of one sample, against the video's ``reference``."""
    f = features
    ratio = f.detail / max(reference.detail, 1e-9)
    sharpness = min(1.0, max(0.0, 1.0 + math.log(max(ratio, 1e-9)) / math.log(1 / BLUR_RATIO)))
    defects: list[str] = []
    if not f.visible:
        defects.append("invisible")
    if ratio < BLUR_RATIO:
        defects.append("blurred")
    nearly_black = f.mean < DARK_LUMA and f.mean + 2 * f.std < LIT_LUMA
    if nearly_black or f.mean < DARK_SHARE * reference.mean:
        defects.append("under-exposed")
    brighter = f.mean > reference.mean + BRIGHTER and f.white >= CLIPPED_WHITE / 3
    if f.mean > BRIGHT_LUMA or f.white >= CLIPPED_WHITE or brighter:
        defects.append("over-exposed")
    if f.std < FLAT_SHARE * reference.std:
        defects.append("washed out")
    exposure = max(0.0, 1.0 - abs(f.mean - 0.5) * 2.0) * (1.0 - f.clipped)
    contrast = min(1.0, f.std / 0.25)
    return Quality(sharpness, exposure, contrast, f.colourfulness, tuple(defects))


def make_candidate(index: int, time: float, rgb: Image, hist: npt.NDArray[np.float32]) -> Candidate:
    y = _luma(rgb)
    return Candidate(index, time, measure(rgb, y), hist, y.max(axis=1), y.max(axis=0), _thumb(y))


def bars(candidates: Sequence[Candidate]) -> tuple[float, float, float, float]:
    """Letterbox/pillarbox bars as fractions (top, bottom, left, right) dark in every sample."""
    if not candidates:
        return (0.0, 0.0, 0.0, 0.0)
    rows = np.max(np.stack([c.luma_rows for c in candidates]), axis=0)
    cols = np.max(np.stack([c.luma_cols for c in candidates]), axis=0)

    def dark_run(values: npt.NDArray[np.float32]) -> int:
        n = 0
        while n < len(values) // 3 and values[n] < BAR_LUMA:
            n += 1
        return n

    top, bottom = dark_run(rows), dark_run(rows[::-1])
    left, right = dark_run(cols), dark_run(cols[::-1])
    return (top / len(rows), bottom / len(rows), left / len(cols), right / len(cols))


def crop(image: Image, box: tuple[float, float, float, float]) -> Image:
    h, w = image.shape[:2]
    top, bottom, left, right = box
    t, b = round(top * h), h - round(bottom * h)
    lft, r = round(left * w), w - round(right * w)
    if b - t < h // 3 or r - lft < w // 3:
        return image
    return image[t:b, lft:r]


@dataclass(frozen=True)
class Pick:
    candidate: Candidate
    confidence: float
    shot: tuple[int, int]  # first frame, end frame (exclusive)
    representativeness: float
    quality: Quality
    tier: int  # 0 clean, 1 near a transition, 2 defective
    clean: tuple[int, int]  # the shot's frames away from transitions (first, end exclusive)

    def with_face(self, face: float) -> Pick:
        """The same pick, scored again knowing its largest face's share of the picture."""
        confidence = _tiered(self.quality.confidence(self.representativeness, face), self.tier)
        return dataclasses.replace(self, confidence=confidence)


def _tiered(confidence: float, tier: int) -> float:
    return round(confidence * TIER_FACTOR[tier], 4)


def shots_from(boundaries: Sequence[Boundary], total_frames: int) -> list[tuple[int, int]]:
    starts = [0, *(b.frame for b in boundaries)]
    ends = [*starts[1:], total_frames]
    return [(s, e) for s, e in zip(starts, ends, strict=True) if e > s]


def _clean_part(
    shot: tuple[int, int], boundaries: Sequence[Boundary], margin: int
) -> tuple[int, int]:
    """The shot without the transitions at its ends, nor ``margin`` frames beyond a gradual one
    (a detected span can be a little shorter than the dissolve)."""
    first, end = shot
    for b in boundaries:
        if b.frame == shot[0]:
            first = max(first, b.span[1] + 1 + margin if b.kind == "gradual" else b.frame)
        if b.frame == shot[1]:
            end = min(end, b.span[0] - margin if b.kind == "gradual" else b.frame)
    return (first, end) if end > first else shot


def best_per_shot(
    candidates: Sequence[Candidate],
    boundaries: Sequence[Boundary],
    total_frames: int,
    fps: float,
    reference: Reference = NOMINAL,
) -> list[Pick]:
    """The best frame of each shot, from its best tier, by confidence, best first.

    A shot whose best frame is defective is left out when any other shot has a better one; one
    whose best frame is near a transition, when two others have clean ones."""
    margin = max(1, round(TRANSITION_MARGIN_SECONDS * fps))
    inside = [b.span for b in boundaries if b.kind == "gradual"]
    near = [
        (b.span[0] - margin, b.span[1] + margin)
        if b.kind == "gradual"
        else (b.frame - CUT_MARGIN_FRAMES, b.frame + CUT_MARGIN_FRAMES - 1)
        for b in boundaries
    ]
    shots = shots_from(boundaries, total_frames)
    longest = max((e - s for s, e in shots), default=1)
    starts = [s for s, _ in shots]
    visible = sorted((c for c in candidates if c.features.visible), key=lambda c: c.index)
    unsteady = _unsteady(visible, [bisect.bisect_right(starts, c.index) for c in visible])
    best: dict[int, Pick] = {}
    for cand, shaky in zip(visible, unsteady, strict=True):
        quality = judge(cand.features, reference)
        if any(lo <= cand.index <= hi for lo, hi in inside):
            quality = dataclasses.replace(quality, defects=(*quality.defects, "mid-transition"))
        is_near = shaky or any(lo <= cand.index <= hi for lo, hi in near)
        tier = 2 if quality.defects else int(is_near)
        shot_no = max(0, bisect.bisect_right(starts, cand.index) - 1)
        shot = shots[shot_no]
        share = (shot[1] - shot[0]) / longest
        confidence = _tiered(quality.confidence(share), tier)
        clean = _clean_part(shot, boundaries, margin)
        pick = Pick(cand, confidence, shot, share, quality, tier, clean)
        current = best.get(shot_no)
        if current is None or _rank(pick) < _rank(current):
            best[shot_no] = pick
    picks = sorted(best.values(), key=lambda p: (p.tier, -p.confidence))
    clear = [p for p in picks if p.tier == 0]
    if clear:
        # Near a transition (a detected span may be shorter than the dissolve): only to make
        # up a second cover.
        picks = clear + [p for p in picks if p.tier == 1][: max(0, NEAR_ONLY_UP_TO - len(clear))]
    elif any(p.tier == 1 for p in picks):
        picks = [p for p in picks if p.tier == 1]
    return sorted(picks, key=lambda p: p.confidence, reverse=True)


def same_picture(a: Candidate, b: Candidate) -> bool:
    """The same picture (a shot that returns, a blurred copy): alike in colours, levels and
    layout."""
    return (
        hist_distance(a.hist, b.hist) < NEAR_DUPLICATE
        and float(np.abs(a.thumb - b.thumb).mean()) < SAME_PICTURE
        and float(np.abs(_layout(a.thumb) - _layout(b.thumb)).mean()) < SAME_LAYOUT
    )


def _layout(thumb: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """A thumbnail in units of its own spread around its own mean: its layout alone."""
    spread = max(float(thumb.std()), LAYOUT_SPREAD_MIN)
    return np.asarray((thumb - thumb.mean()) / spread, dtype=np.float32)


def _unsteady(candidates: Sequence[Candidate], shot_of: Sequence[int]) -> list[bool]:
    """Samples whose picture changes much more than this video's usually do, between them and
    their neighbours in the same shot: a dissolve the detector missed, or a whip pan."""
    changes: list[float | None] = []
    for k, cand in enumerate(candidates):
        around = [
            float(np.abs(cand.thumb - candidates[j].thumb).mean())
            for j in (k - 1, k + 1)
            if 0 <= j < len(candidates)
            and shot_of[j] == shot_of[k]
            and abs(candidates[j].time - cand.time) <= STEADY_SECONDS
        ]
        changes.append(sum(around) / len(around) if around else None)
    known = [c for c in changes if c is not None]
    if not known:
        return [False] * len(candidates)
    limit = max(UNSTEADY_CHANGE, UNSTEADY_RATIO * float(np.median(known)))
    return [c is not None and c > limit for c in changes]


def _rank(pick: Pick) -> tuple[int, float]:
    """Within a shot: the best tier, then confidence, and among nearly equal frames (a still
    shot) the one farthest from the shot's ends."""
    first, end = pick.clean
    half = max(1.0, (end - first) / 2)
    centrality = max(0.0, min(pick.candidate.index - first, end - 1 - pick.candidate.index) / half)
    return (pick.tier, -(pick.confidence + CENTRE_BONUS * centrality))


def diverse(picks: Sequence[Pick], count: int) -> list[Pick]:
    """Up to ``count`` picks, best first, skipping near-duplicates of one already taken and any
    scoring under ``WEAKEST`` of the best."""
    taken: list[Pick] = []
    for pick in sorted(picks, key=lambda p: p.confidence, reverse=True):
        if taken and pick.confidence < WEAKEST * taken[0].confidence:
            break
        if not any(same_picture(pick.candidate, p.candidate) for p in taken):
            taken.append(pick)
        if len(taken) == count:
            break
    return taken


class _Histogram:
    """Counts over fixed bins: quantiles of a whole video's samples in constant memory."""

    def __init__(self, lo: float, hi: float, bins: int) -> None:
        self._edges = np.linspace(lo, hi, bins + 1)
        self._counts = np.zeros(bins + 2, dtype=np.int64)  # with under- and overflow

    def add(self, value: float) -> None:
        self._counts[int(np.searchsorted(self._edges, value, side="right"))] += 1

    @property
    def total(self) -> int:
        return int(self._counts.sum())

    def quantile(self, q: float, default: float) -> float:
        total = self.total
        if not total:
            return default
        k = int(np.searchsorted(np.cumsum(self._counts), q * total, side="left"))
        k = min(max(k, 1), len(self._edges) - 1)
        return float(0.5 * (self._edges[k - 1] + self._edges[k]))


class CandidatePool:
    """Keeps the best few samples per time bucket, doubling the buckets when there are too many,
    so a long video keeps candidates from all of its length in bounded memory; and the
    distribution of all its visible samples (fixed-bin histograms) for ``reference``."""

    def __init__(self, per_bucket: int = 3, max_buckets: int = 64, bucket_seconds: float = 1.0):
        self._per_bucket = per_bucket
        self._max_buckets = max_buckets
        self._bucket_seconds = bucket_seconds
        self._buckets: dict[int, list[Candidate]] = {}
        self._detail = _Histogram(-6.0, 2.0, 320)  # log10 detail, well-exposed samples
        self._detail_any = _Histogram(-6.0, 2.0, 320)  # log10 detail, any visible sample
        self._mean = _Histogram(0.0, 1.0, 200)
        self._std = _Histogram(0.0, 0.5, 200)
        self.invisible = 0  # samples with nothing to see (black or flat)

    def add(self, cand: Candidate) -> None:
        f = cand.features
        if not f.visible:
            self.invisible += 1
            return
        log_detail = math.log10(max(f.detail, 1e-6))
        self._detail_any.add(log_detail)
        if f.well_exposed:
            self._detail.add(log_detail)
        self._mean.add(f.mean)
        self._std.add(f.std)
        key = int(cand.time // self._bucket_seconds)
        bucket = self._buckets.setdefault(key, [])
        bucket.append(cand)
        self._trim(bucket)
        if len(self._buckets) > self._max_buckets:
            self._bucket_seconds *= 2
            merged: dict[int, list[Candidate]] = {}
            for old_key, items in self._buckets.items():
                merged.setdefault(old_key // 2, []).extend(items)
            for items in merged.values():
                self._trim(items)
            self._buckets = merged

    def _trim(self, items: list[Candidate]) -> None:
        """Keep the best few, judged against the video as seen so far."""
        reference = self.reference()

        def key(c: Candidate) -> tuple[bool, float]:
            q = judge(c.features, reference)
            return (q.usable, q.confidence(1.0))

        items.sort(key=key, reverse=True)
        del items[self._per_bucket :]

    def reference(self) -> Reference:
        detail = self._detail if self._detail.total else self._detail_any
        return Reference(
            detail=10 ** detail.quantile(TYPICAL_DETAIL, math.log10(NOMINAL.detail)),
            mean=self._mean.quantile(0.5, NOMINAL.mean),
            std=self._std.quantile(0.5, NOMINAL.std),
        )

    def all(self) -> list[Candidate]:
        return sorted((c for items in self._buckets.values() for c in items), key=lambda c: c.index)
