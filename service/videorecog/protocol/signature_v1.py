"""Signature v1 (HMAC-SHA1) of RPC requests: the query, or the query plus a form body.

One canonicalisation, used to sign (the client) and to verify (the engine). The official
``aliyun-python-sdk-core`` signs the same way; tests hold it to that with known-answer vectors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

from videorecog.protocol.encoding import percent_encode


def canonical_query(params: Iterable[tuple[str, str]]) -> str:
    """``name=value`` pairs, percent-encoded, sorted by encoded name, joined with ``&``."""
    encoded = sorted((percent_encode(k), percent_encode(v)) for k, v in params if k != "Signature")
    return "&".join(f"{k}={v}" for k, v in encoded)


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    # The canonical query holds only unreserved characters, %XX, "=" and "&", so encoding it again
    # is these three replacements ("%" first) -- the same result as percent_encode, 40x cheaper.
    query = canonical_query(params.items())
    encoded = query.replace("%", "%25").replace("=", "%3D").replace("&", "%26")
    return f"{method.upper()}&%2F&{encoded}"


def sign(method: str, params: Mapping[str, str], secret: str) -> str:
    """Base64(HMAC-SHA1(secret + "&", StringToSign)) over every parameter but ``Signature``."""
    digest = hmac.new(
        f"{secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


def verify(method: str, params: Mapping[str, str], secret: str, signature: str) -> bool:
    return hmac.compare_digest(sign(method, params, secret), signature)
