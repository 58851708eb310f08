"""Every refusal of the engine, with its exact Code and HTTP status."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson
import pytest

from tests.conftest import CREDENTIALS
from tests.support import EngineProcess, MediaServer
from videorecog.client import VideorecogClient
from videorecog.client.signing import PreparedRequest, sign_acs3, sign_v1

AK = "ak-test"
SK = CREDENTIALS[AK]


async def _send(engine: EngineProcess, prepared: PreparedRequest) -> tuple[int, dict[str, Any]]:
    url = f"{engine.endpoint}/"
    if prepared.query:
        url = f"{url}?{prepared.query_string}"
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            prepared.method,
            aiohttp.client.URL(url, encoded=True),
            headers=prepared.headers,
            data=prepared.body or None,
        ) as response,
    ):
        return response.status, orjson.loads(await response.read())


def _v1(action: str, params: Mapping[str, str], **kw: Any) -> PreparedRequest:
    return sign_v1(action, params, kw.pop("ak", AK), kw.pop("sk", SK), **kw)


def _assert_error(status: int, body: dict[str, Any], code: str, http: int) -> None:
    assert (body.get("Code"), status) == (code, http), body
    assert set(body) == {"RequestId", "HostId", "Code", "Message"}
    assert body["Message"]


GOOD_URL = "http://127.0.0.1:1/v.mp4"

CASES: list[tuple[str, PreparedRequest, str, int]] = [
    (
        "bad signature",
        _v1("DetectVideoShot", {"VideoUrl": GOOD_URL}, sk="wrong"),
        "SignatureDoesNotMatch",
        400,
    ),
    (
        "unknown AccessKeyId",
        _v1("DetectVideoShot", {"VideoUrl": GOOD_URL}, ak="nobody"),
        "InvalidAccessKeyId.NotFound",
        404,
    ),
    (
        "expired timestamp",
        _v1(
            "DetectVideoShot", {"VideoUrl": GOOD_URL}, now=datetime.now(UTC) - timedelta(minutes=16)
        ),
        "InvalidTimeStamp.Expired",
        400,
    ),
    (
        "timestamp from the future",
        _v1(
            "DetectVideoShot", {"VideoUrl": GOOD_URL}, now=datetime.now(UTC) + timedelta(minutes=30)
        ),
        "InvalidTimeStamp.Expired",
        400,
    ),
    ("missing VideoUrl", _v1("DetectVideoShot", {}), "MissingParameter", 400),
    ("missing IsGif", _v1("GenerateVideoCover", {"VideoUrl": GOOD_URL}), "MissingParameter", 400),
    (
        "IsGif not boolean",
        _v1("GenerateVideoCover", {"VideoUrl": GOOD_URL, "IsGif": "maybe"}),
        "InvalidParameter",
        400,
    ),
    ("missing JobId", _v1("GetAsyncJobResult", {}), "MissingParameter", 400),
    ("unknown JobId", _v1("GetAsyncJobResult", {"JobId": "NOPE"}), "InvalidJobId.NotFound", 404),
    ("unknown action", _v1("DescribeEverything", {}), "InvalidAction.NotFound", 404),
    (
        "wrong version",
        _v1("DetectVideoShot", {"VideoUrl": GOOD_URL, "Version": "2019-01-01"}, method="GET"),
        "InvalidVersion",
        400,
    ),
    (
        "malformed VideoUrl",
        _v1("DetectVideoShot", {"VideoUrl": "not a url"}),
        "InvalidFile.URL",
        400,
    ),
    (
        "ftp VideoUrl",
        _v1("DetectVideoShot", {"VideoUrl": "ftp://example.com/v.mp4"}),
        "InvalidFile.URL",
        400,
    ),
    (
        "non-ASCII VideoUrl",
        _v1("DetectVideoShot", {"VideoUrl": "http://example.com/白发.mp4"}),
        "InvalidFile.URL",
        400,
    ),
    (
        "private-address VideoUrl",
        _v1("DetectVideoShot", {"VideoUrl": "http://10.1.2.3/v.mp4"}),
        "InvalidFile.Unsafe",
        400,
    ),
    (
        "link-local VideoUrl",
        _v1("DetectVideoShot", {"VideoUrl": "http://169.254.169.254/latest/meta-data"}),
        "InvalidFile.Unsafe",
        400,
    ),
]


@pytest.mark.parametrize(
    ("prepared", "code", "http"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_refusals(
    engine: EngineProcess, prepared: PreparedRequest, code: str, http: int
) -> None:
    status, body = await _send(engine, prepared)
    _assert_error(status, body, code, http)


async def test_acs3_bad_signature(engine: EngineProcess) -> None:
    """ACS3 signs the Host header, so sign for the engine's real host with the wrong secret."""
    prepared = sign_acs3("DetectVideoShot", {"VideoUrl": GOOD_URL}, AK, "wrong", host=engine.host)
    status, body = await _send(engine, prepared)
    _assert_error(status, body, "SignatureDoesNotMatch", 400)


