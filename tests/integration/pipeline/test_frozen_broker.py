"""A broker that stops answering mid-run cannot hold the pipeline's stop sequence for good."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.integration.pipeline.conftest import (
    Topics,
    pipeline_settings,
    produce,
    sample,
    simulated_api,
    with_malformed,
)
from tests.support import NoidaBroker
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.runner import started
from videorecog.pipeline.transactions import TransactionFailedError

SESSION_SECONDS = 6  # the broker's least session timeout; the commit's deadline is one


@pytest.mark.parametrize("kafka_broker", ["private_noida"], indirect=True)
@pytest.mark.parametrize("delivery", ["at-least-once", "exactly-once"])
async def test_the_stop_sequence_ends_when_the_broker_stopped_answering(
    kafka_broker: NoidaBroker, topics: Topics, delivery: str
) -> None:
    """The broker freezes (SIGSTOP) mid-run, then the pipeline is told to stop: the drain and the
    last commit (exactly once: a transaction under way, its abort, then the last one) give up at
    their deadlines, and ``run`` ends instead of waiting for the broker. Exactly once, a
    transaction that was under way fails (the restart takes over from the last commit). The
    broker then comes back, so that the producers' flush at clean-up (which waits for it, as
    aiokafka's sender does) ends too."""
    uploads, _ = with_malformed(40, every=1000)
    await produce(kafka_broker.bootstrap_servers, topics.input, uploads)
    async with simulated_api(median_job_seconds=0.3, seed=7) as (_, endpoint):
        settings = pipeline_settings(
            kafka_broker.bootstrap_servers,
            topics,
            endpoint,
            VIDEORECOG_DELIVERY=delivery,
            VIDEORECOG_SHUTDOWN_GRACE_SECONDS="0.5",
            VIDEORECOG_KAFKA_SESSION_TIMEOUT_MS=str(SESSION_SECONDS * 1000),
            # Only the first and the last commits: the last has offsets to commit.
            VIDEORECOG_COMMIT_INTERVAL_SECONDS="600",
            VIDEORECOG_TRANSACTION_MAX_MS="600000",
            VIDEORECOG_TRANSACTION_MAX_EVENTS="1000",
        )
        stop = asyncio.Event()
        async with started(settings, PipelineMetrics(), host="127.0.0.1") as (pipeline, _):
            task = asyncio.create_task(pipeline.run(stop))
            while sample(pipeline, "results_published_total", status="succeeded") < 5:
                await asyncio.sleep(0.05)
            kafka_broker.freeze()
            frozen = time.monotonic()
            stop.set()
            done, _ = await asyncio.wait({task}, timeout=6 * SESSION_SECONDS)
            ended_after = time.monotonic() - frozen
            kafka_broker.thaw()
            if not done:
                task.cancel()
            error = task.exception() if done else None
    assert done, f"the stop sequence still waited {ended_after:.0f} s after the broker froze"
    # Drain, then at most a transaction under way and its abort, then the last commit.
    assert ended_after < 4 * SESSION_SECONDS + 5
    if delivery == "exactly-once":
        assert error is None or isinstance(error, TransactionFailedError)
    else:
        assert error is None
