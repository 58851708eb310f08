"""Durable covers: each cover copied into S3-compatible storage while its link is still valid.

The API's cover links expire (the cloud's after 30 minutes), so a result read later by a slow
consumer, a replay or a backfill would point at nothing. With VIDEORECOG_COVER_STORE_URL set, the
``CoverStore`` downloads each cover (aiohttp, at most VIDEORECOG_COVER_STORE_MAX_BYTES) and uploads
it (aiobotocore) to ``prefix/<video_id>/<sha256>.<ext>``. The key comes from the content alone,
so a re-delivered event writes the very same object: no duplicates, whatever crashes.

Objects are PUT unconditionally, without asking first whether they exist: a second PUT of a
content-addressed key stores identical bytes, a HEAD first would cost a request on every first
copy to save one on the rare re-delivery, and PUT-only credentials (no s3:GetObject or
s3:ListBucket) are enough.

At most VIDEORECOG_COVER_STORE_CONCURRENCY copies hold their bytes at once, so copies in flight
never take more memory than that many times the largest cover. A copy that still fails after its
retries is reported, never raised: its output gets ``store_error`` and the event completes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import quote

import aiohttp

from videorecog.parsers import S3Url
from videorecog.pipeline.backoff import RetryPolicy
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.s3client import s3_client
from videorecog.settings import S3Settings, Settings

log = logging.getLogger(__name__)

# An S3 key is at most 1024 bytes; a percent-encoded video id (up to 256 characters, 12 bytes
# each when encoded) may not fit, so a long one is replaced by its hash.
MAX_VIDEO_SEGMENT = 400
_CHUNK = 64 * 1024
# Hashing a large cover on the event loop would stall every other event for milliseconds.
_HASH_IN_THREAD_BYTES = 1 << 20
_DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=10, sock_read=30)

# The kinds of image the APIs hand out; anything else is stored as it is, as ``.bin``.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"GIF87a", "gif", "image/gif"),
    (b"GIF89a", "gif", "image/gif"),
)


def image_type(data: bytes) -> tuple[str, str]:
    """The file extension and content type of an image, from its first bytes."""
    for magic, ext, content_type in _SIGNATURES:
        if data.startswith(magic):
            return ext, content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp", "image/webp"
    return "bin", "application/octet-stream"


def video_segment(video_id: str) -> str:
    """The video id as one key segment: percent-encoded (RFC 3986 unreserved characters kept),
    so that ``/`` or ``..`` in an id never makes another directory; hashed when too long."""
    segment = quote(video_id, safe="")
    if segment in {".", ".."}:
        segment = segment.replace(".", "%2E")
    if len(segment) > MAX_VIDEO_SEGMENT:
        segment = "sha256-" + hashlib.sha256(video_id.encode()).hexdigest()
    return segment


def cover_key(prefix: str, video_id: str, sha256: str, ext: str) -> str:
    """``prefix/<video_id>/<sha256>.<ext>``: the same content of a video always has the same key."""
    name = f"{video_segment(video_id)}/{sha256}.{ext}"
    return f"{prefix}/{name}" if prefix else name


class CopyError(Exception):
    """A cover that could not be copied. ``reason`` is a label of cover_store_failures_total."""

    def __init__(self, reason: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.retryable = retryable


@dataclass(frozen=True)
class StoredCover:
    """Where a copy is and what it holds."""

    stored_url: str
    """``s3://bucket/key``."""
    sha256: str
    """Hex SHA-256 of the object's bytes (also the key's file name)."""


def _digests(data: bytes) -> tuple[str, str]:
    """Hex SHA-256 (the key) and base64 MD5 (Content-MD5: the store checks what it received)."""
    md5 = hashlib.md5(data, usedforsecurity=False).digest()
    return hashlib.sha256(data).hexdigest(), base64.b64encode(md5).decode()


