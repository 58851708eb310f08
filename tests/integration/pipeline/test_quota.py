"""The request budget against real Redis: shared by instances, held on throttling, local while
Redis is away. Timings are loose on purpose: the machine is shared and small."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import orjson
import pytest

from tests.conftest import Topics
from tests.integration.pipeline.conftest import (
    event,
    pipeline_settings,
    produce,
    read_all,
    running,
    sample,
    simulated_api,
)
from tests.stores import KillableRedis
from videorecog.client import VideorecogClient
from videorecog.pipeline.backoff import RetryPolicy
from videorecog.pipeline.dispatcher import Dispatcher
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.quota import HOLD_SECONDS, Budget, LocalBudget, SharedQuota
from videorecog.protocol.constants import Action
from videorecog.protocol.errors import ThrottlingUser
from videorecog.protocol.tasks import TASKS

SHOTS = Action.DETECT_VIDEO_SHOT
QUOTA_LOG = "videorecog.pipeline.quota"


async def _grants(budgets: list[Budget], seconds: float, askers: int = 3) -> int:
    """How many turns ``askers`` coroutines per budget take in ``seconds``."""
    taken = 0
    deadline = time.monotonic() + seconds

    async def ask(budget: Budget) -> None:
        nonlocal taken
        while True:
            await budget.acquire()
            if time.monotonic() >= deadline:
                return
            taken += 1

    async with asyncio.timeout(seconds + 10):
        await asyncio.gather(*(ask(b) for b in budgets for _ in range(askers)))
    return taken


@pytest.fixture
async def quotas(redis_url: str, redis_prefix: str) -> AsyncIterator[Callable[..., SharedQuota]]:
    """Make SharedQuota instances on the test's key, each with its own connections, closed after."""
    async with AsyncExitStack() as stack:

        def make(**kwargs: object) -> SharedQuota:
            quota = SharedQuota(redis_url, redis_prefix, PipelineMetrics(), **kwargs)  # type: ignore[arg-type]
            stack.push_async_callback(quota.close)
            return quota

        yield make


async def test_instances_sharing_a_key_keep_the_combined_rate(
    quotas: Callable[..., SharedQuota],
) -> None:
    """Four instances sharing one 10/s budget take about 10 turns/s together, not 40."""
    rate, seconds = 10.0, 3.0
    shared = [quotas().budget(SHOTS, rate) for _ in range(4)]
    taken = await _grants(list(shared), seconds)
    assert 0.8 * rate * seconds <= taken <= rate * seconds + 2

    local = [LocalBudget(rate) for _ in range(4)]
    assert await _grants(list(local), seconds) >= 3 * rate * seconds  # what sharing removes


async def test_a_hold_makes_every_sharer_wait(quotas: Callable[..., SharedQuota]) -> None:
    """A throttled answer seen by one instance holds the budget for the others too."""
    first, second = quotas().budget(SHOTS, 50.0), quotas().budget(SHOTS, 50.0)
    await second.acquire()
    assert await first.hold()
    started = time.monotonic()
    await second.acquire()
    assert 0.8 * HOLD_SECONDS <= time.monotonic() - started <= 3 * HOLD_SECONDS
    other_action = quotas().budget(Action.GENERATE_VIDEO_COVER, 50.0)
    started = time.monotonic()
    await other_action.acquire()
    assert time.monotonic() - started < 0.5 * HOLD_SECONDS  # each action is held apart


async def test_throttled_answer_holds_the_shared_budget(
    quotas: Callable[..., SharedQuota],
) -> None:
    """The dispatcher counts a Throttling answer and holds the fleet's budget, not one request."""
    metrics = PipelineMetrics()
    quota = quotas()
    budgets = {action: quota.budget(action, 50.0) for action in Action}
    async with (
        simulated_api(throttle_rate=1.0) as (_, endpoint),
        VideorecogClient(endpoint, "ak-test", "sk-test") as client,
    ):
        dispatcher = Dispatcher(
            client, metrics, concurrency=2, budgets=budgets, retry=RetryPolicy(attempts=1)
        )
        with pytest.raises(ThrottlingUser):
            await dispatcher.submit(TASKS["shots"], "http://media.example/v.mp4")
    throttled = metrics.registry.get_sample_value(
        "videorecog_pipeline_quota_throttled_total", {"action": SHOTS.value}
    )
    assert throttled == 1
    replica = quotas().budget(SHOTS, 50.0)
    started = time.monotonic()
    await replica.acquire()
    assert time.monotonic() - started >= 0.5 * HOLD_SECONDS


