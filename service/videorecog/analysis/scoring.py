"""Scoring detected boundaries against labels (the project's reviewers' rules).

A detection matches a hard cut within ``tolerance`` frames, a gradual transition anywhere in
``[first - tolerance, last + tolerance]``; each true boundary matches at most one detection;
detections inside an ``uncertain`` span are neither rewarded nor punished.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Labels:
    cuts: tuple[int, ...] = ()
    gradual: tuple[tuple[int, int], ...] = ()
    uncertain: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Score:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: Score) -> Score:
        return Score(
            self.true_positives + other.true_positives,
            self.false_positives + other.false_positives,
            self.false_negatives + other.false_negatives,
        )


def score(detected: Sequence[int], labels: Labels, tolerance: int = 2) -> Score:
    """Greedy one-to-one matching of detections to true boundaries."""
    truths = [(c - tolerance, c + tolerance) for c in labels.cuts]
    truths += [(a - tolerance, b + tolerance) for a, b in labels.gradual]
    used = [False] * len(truths)
    tp = fp = 0
    for d in sorted(detected):
        if d == 0:
            continue  # frame 0 starts the first shot; it is no boundary
        match = next(
            (i for i, (lo, hi) in enumerate(truths) if not used[i] and lo <= d <= hi), None
        )
        if match is not None:
            used[match] = True
            tp += 1
        elif not any(lo <= d <= hi for lo, hi in labels.uncertain):
            fp += 1
    return Score(tp, fp, used.count(False))
