"""Known-answer tests: our signatures equal those the official SDKs compute for the same inputs."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from videorecog.client.signing import sign_acs3, sign_v1
from videorecog.protocol import signature_acs3

AK, SECRET = "testId", "testKeySecret"

# Values chosen to exercise the encoding corners: space, '*', '~', '/', '+', non-ASCII.
VIDEO_URLS = [
    "https://viapi-test.oss-cn-shanghai.aliyuncs.com/test-team/video.mp4",
    "https://h/path with space/*star*~tilde+plus.mp4?x=1&y=a/b",
    "https://h/%E7%99%BD%E5%8F%91.mp4",
    "https://h/白发.mp4",
]


def _sdk_v1(
    params: dict[str, str], body: dict[str, str], method: str
) -> tuple[dict[str, str], str]:
    """Sign with aliyunsdkcore; return its query (own nonce and timestamp) and Signature."""
    from aliyunsdkcore.auth.composer import rpc_signature_composer

    url, _ = rpc_signature_composer.get_signed_url(
        dict(params), AK, SECRET, "JSON", method, dict(body)
    )
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    return query, query.pop("Signature")


@pytest.mark.parametrize("video_url", VIDEO_URLS)
def test_v1_post_signature_equals_aliyunsdkcore(video_url: str) -> None:
    """POST with the action's parameters in the form body, as aliyun-python-sdk-core sends it."""
    common = {"Action": "DetectVideoShot", "Version": "2020-03-20", "RegionId": "cn-shanghai"}
    body = {"VideoUrl": video_url}
    sdk_query, sdk_signature = _sdk_v1(common, body, "POST")
    now = datetime.strptime(sdk_query["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    ours = sign_v1(
        "DetectVideoShot",
        body,
        AK,
        SECRET,
        method="POST",
        region_id="cn-shanghai",
        nonce=sdk_query["SignatureNonce"],
        now=now,
    )
    # The SDK also sends an empty SignatureType; the signature covers every parameter sent.
    if "SignatureType" in sdk_query:
        from videorecog.protocol import signature_v1

        expected = signature_v1.sign("POST", {**ours.query, "SignatureType": "", **body}, SECRET)
        assert expected == sdk_signature
    else:
        assert ours.query["Signature"] == sdk_signature


def test_v1_string_to_sign_equals_aliyunsdkcore() -> None:
    """Same parameters in, byte-identical StringToSign out."""
    from aliyunsdkcore.auth.composer import rpc_signature_composer

    from videorecog.protocol import signature_v1

    params = {"Action": "GenerateVideoCover", "IsGif": "true", "VideoUrl": VIDEO_URLS[1]}
    url, sdk_sts = rpc_signature_composer.get_signed_url(
        dict(params), AK, SECRET, "JSON", "GET", {}
    )
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    query.pop("Signature")
    assert signature_v1.string_to_sign("GET", query) == sdk_sts


def test_v1_seed_example_vector() -> None:
    """The documented v1 algorithm on a fixed request gives an independently computed answer."""
    from videorecog.protocol import signature_v1

    params = {
        "AccessKeyId": "testId",
        "Action": "DetectVideoShot",
        "Format": "JSON",
        "RegionId": "cn-shanghai",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "313ef0fb-0393-464f-a6e2-59d9ca2585b1",
        "SignatureVersion": "1.0",
        "Timestamp": "2020-03-10T08:18:18Z",
        "Version": "2020-03-20",
    }
    sts = signature_v1.string_to_sign("GET", params)
    assert sts.startswith("GET&%2F&AccessKeyId%3DtestId%26Action%3DDetectVideoShot")
    assert "Timestamp%3D2020-03-10T08%253A18%253A18Z" in sts
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(
        hmac.new(b"testKeySecret&", sts.encode(), hashlib.sha1).digest()
    ).decode()
    assert signature_v1.sign("GET", params, "testKeySecret") == expected


# Parameter names of the API are ASCII; values are anything (URLs with Unicode, spaces, symbols).
NAMES = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    min_size=1,
    max_size=8,
)


@given(st.dictionaries(NAMES, st.text(max_size=20), max_size=5))
def test_v1_canonical_form_equals_sdk_for_any_text(extra: dict[str, str]) -> None:
    """For arbitrary Unicode values, our StringToSign equals aliyunsdkcore's."""
    from aliyunsdkcore.auth.composer import rpc_signature_composer

    from videorecog.protocol import signature_v1

    params = {"Action": "DetectVideoShot", **{f"X{k}": v for k, v in extra.items()}}
    url, sdk_sts = rpc_signature_composer.get_signed_url(
        dict(params), AK, SECRET, "JSON", "GET", {}
    )
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    query.pop("Signature")
    assert signature_v1.string_to_sign("GET", query) == sdk_sts


@pytest.mark.parametrize("video_url", VIDEO_URLS)
def test_acs3_authorization_equals_tea_openapi(video_url: str) -> None:
    """Our ACS3 Authorization header equals the one alibabacloud-tea-openapi computes."""
    from alibabacloud_tea_openapi.utils import Utils

    now = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
    ours = sign_acs3(
        "DetectVideoShot",
        {"VideoUrl": video_url},
        AK,
        SECRET,
        host="127.0.0.1:8080",
        nonce="nonce-1",
        now=now,
    )
    headers = {k: v for k, v in ours.headers.items() if k != "Authorization"}
    request = SimpleNamespace(method="POST", pathname="/", query={}, headers=headers)
    expected = Utils.get_authorization(
        request, "ACS3-HMAC-SHA256", headers["x-acs-content-sha256"], AK, SECRET
    )
    assert ours.headers["Authorization"] == expected


def test_acs3_with_query_and_repeated_header_equals_tea_openapi() -> None:
    """Query parameters and header canonicalisation agree with the SDK too."""
    from alibabacloud_tea_openapi.utils import Utils

    query = {"b": "2 3", "a": "x*y~z", "c": "白"}
    headers = {
        "host": "h",
        "x-acs-action": "A",
        "x-acs-version": "2020-03-20",
        "x-acs-date": "2026-11-24T12:00:00Z",
        "x-acs-signature-nonce": "n",
        "X-Acs-Custom": "  padded  ",
    }
    signed = signature_acs3.sign_headers("POST", "/", query, headers, b"k=v", AK, SECRET)
    unsigned = {k: v for k, v in signed.items() if k != "Authorization"}
    request = SimpleNamespace(method="POST", pathname="/", query=query, headers=unsigned)
    expected = Utils.get_authorization(
        request, "ACS3-HMAC-SHA256", unsigned["x-acs-content-sha256"], AK, SECRET
    )
    assert signed["Authorization"] == expected


def test_acs3_parse_authorization_round_trip() -> None:
    header = signature_acs3.authorization("ak", ["host", "x-acs-date"], "abc")
    parsed = signature_acs3.parse_authorization(header)
    assert parsed.access_key_id == "ak"
    assert parsed.signed_headers == ("host", "x-acs-date")
    assert parsed.signature == "abc"
    with pytest.raises(ValueError, match="algorithm"):
        signature_acs3.parse_authorization("HMAC-SHA1 Credential=ak")
