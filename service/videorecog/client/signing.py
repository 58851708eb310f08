"""Turning an action and its parameters into a signed HTTP request (pure functions).

v1: common parameters in the query, the action's parameters in a form body (POST) or in the query
too (GET). ACS3: the action's parameters in a form body, everything else in ``x-acs-*`` headers.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from videorecog.protocol import signature_acs3, signature_v1
from videorecog.protocol.constants import (
    API_VERSION,
    SIGNATURE_METHOD_V1,
    SIGNATURE_VERSION_V1,
    TIMESTAMP_FORMAT,
)
from videorecog.protocol.encoding import percent_encode

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class PreparedRequest:
    method: str
    query: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def query_string(self) -> str:
        return encode_form(self.query)


def encode_form(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in params.items())


def _nonce() -> str:
    """128 random bits as 32 hex digits (what uuid4().hex carries, without its object)."""
    return os.urandom(16).hex()


def _timestamp(now: datetime | None) -> str:
    if now is not None:
        return now.strftime(TIMESTAMP_FORMAT)
    return _current_timestamp(int(time.time()))


@functools.lru_cache(maxsize=1)
def _current_timestamp(second: int) -> str:
    """The timestamp has a resolution of one second; at hundreds of requests per second, format it
    once per second."""
    return datetime.fromtimestamp(second, UTC).strftime(TIMESTAMP_FORMAT)


def sign_v1(
    action: str,
    params: Mapping[str, str],
    access_key_id: str,
    secret: str,
    *,
    method: str = "POST",
    region_id: str = "",
    nonce: str | None = None,
    now: datetime | None = None,
) -> PreparedRequest:
    """A signature-v1 request: POST with a form body (like aliyun-python-sdk-core), or GET."""
    common = {
        "Action": action,
        "Version": API_VERSION,
        "Format": "JSON",
        "AccessKeyId": access_key_id,
        "SignatureMethod": SIGNATURE_METHOD_V1,
        "SignatureVersion": SIGNATURE_VERSION_V1,
        "SignatureNonce": nonce or _nonce(),
        "Timestamp": _timestamp(now),
    }
    if region_id:
        common["RegionId"] = region_id
    if method.upper() == "GET":
        query = {**common, **params}
        query["Signature"] = signature_v1.sign("GET", query, secret)
        return PreparedRequest("GET", query)
    common["Signature"] = signature_v1.sign("POST", {**common, **params}, secret)
    return PreparedRequest(
        "POST", common, {"Content-Type": FORM_CONTENT_TYPE}, encode_form(params).encode()
    )


def sign_acs3(
    action: str,
    params: Mapping[str, str],
    access_key_id: str,
    secret: str,
    *,
    host: str,
    nonce: str | None = None,
    now: datetime | None = None,
) -> PreparedRequest:
    """An ACS3-HMAC-SHA256 request (like alibabacloud-tea-openapi): POST, form body."""
    body = encode_form(params).encode()
    headers = {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": API_VERSION,
        "x-acs-date": _timestamp(now),
        "x-acs-signature-nonce": nonce or _nonce(),
        "content-type": FORM_CONTENT_TYPE,
    }
    signed = signature_acs3.sign_headers("POST", "/", {}, headers, body, access_key_id, secret)
    return PreparedRequest("POST", {}, signed, body)
