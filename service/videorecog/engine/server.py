"""Serving the engine until told to stop."""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from videorecog.engine.app import build_app, public_url
from videorecog.serving import serving
from videorecog.settings import EngineSettings, SettingsError

log = logging.getLogger(__name__)


def check(settings: EngineSettings) -> None:
    """Raises: SettingsError when the engine could not serve anyone."""
    if not settings.credentials:
        raise SettingsError("VIDEORECOG_ENGINE_CREDENTIALS must list at least one id:secret")


async def serve(settings: EngineSettings, until: Awaitable[object]) -> None:
    """Listen on host:port, serve until ``until`` completes, then shut down cleanly."""
    check(settings)
    async with serving(build_app(settings), settings.host, settings.port):
        log.info(
            "engine listening",
            extra={"url": public_url(settings), "data_dir": str(settings.data_dir)},
        )
        await until
    log.info("engine stopped")
