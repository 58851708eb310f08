"""One file per shot, frame-exact: ``videorecog split``.

A shot that starts on a keyframe and ends on one (or at the end of the video) is copied packet
for packet (no re-encoding, no loss): at a keyframe of a closed GOP, as H.264 encoders write
them, no frame on one side refers to a frame on the other. Any other shot is re-encoded whole
(H.264 by libx264, ``ENCODE_CRF``) from the decoded frames, so it too starts and ends at exactly
its frames; re-encoding only the frames up to the next keyframe and copying the rest ("smart
cut") is not done: the copied part would need the re-encoded part's codec parameters.

Frames are numbered as the detector numbers them (0-based, by presentation time); outputs keep
the source's timestamps, shifted to start at 0, so variable frame rate stays as it was. The
first audio stream is copied along, packet for packet, into the file of the shot whose time span
holds each packet (to the nearest packet, some 20 ms, not to the sample); other streams are left
out.
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


def output_suffix(container_format: str, source_suffix: str = "") -> str:
    """MP4 stays MP4 and MOV stays MOV (by the source's suffix: the two share a demuxer); anything
    else goes into Matroska, which takes any codec."""
    names = container_format.split(",")
    if "mov" in names and source_suffix.lower() == ".mov":
        return ".mov"
    if "mp4" in names:
        return ".mp4"
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
        av.error.FFmpegError: a file could not be written (a codec the container does not take).
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
        suffix = output_suffix(container.format.name, Path(path).suffix)
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


class _Writer:
    """One shot's file: its video (``add``) and the source's audio packets of its time span
    (``add_audio``), timestamps shifted so that the shot starts at 0."""

    def __init__(self, plan: _Plan, video: Any, audio: Any | None) -> None:
        self.plan = plan
        self.output = av.open(str(plan.piece.path), mode="w")
        self.video_time_base = video.time_base or Fraction(1, 90000)
        self.audio: Any | None = None
        self.stream = self._video_stream(video)
        if audio is not None:
            self.audio = self.output.add_stream_from_template(audio)
            self.audio_shift = round(plan.start_pts * self.video_time_base / audio.time_base)

    def _video_stream(self, video: Any) -> Any:
        return self.output.add_stream_from_template(video)

    def add(self, item: Any) -> None:
        raise NotImplementedError

    def add_audio(self, packet: Any) -> None:
        packet.pts -= self.audio_shift
        if packet.dts is not None:
            packet.dts -= self.audio_shift
        packet.stream = self.audio
        self.output.mux(packet)

    def close(self) -> None:
        self.output.close()


class _Copy(_Writer):
    """The shot's packets as they are."""

    def add(self, item: Any) -> None:
        shift = self.plan.start_pts
        item.pts -= shift
        if item.dts is not None:
            item.dts -= shift
        item.stream = self.stream
        self.output.mux(item)


class _Encode(_Writer):
    """The shot's decoded frames, encoded again (libx264)."""

    def _video_stream(self, video: Any) -> Any:
        rate = video.average_rate or video.guessed_rate or Fraction(25)
        stream = self.output.add_stream("libx264", rate=rate)
        stream.width = video.codec_context.width
        stream.height = video.codec_context.height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(ENCODE_CRF), "preset": ENCODE_PRESET}
        stream.codec_context.time_base = self.video_time_base
        return stream

    def add(self, item: Any) -> None:
        item.pts -= self.plan.start_pts
        item.time_base = self.video_time_base
        item.pict_type = av.video.frame.PictureType.NONE
        for packet in self.stream.encode(item):
            self.output.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode(None):
            self.output.mux(packet)
        self.output.close()


class _Splitter:
    """Routes packets and frames to the shots' files; opens a file at its shot's first packet
    and closes it once the stream is ``CLOSE_AFTER_SECONDS`` past its end (audio packets come
    a little after the video of the same time)."""

    CLOSE_AFTER_SECONDS = 2.0

    def __init__(self, plans: Sequence[_Plan], video: Any, audio: Any | None) -> None:
        self.plans, self.video, self.audio = plans, video, audio
        self.writers: dict[int, _Writer] = {}
        self.finished: set[int] = set()
        self.margin = round(self.CLOSE_AFTER_SECONDS / (video.time_base or Fraction(1, 90000)))

    def _writer(self, plan: _Plan) -> _Writer | None:
        key = plan.piece.shot
        if key in self.finished:
            return None
        if key not in self.writers:
            kind = _Copy if plan.piece.method == "copy" else _Encode
            self.writers[key] = kind(plan, self.video, self.audio)
        return self.writers[key]

    def packet(self, packet: Any) -> bool:
        """Mux a video packet into its shot's file if that shot is copied."""
        if packet.pts is None or not packet.size:
            return False
        plan = _find(self.plans, packet.pts)
        if plan is None or plan.piece.method != "copy":
            return False
        self._close_before(packet.pts)
        writer = self._writer(plan)
        if writer is not None:
            writer.add(packet)
        return True

    def frame(self, frame: Any) -> None:
        """Encode a decoded frame into its shot's file if that shot is encoded."""
        if frame.pts is None:
            return
        self._close_before(frame.pts)
        plan = _find(self.plans, frame.pts)
        if plan is not None and plan.piece.method == "encode":
            writer = self._writer(plan)
            if writer is not None:
                writer.add(frame)

    def audio_packet(self, packet: Any) -> None:
        if packet.pts is None or not packet.size:
            return
        at = round(packet.pts * packet.time_base / self.video.time_base)
        plan = _find(self.plans, at)
        writer = self._writer(plan) if plan is not None else None
        if writer is not None:
            writer.add_audio(packet)

    def _close_before(self, pts: int) -> None:
        for key in list(self.writers):
            end = self.writers[key].plan.end_pts
            if end is not None and end + self.margin <= pts:
                self.writers.pop(key).close()
                self.finished.add(key)

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()


def _write(path: str, plans: Sequence[_Plan], progress: Progress | None) -> None:
    """One pass: packets of copied shots are muxed as they come, and when any shot is encoded
    every packet is decoded too (the decoder needs all references) and that shot's frames
    encoded. The first audio stream's packets are copied into the file of the shot whose time
    span holds them."""
    encoding = any(p.piece.method == "encode" for p in plans)
    container = av.open(path, mode="r")
    try:
        video = container.streams.video[0]
        video.thread_type = "AUTO"
        audio = container.streams.audio[0] if container.streams.audio else None
        splitter = _Splitter(plans, video, audio)
        done = 0
        try:
            for packet in container.demux(*(s for s in (video, audio) if s is not None)):
                if audio is not None and packet.stream is audio:
                    splitter.audio_packet(packet)
                    continue
                # Decoded before it is copied: copying re-times the packet.
                frames = _decode(packet) if encoding else []
                copied = splitter.packet(packet)
                for frame in frames:
                    splitter.frame(frame)
                done += len(frames) if encoding else int(copied)
                if progress is not None:
                    progress(done)
        finally:
            splitter.close()
    finally:
        container.close()


def _decode(packet: Any) -> list[Any]:
    try:
        return list(packet.decode())
    except av.error.FFmpegError:
        return []
