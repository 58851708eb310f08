"""Downloading ``VideoUrl`` safely.

http(s) only; every address is checked before connecting (loopback, private, link-local, multicast
and reserved ones are refused unless allow-listed); the host is resolved once and the connection
goes to the address that was checked (no DNS rebinding); each redirect is checked the same way;
size and time are bounded. Every failure is an ``InvalidFileError`` with its ``InvalidFile.*`` code.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urljoin

import aiohttp
from yarl import URL

from videorecog.protocol.errors import (
    InvalidFileContent,
    InvalidFileDownload,
    InvalidFileError,
    InvalidFileType,
    InvalidFileUnsafe,
)
from videorecog.protocol.urls import check_url_syntax

MAX_REDIRECTS = 5
_NOT_VIDEO_TYPES = ("text/", "application/json", "application/xml", "image/")
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressPolicy:
    """Which addresses the fetcher may connect to."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self._hosts: set[str] = set()
        self._networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in allow:
            try:
                self._networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self._hosts.add(entry.lower())

    def host_allowed(self, host: str) -> bool:
        return host.lower() in self._hosts

    def address_allowed(self, host: str, address: IpAddress) -> bool:
        if self.host_allowed(host) or any(address in net for net in self._networks):
            return True
        return address.is_global and not (address.is_multicast or address.is_reserved)

    def check_literal(self, url: URL) -> None:
        """Refuse a URL whose host is an unsafe IP literal (no DNS needed to know)."""
        host = url.host or ""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return
        if not self.address_allowed(host, address):
            raise InvalidFileUnsafe(f"The address {host} is not allowed.")


def looks_like_video(head: bytes) -> bool:
    """Whether the first bytes are those of a container we decode (MP4/MOV, FLV, MPEG-TS,
    RealMedia, Matroska/WebM, AVI, MPEG-PS)."""
    return (
        head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")
        or head.startswith((b"FLV", b".RMF", b"\x1a\x45\xdf\xa3", b"\x00\x00\x01\xba"))
        or (head.startswith(b"RIFF") and head[8:11] == b"AVI")
        or (len(head) > 188 and head[0] == 0x47 and head[188] == 0x47)
    )


def _write_and_hash(out: BinaryIO, digest: hashlib._Hash, chunk: bytes) -> None:
    """Off the event loop: hashing a megabyte takes milliseconds (hashlib lets go of the GIL)."""
    digest.update(chunk)
    out.write(chunk)


def _open_for_writing(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("wb")


@dataclass(frozen=True)
class Download:
    path: Path
    size: int
    content_type: str
    sha256: str  # of the bytes: the same video under another URL is analysed once


class VideoFetcher:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        policy: AddressPolicy,
        *,
        max_bytes: int,
        timeout_seconds: float,
    ) -> None:
        self._session = session
        self._policy = policy
        self._max_bytes = max_bytes
        self._timeout = timeout_seconds

    async def _resolve(self, host: str, port: int) -> IpAddress:
        try:
            return ipaddress.ip_address(host)
        except ValueError:
            pass
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError:
            raise InvalidFileDownload(f"Cannot resolve {host}.") from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        # Every answer must be safe: otherwise a record set mixing a public and a private
        # address would let a retry land on the private one.
        for address in addresses:
            if not self._policy.address_allowed(host, address):
                raise InvalidFileUnsafe(f"{host} resolves to a disallowed address.")
        return addresses[0]

    async def fetch(self, url: str, destination: Path) -> Download:
        """Download ``url`` into ``destination``.

        Raises:
            InvalidFileError: URL, Unsafe, Download or Type.
        """
        try:
            async with asyncio.timeout(self._timeout):
                return await self._fetch(url, destination)
        except TimeoutError:
            await asyncio.to_thread(destination.unlink, missing_ok=True)
            raise InvalidFileDownload(
                f"The download took longer than {self._timeout:g}s."
            ) from None
        except InvalidFileError:
            await asyncio.to_thread(destination.unlink, missing_ok=True)
            raise

    async def _fetch(self, url: str, destination: Path) -> Download:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            target = check_url_syntax(current)
            self._policy.check_literal(target)
            host = target.host or ""
            port = target.port or (443 if target.scheme == "https" else 80)
            address = await self._resolve(host, port)
            connect_url = target.with_host(str(address))
            headers = {"Host": target.raw_authority, "Accept": "video/*, */*;q=0.5"}
            try:
                async with self._session.get(
                    connect_url,
                    headers=headers,
                    allow_redirects=False,
                    server_hostname=host if target.scheme == "https" else None,
                ) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        location = response.headers.get("Location")
                        if not location:
                            raise InvalidFileDownload("A redirect had no Location.")
                        current = urljoin(current, location)
                        continue
                    if response.status != 200:
                        raise InvalidFileDownload(f"The server answered HTTP {response.status}.")
                    return await self._save(response, destination)
            except aiohttp.ClientError as exc:
                raise InvalidFileDownload(f"The download failed: {type(exc).__name__}.") from None
        raise InvalidFileDownload(f"More than {MAX_REDIRECTS} redirects.")

    async def _save(self, response: aiohttp.ClientResponse, destination: Path) -> Download:
        content_type = response.headers.get("Content-Type", "").lower()
        if content_type.startswith(_NOT_VIDEO_TYPES):
            raise InvalidFileType(f"The URL serves {content_type}, not video.")
        if (response.content_length or 0) > self._max_bytes:
            raise InvalidFileDownload(f"The file is larger than {self._max_bytes} bytes.")
        size = 0
        head = b""
        digest = hashlib.sha256()
        # Disk writes go to a thread: a slow disk must not stall the event loop.
        out = await asyncio.to_thread(_open_for_writing, destination)
        try:
            async for chunk in response.content.iter_chunked(1 << 20):
                if len(head) < 512:
                    head += chunk[: 512 - len(head)]
                    if len(head) == 512 and not looks_like_video(head):
                        raise InvalidFileType("The file is not a video.")
                size += len(chunk)
                if size > self._max_bytes:
                    raise InvalidFileDownload(f"The file is larger than {self._max_bytes} bytes.")
                await asyncio.to_thread(_write_and_hash, out, digest, chunk)
        finally:
            await asyncio.to_thread(out.close)
        if size == 0:
            raise InvalidFileContent("The file is empty.")
        if not looks_like_video(head):
            raise InvalidFileType("The file is not a video.")
        return Download(destination, size, content_type, digest.hexdigest())
