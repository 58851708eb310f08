"""The engine's aiohttp application for each role, wired in one place.

``Role.EMBEDDED`` (no store URL): the front door and the workers in one process, on SQLite and the
data directory: the default, ``make demo`` and the laptop stack. ``Role.API``: a stateless front
door of several sharing PostgreSQL and object storage. ``Role.WORKER``: claims and analyses jobs;
it serves only ``/metrics``, ``/healthz`` and ``/readyz``.

Long-lived resources are async context managers in ``app.cleanup_ctx``: the shared state, the
worker (its HTTP session and process pool), the housekeeping task. aiohttp tears them down in
reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web

from videorecog.engine.analyzer import Analyzer
from videorecog.engine.api import FrontDoor
from videorecog.engine.auth import Authenticator
from videorecog.engine.fetch import AddressPolicy, VideoFetcher
from videorecog.engine.jobs import delete_all_purged_covers
from videorecog.engine.metrics import EngineMetrics
from videorecog.engine.state import EngineState, open_state
from videorecog.engine.worker import JobWorker
from videorecog.serving import add_health_routes
from videorecog.settings import Settings

log = logging.getLogger(__name__)


class Role(enum.Enum):
    EMBEDDED = "embedded"
    API = "api"
    WORKER = "worker"

    @property
    def answers(self) -> bool:
        return self is not Role.WORKER

    @property
    def works(self) -> bool:
        return self is not Role.API


STATE = web.AppKey("state", EngineState)
WORKER = web.AppKey("worker", JobWorker)
FRONT_DOOR = web.AppKey("front_door", FrontDoor)
METRICS = web.AppKey("metrics", EngineMetrics)
STATS_SECONDS = 5.0  # how often the queue gauges are read from the store


def build_app(
    settings: Settings, role: Role, metrics: EngineMetrics | None = None
) -> web.Application:
    engine = settings.engine
    app = web.Application(client_max_size=1 << 20)
    app[METRICS] = metrics or EngineMetrics()
    policy = AddressPolicy(engine.allow_hosts)
    slots = 2 * engine.workers

    async def state_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_state(engine, settings.s3, connections=slots + 4) as state:
            app[STATE] = state
            if role.answers:
                app[FRONT_DOOR] = FrontDoor(
                    state,
                    Authenticator(engine.credentials),
                    policy,
                    app[METRICS],
                )
            yield

    async def worker_ctx(app: web.Application) -> AsyncIterator[None]:
        state = app[STATE]
        analyzer = Analyzer(engine.workers)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=30)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                fetcher = VideoFetcher(
                    session,
                    policy,
                    max_bytes=engine.max_download_bytes,
                    timeout_seconds=engine.download_timeout_seconds,
                )
                async with JobWorker(
                    state.store,
                    fetcher,
                    analyzer,
                    state.covers,
                    Path(engine.data_dir) / "downloads",
                    app[METRICS],
                    slots=slots,
                    lease_seconds=engine.lease_seconds,
                    max_attempts=engine.max_attempts,
                ) as worker:
                    app[WORKER] = worker
                    yield
        finally:
            await asyncio.to_thread(analyzer.close)

    async def housekeeping_ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(_housekeeping(app, engine.result_retention_seconds))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(state_ctx)
    if role.works:
        app.cleanup_ctx.append(worker_ctx)
    if role.answers:
        app.cleanup_ctx.append(housekeeping_ctx)
        app.router.add_route("GET", "/", _api)
        app.router.add_route("POST", "/", _api)
        app.router.add_get("/covers/{name}", _cover)
    add_health_routes(app, app[METRICS].registry, ready=lambda: _ready(app, role))
    return app


async def _housekeeping(app: web.Application, retention: float) -> None:
    """The queue gauges, and retention: finished jobs, their analyses and covers, old nonces."""
    state, metrics = app[STATE], app[METRICS]
    purge_every = min(600.0, max(1.0, retention / 10))
    last_purge = 0.0
    while True:
        try:
            stats = await state.store.queue_stats()
            metrics.queue_depth.set(stats.depth)
            metrics.queue_oldest_seconds.set(stats.oldest_seconds)
            if time.monotonic() - last_purge >= purge_every:
                last_purge = time.monotonic()
                purged = await state.store.purge(time.time() - retention)
                if purged:
                    log.info("purged expired analyses", extra={"analyses": len(purged)})
                # Also those of a purge cut short (at shutdown, say) before its covers went. The
                # whole queue in one go: the gauges and the nonces' expiry wait for it.
                deleted = await delete_all_purged_covers(state.store, state.covers.forget)
                if deleted:
                    log.info("deleted purged covers", extra={"analyses": deleted})
                await state.guards.forget_expired()
        except Exception:
            # The store being away for a moment must not end housekeeping: it tries again.
            log.exception("housekeeping failed")
        await asyncio.sleep(min(STATS_SECONDS, purge_every))


async def _api(request: web.Request) -> web.Response:
    return await request.app[FRONT_DOOR].handle(request)


async def _cover(request: web.Request) -> web.StreamResponse:
    local = request.app[STATE].local_covers
    if local is None:
        return web.Response(status=404, text="Covers are in object storage.\n")
    name = request.match_info["name"]
    if not local.links.verify(
        name, request.query.get("Expires", ""), request.query.get("Signature", "")
    ):
        return web.Response(status=403, text="Request has expired or the signature is invalid.\n")
    path = local.path(name)
    if path is None:
        return web.Response(status=404, text="No such cover.\n")
    return web.FileResponse(path)


def _ready(app: web.Application, role: Role) -> bool:
    if role.works:
        worker = app.get(WORKER)
        return worker is not None and worker.alive
    return STATE in app
