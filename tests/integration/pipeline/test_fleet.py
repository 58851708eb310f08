"""Four pipeline processes in one consumer group against an account budget of 2 submissions/s per
action (the simulator enforcing it like the cloud): one budget in Redis keeps them within it and
uses it, four per-process buckets are throttled. The full two-minute run is ``bench/pipeline.py
--fleet``; this one is short, so its use-of-budget threshold is looser (50 submissions per action
in the window: one missing is 2%)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CREDENTIALS
from tests.integration.pipeline.conftest import simulated_api
from videorecog.broker import EmbeddedBroker
from videorecog.fleet import SUBMISSIONS, run_fleet

BUDGET = 2.0
KEY = ("ak-test", CREDENTIALS["ak-test"])


@pytest.mark.slow  # about 100 s: the fleet run of bench/pipeline.py measures it at full length
@pytest.mark.timeout(420)
async def test_four_replicas_share_the_account_budget(
    kafka_broker: EmbeddedBroker, redis_url: str, tmp_path: Path
) -> None:
    """With the budget in Redis the simulator throttles at most 1% and the fleet uses at least
    90% of it; with a bucket per process most submissions are throttled."""
    async with simulated_api(
        account_rate=BUDGET, poll_account_rate=20.0, median_job_seconds=1.0, seed=13
    ) as (_, endpoint):
        shared = await run_fleet(
            kafka_broker.bootstrap_servers, endpoint, KEY, replicas=4, budget=BUDGET,
            seconds=25.0, redis_url=redis_url, logs=tmp_path,
        )  # fmt: skip
        alone = await run_fleet(
            kafka_broker.bootstrap_servers, endpoint, KEY, replicas=4, budget=BUDGET,
            seconds=15.0, redis_url=None, logs=tmp_path,
        )  # fmt: skip
    rates = {a.value: round(shared.submission_rate(a), 2) for a in SUBMISSIONS}
    assert shared.throttled_share <= 0.01, shared.answers
    assert shared.budget_use >= 0.90, rates
    assert shared.gave_up == 0
    assert alone.throttled_share >= 0.3, alone.answers
