"""What a one-shot command reads: a local path, ``-`` (standard input) or an http(s) URL.

Standard input is spooled to a temporary file (the decoder seeks). A URL is fetched with the
engine's fetcher and its rules (``engine/fetch.py``): http(s) only, every address checked before
connecting and after each redirect, loopback and private addresses refused unless allow-listed,
size and time bounded; the file is streamed to a temporary file. The temporary files are removed
when the ``with`` block ends.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from videorecog.protocol.errors import InvalidFileContent

STDIN = "-"
_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".flv", ".ts", ".mpg", ".mpeg")


@dataclass(frozen=True)
class Source:
    path: Path  # a local file to decode
    name: str  # a name for outputs: the file's stem
    media_url: str | None  # where editors find the media (file:// or the URL); None for stdin


@dataclass(frozen=True)
class FetchRules:
    """The fetcher's limits; ``allow_hosts``: hosts or CIDRs admitted although private or
    loopback (the engine's ``VIDEORECOG_ENGINE_ALLOW_HOSTS`` and the command's ``--allow-host``)."""

    allow_hosts: tuple[str, ...] = ()
    max_bytes: int = 1 << 30
    timeout_seconds: float = 120.0


def is_url(spec: str) -> bool:
    return spec.lower().startswith(("http://", "https://"))


@contextlib.contextmanager
def open_source(
    spec: str, rules: FetchRules = FetchRules(), stdin: BinaryIO | None = None
) -> Iterator[Source]:
    """A local file for ``spec`` for the duration of the ``with`` block.

    Raises:
        InvalidFileError: the URL was refused or could not be fetched (its ``InvalidFile.*``
            code), or standard input was empty.
        FileNotFoundError: a path that does not exist.
    """
    if spec == STDIN:
        with tempfile.TemporaryDirectory(prefix="videorecog-") as tmp:
            path = Path(tmp) / "stdin"
            source = stdin if stdin is not None else sys.stdin.buffer
            with path.open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            if path.stat().st_size == 0:
                raise InvalidFileContent("Standard input was empty.")
            yield Source(path, "stdin", None)
        return
    if is_url(spec):
        with tempfile.TemporaryDirectory(prefix="videorecog-") as tmp:
            name = _url_stem(spec)
            path = Path(tmp) / f"download{_url_suffix(spec)}"
            import asyncio  # here: a local file starts faster without the event loop's imports

            asyncio.run(_fetch(spec, path, rules))
            yield Source(path, name, spec)
        return
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {spec}")
    yield Source(path, path.stem or "video", path.resolve().as_uri())


def _url_stem(url: str) -> str:
    last = unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2])
    return Path(last).stem or "video"


def _url_suffix(url: str) -> str:
    suffix = Path(urlsplit(url).path).suffix.lower()
    return suffix if suffix in _SUFFIXES else ""


async def _fetch(url: str, destination: Path, rules: FetchRules) -> None:
    import aiohttp

    from videorecog.engine.fetch import AddressPolicy, VideoFetcher

    async with aiohttp.ClientSession() as session:
        fetcher = VideoFetcher(
            session,
            AddressPolicy(rules.allow_hosts),
            max_bytes=rules.max_bytes,
            timeout_seconds=rules.timeout_seconds,
        )
        await fetcher.fetch(url, destination)


def allow_list(configured: Iterable[str], extra: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*configured, *extra]))
