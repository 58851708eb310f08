"""Backoff: exponential growth with full jitter for retries, capped growth for polls."""

from __future__ import annotations

import random
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


@dataclass(frozen=True)
class PollPolicy:
    """When to ask again about a job: a short first wait, growing by ``factor``, capped."""

    first_seconds: float = 1.0
    factor: float = 1.6
    cap_seconds: float = 15.0
    deadline_seconds: float = 1800.0  # then the task is reported TIMEOUT_FAILED

    def interval(self, polls_so_far: int) -> float:
        return min(self.cap_seconds, self.first_seconds * self.factor**polls_so_far)
