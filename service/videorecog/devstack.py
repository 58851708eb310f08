"""Everything on one laptop: embedded broker, engine, a loopback file server, and the pipeline.

``async with DevStack(settings, media_dir) as stack`` starts them wired to each other (a fresh
AccessKey, the broker's address, the engine's URL, loopback admitted by the engine's fetcher) and
stops them in reverse order, the pipeline draining first.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
from pathlib import Path
from types import TracebackType
from typing import Self

from aiohttp import web

from videorecog.broker import EmbeddedBroker, free_port
from videorecog.engine.app import Role, build_app
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.runner import started
from videorecog.pipeline.service import Pipeline
from videorecog.serving import serving
from videorecog.settings import Secret, Settings
from videorecog.topics import ensure_topics, service_topics

log = logging.getLogger(__name__)


def _media_app(directory: Path) -> web.Application:
    app = web.Application()
    app.router.add_static("/media/", directory, show_index=False, follow_symlinks=False)
    return app


class DevStack:
    def __init__(self, settings: Settings, media_dir: Path) -> None:
        self._base = settings
        self.media_dir = media_dir
        self.broker = EmbeddedBroker()
        self.settings = settings
        self.metrics = PipelineMetrics()
        self.pipeline: Pipeline | None = None
        self.metrics_port = 0
        self._stack = contextlib.AsyncExitStack()
        self._stop = asyncio.Event()
        self._media_port = free_port()
        self._task: asyncio.Task[None] | None = None

    def media_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self._media_port}/media/{name}"

    def _wire(self) -> Settings:
        key_id, secret = f"dev-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
        base = self._base
        engine = dataclasses.replace(
            base.engine,
            host="127.0.0.1",
            port=free_port(),
            credentials={key_id: Secret(secret)},
            allow_hosts=(*base.engine.allow_hosts, "127.0.0.1"),
            public_url="",
        )
        return dataclasses.replace(
            base,
            kafka=dataclasses.replace(
                base.kafka, bootstrap_servers=self.broker.bootstrap_servers, idempotence=False
            ),
            api=dataclasses.replace(
                base.api,
                endpoint=f"http://127.0.0.1:{engine.port}",
                access_key_id=key_id,
                access_key_secret=Secret(secret),
            ),
            engine=engine,
        )

    async def _serve(self, app: web.Application, port: int) -> int:
        return await self._stack.enter_async_context(serving(app, "127.0.0.1", port))

    async def __aenter__(self) -> Self:
        try:
            await self._stack.enter_async_context(self.broker)
            self.settings = self._wire()
            await ensure_topics(
                self.settings.kafka.bootstrap_servers, service_topics(self.settings.kafka)
            )
            await self._serve(build_app(self.settings, Role.EMBEDDED), self.settings.engine.port)
            await self._serve(_media_app(self.media_dir), self._media_port)
            pipeline, self.metrics_port = await self._stack.enter_async_context(
                started(self.settings, self.metrics, host="127.0.0.1")
            )
            self.pipeline = pipeline
            self._task = asyncio.create_task(pipeline.run(self._stop), name="pipeline")
            self._stack.push_async_callback(self._stop_pipeline)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def _stop_pipeline(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def wait(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set or the pipeline fails."""
        assert self._task is not None
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({self._task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if self._task.done():
            self._task.result()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()
