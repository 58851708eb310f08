"""Small generated clips with exact ground truth, and deliberately broken files."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from videorecog.samples import Plan, Shot, Transition, Truth, render


@dataclass(frozen=True)
class Clip:
    path: Path
    truth: Truth


CUT, DISSOLVE, FADE, WIPE = "cut", "dissolve", "fade", "wipe"

CUTS = Plan(
    shots=(
        Shot(40, "pan", 11),
        Shot(35, "still", 12),
        Shot(45, "zoom", 13),
        Shot(40, "pan", 14),
    ),
    transitions=(Transition(CUT), Transition(CUT), Transition(CUT)),
)

PLANS: dict[str, Plan] = {
    "cuts": CUTS,
    "dissolves": Plan(
        shots=(Shot(45, "pan", 21), Shot(60, "pan", 22), Shot(50, "still", 23)),
        transitions=(Transition(DISSOLVE, 10), Transition(DISSOLVE, 28)),
    ),
    # Large enough for the direct plane sampling of decode.PlaneSampler (the small clips go
    # through libswscale): every kind of boundary, and flashes, in one 640x360 clip.
    "mixed_640": Plan(
        shots=(
            Shot(40, "pan", 111),
            Shot(50, "zoom", 112),
            Shot(60, "fast", 113),
            Shot(60, "still", 114, captions=True),
            Shot(40, "pan", 115),
        ),
        transitions=(
            Transition(CUT),
            Transition(DISSOLVE, 16),
            Transition(FADE, 20),
            Transition(WIPE, 12),
        ),
        flashes=(20, 150),
        width=640,
        height=360,
    ),
    # Cuts among B-frames (no keyframe at the cut): the survey must decode those runs for real.
    "cuts_mid_gop": replace(CUTS, flashes=(20,), keyframes_at_cuts=False),
    "fade": Plan(
        shots=(Shot(50, "pan", 31), Shot(55, "still", 32)),
        transitions=(Transition(FADE, 20),),
    ),
    "wipe": Plan(
        shots=(Shot(45, "still", 41), Shot(45, "pan", 42)),
        transitions=(Transition(WIPE, 12),),
    ),
    "flashes": Plan(shots=(Shot(90, "pan", 51),), transitions=(), flashes=(30, 60, 61)),
    "fast_motion": Plan(shots=(Shot(80, "fast", 61),), transitions=()),
    "captions": Plan(shots=(Shot(100, "still", 71, captions=True),), transitions=()),
    "vfr": Plan(
        shots=(Shot(40, "pan", 81), Shot(40, "still", 82), Shot(40, "pan", 83)),
        transitions=(Transition(CUT), Transition(CUT)),
        variable_frame_rate=True,
    ),
    "rotated": Plan(
        shots=(Shot(40, "pan", 91), Shot(40, "still", 92)),
        transitions=(Transition(CUT),),
        rotation=90,
        width=320,
        height=180,
    ),
    "bad_covers": Plan(
        shots=(
            Shot(60, "still", 101, black=True),
            Shot(90, "pan", 102, blurred=True),
            Shot(40, "pan", 103),
            Shot(70, "still", 104, blurred=True),
            Shot(45, "still", 105),
        ),
        transitions=(Transition(CUT), Transition(CUT), Transition(DISSOLVE, 30), Transition(CUT)),
    ),
}


def make_clips(directory: Path) -> dict[str, Clip]:
    directory.mkdir(parents=True, exist_ok=True)
    clips = {
        name: Clip(directory / f"{name}.mp4", render(plan, directory / f"{name}.mp4"))
        for name, plan in PLANS.items()
    }
    for name, path in broken_files(directory).items():
        clips[name] = Clip(path, Truth())
    return clips


def broken_files(directory: Path) -> dict[str, Path]:
    """Files that must fail with a specific InvalidFile code."""
    rng = np.random.default_rng(0)
    out: dict[str, Path] = {}
    out["not_video"] = directory / "not_video.mp4"
    out["not_video"].write_bytes(b"hello, this is plain text and not a video at all\n" * 40)
    # An MP4 whose header is intact but whose media data is noise: opens, does not decode.
    good = render(Plan(shots=(Shot(40, "pan", 5),), transitions=()), directory / "tmp.mp4")
    assert good.frames == 40
    data = bytearray((directory / "tmp.mp4").read_bytes())
    mdat = data.find(b"mdat")
    data[mdat + 8 :] = rng.integers(0, 256, len(data) - mdat - 8, dtype=np.uint8).tobytes()
    out["corrupt"] = directory / "corrupt.mp4"
    out["corrupt"].write_bytes(bytes(data))
    out["audio_only"] = directory / "audio_only.m4a"
    _audio_only(out["audio_only"])
    out["too_large"] = directory / "too_large.mp4"
    render(
        Plan(shots=(Shot(3, "still", 6),), transitions=(), width=4352, height=64), out["too_large"]
    )
    return out


def encode(path: Path, frames: Iterable[np.ndarray], fps: int = 25) -> Path:
    """RGB frames, all of one size, as an H.264 file at ``fps`` frames a second (crf 20): for
    tests that compose their own footage."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "20", "preset": "veryfast"}
        for k, image in enumerate(frames):
            if k == 0:
                stream.height, stream.width = image.shape[:2]
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def _audio_only(path: Path) -> None:
    container = av.open(str(path), mode="w")
    stream = container.add_stream("aac", rate=48000)
    samples = (np.sin(np.arange(48000) / 10) * 0.1).astype(np.float32).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(samples[:, :1024], format="fltp", layout="mono")
    frame.sample_rate = 48000
    for i in range(40):
        frame.pts = i * 1024
        frame.time_base = Fraction(1, 48000)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
    container.close()


def corrupt_packets(source: Path, target: Path, which: list[int]) -> None:
    """Copy ``source`` with the payload of the given video packets overwritten (the decoder
    rejects those packets; the container stays readable)."""
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        places = [(p.pos, p.size) for p in container.demux(stream) if p.size]
    data = bytearray(source.read_bytes())
    for k in which:
        pos, size = places[k]
        data[pos + 4 : pos + size] = b"\xff" * (size - 4)
    target.write_bytes(bytes(data))
