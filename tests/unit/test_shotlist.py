"""Shot lists, timecodes and the five output formats (EDL, OTIO and FCP XML read back by
OpenTimelineIO and its adapters)."""

from __future__ import annotations

import csv
import io
from fractions import Fraction
from pathlib import Path

import av
import opentimelineio as otio
import orjson
import pytest

from tests.clips import PLANS
from videorecog.analysis.tasks import ShotsResult, detect_shots
from videorecog.samples import render
from videorecog.shotlist import (
    CSV_HEADER,
    ShotList,
    shot_list,
    smpte,
    timeline_rate,
    timestamp,
    to_csv,
    to_json,
)
from videorecog.timelines import frame_edges, to_edl, to_fcpxml, to_otio, to_otio_json

# 25 fps, cuts at frames 40, 75, 120 of 160.
CFR = ShotsResult([0, 40, 75, 120], 160, 25.0, [0.0, 1.6, 3.0, 4.8], 6.4)
# Variable frame rate: the times are the stream's, not frame x 1/fps (40 / 20 = 2.0, not 2.12).
VFR = ShotsResult([0, 40, 80], 120, 20.0, [0.0, 2.12, 4.04], 5.96)


def test_shots_take_times_from_timestamps_not_frame_rate() -> None:
    """On variable frame rate a shot starts at its first frame's timestamp."""
    shots = shot_list(VFR, "v")
    assert [(s.start_frame, s.end_frame, s.frames) for s in shots.shots] == [
        (0, 40, 40),
        (40, 80, 40),
        (80, 120, 40),
    ]
    assert [s.start for s in shots.shots] == [0.0, 2.12, 4.04]
    assert shots.shots[-1].end == pytest.approx(5.96)
    assert shots.shots[1].duration == pytest.approx(1.92)


def test_times_count_from_the_first_frame() -> None:
    """A stream whose timestamps start late (MPEG-TS) still starts its first shot at 0."""
    late = ShotsResult([0, 10], 20, 10.0, [1.4, 2.4], 3.4)
    shots = shot_list(late)
    assert [(s.start, s.end) for s in shots.shots] == [
        (0.0, pytest.approx(1.0)),
        (pytest.approx(1.0), pytest.approx(2.0)),
    ]


def test_timecode_forms() -> None:
    """HH:MM:SS.mmm for seconds; non-drop-frame HH:MM:SS:FF; NTSC rates kept exact."""
    assert timestamp(3725.0456) == "01:02:05.046"
    assert timestamp(0) == "00:00:00.000"
    assert smpte(25 * 3661 + 7, Fraction(25)) == "01:01:01:07"
    assert timeline_rate(29.97) == Fraction(30000, 1001)
    assert timeline_rate(23.976023) == Fraction(24000, 1001)
    assert timeline_rate(25.0) == 25
    assert timeline_rate(20.07) == 24  # SMPTE timecode has no 20: the next rate up
    assert timeline_rate(240.0) == 60
    assert smpte(30, Fraction(30000, 1001)) == "00:00:01:00"


def test_json_keeps_todays_keys_and_adds_shots() -> None:
    """ShotFrameIds, frames and fps as before, plus one entry per shot."""
    out = orjson.loads(to_json(shot_list(CFR)))
    assert out["ShotFrameIds"] == [0, 40, 75, 120]
    assert out["frames"] == 160
    assert out["fps"] == 25.0
    second = out["shots"][1]
    assert second["start_frame"] == 40
    assert second["end_frame"] == 75
    assert second["frames"] == 35
    assert second["start_timecode"] == "00:00:01.600"
    assert second["end_timecode"] == "00:00:03.000"
    assert second["duration_timecode"] == "00:00:01.400"
    assert second["duration"] == pytest.approx(1.4)


def test_csv_is_pyscenedetects_scene_list() -> None:
    """A cut list row, PySceneDetect's header, 1-based start frames and inclusive end frames."""
    rows = list(csv.reader(io.StringIO(to_csv(shot_list(VFR)))))
    assert rows[0] == ["Timecode List:", "00:00:02.120", "00:00:04.040"]
    assert tuple(rows[1]) == CSV_HEADER
    assert rows[3] == [
        "2",
        "41",
        "00:00:02.120",
        "2.120",
        "80",
        "00:00:04.040",
        "4.040",
        "40",
        "00:00:01.920",
        "1.920",
    ]
    assert len(rows) == 2 + 3


def _clip_ranges(timeline: otio.schema.Timeline) -> list[tuple[float, float]]:
    return [
        (c.source_range.start_time.to_seconds(), c.source_range.duration.to_seconds())
        for c in timeline.find_clips()
    ]


