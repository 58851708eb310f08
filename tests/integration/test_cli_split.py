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
    ("plan", "methods", "tolerance"),
    [("cuts", ["copy"] * 4, 0.0), ("cuts_mid_gop", ["smart", "encode", "encode", "encode"], 4.0)],
)
def test_split_is_frame_exact(
    tmp_path: Path, plan: str, methods: list[str], tolerance: float
) -> None:
    """Each file holds exactly its shot's frames, starting with the shot's first frame: copied
    bit for bit when the cuts are keyframes, re-encoded (close to the source) when not; with one
    keyframe only (frame 0), the first shot is copied up to its last group of B-frames."""
    clip = tmp_path / f"{plan}.mp4"
    truth = render(PLANS[plan], clip)
    outputs = _split(clip, tmp_path / "out")
    starts = [0, *truth.cuts]
    assert [o["start_frame"] for o in outputs] == starts
    assert [o["end_frame"] for o in outputs] == [*truth.cuts, truth.frames]
    assert [o["method"] for o in outputs] == methods
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
    assert output_suffix("mov,mp4,m4a,3gp,3g2,mj2", ".MOV") == ".mov"


def _with_audio(video: Path, target: Path) -> None:
    """``video``'s packets and a second of AAC tone per second of video, in one MP4."""
    with av.open(str(video)) as source, av.open(str(target), mode="w") as out:
        v_in = source.streams.video[0]
        v_out = out.add_stream_from_template(v_in)
        a_out = out.add_stream("aac", rate=48000)
        seconds = float(v_in.duration * v_in.time_base)
        for packet in source.demux(v_in):
            if packet.size:
                packet.stream = v_out
                out.mux(packet)
        tone = (np.sin(np.arange(1024) / 8) * 0.2).astype(np.float32).reshape(1, -1)
        for k in range(int(seconds * 48000 / 1024)):
            frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            frame.sample_rate = 48000
            frame.pts = k * 1024
            for packet in a_out.encode(frame):
                out.mux(packet)
        for packet in a_out.encode(None):
            out.mux(packet)


def test_split_carries_the_audio_of_each_shot(tmp_path: Path) -> None:
    """Each file has the audio of its shot's time span (to within an audio packet)."""
    plain = tmp_path / "plain.mp4"
    truth = render(PLANS["cuts"], plain)
    clip = tmp_path / "talk.mp4"
    _with_audio(plain, clip)
    outputs = _split(clip, tmp_path / "out")
    assert [o["start_frame"] for o in outputs] == [0, *truth.cuts]
    for o in outputs:
        with av.open(str(o["file"])) as container:
            assert len(container.streams.video) == 1
            audio = container.streams.audio[0]
            packets = [p for p in container.demux(audio) if p.size]
            first = float(packets[0].pts * audio.time_base)
            last = float((packets[-1].pts + packets[-1].duration) * audio.time_base)
        span = float(str(o["end"])) - float(str(o["start"]))
        assert abs(first) <= 0.03
        assert abs(last - span) <= 0.05 or o is outputs[-1]


def _keyframes_at(source: Path, target: Path, keyframes: set[int]) -> None:
    """``source`` encoded again with keyframes at exactly the given frames (and frame 0)."""
    with av.open(str(source)) as src, av.open(str(target), mode="w") as out:
        v_in = src.streams.video[0]
        v_out = out.add_stream("libx264", rate=v_in.average_rate)
        v_out.width, v_out.height, v_out.pix_fmt = v_in.width, v_in.height, "yuv420p"
        v_out.options = {"crf": "18", "preset": "veryfast", "x264-params": "scenecut=0"}
        v_out.codec_context.time_base = v_in.time_base
        for n, frame in enumerate(src.decode(v_in)):
            frame.pict_type = (
                av.video.frame.PictureType.I if n in keyframes else av.video.frame.PictureType.NONE
            )
            for packet in v_out.encode(frame):
                out.mux(packet)
        for packet in v_out.encode(None):
            out.mux(packet)


def test_split_mixes_copied_and_encoded_shots(tmp_path: Path) -> None:
    """Shots between keyframes are copied, the others encoded, in one pass, all frame-exact."""
    plain = tmp_path / "plain.mp4"
    truth = render(PLANS["cuts_mid_gop"], plain)
    clip = tmp_path / "mixed.mp4"
    _keyframes_at(plain, clip, set(truth.cuts[1:]))  # 75 and 120; not 40
    outputs = _split(clip, tmp_path / "out")
    assert [o["start_frame"] for o in outputs] == [0, *truth.cuts]
    # An encoded shot's last frames leave the decoder after the next, copied, shot has begun.
    assert [o["method"] for o in outputs] == ["smart", "encode", "copy", "copy"]
    source = _frames(clip)
    for o in outputs:
        pieces = _frames(Path(str(o["file"])))
        first, end = int(str(o["start_frame"])), int(str(o["end_frame"]))
        assert len(pieces) == end - first
        assert np.abs(pieces[0] - source[first]).mean() <= 4.0
        assert np.abs(pieces[-1] - source[end - 1]).mean() <= 4.0


def test_smart_cut_copies_between_keyframes_and_encodes_the_ends(tmp_path: Path) -> None:
    """With cuts between keyframes, each file re-encodes only the frames from its cut to the next
    keyframe and its last group of B-frames, copies the rest bit for bit, and holds exactly its
    shot's frames."""
    plain = tmp_path / "plain.mp4"
    truth = render(PLANS["cuts_mid_gop"], plain)
    clip = tmp_path / "gops.mp4"
    keyframes = {20, 48, 64, 90, 105, 135}  # none at a cut (40, 75, 120)
    _keyframes_at(plain, clip, keyframes)
    outputs = _split(clip, tmp_path / "out")
    assert [o["start_frame"] for o in outputs] == [0, *truth.cuts]
    assert [o["method"] for o in outputs] == ["smart"] * 4
    source = _frames(clip)
    for o in outputs:
        pieces = _frames(Path(str(o["file"])))
        first, end = int(str(o["start_frame"])), int(str(o["end_frame"]))
        head = min(k for k in [*keyframes, 0] if k >= first) - first
        assert len(pieces) == end - first
        encoded = int(str(o["encoded_frames"]))
        assert head <= encoded <= head + 4  # the head, and a tail of at most a B-frame group
        exact = [k for k, piece in enumerate(pieces) if not np.abs(piece - source[first + k]).any()]
        assert len(exact) >= len(pieces) - encoded
        assert exact[0] == head  # copied from the keyframe on
        for k, piece in enumerate(pieces):  # the re-encoded ones close to their source frames
            assert np.abs(piece - source[first + k]).mean() <= 4.0
        if first:
            assert np.abs(pieces[0] - source[first - 1]).mean() > 20
        if end < len(source):
            assert np.abs(pieces[-1] - source[end]).mean() > 20
