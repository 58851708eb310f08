"""Cover links: valid ones serve the image; expired or tampered ones get 403."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import aiohttp

from tests.conftest import CREDENTIALS
from tests.integration.engine.test_failed_jobs import wait_for
from tests.support import EngineProcess, MediaServer
from videorecog.client import VideorecogClient
from videorecog.engine.links import CoverLinks


async def test_links_are_signed_and_expire(
    engine: EngineProcess, media_server: MediaServer
) -> None:
    async with VideorecogClient(engine.endpoint, "ak-test", CREDENTIALS["ak-test"]) as client:
        job = await client.generate_video_cover(media_server.url("gen/cuts.mp4"), is_gif=False)
        result = await wait_for(client, job)
    assert result.result is not None
    url = result.result["Outputs"][0]["ImageURL"]
    split = urlsplit(url)
    name = split.path.rsplit("/", 1)[1]
    query = parse_qs(split.query)

    key = (engine.data_dir / "link.key").read_bytes()
    expired = CoverLinks(key, engine.endpoint, lifetime_seconds=-10).url(name)
    signature = query["Signature"][0]
    # Flip the first character to one it is not, so the link really changes.
    tampered = url.replace(signature, ("B" if signature[0] == "A" else "A") + signature[1:])
    assert tampered != url
    later = url.replace(
        f"Expires={query['Expires'][0]}", f"Expires={int(query['Expires'][0]) + 3600}"
    )
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            assert response.status == 200
            assert (await response.read())[:8] == b"\x89PNG\r\n\x1a\n"
        for bad in (expired, tampered, later, f"{engine.endpoint}/covers/{name}"):
            async with session.get(bad) as response:
                assert response.status == 403, bad
