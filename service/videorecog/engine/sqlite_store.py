"""The embedded job store: ``<data_dir>/jobs.sqlite3``, for one engine process running both roles.

One connection on one thread: SQLite calls never run on the event loop and never run at once, so
each call is atomic without further locking; the one thing done across calls, deleting a purged
content's covers, is kept apart from a worker taking that content up by a lock of its own. The
schema is versioned with ``user_version``; a file written by an older engine is brought up to date
when opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

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

T = TypeVar("T")
log = logging.getLogger(__name__)

_MIGRATIONS = (
    # 1: the first engine's jobs
    """
    CREATE TABLE IF NOT EXISTS jobs (
        job_id TEXT PRIMARY KEY, action TEXT NOT NULL, video_url TEXT NOT NULL,
        is_gif INTEGER NOT NULL, access_key_id TEXT NOT NULL, status TEXT NOT NULL,
        created_at REAL NOT NULL, updated_at REAL NOT NULL,
        result TEXT, error_code TEXT, error_message TEXT
    );
    CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status);
    CREATE INDEX IF NOT EXISTS jobs_updated ON jobs(updated_at);
    """,
    # 2: leases, attempts, and analyses kept by content
    """
    ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
    ALTER TABLE jobs ADD COLUMN lease_until REAL NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN content_sha256 TEXT;
    CREATE INDEX jobs_url ON jobs(video_url, status);
    CREATE TABLE analyses (
        sha256 TEXT NOT NULL, output TEXT NOT NULL, result TEXT, error_code TEXT,
        error_message TEXT, created_at REAL NOT NULL, PRIMARY KEY (sha256, output)
    );
    """,
    # 3: contents whose covers are to be deleted (``purge``), and jobs by content
    """
    CREATE TABLE cover_deletions (sha256 TEXT PRIMARY KEY, queued_at REAL NOT NULL);
    CREATE INDEX jobs_content ON jobs(content_sha256);
    """,
)

# Built once from fixed text; every value goes in as a bound parameter.
_SELECT = f"SELECT {COLUMNS} FROM jobs"  # noqa: S608
_LEASE = (
    "UPDATE jobs SET status = 'PROCESSING', attempts = attempts + 1, lease_owner = ?, "
    "lease_until = ?, updated_at = ?"
)
_EXHAUSTED = "status = 'PROCESSING' AND lease_until < ? AND attempts >= ?"
_SELECT_EXHAUSTED = f"SELECT job_id FROM jobs WHERE {_EXHAUSTED}"  # noqa: S608
_END_EXHAUSTED = (
    "UPDATE jobs SET status = ?, updated_at = ?, error_message = ?, lease_owner = NULL "  # noqa: S608
    f"WHERE {_EXHAUSTED}"
)
_FINISHED = "status NOT IN ('QUEUING', 'PROCESSING') AND updated_at < ?"
_SELECT_FINISHED_CONTENT = (
    f"SELECT DISTINCT content_sha256 FROM jobs WHERE {_FINISHED} AND content_sha256 IS NOT NULL"  # noqa: S608
)
_DELETE_FINISHED = f"DELETE FROM jobs WHERE {_FINISHED}"  # noqa: S608
# Analyses made before the cut-off that no remaining job was answered from.
_UNUSED = (
    "created_at < ? AND sha256 NOT IN "
    "(SELECT content_sha256 FROM jobs WHERE content_sha256 IS NOT NULL)"
)
_SELECT_UNUSED = f"SELECT DISTINCT sha256 FROM analyses WHERE {_UNUSED}"  # noqa: S608
_DELETE_UNUSED = f"DELETE FROM analyses WHERE {_UNUSED}"  # noqa: S608
_QUEUE_DELETION = (
    "INSERT INTO cover_deletions (sha256, queued_at) VALUES (?, ?) "
    "ON CONFLICT (sha256) DO UPDATE SET queued_at = excluded.queued_at"
)
# See ``postgres_store._COVERS_FATE`` and ``_QUEUED``.
_COVERS_FATE = """
SELECT CASE
    WHEN EXISTS (SELECT 1 FROM analyses WHERE sha256 = :sha) THEN 'kept'
    WHEN EXISTS (SELECT 1 FROM jobs WHERE content_sha256 = :sha) THEN 'wanted'
    ELSE 'unused' END
