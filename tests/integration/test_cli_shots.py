"""``videorecog shots`` as a process: the five formats on a generated clip, and the progress bar
on a terminal (a pseudo-terminal) but not on a pipe or with ``--quiet``."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import opentimelineio as otio
import orjson
import pytest

from tests.clips import PLANS
from tests.support import SHARED_MEDIA
from videorecog.analysis import decode
from videorecog.cli import main
from videorecog.samples import Truth, render

COMMAND = [sys.executable, "-m", "videorecog", "shots"]


@pytest.fixture(scope="module")
def cuts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Truth]:
    path = tmp_path_factory.mktemp("shots") / "cuts.mp4"
    return path, render(PLANS["cuts"], path)


def _shots(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_every_format_gives_the_detected_cuts(cuts: tuple[Path, Truth]) -> None:
    """json, csv, edl, otio and fcpxml all put shots at the clip's real cuts (25 fps)."""
    path, truth = cuts
    starts = [0, *truth.cuts]
    running = {
        fmt: subprocess.Popen(
            [*COMMAND, str(path), "--format", fmt],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for fmt in ("json", "csv", "edl", "otio", "fcpxml")
    }
    out = {}
    for fmt, process in running.items():
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, (fmt, stderr)
        assert stderr == "", fmt  # no bar on a pipe, nothing else either
        out[fmt] = subprocess.CompletedProcess(process.args, 0, stdout, stderr)
    data = orjson.loads(out["json"].stdout)
    assert data["ShotFrameIds"] == starts
    assert data["frames"] == truth.frames
    assert [s["start"] for s in data["shots"]] == pytest.approx([f / 25 for f in starts])
    rows = list(csv.reader(io.StringIO(out["csv"].stdout)))
    assert [int(r[1]) - 1 for r in rows[2:]] == starts
    for fmt, adapter, extra in (
        ("edl", "cmx_3600", {"rate": 25}),
        ("otio", "otio_json", {}),
        ("fcpxml", "fcpx_xml", {}),
    ):
        timeline = otio.adapters.read_from_string(out[fmt].stdout, adapter, **extra)
        clips = list(timeline.find_clips())
        got = [round(c.source_range.start_time.to_seconds() * 25) for c in clips]
        assert got == starts, fmt
        assert round(clips[-1].source_range.end_time_exclusive().to_seconds() * 25) == (
            truth.frames
        )
    fcp_clip = next(
        iter(otio.adapters.read_from_string(out["fcpxml"].stdout, "fcpx_xml").find_clips())
    )
    assert fcp_clip.media_reference.target_url == path.resolve().as_uri()


def test_a_missing_file_fails_with_a_message(tmp_path: Path) -> None:
    """Exit 1 and one line on standard error; nothing on standard output."""
    done = _shots(str(tmp_path / "nope.mp4"))
    assert done.returncode == 1
    assert done.stdout == ""
    assert "nope.mp4" in done.stderr


def _on_terminal(*args: str) -> tuple[int, str, str]:
    """Run with standard error on a pseudo-terminal: exit code, stdout, what the terminal got."""
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen(
            [*COMMAND, *args], stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL
        )
        os.close(slave)
        seen = bytearray()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            seen += chunk
        stdout = process.communicate(timeout=60)[0]
        return process.returncode, stdout.decode(), seen.decode(errors="replace")
    finally:
        os.close(master)


def test_progress_bar_on_a_terminal(cuts: tuple[Path, Truth]) -> None:
    """On a terminal the bar shows frames done of the total and the rate; stdout stays JSON."""
    path, truth = cuts
    code, stdout, terminal = _on_terminal(str(path), "--progress-delay", "0")
    assert code == 0
    assert orjson.loads(stdout)["ShotFrameIds"] == [0, *truth.cuts]
    assert f"/{truth.frames}" in terminal
    assert "frames/s" in terminal
    assert "shots" in terminal


def test_no_progress_bar_with_quiet(cuts: tuple[Path, Truth]) -> None:
    """``--quiet`` keeps the terminal silent."""
    path, _ = cuts
    code, _, terminal = _on_terminal(str(path), "--progress-delay", "0", "--quiet")
    assert code == 0
    assert "frames" not in terminal


def test_no_progress_bar_on_a_pipe(cuts: tuple[Path, Truth]) -> None:
    """Standard error that is not a terminal gets no bar."""
    path, _ = cuts
    done = _shots(str(path), "--progress-delay", "0")
    assert done.returncode == 0
    assert done.stderr == ""


@pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="labelled clips not present")
def test_a_long_video_shared_by_processes_gets_the_same_answer() -> None:
    """The 3.5-minute real clip: split across 2 processes, one process, the same shots."""
    video = str(SHARED_MEDIA / "transnet_test.mp4")
    shared, alone = _shots(video, "--processes", "2"), _shots(video, "--processes", "1")
    assert shared.returncode == alone.returncode == 0, shared.stderr + alone.stderr
    assert orjson.loads(shared.stdout) == orjson.loads(alone.stdout)
    assert len(orjson.loads(shared.stdout)["ShotFrameIds"]) > 100


@pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="labelled clips not present")
def test_survey_decodes_fewer_frames_of_an_hd_video_and_finds_the_same_cuts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every frame is decoded unless ``--survey`` asks for the reference frames only."""
    video = str(SHARED_MEDIA / "testvideo.mp4")  # 1280x720 H.264 with B-frames, 720 frames

    def shots(*flags: str) -> tuple[list[int], int]:
        before = dataclasses.replace(decode.TALLY)
        assert main(["shots", video, "--quiet", "--processes", "1", *flags]) == 0
        ids = orjson.loads(capsys.readouterr().out)["ShotFrameIds"]
        return ids, decode.TALLY.since(before).frames

    (full, decoded), (surveyed, fewer) = shots(), shots("--survey")
    assert decoded == 720
    assert fewer < 720
    assert full[:3] == surveyed[:3] == [0, 30, 180]  # the cuts; fades may move within their span


def test_processes_must_be_a_positive_number(cuts: tuple[Path, Truth]) -> None:
    done = _shots(str(cuts[0]), "--processes", "0")
    assert done.returncode == 2
    assert "--processes: 0 is not a positive number" in done.stderr


def test_a_short_video_starts_without_what_it_does_not_need(cuts: tuple[Path, Truth]) -> None:
    """Start-up is most of a short video's time: no event loop, no progress bar on a pipe, no
    timeline library for JSON, no cover encoder, no face finder, no process pool, and not
    numpy's masked arrays (15 ms; ``np.quantile`` imports them on its first call)."""
    script = (
        "import sys\n"
        "from videorecog.cli import main\n"
        f"code = main(['shots', {str(cuts[0])!r}])\n"
        "heavy = ['asyncio', 'tqdm', 'opentimelineio', 'PIL.Image', 'cv2',\n"
        "         'concurrent.futures.process', 'numpy.ma']\n"
        "print([m for m in heavy if m in sys.modules], file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "[]"


def test_the_analysis_starts_no_linear_algebra_threads(cuts: tuple[Path, Truth]) -> None:
    """OpenBLAS would start a thread per core at numpy's import, spinning for a while on the
    cores the decoding needs: after the analysis, the process has its one thread (the decoder's
    threads end with their container). On a single core OpenBLAS starts none anyway: there this
    passes either way."""
    script = (
        "import os, sys\n"
        "from videorecog.cli import main\n"
        f"code = main(['shots', {str(cuts[0])!r}])\n"
        "print(len(os.listdir('/proc/self/task')), 'numpy' in sys.modules, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.split() == ["1", "True"]