async def test_redis_away_falls_back_to_a_local_share_and_comes_back(
    killable_redis: KillableRedis, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Without Redis each replica takes rate / fallback replicas, says so once, never stalls,
    and shares the budget again once Redis answers."""
    caplog.set_level(logging.INFO, logger=QUOTA_LOG)
    metrics = PipelineMetrics()

    def fallback() -> float | None:
        return metrics.registry.get_sample_value("videorecog_pipeline_quota_fallback")

    async with SharedQuota(
        killable_redis.url, redis_prefix, metrics, fallback_replicas=2, retry_seconds=0.5
    ) as quota:
        budget = quota.budget(SHOTS, 10.0)
        await budget.acquire()
        assert fallback() == 0

        killable_redis.kill()
        started = time.monotonic()
        slowest = 0.0
        for _ in range(15):
            asked = time.monotonic()
            await budget.acquire()
            slowest = max(slowest, time.monotonic() - asked)
        elapsed = time.monotonic() - started
        assert fallback() == 1
        assert slowest < 1.5  # each request waits for its local turn, never on Redis
        assert elapsed >= 0.8 * (15 - 5) / 5  # 10/s over 2 replicas, a burst of 5 first
        unreachable = [r for r in caplog.records if "unreachable" in r.getMessage()]
        assert len(unreachable) == 1

        killable_redis.start()
        async with asyncio.timeout(10):
            while fallback() != 0:
                await budget.acquire()
        assert any("answers again" in r.getMessage() for r in caplog.records)


async def test_a_redis_refusing_the_budget_script_falls_back(
    redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A Redis that answers but will not run the GCRA script (scripting renamed away) is treated
    as unreachable: the request gets its local turn instead of an error."""
    caplog.set_level(logging.INFO, logger=QUOTA_LOG)
    server = KillableRedis("--rename-command", "EVALSHA", "", "--rename-command", "EVAL", "")
    server.start()
    metrics = PipelineMetrics()
    try:
        async with SharedQuota(server.url, redis_prefix, metrics) as quota:
            await quota.budget(SHOTS, 10.0).acquire()
    finally:
        server.kill()
    assert metrics.registry.get_sample_value("videorecog_pipeline_quota_fallback") == 1
    assert any("unreachable" in r.getMessage() for r in caplog.records)


async def test_pipeline_completes_every_event_when_redis_stops_mid_run(
    bootstrap_servers: str,
    topics: Topics,
    killable_redis: KillableRedis,
    redis_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis killed while a pipeline works from the shared budget: every event still completes,
    the fallback gauge is 1 and the fallback is logged once."""
    caplog.set_level(logging.INFO, logger=QUOTA_LOG)
    count = 30
    await produce(
        bootstrap_servers,
        topics.input,
        [event(f"v{i}", f"http://media.example/{i}.mp4", ["shots", "cover"]) for i in range(count)],
    )
    async with simulated_api(median_job_seconds=0.3, seed=17) as (simulator, endpoint):
        settings = pipeline_settings(
            bootstrap_servers,
            topics,
            endpoint,
            VIDEORECOG_QUOTA_REDIS_URL=killable_redis.url,
            VIDEORECOG_QUOTA_KEY=redis_prefix,
            VIDEORECOG_API_RATE_LIMIT="10",
            VIDEORECOG_QUOTA_FALLBACK_REPLICAS="2",
        )
        async with running(settings) as pipeline:
            await read_all(bootstrap_servers, topics.output, want=5, distinct=lambda r: r.key)
            assert sample(pipeline, "quota_fallback") == 0
            killable_redis.kill()
            results = await read_all(
                bootstrap_servers, topics.output, want=count, distinct=lambda r: r.key
            )
            assert sample(pipeline, "quota_fallback") == 1
    bodies = {orjson.loads(r.value)["video_id"]: orjson.loads(r.value) for r in results}
    assert sorted(bodies) == sorted(f"v{i}" for i in range(count))
    assert all(b["status"] == "succeeded" for b in bodies.values())
    unreachable = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(unreachable) == 1
    assert all(n == 2 for n in simulator.state.submissions.values())
