"""ACS3-HMAC-SHA256: the header signature of the current official SDKs.

One canonicalisation, used to sign (the client) and to verify (the engine). Tests hold it to the
signer of ``alibabacloud-tea-openapi`` with known-answer vectors.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from videorecog.protocol.constants import ACS3_ALGORITHM
from videorecog.protocol.encoding import percent_encode

# A request whose signature leaves any of these out could be altered in flight.
REQUIRED_SIGNED_HEADERS = frozenset(
    {
        "host",
        "x-acs-action",
        "x-acs-version",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
    }
)


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def canonical_query(query: Iterable[tuple[str, str]]) -> str:
    encoded = sorted((percent_encode(k), percent_encode(v)) for k, v in query)
    return "&".join(f"{k}={v}" for k, v in encoded)


def canonical_headers(headers: Iterable[tuple[str, str]], names: Iterable[str]) -> str:
    """``name:value\\n`` for each signed header (lower-cased, sorted; repeated values sorted)."""
    wanted = {n.lower() for n in names}
    values: dict[str, list[str]] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in wanted:
            values.setdefault(lowered, []).append(value.strip())
    return "".join(f"{n}:{','.join(sorted(values.get(n, [])))}\n" for n in sorted(wanted))


def canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Iterable[tuple[str, str]],
    signed_headers: Iterable[str],
    body_sha256: str,
) -> str:
    names = sorted({n.lower() for n in signed_headers})
    return "\n".join(
        [
            method.upper(),
            path or "/",
            canonical_query(query),
            canonical_headers(headers, names),
            ";".join(names),
            body_sha256,
        ]
    )


def signature(secret: str, canonical: str) -> str:
    to_sign = f"{ACS3_ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


def authorization(access_key_id: str, signed_headers: Iterable[str], sig: str) -> str:
    names = ";".join(sorted({n.lower() for n in signed_headers}))
    return f"{ACS3_ALGORITHM} Credential={access_key_id},SignedHeaders={names},Signature={sig}"


@dataclass(frozen=True)
class Authorization:
    access_key_id: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(header: str) -> Authorization:
    """Parse ``ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..``.

    Raises:
        ValueError: if the header is not of that form.
    """
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ACS3_ALGORITHM:
        raise ValueError(f"unsupported algorithm {algorithm!r}")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise ValueError(f"malformed Authorization part {part!r}")
        fields[name] = value
    try:
        return Authorization(
            fields["Credential"], tuple(fields["SignedHeaders"].split(";")), fields["Signature"]
        )
    except KeyError as exc:
        raise ValueError(f"Authorization lacks {exc.args[0]}") from None


def sign_headers(
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    access_key_id: str,
    secret: str,
) -> dict[str, str]:
    """``headers`` plus ``x-acs-content-sha256`` and ``Authorization``; every header is signed."""
    signed = {**headers, "x-acs-content-sha256": sha256_hex(body)}
    canonical = canonical_request(
        method, path, query.items(), signed.items(), signed.keys(), signed["x-acs-content-sha256"]
    )
    signed["Authorization"] = authorization(
        access_key_id, signed.keys(), signature(secret, canonical)
    )
    return signed
