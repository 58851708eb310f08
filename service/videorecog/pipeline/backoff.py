"""Backoff: exponential growth with full jitter for retries, capped growth for polls."""

from __future__ import annotations

import collections
import random
import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of retryable API errors: wait uniform(0, min(cap, base * 2**attempt))."""

    attempts: int = 6  # tries in all, the first included
    base_seconds: float = 0.5
    cap_seconds: float = 20.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait before try number ``attempt + 1`` (``attempt`` counts from 0)."""
        ceiling = min(self.cap_seconds, self.base_seconds * (2**attempt))
        return (rng or random).uniform(0.0, ceiling)


HEADROOM = 0.8


@dataclass(frozen=True)
class PollPolicy:
    """When to ask again about a job.

    The first poll goes out a little before the job is typically done (``expect_fraction`` of
    the median duration seen lately for that action, never sooner than ``first_seconds``); later
    ones keep the wait below ``first_seconds + slack_fraction x elapsed`` (with some headroom),
    so a result is noticed at most that late, and long jobs are asked about less and less often,
    up to ``cap_seconds``.
    """

    first_seconds: float = 1.0
    slack_fraction: float = 0.1
    expect_fraction: float = 0.8
    cap_seconds: float = 15.0
    deadline_seconds: float = 1800.0  # then the task is reported TIMEOUT_FAILED

    def first(self, typical_seconds: float | None) -> float:
        if typical_seconds is None:
            return self.first_seconds
        return min(
            self.cap_seconds, max(self.first_seconds, self.expect_fraction * typical_seconds)
        )

    def next(self, elapsed_seconds: float) -> float:
        allowance = self.first_seconds + self.slack_fraction * elapsed_seconds
        # Headroom: after the poll that sees the job done, publishing the result takes a moment.
        return min(self.cap_seconds, HEADROOM * allowance)


class TypicalDuration:
    """The median of the last ``window`` job durations (of one action)."""

    def __init__(self, window: int = 256) -> None:
        self._recent: collections.deque[float] = collections.deque(maxlen=window)
        self._median: float | None = None

    def add(self, seconds: float) -> None:
        self._recent.append(seconds)
        self._median = None

    def median(self) -> float | None:
        # Asked once per submission, changed once per finished job: sort only after a change.
        if self._median is None and self._recent:
            self._median = statistics.median(self._recent)
        return self._median