class CoverStore:
    """``await store.keep(video_id, urls)``: copy a task's covers, one answer per URL.

    An async context manager: it opens one HTTP session for the downloads and one S3 client.
    """

    def __init__(
        self,
        location: S3Url,
        s3: S3Settings,
        metrics: PipelineMetrics,
        *,
        concurrency: int,
        max_bytes: int,
        attempts: int,
    ) -> None:
        self.location = location
        self._s3_settings = s3
        self._metrics = metrics
        self._max_bytes = max_bytes
        self._attempts = attempts
        self._retry = RetryPolicy(attempts=attempts, base_seconds=0.5, cap_seconds=10.0)
        self._slots = asyncio.Semaphore(concurrency)
        self._stack = contextlib.AsyncExitStack()
        self._http: aiohttp.ClientSession | None = None
        self._s3: Any = None  # aiobotocore's client is built at run time: it has no static type

    async def __aenter__(self) -> Self:
        # Both or neither: a client opened before the other failed is closed again.
        async with contextlib.AsyncExitStack() as stack:
            self._http = await stack.enter_async_context(
                aiohttp.ClientSession(timeout=_DOWNLOAD_TIMEOUT)
            )
            self._s3 = await stack.enter_async_context(
                s3_client(self._s3_settings, attempts=self._attempts)
            )
            self._stack = stack.pop_all()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def keep(self, video_id: str, urls: Sequence[str | None]) -> list[dict[str, str]]:
        """For each cover URL, ``{"stored_url", "sha256"}`` or ``{"store_error"}`` (``{}`` for an
        output without a URL). Never raises but CancelledError."""
        return list(await asyncio.gather(*(self._keep_one(video_id, url) for url in urls)))

    async def _keep_one(self, video_id: str, url: str | None) -> dict[str, str]:
        if not url:
            return {}
        async with self._slots:
            started = time.monotonic()
            try:
                stored = await self.copy(video_id, url)
            except CopyError as exc:
                self._metrics.cover_store_failures.labels(exc.reason).inc()
                log.warning(
                    "cover not stored",
                    extra={"video_id": video_id, "reason": exc.reason, "error": str(exc)},
                )
                return {"store_error": f"{exc.reason}: {exc}"[:500]}
            except Exception:
                # A bug in one copy must not stop the pipeline: that output is marked, the event
                # completes, and the log has the traceback.
                self._metrics.cover_store_failures.labels("unexpected").inc()
                log.exception("cover copy crashed", extra={"video_id": video_id})
                return {"store_error": "unexpected: the copy failed unexpectedly"}
            finally:
                self._metrics.cover_store_duration.observe(time.monotonic() - started)
        return {"stored_url": stored.stored_url, "sha256": stored.sha256}

    async def copy(self, video_id: str, url: str) -> StoredCover:
        """Download the cover and store it under its content's key.

        Raises: CopyError once the retries are spent (or at once when retrying cannot help).
        """
        data = await self._download(url)
        if len(data) > _HASH_IN_THREAD_BYTES:
            sha256, md5 = await asyncio.to_thread(_digests, data)
        else:
            sha256, md5 = _digests(data)
        ext, content_type = image_type(data)
        key = cover_key(self.location.prefix, video_id, sha256, ext)
        await self._upload(key, data, content_type, md5)
        self._metrics.covers_stored.inc()
        self._metrics.cover_store_bytes.inc(len(data))
        return StoredCover(self.location.uri(key), sha256)

    # --- download: aiohttp, bounded, retried here ---

    async def _download(self, url: str) -> bytes:
        if not url.startswith(("http://", "https://")):
            raise CopyError("download", f"not an http(s) URL: {url[:100]!r}")
        attempt = 0
        while True:
            try:
                return await self._fetch(url)
            except CopyError as exc:
                attempt += 1
                if not exc.retryable or attempt >= self._attempts:
                    raise
                await asyncio.sleep(self._retry.delay(attempt - 1))

    async def _fetch(self, url: str) -> bytes:
        """One try. Raises: CopyError (retryable for 5xx, 429 and network trouble)."""
        if self._http is None:
            raise RuntimeError("the cover store is not open")
        try:
            async with self._http.get(url) as response:
                if response.status != 200:
                    raise CopyError(
                        "download",
                        f"HTTP {response.status} from the cover link"
                        + (" (expired?)" if response.status == 403 else ""),
                        retryable=response.status >= 500 or response.status == 429,
                    )
                if (response.content_length or 0) > self._max_bytes:
                    raise self._too_large()
                body = bytearray()
                async for chunk in response.content.iter_chunked(_CHUNK):
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise self._too_large()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CopyError("download", f"{type(exc).__name__}: {exc}", retryable=True) from exc
        if not body:
            raise CopyError("download", "the cover link answered an empty body")
        return bytes(body)

    def _too_large(self) -> CopyError:
        return CopyError("too_large", f"the cover is larger than {self._max_bytes} bytes")

    # --- upload: aiobotocore, retried by botocore's standard mode (throttling, 5xx, network) ---

    async def _upload(self, key: str, data: bytes, content_type: str, md5: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            await self._s3.put_object(
                Bucket=self.location.bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                ContentMD5=md5,
            )
        except (BotoCoreError, ClientError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise CopyError("upload", str(exc) or type(exc).__name__) from exc


@contextlib.asynccontextmanager
async def optional_cover_store(
    settings: Settings, metrics: PipelineMetrics
) -> AsyncIterator[CoverStore | None]:
    """The cover store VIDEORECOG_COVER_STORE_URL names, or None when it is not set."""
    c = settings.covers
    if c.url is None:
        yield None
        return
    async with CoverStore(
        c.url,
        settings.s3,
        metrics,
        concurrency=c.concurrency,
        max_bytes=c.max_bytes,
        attempts=c.attempts,
    ) as store:
        yield store
