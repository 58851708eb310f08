"""The CoverStore on its own: real cover links served over HTTP, a real S3 server (SeaweedFS)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

from tests.stores import S3Location
from videorecog.parsers import S3Url
from videorecog.pipeline.coverstore import CoverStore
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.serving import serving
from videorecog.settings import load

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@dataclass
class Links:
    """A cover server that counts its requests and how many it answers at once."""

    delay: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)
    busy: int = 0
    most_busy: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{name}", self._cover)
        return app

    async def _cover(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.requests[name] += 1
        self.busy += 1
        self.most_busy = max(self.most_busy, self.busy)
        try:
            await asyncio.sleep(self.delay)
            if name == "expired.png":
                return web.Response(status=403, text="link expired")
            if name == "flaky.png" and self.requests[name] == 1:
                return web.Response(status=503, text="busy")
            if name == "huge.png":
                return web.Response(body=PNG * 100, content_type="image/png")
            # Each cover its own bytes; "same" twice is one content.
            body = PNG + (b"same" if name.startswith("same") else name.encode())
            return web.Response(body=body, content_type="image/png")
        finally:
            self.busy -= 1


@contextlib.asynccontextmanager
async def cover_store(
    location: S3Location, metrics: PipelineMetrics, *, concurrency: int = 4
) -> AsyncIterator[CoverStore]:
    s3 = load(location.env()).s3
    async with CoverStore(
        S3Url(location.bucket, "p"),
        s3,
        metrics,
        concurrency=concurrency,
        max_bytes=len(PNG) * 10,
        attempts=3,
    ) as store:
        yield store


async def test_copies_in_flight_never_exceed_the_concurrency(s3_bucket: S3Location) -> None:
    """Eight slow covers with room for two at once: never more than two downloads in flight,
    and all eight stored under their content's key."""
    links = Links(delay=0.2)
    metrics = PipelineMetrics()
    async with (
        serving(links.app(), "127.0.0.1", 0) as port,
        cover_store(s3_bucket, metrics, concurrency=2) as store,
    ):
        urls: list[str | None] = [f"http://127.0.0.1:{port}/c{i}.png" for i in range(8)]
        answers = await store.keep("v-1", urls)
    assert links.most_busy == 2
    for i, answer in enumerate(answers):
        sha = hashlib.sha256(PNG + f"c{i}.png".encode()).hexdigest()
        assert answer == {"stored_url": f"s3://{s3_bucket.bucket}/p/v-1/{sha}.png", "sha256": sha}
    assert metrics.registry.get_sample_value("videorecog_pipeline_covers_stored_total") == 8


async def test_each_failure_is_reported_on_its_own_output(s3_bucket: S3Location) -> None:
    """An expired link is not retried, a 503 is, a cover over the size bound is refused, an
    output without a link is left alone, and the same content twice is one object."""
    links = Links()
    metrics = PipelineMetrics()
    async with (
        serving(links.app(), "127.0.0.1", 0) as port,
        cover_store(s3_bucket, metrics) as store,
    ):
        base = f"http://127.0.0.1:{port}"
        names = ["expired.png", "flaky.png", "huge.png", None, "same-a.png", "same-b.png"]
        urls = [f"{base}/{n}" if n else None for n in names]
        expired, flaky, huge, missing, same_a, same_b = await store.keep("v-2", urls)
    assert expired == {"store_error": "download: HTTP 403 from the cover link (expired?)"}
    assert links.requests["expired.png"] == 1
    assert "stored_url" in flaky
    assert links.requests["flaky.png"] == 2
    assert huge["store_error"].startswith("too_large: ")
    assert missing == {}
    assert same_a == same_b

    def failures(reason: str) -> float | None:
        name = "videorecog_pipeline_cover_store_failures_total"
        return metrics.registry.get_sample_value(name, {"reason": reason})

    assert (failures("download"), failures("too_large"), failures("upload")) == (1, 1, 0)
