"""Choosing covers: score sampled frames, keep good ones inside shots, pick diverse winners.

Quality of a frame (each term 0..1, computed on a ~160 px RGB sample):
- sharpness: variance of the Laplacian relative to the variance of luma (contrast-independent),
- exposure: mean luma near mid-grey, few clipped pixels,
- contrast: luma standard deviation,
- colourfulness: Hasler and Suesstrunk's metric,
- representativeness: the length of the frame's shot relative to the longest shot,
- face: the largest frontal face's share of the picture (full marks from ``FACE_FULL`` up), found
  with OpenCV's Haar cascade on a 480 px copy, for the shortlist only (it is the slow part).

``Confidence`` = 10 x (0.30 sharpness + 0.20 exposure + 0.15 contrast + 0.10 colourfulness
+ 0.15 representativeness + 0.10 face), so 0..10: a sharp, well-exposed, colourful frame from a
long shot scores about 8-9, a clear face adds up to 1; a dull but acceptable frame scores about 5.
Black, flat, blurred and mid-transition frames are never candidates at all, whatever their score.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from videorecog.analysis.shots import Boundary, hist_distance

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
BLACK_LUMA = 0.10  # mean luma below this (0..1) is a black frame
FLAT_STD = 0.035  # luma std below this is a blank field
BLURRED_SHARPNESS = 0.12  # normalised sharpness below this is a blurred frame
TRANSITION_MARGIN_SECONDS = 0.4  # keep this far from cuts and transition spans
NEAR_DUPLICATE = 0.12  # histogram distance under which two covers are the same picture
BAR_LUMA = 0.07  # rows/columns this dark in every sample are letterbox/pillarbox bars


@dataclass(frozen=True)
class Quality:
    sharpness: float
    exposure: float
    contrast: float
    colourfulness: float
    usable: bool  # not black, not flat, not blurred

    def confidence(self, representativeness: float, face: float = 0.0) -> float:
        """0..10; ``face`` is the largest face's share of the picture."""
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
    quality: Quality
    hist: npt.NDArray[np.float32]
    luma_rows: npt.NDArray[np.float32]  # per-row max luma, for bar detection
    luma_cols: npt.NDArray[np.float32]


def _luma(rgb: Image) -> npt.NDArray[np.float32]:
    f = rgb.astype(np.float32) / 255.0
    return np.asarray(0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2], dtype=np.float32)


def _laplacian_variance(y: npt.NDArray[np.float32]) -> float:
    lap = -4 * y[1:-1, 1:-1] + y[:-2, 1:-1] + y[2:, 1:-1] + y[1:-1, :-2] + y[1:-1, 2:]
    return float(lap.var())


def assess(rgb: Image) -> Quality:
    """Score one RGB sample (H x W x 3)."""
    y = _luma(rgb)
    mean, std = float(y.mean()), float(y.std())
    # Sharp natural pictures keep a good share of their variance at the finest scale.
    sharp_raw = _laplacian_variance(y) / (std * std + 1e-6)
    sharpness = float(min(1.0, sharp_raw / 1.5))
    clipped = float(((y < 0.02) | (y > 0.98)).mean())
    exposure = max(0.0, 1.0 - abs(mean - 0.5) * 2.0) * (1.0 - clipped)
    contrast = min(1.0, std / 0.25)
    f = rgb.astype(np.float32)
    rg = f[..., 0] - f[..., 1]
    yb = 0.5 * (f[..., 0] + f[..., 1]) - f[..., 2]
    colourful = float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
    usable = mean >= BLACK_LUMA and std >= FLAT_STD and sharpness >= BLURRED_SHARPNESS
    return Quality(sharpness, exposure, contrast, min(1.0, colourful / 100.0), usable)


def make_candidate(index: int, time: float, rgb: Image, hist: npt.NDArray[np.float32]) -> Candidate:
    y = _luma(rgb)
    return Candidate(index, time, assess(rgb), hist, y.max(axis=1), y.max(axis=0))


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

    def with_face(self, face: float) -> Pick:
        """The same pick, scored again knowing its largest face's share of the picture."""
        confidence = self.candidate.quality.confidence(self.representativeness, face)
        return dataclasses.replace(self, confidence=confidence)


def shots_from(boundaries: Sequence[Boundary], total_frames: int) -> list[tuple[int, int]]:
    starts = [0, *(b.frame for b in boundaries)]
    ends = [*starts[1:], total_frames]
    return [(s, e) for s, e in zip(starts, ends, strict=True) if e > s]


def best_per_shot(
    candidates: Sequence[Candidate],
    boundaries: Sequence[Boundary],
    total_frames: int,
    fps: float,
) -> list[Pick]:
    """The best usable frame of each shot, away from transitions, best first."""
    margin = max(1, round(TRANSITION_MARGIN_SECONDS * fps))
    forbidden = [(b.span[0] - margin, b.span[1] + margin) for b in boundaries]
    shots = shots_from(boundaries, total_frames)
    longest = max((e - s for s, e in shots), default=1)
    starts = [s for s, _ in shots]
    best: dict[int, Pick] = {}
    for cand in candidates:
        if not cand.quality.usable or any(lo <= cand.index <= hi for lo, hi in forbidden):
            continue
        shot_no = bisect.bisect_right(starts, cand.index) - 1
        shot = shots[shot_no]
        share = (shot[1] - shot[0]) / longest
        confidence = cand.quality.confidence(share)
        if shot_no not in best or confidence > best[shot_no].confidence:
            best[shot_no] = Pick(cand, confidence, shot, share)
    return sorted(best.values(), key=lambda p: p.confidence, reverse=True)


def diverse(picks: Sequence[Pick], count: int) -> list[Pick]:
    """Up to ``count`` picks, best first, skipping near-duplicates of one already taken."""
    taken: list[Pick] = []
    for pick in sorted(picks, key=lambda p: p.confidence, reverse=True):
        if all(
            hist_distance(pick.candidate.hist, p.candidate.hist) >= NEAR_DUPLICATE for p in taken
        ):
            taken.append(pick)
        if len(taken) == count:
            break
    return taken


class CandidatePool:
    """Keeps the best few samples per time bucket, doubling the buckets when there are too many,
    so a long video keeps candidates from all of its length in bounded memory."""

    def __init__(self, per_bucket: int = 3, max_buckets: int = 64, bucket_seconds: float = 1.0):
        self._per_bucket = per_bucket
        self._max_buckets = max_buckets
        self._bucket_seconds = bucket_seconds
        self._buckets: dict[int, list[Candidate]] = {}

    def add(self, cand: Candidate) -> None:
        if not cand.quality.usable:
            return
        key = int(cand.time // self._bucket_seconds)
        bucket = self._buckets.setdefault(key, [])
        bucket.append(cand)
        bucket.sort(key=lambda c: c.quality.confidence(1.0), reverse=True)
        del bucket[self._per_bucket :]
        if len(self._buckets) > self._max_buckets:
            self._bucket_seconds *= 2
            merged: dict[int, list[Candidate]] = {}
            for old_key, items in self._buckets.items():
                merged.setdefault(old_key // 2, []).extend(items)
            for items in merged.values():
                items.sort(key=lambda c: c.quality.confidence(1.0), reverse=True)
                del items[self._per_bucket :]
            self._buckets = merged

    def all(self) -> list[Candidate]:
        return sorted((c for items in self._buckets.values() for c in items), key=lambda c: c.index)
