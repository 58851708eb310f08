"""The worker role: claim jobs, analyse, answer. One video's jobs share one download and one pass.

A claim takes the oldest waiting job with every other job waiting for the same URL; jobs for that
URL that arrive while its video is downloading or being analysed join the holder (no other claim
takes them, in this worker or another). The bytes' SHA-256 then finds what an earlier analysis of
the same video already answered (kept for the retention period); the outputs still missing come
from one decoding pass (``tasks.analyse``). The worker holds its jobs with a lease it renews while
it works: if it dies, the leases run out and another worker takes the jobs again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Self

import orjson

from videorecog.analysis import tasks
from videorecog.engine.analyzer import Analyzer
from videorecog.engine.covers import CoverStore
from videorecog.engine.fetch import VideoFetcher
from videorecog.engine.jobs import Job, JobStore, Output, answer_status
from videorecog.engine.metrics import EngineMetrics
from videorecog.protocol.errors import ApiError, InternalServerError, error_for
from videorecog.protocol.tasks import task_for

log = logging.getLogger(__name__)

IDLE_SECONDS = 1.0  # longest wait between claims when nothing is queued
EXPIRY_CHECK_SECONDS = 5.0


def worker_id() -> str:
    """Names the lease holder in the store: which host and process, unique per start."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def output_of(job: Job) -> str:
    """The analysis output that answers a job: protocol/tasks.py's task name."""
    return task_for(job.action, {"IsGif": "true" if job.is_gif else "false"}).name


def outputs_of(analysis: tasks.VideoAnalysis, sha256: str, names: set[str]) -> dict[str, Output]:
    """Each output asked for, as the Result document its jobs answer with (or its error)."""
    made: dict[str, Output] = {}
    for name in names:
        failed = analysis.failed.get(name)
        if failed is not None:
            exc = error_for(failed.code, failed.message)
            made[name] = Output(sha256, name, None, exc.code, exc.message)
        elif name == "shots" and analysis.shots is not None:
            shots = {"ShotFrameIds": analysis.shots.shot_frame_ids}
            made[name] = Output(sha256, name, orjson.dumps(shots).decode())
        else:
            made_covers = analysis.gif if name == "gif" else analysis.cover
            files = made_covers.covers if made_covers is not None else []
            outputs = {"Outputs": [{"File": c.file, "Confidence": c.confidence} for c in files]}
            made[name] = Output(sha256, name, orjson.dumps(outputs).decode())
    return made


def cover_files(outputs: dict[str, Output]) -> list[str]:
    names: list[str] = []
    for output in outputs.values():
        if output.result is not None:
            names += [o["File"] for o in orjson.loads(output.result).get("Outputs", [])]
    return names