FROM cover_deletions WHERE sha256 = :sha
"""
_QUEUED = """
SELECT sha256 FROM cover_deletions d
WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.content_sha256 = d.sha256)
ORDER BY queued_at LIMIT ?
"""
_CLAIMABLE = (
    "(status = 'QUEUING' OR (status = 'PROCESSING' AND lease_until < :now "
    "AND attempts < :max_attempts))"
)

# A video whose jobs are held under a live lease is left to its holder: it joins their new jobs.
_UNHELD = (
    "NOT EXISTS (SELECT 1 FROM jobs h WHERE h.video_url = jobs.video_url "
    "AND h.status = 'PROCESSING' AND h.lease_until >= :now)"
)


class SqliteJobStore:
    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobstore")
        self._conn: sqlite3.Connection | None = None
        self._added = asyncio.Event()
        # Held while a content's covers are deleted, and by a worker taking that content up.
        self._covers_lock = asyncio.Lock()

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            if self._conn is None:
                self._conn = self._connect()
            try:
                return fn(self._conn)
            except sqlite3.InterfaceError:
                # SQLite once answered an INSERT OR REPLACE of valid rows, on a loaded machine,
                # with "bad parameter or other API misuse" (cause not found; coverage.py retries
                # the same way). SQLite refuses such a statement before it changes anything, and
                # every statement here may be run again: once more, then the error stands.
                log.warning("a statement was refused as a misuse; running it again", exc_info=True)
                return fn(self._conn)

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def _connect(self) -> sqlite3.Connection:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(_MIGRATIONS[version:], start=version + 1):
            conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
        # One process holds this file: whatever it left PROCESSING when it stopped is claimable
        # now rather than when its lease runs out.
        resumed = conn.execute("UPDATE jobs SET lease_until = 0 WHERE status = 'PROCESSING'")
        waiting = conn.execute("SELECT count(*) FROM jobs WHERE status = 'QUEUING'").fetchone()[0]
        if resumed.rowcount or waiting:
            log.info("resuming unfinished jobs", extra={"jobs": resumed.rowcount + waiting})
        return conn

    async def open(self) -> None:
        await self._run(lambda conn: None)

    async def add(self, job: Job) -> None:
        values = (
            job.job_id,
            job.action,
            job.video_url,
            int(job.is_gif),
            job.access_key_id,
            job.status.value,
            job.created_at,
            job.updated_at,
        )
        await self._run(
            lambda c: c.execute(
                "INSERT INTO jobs (job_id, action, video_url, is_gif, access_key_id, status, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
        )
        self._added.set()

    async def get(self, job_id: str) -> Job | None:
        row = await self._run(
            lambda c: c.execute(f"{_SELECT} WHERE job_id = ?", (job_id,)).fetchone()
        )
        return row_to_job(row) if row else None

    def _take(self, c: sqlite3.Connection, where: str, params: dict[str, Any]) -> list[Job]:
        ids = [r[0] for r in c.execute(f"SELECT job_id FROM jobs WHERE {where}", params)]  # noqa: S608
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        lease = f"{_LEASE} WHERE job_id IN ({marks})"
        c.execute(lease, (params["owner"], params["until"], params["now"], *ids))
        rows = c.execute(f"{_SELECT} WHERE job_id IN ({marks}) ORDER BY created_at", ids)
        return [row_to_job(r) for r in rows]

    async def claim(self, owner: str, lease_seconds: float, max_attempts: int) -> list[Job]:
        now = self._clock()
        params = {"owner": owner, "now": now, "until": now + lease_seconds}
        params["max_attempts"] = max_attempts

        def claim(c: sqlite3.Connection) -> list[Job]:
            first = c.execute(
                f"SELECT video_url FROM jobs WHERE {_CLAIMABLE} AND {_UNHELD} "  # noqa: S608
                "ORDER BY created_at LIMIT 1",
                params,
            ).fetchone()
            if first is None:
                return []
            return self._take(c, f"video_url = :url AND {_CLAIMABLE}", {**params, "url": first[0]})

        return await self._run(claim)

    async def join(self, owner: str, video_url: str, lease_seconds: float) -> list[Job]:
        now = self._clock()
        params = {"owner": owner, "now": now, "until": now + lease_seconds, "url": video_url}
        return await self._run(
            lambda c: self._take(c, "video_url = :url AND status = 'QUEUING'", params)
        )

    async def renew(self, owner: str, job_ids: list[str], lease_seconds: float) -> set[str]:
        until = self._clock() + lease_seconds
        return await self._run(
            functools.partial(
                _set_on_held, column="lease_until", value=until, job_ids=job_ids, owner=owner
            )
        )

    async def finish(self, job_id: str, owner: str, answer: Output) -> bool:
        values = (
            answer_status(answer).value,
            self._clock(),
            answer.result,
            answer.error_code,
            answer.error_message,
            answer.sha256 or None,
            job_id,
            owner,
        )
        cursor = await self._run(
            lambda c: c.execute(
                "UPDATE jobs SET status = ?, updated_at = ?, result = ?, error_code = ?, "
                "error_message = ?, content_sha256 = coalesce(?, content_sha256), "
                "lease_owner = NULL WHERE job_id = ? AND lease_owner = ? AND status = 'PROCESSING'",
                values,
            )
        )
        return bool(cursor.rowcount)

    async def fail_exhausted(self, max_attempts: int) -> list[str]:
        now = self._clock()
        message = EXHAUSTED_MESSAGE.format(attempts=max_attempts)

        def fail(c: sqlite3.Connection) -> list[str]:
            ids = [r[0] for r in c.execute(_SELECT_EXHAUSTED, (now, max_attempts))]
            c.execute(
                _END_EXHAUSTED,
                (JobStatus.LIMIT_RETRY_FAILED.value, now, message, now, max_attempts),
            )
            return ids

        return await self._run(fail)

    async def outputs(self, sha256: str) -> dict[str, Output]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT output, result, error_code, error_message FROM analyses WHERE sha256 = ?",
                (sha256,),
            ).fetchall()
        )
        return {r[0]: Output(sha256, r[0], r[1], r[2], r[3]) for r in rows}

    async def keep_outputs(self, outputs: list[Output]) -> None:
        now = self._clock()
        rows = [(o.sha256, o.name, o.result, o.error_code, o.error_message, now) for o in outputs]
        await self._run(
            lambda c: c.executemany(
                "INSERT OR REPLACE INTO analyses (sha256, output, result, error_code, "
                "error_message, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
        )

    async def queue_stats(self) -> QueueStats:
        depth, oldest = await self._run(
            lambda c: c.execute(
                "SELECT count(*), min(created_at) FROM jobs WHERE status = 'QUEUING'"
            ).fetchone()
        )
        return QueueStats(int(depth), max(0.0, self._clock() - oldest) if oldest else 0.0)

    async def wait_for_work(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            # Not ``wait_for``: on Python 3.11 it lost a cancellation coming as the event was set.
            async with asyncio.timeout(seconds):
                await self._added.wait()
        self._added.clear()

    async def purge(self, finished_before: float) -> list[str]:
        now = self._clock()

        def purge(c: sqlite3.Connection) -> list[str]:
            with _transaction(c):
                # The content each purged job referred to is queued too (``postgres_store``).
                referred = {r[0] for r in c.execute(_SELECT_FINISHED_CONTENT, (finished_before,))}
                c.execute(_DELETE_FINISHED, (finished_before,))
                gone = [r[0] for r in c.execute(_SELECT_UNUSED, (finished_before,))]
                c.execute(_DELETE_UNUSED, (finished_before,))
                c.executemany(_QUEUE_DELETION, [(sha256, now) for sha256 in referred | set(gone)])
            return gone

        return await self._run(purge)

    async def note_content(self, owner: str, job_ids: list[str], sha256: str) -> set[str]:
        note = functools.partial(
            _set_on_held, column="content_sha256", value=sha256, job_ids=job_ids, owner=owner
        )
        async with self._covers_lock:
            return await self._run(note)

    async def delete_purged_covers(self, delete: Callable[[str], Awaitable[None]]) -> CoversRound:
        queued = await self._run(lambda c: c.execute(_QUEUED, (DELETIONS_PER_ROUND,)).fetchall())
        settled = deleted = 0
        for (sha256,) in queued:
            async with self._covers_lock:
                fate = await self._run(functools.partial(_covers_fate, sha256=sha256))
                if fate is None or fate == "wanted":
                    continue
                if fate == "unused" and not await covers_deleted(delete, sha256):
                    await self._run(
                        functools.partial(_to_the_back, sha256=sha256, now=self._clock())
                    )
                    continue
                deleted += fate == "unused"
                settled += 1
                await self._run(functools.partial(_deletion_done, sha256=sha256))
        return CoversRound(len(queued) == DELETIONS_PER_ROUND, settled, deleted)

    async def close(self) -> None:
        def shut(c: sqlite3.Connection) -> None:
            c.close()

        if self._conn is not None:
            await self._run(shut)
            self._conn = None
        self._executor.shutdown(wait=True)


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """Statements that stand or fall together (the connection commits each one by itself). Left
    with no transaction open whatever happens, so that ``_run`` may run it again."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    finally:
        if conn.in_transaction:  # SQLite may have rolled back already
            conn.execute("ROLLBACK")


