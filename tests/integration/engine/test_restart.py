"""Jobs survive an engine restart: queued or running ones are picked up again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.integration.engine.test_failed_jobs import wait_for
from tests.support import EngineProcess, MediaServer
from videorecog.client import VideorecogClient
from videorecog.protocol.constants import JobStatus


async def test_every_job_is_answered_after_a_restart(
    tmp_path: Path, media_server: MediaServer
) -> None:
    engine = EngineProcess(tmp_path / "data", "ak:sk", workers="1")
    await asyncio.to_thread(engine.start)
    try:
        async with VideorecogClient(engine.endpoint, "ak", "sk") as client:
            jobs = [
                await client.detect_video_shot(media_server.url(f"gen/{name}.mp4"))
                for name in ("cuts", "dissolves", "fade", "wipe", "vfr", "captions")
            ]
            first = await client.get_async_job_result(jobs[-1])
        # Stopped at once: with one worker most of these are still queued or running.
        assert await asyncio.to_thread(engine.stop) == 0
        assert first.status in (JobStatus.QUEUING, JobStatus.PROCESSING)

        await asyncio.to_thread(engine.start)
        async with VideorecogClient(engine.endpoint, "ak", "sk") as client:
            results = [await wait_for(client, job) for job in jobs]
        assert [r.status for r in results] == [JobStatus.PROCESS_SUCCESS] * len(jobs)
        assert all(r.result and r.result["ShotFrameIds"][0] == 0 for r in results)
        assert "resuming unfinished jobs" in engine.log_text()
    finally:
        await asyncio.to_thread(engine.stop)
