"""The shared job store's schema, in numbered steps, and ``videorecog engine migrate``.

Each step runs once, in its own transaction, and is recorded in ``engine_schema_migrations``; an
advisory lock keeps two migrators (a hook Job and a person, say) from running a step twice.
Front doors and workers refuse to start on a schema older than they need, and run on a newer one:
steps only add (a column or table to drop waits until no release in use reads it).
"""

from __future__ import annotations

import logging
from typing import Any

from videorecog.settings import SettingsError

log = logging.getLogger(__name__)

_LOCK = 0x76_72_65_63  # pg_advisory_xact_lock key: "vrec"

STEPS: tuple[tuple[str, str], ...] = (
    (
        "jobs, the analyses that answer them, nonces and request-rate buckets",
        """
        CREATE TABLE engine_jobs (
            job_id TEXT PRIMARY KEY,
            action TEXT NOT NULL,
            video_url TEXT NOT NULL,
            is_gif BOOLEAN NOT NULL,
            access_key_id TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            result TEXT,
            error_code TEXT,
            error_message TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            lease_owner TEXT,
            lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,
            content_sha256 TEXT
        );
        CREATE INDEX engine_jobs_waiting ON engine_jobs (created_at)
            WHERE status IN ('QUEUING', 'PROCESSING');
        CREATE INDEX engine_jobs_url ON engine_jobs (video_url)
            WHERE status IN ('QUEUING', 'PROCESSING');
        CREATE INDEX engine_jobs_updated ON engine_jobs (updated_at);
        CREATE INDEX engine_jobs_content ON engine_jobs (content_sha256);
        CREATE TABLE engine_analyses (
            sha256 TEXT NOT NULL,
            output TEXT NOT NULL,
            result TEXT,
            error_code TEXT,
            error_message TEXT,
            created_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (sha256, output)
        );
        CREATE TABLE engine_nonces (
            access_key_id TEXT NOT NULL,
            nonce TEXT NOT NULL,
            expires_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (access_key_id, nonce)
        );
        CREATE TABLE engine_rate_limits (
            key TEXT PRIMARY KEY,
            tat DOUBLE PRECISION NOT NULL
        );
        """,
    ),
    (
        "covers of purged analyses, until their objects are deleted",
        """
        CREATE TABLE engine_cover_deletions (
            sha256 TEXT PRIMARY KEY,
            queued_at DOUBLE PRECISION NOT NULL
        );
        """,
    ),
)
LATEST = len(STEPS)


class SchemaError(SettingsError):
    """The store's schema is not the one this engine needs."""


async def current_version(conn: Any) -> int:
    exists = await (
        await conn.execute("SELECT to_regclass('engine_schema_migrations') IS NOT NULL")
    ).fetchone()
    if not exists[0]:
        return 0
    row = await (
        await conn.execute("SELECT coalesce(max(version), 0) FROM engine_schema_migrations")
    ).fetchone()
    return int(row[0])


async def migrate(conn: Any) -> list[int]:
    """Apply the steps the store lacks, each in its own transaction; the versions applied."""
    applied: list[int] = []
    for version, (description, script) in enumerate(STEPS, start=1):
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS engine_schema_migrations (version INTEGER PRIMARY "
                "KEY, description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            if await current_version(conn) >= version:
                continue
            await conn.execute(script)
            await conn.execute(
                "INSERT INTO engine_schema_migrations (version, description) VALUES (%s, %s)",
                (version, description),
            )
            applied.append(version)
            log.info("schema step applied", extra={"version": version, "step": description})
    return applied


async def check(conn: Any) -> None:
    """Raises: SchemaError when the store's schema is older than this engine's."""
    version = await current_version(conn)
    if version < LATEST:
        raise SchemaError(
            f"VIDEORECOG_ENGINE_STORE_URL: the job store's schema is at version {version}, this "
            f"engine needs {LATEST}: run `videorecog engine migrate`"
        )
    if version > LATEST:
        # Steps only add, so an engine of an earlier release runs on a later schema: the pods of
        # the previous release during a rolling update (one that restarts too), or after a
        # rollback, which leaves the schema as it is.
        log.warning(
            "the job store's schema is newer than this engine's",
            extra={"version": version, "engine_version": LATEST},
        )
