"""Serving the engine's roles until told to stop, and migrating the shared store."""

from __future__ import annotations

import asyncio
import logging

from videorecog.engine.app import Role, build_app
from videorecog.engine.state import public_url
from videorecog.serving import serving
from videorecog.settings import Settings, SettingsError

log = logging.getLogger(__name__)


def check(settings: Settings, role: Role) -> None:
    """Raises: SettingsError when the role could not serve anyone."""
    engine = settings.engine
    if role is not Role.WORKER and not engine.credentials:
        raise SettingsError("VIDEORECOG_ENGINE_CREDENTIALS must list at least one id:secret")
    if role is Role.WORKER and not engine.store_url:
        raise SettingsError(
            "VIDEORECOG_ENGINE_STORE_URL must name the shared PostgreSQL store for "
            "`videorecog worker` (without one, `videorecog engine` runs the workers itself)"
        )
    if role is not Role.EMBEDDED and engine.cover_store_url is None:
        raise SettingsError(
            "VIDEORECOG_ENGINE_STORE_URL needs VIDEORECOG_ENGINE_COVER_STORE_URL: front doors "
            "and workers on other machines share no disk"
        )


async def serve(settings: Settings, role: Role, stop: asyncio.Event) -> None:
    """Listen on host:port, serve until ``stop`` is set, then shut down cleanly."""
    if role is Role.API and not settings.engine.store_url:
        role = Role.EMBEDDED
    check(settings, role)
    engine = settings.engine
    async with serving(build_app(settings, role), engine.host, engine.port):
        log.info(
            "engine listening",
            extra={"role": role.value, "url": public_url(engine), "data_dir": str(engine.data_dir)},
        )
        await stop.wait()
    log.info("engine stopped", extra={"role": role.value})


async def migrate(settings: Settings) -> list[int]:
    """Bring the shared store's schema up to date; the steps applied."""
    from videorecog.engine import migrations
    from videorecog.engine.postgres_store import open_pool

    if not settings.engine.store_url:
        raise SettingsError("VIDEORECOG_ENGINE_STORE_URL must be set to migrate the job store")
    async with open_pool(settings.engine.store_url.reveal(), 1) as pool, pool.connection() as conn:
        return await migrations.migrate(conn)
