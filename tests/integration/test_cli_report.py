"""``videorecog report`` as a process: a storyboard page and contact sheet of the detected shots,
and the page as headless Chromium renders it."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import orjson
import pytest
from PIL import Image

from tests.clips import PLANS
from tests.support import SHARED_MEDIA
from videorecog.samples import render

CHROMIUM = shutil.which("chromium")
# Chromium tries the network at start (updates, sync, field trials) unless told not to.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
FILM = SHARED_MEDIA / "goldeneye-vfr-drop3.mp4"


def _report(clip: Path, out: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "videorecog", "report", str(clip), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = orjson.loads(done.stdout)
    return result


def _data_image(uri: str) -> np.ndarray:
    data = base64.b64decode(uri.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


def test_storyboard_shows_each_shots_first_middle_and_last_frames(tmp_path: Path) -> None:
    """One section per shot with its frames, and pictures of its first, middle and last frames
    inlined in the page; the timeline has one span per shot and a point of signal per frame; the
    covers, the GIF and a contact sheet are written beside it."""
    clip = tmp_path / "cuts.mp4"
    truth = render(PLANS["cuts"], clip)
    result = _report(clip, tmp_path / "board")
    page = Path(str(result["Report"])).read_text(encoding="utf-8")
    starts, ends = [0, *truth.cuts], [*truth.cuts, truth.frames]
    sections = re.findall(
        r'<section class="shot" id="shot-(\d+)" data-start-frame="(\d+)" '
        r'data-end-frame="(\d+)">(.*?)</section>',
        page,
    )
    assert [(int(n), int(a), int(b)) for n, a, b, _ in sections] == [
        (k + 1, a, b) for k, (a, b) in enumerate(zip(starts, ends, strict=True))
    ]
    assert "00:00:01.600" in page  # the second shot's start (frame 40 at 25 fps)
    assert 'src="http' not in page  # nothing from elsewhere
    assert "<link" not in page
    with av.open(str(clip)) as container:
        source = [
            # 240 wide, the height rounded to even as the stills are.
            f.to_ndarray(format="rgb24", width=240, height=136).astype(np.int16)
            for f in container.decode(video=0)
        ]
    for (_, _, _, body), a, b in zip(sections, starts, ends, strict=True):
        stills = re.findall(r'data-frame="(\d+)"><img src="(data:image/jpeg;base64,[^"]+)"', body)
        frames = [int(f) for f, _ in stills]
        assert (frames[0], frames[2]) == (a, b - 1)
        assert a < frames[1] < b - 1
        for frame, uri in stills:
            image = _data_image(uri)
            assert image.shape == (136, 240, 3)
            differences = [np.abs(image - f).mean() for f in source]
            assert differences[int(frame)] <= min(differences) + 0.5  # it, or one just like it
            assert a <= int(np.argmin(differences)) < b  # a frame of its own shot
    assert len(re.findall(r'<rect class="span"', page)) == len(starts)
    points = re.search(r'<polyline class="signal" points="([^"]+)"', page)
    assert points is not None
    assert len(points.group(1).split()) == truth.frames
    covers = result["Covers"]
    assert isinstance(covers, list)
    assert covers
    for n, cover in enumerate(covers):
        assert Path(cover["ImageURL"]).is_file()
        assert f"cover {n + 1}: confidence {cover['Confidence']:.2f}" in page
    assert Path(str(result["Gif"])).is_file()
    assert "data:image/gif;base64," in page
    sheet = np.asarray(Image.open(str(result["ContactSheet"])).convert("L"), dtype=np.float32)
    # The timeline, the covers and three 90-pixel-high stills per shot, one row each.
    assert sheet.shape[0] > 90 * (len(starts) + 1)
    assert sheet.std() > 20


def _chromium(page: Path, profile: Path, *args: str) -> str:
    done = subprocess.run(
        [
            CHROMIUM or "chromium",
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make chromium)")
@pytest.mark.skipif(not FILM.is_file(), reason="shared sample clips not present")
def test_storyboard_renders_in_headless_chromium(tmp_path: Path) -> None:
    """Rendered by Chromium with the network unused, the page shows every shot and every picture
    decoded (the page's own script says so in the DOM), and its screenshot is not blank."""
    result = _report(FILM, tmp_path / "board")
    page = Path(str(result["Report"]))
    labels = json.loads((SHARED_MEDIA / "labels" / f"{FILM.name}.json").read_text())
    shots = len(labels["cuts"]) + 1
    dom = _chromium(page, tmp_path / "profile", "--virtual-time-budget=10000", "--dump-dom")
    assert f'data-shots="{shots}"' in dom
    assert 'data-images="decoded"' in dom
    assert len(re.findall(r'<section class="shot"', dom)) == shots
    covers = result["Covers"]
    assert isinstance(covers, list)
    assert len(re.findall(r"<img ", dom)) == 3 * shots + len(covers) + 1  # stills, covers, GIF
    screenshot = tmp_path / "page.png"
    _chromium(page, tmp_path / "profile", f"--screenshot={screenshot}", "--window-size=1280,1600")
    pixels = np.asarray(Image.open(screenshot).convert("RGB"), dtype=np.float32)
    assert pixels.shape[:2] == (1600, 1280)
    # Pictures, not a white page: many pixels far from white, and varied.
    assert (pixels.mean(axis=2) < 128).mean() > 0.1
    assert pixels.std() > 40
