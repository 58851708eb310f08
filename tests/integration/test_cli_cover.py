"""``videorecog cover`` as a process: the covers written and listed as the API lists them, from a
path, standard input or a URL (the same inputs as ``shots``), and a clear error for a file that is
no video."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from PIL import Image

from tests.clips import PLANS
from tests.support import MediaServer
from videorecog.samples import Truth, render


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Truth]:
    path = tmp_path_factory.mktemp("cover") / "cuts.mp4"
    return path, render(PLANS["cuts"], path)


def _cover(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VIDEORECOG_")}
    return subprocess.run(
        [sys.executable, "-m", "videorecog", "cover", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
        env=environment,
    )


def _outputs(done: subprocess.CompletedProcess[bytes]) -> list[dict[str, object]]:
    assert done.returncode == 0, done.stderr
    outputs: list[dict[str, object]] = orjson.loads(done.stdout)["Outputs"]
    return outputs


def test_one_cover_a_shot_best_first(clip: tuple[Path, Truth], tmp_path: Path) -> None:
    """A video of four shots gets four covers (one from each), named after the file, the
    highest ``Confidence`` first; ``-q`` is taken."""
    path, truth = clip
    outputs = _outputs(_cover(str(path), "--out", str(tmp_path), "-q", "--format", "jpeg"))
    assert len(outputs) == len(truth.cuts) + 1
    assert [Path(str(o["ImageURL"])) for o in outputs] == [
        (tmp_path / f"cuts-{n}.jpg").resolve() for n in range(len(outputs))
    ]
    confidences = [float(str(o["Confidence"])) for o in outputs]
    assert confidences == sorted(confidences, reverse=True)
    for o in outputs:
        with Image.open(str(o["ImageURL"])) as image:
            assert image.format == "JPEG"
            assert image.size == (PLANS["cuts"].width, PLANS["cuts"].height)


def test_gif_covers_from_standard_input(clip: tuple[Path, Truth], tmp_path: Path) -> None:
    """``-`` reads the video from standard input; the covers are named after it, and ``--gif``
    makes them animated."""
    path, _ = clip
    outputs = _outputs(_cover("-", "--gif", "--out", str(tmp_path), stdin=path.read_bytes()))
    assert outputs
    for n, o in enumerate(outputs):
        assert Path(str(o["ImageURL"])).name == f"stdin-{n}.gif"
        with Image.open(str(o["ImageURL"])) as image:
            assert image.format == "GIF"
            assert image.n_frames > 1


def test_url_is_fetched_under_the_engine_rules(clip: tuple[Path, Truth], tmp_path: Path) -> None:
    """A loopback URL is refused unless allowed; allowed, its covers are named after it."""
    path, _ = clip
    server = MediaServer({"gen": path.parent})
    server.start()
    try:
        url = server.url("/gen/cuts.mp4")
        refused = _cover(url, "--out", str(tmp_path))
        assert refused.returncode == 1
        assert b"InvalidFile.Unsafe" in refused.stderr
        assert b"--allow-host" in refused.stderr
        assert refused.stdout == b""
        outputs = _outputs(_cover(url, "--allow-host", "127.0.0.1", "--out", str(tmp_path)))
    finally:
        server.stop()
    assert Path(str(outputs[0]["ImageURL"])).name == "cuts-0.png"


def test_a_file_that_is_no_video_fails_with_its_code(tmp_path: Path) -> None:
    """Exit status 1, the ``InvalidFile.*`` code on standard error, nothing written."""
    text = tmp_path / "notes.mp4"
    text.write_bytes(b"plain text, not a video\n" * 40)
    out = tmp_path / "out"
    done = _cover(str(text), "--out", str(out))
    assert done.returncode == 1
    assert b"InvalidFile.Decode" in done.stderr
    assert done.stdout == b""
    assert not out.exists() or not any(out.iterdir())
    missing = _cover(str(tmp_path / "missing.mp4"))
    assert missing.returncode == 1
    assert b"No such file" in missing.stderr