def _set_on_held(
    conn: sqlite3.Connection,
    column: Literal["lease_until", "content_sha256"],
    value: object,
    job_ids: list[str],
    owner: str,
) -> set[str]:
    """``column`` set to ``value`` on those of ``job_ids`` that ``owner`` still holds; their ids."""
    if not job_ids:
        return set()
    marks = ", ".join("?" * len(job_ids))
    where = f"job_id IN ({marks}) AND lease_owner = ? AND status = 'PROCESSING'"
    conn.execute(f"UPDATE jobs SET {column} = ? WHERE {where}", (value, *job_ids, owner))  # noqa: S608
    rows = conn.execute(f"SELECT job_id FROM jobs WHERE {where}", (*job_ids, owner))  # noqa: S608
    return {r[0] for r in rows}


def _covers_fate(conn: sqlite3.Connection, sha256: str) -> str | None:
    row = conn.execute(_COVERS_FATE, {"sha": sha256}).fetchone()
    return str(row[0]) if row else None


def _to_the_back(conn: sqlite3.Connection, sha256: str, now: float) -> None:
    conn.execute("UPDATE cover_deletions SET queued_at = ? WHERE sha256 = ?", (now, sha256))


def _deletion_done(conn: sqlite3.Connection, sha256: str) -> None:
    conn.execute("DELETE FROM cover_deletions WHERE sha256 = ?", (sha256,))
