"""Covers of videos made from the labelled real footage (skipped when it is not present): soft,
upscaled footage gets covers from several shots; over-exposed and black segments never give one."""

from __future__ import annotations

import itertools
import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageFilter

from tests.support import SHARED_MEDIA
from tests.unit.analysis.test_covers import _decoded, _frames_of, _shot_of
from videorecog.analysis.tasks import make_covers
from videorecog.samples import night_graded

pytestmark = pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="labelled clips not present")

SIZE = (640, 360)
GOOD = "good"


def _read(clip: str, wanted: set[int]) -> dict[int, Image.Image]:
    out = {}
    with av.open(str(SHARED_MEDIA / clip)) as container:
        container.streams.video[0].thread_type = "AUTO"
        for n, frame in enumerate(container.decode(video=0)):
            if n in wanted:
                out[n] = frame.to_image()
            if n >= max(wanted):
                break
    return out


def _encode(frames: list[np.ndarray], path: Path) -> None:
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "18"}
        stream.codec_context.time_base = Fraction(1, 25)
        for n, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = n, Fraction(1, 25)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


class Composed:
    """Frames with their truth: the good shot each belongs to, or the defect it is."""

    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []
        self.truth: list[tuple[str, int]] = []

    def add(self, images: list[np.ndarray], kind: str, shot: int = -1) -> None:
        self.frames += images
        self.truth += [(kind, shot)] * len(images)


def _array(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB").resize(SIZE, Image.Resampling.BICUBIC))


def _transnet_shots(count: int, length: int) -> list[list[Image.Image]]:
    """``count`` shots of the 160x90 clip, ``length`` frames from the middle of each, well
    exposed throughout (the clip has strobes and black frames too)."""
    label = json.loads((SHARED_MEDIA / "labels" / "transnet_test.mp4.json").read_text())
    cuts = [c for c in label["cuts"] if c < 1500]
    starts = [(a + b) // 2 - length // 2 for a, b in itertools.pairwise(cuts) if b - a > length + 6]
    frames = _read("transnet_test.mp4", {n for s in starts for n in range(s, s + length)})
    shots = []
    for start in starts:
        picked = [frames[n] for n in range(start, start + length)]
        luma = [np.asarray(f.convert("L"), np.float32) / 255 for f in picked]
        if all(0.15 < y.mean() < 0.8 and y.std() > 0.08 for y in luma):
            shots.append(picked)
        if len(shots) == count:
            break
    return shots


@pytest.fixture(scope="module")
def soft_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Composed]:
    """Five shots of the 160x90 clip upscaled to 640x360 and blurred a little, after a black
    lead-in: soft from end to end, as an upscaled phone or archive video is."""
    video = Composed()
    video.add([np.zeros((SIZE[1], SIZE[0], 3), np.uint8)] * 10, "black")
    for k, shot in enumerate(_transnet_shots(5, 30)):
        soft = [_array(f).copy() for f in shot]
        blurred = [
            np.asarray(Image.fromarray(f).filter(ImageFilter.GaussianBlur(1.5))) for f in soft
        ]
        video.add(blurred, GOOD, k)
    path = tmp_path_factory.mktemp("real") / "soft.mp4"
    _encode(video.frames, path)
    return path, video


@pytest.fixture(scope="module")
def exposure_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Composed]:
    """Stills of testvideo.mp4 and the film clip, each followed by the same picture blown out
    to near white, with black between: the over-exposed frames are the sharpest and most
    contrasted of the video, and must still never be a cover."""
    stills = _read("testvideo.mp4", {100, 280, 470})
    film = _read("goldeneye-vfr-drop3.mp4", set(range(20, 45)))
    video = Composed()
    shots: list[list[np.ndarray]] = [[_array(stills[n])] * 25 for n in (100, 280, 470)]
    shots.append([_array(film[n].crop((160, 0, 1127, 544))) for n in range(20, 45)])
    for k, frames in enumerate(shots):
        video.add(frames, GOOD, k)
        blown = [np.clip(f.astype(np.float32) * 1.6 + 140, 0, 255).astype(np.uint8) for f in frames]
        video.add(blown[:15], "over-exposed")
        video.add([np.zeros_like(frames[0])] * 8, "black")
    path = tmp_path_factory.mktemp("real") / "exposure.mp4"
    _encode(video.frames, path)
    return path, video


def _judge(path: Path, video: Composed, out: Path) -> tuple[list[float], list[tuple[str, int]]]:
    """Confidences, and for each cover what it shows (a defect if no good frame matches)."""
    result = make_covers(str(path), str(out), "c", is_gif=False)
    frames = _decoded(path)
    shown = []
    for cover in result.covers:
        with Image.open(out / cover.file) as im:
            matches = [video.truth[n] for n in _frames_of(im, frames)]
        good = [m for m in matches if m[0] == GOOD]
        shown.append(good[0] if good else matches[0])
    return [c.confidence for c in result.covers], shown


def test_soft_upscaled_real_footage_gets_covers_from_its_shots(
    soft_video: tuple[Path, Composed], tmp_path: Path
) -> None:
    """Judged against itself, soft upscaled footage is not "blurred throughout": a cover from
    each of several shots, best first."""
    path, video = soft_video
    confidences, shown = _judge(path, video, tmp_path)
    assert all(kind == GOOD for kind, _ in shown), shown
    assert len({shot for _, shot in shown}) == len(shown) >= 3
    assert confidences == sorted(confidences, reverse=True)


def test_over_exposed_and_black_segments_never_give_a_cover(
    exposure_video: tuple[Path, Composed], tmp_path: Path
) -> None:
    """Blown-out copies of every shot and black between them: every cover is a good frame,
    each from a different shot."""
    path, video = exposure_video
    confidences, shown = _judge(path, video, tmp_path)
    assert all(kind == GOOD for kind, _ in shown), shown
    assert len({shot for _, shot in shown}) == len(shown) >= 3
    assert confidences == sorted(confidences, reverse=True)


def test_a_night_scene_gets_covers_from_its_shots(tmp_path: Path) -> None:
    """The film clip graded as a night scene (full range: lights in the dark, mean luma about
    3% of white): a clean cover from each of its first two shots, not one cover from the shot
    bright enough to pass an absolute floor. (The third shot's frames are soft beside the point
    lights of the others, and left out as blurred.)"""
    video = tmp_path / "night.mp4"
    night_graded(SHARED_MEDIA / "goldeneye-vfr-drop3.mp4", video, (640, 272))
    result = make_covers(str(video), str(tmp_path), "night", is_gif=False)
    frames = _decoded(video)
    labels = json.loads((SHARED_MEDIA / "labels/goldeneye-vfr-drop3.mp4.json").read_text())
    starts = [0, *labels["cuts"]]
    shots = []
    for cover in result.covers:
        with Image.open(tmp_path / cover.file) as im:
            shots.append(_shot_of(_frames_of(im, frames)[0], starts))
    assert sorted(shots) == [0, 1], result.covers
    # Under-exposed, the same frames scored 2.3-3.1 (a defective frame's confidence is halved).
    assert all(cover.confidence > 4.0 for cover in result.covers), result.covers
