"""Where the engine keeps cover images, and the links it hands out for them.

An analysis writes its covers into ``staging``; ``keep`` makes them available to every replica;
``link`` answers with a URL valid for 30 minutes, like the cloud's. Cover names start with the
analysed video's SHA-256 (``<sha256>-<n>.<ext>``), so ``forget`` removes an analysis's covers by
that prefix when retention purges it.

``LocalCovers``: a directory of the data directory, served by the engine itself through signed
links (``links.py``). ``S3Covers``: S3-compatible object storage, linked by presigned GETs, so any
front door answers for any worker and the covers never pass through the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from videorecog.engine.links import LINK_LIFETIME_SECONDS, CoverLinks
from videorecog.parsers import S3Url
from videorecog.s3client import s3_client
from videorecog.settings import S3Settings


class CoverStore(Protocol):
    staging: Path

    async def keep(self, names: list[str]) -> None: ...
    async def discard(self, names: list[str]) -> None: ...
    async def link(self, name: str) -> str: ...
    async def forget(self, sha256: str) -> None: ...


class LocalCovers:
    def __init__(self, directory: Path, links: CoverLinks) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.staging = self.directory = directory
        self.links = links

    async def keep(self, names: list[str]) -> None:
        """Written where they are served from: nothing to move."""

    async def discard(self, names: list[str]) -> None:
        """Left where they are: the same names may be a kept analysis's covers. (The embedded
        engine's one worker loses its leases only if it stalls for most of one.)"""

    async def link(self, name: str) -> str:
        return self.links.url(name)

    async def forget(self, sha256: str) -> None:
        for path in self.directory.glob(f"{sha256}-*"):
            path.unlink(missing_ok=True)

    def path(self, name: str) -> Path | None:
        """The file of a cover name, or None when there is no such cover."""
        path = self.directory / name
        if "/" in name or name.startswith(".") or not path.is_file():
            return None
        return path


class S3Covers:
    def __init__(self, client: Any, location: S3Url, staging: Path) -> None:
        self._s3 = client
        self._location = location
        self.staging = staging

    def _key(self, name: str) -> str:
        return f"{self._location.prefix}/{name}" if self._location.prefix else name

    async def keep(self, names: list[str]) -> None:
        for name in names:
            path = self.staging / name
            body = await asyncio.to_thread(path.read_bytes)
            await self._s3.put_object(
                Bucket=self._location.bucket,
                Key=self._key(name),
                Body=body,
                ContentType=mimetypes.guess_type(name)[0] or "application/octet-stream",
            )
            path.unlink(missing_ok=True)

    async def discard(self, names: list[str]) -> None:
        for name in names:
            await asyncio.to_thread((self.staging / name).unlink, missing_ok=True)

    async def link(self, name: str) -> str:
        url: str = await self._s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self._location.bucket, "Key": self._key(name)},
            ExpiresIn=int(LINK_LIFETIME_SECONDS),
        )
        return url

    async def forget(self, sha256: str) -> None:
        paginator = self._s3.get_paginator("list_objects_v2")
        async for page in paginator.paginate(
            Bucket=self._location.bucket, Prefix=self._key(f"{sha256}-")
        ):
            objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objects:
                answer = await self._s3.delete_objects(
                    Bucket=self._location.bucket, Delete={"Objects": objects, "Quiet": True}
                )
                # A quiet delete answers 200 with the keys it could not delete listed.
                if errors := answer.get("Errors"):
                    raise OSError(f"{len(errors)} cover object(s) not deleted: {errors[0]}")


@contextlib.asynccontextmanager
async def open_s3_covers(
    location: S3Url, s3: S3Settings, data_dir: Path
) -> AsyncIterator[S3Covers]:
    """An S3 client for the cover store, with a staging directory of its own in ``data_dir`` (the
    one writable place a container has), both removed after."""
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="covers-", dir=data_dir) as staging:
        async with s3_client(s3, attempts=5) as client:
            yield S3Covers(client, location, Path(staging))
