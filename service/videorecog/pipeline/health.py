"""HTTP on the metrics port: ``/metrics``, ``/healthz`` (the loop is alive), ``/readyz``."""

from __future__ import annotations

import time

from aiohttp import web

from videorecog.pipeline.service import Pipeline
from videorecog.serving import add_health_routes

STALL_SECONDS = 60.0  # the consume loop ticks every fraction of a second; a minute is a hang


def build_app(pipeline: Pipeline) -> web.Application:
    app = web.Application()
    add_health_routes(
        app,
        pipeline.metrics.registry,
        live=lambda: time.monotonic() - pipeline.heartbeat <= STALL_SECONDS,
        ready=pipeline.is_ready,
    )
    return app
