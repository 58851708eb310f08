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
        self.queue_oldest_seconds = Gauge(
            f"{PREFIX}_queue_oldest_seconds",
            "How long the oldest waiting job has waited (0 when none)",
            registry=self.registry,
        )
        self.lease_expiries = Counter(
            f"{PREFIX}_lease_expiries",
            "Jobs taken again, or ended LIMIT_RETRY_FAILED, because their worker's lease ran out",
            registry=self.registry,
        )
        self.worker_busy = Gauge(
            f"{PREFIX}_worker_busy", "Videos this worker is analysing", registry=self.registry
        )
        self.worker_slots = Gauge(
            f"{PREFIX}_worker_slots",
            "Videos this worker analyses at once (0: not a worker)",
            registry=self.registry,
        )
        self.downloads = Counter(
            f"{PREFIX}_downloads", "Videos downloaded for analysis", registry=self.registry
        )
        self.decode_passes = Counter(
            f"{PREFIX}_decode_passes", "Full decoding passes over a video", registry=self.registry
        )
        self.analyses_reused = Counter(
            f"{PREFIX}_analyses_reused",
            "Jobs answered from an analysis of the same video made for another job",
            registry=self.registry,
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
