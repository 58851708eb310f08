"""A second member joins mid-run, then the first leaves with work unfinished: nothing is lost."""

from __future__ import annotations

import asyncio
import contextlib

import orjson

from tests.conftest import chains
from tests.integration.pipeline.conftest import (
    Topics,
    assert_delivered,
    pipeline_settings,
    produce,
    read_all,
    running,
    sample,
    simulated_api,
    with_malformed,
)


@chains
async def test_a_member_joining_then_one_leaving_mid_run_loses_nothing(
    bootstrap_servers: str, topics: Topics, delivery: str
) -> None:
    """A second pipeline joins the group mid-run and the first then stops (the SIGTERM path) with
    work in flight: every event gets its result (malformed ones their dead letter), exactly once
    with exactly-once delivery, and the new owners poll the abandoned jobs instead of submitting
    them again."""
    count = 150
    uploads, malformed = with_malformed(count, every=25)
    await produce(bootstrap_servers, topics.input, uploads)
    async with simulated_api(median_job_seconds=1.0, seed=5) as (simulator, endpoint):
        common = {
            "VIDEORECOG_DELIVERY": delivery,
            "VIDEORECOG_MAX_INFLIGHT": "40",
            "VIDEORECOG_MAX_INFLIGHT_PER_PARTITION": "20",
            "VIDEORECOG_API_RATE_LIMIT": "200",
            "VIDEORECOG_POLL_RATE_LIMIT": "200",
        }
        # The leaver's grace is too short to finish its work: the rest must move to the other.
        leaver = pipeline_settings(
            bootstrap_servers, topics, endpoint, VIDEORECOG_SHUTDOWN_GRACE_SECONDS="0.3", **common
        )
        joiner = pipeline_settings(bootstrap_servers, topics, endpoint, **common)
        async with contextlib.AsyncExitStack() as joined:
            async with running(leaver) as first:
                async with asyncio.timeout(60):
                    while sample(first, "results_published_total", status="succeeded") < 10:
                        await asyncio.sleep(0.05)
                    second = await joined.enter_async_context(running(joiner))
                    # Leave once both hold partitions and the leaver has work in flight (jobs
                    # the other submitted may finish at once when it takes them over).
                    while not (first.is_ready() and second.is_ready() and first.in_flight > 0):
                        await asyncio.sleep(0.05)
                left_behind = first.in_flight
            results = await read_all(
                bootstrap_servers,
                topics.output,
                want=count,
                timeout=150,
                distinct=lambda r: orjson.loads(r.value)["video_id"],
            )
            dead = await read_all(bootstrap_servers, topics.dlq, want=len(malformed))
            assert sample(second, "results_published_total", status="succeeded") > 0
    assert_delivered(results, dead, count, malformed, delivery)
    assert left_behind > 0, "the leaving member should have abandoned work in flight"
    assert all(n == 1 for n in simulator.state.submissions.values())
