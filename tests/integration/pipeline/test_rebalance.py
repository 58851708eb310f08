"""Two pipelines in one group; one leaves mid-run with work unfinished: nothing is lost."""

from __future__ import annotations

import asyncio

import orjson

from tests.integration.pipeline.conftest import (
    Topics,
    event,
    pipeline_settings,
    produce,
    read_all,
    running,
    sample,
    simulated_api,
)


async def test_a_member_leaving_mid_run_loses_nothing(
    bootstrap_servers: str, topics: Topics
) -> None:
    count = 150
    await produce(
        bootstrap_servers,
        topics.input,
        [event(f"v{i}", f"http://media.example/{i}.mp4", ["shots"]) for i in range(count)],
    )
    async with simulated_api(median_job_seconds=1.0, seed=5) as (simulator, endpoint):
        common = {
            "VIDEORECOG_MAX_INFLIGHT": "40",
            "VIDEORECOG_MAX_INFLIGHT_PER_PARTITION": "20",
            "VIDEORECOG_API_RATE_LIMIT": "200",
            "VIDEORECOG_POLL_RATE_LIMIT": "200",
        }
        # The leaver's grace is too short to finish its work: the rest must move to the other.
        leaver = pipeline_settings(
            bootstrap_servers, topics, endpoint, VIDEORECOG_SHUTDOWN_GRACE_SECONDS="0.3", **common
        )
        stayer = pipeline_settings(bootstrap_servers, topics, endpoint, **common)
        async with running(stayer) as second:
            async with running(leaver) as first:
                async with asyncio.timeout(60):
                    # Leave once it has delivered some and has some in flight (jobs the other
                    # member submitted may finish at once when it takes their partitions over).
                    while (
                        sample(first, "results_published_total", status="succeeded") < 10
                        or first.in_flight == 0
                    ):
                        await asyncio.sleep(0.05)
                left_behind = first.in_flight
            results = await read_all(
                bootstrap_servers,
                topics.output,
                want=count,
                timeout=150,
                distinct=lambda r: orjson.loads(r.value)["video_id"],
            )
            assert sample(second, "results_published_total", status="succeeded") > 0
    seen = {orjson.loads(r.value)["video_id"] for r in results}
    assert seen == {f"v{i}" for i in range(count)}
    assert left_behind > 0, "the leaving member should have abandoned work in flight"
    # The new owner resumed the abandoned jobs from the job log instead of resubmitting them.
    assert all(n == 1 for n in simulator.state.submissions.values())
