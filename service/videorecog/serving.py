"""Serving an aiohttp application, and the health routes every server of the project has.

``serving(app, host, port)`` runs the app (its ``cleanup_ctx`` included) while the block runs and
yields the bound port (useful with port 0); ``add_health_routes`` adds ``/metrics``, ``/healthz``
and ``/readyz``. The engine, the pipeline, the simulator and the dev stack all serve through here.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


@contextlib.asynccontextmanager
async def serving(app: web.Application, host: str, port: int) -> AsyncIterator[int]:
    """Start ``app`` (its cleanup contexts first), listen, yield the bound port; then stop it.

    Teardown runs even when start-up failed half-way: contexts already entered are exited in
    reverse order.
    """
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    try:
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        addresses = runner.addresses
        yield int(addresses[0][1]) if addresses else port
    finally:
        await runner.cleanup()


def add_health_routes(
    app: web.Application,
    registry: CollectorRegistry,
    *,
    live: Callable[[], bool] = lambda: True,
    ready: Callable[[], bool] = lambda: True,
) -> None:
    """``/metrics`` (Prometheus text), ``/healthz`` (503 when not ``live()``), ``/readyz``."""

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def healthz(request: web.Request) -> web.Response:
        if live():
            return web.Response(text="ok\n")
        return web.Response(status=503, text="stalled\n")

    async def readyz(request: web.Request) -> web.Response:
        if ready():
            return web.Response(text="ready\n")
        return web.Response(status=503, text="not ready\n")

    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
