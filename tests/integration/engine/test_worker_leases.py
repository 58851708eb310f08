"""A worker whose jobs were taken from it while it fetched the video (their leases given to
another worker) answers none of them and keeps nothing: the other worker answers them. Real
worker, real SQLite store, real fetcher over loopback; the lease is taken in the database, as
another worker's claim would."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import aiohttp

from tests.support import MediaServer
from videorecog.engine.analyzer import Analyzer
from videorecog.engine.covers import LocalCovers
from videorecog.engine.fetch import AddressPolicy, Download, VideoFetcher
from videorecog.engine.jobs import Job
from videorecog.engine.links import CoverLinks
from videorecog.engine.metrics import EngineMetrics
from videorecog.engine.sqlite_store import SqliteJobStore
from videorecog.engine.worker import JobWorker
from videorecog.protocol.constants import JobStatus


class _TakenWhileFetching(VideoFetcher):
    """The real fetcher; once the video is here, the job's lease belongs to ``thief``."""

    def __init__(self, session: aiohttp.ClientSession, database: Path, job_id: str) -> None:
        super().__init__(
            session, AddressPolicy(["127.0.0.0/8"]), max_bytes=10**8, timeout_seconds=30
        )
        self.database, self.job_id = database, job_id
        self.fetched = asyncio.Event()

    async def fetch(self, url: str, destination: Path) -> Download:
        download = await super().fetch(url, destination)
        with sqlite3.connect(self.database) as conn:
            conn.execute(
                "UPDATE jobs SET lease_owner = 'thief', lease_until = ? WHERE job_id = ?",
                (time.time() + 600, self.job_id),
            )
        self.fetched.set()
        return download


async def test_a_worker_answers_none_of_the_jobs_taken_from_it(
    tmp_path: Path, media_server: MediaServer
) -> None:
    database = tmp_path / "jobs.sqlite3"
    store = SqliteJobStore(database)
    await store.open()
    url = media_server.url("/shared/goldeneye-vfr-drop3.mp4")
    now = time.time()
    await store.add(Job("j1", "DetectVideoShot", url, False, "ak", JobStatus.QUEUING, now, now))
    covers = LocalCovers(tmp_path / "covers", CoverLinks(b"k" * 32, "http://e"))
    analyzer = Analyzer(1)
    try:
        async with aiohttp.ClientSession() as session:
            fetcher = _TakenWhileFetching(session, database, "j1")
            worker_metrics = EngineMetrics()
            worker = JobWorker(
                store,
                fetcher,
                analyzer,
                covers,
                tmp_path / "downloads",
                worker_metrics,
                slots=1,
                lease_seconds=30,
                max_attempts=3,
            )
            async with worker:
                await asyncio.wait_for(fetcher.fetched.wait(), 30)
                # Until the worker is done with the video (without the check: analysed and kept).
                deadline = time.monotonic() + 60
                while (
                    worker_metrics.registry.get_sample_value("videorecog_engine_worker_busy") != 0
                ):
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.05)
        job = await store.get("j1")
        assert job is not None
        assert job.status is JobStatus.PROCESSING  # left to the thief, not answered
        assert job.result is None
        assert job.content_sha256 is None  # not noted by a worker that no longer held it
        with sqlite3.connect(database) as conn:  # and nothing kept under any content
            assert conn.execute("SELECT count(*) FROM analyses").fetchone()[0] == 0
    finally:
        analyzer.close()
        await store.close()
