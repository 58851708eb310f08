"""Parsing the values of settings: each parser takes the raw text and returns the typed value or
raises ValueError (``settings.load`` turns that into a SettingsError naming the variable)."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit


class Secret:
    """A string that never shows itself in logs, reprs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('********')" if self._value else "Secret('')"

    __str__ = __repr__


# In a pod the kubelet and Prometheus reach the metrics port from outside the container.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104


def text(raw: str) -> str:
    return raw.strip()


def secret(raw: str) -> Secret:
    return Secret(raw.strip())


def instance_id(raw: str) -> str:
    """A stable name for this replica; empty means the host name (a pod's name on Kubernetes)."""
    value = raw.strip() or socket.gethostname()
    if len(value) > 249:
        raise ValueError("must be at most 249 characters")
    return value


def required_text(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError(f"must be a positive integer, got {raw!r}")
    return value


def port(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 65535:
        raise ValueError(f"must be a TCP port (0-65535), got {raw!r}")
    return value


def positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError(f"must be a positive number, got {raw!r}")
    return value


def boolean(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"must be true or false, got {raw!r}")


def bootstrap_servers(raw: str) -> str:
    servers = [s.strip() for s in raw.split(",") if s.strip()]
    if not servers:
        raise ValueError("must list at least one host:port")
    for server in servers:
        host, sep, port = server.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"{server!r} is not host:port")
    return ",".join(servers)


def http_url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"must be an http(s) URL, got {raw!r}")
    return value


def optional_http_url(raw: str) -> str:
    return http_url(raw) if raw.strip() else ""


def optional_redis_url(raw: str) -> Secret:
    """``redis://[:password@]host[:port][/db]``, ``rediss://`` or ``unix://``; empty for none. A
    Secret, because the URL may carry the password."""
    value = raw.strip()
    if value:
        parts = urlsplit(value)
        if parts.scheme not in {"redis", "rediss", "unix"} or not (parts.netloc or parts.path):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
    return Secret(value)


def optional_postgres_url(raw: str) -> Secret:
    """``postgresql://user[:password]@host[:port]/database``; empty for none. A Secret, because
    the URL may carry the password."""
    value = raw.strip()
    if value:
        parts = urlsplit(value)
        if parts.scheme not in {"postgresql", "postgres"} or not parts.path.strip("/"):
            raise ValueError("must be a postgresql://host[:port]/database URL")
    return Secret(value)


def log_level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError(f"must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {raw!r}")
    return value


def choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}, got {raw!r}")
        return value

    return parse


def credentials(raw: str) -> Mapping[str, Secret]:
    """``id:secret[,id:secret]``, or ``@/path/to/file`` holding one ``id:secret`` per line."""
    text = raw.strip()
    if text.startswith("@"):
        text = Path(text[1:]).read_text(encoding="utf-8").replace("\n", ",")
    pairs: dict[str, Secret] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item or item.startswith("#"):
            continue
        key_id, sep, secret = item.partition(":")
        if not sep or not key_id or not secret:
            raise ValueError("each entry must be id:secret")
        pairs[key_id] = Secret(secret)
    return pairs


def allow_hosts(raw: str) -> tuple[str, ...]:
    entries = tuple(e.strip().lower() for e in raw.split(",") if e.strip())
    for entry in entries:
        if "/" in entry:
            ipaddress.ip_network(entry, strict=False)  # raises ValueError with a clear message
    return entries


# --- object storage ---

# S3's rules for new buckets (Alibaba OSS and MinIO follow them too): 3-63 characters of lower-case
# letters, digits, dots and hyphens, starting and ending with a letter or digit.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


class S3Url(NamedTuple):
    """``s3://bucket/prefix``: a bucket and a key prefix without leading or trailing slashes."""

    bucket: str
    prefix: str

    def uri(self, key: str) -> str:
        """The ``s3://`` URI of an object of this bucket."""
        return f"s3://{self.bucket}/{key}"


def s3_url(raw: str) -> S3Url:
    value = raw.strip()
    parts = urlsplit(value)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"must be s3://bucket[/prefix], got {raw!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"must not have a query or fragment, got {raw!r}")
    if not _BUCKET.fullmatch(parts.netloc) or ".." in parts.netloc:
        raise ValueError(f"{parts.netloc!r} is not a bucket name (3-63 of a-z 0-9 . -)")
    segments = [s for s in parts.path.split("/") if s]
    if any(s in {".", ".."} for s in segments):
        raise ValueError(f"the prefix must not contain . or .. segments, got {raw!r}")
    return S3Url(parts.netloc, "/".join(segments))


def optional_s3_url(raw: str) -> S3Url | None:
    return s3_url(raw) if raw.strip() else None
