"""A long video shared by several processes gives exactly the single pass's answer."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

from tests.clips import Clip, corrupt_packets
from tests.support import SHARED_MEDIA
from videorecog.analysis import segments
from videorecog.analysis.detection import Boundary, DetectorParams, rate_factor
from videorecog.analysis.shots import Scan
from videorecog.analysis.source import Setup
from videorecog.analysis.tasks import detect_shots
from videorecog.samples import repeated_to_rate

LOW_RES = SHARED_MEDIA / "transnet_test.mp4"  # 160x90, 212 s, 129 labelled cuts
HD = SHARED_MEDIA / "testvideo.mp4"  # 1280x720 H.264
VFR = SHARED_MEDIA / "goldeneye-vfr-drop3.mp4"  # variable frame rate, dropped frames
FADES = SHARED_MEDIA / "fades.mp4"  # MPEG-4 Part 2, fades through black

needs_media = pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="labelled clips not present")


def _keyframes(path: Path) -> tuple[set[int], float]:
    """Timestamps of the keyframes, and the stream's time base."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        keys = {p.pts for p in container.demux(stream) if p.size and p.is_keyframe}
        return keys, float(stream.time_base or 1)


@needs_media
@pytest.mark.parametrize("fps", [25.0, 60.0])
def test_the_margins_hold_the_longest_slide_and_its_calm(fps: float) -> None:
    """A slide ending just inside a stretch is measured on frames its process scanned."""
    assert segments.MARGIN * rate_factor(fps) >= DetectorParams().at_rate(fps).slide_reach


def test_stretches_share_out_the_video_with_margins() -> None:
    setup, stretches = segments.plan(str(LOW_RES), 3)
    total = 5301
    assert [s.number for s in stretches] == [0, 1, 2]
    assert stretches[0].start == 0
    assert stretches[-1].end == total
    keyframes, time_base = _keyframes(LOW_RES)
    for before, after in itertools.pairwise(stretches):
        assert before.end == after.start  # consecutive, no frame twice or never
        assert after.first == after.start - segments.MARGIN
        assert before.stop == before.end + segments.MARGIN
    for s in stretches:
        assert len(s.times) == s.stop - s.first
        assert list(s.times) == sorted(s.times)
        # Decoding starts at a keyframe no later than the first frame scanned.
        assert s.seek_pts in keyframes
        assert s.seek_pts * time_base <= s.times[0] + 1e-9
    assert setup.info.width == 160


@needs_media
@pytest.mark.parametrize("processes", [2, 3])
def test_the_answer_is_the_single_pass_answer_on_real_footage(processes: int) -> None:
    one = detect_shots(str(LOW_RES))
    shared = detect_shots(str(LOW_RES), processes=processes)
    assert shared == one
    assert len(one.shot_frame_ids) > 100  # the clip's cuts, not an empty answer twice