async def test_replayed_nonce_is_refused(engine: EngineProcess) -> None:
    """The same signed request twice: the second is a replay."""
    prepared = _v1("GetAsyncJobResult", {"JobId": "NOPE"}, nonce="fixed-nonce-1")
    first_status, _ = await _send(engine, prepared)
    assert first_status == 404
    status, body = await _send(engine, prepared)
    _assert_error(status, body, "SignatureNonceUsed", 400)


async def test_replayed_acs3_nonce_is_refused(engine: EngineProcess) -> None:
    prepared = sign_acs3(
        "GetAsyncJobResult", {"JobId": "NOPE"}, AK, SK, host=engine.host, nonce="fixed-nonce-2"
    )
    await _send(engine, prepared)
    status, body = await _send(engine, prepared)
    _assert_error(status, body, "SignatureNonceUsed", 400)


async def test_xml_error_envelope(engine: EngineProcess) -> None:
    prepared = _v1("Nope", {"Format": "XML"}, method="GET")
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            aiohttp.client.URL(f"{engine.endpoint}/?{prepared.query_string}", encoded=True)
        ) as response,
    ):
        text = await response.text()
    assert response.status == 404
    assert "<Error><RequestId>" in text
    assert "<Code>InvalidAction.NotFound</Code>" in text


async def test_rate_over_the_limit_is_throttled(engine: EngineProcess) -> None:
    """A burst far over the per-key limit: some answers are Throttling.User, HTTP 400."""
    key = "ak-rate"
    requests = [
        sign_v1("GetAsyncJobResult", {"JobId": "NOPE"}, key, CREDENTIALS[key]) for _ in range(400)
    ]
    answers = await asyncio.gather(*(_send(engine, r) for r in requests))
    codes = [body["Code"] for _, body in answers]
    throttled = [(s, b) for s, b in answers if b["Code"] == "Throttling.User"]
    assert throttled, codes
    assert all(s == 400 for s, _ in throttled)
    assert codes.count("InvalidJobId.NotFound") >= 100  # the burst allowance went through


async def test_another_keys_job_is_not_visible(
    engine: EngineProcess, media_server: MediaServer
) -> None:
    """A job is answered only to the AccessKey that submitted it."""
    async with (
        VideorecogClient(engine.endpoint, AK, SK) as owner,
        VideorecogClient(engine.endpoint, "ak-other", CREDENTIALS["ak-other"]) as other,
    ):
        job_id = await owner.detect_video_shot(media_server.url("gen/cuts.mp4"))
        status, body = await _send(
            engine,
            sign_v1("GetAsyncJobResult", {"JobId": job_id}, "ak-other", CREDENTIALS["ak-other"]),
        )
        _assert_error(status, body, "InvalidJobId.NotFound", 404)
        assert (await owner.get_async_job_result(job_id)).job_id == job_id
        del other
