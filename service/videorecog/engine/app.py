"""The engine's aiohttp application, wired in one place.

Long-lived resources are async context managers in ``app.cleanup_ctx``: the job store, the HTTP
session of the fetcher, the analyzer's process pool, the job runner and the retention sweeper.
aiohttp tears them down in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from videorecog.engine.jobs import SqliteJobStore
from videorecog.engine.links import CoverLinks, load_or_create_key
from videorecog.engine.metrics import EngineMetrics
from videorecog.engine.runner import JobRunner
from videorecog.serving import add_health_routes
from videorecog.settings import EngineSettings

log = logging.getLogger(__name__)

STORE = web.AppKey("store", SqliteJobStore)
RUNNER = web.AppKey("runner", JobRunner)
FRONT_DOOR = web.AppKey("front_door", FrontDoor)
METRICS = web.AppKey("metrics", EngineMetrics)
LINKS = web.AppKey("links", CoverLinks)


def public_url(settings: EngineSettings) -> str:
    return settings.public_url or f"http://{settings.host}:{settings.port}"


def build_app(settings: EngineSettings, metrics: EngineMetrics | None = None) -> web.Application:
    app = web.Application(client_max_size=1 << 20)
    data_dir = Path(settings.data_dir)
    app[METRICS] = metrics or EngineMetrics()
    app[LINKS] = CoverLinks(load_or_create_key(data_dir / "link.key"), public_url(settings))
    policy = AddressPolicy(settings.allow_hosts)

    async def store_ctx(app: web.Application) -> AsyncIterator[None]:
        store = SqliteJobStore(data_dir / "jobs.sqlite3")
        await store.open()
        app[STORE] = store
        yield
        await store.close()

    async def runner_ctx(app: web.Application) -> AsyncIterator[None]:
        analyzer = Analyzer(settings.workers)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            fetcher = VideoFetcher(
                session,
                policy,
                max_bytes=settings.max_download_bytes,
                timeout_seconds=settings.download_timeout_seconds,
            )
            try:
                async with JobRunner(
                    app[STORE],
                    fetcher,
                    analyzer,
                    data_dir,
                    app[METRICS],
                    concurrency=2 * settings.workers,
                ) as runner:
                    app[RUNNER] = runner
                    app[FRONT_DOOR] = FrontDoor(
                        app[STORE],
                        runner,
                        Authenticator(settings.credentials),
                        app[LINKS],
                        policy,
                        app[METRICS],
                        rate_limit=settings.rate_limit_per_second,
                    )
                    yield
            finally:
                await asyncio.to_thread(analyzer.close)

    async def sweeper_ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(_sweep(app, settings.result_retention_seconds))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.extend([store_ctx, runner_ctx, sweeper_ctx])
    app.router.add_route("GET", "/", _api)
    app.router.add_route("POST", "/", _api)
    app.router.add_get("/covers/{name}", _cover)
    add_health_routes(app, app[METRICS].registry, ready=lambda: _ready(app))
    return app


async def _sweep(app: web.Application, retention: float) -> None:
    """Forget finished jobs, and delete their covers, once they are older than the retention."""
    interval = min(600.0, max(1.0, retention / 10))
    while True:
        purged = await app[STORE].purge(time.time() - retention)
        for job_id in purged:
            for path in app[RUNNER].covers_dir.glob(f"{job_id}-*"):
                path.unlink(missing_ok=True)
        if purged:
            log.info("purged expired jobs", extra={"jobs": len(purged)})
        await asyncio.sleep(interval)


async def _api(request: web.Request) -> web.Response:
    return await request.app[FRONT_DOOR].handle(request)


async def _cover(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    links = request.app[LINKS]
    if not links.verify(name, request.query.get("Expires", ""), request.query.get("Signature", "")):
        return web.Response(status=403, text="Request has expired or the signature is invalid.\n")
    path = request.app[RUNNER].covers_dir / name
    if "/" in name or name.startswith(".") or not path.is_file():
        return web.Response(status=404, text="No such cover.\n")
    return web.FileResponse(path)


def _ready(app: web.Application) -> bool:
    runner = app.get(RUNNER)
    return runner is not None and runner.alive
