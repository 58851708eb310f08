"""HTTP on the metrics port: ``/metrics``, ``/healthz`` (the loop is alive), ``/readyz``."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from videorecog.pipeline.service import Pipeline

STALL_SECONDS = 60.0  # the consume loop ticks every fraction of a second; a minute is a hang


def build_app(pipeline: Pipeline) -> web.Application:
    async def metrics(request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(pipeline.metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    async def healthz(request: web.Request) -> web.Response:
        stalled = time.monotonic() - pipeline.heartbeat > STALL_SECONDS
        return web.Response(status=503 if stalled else 200, text="stalled\n" if stalled else "ok\n")

    async def readyz(request: web.Request) -> web.Response:
        ready = pipeline.is_ready()
        return web.Response(
            status=200 if ready else 503, text="ready\n" if ready else "not ready\n"
        )

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


@contextlib.asynccontextmanager
async def serving(pipeline: Pipeline, host: str, port: int) -> AsyncIterator[int]:
    """Serve the app while the block runs; yields the bound port (useful with port 0)."""
    runner = web.AppRunner(build_app(pipeline), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        # aiohttp exposes the bound port (needed with port 0) only on the site's server.
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        yield int(sockets[0].getsockname()[1]) if sockets else port
    finally:
        await runner.cleanup()
