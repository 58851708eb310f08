"""The shared job store: PostgreSQL, for front doors and workers on any number of machines.

A small module of our own rather than a queue library (procrastinate, pgqueuer): those keep their
own job table beside ours, and the API's job row (status, result, error, owner) would then live in
two places. Claiming is one statement: the oldest waiting job and its URL's other waiting jobs,
locked ``FOR UPDATE SKIP LOCKED`` so that workers never take the same job, and never a video
another worker holds (that one joins its new jobs); claims take turns on an advisory lock.
Lease times come from the database's clock, so workers' clocks need not agree.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from videorecog.engine import migrations
from videorecog.engine.jobs import (
    COLUMNS,
    DELETIONS_PER_ROUND,
    EXHAUSTED_MESSAGE,
    CoversRound,
    Job,
    Output,
    QueueStats,
    answer_status,
    covers_deleted,
    row_to_job,
)
from videorecog.protocol.constants import JobStatus
from videorecog.settings import SettingsError

NOW = "extract(epoch from clock_timestamp())"
_ACTIVE = "status IN ('QUEUING', 'PROCESSING')"
_CLAIMABLE = f"{_ACTIVE} AND (status = 'QUEUING' OR (lease_until < {NOW} AND attempts < %(max)s))"
_LEASE = (
    f"status = 'PROCESSING', attempts = j.attempts + 1, lease_owner = %(owner)s, "
    f"lease_until = {NOW} + %(lease)s, updated_at = {NOW}"
)
_RETURNING = ", ".join(f"j.{c.strip()}" for c in COLUMNS.split(","))
# A video whose jobs a worker holds under a live lease is left to it: it joins their new jobs.
_UNHELD = (
    "NOT EXISTS (SELECT 1 FROM engine_jobs h WHERE h.video_url = engine_jobs.video_url "  # noqa: S608
    f"AND h.status = 'PROCESSING' AND h.lease_until >= {NOW})"
)
# Built once from the fixed text above; every value goes in as a bound parameter.
_CLAIM = f"""
WITH first AS (
    SELECT video_url FROM engine_jobs WHERE {_CLAIMABLE} AND {_UNHELD}
    ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED
), same AS (
    SELECT job_id FROM engine_jobs
    WHERE video_url = (SELECT video_url FROM first) AND {_CLAIMABLE}
    FOR UPDATE SKIP LOCKED
)
UPDATE engine_jobs j SET {_LEASE} FROM same WHERE j.job_id = same.job_id
RETURNING {_RETURNING}
"""  # noqa: S608
_CLAIM_LOCK = 0x766964656F726563  # "videorec": the advisory lock key that claims queue on
_JOIN = f"""
WITH same AS (
    SELECT job_id FROM engine_jobs WHERE video_url = %(url)s AND status = 'QUEUING'
    FOR UPDATE SKIP LOCKED
)
UPDATE engine_jobs j SET {_LEASE} FROM same WHERE j.job_id = same.job_id
RETURNING {_RETURNING}
"""  # noqa: S608

_KEEP_OUTPUT = f"""
INSERT INTO engine_analyses (sha256, output, result, error_code, error_message, created_at)
VALUES (%s, %s, %s, %s, %s, {NOW})
ON CONFLICT (sha256, output) DO UPDATE SET result = EXCLUDED.result,
    error_code = EXCLUDED.error_code, error_message = EXCLUDED.error_message,
    created_at = EXCLUDED.created_at
"""  # noqa: S608

# Final jobs purged, and the content each referred to queued too: a job that crashed after its
# covers were written refers to a content no analysis of which was kept (see ``_COVERS_FATE``).
_PURGE_JOBS = f"""
WITH gone AS (
    DELETE FROM engine_jobs WHERE status NOT IN ('QUEUING', 'PROCESSING') AND updated_at < %s
    RETURNING content_sha256
)
INSERT INTO engine_cover_deletions (sha256, queued_at)
SELECT DISTINCT content_sha256, {NOW} FROM gone WHERE content_sha256 IS NOT NULL
ON CONFLICT (sha256) DO UPDATE SET queued_at = EXCLUDED.queued_at
"""  # noqa: S608
# The analyses purged, and their content queued for its covers' deletion, in one statement (one
# transaction with the jobs' deletion): the objects are deleted after it commits, and a purge
# cut short before they were is finished by the next round (``delete_purged_covers``).
_PURGE_ANALYSES = f"""
WITH gone AS (
    DELETE FROM engine_analyses a WHERE created_at < %s AND NOT EXISTS
    (SELECT 1 FROM engine_jobs j WHERE j.content_sha256 = a.sha256)
    RETURNING sha256
), queued AS (
    INSERT INTO engine_cover_deletions (sha256, queued_at)
    SELECT DISTINCT sha256, {NOW} FROM gone
    ON CONFLICT (sha256) DO UPDATE SET queued_at = EXCLUDED.queued_at
)
SELECT DISTINCT sha256 FROM gone
"""  # noqa: S608
# What becomes of a purged content's covers: "kept" (an analysis of it is kept again, or still
# for another output: they are its covers), "wanted" (a job refers to it, running or answered:
# wait), else "unused" (delete). Read with the queue row locked, in a statement of its own (a
# snapshot taken after the lock): a purge queuing the content anew meanwhile waits for the row,
# and inserts it again once it is gone.
_COVERS_FATE = """
SELECT CASE
    WHEN EXISTS (SELECT 1 FROM engine_analyses WHERE sha256 = %(sha)s) THEN 'kept'
    WHEN EXISTS (SELECT 1 FROM engine_jobs WHERE content_sha256 = %(sha)s) THEN 'wanted'
    ELSE 'unused' END
