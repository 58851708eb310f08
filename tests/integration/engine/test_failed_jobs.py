"""Accepted jobs whose video cannot be used fail with PROCESS_FAILED and an InvalidFile code."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import CREDENTIALS
from tests.support import EngineProcess, MediaServer
from videorecog.client import JobResult, VideorecogClient
from videorecog.protocol.constants import JobStatus


async def wait_for(client: VideorecogClient, job_id: str) -> JobResult:
    for _ in range(400):
        result = await client.get_async_job_result(job_id)
        if result.status.is_final:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("redirect?to=http://10.0.0.7/v.mp4", "InvalidFile.Unsafe"),
        ("redirect?to=http://169.254.169.254/v.mp4", "InvalidFile.Unsafe"),
        ("page.html", "InvalidFile.Type"),
        ("gen/not_video.mp4", "InvalidFile.Type"),
        ("gen/corrupt.mp4", "InvalidFile.Decode"),
        ("gen/audio_only.m4a", "InvalidFile.Content"),
        ("gen/too_large.mp4", "InvalidFile.Resolution"),
        ("gen/missing.mp4", "InvalidFile.Download"),
    ],
)
async def test_bad_video_fails_its_job(
    engine: EngineProcess, media_server: MediaServer, path: str, code: str
) -> None:
    async with VideorecogClient(engine.endpoint, "ak-test", CREDENTIALS["ak-test"]) as client:
        job_id = await client.detect_video_shot(media_server.url(path))
        result = await wait_for(client, job_id)
    assert result.status is JobStatus.PROCESS_FAILED
    assert result.error_code == code, result.error_message
    assert result.error_message
