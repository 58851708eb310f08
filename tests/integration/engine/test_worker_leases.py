"""A worker whose jobs were taken from it (their leases given to another worker) answers none of
them and keeps nothing: the other worker answers them. Taken while it fetched the video, or
after it analysed the video and before it kept the analysis and its covers. Real worker, real
SQLite store, real fetcher over loopback, real analyzer; the lease is taken in the database, as
another worker's claim would."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import aiohttp

from tests.support import MediaServer
from videorecog.analysis import tasks
from videorecog.engine.analyzer import Analyzer
from videorecog.engine.covers import LocalCovers
from videorecog.engine.fetch import AddressPolicy, Download, VideoFetcher
from videorecog.engine.jobs import Job
from videorecog.engine.links import CoverLinks
from videorecog.engine.metrics import EngineMetrics
from videorecog.engine.sqlite_store import SqliteJobStore
from videorecog.engine.worker import JobWorker
from videorecog.protocol.constants import JobStatus


def _take_lease(database: Path, job_id: str, taken: asyncio.Event) -> None:
    with sqlite3.connect(database) as conn:
        conn.execute(
            "UPDATE jobs SET lease_owner = 'thief', lease_until = ? WHERE job_id = ?",
            (time.time() + 600, job_id),
        )
    taken.set()


class _TakenWhileFetching(VideoFetcher):
    """The real fetcher; once the video is here, the job's lease belongs to ``thief``."""

    def __init__(self, session: aiohttp.ClientSession, database: Path, job_id: str) -> None:
        super().__init__(
            session, AddressPolicy(["127.0.0.0/8"]), max_bytes=10**8, timeout_seconds=30
        )
        self.database, self.job_id = database, job_id
        self.taken = asyncio.Event()

    async def fetch(self, url: str, destination: Path) -> Download:
        download = await super().fetch(url, destination)
        _take_lease(self.database, self.job_id, self.taken)
        return download


class _TakenWhileAnalysing(Analyzer):
    """The real analyzer; once the video is analysed, the job's lease belongs to ``thief``."""

    def __init__(self, database: Path, job_id: str) -> None:
        super().__init__(1)
        self.database, self.job_id = database, job_id
        self.taken = asyncio.Event()

    async def analyse(
        self,
        video: Path,
        outputs: frozenset[str],
        out_dir: Path,
        stem: str,
        image_format: str = "png",
    ) -> tuple[tasks.VideoAnalysis, int]:
        analysed = await super().analyse(video, outputs, out_dir, stem, image_format)
        _take_lease(self.database, self.job_id, self.taken)
        return analysed


class _KeptCovers(LocalCovers):
    """Local covers that remember the names they were asked to keep (local ``keep`` and
    ``discard`` move nothing, so the files alone do not tell)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, CoverLinks(b"k" * 32, "http://e"))
        self.kept: list[str] = []

    async def keep(self, names: list[str]) -> None:
        self.kept += names
        await super().keep(names)


async def _work_on(
    database: Path, job: Job, fetcher: VideoFetcher, analyzer: Analyzer, taken: asyncio.Event
) -> tuple[Job, int, list[str]]:
    """``job`` added to the store in ``database`` and worked on by a real worker until its lease
    is ``taken`` and the worker is done with the video: the job then, how many analyses were
    kept, and the covers kept."""
    store = SqliteJobStore(database)
    await store.open()
    covers = _KeptCovers(database.parent / "covers")
    try:
        await store.add(job)
        metrics = EngineMetrics()
        worker = JobWorker(
            store,
            fetcher,
            analyzer,
            covers,
            database.parent / "downloads",
            metrics,
            slots=1,
            lease_seconds=30,
            max_attempts=3,
        )
        async with worker:
            await asyncio.wait_for(taken.wait(), 30)
            deadline = time.monotonic() + 60
            while metrics.registry.get_sample_value("videorecog_engine_worker_busy") != 0:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
        after = await store.get(job.job_id)
        assert after is not None
        with sqlite3.connect(database) as conn:
            analyses = conn.execute("SELECT count(*) FROM analyses").fetchone()[0]
        return after, analyses, covers.kept
    finally:
        analyzer.close()
        await store.close()


def _job(action: str, url: str) -> Job:
    now = time.time()
    return Job("j1", action, url, False, "ak", JobStatus.QUEUING, now, now)


async def test_a_worker_answers_none_of_the_jobs_taken_while_it_fetched(
    tmp_path: Path, media_server: MediaServer
) -> None:
    url = media_server.url("/shared/goldeneye-vfr-drop3.mp4")
    async with aiohttp.ClientSession() as session:
        database = tmp_path / "jobs.sqlite3"
        fetcher = _TakenWhileFetching(session, database, "j1")
        job, analyses, _ = await _work_on(
            database, _job("DetectVideoShot", url), fetcher, Analyzer(1), fetcher.taken
        )
    assert job.status is JobStatus.PROCESSING  # left to the thief, not answered
    assert job.result is None
    assert job.content_sha256 is None  # not noted by a worker that no longer held it
    assert analyses == 0  # without the check: analysed and kept


async def test_a_worker_keeps_nothing_of_an_analysis_whose_jobs_were_taken_meanwhile(
    tmp_path: Path, media_server: MediaServer
) -> None:
    """Taken after the first note (the content noted on the job), while the video was analysed:
    the note before the covers are kept finds no job held."""
    url = media_server.url("/shared/goldeneye-vfr-drop3.mp4")
    async with aiohttp.ClientSession() as session:
        fetcher = VideoFetcher(
            session, AddressPolicy(["127.0.0.0/8"]), max_bytes=10**8, timeout_seconds=30
        )
        database = tmp_path / "jobs.sqlite3"
        analyzer = _TakenWhileAnalysing(database, "j1")
        job, analyses, kept = await _work_on(
            database, _job("GenerateVideoCover", url), fetcher, analyzer, analyzer.taken
        )
    assert job.status is JobStatus.PROCESSING
    assert job.result is None
    assert job.content_sha256  # noted while it was held
    assert analyses == 0  # without the second note: the covers and the analysis kept
    assert kept == []
