"""Authentication as a pure function of the request (no server)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from videorecog.client.signing import PreparedRequest, sign_acs3, sign_v1
from videorecog.engine.auth import Authenticator
from videorecog.engine.request import ApiRequest
from videorecog.protocol.errors import ApiError
from videorecog.settings import Secret

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


def _request(prepared: PreparedRequest) -> ApiRequest:
    from urllib.parse import parse_qsl

    form = (
        tuple(parse_qsl(prepared.body.decode(), keep_blank_values=True))
        if prepared.headers.get(
            "Content-Type", prepared.headers.get("content-type", "")
        ).startswith("application/x-www-form-urlencoded")
        else ()
    )
    return ApiRequest(
        prepared.method,
        "/",
        tuple(prepared.query.items()),
        form,
        tuple(prepared.headers.items()),
        prepared.body,
    )


def _auth() -> Authenticator:
    return Authenticator({"ak": Secret("sk")}, clock=NOW.timestamp)


def _code(auth: Authenticator, prepared: PreparedRequest) -> str:
    with pytest.raises(ApiError) as info:
        auth.authenticate(_request(prepared))
    return info.value.code


def test_v1_post_and_get_are_accepted() -> None:
    auth = _auth()
    for method in ("POST", "GET"):
        prepared = sign_v1(
            "DetectVideoShot", {"VideoUrl": "http://h/v.mp4"}, "ak", "sk", method=method, now=NOW
        )
        assert auth.authenticate(_request(prepared)) == "ak"


def test_acs3_is_accepted() -> None:
    prepared = sign_acs3(
        "DetectVideoShot", {"VideoUrl": "http://h/v.mp4"}, "ak", "sk", host="h:1", now=NOW
    )
    assert _auth().authenticate(_request(prepared)) == "ak"


def test_tampered_parameter_breaks_the_v1_signature() -> None:
    prepared = sign_v1("DetectVideoShot", {"VideoUrl": "http://h/v.mp4"}, "ak", "sk", now=NOW)
    tampered = PreparedRequest(
        prepared.method, prepared.query, prepared.headers, b"VideoUrl=http%3A%2F%2Fevil%2Fv.mp4"
    )
    assert _code(_auth(), tampered) == "SignatureDoesNotMatch"


def test_tampered_body_breaks_acs3() -> None:
    prepared = sign_acs3(
        "DetectVideoShot", {"VideoUrl": "http://h/v.mp4"}, "ak", "sk", host="h:1", now=NOW
    )
    tampered = PreparedRequest(prepared.method, prepared.query, prepared.headers, b"VideoUrl=x")
    assert _code(_auth(), tampered) == "SignatureDoesNotMatch"


def test_acs3_must_sign_the_essential_headers() -> None:
    prepared = sign_acs3("DetectVideoShot", {}, "ak", "sk", host="h:1", now=NOW)
    headers = dict(prepared.headers)
    headers["Authorization"] = headers["Authorization"].replace("host;", "")
    assert (
        _code(_auth(), PreparedRequest("POST", {}, headers, prepared.body)) == "IncompleteSignature"
    )


def test_timestamp_window_edges() -> None:
    """Within 15 minutes either way is accepted; beyond it is expired."""
    from datetime import timedelta

    auth = _auth()
    inside = sign_v1(
        "GetAsyncJobResult", {"JobId": "j"}, "ak", "sk", now=NOW - timedelta(minutes=14, seconds=59)
    )
    assert auth.authenticate(_request(inside)) == "ak"
    outside = sign_v1(
        "GetAsyncJobResult", {"JobId": "j"}, "ak", "sk", now=NOW + timedelta(minutes=15, seconds=1)
    )
    assert _code(auth, outside) == "InvalidTimeStamp.Expired"


def test_malformed_timestamp() -> None:
    prepared = sign_v1("GetAsyncJobResult", {"JobId": "j"}, "ak", "sk", now=NOW)
    query = {**prepared.query, "Timestamp": "yesterday"}
    assert (
        _code(_auth(), PreparedRequest("POST", query, prepared.headers, prepared.body))
        == "InvalidTimeStamp.Format"
    )


def test_nonce_is_per_key_and_single_use() -> None:
    auth = Authenticator({"ak": Secret("sk"), "ak2": Secret("sk2")}, clock=NOW.timestamp)
    first = sign_v1("GetAsyncJobResult", {"JobId": "j"}, "ak", "sk", nonce="n", now=NOW)
    other_key = sign_v1("GetAsyncJobResult", {"JobId": "j"}, "ak2", "sk2", nonce="n", now=NOW)
    assert auth.authenticate(_request(first)) == "ak"
    assert auth.authenticate(_request(other_key)) == "ak2"
    assert _code(auth, first) == "SignatureNonceUsed"


def test_a_bad_signature_does_not_burn_the_nonce() -> None:
    """Only authentic requests consume their nonce (an attacker cannot block a client's)."""
    auth = _auth()
    forged = sign_v1("GetAsyncJobResult", {"JobId": "j"}, "ak", "bad", nonce="n", now=NOW)
    assert _code(auth, forged) == "SignatureDoesNotMatch"
    real = sign_v1("GetAsyncJobResult", {"JobId": "j"}, "ak", "sk", nonce="n", now=NOW)
    assert auth.authenticate(_request(real)) == "ak"


@pytest.mark.parametrize("missing", ["AccessKeyId", "Signature", "SignatureNonce", "Timestamp"])
def test_missing_common_parameter(missing: str) -> None:
    prepared = sign_v1("GetAsyncJobResult", {"JobId": "j"}, "ak", "sk", now=NOW)
    query = {k: v for k, v in prepared.query.items() if k != missing}
    assert (
        _code(_auth(), PreparedRequest("POST", query, prepared.headers, prepared.body))
        == "MissingParameter"
    )


def test_duplicate_parameter_is_invalid() -> None:
    request = ApiRequest("GET", "/", (("JobId", "a"), ("JobId", "b")), (), (), b"")
    with pytest.raises(ApiError) as info:
        request.params()
    assert info.value.code == "InvalidParameter"