class JobWorker:
    def __init__(
        self,
        store: JobStore,
        fetcher: VideoFetcher,
        analyzer: Analyzer,
        covers: CoverStore,
        downloads: Path,
        metrics: EngineMetrics,
        *,
        slots: int,
        lease_seconds: float,
        max_attempts: int,
        image_format: str = "png",
    ) -> None:
        self._store = store
        self._fetcher = fetcher
        self._analyzer = analyzer
        self._covers = covers
        self._downloads = downloads
        self._metrics = metrics
        self._slots = asyncio.Semaphore(slots)
        self._lease = lease_seconds
        self._max_attempts = max_attempts
        self._image_format = image_format
        self.owner = worker_id()
        self._task: asyncio.Task[None] | None = None
        metrics.worker_slots.set(slots)

    async def __aenter__(self) -> Self:
        self._downloads.mkdir(parents=True, exist_ok=True)
        self._task = asyncio.create_task(self._run(), name="job-worker")
        log.info("worker started", extra={"worker": self.owner})
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Jobs being analysed stay PROCESSING; their leases run out and they are taken again.
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._expire())
            while True:
                await self._slots.acquire()
                jobs = await self._claim()
                if jobs:
                    group.create_task(self._answer_video(jobs))
                else:
                    self._slots.release()
                    await self._store.wait_for_work(IDLE_SECONDS)

    async def _claim(self) -> list[Job]:
        try:
            return await self._store.claim(self.owner, self._lease, self._max_attempts)
        except Exception:
            # The store being away for a moment must not stop the worker: it tries again.
            log.exception("claiming jobs failed")
            await asyncio.sleep(IDLE_SECONDS)
            return []

    async def _expire(self) -> None:
        """Jobs whose worker died on their last attempt become final (LIMIT_RETRY_FAILED)."""
        while True:
            try:
                expired = await self._store.fail_exhausted(self._max_attempts)
            except Exception:
                log.exception("ending exhausted jobs failed")
                expired = []
            if expired:
                self._metrics.lease_expiries.inc(len(expired))
                log.warning("jobs out of attempts", extra={"jobs": expired})
            await asyncio.sleep(EXPIRY_CHECK_SECONDS)

    async def _answer_video(self, jobs: list[Job]) -> None:
        held = {job.job_id: job for job in jobs}
        self._metrics.worker_busy.inc()
        try:
            async with self._leased(held):
                await self._download_and_answer(jobs[0].video_url, held)
        except Exception:
            # A bug in one video's jobs must not stop the worker: they fail, the worker goes on.
            log.exception("jobs crashed", extra={"jobs": list(held)})
            crash = Output("", "", None, InternalServerError.code, "The job failed unexpectedly.")
            for job in list(held.values()):
                await self._finish(job, crash, held, reused=False)
        finally:
            self._metrics.worker_busy.dec()
            self._slots.release()

    @contextlib.asynccontextmanager
    async def _leased(self, held: dict[str, Job]) -> AsyncIterator[None]:
        """Renew the leases of ``held`` (which grows as jobs join) until the block ends."""
        self._metrics.lease_expiries.inc(sum(job.attempts > 1 for job in held.values()))

        async def renew() -> None:
            while True:
                await asyncio.sleep(self._lease / 3)
                try:
                    kept = await self._store.renew(self.owner, list(held), self._lease)
                except Exception:
                    log.exception("renewing leases failed")
                    continue
                if lost := set(held) - kept:
                    log.warning("leases lost", extra={"jobs": sorted(lost)})

        task = asyncio.create_task(renew())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _join(self, url: str, held: dict[str, Job]) -> list[Job]:
        joined = await self._store.join(self.owner, url, self._lease)
        held.update((job.job_id, job) for job in joined)
        return joined

    async def _download_and_answer(self, url: str, held: dict[str, Job]) -> None:
        video = self._downloads / f"{uuid.uuid4().hex}.video"
        try:
            try:
                download = await self._fetcher.fetch(url, video)
            except ApiError as exc:
                await self._join(url, held)
                failure = Output("", "", None, exc.code, exc.message)
                for job in list(held.values()):
                    await self._finish(job, failure, held, reused=False)
                return
            self._metrics.downloads.inc()
            pending = list(held.values()) + await self._join(url, held)
            while pending:
                await self._answer(video, download.sha256, pending, held)
                pending = await self._join(url, held)
        finally:
            await asyncio.to_thread(video.unlink, missing_ok=True)

    async def _answer(
        self, video: Path, sha256: str, jobs: list[Job], held: dict[str, Job]
    ) -> None:
        # Before the analyses are read and any cover is written: a deletion of this content's
        # covers under way is finished first, and none starts while a job refers to it.
        noted = await self._store.note_content(self.owner, [job.job_id for job in jobs], sha256)
        for job in jobs:
            if job.job_id not in noted:  # its lease ran out: another worker or no one answers it
                held.pop(job.job_id, None)
                log.warning("job no longer held; not answered", extra={"job_id": job.job_id})
        jobs = [job for job in jobs if job.job_id in noted]
        if not jobs:
            return
        wanted = {output_of(job) for job in jobs}
        known = await self._store.outputs(sha256)
        missing = wanted - known.keys()
        actions = ",".join(sorted({job.action for job in jobs if output_of(job) in missing}))
        ids = [job.job_id for job in jobs]
        fresh = await self._analyse(video, sha256, missing, actions, ids) if missing else {}
        for job in jobs:
            name = output_of(job)
            answer = fresh.get(name) or known[name]
            await self._finish(job, answer, held, reused=name not in fresh)

    async def _analyse(
        self, video: Path, sha256: str, names: set[str], actions: str, job_ids: list[str]
    ) -> dict[str, Output]:
        started = time.monotonic()
        try:
            analysis, passes = await self._analyzer.analyse(
                video, frozenset(names), self._covers.staging, sha256, self._image_format
            )
        except ApiError as exc:
            failed = {name: Output(sha256, name, None, exc.code, exc.message) for name in names}
            if exc.code.startswith("InvalidFile."):
                # The bytes decide it: the same video would fail the same way again.
                await self._store.keep_outputs(list(failed.values()))
            return failed
        self._metrics.analysis_seconds.labels(actions).observe(time.monotonic() - started)
        self._metrics.analysis_frames.inc(analysis.frames)
        self._metrics.decode_passes.inc(passes)
        made = outputs_of(analysis, sha256, names)
        # Noted again, under the content's lock, just before the covers are written: jobs all lost
        # while the video was analysed (their leases ran out) no longer refer to the content, and
        # a deletion of its covers may already be under way; nothing made here is kept then.
        if not await self._store.note_content(self.owner, job_ids, sha256):
            await self._covers.discard(cover_files(made))
            return made
        await self._covers.keep(cover_files(made))
        await self._store.keep_outputs(list(made.values()))
        return made

    async def _finish(
        self, job: Job, answer: Output, held: dict[str, Job], *, reused: bool
    ) -> None:
        """Answer the job, and let go of it (its lease is no longer renewed)."""
        held.pop(job.job_id, None)
        name = output_of(job)
        answer = Output(answer.sha256, name, answer.result, answer.error_code, answer.error_message)
        if not await self._store.finish(job.job_id, self.owner, answer):
            log.warning("job no longer held; its answer is dropped", extra={"job_id": job.job_id})
            return
        status = answer_status(answer)
        self._metrics.jobs.labels(job.action, status).inc()
        if reused:
            self._metrics.analyses_reused.inc()
        log.info(
            "job done",
            extra={"job_id": job.job_id, "status": status.value, "code": answer.error_code},
        )
