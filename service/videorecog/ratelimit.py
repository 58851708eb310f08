"""A token bucket: ``rate`` tokens a second, holding at most ``burst``.

The engine and the simulator use ``try_acquire`` through ``KeyedBuckets`` (one bucket per
account, over the limit: answer ``Throttling.User`` at once, like the cloud); a client uses
``acquire`` (wait for a token, so it never exceeds the account's QPS).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable


class TokenBucket:
    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._tokens = self.burst
        self._updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def try_acquire(self, tokens: float = 1.0) -> bool:
        """Take ``tokens`` if available now; never waits."""
        self._refill()
        if self._tokens >= tokens:
            self._tokens -= tokens
            return True
        return False

    async def acquire(self, tokens: float = 1.0) -> None:
        """Wait until ``tokens`` are available, then take them. Waiters are served in order."""
        async with self._lock:
            self._refill()
            if self._tokens < tokens:
                # Sleep exactly the deficit; the lock keeps later callers queued behind us.
                await asyncio.sleep((tokens - self._tokens) / self.rate)
                self._refill()
            self._tokens -= tokens


class KeyedBuckets:
    """One bucket per key (an AccessKeyId, or a key and an action), made on first use, each of
    ``rate`` requests/s with a burst of one second's worth: how an API counts each account."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._buckets: dict[Hashable, TokenBucket] = {}

    def try_acquire(self, key: Hashable) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, burst=max(1.0, self.rate))
        return bucket.try_acquire()
