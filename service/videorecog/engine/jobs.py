"""Jobs and where they are kept.

``JobStore`` is the small interface the engine needs; ``SqliteJobStore`` is the embedded default
(one file in the data directory, so jobs survive a restart). A store shared by several engine
replicas would implement the same interface.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from videorecog.protocol.constants import JobStatus

T = TypeVar("T")


@dataclass(frozen=True)
class Job:
    job_id: str
    action: str
    video_url: str
    is_gif: bool
    access_key_id: str
    status: JobStatus
    created_at: float
    updated_at: float
    result: str | None = None  # the Result JSON document, serialised
    error_code: str | None = None
    error_message: str | None = None


class JobStore(Protocol):
    async def add(self, job: Job) -> None: ...
    async def get(self, job_id: str) -> Job | None: ...
    async def set_status(self, job_id: str, status: JobStatus) -> None: ...
    async def finish(
        self,
        job_id: str,
        status: JobStatus,
        result: str | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> None: ...
    async def unfinished(self) -> list[Job]: ...
    async def purge(self, finished_before: float) -> list[str]: ...
    async def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    video_url TEXT NOT NULL,
    is_gif INTEGER NOT NULL,
    access_key_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    result TEXT,
    error_code TEXT,
    error_message TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status);
CREATE INDEX IF NOT EXISTS jobs_updated ON jobs(updated_at);
"""
_COLUMNS = (
    "job_id, action, video_url, is_gif, access_key_id, status, created_at, updated_at, "
    "result, error_code, error_message"
)
_ACTIVE = (JobStatus.QUEUING.value, JobStatus.PROCESSING.value)
# Built once from the fixed column list above; every value goes in as a bound parameter.
_INSERT = f"INSERT INTO jobs ({_COLUMNS}) VALUES ({', '.join('?' * 11)})"  # noqa: S608
_SELECT_ONE = f"SELECT {_COLUMNS} FROM jobs WHERE job_id = ?"  # noqa: S608
_SELECT_ACTIVE = f"SELECT {_COLUMNS} FROM jobs WHERE status IN (?, ?) ORDER BY created_at"  # noqa: S608
_EXPIRED = "status NOT IN (?, ?) AND updated_at < ?"
_SELECT_EXPIRED = f"SELECT job_id FROM jobs WHERE {_EXPIRED}"  # noqa: S608
_DELETE_EXPIRED = f"DELETE FROM jobs WHERE {_EXPIRED}"  # noqa: S608


def _row_to_job(row: tuple[Any, ...]) -> Job:
    (job_id, action, url, is_gif, key, status, created, updated, result, code, message) = row
    return Job(
        str(job_id),
        str(action),
        str(url),
        bool(is_gif),
        str(key),
        JobStatus(str(status)),
        float(created),
        float(updated),
        result,
        code,
        message,
    )


class SqliteJobStore:
    """Jobs in ``<data_dir>/jobs.sqlite3``. One connection on one thread: SQLite calls never
    run on the event loop, and never run concurrently."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobstore")
        self._conn: sqlite3.Connection | None = None

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            if self._conn is None:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                self._conn = sqlite3.connect(self._path, isolation_level=None)
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
                self._conn.executescript(_SCHEMA)
            return fn(self._conn)

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def open(self) -> None:
        await self._run(lambda conn: None)

    async def add(self, job: Job) -> None:
        await self._run(
            lambda c: c.execute(
                _INSERT,
                (
                    job.job_id,
                    job.action,
                    job.video_url,
                    int(job.is_gif),
                    job.access_key_id,
                    job.status.value,
                    job.created_at,
                    job.updated_at,
                    job.result,
                    job.error_code,
                    job.error_message,
                ),
            )
        )

    async def get(self, job_id: str) -> Job | None:
        row = await self._run(lambda c: c.execute(_SELECT_ONE, (job_id,)).fetchone())
        return _row_to_job(row) if row else None

    async def set_status(self, job_id: str, status: JobStatus) -> None:
        now = self._clock()
        await self._run(
            lambda c: c.execute(
                "UPDATE jobs SET status = ?, updated_at = ? WHERE job_id = ?",
                (status.value, now, job_id),
            )
        )

    async def finish(
        self,
        job_id: str,
        status: JobStatus,
        result: str | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> None:
        now = self._clock()
        await self._run(
            lambda c: c.execute(
                "UPDATE jobs SET status = ?, updated_at = ?, result = ?, error_code = ?, "
                "error_message = ? WHERE job_id = ?",
                (status.value, now, result, error_code, error_message, job_id),
            )
        )

    async def unfinished(self) -> list[Job]:
        rows = await self._run(lambda c: c.execute(_SELECT_ACTIVE, _ACTIVE).fetchall())
        return [_row_to_job(r) for r in rows]

    async def purge(self, finished_before: float) -> list[str]:
        """Delete final jobs last updated before ``finished_before``; return their ids."""

        def delete(c: sqlite3.Connection) -> list[str]:
            ids = [str(r[0]) for r in c.execute(_SELECT_EXPIRED, (*_ACTIVE, finished_before))]
            c.execute(_DELETE_EXPIRED, (*_ACTIVE, finished_before))
            return ids

        return await self._run(delete)

    async def close(self) -> None:
        def shut(c: sqlite3.Connection) -> None:
            c.close()

        if self._conn is not None:
            await self._run(shut)
            self._conn = None
        self._executor.shutdown(wait=True)
