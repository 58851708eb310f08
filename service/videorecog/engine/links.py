"""Signed, expiring links to cover files, like object-store presigned URLs.

``/covers/<name>?Expires=<unix time>&Signature=<base64url HMAC-SHA256>``; an expired or altered
link is refused with 403. The key lives in the data directory, so links survive a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

LINK_LIFETIME_SECONDS = 30 * 60  # as long as the cloud's links live


def load_or_create_key(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    path.write_bytes(key)
    path.chmod(0o600)
    return key


class CoverLinks:
    def __init__(
        self,
        key: bytes,
        base_url: str,
        *,
        lifetime_seconds: float = LINK_LIFETIME_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        self._base = base_url.rstrip("/")
        self._lifetime = lifetime_seconds
        self._clock = clock

    def _signature(self, name: str, expires: int) -> str:
        digest = hmac.new(self._key, f"GET\n/covers/{name}\n{expires}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")

    def url(self, name: str) -> str:
        expires = int(self._clock() + self._lifetime)
        return (
            f"{self._base}/covers/{quote(name)}?Expires={expires}"
            f"&Signature={self._signature(name, expires)}"
        )

    def verify(self, name: str, expires: str, signature: str) -> bool:
        """True when the signature is ours and the link has not expired."""
        if not expires.isdigit() or int(expires) < self._clock():
            return False
        return hmac.compare_digest(self._signature(name, int(expires)), signature)
