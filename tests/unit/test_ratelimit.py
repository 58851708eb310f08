from __future__ import annotations

import asyncio
import time

from videorecog.ratelimit import TokenBucket


def test_try_acquire_allows_the_burst_then_the_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=2.0, burst=3.0, clock=lambda: now[0])
    assert [bucket.try_acquire() for _ in range(4)] == [True, True, True, False]
    now[0] = 0.5
    assert bucket.try_acquire()
    assert not bucket.try_acquire()


async def test_acquire_waits_for_tokens() -> None:
    """Six tokens at 20/s from a burst of 2 take at least (6-2)/20 = 0.2 s."""
    bucket = TokenBucket(rate=20.0, burst=2.0)
    started = time.monotonic()
    await asyncio.gather(*(bucket.acquire() for _ in range(6)))
    assert time.monotonic() - started >= 0.18
