"""One file per shot, frame-exact: ``videorecog split``.

A shot that starts on a keyframe and ends on one (or at the end of the video) is copied packet
for packet (no re-encoding, no loss): at a keyframe of a closed GOP, as H.264 encoders write
them, no frame on one side refers to a frame on the other. Any other shot is re-encoded whole
(H.264 by libx264, ``ENCODE_CRF``) from the decoded frames, so it too starts and ends at exactly
its frames; re-encoding only the frames up to the next keyframe and copying the rest ("smart
cut") is not done: the copied part would need the re-encoded part's codec parameters.

Frames are numbered as the detector numbers them (0-based, by presentation time); outputs keep
the source's timestamps, shifted to start at 0, so variable frame rate stays as it was. Only the
video stream is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import av.error

from videorecog.analysis.errors import InvalidVideo

ENCODE_CRF = 18
ENCODE_PRESET = "veryfast"
Method = Literal["copy", "encode"]
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Piece:
    """One shot's file."""

    shot: int  # 1-based
    start_frame: int
    end_frame: int  # exclusive
    path: Path
    method: Method


@dataclass(frozen=True)
class _Plan:
    start_pts: int
    end_pts: int | None  # None: to the end
    piece: Piece


def output_suffix(container_format: str) -> str:
    """MP4 stays MP4 (and MOV, MOV); anything else goes into Matroska, which takes any codec."""
    names = container_format.split(",")
    if "mp4" in names:
        return ".mp4"
    if "mov" in names:
        return ".mov"
    return ".mkv"


def split(
    path: str,
    shot_starts: Sequence[int],
    out_dir: Path,
    stem: str,
    progress: Progress | None = None,
) -> list[Piece]:
    """Write each shot of ``path`` (``shot_starts``: 0 and the first frame of every later shot)
    to ``out_dir`` as ``<stem>-shot-NNN.<ext>``.

    Raises:
        InvalidVideo: the file cannot be read, or has no video frame.
    """
    try:
        container = av.open(path, mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise InvalidVideo("InvalidFile.Decode", f"The file cannot be opened: {exc}") from None
    try:
        if not container.streams.video:
            raise InvalidVideo("InvalidFile.Content", "The file has no video stream.")
        stream = container.streams.video[0]
        pts, keyframes = _survey(container, stream)
        suffix = output_suffix(container.format.name)
    finally:
        container.close()
    if not pts:
        raise InvalidVideo("InvalidFile.Content", "The video is empty.")
    out_dir.mkdir(parents=True, exist_ok=True)
    starts = sorted({s for s in shot_starts if 0 <= s < len(pts)} | {0})
    plans = []
    for n, first in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(pts)
        end_pts = pts[end] if end < len(pts) else None
        copy = pts[first] in keyframes and (end_pts is None or end_pts in keyframes)
        piece = Piece(
            n + 1, first, end, out_dir / f"{stem}-shot-{n + 1:03d}{suffix}", _method(copy)
        )
        plans.append(_Plan(pts[first], end_pts, piece))
    _write(path, plans, progress)
    return [p.piece for p in plans]


def _method(copy: bool) -> Method:
    return "copy" if copy else "encode"


def _survey(container: Any, stream: Any) -> tuple[list[int], set[int]]:
    """Every frame's timestamp in presentation order, and those of keyframes (no decoding)."""
    pts: list[int] = []
    keyframes: set[int] = set()
    for packet in container.demux(stream):
        if packet.pts is None or not packet.size:
            continue
        pts.append(packet.pts)
        if packet.is_keyframe:
            keyframes.add(packet.pts)
    pts.sort()
    return pts, keyframes


def _find(plans: Sequence[_Plan], pts: int) -> _Plan | None:
    for plan in plans:
        if pts >= plan.start_pts and (plan.end_pts is None or pts < plan.end_pts):
            return plan
    return None


class _Copy:
    """Packets of one shot into its file, timestamps shifted to start at 0."""

    def __init__(self, plan: _Plan, source: Any) -> None:
        self.plan = plan
        self.output = av.open(str(plan.piece.path), mode="w")
        self.stream = self.output.add_stream_from_template(source)

    def add(self, packet: Any) -> None:
        shift = self.plan.start_pts
        packet.pts -= shift
        if packet.dts is not None:
            packet.dts -= shift
        packet.stream = self.stream
        self.output.mux(packet)

    def close(self) -> None:
        self.output.close()


class _Encode:
    """Decoded frames of one shot, encoded again (libx264), timestamps shifted to start at 0."""

    def __init__(self, plan: _Plan, source: Any) -> None:
        self.plan = plan
        self.output = av.open(str(plan.piece.path), mode="w")
        rate = source.average_rate or source.guessed_rate or Fraction(25)
        self.stream = self.output.add_stream("libx264", rate=rate)
        self.stream.width = source.codec_context.width
        self.stream.height = source.codec_context.height
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"crf": str(ENCODE_CRF), "preset": ENCODE_PRESET}
        self.time_base = source.time_base or Fraction(1, 90000)
        self.stream.codec_context.time_base = self.time_base

    def add(self, frame: Any) -> None:
        frame.pts -= self.plan.start_pts
        frame.time_base = self.time_base
        frame.pict_type = av.video.frame.PictureType.NONE
        for packet in self.stream.encode(frame):
            self.output.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode(None):
            self.output.mux(packet)
        self.output.close()