"""
# A content whose deletion failed goes to the back of the queue.
_TO_THE_BACK = f"UPDATE engine_cover_deletions SET queued_at = {NOW} WHERE sha256 = %s"  # noqa: S608
# Contents no job refers to, longest queued first (those a job refers to wait, and must not hold
# up the rest).
_QUEUED = """
SELECT sha256 FROM engine_cover_deletions d
WHERE NOT EXISTS (SELECT 1 FROM engine_jobs j WHERE j.content_sha256 = d.sha256)
ORDER BY queued_at LIMIT %s
"""


@contextlib.asynccontextmanager
async def open_pool(url: str, max_size: int) -> AsyncIterator[AsyncConnectionPool]:
    """A connection pool, open; raises SettingsError naming the variable when it cannot connect."""
    pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
        url, min_size=1, max_size=max_size, open=False, kwargs={"autocommit": True}
    )
    try:
        await pool.open(wait=True, timeout=15)
    except PoolTimeout:
        await pool.close()
        raise SettingsError(
            "VIDEORECOG_ENGINE_STORE_URL: cannot connect to the PostgreSQL job store"
        ) from None
    try:
        yield pool
    finally:
        await pool.close()


class PostgresJobStore:
    def __init__(self, pool: AsyncConnectionPool, *, poll_seconds: float = 0.25) -> None:
        self._pool = pool
        self._poll = poll_seconds

    async def check_schema(self) -> None:
        async with self._pool.connection() as conn:
            await migrations.check(conn)

    async def _all(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            return await cursor.fetchall() if cursor.description else []

    async def add(self, job: Job) -> None:
        await self._all(
            "INSERT INTO engine_jobs (job_id, action, video_url, is_gif, access_key_id, status, "
            "created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                job.job_id,
                job.action,
                job.video_url,
                job.is_gif,
                job.access_key_id,
                job.status.value,
                job.created_at,
                job.updated_at,
            ),
        )

    async def get(self, job_id: str) -> Job | None:
        rows = await self._all(
            f"SELECT {COLUMNS} FROM engine_jobs WHERE job_id = %s",  # noqa: S608
            (job_id,),
        )
        return row_to_job(rows[0]) if rows else None

    async def claim(self, owner: str, lease_seconds: float, max_attempts: int) -> list[Job]:
        params = {"owner": owner, "lease": lease_seconds, "max": max_attempts}
        async with self._pool.connection() as conn, conn.transaction():
            # Claims queue behind one another (each takes a millisecond): two at once would both
            # see a video as unheld and split its jobs between two workers.
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_CLAIM_LOCK,))
            rows = await (await conn.execute(_CLAIM, params)).fetchall()
        return sorted(map(row_to_job, rows), key=lambda j: j.created_at)

    async def join(self, owner: str, video_url: str, lease_seconds: float) -> list[Job]:
        rows = await self._all(_JOIN, {"owner": owner, "lease": lease_seconds, "url": video_url})
        return sorted(map(row_to_job, rows), key=lambda j: j.created_at)

    async def renew(self, owner: str, job_ids: list[str], lease_seconds: float) -> set[str]:
        if not job_ids:
            return set()
        rows = await self._all(
            f"UPDATE engine_jobs SET lease_until = {NOW} + %s WHERE job_id = ANY(%s) "  # noqa: S608
            "AND lease_owner = %s AND status = 'PROCESSING' RETURNING job_id",
            (lease_seconds, job_ids, owner),
        )
        return {r[0] for r in rows}

    async def finish(self, job_id: str, owner: str, answer: Output) -> bool:
        rows = await self._all(
            f"UPDATE engine_jobs SET status = %s, updated_at = {NOW}, result = %s, "  # noqa: S608
            "error_code = %s, error_message = %s, content_sha256 = coalesce(%s, content_sha256), "
            "lease_owner = NULL "
            "WHERE job_id = %s AND lease_owner = %s AND status = 'PROCESSING' RETURNING job_id",
            (
                answer_status(answer).value,
                answer.result,
                answer.error_code,
                answer.error_message,
                answer.sha256 or None,
                job_id,
                owner,
            ),
        )
        return bool(rows)

    async def fail_exhausted(self, max_attempts: int) -> list[str]:
        rows = await self._all(
            f"UPDATE engine_jobs SET status = %s, updated_at = {NOW}, error_message = %s, "  # noqa: S608
            f"lease_owner = NULL WHERE status = 'PROCESSING' AND lease_until < {NOW} "
            "AND attempts >= %s RETURNING job_id",
            (
                JobStatus.LIMIT_RETRY_FAILED.value,
                EXHAUSTED_MESSAGE.format(attempts=max_attempts),
                max_attempts,
            ),
        )
        return [r[0] for r in rows]

    async def outputs(self, sha256: str) -> dict[str, Output]:
        rows = await self._all(
            "SELECT output, result, error_code, error_message FROM engine_analyses "
            "WHERE sha256 = %s",
            (sha256,),
        )
        return {r[0]: Output(sha256, r[0], r[1], r[2], r[3]) for r in rows}

    async def keep_outputs(self, outputs: list[Output]) -> None:
        async with self._pool.connection() as conn, conn.cursor() as cursor:
            await cursor.executemany(
                _KEEP_OUTPUT,
                [(o.sha256, o.name, o.result, o.error_code, o.error_message) for o in outputs],
            )

    async def queue_stats(self) -> QueueStats:
        rows = await self._all(
            f"SELECT count(*), coalesce({NOW} - min(created_at), 0) FROM engine_jobs "  # noqa: S608
            "WHERE status = 'QUEUING'"
        )
        depth, oldest = rows[0]
        return QueueStats(int(depth), max(0.0, float(oldest)))

    async def wait_for_work(self, seconds: float) -> None:
        await asyncio.sleep(min(seconds, self._poll))

    async def purge(self, finished_before: float) -> list[str]:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(_PURGE_JOBS, (finished_before,))
            cursor = await conn.execute(_PURGE_ANALYSES, (finished_before,))
            return sorted({r[0] for r in await cursor.fetchall()})

    async def note_content(self, owner: str, job_ids: list[str], sha256: str) -> set[str]:
        async with self._pool.connection() as conn, conn.transaction():
            # Waits for a deletion of this content's covers under way (``delete_purged_covers``),
            # whether or not its row is there yet: the lock is the content's, not a row's.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (sha256,))
            cursor = await conn.execute(
                "UPDATE engine_jobs SET content_sha256 = %s WHERE job_id = ANY(%s) "
                "AND lease_owner = %s AND status = 'PROCESSING' RETURNING job_id",
                (sha256, job_ids, owner),
            )
            return {r[0] for r in await cursor.fetchall()}

    async def delete_purged_covers(self, delete: Callable[[str], Awaitable[None]]) -> CoversRound:
        settled = deleted = 0
        batch = await self._all(_QUEUED, (DELETIONS_PER_ROUND,))
        for (sha256,) in batch:
            async with self._pool.connection() as conn, conn.transaction():
                locked = await conn.execute(
                    "SELECT pg_try_advisory_xact_lock(hashtext(%s))", (sha256,)
                )
                if not (await locked.fetchone() or (False,))[0]:
                    continue  # a worker is taking this content up, or another door deleting
                queued = await conn.execute(
                    "SELECT 1 FROM engine_cover_deletions WHERE sha256 = %s FOR UPDATE", (sha256,)
                )
                if await queued.fetchone() is None:
                    continue  # done by another door meanwhile
                # Read after both locks: a worker that took the content up before is seen here.
                answer = await (await conn.execute(_COVERS_FATE, {"sha": sha256})).fetchone()
                fate = answer[0] if answer else "wanted"
                if fate == "wanted":
                    continue
                if fate == "unused" and not await covers_deleted(delete, sha256):
                    await conn.execute(_TO_THE_BACK, (sha256,))
                    continue
                deleted += fate == "unused"
                settled += 1
                await conn.execute(
                    "DELETE FROM engine_cover_deletions WHERE sha256 = %s", (sha256,)
                )
        return CoversRound(len(batch) == DELETIONS_PER_ROUND, settled, deleted)

    async def close(self) -> None:
        """The pool is closed by whoever opened it (``open_pool``)."""
