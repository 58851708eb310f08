"""One file per shot, frame-exact: ``videorecog split``.

Each shot's file is made one of three ways (``Piece.method``):

- ``copy``: packet for packet, no re-encoding, no loss. A copy may start at a keyframe (an IDR
  picture, for H.264) before which, in decode order, come exactly the frames before it (a closed
  GOP, as H.264 encoders write by default); it may end where, in decode order, every frame before
  the cut comes before every frame after it (so none before the cut refers to one after it). A
  keyframe of a closed GOP is such an end, and so is any frame of a stream without B-frames.
- ``smart``: H.264 whose cuts fall between keyframes. The frames from the cut up to the next
  keyframe (the head) and those after the last possible end of a copy (the tail, at most one
  group of B-frames) are re-encoded; the rest is copied. The re-encoded pictures use their own
  parameter sets (SPS and PPS, libx264 told the profile of the source and an id the source does
  not use), declared beside the source's in the file's one decoder configuration, so a decoder
  switches at each IDR picture where the parts meet (``avc.py``). The head is encoded without
  B-frames and its decoding timestamps are brought below the first copied packet's, so that
  they keep increasing through the file.
- ``encode``: the whole shot from its decoded frames (libx264, ``ENCODE_CRF``), when no part of
  it can be copied, or when smart cut does not apply: a codec other than H.264, H.264 stored as
  an Annex B stream (MPEG-TS) rather than with a decoder configuration, a profile libx264 cannot
  match at 8-bit 4:2:0 (``avc.X264_PROFILES``), or a container without decoding timestamps.

Frames are numbered as the detector numbers them (0-based, by presentation time); outputs keep
the source's timestamps, shifted to start at 0, so variable frame rate stays as it was. The
first audio stream is copied along, packet for packet, into the file of the shot whose time span
holds each packet (to the nearest packet, some 20 ms, not to the sample); other streams are left
out. The writing is in ``splitwriters.py``.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import av
import av.error

from videorecog.analysis.errors import InvalidVideo
from videorecog.avc import X264_PROFILES, AvcConfig, AvcError

Method = Literal["copy", "smart", "encode"]
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Piece:
    """One shot's file."""

    shot: int  # 1-based
    start_frame: int
    end_frame: int  # exclusive
    path: Path
    method: Method
    encoded_frames: int  # frames re-encoded (the rest copied)


@dataclass(frozen=True)
class Plan:
    """How to write one piece, in the source's timestamps."""

    start_pts: int
    end_pts: int | None  # None: to the end
    copy_from: int | None  # the first copied frame's; None: nothing is copied
    copy_to: int | None  # the first frame's after the copied part; None: to the end
    head_frames: int  # frames encoded before the copied part
    copy_dts: int  # the decoding time of the first copied packet
    piece: Piece

    def copies(self, pts: int) -> bool:
        return (
            self.copy_from is not None
            and pts >= self.copy_from
            and (self.copy_to is None or pts < self.copy_to)
        )


@dataclass(frozen=True)
class Survey:
    """What the packets say, without decoding."""

    pts: list[int]  # every frame's, in presentation order
    dts: list[int | None]  # every packet's, in decode order
    starts: set[int]  # frames where a copy may start
    ends: list[bool]  # ends[k]: a copy may end before frame k (k = 0 .. frames)
    avc: AvcConfig | None  # the decoder configuration, when smart cut applies


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
    from videorecog.splitwriters import write

    try:
        container = av.open(path, mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise InvalidVideo("InvalidFile.Decode", f"The file cannot be opened: {exc}") from None
    try:
        if not container.streams.video:
            raise InvalidVideo("InvalidFile.Content", "The file has no video stream.")
        survey = _survey(container, container.streams.video[0])
        suffix = output_suffix(container.format.name, Path(path).suffix)
    finally:
        container.close()
    if not survey.pts:
        raise InvalidVideo("InvalidFile.Content", "The video is empty.")
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = len(survey.pts)
    starts = sorted({s for s in shot_starts if 0 <= s < frames} | {0})
    plans = [
        plan(
            survey,
            first,
            starts[n + 1] if n + 1 < len(starts) else frames,
            n + 1,
            out_dir / f"{stem}-shot-{n + 1:03d}{suffix}",
        )
        for n, first in enumerate(starts)
    ]
    write(path, plans, survey.avc, progress)
    return [p.piece for p in plans]


def plan(survey: Survey, first: int, end: int, shot: int, path: Path) -> Plan:
    """Copy frames ``first`` to ``end`` (exclusive) if that can be done, else copy what can be
    and re-encode the ends (H.264), else re-encode it all."""
    pts, frames = survey.pts, len(survey.pts)
    copy_from = next((k for k in sorted(survey.starts) if first <= k < end), None)
    copy_to = next((k for k in range(end, first, -1) if survey.ends[k]), first)
    whole = copy_from == first and copy_to == end
    smart = not whole and survey.avc is not None and copy_from is not None and copy_to > copy_from
    if not (whole or smart) or copy_from is None:
        copy_from, copy_to = end, end
    method: Method = "copy" if whole else "smart" if smart else "encode"
    encoded = (copy_from - first) + (end - copy_to) if copy_to > copy_from else end - first
    piece = Piece(shot, first, end, path, method, encoded)
    if method == "encode":
        return Plan(pts[first], _at(pts, end), None, None, 0, 0, piece)
    # In decode order the copied part starts right after the frames before it (``starts``).
    copy_dts = survey.dts[copy_from]
    return Plan(
        pts[first],
        _at(pts, end),
        pts[copy_from],
        _at(pts, copy_to) if copy_to < frames else None,
        copy_from - first,
        copy_dts if copy_dts is not None else pts[copy_from],
        piece,
    )


def _at(pts: Sequence[int], frame: int) -> int | None:
    return pts[frame] if frame < len(pts) else None


def _survey(container: Any, stream: Any) -> Survey:
    """Every frame's timestamps and where copies may start and end (no decoding)."""
    avc = _avc_config(stream)
    order: list[int] = []
    dts: list[int | None] = []
    keyframes: set[int] = set()
    for packet in container.demux(stream):
        if packet.pts is None or not packet.size:
            continue
        order.append(packet.pts)
        dts.append(packet.dts)
        # Only an IDR picture is a clean start in H.264 (an open GOP's I picture is not).
        if packet.is_keyframe and (avc is None or avc.is_idr(bytes(packet))):
            keyframes.add(packet.pts)
    pts = sorted(order)
    # Copy ends: frame k where the first k packets in decode order are the first k frames.
    ends, latest = [True], -1
    for k, value in enumerate(order):
        latest = max(latest, bisect.bisect_left(pts, value))
        ends.append(latest < k + 1)
    starts = {k for k, value in enumerate(pts) if value in keyframes and ends[k]}
    if any(d is None for d in dts):
        avc = None
    return Survey(pts, dts, starts, ends, avc)


def _avc_config(stream: Any) -> AvcConfig | None:
    """The stream's decoder configuration, if smart cut can extend it (see the module's
    docstring)."""
    context = stream.codec_context
    if context.name != "h264" or context.format is None or context.format.name != "yuv420p":
        return None
    try:
        config = AvcConfig.parse(context.extradata or b"")
        config.free_id()
    except AvcError:
        return None
    return config if config.profile in X264_PROFILES else None
