"""The project's own client against the engine: both signatures, typed errors."""

from __future__ import annotations

import pytest

from tests.conftest import CREDENTIALS
from tests.integration.engine.test_failed_jobs import wait_for
from tests.support import EngineProcess, MediaServer
from videorecog.client import VideorecogClient
from videorecog.protocol.errors import AuthError, InvalidFileError, RequestError, TransportError


@pytest.mark.parametrize("signature", ["v1", "acs3"])
async def test_round_trip(engine: EngineProcess, media_server: MediaServer, signature: str) -> None:
    async with VideorecogClient(
        engine.endpoint, "ak-test", CREDENTIALS["ak-test"], signature=signature
    ) as client:  # type: ignore[arg-type]
        job = await client.detect_video_shot(media_server.url("gen/cuts.mp4"))
        result = await wait_for(client, job)
    assert result.result == {"ShotFrameIds": [0, 40, 75, 120]}


async def test_errors_are_typed(engine: EngineProcess) -> None:
    async with VideorecogClient(engine.endpoint, "ak-test", "wrong") as client:
        with pytest.raises(AuthError) as auth:
            await client.detect_video_shot("http://example.com/v.mp4")
    assert auth.value.code == "SignatureDoesNotMatch"
    assert auth.value.http_status == 400
    assert auth.value.request_id
    assert not auth.value.retryable
    async with VideorecogClient(engine.endpoint, "ak-test", CREDENTIALS["ak-test"]) as client:
        with pytest.raises(InvalidFileError) as bad_url:
            await client.detect_video_shot("http://10.0.0.1/v.mp4")
        assert bad_url.value.code == "InvalidFile.Unsafe"
        with pytest.raises(RequestError) as missing:
            await client.get_async_job_result("no-such-job")
        assert missing.value.code == "InvalidJobId.NotFound"


async def test_no_answer_is_a_retryable_transport_error() -> None:
    from videorecog.broker import free_port

    async with VideorecogClient(f"http://127.0.0.1:{free_port()}", "a", "b") as client:
        with pytest.raises(TransportError) as info:
            await client.detect_video_shot("http://example.com/v.mp4")
    assert info.value.retryable
