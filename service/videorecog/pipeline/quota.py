"""The request budget of each action: this process's own, or one for the whole fleet in Redis.

The cloud counts requests per account, per action, over every replica and access key, and answers
``Throttling.User`` at once above the limit. With ``VIDEORECOG_QUOTA_REDIS_URL`` set, every replica
takes its turn from one bucket per action in Redis (key ``VIDEORECOG_QUOTA_KEY``, default the
AccessKeyId), so the fleet as a whole keeps to the account's budget however many replicas run.

The shared bucket is ``throttled-py``'s GCRA. It was chosen over ``pyrate-limiter`` because its Lua
script reads the time from Redis (``TIME``): the bucket is one clock's view, and a pod whose clock
is off cannot take more than its share, whereas pyrate-limiter's Redis state store is handed each
client's own wall clock. Both work with ``redis.asyncio``; throttled-py's async store is built on
it. The bucket holds one request (burst 1): the fleet spaces its requests evenly, so the jitter
of the network never adds up to a burst the API would refuse. A request waits for its turn
(``retry_after`` from the same script) and is never sent to be throttled.

A throttled answer that still arrives (other software shares the account) holds the action's
bucket for everyone for ``HOLD_SECONDS``: the whole fleet backs off, not one request.

If Redis does not answer, each replica falls back to a local bucket of ``rate /
VIDEORECOG_QUOTA_FALLBACK_REPLICAS``, logs it once, sets ``videorecog_pipeline_quota_fallback`` and
tries Redis again every ``RETRY_SECONDS``; work never waits on Redis for longer than
``TIMEOUT_SECONDS`` per try.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from fractions import Fraction
from typing import Protocol, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError
from throttled import RateLimiterType
from throttled.asyncio import RedisStore, Throttled, rate_limiter
from throttled.exceptions import StoreUnavailableError

from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.protocol.constants import Action
from videorecog.ratelimit import TokenBucket
from videorecog.settings import Settings

log = logging.getLogger(__name__)

KEY_PREFIX = "videorecog-quota"
HOLD_SECONDS = 1.0  # the cloud counts requests per second: a throttle means this second is spent
TIMEOUT_SECONDS = 0.5  # the longest a request waits on Redis itself before using the local bucket
RETRY_SECONDS = 1.0  # how often a replica on its local bucket asks Redis again
# throttled-py wraps the Redis errors of its own calls in StoreUnavailableError.
_UNREACHABLE = (RedisError, StoreUnavailableError, OSError, TimeoutError)


class Budget(Protocol):
    """One action's request budget."""

    async def acquire(self) -> None:
        """Wait for this request's turn."""

    async def hold(self) -> bool:
        """A throttled answer arrived: slow down everyone sharing this budget.

        Returns whether it was done for the fleet (then the request need not back off itself).
        """


Budgets = Mapping[Action, Budget]


def action_rates(settings: Settings) -> dict[Action, float]:
    """Requests/s per action: each submission action its own budget, polls theirs."""
    rates = dict.fromkeys(Action, settings.pipeline.api_rate_per_second)
    rates[Action.GET_ASYNC_JOB_RESULT] = settings.quota.poll_rate_per_second
    return rates


def local_budgets(rates: Mapping[Action, float]) -> dict[Action, Budget]:
    return {action: LocalBudget(rate) for action, rate in rates.items()}


class LocalBudget:
    """This process's own token bucket (no Redis: as many budgets as replicas)."""

    def __init__(self, rate: float) -> None:
        self._bucket = TokenBucket(rate)

    async def acquire(self) -> None:
        await self._bucket.acquire()

    async def hold(self) -> bool:
        return False  # the request backs off on its own, as it always did


