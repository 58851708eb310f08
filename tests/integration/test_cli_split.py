"""``videorecog split`` as a process: one file per detected shot, frame-exact, copied where the
cuts fall on keyframes and re-encoded where they do not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import orjson
import pytest

from tests.clips import PLANS
from videorecog.samples import render
from videorecog.split import output_suffix


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]


def _split(clip: Path, out: Path) -> list[dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-m", "videorecog", "split", str(clip), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outputs: list[dict[str, object]] = orjson.loads(done.stdout)["Outputs"]
    return outputs


@pytest.mark.parametrize(
    ("plan", "method", "tolerance"),
    [("cuts", "copy", 0.0), ("cuts_mid_gop", "encode", 4.0)],
)
def test_split_is_frame_exact(tmp_path: Path, plan: str, method: str, tolerance: float) -> None:
    """Each file holds exactly its shot's frames, starting with the shot's first frame: copied
    bit for bit when the cuts are keyframes, re-encoded (close to the source) when not."""
    clip = tmp_path / f"{plan}.mp4"
    truth = render(PLANS[plan], clip)
    outputs = _split(clip, tmp_path / "out")
    starts = [0, *truth.cuts]
    assert [o["start_frame"] for o in outputs] == starts
    assert [o["end_frame"] for o in outputs] == [*truth.cuts, truth.frames]
    assert {o["method"] for o in outputs} == {method}
    source = _frames(clip)
    for o in outputs:
        path = Path(str(o["file"]))
        assert path.name == f"{plan}-shot-{o['shot']:03d}.mp4"
        pieces = _frames(path)
        first, end = int(str(o["start_frame"])), int(str(o["end_frame"]))
        assert len(pieces) == end - first
        for k in (0, len(pieces) - 1):  # its own first and last frames
            assert np.abs(pieces[k] - source[first + k]).mean() <= tolerance
        if first:  # not the frame before the cut
            assert np.abs(pieces[0] - source[first - 1]).mean() > 20
        if end < len(source):  # nor the frame after it
            assert np.abs(pieces[-1] - source[end]).mean() > 20


def test_split_keeps_variable_frame_rate_timestamps(tmp_path: Path) -> None:
    """Each file starts at 0 and keeps the source's own frame intervals."""
    clip = tmp_path / "vfr.mp4"
    render(PLANS["vfr"], clip)
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        times = [float(f.pts * stream.time_base) for f in container.decode(stream)]
    for o in _split(clip, tmp_path / "out"):
        with av.open(str(o["file"])) as container:
            stream = container.streams.video[0]
            got = [float(f.pts * stream.time_base) for f in container.decode(stream)]
        first = int(str(o["start_frame"]))
        want = [t - times[first] for t in times[first : int(str(o["end_frame"]))]]
        assert got == pytest.approx(want, abs=1e-6)


def test_output_container_follows_the_source() -> None:
    """MP4 stays MP4; other containers become Matroska, which holds any codec."""
    assert output_suffix("mov,mp4,m4a,3gp,3g2,mj2") == ".mp4"
    assert output_suffix("mpegts") == ".mkv"
    assert output_suffix("matroska,webm") == ".mkv"
