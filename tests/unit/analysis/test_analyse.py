"""One analysis per video: shots, image covers and GIF covers from one decoding pass, the same as
the separate analyses give."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.clips import Clip
from tests.support import SHARED_MEDIA
from videorecog.analysis import decode, tasks
from videorecog.analysis.errors import InvalidVideo
from videorecog.engine.analyzer import Analyzer
from videorecog.samples import Plan, Shot, render

ALL = frozenset(tasks.OUTPUTS)
GENERATED = ["cuts", "mixed_640", "rotated", "bad_covers", "vfr"]
REAL = ["goldeneye-vfr-drop3.mp4", "testvideo.mp4"]
real_media = pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="labelled clips not present")


def _files(out: Path, result: tasks.CoversResult) -> list[tuple[str, float, bytes]]:
    return [(c.file, c.confidence, (out / c.file).read_bytes()) for c in result.covers]


def _same_as_separate(path: Path, tmp_path: Path) -> None:
    together, apart = tmp_path / "together", tmp_path / "apart"
    analysis = tasks.analyse(str(path), ALL, str(together), "v", "png")
    shots = tasks.detect_shots(str(path))
    image = tasks.make_covers(str(path), str(apart), "v", is_gif=False, image_format="png")
    gif = tasks.make_covers(str(path), str(apart), "v", is_gif=True)
    assert analysis.shots == shots
    assert analysis.cover is not None
    assert analysis.gif is not None
    assert _files(together, analysis.cover) == _files(apart, image)
    assert _files(together, analysis.gif) == _files(apart, gif)
    assert analysis.frames == shots.frames == image.frames == gif.frames
    assert not analysis.failed


@pytest.mark.parametrize("name", GENERATED)
def test_one_analysis_equals_separate_analyses_on_generated_clips(
    clips: dict[str, Clip], tmp_path: Path, name: str
) -> None:
    """Shots, covers (names, confidences, bytes) and GIFs are those of the three separate calls."""
    _same_as_separate(clips[name].path, tmp_path)


@real_media
@pytest.mark.parametrize("name", REAL)
def test_one_analysis_equals_separate_analyses_on_real_footage(tmp_path: Path, name: str) -> None:
    """On real footage too (variable frame rate, long picture groups), byte for byte."""
    _same_as_separate(SHARED_MEDIA / name, tmp_path)


def _tally(run: Callable[[], object]) -> decode.Tally:
    before = dataclasses.replace(decode.TALLY)
    run()
    return decode.TALLY.since(before)


@real_media
def test_shots_cover_and_gif_take_one_decoding_pass(tmp_path: Path) -> None:
    """All three outputs take one pass over the stream (the three analyses take three), and
    what else is decoded, the short reads after seeking, stays well under a pass each."""
    path = str(SHARED_MEDIA / "goldeneye-vfr-drop3.mp4")
    shots = _tally(lambda: tasks.detect_shots(path))
    together = _tally(lambda: tasks.analyse(path, ALL, str(tmp_path / "a"), "v"))
    apart = _tally(
        lambda: [
            tasks.detect_shots(path),
            tasks.make_covers(path, str(tmp_path / "b"), "v", is_gif=False),
            tasks.make_covers(path, str(tmp_path / "b"), "v", is_gif=True),
        ]
    )
    assert (shots.passes, together.passes, apart.passes) == (1, 1, 3)
    # Only the pass decodes for shots; the rest is what covers read again after seeking, which
    # the separate analyses read twice (both cover calls) and on top of their own two passes.
    assert together.frames > shots.frames
    assert together.frames < apart.frames - 2 * shots.frames


def test_shots_alone_read_nothing_after_the_pass(clips: dict[str, Clip], tmp_path: Path) -> None:
    """Asking for shots only opens the file once and writes no cover (bars are looked for in
    the first frame the pass decodes; the file is opened again only if its edges are dark)."""
    path = str(clips["cuts"].path)
    tally = _tally(lambda: tasks.analyse(path, frozenset({"shots"}), str(tmp_path), "v"))
    assert (tally.opens, tally.passes) == (1, 1)
    assert not list(tmp_path.iterdir())


def test_nothing_to_see_fails_the_covers_but_not_the_shots(tmp_path: Path) -> None:
    """An all-black video has shots; its cover and GIF fail as their own analyses do."""
    path = tmp_path / "black.mp4"
    render(Plan(shots=(Shot(30, "still", 1, black=True),), transitions=()), path)
    analysis = tasks.analyse(str(path), ALL, str(tmp_path / "out"), "v")
    assert analysis.shots == tasks.detect_shots(str(path))
    assert analysis.cover is None
    assert analysis.gif is None
    with pytest.raises(InvalidVideo) as separate:
        tasks.make_covers(str(path), str(tmp_path / "out"), "v", is_gif=False)
    expected = (separate.value.code, separate.value.message)
    assert {k: (e.code, e.message) for k, e in analysis.failed.items()} == dict.fromkeys(
        ("cover", "gif"), expected
    )


def test_undecodable_file_fails_the_whole_analysis(clips: dict[str, Clip], tmp_path: Path) -> None:
    """A file that does not decode raises the code the separate analyses raise."""
    with pytest.raises(InvalidVideo) as info:
        tasks.analyse(str(clips["corrupt"].path), ALL, str(tmp_path), "v")
    assert info.value.code == "InvalidFile.Decode"


@pytest.mark.parametrize(
    "outputs", [frozenset(), frozenset({"shots", "thumbnail"})], ids=["none", "unknown"]
)
def test_unknown_or_no_outputs_are_refused(
    clips: dict[str, Clip], tmp_path: Path, outputs: frozenset[str]
) -> None:
    """A caller's mistake is a ValueError before anything is decoded."""
    before = dataclasses.replace(decode.TALLY)
    with pytest.raises(ValueError, match="outputs"):
        tasks.analyse(str(clips["cuts"].path), outputs, str(tmp_path), "v")
    assert decode.TALLY.since(before).opens == 0


def test_engine_pool_runs_one_analysis(clips: dict[str, Clip], tmp_path: Path) -> None:
    """``Analyzer.analyse`` runs it in a worker process and hands back every output."""
    path = clips["cuts"].path

    async def run() -> tuple[tasks.VideoAnalysis, int]:
        analyzer = Analyzer(1)
        try:
            return await analyzer.analyse(path, ALL, tmp_path, "v", "jpg")
        finally:
            analyzer.close()

    analysis, passes = asyncio.run(run())
    assert passes == 1
    assert analysis.shots == tasks.detect_shots(str(path))
    assert analysis.cover is not None
    assert analysis.gif is not None
    assert all(c.file.endswith(".jpg") for c in analysis.cover.covers)
    assert all((tmp_path / c.file).is_file() for c in analysis.gif.covers)
    assert np.diff([c.confidence for c in analysis.cover.covers]).max(initial=0) <= 0
