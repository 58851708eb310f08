"""Every API call the pipeline makes goes through here: per-action limits, retries, metrics.

Each action has its own concurrency limit (a semaphore) and request budget (``quota.py``: this
process's token bucket, or the fleet's in Redis), because the cloud counts QPS per account.
Retryable errors (API.md: throttling, busy, 5xx, no answer) are retried with exponential backoff
and full jitter; others are raised at once. A throttled answer with a shared budget holds the
budget for the whole fleet instead, and the request waits its turn again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from videorecog.client import JobResult, VideorecogClient
from videorecog.pipeline.backoff import RetryPolicy
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.quota import Budgets
from videorecog.protocol.constants import Action
from videorecog.protocol.errors import ApiError, ThrottledError
from videorecog.protocol.tasks import Task

log = logging.getLogger(__name__)
T = TypeVar("T")


class Dispatcher:
    def __init__(
        self,
        client: VideorecogClient,
        metrics: PipelineMetrics,
        *,
        concurrency: int,
        budgets: Budgets,
        retry: RetryPolicy,
    ) -> None:
        self._client = client
        self._metrics = metrics
        self._retry = retry
        self._limits = {
            action: (asyncio.Semaphore(concurrency), budgets[action]) for action in Action
        }

    async def _call(self, action: Action, attempt_once: Callable[[], Awaitable[T]]) -> T:
        """Raises: ApiError, the last one, when not retryable or out of attempts."""
        semaphore, budget = self._limits[action]
        for attempt in range(self._retry.attempts):
            async with semaphore:
                waiting = time.perf_counter()
                await budget.acquire()
                started = time.perf_counter()
                self._metrics.quota_wait.labels(action.value).observe(started - waiting)
                try:
                    result = await attempt_once()
                except ApiError as exc:
                    self._observe(action, exc.code, started)
                    held = False
                    if isinstance(exc, ThrottledError):
                        self._metrics.quota_throttled.labels(action.value).inc()
                        held = await budget.hold()
                    if not exc.retryable or attempt == self._retry.attempts - 1:
                        raise
                    self._metrics.retries.labels(action.value, exc.code).inc()
                    # A held budget is the backoff: the retry waits its turn behind the hold.
                    delay = 0.0 if held else self._retry.delay(attempt)
                    log.debug(
                        "retrying",
                        extra={
                            "action": action.value,
                            "code": exc.code,
                            "attempt": attempt + 1,
                            "delay": delay,
                        },
                    )
                else:
                    self._observe(action, "Success", started)
                    return result
            await asyncio.sleep(delay)  # outside the semaphore: waiting holds no slot
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _observe(self, action: Action, code: str, started: float) -> None:
        self._metrics.api_requests.labels(action.value, code).inc()
        self._metrics.api_request_duration.labels(action.value).observe(
            time.perf_counter() - started
        )

    async def submit(self, task: Task, video_url: str) -> str:
        """Start the job for ``task``; returns its job id. Raises: ApiError."""
        job_id = await self._call(task.action, lambda: self._client.submit(task, video_url))
        self._metrics.jobs_submitted.labels(task.action.value).inc()
        return job_id

    async def poll(self, task: Task, job_id: str) -> JobResult:
        """Raises: ApiError."""
        self._metrics.polls.labels(task.action.value).inc()
        return await self._call(
            Action.GET_ASYNC_JOB_RESULT, lambda: self._client.get_async_job_result(job_id)
        )
