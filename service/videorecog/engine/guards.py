"""Nonce replay protection and the per-AccessKey request rate, in one process or shared.

A front door asks ``Guards`` whether a nonce is new and whether a key may make a request now.
``LocalGuards`` keeps both in memory: right for the embedded engine, one process. ``PostgresGuards``
keeps them in the shared store, so that a nonce used on one front door is refused by every other,
and the rate holds for the key across them all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from psycopg_pool import AsyncConnectionPool

from videorecog.engine.auth import WINDOW_SECONDS, NonceCache
from videorecog.ratelimit import KeyedBuckets

# A timestamp may be up to a window in the future, so a nonce is remembered for two windows.
NONCE_MEMORY_SECONDS = 2 * WINDOW_SECONDS


class Guards(Protocol):
    async def use_nonce(self, access_key_id: str, nonce: str) -> bool:
        """Record the nonce; False if it was used before."""
        ...

    async def admit(self, access_key_id: str) -> bool:
        """Whether the key may make one more request now."""
        ...

    async def forget_expired(self) -> None: ...


class LocalGuards:
    def __init__(self, rate: float, clock: Callable[[], float] = time.time) -> None:
        self._nonces = NonceCache(WINDOW_SECONDS, clock)
        self._buckets = KeyedBuckets(rate)

    async def use_nonce(self, access_key_id: str, nonce: str) -> bool:
        return self._nonces.use(access_key_id, nonce)

    async def admit(self, access_key_id: str) -> bool:
        return self._buckets.try_acquire(access_key_id)

    async def forget_expired(self) -> None:
        """Forgotten as they are checked."""


_NOW = "extract(epoch from clock_timestamp())"
# GCRA (the token bucket as one timestamp): each request moves the key's theoretical arrival time
# ``tat`` one interval on; it is refused when that would put ``tat`` more than the burst ahead.
# The row's lock makes the read and the write one step across every front door. ``now``: the
# guards' own clock, or NULL for the database's.
_ADMIT = f"""
INSERT INTO engine_rate_limits AS r (key, tat)
VALUES (%(key)s, coalesce(%(now)s::float8, {_NOW}::float8) + %(interval)s)
ON CONFLICT (key) DO UPDATE
SET tat = greatest(r.tat, EXCLUDED.tat - %(interval)s) + %(interval)s
WHERE greatest(r.tat, EXCLUDED.tat - %(interval)s) - (EXCLUDED.tat - %(interval)s)
    <= %(tolerance)s
RETURNING tat
"""  # noqa: S608
_USE_NONCE = f"""
INSERT INTO engine_nonces AS n (access_key_id, nonce, expires_at)
VALUES (%s, %s, {_NOW} + %s)
ON CONFLICT (access_key_id, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at
WHERE n.expires_at < {_NOW}
RETURNING 1
"""  # noqa: S608


class PostgresGuards:
    """``clock``: the seconds the request rate is counted by. By default the database's clock,
    one for every front door whatever their own clocks say."""

    def __init__(
        self, pool: AsyncConnectionPool, rate: float, clock: Callable[[], float] | None = None
    ) -> None:
        self._pool, self._clock = pool, clock
        self._interval = 1.0 / rate
        # The same burst as the embedded engine's buckets: one second's worth, at least one.
        self._tolerance = (max(1.0, rate) - 1.0) * self._interval

    async def use_nonce(self, access_key_id: str, nonce: str) -> bool:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_USE_NONCE, (access_key_id, nonce, NONCE_MEMORY_SECONDS))
            return await cursor.fetchone() is not None

    async def admit(self, access_key_id: str) -> bool:
        params = {
            "key": access_key_id,
            "interval": self._interval,
            "tolerance": self._tolerance,
            "now": self._clock() if self._clock is not None else None,
        }
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_ADMIT, params)
            return await cursor.fetchone() is not None

    async def forget_expired(self) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(f"DELETE FROM engine_nonces WHERE expires_at < {_NOW}")  # noqa: S608