@needs_media
@pytest.mark.parametrize(
    ("video", "survey"),
    [(HD, False), (HD, True), (VFR, False), (FADES, False)],
    ids=["testvideo", "testvideo-surveyed", "goldeneye-vfr-drop3", "fades"],
)
def test_short_stretches_still_give_the_same_answer(
    video: Path, survey: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HD (decoded in full, and surveyed), variable frame rate with dropped frames, fades (the
    whole video's luma): cut into stretches of 3 s, the joints fall inside shots and transitions
    alike."""
    monkeypatch.setattr(segments, "MIN_STRETCH_SECONDS", 3.0)
    one = detect_shots(str(video), survey=survey)
    try:
        stretches = segments.plan(str(video), 3)[1]
    except segments.Unsplittable:
        stretches = []
    shared = detect_shots(str(video), processes=3, survey=survey)
    assert shared == one
    # The 160-frame VFR clip has too few keyframes to start a stretch at: one pass, same answer.
    assert len(stretches) == (0 if video == VFR else 3)


@needs_media
def test_a_raised_frame_rate_gets_margins_as_wide_as_its_spans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 720p clip at 60 frames/s (each picture repeated), in stretches of 3 s: the detector's
    spans cover twice the frames there (``DetectorParams.at_rate``), and so do the margins;
    the answer is the single pass's."""
    video = tmp_path / "sixty.mp4"
    repeated_to_rate(HD, video, 60, (320, 180))
    monkeypatch.setattr(segments, "MIN_STRETCH_SECONDS", 3.0)
    stretches = segments.plan(str(video), 3)[1]
    for before, after in itertools.pairwise(stretches):
        assert after.first == after.start - 2 * segments.MARGIN
        assert before.stop == before.end + 2 * segments.MARGIN
    assert detect_shots(str(video), processes=3) == detect_shots(str(video))


def test_a_short_video_is_not_split(clips: dict[str, Clip]) -> None:
    with pytest.raises(segments.Unsplittable, match="too short"):
        segments.plan(str(clips["cuts"].path), 2)


def test_a_damaged_stream_is_analysed_in_one_pass(
    clips: dict[str, Clip], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(segments, "MIN_STRETCH_SECONDS", 1.0)
    damaged = tmp_path / "damaged.mp4"
    corrupt_packets(clips["mixed_640"].path, damaged, [100, 101])
    with pytest.raises(segments.Unsplittable):
        segments.scan_in_parallel(str(damaged), 2)
    assert detect_shots(str(damaged), processes=2) == detect_shots(str(damaged))


@needs_media
def test_progress_reaches_the_frame_count() -> None:
    seen: list[int] = []
    segments.scan_in_parallel(str(LOW_RES), 2, progress=seen.append)
    assert seen == sorted(seen)
    assert 5301 - 2 * segments.PROGRESS_EVERY <= seen[-1] <= 5301


def test_scans_cut_down_and_joined_keep_numbers_and_luma() -> None:
    cut = Boundary(3, "cut", 1.0, (3, 3))
    gradual = Boundary(8, "gradual", 0.5, (6, 10), 8)
    blocks = np.arange(24, dtype=np.float16).reshape(12, 2)
    local = Scan([cut, gradual], np.arange(12, dtype=np.float32), np.ones(12, np.float32), blocks)
    part = local.part(first=100, start=105, end=110)  # frames 100..111 scanned, 105..109 kept
    assert [(b.frame, b.span) for b in part.found] == [(108, (106, 110))]
    assert part.means.tolist() == [5, 6, 7, 8, 9]
    assert part.block_contrasts[:, 0].tolist() == [10, 12, 14, 16, 18]
    zeros = np.zeros(105, np.float32)
    head = Scan([cut], zeros, zeros, np.zeros((105, 2), np.float16))
    joined = Scan.join([head, part])
    assert [b.frame for b in joined.found] == [3, 108]
    assert len(joined.means) == len(joined.contrasts) == len(joined.block_contrasts) == 110
    assert joined.means[-1] == 9


@needs_media
def test_a_forked_process_never_frees_what_it_inherited(tmp_path: Path) -> None:
    """Garbage the caller left (a cycle) is not freed by the forked processes, even when their
    collector runs: freed there, a libswscale context waits for threads that exist only in the
    parent, and the process hangs. The caller frees it, once."""
    marker = tmp_path / "freed-by"
    script = f"""
import gc, os
from videorecog.analysis import segments

class Left:
    def __init__(self):
        self.me = self  # a cycle: only the collector frees it
    def __del__(self):
        with open({str(marker)!r}, "a") as out:
            out.write(f"{{os.getpid()}}\\n")

scan_stretch = segments.scan_stretch
def collecting_first(*args, **kwargs):
    gc.collect()
    return scan_stretch(*args, **kwargs)
segments.scan_stretch = collecting_first

gc.disable()
Left()
segments.scan_in_parallel({str(LOW_RES)!r}, 2)
gc.collect()
print(os.getpid())
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert marker.read_text().split() == [done.stdout.strip()]


def _lost_in_stretch_one(
    path: str, setup: Setup, stretch: segments.Stretch, *args: object
) -> segments.Part:
    if stretch.number == 1:
        os._exit(9)  # as if the machine's memory ran out
    return real_scan_stretch(path, setup, stretch, *args)  # type: ignore[arg-type]


real_scan_stretch = segments.scan_stretch


@needs_media
def test_a_lost_process_leaves_it_to_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    # The stretch processes are forked from this one: they run the patched function.
    monkeypatch.setattr(segments, "scan_stretch", _lost_in_stretch_one)
    with pytest.raises(segments.Unsplittable, match="stretch 1 failed: exit code 9"):
        segments.scan_in_parallel(str(LOW_RES), 2)
    assert detect_shots(str(LOW_RES), processes=2) == detect_shots(str(LOW_RES))
    assert multiprocessing.active_children() == []


@needs_media
def test_no_process_outlives_an_interrupted_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segments, "scan_stretch", lambda *args: time.sleep(600))

    def interrupt(frames: int) -> None:
        raise KeyboardInterrupt

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        segments.scan_in_parallel(str(LOW_RES), 2, progress=interrupt)
    assert multiprocessing.active_children() == []
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("keyframes", ["some", "none flagged"])
def test_the_largest_share_of_work_is_as_small_as_it_can_be(seed: int, keyframes: str) -> None:
    """With keyframes anywhere, the stretches meet where the largest one's work (frames scanned
    and the run-up from the keyframe before them) is the least any seams give (every pair of
    seams tried): a seam just after a keyframe spares the next process a long run-up."""
    rng = np.random.default_rng(seed)
    total = 400
    ranks = sorted({0, *rng.integers(1, total, size=int(rng.integers(2, 12))).tolist()})
    if keyframes == "none flagged":  # a stream may flag none: every run-up is from frame 0
        ranks = []

    def largest(seams: list[int]) -> int:
        return max(segments.work(a, b, total, ranks) for a, b in itertools.pairwise(seams))

    seams = segments._seams(total, 3, ranks)
    assert (seams[0], seams[-1]) == (0, total)
    assert seams == sorted(set(seams))  # each stretch holds frames
    best = min(largest([0, a, b, total]) for a in range(1, total) for b in range(a + 1, total))
    assert largest(seams) == best
    assert largest(seams) <= largest([0, total // 3, 2 * total // 3, total])


def test_stretches_share_a_video_of_regular_picture_groups_evenly() -> None:
    """Keyframes every 250 frames: the stretches' work is within 1% of each other's, where an
    even split leaves the later ones a run-up of a third of a picture group more."""
    total, ranks = 3000, list(range(0, 3000, 250))
    seams = segments._seams(total, 3, ranks)
    shares = [segments.work(a, b, total, ranks) for a, b in itertools.pairwise(seams)]
    assert len(shares) == 3
    assert max(shares) - min(shares) <= 0.01 * max(shares)
    even = [segments.work(k * 1000, (k + 1) * 1000, total, ranks) for k in range(3)]
    assert max(shares) < max(even)


@pytest.mark.parametrize(("total", "parts"), [(0, 2), (1, 2), (2, 3)])
def test_fewer_frames_than_stretches_is_left_to_one_pass(total: int, parts: int) -> None:
    """A still picture over a long sound track: the duration asks for stretches, the frames do
    not fill them."""
    with pytest.raises(segments.Unsplittable, match="frames for"):
        segments._seams(total, parts, [0] if total else [])