class SharedQuota:
    """The Redis connection of one process's shared budgets, and whether Redis answers.

    Use as ``async with SharedQuota(...) as quota``; ``budget(action, rate)`` gives each action's.
    """

    def __init__(
        self,
        redis_url: str,
        key: str,
        metrics: PipelineMetrics,
        *,
        fallback_replicas: int = 1,
        timeout_seconds: float = TIMEOUT_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.key = key
        self.metrics = metrics
        self.fallback_replicas = fallback_replicas
        self.timeout_seconds = timeout_seconds
        self._retry_seconds = retry_seconds
        self.store = RedisStore(
            server=redis_url,
            options={"SOCKET_TIMEOUT": timeout_seconds, "SOCKET_CONNECT_TIMEOUT": timeout_seconds},
        )
        # throttled-py makes its client lazily and has no close(); its backend hands it out (typed
        # as a protocol; it is redis.asyncio's), and the holds use the same connections.
        self.redis = cast(Redis, self.store._backend.get_client())
        self._fallback_since: float | None = None
        self._next_try = 0.0
        metrics.quota_fallback.set(0)

    async def __aenter__(self) -> SharedQuota:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.redis.aclose()
        # The client was handed its pool, so closing the client leaves the pool's connections.
        await self.redis.connection_pool.disconnect()

    def budget(self, action: Action, rate: float) -> SharedBudget:
        return SharedBudget(self, action, rate)

    @property
    def on_fallback(self) -> bool:
        return self._fallback_since is not None

    def should_try(self) -> bool:
        """Redis is in use, or it is time to ask it again (one try per interval, all actions)."""
        if self._fallback_since is None:
            return True
        now = time.monotonic()
        if now < self._next_try:
            return False
        self._next_try = now + self._retry_seconds
        return True

    def unreachable(self, error: BaseException) -> None:
        self._next_try = time.monotonic() + self._retry_seconds
        if self._fallback_since is not None:
            return
        self._fallback_since = time.monotonic()
        self.metrics.quota_fallback.set(1)
        log.warning(
            "quota Redis unreachable: each replica uses rate / %d until it answers",
            self.fallback_replicas,
            extra={"error": f"{type(error).__name__}: {error}", "key": self.key},
        )

    def answered(self) -> None:
        if self._fallback_since is None:
            return
        seconds = time.monotonic() - self._fallback_since
        self._fallback_since = None
        self.metrics.quota_fallback.set(0)
        log.info(
            "quota Redis answers again: the fleet shares its budget",
            extra={"fallback_seconds": round(seconds, 1), "key": self.key},
        )


def gcra_quota(rate: float) -> rate_limiter.Quota:
    """GCRA quota of ``rate`` requests/s with a burst of one request.

    throttled-py counts whole requests over whole seconds, so 2.5/s is 5 per 2 s.
    """
    exact = Fraction(rate).limit_denominator(1000)
    per = rate_limiter.Rate(period=timedelta(seconds=exact.denominator), limit=exact.numerator)
    return rate_limiter.Quota(per, burst=1)


class SharedBudget:
    """One action's budget, shared by every replica through Redis (local while it is away)."""

    def __init__(self, quota: SharedQuota, action: Action, rate: float) -> None:
        self._quota = quota
        self._key = f"{quota.key}:{action.value}"
        self._hold_key = f"{KEY_PREFIX}:hold:{self._key}"
        self._hold_ms = int(HOLD_SECONDS * 1000)
        self._limiter = Throttled(
            using=RateLimiterType.GCRA.value,
            quota=gcra_quota(rate),
            store=quota.store,
            key_prefix=KEY_PREFIX,
            timeout=-1,  # never its own polling wait: we sleep exactly the retry_after it returns
        )
        self._fallback = TokenBucket(rate / quota.fallback_replicas)
        # One asker per process and action: the others queue here, in order, not in Redis.
        self._turn = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._turn:
            while self._quota.should_try():
                try:
                    async with asyncio.timeout(self._quota.timeout_seconds):
                        wait = await self._wait_seconds()
                except _UNREACHABLE as error:
                    self._quota.unreachable(error)
                    break
                self._quota.answered()
                if wait <= 0:
                    return
                await asyncio.sleep(wait)
            await self._fallback.acquire()

    async def _wait_seconds(self) -> float:
        """0 when the turn is taken; else how long to wait before asking again."""
        held_ms = await self._quota.redis.pttl(self._hold_key)
        if held_ms > 0:
            return float(held_ms) / 1000
        result = await self._limiter.limit(self._key)
        return result.state.retry_after if result.limited else 0.0

    async def hold(self) -> bool:
        if self._quota.on_fallback:
            return False
        try:
            async with asyncio.timeout(self._quota.timeout_seconds):
                await self._quota.redis.set(self._hold_key, b"1", px=self._hold_ms)
        except _UNREACHABLE as error:
            self._quota.unreachable(error)
            return False
        return True


@asynccontextmanager
async def budgets(settings: Settings, metrics: PipelineMetrics) -> AsyncIterator[Budgets]:
    """Each action's budget for the process's lifetime: shared with Redis set, else local."""
    rates = action_rates(settings)
    for action, rate in rates.items():
        metrics.quota_rate.labels(action.value).set(rate)
    q = settings.quota
    if not q.redis_url:
        yield local_budgets(rates)
        return
    key = q.key or settings.api.access_key_id or "default"
    async with SharedQuota(
        q.redis_url.reveal(), key, metrics, fallback_replicas=q.fallback_replicas
    ) as quota:
        yield {action: quota.budget(action, rate) for action, rate in rates.items()}
