"""The survey over reference frames: same numbers, times and boundaries as decoding in full."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av
import numpy as np
import pytest

from tests.clips import Clip, corrupt_packets
from tests.support import SHARED_MEDIA
from videorecog.analysis import decode
from videorecog.analysis.detection import DetectorParams
from videorecog.analysis.scoring import Labels, score
from videorecog.analysis.shots import may_hide_cut
from videorecog.analysis.survey import Survey, SurveyUnavailable
from videorecog.analysis.tasks import detect_shots
from videorecog.samples import Plan, Shot, Transition, render

WIDTH, HEIGHT = 64, 36
HD = SHARED_MEDIA / "testvideo.mp4"  # 1280x720 H.264 with B-frames, 720 frames


@contextmanager
def opened(path: Path) -> Iterator[tuple[av.container.InputContainer, av.video.stream.VideoStream]]:
    container = decode.open_video(str(path))
    try:
        stream, _ = decode.probe(container)
        yield container, stream
    finally:
        container.close()


def survey(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> Survey:
    return Survey(
        container,
        stream,
        width=WIDTH,
        height=HEIGHT,
        must_decode=functools.partial(may_hide_cut, params=DetectorParams()),
    )


def in_full(path: Path) -> list[decode.Frame]:
    with opened(path) as (container, stream):
        return list(
            decode.iter_frames(
                container,
                stream,
                width=WIDTH,
                height=HEIGHT,
                pixel_format="yuv444p",
                deblock=False,
            )
        )


@pytest.mark.parametrize("name", ["cuts", "cuts_mid_gop", "vfr", "mixed_640", "dissolves"])
def test_every_frame_keeps_its_number_and_time(name: str, clips: dict[str, Clip]) -> None:
    """Skipped frames are still given, in order, at their own times; decoded frames are the
    very pictures full decoding gives."""
    path = clips[name].path
    full = in_full(path)
    with opened(path) as (container, stream):
        surveyed = survey(container, stream)
        frames = list(surveyed)
    assert [f.index for f in frames] == list(range(len(full)))
    assert [f.time for f in frames] == [f.time for f in full]
    identical = sum(np.array_equal(a.image, b.image) for a, b in zip(frames, full, strict=True))
    assert identical >= len(frames) - surveyed.blended
    assert surveyed.blended > len(frames) // 4, "the survey should skip the non-reference frames"


def test_cuts_between_keyframes_are_decoded_exactly(clips: dict[str, Clip]) -> None:
    """Cuts that fall among skipped B-frames send the survey back for those frames: the
    boundaries are the exact cut frames, as with full decoding."""
    clip = clips["cuts_mid_gop"]
    with opened(clip.path) as (container, stream):
        surveyed = survey(container, stream)
        for _ in surveyed:
            pass
    assert surveyed.seeks >= len(clip.truth.cuts)
    ids = detect_shots(str(clip.path), survey=True).shot_frame_ids
    assert ids == [0, *clip.truth.cuts]
    assert ids == detect_shots(str(clip.path), survey=False).shot_frame_ids


@pytest.mark.skipif(not HD.exists(), reason="needs ../shared/media")
def test_every_frame_is_decoded_unless_a_survey_is_asked_for() -> None:
    """The survey's blends change less than real frames do and lower the cut test's baseline
    (false cuts at flashes and overlays in HD): by default every frame is decoded, HD too."""

    def decoded(survey: bool | None) -> int:
        before = dataclasses.replace(decode.TALLY)
        result = detect_shots(str(HD)) if survey is None else detect_shots(str(HD), survey=survey)
        assert result.frames == 720
        return decode.TALLY.since(before).frames

    assert decoded(None) == decoded(False) == 720
    assert decoded(True) < 720


@pytest.mark.parametrize("name", ["cuts", "dissolves", "fade", "wipe", "flashes", "mixed_640"])
def test_boundaries_match_full_decoding(name: str, clips: dict[str, Clip]) -> None:
    """Cuts at the same frames; each gradual transition found inside the same true span."""
    clip = clips[name]
    path = str(clip.path)
    surveyed = detect_shots(path, survey=True).shot_frame_ids
    full = detect_shots(path, survey=False).shot_frame_ids
    labels = Labels(tuple(clip.truth.cuts), tuple(clip.truth.gradual))
    assert score(surveyed, labels) == score(full, labels), (surveyed, full)
    cuts = set(clip.truth.cuts)
    assert [i for i in surveyed if i in cuts] == [i for i in full if i in cuts]


def test_a_codec_that_is_not_surveyed_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mpeg4.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for k in range(10):
            image = np.full((48, 64, 3), k * 20, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with opened(path) as (container, stream), pytest.raises(SurveyUnavailable):
        survey(container, stream)
    assert detect_shots(str(path)).frames == 10


def test_damaged_packets_leave_it_to_full_decoding(clips: dict[str, Clip], tmp_path: Path) -> None:
    """A damaged packet stops the survey; the analysis starts over in full, which tolerates a
    few (and numbers the frames as full decoding does)."""
    damaged = tmp_path / "damaged.mp4"
    corrupt_packets(clips["cuts"].path, damaged, [20, 50, 100])
    with opened(damaged) as (container, stream), pytest.raises(SurveyUnavailable):
        for _ in survey(container, stream):
            pass
    result = detect_shots(str(damaged), survey=True)
    assert result.frames == detect_shots(str(damaged), survey=False).frames
    assert result.shot_frame_ids == detect_shots(str(damaged), survey=False).shot_frame_ids


def test_only_a_sudden_change_between_decoded_pictures_is_decoded() -> None:
    """The gate: a jump that stands out is decoded; the same jump among others (a transition,
    fast motion) and a small change are blended."""
    rng = np.random.default_rng(3)
    dark = rng.integers(0, 60, (3, HEIGHT, WIDTH), dtype=np.uint8)
    light = rng.integers(190, 255, (3, HEIGHT, WIDTH), dtype=np.uint8)
    mid = ((dark.astype(np.uint16) + light) // 2).astype(np.uint8)
    params = DetectorParams()
    assert may_hide_cut(dark, dark, light, light, params)
    assert may_hide_cut(None, dark, light, None, params)
    assert not may_hide_cut(dark, mid, light, light, params)  # it was already changing
    assert not may_hide_cut(dark, dark, light, dark, params)  # and changes back: a flash
    assert not may_hide_cut(dark, dark, dark, dark, params)


def test_hevc_is_surveyed_too(clips: dict[str, Clip], tmp_path: Path) -> None:
    """The same clip in HEVC: frames skipped, cuts among them decoded exactly."""
    clip = clips["cuts_mid_gop"]
    path = tmp_path / "hevc.mp4"
    with av.open(str(clip.path)) as source, av.open(str(path), mode="w") as target:
        stream = target.add_stream("libx265", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        stream.codec_context.time_base = source.streams.video[0].time_base
        stream.options = {"x265-params": "log-level=error"}
        for frame in source.decode(video=0):
            for packet in stream.encode(frame):
                target.mux(packet)
        for packet in stream.encode(None):
            target.mux(packet)
    with opened(path) as (container, stream):
        surveyed = survey(container, stream)
        frames = sum(1 for _ in surveyed)
    assert frames == clip.truth.frames
    assert surveyed.blended > frames // 4
    assert detect_shots(str(path), survey=True).shot_frame_ids == [0, *clip.truth.cuts]


def test_frequent_seeking_back_turns_to_decoding_in_full(tmp_path: Path) -> None:
    """Cuts every 15 frames, none on a keyframe: seeking back for each soon costs more than the
    skipping saves, and the rest is decoded in full -- with every cut still exact."""
    shots = tuple(Shot(15, "pan" if k % 2 else "still", 200 + k) for k in range(14))
    plan = Plan(shots=shots, transitions=(Transition("cut"),) * 13, keyframes_at_cuts=False)
    path = tmp_path / "busy.mp4"
    truth = render(plan, path)
    with opened(path) as (container, stream):
        surveyed = survey(container, stream)
        frames = sum(1 for _ in surveyed)
    assert frames == truth.frames
    assert surveyed.decode_all
    assert surveyed.seeks < len(truth.cuts)
    assert detect_shots(str(path), survey=True).shot_frame_ids == [0, *truth.cuts]


def test_a_long_run_of_frames_not_given_back_stops_the_survey(
    clips: dict[str, Clip], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory stays bounded: past MAX_PENDING frames announced and not given, the survey gives
    up and the analysis decodes in full."""
    path = clips["cuts"].path
    monkeypatch.setattr("videorecog.analysis.survey.MAX_PENDING", 2)
    with opened(path) as (container, stream), pytest.raises(SurveyUnavailable):
        for _ in survey(container, stream):
            pass
    assert detect_shots(str(path), survey=True).shot_frame_ids == [0, *clips["cuts"].truth.cuts]
