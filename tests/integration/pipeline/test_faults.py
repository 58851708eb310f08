"""Throttling and busy errors are retried until every event completes; metrics count retries."""

from __future__ import annotations

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


async def test_every_event_completes_despite_throttling_and_busy_errors(
    bootstrap_servers: str, topics: Topics
) -> None:
    count = 60
    await produce(
        bootstrap_servers,
        topics.input,
        [event(f"v{i}", f"http://media.example/{i}.mp4", ["shots", "cover"]) for i in range(count)],
    )
    async with simulated_api(median_job_seconds=0.3, throttle_rate=0.2, busy_rate=0.1, seed=7) as (
        simulator,
        endpoint,
    ):
        settings = pipeline_settings(
            bootstrap_servers, topics, endpoint, VIDEORECOG_RETRY_ATTEMPTS="12"
        )
        async with running(settings) as pipeline:
            results = await read_all(bootstrap_servers, topics.output, want=count)
            retried = sum(
                sample(pipeline, "api_retries_total", action=a, code=c)
                for a in ("DetectVideoShot", "GenerateVideoCover", "GetAsyncJobResult")
                for c in ("Throttling.User", "InternalServerError.Busy", "ServiceUnavailable")
            )
    bodies = [orjson.loads(r.value) for r in results]
    assert sorted(b["video_id"] for b in bodies) == sorted(f"v{i}" for i in range(count))
    assert all(b["status"] == "succeeded" for b in bodies), [
        b["tasks"] for b in bodies if b["status"] != "succeeded"
    ]
    throttled = sum(v for k, v in simulator.state.requests.items() if "Throttling" in k)
    busy = sum(
        v for k, v in simulator.state.requests.items() if "Busy" in k or "ServiceUnavailable" in k
    )
    assert throttled > 0
    assert busy > 0
    assert retried == throttled + busy
    # Nothing was submitted twice: each URL got one job per task.
    assert all(n == 2 for n in simulator.state.submissions.values())
