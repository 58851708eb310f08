"""``videorecog report`` as a process: a storyboard page with one picture per detected shot."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import orjson
from PIL import Image

from tests.clips import PLANS
from videorecog.samples import render


def test_storyboard_has_each_shots_middle_frame(tmp_path: Path) -> None:
    """One row per shot with its frames and times, and a picture of its middle frame."""
    clip = tmp_path / "cuts.mp4"
    truth = render(PLANS["cuts"], clip)
    out = tmp_path / "board"
    done = subprocess.run(
        [sys.executable, "-m", "videorecog", "report", str(clip), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = orjson.loads(done.stdout)
    page = Path(result["Report"]).read_text(encoding="utf-8")
    starts = [0, *truth.cuts]
    ends = [*truth.cuts, truth.frames]
    rows = re.findall(r'<tr id="shot-(\d+)"><td><img src="([^"]+)".*?<td>(\d+)-(\d+)</td>', page)
    assert [(int(n), int(a), int(b) + 1) for n, _, a, b in rows] == [
        (k + 1, a, b) for k, (a, b) in enumerate(zip(starts, ends, strict=True))
    ]
    assert "00:00:01.600" in page  # the second shot's start (frame 40 at 25 fps)
    with av.open(str(clip)) as container:
        frames = [
            f.to_ndarray(format="rgb24", width=320, height=180).astype(np.int16)
            for f in container.decode(video=0)
        ]
    assert [Path(p).name for p in result["Pictures"]] == [name for _, name, _, _ in rows]
    for (a, b), picture in zip(zip(starts, ends, strict=True), result["Pictures"], strict=True):
        image = np.asarray(Image.open(picture).convert("RGB"), dtype=np.int16)
        assert image.shape == (180, 320, 3)
        differences = [np.abs(image - f).mean() for f in frames]
        assert a <= int(np.argmin(differences)) < b  # a frame of its own shot
        middle = (a + b + 1) // 2  # the first frame at or after the shot's middle time
        assert differences[middle] <= min(differences) + 0.5  # it, or one just like it (a still)
