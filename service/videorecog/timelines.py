"""A shot list as an editor's timeline: CMX 3600 EDL, OpenTimelineIO, Final Cut Pro X XML.

One video track, one clip per shot, each clip taking its shot's range of the source media and
placed at the same time on the record side (the timeline is the video, cut at its shots).

EDL and FCP XML count in frames of one rate (``ShotList.rate``: the stream's rate, an NTSC rate
such as 30000/1001 kept exact): each shot's start is its real time rounded to the nearest frame of
that rate, which is exact on a constant frame rate and the nearest frame on a variable one.
OpenTimelineIO keeps the exact times (on a variable frame rate a clip's start may fall between
two frames of the timeline's rate) and each shot's frame numbers in the clip's metadata.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from fractions import Fraction

import opentimelineio as otio

from videorecog.shotlist import ShotList, smpte, to_frames


def frame_edges(shots: ShotList) -> list[int]:
    """Each shot's start and the video's end in frames of ``shots.rate``, strictly increasing
    (a shot never shrinks to nothing by rounding)."""
    edges: list[int] = []
    for t in [*(s.start for s in shots.shots), shots.duration]:
        frame = to_frames(t, shots.rate)
        edges.append(max(frame, edges[-1] + 1) if edges else frame)
    return edges


def to_edl(shots: ShotList) -> str:
    """CMX 3600: one cut event per shot on reel ``AX`` (a file-based source), the clip named in a
    ``* FROM CLIP NAME:`` comment; non-drop-frame timecode."""
    rate = shots.rate
    edges = frame_edges(shots)
    lines = [f"TITLE: {_one_line(shots.name)[:70]}", "FCM: NON-DROP FRAME", ""]
    for k, shot in enumerate(shots.shots):
        start, end = smpte(edges[k], rate), smpte(edges[k + 1], rate)
        lines.append(f"{shot.number:03d}  AX       V     C        {start} {end} {start} {end}")
        lines.append(f"* FROM CLIP NAME: {_one_line(shots.name)} shot {shot.number}")
        lines.append("")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "video"


def to_otio(shots: ShotList) -> otio.schema.Timeline:
    rate = float(shots.rate)
    timeline = otio.schema.Timeline(
        name=f"{shots.name} shots", global_start_time=otio.opentime.RationalTime(0, rate)
    )
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    available = otio.opentime.TimeRange(_time(0.0, rate), _time(shots.duration, rate))
    for shot in shots.shots:
        reference: otio.core.MediaReference = (
            otio.schema.ExternalReference(target_url=shots.media_url, available_range=available)
            if shots.media_url
            else otio.schema.MissingReference(available_range=available)
        )
        track.append(
            otio.schema.Clip(
                name=f"{shots.name} shot {shot.number}",
                media_reference=reference,
                source_range=otio.opentime.TimeRange(
                    _time(shot.start, rate), _time(shot.duration, rate)
                ),
                metadata={
                    "videorecog": {
                        "shot": shot.number,
                        "start_frame": shot.start_frame,
                        "end_frame": shot.end_frame,
                        "start_seconds": shot.start,
                        "end_seconds": shot.end,
                    }
                },
            )
        )
    return timeline


def _time(seconds: float, rate: float) -> otio.opentime.RationalTime:
    """``seconds`` at ``rate``: a whole number of frames when it is one (to a microsecond)."""
    value = round(seconds * rate, 6)  # no float noise (42.400000000000006)
    if abs(value - round(value)) < 1e-6 * rate:
        value = round(value)
    return otio.opentime.RationalTime(value, rate)


def to_otio_json(shots: ShotList) -> str:
    text: str = otio.adapters.write_to_string(to_otio(shots), "otio_json")
    return text + "\n"


FCPXML_VERSION = "1.8"


def _seconds(frames: int, rate: Fraction) -> str:
    """FCP XML's rational time of ``frames`` at ``rate``: ``0s``, ``2s``, ``1001/30000s``."""
    t = Fraction(frames) / rate
    return f"{t.numerator}s" if t.denominator == 1 else f"{t.numerator}/{t.denominator}s"


def to_fcpxml(shots: ShotList, width: int = 0, height: int = 0) -> str:
    """Final Cut Pro X XML (``.fcpxml``): a format and an asset in ``resources``; a library with
    one event holding one project whose sequence's spine has an ``asset-clip`` per shot."""
    rate = shots.rate
    edges = frame_edges(shots)
    root = ET.Element("fcpxml", version=FCPXML_VERSION)
    resources = ET.SubElement(root, "resources")
    fmt = ET.SubElement(resources, "format", id="r1", frameDuration=_seconds(1, rate))
    if width and height:
        fmt.set("width", str(width))
        fmt.set("height", str(height))
    total = _seconds(edges[-1] - edges[0], rate)
    asset = ET.SubElement(
        resources,
        "asset",
        id="r2",
        name=shots.name,
        start="0s",
        duration=total,
        hasVideo="1",
        format="r1",
    )
    if shots.media_url:
        asset.set("src", shots.media_url)
    library = ET.SubElement(root, "library")
    event = ET.SubElement(library, "event", name=shots.name)
    project = ET.SubElement(event, "project", name=f"{shots.name} shots")
    sequence = ET.SubElement(
        project, "sequence", format="r1", duration=total, tcStart="0s", tcFormat="NDF"
    )
    spine = ET.SubElement(sequence, "spine")
    for k, shot in enumerate(shots.shots):
        ET.SubElement(
            spine,
            "asset-clip",
            ref="r2",
            name=f"{shots.name} shot {shot.number}",
            offset=_seconds(edges[k], rate),
            start=_seconds(edges[k], rate),
            duration=_seconds(edges[k + 1] - edges[k], rate),
            format="r1",
            tcFormat="NDF",
        )
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n{body}\n'


FORMATS = ("json", "csv", "edl", "otio", "fcpxml")
