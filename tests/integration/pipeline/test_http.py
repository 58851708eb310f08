"""The metrics port: every contracted metric, liveness, readiness through start and shutdown."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.integration.pipeline.conftest import (
    Topics,
    event,
    pipeline_settings,
    produce,
    read_all,
    simulated_api,
    stopped,
)
from videorecog.pipeline.runner import started

DESIGN_METRICS = [
    "videorecog_pipeline_events_consumed_total",
    "videorecog_pipeline_events_invalid_total",
    "videorecog_pipeline_api_requests_total",
    "videorecog_pipeline_api_request_duration_seconds",
    "videorecog_pipeline_jobs_submitted_total",
    "videorecog_pipeline_jobs_completed_total",
    "videorecog_pipeline_jobs_pending",
    "videorecog_pipeline_job_duration_seconds",
    "videorecog_pipeline_polls_total",
    "videorecog_pipeline_results_published_total",
    "videorecog_pipeline_dlq_published_total",
    "videorecog_pipeline_inflight_events",
    "videorecog_pipeline_consumer_lag",
    "videorecog_pipeline_commits_total",
    "videorecog_pipeline_inflight_events_limit",
]


async def test_metrics_health_and_readiness(bootstrap_servers: str, topics: Topics) -> None:
    await produce(
        bootstrap_servers,
        topics.input,
        [event("v1", "http://media.example/1.mp4", ["shots"]), (b"x", b"{", [])],
    )
    async with simulated_api(median_job_seconds=0.1) as (_, endpoint):
        settings = pipeline_settings(bootstrap_servers, topics, endpoint)
        stop = asyncio.Event()
        async with (
            started(settings, host="127.0.0.1") as (pipeline, port),
            aiohttp.ClientSession() as http,
        ):
            base = f"http://127.0.0.1:{port}"
            async with http.get(f"{base}/readyz") as response:
                assert response.status == 503  # not started: no partitions yet
            task = asyncio.create_task(pipeline.run(stop))
            await read_all(bootstrap_servers, topics.output, want=1)
            async with http.get(f"{base}/readyz") as response:
                assert response.status == 200
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200
            async with http.get(f"{base}/metrics") as response:
                text = await response.text()
            stop.set()
            await asyncio.sleep(0)
            async with http.get(f"{base}/readyz") as response:
                assert response.status == 503  # shutting down
            await stopped(task, 60)
    missing = [name for name in DESIGN_METRICS if name not in text]
    assert not missing
    assert 'videorecog_pipeline_events_invalid_total{reason="not_json"} 1.0' in text
    limit = float(settings.pipeline.max_inflight)
    assert f"videorecog_pipeline_inflight_events_limit {limit}" in text
    assert f'videorecog_pipeline_consumer_lag{{partition="0",topic="{topics.input}"}}' in text
