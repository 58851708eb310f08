"""What the engine's roles share, opened from the settings: the job store, the request guards and
the cover store. Embedded (no store URL): SQLite, memory and the data directory, for one process.
Shared: PostgreSQL for jobs, nonces and rates, and S3-compatible storage for covers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from videorecog.engine.covers import CoverStore, LocalCovers, open_s3_covers
from videorecog.engine.guards import Guards, LocalGuards, PostgresGuards
from videorecog.engine.jobs import JobStore
from videorecog.engine.links import CoverLinks, load_or_create_key
from videorecog.engine.sqlite_store import SqliteJobStore
from videorecog.settings import EngineSettings, S3Settings


def public_url(settings: EngineSettings) -> str:
    return settings.public_url or f"http://{settings.host}:{settings.port}"


@dataclass(frozen=True)
class EngineState:
    store: JobStore
    guards: Guards
    covers: CoverStore
    local_covers: LocalCovers | None  # the covers this process serves at /covers/, if local


@contextlib.asynccontextmanager
async def open_state(
    settings: EngineSettings, s3: S3Settings, *, connections: int
) -> AsyncIterator[EngineState]:
    """Raises: SettingsError when the store cannot be reached or its schema is not current."""
    data_dir = Path(settings.data_dir)
    async with contextlib.AsyncExitStack() as stack:
        store: JobStore
        guards: Guards
        if settings.store_url:
            from videorecog.engine.postgres_store import PostgresJobStore, open_pool

            pool = await stack.enter_async_context(
                open_pool(settings.store_url.reveal(), connections)
            )
            postgres = PostgresJobStore(pool)
            await postgres.check_schema()
            store, guards = postgres, PostgresGuards(pool, settings.rate_limit_per_second)
        else:
            sqlite = SqliteJobStore(data_dir / "jobs.sqlite3")
            stack.push_async_callback(sqlite.close)
            await sqlite.open()
            store, guards = sqlite, LocalGuards(settings.rate_limit_per_second)
        covers: CoverStore
        local: LocalCovers | None = None
        if settings.cover_store_url is not None:
            covers = await stack.enter_async_context(
                open_s3_covers(settings.cover_store_url, s3, data_dir)
            )
        else:
            key = load_or_create_key(data_dir / "link.key")
            covers = local = LocalCovers(data_dir / "covers", CoverLinks(key, public_url(settings)))
        yield EngineState(store, guards, covers, local)