def _write(path: str, plans: Sequence[_Plan], progress: Progress | None) -> None:
    """One pass: packets of copied shots are muxed as they come, and when any shot is encoded
    every packet is decoded too (the decoder needs all references) and that shot's frames
    encoded. A file is closed once the stream is past its shot."""
    encoding = any(p.piece.method == "encode" for p in plans)
    container = av.open(path, mode="r")
    writers: dict[int, _Copy | _Encode] = {}
    done = 0
    try:
        source = container.streams.video[0]
        source.thread_type = "AUTO"
        for packet in container.demux(source):
            copied = _copy_packet(writers, plans, source, packet)
            frames = _decode(packet) if encoding else []
            for frame in frames:
                _encode_frame(writers, plans, source, frame)
            done += len(frames) if encoding else int(copied)
            if progress is not None:
                progress(done)
    finally:
        for writer in writers.values():
            writer.close()
        container.close()


def _copy_packet(
    writers: dict[int, _Copy | _Encode], plans: Sequence[_Plan], source: Any, packet: Any
) -> bool:
    """Mux ``packet`` into its shot's file if that shot is copied."""
    if packet.pts is None or not packet.size:
        return False
    plan = _find(plans, packet.pts)
    if plan is None or plan.piece.method != "copy":
        return False
    if packet.is_keyframe:
        _close_before(writers, packet.pts)
    _writer(writers, plan, source).add(packet)
    return True


def _decode(packet: Any) -> list[Any]:
    try:
        return list(packet.decode())
    except av.error.FFmpegError:
        return []


def _encode_frame(
    writers: dict[int, _Copy | _Encode], plans: Sequence[_Plan], source: Any, frame: Any
) -> None:
    """Encode ``frame`` into its shot's file if that shot is encoded."""
    if frame.pts is None:
        return
    _close_before(writers, frame.pts, only_encoders=True)
    plan = _find(plans, frame.pts)
    if plan is not None and plan.piece.method == "encode":
        _writer(writers, plan, source).add(frame)


def _writer(writers: dict[int, _Copy | _Encode], plan: _Plan, source: Any) -> _Copy | _Encode:
    key = plan.piece.shot
    if key not in writers:
        writers[key] = _Copy(plan, source) if plan.piece.method == "copy" else _Encode(plan, source)
    return writers[key]


def _close_before(
    writers: dict[int, _Copy | _Encode], pts: int, *, only_encoders: bool = False
) -> None:
    """Close the files of shots that end at or before ``pts``: for copies when a keyframe at
    ``pts`` arrives (nothing after it belongs before it), for encoders when a frame does (frames
    come in presentation order)."""
    for key in list(writers):
        writer = writers[key]
        if only_encoders and not isinstance(writer, _Encode):
            continue
        end = writer.plan.end_pts
        if end is not None and end <= pts:
            writers.pop(key).close()
