"""What ``videorecog shots`` and ``split`` read: a path, standard input, or a URL fetched under
the engine's rules (loopback refused unless allowed with ``--allow-host`` or
``VIDEORECOG_ENGINE_ALLOW_HOSTS``)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import opentimelineio as otio
import orjson
import pytest

from tests.clips import PLANS
from tests.support import MediaServer
from videorecog.inputs import FetchRules, open_source
from videorecog.protocol.errors import InvalidFileError
from videorecog.samples import Truth, render


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Truth]:
    path = tmp_path_factory.mktemp("inputs") / "cuts.mp4"
    return path, render(PLANS["cuts"], path)


@pytest.fixture(scope="module")
def server(clip: tuple[Path, Truth]) -> Iterator[MediaServer]:
    media = MediaServer({"gen": clip[0].parent})
    media.start()
    yield media
    media.stop()


def _run(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VIDEORECOG_")}
    return subprocess.run(
        [sys.executable, "-m", "videorecog", *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=60,
        check=False,
        env={**environment, **(env or {})},
    )


def test_standard_input_is_spooled(clip: tuple[Path, Truth]) -> None:
    """``-`` reads the video from standard input."""
    path, truth = clip
    done = _run("shots", "-", stdin=path.read_bytes())
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["ShotFrameIds"] == [0, *truth.cuts]


def test_empty_standard_input_fails(tmp_path: Path) -> None:
    """Nothing on standard input is an error, not an empty shot list."""
    done = _run("shots", "-", stdin=b"")
    assert done.returncode == 1
    assert b"InvalidFile.Content" in done.stderr


def test_url_on_loopback_is_refused_by_default(server: MediaServer) -> None:
    """The fetcher's rules hold: a loopback URL is refused without an explicit allowance."""
    done = _run("shots", server.url("/gen/cuts.mp4"))
    assert done.returncode == 1
    assert b"InvalidFile.Unsafe" in done.stderr
    assert b"--allow-host" in done.stderr
    assert done.stdout == b""


def test_url_with_allow_host_flag(server: MediaServer, clip: tuple[Path, Truth]) -> None:
    """``--allow-host 127.0.0.1`` admits the local server; the timeline points at the URL."""
    _, truth = clip
    url = server.url("/gen/cuts.mp4")
    done = _run("shots", url, "--allow-host", "127.0.0.1", "--format", "otio")
    assert done.returncode == 0, done.stderr
    timeline = otio.adapters.read_from_string(done.stdout.decode(), "otio_json")
    clips = list(timeline.find_clips())
    assert [c.metadata["videorecog"]["start_frame"] for c in clips] == [0, *truth.cuts]
    assert {c.media_reference.target_url for c in clips} == {url}


def test_url_allowed_by_setting_and_split(
    server: MediaServer, clip: tuple[Path, Truth], tmp_path: Path
) -> None:
    """``VIDEORECOG_ENGINE_ALLOW_HOSTS`` admits it too; split names files after the URL."""
    _, truth = clip
    done = _run(
        "split",
        server.url("/gen/cuts.mp4"),
        "--out",
        str(tmp_path),
        env={"VIDEORECOG_ENGINE_ALLOW_HOSTS": "127.0.0.0/8"},
    )
    assert done.returncode == 0, done.stderr
    files = [Path(o["file"]).name for o in orjson.loads(done.stdout)["Outputs"]]
    assert files == [f"cuts-shot-{n:03d}.mp4" for n in range(1, len(truth.cuts) + 2)]


def test_url_that_is_not_a_video(server: MediaServer) -> None:
    """A page is refused with InvalidFile.Type, as the engine refuses it."""
    done = _run("shots", server.url("/page.html"), "--allow-host", "127.0.0.1")
    assert done.returncode == 1
    assert b"InvalidFile.Type" in done.stderr


def test_open_source_forms(clip: tuple[Path, Truth], server: MediaServer) -> None:
    """A path is used in place; stdin and URLs go to temporary files removed afterwards."""
    path, _ = clip
    with open_source(str(path)) as source:
        assert source.path == path
        assert source.media_url == path.resolve().as_uri()
    with open_source("-", stdin=io.BytesIO(path.read_bytes())) as source:
        spooled = source.path
        assert spooled.read_bytes() == path.read_bytes()
        assert source.media_url is None
    assert not spooled.exists()
    url = server.url("/gen/cuts.mp4")
    with open_source(url, FetchRules(allow_hosts=("127.0.0.1",))) as source:
        fetched = source.path
        assert fetched.read_bytes() == path.read_bytes()
        assert (source.name, source.media_url) == ("cuts", url)
    assert not fetched.exists()
    with (
        pytest.raises(InvalidFileError, match="larger"),
        open_source(url, FetchRules(allow_hosts=("127.0.0.1",), max_bytes=1000)),
    ):
        pass
    with pytest.raises(FileNotFoundError):
        open_source(str(path.parent / "missing.mp4")).__enter__()
