"""The engine's Prometheus metrics (names are a contract: DESIGN.md, dashboards, alerts)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

PREFIX = "videorecog_engine"


class EngineMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            f"{PREFIX}_requests",
            "API requests answered, by action and code",
            ["action", "code"],
            registry=self.registry,
        )
        self.jobs = Counter(
            f"{PREFIX}_jobs",
            "Jobs that reached a final status",
            ["action", "status"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            f"{PREFIX}_queue_depth", "Jobs waiting for an analysis worker", registry=self.registry
        )
        self.analysis_seconds = Histogram(
            f"{PREFIX}_analysis_seconds",
            "Time to analyse one video (download excluded)",
            ["action"],
            registry=self.registry,
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
        )
        self.analysis_frames = Counter(
            f"{PREFIX}_analysis_frames", "Video frames analysed", registry=self.registry
        )