def test_edl_reads_back_with_otio_cmx_3600() -> None:
    """The CMX 3600 adapter reads one clip per shot, at the shots' frames."""
    text = to_edl(shot_list(CFR, "cuts"))
    timeline = otio.adapters.read_from_string(text, "cmx_3600", rate=25)
    clips = list(timeline.find_clips())
    assert [c.name for c in clips] == [f"cuts shot {n}" for n in (1, 2, 3, 4)]
    assert [(c.source_range.start_time.value, c.source_range.duration.value) for c in clips] == [
        (0, 40),
        (40, 35),
        (75, 45),
        (120, 40),
    ]
    assert [c.range_in_parent().start_time.value for c in clips] == [0, 40, 75, 120]


def test_edl_at_ntsc_rate_reads_back() -> None:
    """At 29.97 the timecodes count 30 a second and read back at that rate."""
    ntsc = ShotsResult([0, 100], 300, 29.97, [0.0, 100 * 1001 / 30000], 300 * 1001 / 30000)
    shots = shot_list(ntsc)
    timeline = otio.adapters.read_from_string(to_edl(shots), "cmx_3600", rate=30000 / 1001)
    assert [c.source_range.start_time.value for c in timeline.find_clips()] == [0, 100]


def test_vfr_edl_takes_nearest_frame_of_real_time() -> None:
    """On variable frame rate an EDL event starts at the frame nearest the shot's real time
    (at 24 fps, SMPTE's rate next above the 20 fps average: 2.12 s is frame 51)."""
    assert frame_edges(shot_list(VFR)) == [0, 51, 97, 143]
    timeline = otio.adapters.read_from_string(to_edl(shot_list(VFR)), "cmx_3600", rate=24)
    assert [c.source_range.start_time.value for c in timeline.find_clips()] == [0, 51, 97]


def test_fcpxml_reads_back_with_the_fcpx_adapter() -> None:
    """The FCP X XML adapter reads the project: one clip per shot, frames and media intact."""
    shots = shot_list(CFR, "cuts", "file:///media/cuts.mp4")
    text = to_fcpxml(shots, 320, 180)
    collection = otio.adapters.read_from_string(text, "fcpx_xml")
    clips = list(collection.find_clips())
    assert [c.name for c in clips] == [f"cuts shot {n}" for n in (1, 2, 3, 4)]
    assert [(c.source_range.start_time.value, c.source_range.duration.value) for c in clips] == [
        (0, 40),
        (40, 35),
        (75, 45),
        (120, 40),
    ]
    assert [c.range_in_parent().start_time.value for c in clips] == [0, 40, 75, 120]
    assert all(c.media_reference.target_url == "file:///media/cuts.mp4" for c in clips)


def test_otio_holds_exact_times_and_frames() -> None:
    """OTIO JSON round-trips: exact VFR times, each shot's frames in the clip metadata."""
    shots = shot_list(VFR, "v", "file:///media/v.mp4")
    timeline = otio.adapters.read_from_string(to_otio_json(shots), "otio_json")
    ranges = _clip_ranges(timeline)
    assert [start for start, _ in ranges] == pytest.approx([0.0, 2.12, 4.04])
    assert [d for _, d in ranges] == pytest.approx([2.12, 1.92, 1.92])
    meta = [c.metadata["videorecog"] for c in timeline.find_clips()]
    assert [(m["start_frame"], m["end_frame"]) for m in meta] == [(0, 40), (40, 80), (80, 120)]
    assert timeline.duration().to_seconds() == pytest.approx(5.96)


def test_otio_without_media_url_has_missing_reference() -> None:
    """Standard input has no place editors could find: a missing reference, not a bad URL."""
    clip = next(iter(to_otio(ShotList((), 0, 25.0, "stdin")).find_clips()), None)
    assert clip is None
    timeline = to_otio(shot_list(CFR, "stdin"))
    assert all(
        isinstance(c.media_reference, otio.schema.MissingReference) for c in timeline.find_clips()
    )


def test_detect_shots_gives_stream_timestamps(tmp_path: Path) -> None:
    """On a variable-frame-rate clip, shot times and the end are the stream's own."""
    path = tmp_path / "vfr.mp4"
    truth = render(PLANS["vfr"], path)
    result = detect_shots(str(path))
    assert result.shot_frame_ids == [0, *truth.cuts]
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times = sorted(float(p.pts * stream.time_base) for p in container.demux(stream) if p.size)
        end = float(stream.duration * stream.time_base)
    assert result.shot_times == [times[i] for i in result.shot_frame_ids]
    assert result.end_time == pytest.approx(end)
    assert result.shot_times[1] != pytest.approx(truth.cuts[0] / result.fps)
