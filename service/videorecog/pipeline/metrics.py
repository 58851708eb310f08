"""The pipeline's Prometheus metrics (names are a contract: DESIGN.md, dashboards, alerts)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

PREFIX = "videorecog_pipeline"
_API_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_JOB_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800)
_COPY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
COVER_STORE_FAILURES = ("download", "too_large", "upload", "unexpected")
"""Why a cover copy failed: the ``reason`` label of ``cover_store_failures_total``."""
_QUOTA_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class PipelineMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        self.events_consumed = Counter(
            f"{PREFIX}_events_consumed", "Upload events read", registry=r
        )
        self.events_invalid = Counter(
            f"{PREFIX}_events_invalid",
            "Events that can never be processed, by reason",
            ["reason"],
            registry=r,
        )
        self.api_requests = Counter(
            f"{PREFIX}_api_requests",
            "API requests made, by action and answer code",
            ["action", "code"],
            registry=r,
        )
        self.api_request_duration = Histogram(
            f"{PREFIX}_api_request_duration_seconds",
            "API request latency",
            ["action"],
            buckets=_API_BUCKETS,
            registry=r,
        )
        self.jobs_submitted = Counter(
            f"{PREFIX}_jobs_submitted", "Jobs submitted", ["action"], registry=r
        )
        self.jobs_completed = Counter(
            f"{PREFIX}_jobs_completed",
            "Jobs that reached a final status",
            ["action", "status"],
            registry=r,
        )
        self.jobs_pending = Gauge(
            f"{PREFIX}_jobs_pending", "Jobs being polled", ["action"], registry=r
        )
        self.job_duration = Histogram(
            f"{PREFIX}_job_duration_seconds",
            "Submit to final status",
            ["action"],
            buckets=_JOB_BUCKETS,
            registry=r,
        )
        self.polls = Counter(f"{PREFIX}_polls", "GetAsyncJobResult calls", ["action"], registry=r)
        self.retries = Counter(
            f"{PREFIX}_api_retries",
            "Retried API requests, by action and code",
            ["action", "code"],
            registry=r,
        )
        self.results_published = Counter(
            f"{PREFIX}_results_published", "Result records published", ["status"], registry=r
        )
        self.dlq_published = Counter(
            f"{PREFIX}_dlq_published",
            "Events sent to the dead-letter topic",
            ["reason"],
            registry=r,
        )
        self.inflight_events = Gauge(f"{PREFIX}_inflight_events", "Events in flight", registry=r)
        # Exported so that alerts can say "near the bound" without knowing the setting.
        self.inflight_events_limit = Gauge(
            f"{PREFIX}_inflight_events_limit",
            "Bound on events in flight (VIDEORECOG_MAX_INFLIGHT)",
            registry=r,
        )
        self.consumer_lag = Gauge(
            f"{PREFIX}_consumer_lag",
            "Records behind the end of each partition",
            ["topic", "partition"],
            registry=r,
        )
        self.commits = Counter(f"{PREFIX}_commits", "Offset commits", registry=r)
        # Durable covers (VIDEORECOG_COVER_STORE_URL).
        self.covers_stored = Counter(
            f"{PREFIX}_covers_stored", "Covers copied to the cover store", registry=r
        )
        self.cover_store_failures = Counter(
            f"{PREFIX}_cover_store_failures",
            "Cover copies that failed after their retries (marked store_error), by reason",
            ["reason"],
            registry=r,
        )
        # Every reason exported from the start: an alert's rate() then sees the first failure.
        for reason in COVER_STORE_FAILURES:
            self.cover_store_failures.labels(reason)
        self.cover_store_bytes = Counter(
            f"{PREFIX}_cover_store_bytes", "Bytes of covers copied to the cover store", registry=r
        )
        self.cover_store_duration = Histogram(
            f"{PREFIX}_cover_store_duration_seconds",
            "One cover's copy, download to stored or failed, retries included",
            buckets=_COPY_BUCKETS,
            registry=r,
        )
        # The request budget (pipeline/quota.py).
        self.quota_wait = Histogram(
            f"{PREFIX}_quota_wait_seconds",
            "Time a request waited for its turn in the request budget",
            ["action"],
            buckets=_QUOTA_BUCKETS,
            registry=r,
        )
        self.quota_throttled = Counter(
            f"{PREFIX}_quota_throttled",
            "Answers over the account's request quota (Throttling*), by action",
            ["action"],
            registry=r,
        )
        self.quota_rate = Gauge(
            f"{PREFIX}_quota_rate",
            "Request budget per action, requests/s (the fleet's when shared through Redis)",
            ["action"],
            registry=r,
        )
        self.quota_fallback = Gauge(
            f"{PREFIX}_quota_fallback",
            "1 while the shared budget's Redis is unreachable and this replica uses its own",
            registry=r,
        )
