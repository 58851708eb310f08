"""Running jobs: QUEUING -> PROCESSING -> a final status, a few at a time.

A fixed set of worker coroutines takes job ids from a queue; each downloads the video and hands it
to the analyzer (a process pool). Jobs found unfinished at start-up (the engine stopped while they
were queued or running) are queued again.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import orjson

from videorecog.engine.analyzer import Analyzer
from videorecog.engine.fetch import VideoFetcher
from videorecog.engine.jobs import JobStore
from videorecog.engine.metrics import EngineMetrics
from videorecog.protocol.constants import JobStatus
from videorecog.protocol.errors import ApiError, InternalServerError
from videorecog.protocol.tasks import COVER, GIF, SHOTS, task_for

log = logging.getLogger(__name__)

Analysis = Callable[[Path, str], Awaitable[tuple[dict[str, Any], int]]]
"""(downloaded video, job id) -> (the job's Result, frames analysed)."""


class JobRunner:
    def __init__(
        self,
        store: JobStore,
        fetcher: VideoFetcher,
        analyzer: Analyzer,
        data_dir: Path,
        metrics: EngineMetrics,
        *,
        concurrency: int,
        image_format: str = "png",
    ) -> None:
        self._store = store
        self._fetcher = fetcher
        self._analyzer = analyzer
        self._downloads = data_dir / "downloads"
        self.covers_dir = data_dir / "covers"
        self._metrics = metrics
        self._concurrency = concurrency
        self._image_format = image_format
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        # Each task of the registry (protocol/tasks.py) and the analysis that answers it.
        self._analyses: dict[str, Analysis] = {
            SHOTS.name: self._shots,
            COVER.name: functools.partial(self._covers, gif=False),
            GIF.name: functools.partial(self._covers, gif=True),
        }
        self._workers: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Self:
        self._downloads.mkdir(parents=True, exist_ok=True)
        self.covers_dir.mkdir(parents=True, exist_ok=True)
        for job in await self._store.unfinished():
            await self._store.set_status(job.job_id, JobStatus.QUEUING)
            self.submit(job.job_id)
        if self._queue.qsize():
            log.info("resuming unfinished jobs", extra={"jobs": self._queue.qsize()})
        self._workers = [
            asyncio.create_task(self._work(), name=f"job-worker-{i}")
            for i in range(self._concurrency)
        ]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in self._workers:
            task.cancel()
        # Cancelled jobs stay PROCESSING in the store and are resumed at the next start.
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    @property
    def alive(self) -> bool:
        return bool(self._workers) and not any(t.done() for t in self._workers)

    def submit(self, job_id: str) -> None:
        self._queue.put_nowait(job_id)
        self._metrics.queue_depth.set(self._queue.qsize())

    async def _work(self) -> None:
        while True:
            job_id = await self._queue.get()
            self._metrics.queue_depth.set(self._queue.qsize())
            try:
                await self._run(job_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug in one job must not stop the worker; the job fails, the worker goes on.
                log.exception("job crashed", extra={"job_id": job_id})
                await self._store.finish(
                    job_id,
                    JobStatus.PROCESS_FAILED,
                    None,
                    InternalServerError.code,
                    "The job failed unexpectedly.",
                )

    async def _shots(self, video: Path, job_id: str) -> tuple[dict[str, Any], int]:
        shots = await self._analyzer.shots(video)
        return {"ShotFrameIds": shots.shot_frame_ids}, shots.frames

    async def _covers(self, video: Path, job_id: str, *, gif: bool) -> tuple[dict[str, Any], int]:
        """Covers are stored by file name; the front door signs a link for each answer."""
        covers = await self._analyzer.covers(
            video, self.covers_dir, job_id, gif, self._image_format
        )
        outputs = [{"File": c.file, "Confidence": c.confidence} for c in covers.covers]
        return {"Outputs": outputs}, covers.frames

    async def _run(self, job_id: str) -> None:
        job = await self._store.get(job_id)
        if job is None or job.status.is_final:
            return
        await self._store.set_status(job_id, JobStatus.PROCESSING)
        video = self._downloads / f"{job_id}.video"
        try:
            await self._fetcher.fetch(job.video_url, video)
            started = time.monotonic()
            task = task_for(job.action, {"IsGif": "true" if job.is_gif else "false"})
            result, frames = await self._analyses[task.name](video, job_id)
            self._metrics.analysis_seconds.labels(job.action).observe(time.monotonic() - started)
            self._metrics.analysis_frames.inc(frames)
        except ApiError as exc:
            await self._store.finish(job_id, JobStatus.PROCESS_FAILED, None, exc.code, exc.message)
            self._metrics.jobs.labels(job.action, JobStatus.PROCESS_FAILED).inc()
            log.info("job failed", extra={"job_id": job_id, "code": exc.code})
            return
        finally:
            video.unlink(missing_ok=True)
        await self._store.finish(job_id, JobStatus.PROCESS_SUCCESS, orjson.dumps(result).decode())
        self._metrics.jobs.labels(job.action, JobStatus.PROCESS_SUCCESS).inc()
        log.info("job done", extra={"job_id": job_id, "action": job.action})
