"""The API simulator enforces an account's request budget the way the cloud does."""

from __future__ import annotations

import asyncio

from tests.integration.pipeline.conftest import simulated_api
from videorecog.client import VideorecogClient
from videorecog.protocol.errors import ApiError


async def _codes(calls: list[asyncio.Future[object]]) -> list[str]:
    results = await asyncio.gather(*calls, return_exceptions=True)
    return [r.code if isinstance(r, ApiError) else "Success" for r in results]


async def test_over_the_account_budget_is_throttled_at_once_per_action() -> None:
    """Two connections of one AccessKey share its 2/s per action: the rest is Throttling.User,
    another action has its own budget, and polls are not counted against submissions."""
    url = "http://media.example/v.mp4"
    async with (
        simulated_api(account_rate=2.0) as (_, endpoint),
        VideorecogClient(endpoint, "ak-test", "sk-test") as first,
        VideorecogClient(endpoint, "ak-test", "sk-test") as second,
    ):
        job_id = await first.detect_video_shot(url)
        polls = await _codes(
            [asyncio.ensure_future(second.get_async_job_result(job_id)) for _ in range(10)]
        )
        assert polls == ["Success"] * 10

        shots = await _codes(
            [
                asyncio.ensure_future(client.detect_video_shot(url))
                for client in (first, second)
                for _ in range(6)
            ]
        )
        # One of the burst of 2 is spent; maybe one more refilled meanwhile.
        assert 1 <= shots.count("Success") <= 3
        assert shots.count("Throttling.User") == 12 - shots.count("Success")

        covers = await _codes(
            [asyncio.ensure_future(first.generate_video_cover(url, False)) for _ in range(2)]
        )
        assert covers == ["Success", "Success"]
