"""A backlog of 5,000 events with a bound of 100: never more than 100 in flight, flat memory."""

from __future__ import annotations

import asyncio

from tests.integration.pipeline.conftest import (
    Topics,
    pipeline_settings,
    running,
    sample,
    simulated_api,
)
from videorecog.fleet import produce_uploads


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def test_bounded_in_flight_and_flat_memory(bootstrap_servers: str, topics: Topics) -> None:
    count, bound = 5000, 100
    await produce_uploads(bootstrap_servers, topics.input, count, ["shots"])

    async with simulated_api(median_job_seconds=0.05, job_time_spread=0.3, seed=11) as (
        _,
        endpoint,
    ):
        settings = pipeline_settings(
            bootstrap_servers,
            topics,
            endpoint,
            VIDEORECOG_MAX_INFLIGHT=str(bound),
            VIDEORECOG_MAX_INFLIGHT_PER_PARTITION=str(bound),
            VIDEORECOG_API_RATE_LIMIT="2000",
            VIDEORECOG_POLL_RATE_LIMIT="2000",
            VIDEORECOG_API_CONCURRENCY="32",
            VIDEORECOG_POLLERS="16",
            VIDEORECOG_POLL_FIRST_SECONDS="0.05",
            VIDEORECOG_POLL_MAX_SECONDS="0.2",
            VIDEORECOG_LOG_LEVEL="WARNING",
        )
        async with running(settings) as pipeline:
            peak_in_flight = 0
            rss_at: dict[int, float] = {}
            async with asyncio.timeout(240):
                while (
                    done := sample(pipeline, "results_published_total", status="succeeded")
                ) < count:
                    peak_in_flight = max(peak_in_flight, pipeline.in_flight)
                    for mark in (1000, 4500):
                        if done >= mark and mark not in rss_at:
                            rss_at[mark] = _rss_mb()
                    await asyncio.sleep(0.01)
            pending_polls = pipeline.pending_polls
    assert 0 < peak_in_flight <= bound
    assert pending_polls == 0
    # Memory does not grow with the backlog: 3,500 more events through, under 20 MB more.
    assert rss_at[4500] - rss_at[1000] < 20, rss_at
