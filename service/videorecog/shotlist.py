"""A video's shots as a list: frame numbers and times, and the JSON and CSV forms of it.

Times come from the stream's own timestamps (``ShotsResult.shot_times`` and ``end_time``), never
from frame number x frame rate, so they are exact on variable frame rate too. They are counted
from the first frame (a stream whose timestamps start later, as MPEG-TS often does, still starts
at 0). A shot runs from its first frame to the first frame of the next shot, the last one to the
end of the video's last frame. Frame numbers are 0-based, as in ``ShotFrameIds``; ``end_frame``
is the first frame after the shot (exclusive).

The timeline formats (EDL, OpenTimelineIO, FCP XML) are in ``timelines.py``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from videorecog.analysis.tasks import ShotsResult

# Rates that are really n x 1000/1001 (NTSC): 23.976, 29.97, 47.952, 59.94.
_NTSC_BASES = (24, 30, 48, 60)
_SMPTE_RATES = (24, 25, 30, 48, 50, 60)


@dataclass(frozen=True)
class Shot:
    number: int  # 1-based
    start_frame: int  # its first frame, 0-based
    end_frame: int  # the first frame after it (exclusive)
    start: float  # seconds from the first frame
    end: float  # seconds from the first frame

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class ShotList:
    shots: tuple[Shot, ...]
    frames: int  # frames in the video
    fps: float  # the stream's average rate
    name: str  # a name for the video (the file's stem)
    media_url: str | None = None  # where editors find the media (file:// or http(s)), if known

    @property
    def rate(self) -> Fraction:
        """The frame rate of timelines and SMPTE timecodes (see ``timeline_rate``)."""
        return timeline_rate(self.fps)

    @property
    def duration(self) -> float:
        return self.shots[-1].end if self.shots else 0.0


def shot_list(result: ShotsResult, name: str = "video", media_url: str | None = None) -> ShotList:
    """The shots of ``result``: one per entry of ``ShotFrameIds``."""
    ids = result.shot_frame_ids
    times = result.shot_times
    if len(times) != len(ids):  # a result without times: from the nominal rate
        rate = result.fps or 25.0
        times = [i / rate for i in ids]
    origin = times[0] if times else 0.0
    end_time = result.end_time if result.end_time > 0 else result.frames / (result.fps or 25.0)
    shots = []
    for k, first in enumerate(ids):
        last = ids[k + 1] if k + 1 < len(ids) else result.frames
        stop = times[k + 1] if k + 1 < len(ids) else end_time
        shots.append(Shot(k + 1, first, last, times[k] - origin, stop - origin))
    return ShotList(tuple(shots), result.frames, result.fps, name, media_url)


def timeline_rate(fps: float) -> Fraction:
    """The rate of timelines and SMPTE timecode for a video of ``fps``: one that SMPTE timecode
    (and so EDL readers) supports. An NTSC rate (30000/1001, ...) or a whole rate (24, 25, 30,
    48, 50, 60) within 0.01 of ``fps``; otherwise the lowest of those above it (each frame of the
    video keeps a frame of its own), 60 beyond. A variable frame rate goes by its average."""
    for base in _NTSC_BASES:
        ntsc = Fraction(base * 1000, 1001)
        if abs(fps - float(ntsc)) < 0.01:
            return ntsc
    for rate in _SMPTE_RATES:
        if fps < rate + 0.01:
            return Fraction(rate)
    return Fraction(_SMPTE_RATES[-1])


def timestamp(seconds: float) -> str:
    """``HH:MM:SS.mmm`` (as PySceneDetect writes its timecodes)."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def to_frames(seconds: float, rate: Fraction) -> int:
    """The frame at ``rate`` nearest ``seconds``."""
    return round(Fraction(seconds) * rate)


def smpte(frames: int, rate: Fraction) -> str:
    """Non-drop-frame SMPTE timecode ``HH:MM:SS:FF`` of a frame count (NTSC rates count frames
    at their whole-number base, 30 for 29.97, as non-drop-frame timecode does)."""
    base = round(rate)
    frames = max(0, frames)
    hours, rest = divmod(frames, 3600 * base)
    minutes, rest = divmod(rest, 60 * base)
    secs, ff = divmod(rest, base)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}:{ff:02d}"


def to_json(shots: ShotList) -> str:
    """Today's keys (``ShotFrameIds``, ``frames``, ``fps``) and a ``shots`` list."""
    out: dict[str, Any] = {
        "ShotFrameIds": [s.start_frame for s in shots.shots],
        "frames": shots.frames,
        "fps": shots.fps,
        "duration": round(shots.duration, 6),
        "shots": [
            {
                "shot": s.number,
                "start_frame": s.start_frame,
                "end_frame": s.end_frame,
                "frames": s.frames,
                "start": round(s.start, 6),
                "end": round(s.end, 6),
                "duration": round(s.duration, 6),
                "start_timecode": timestamp(s.start),
                "end_timecode": timestamp(s.end),
                "duration_timecode": timestamp(s.duration),
            }
            for s in shots.shots
        ],
    }
    return orjson.dumps(out).decode() + "\n"


CSV_HEADER = (
    "Scene Number",
    "Start Frame",
    "Start Timecode",
    "Start Time (seconds)",
    "End Frame",
    "End Timecode",
    "End Time (seconds)",
    "Length (frames)",
    "Length (timecode)",
    "Length (seconds)",
)


def to_csv(shots: ShotList) -> str:
    """PySceneDetect's scene list: a "Timecode List:" row of the cuts, the header, a row per shot.
    As there, Start Frame is 1-based and End Frame is the shot's last frame (1-based)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["Timecode List:", *(timestamp(s.start) for s in shots.shots[1:])])
    writer.writerow(CSV_HEADER)
    for s in shots.shots:
        writer.writerow(
            [
                s.number,
                s.start_frame + 1,
                timestamp(s.start),
                f"{s.start:.3f}",
                s.end_frame,
                timestamp(s.end),
                f"{s.end:.3f}",
                s.frames,
                timestamp(s.duration),
                f"{s.duration:.3f}",
            ]
        )
    return buffer.getvalue()
