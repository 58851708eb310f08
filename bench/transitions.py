"""Editors' transitions benchmark: real shots joined by every transition of ffmpeg's ``xfade``
filter, videorecog beside PySceneDetect and TransNetV2.

Data (fixed seed, cached in bench/.cache/transitions-SEED/): one clip per ``xfade`` transition,
five segments from inside the labelled shots of ``transnet_test.mp4`` in ../shared/media (music
video excerpts, 160x90, upscaled to 320x180 or 640x360), each 50-100 frames, joined by four
transitions of that kind lasting 6-25 frames (0.24-1 s; at least 10 frames of each segment in
none), encoded by the ``ffmpeg`` binary (libx264, crf 20). The truth is exact: a transition
spans the frames ``xfade`` blends (both pictures show), a gradual boundary labelled
``[first, last]``. Transitions are grouped into kinds (``GROUPS``): dissolves, fades through
black or white, wipes, irises, slides (the outgoing picture pushed out by the incoming one) and
squeezes or zooms. Rules were worked out on seeds 7 and 8 of the same recipe
(``AdaptiveShotDetector._inside``, ``slides.py``); this seed's slides were looked at while the
slide test was mended, so for slides it is no held-out set (seeds 11 and 12 are: ``--seed``).

``--long``: the same recipe with transitions of 26-50 frames (1-2 s; ``xfade``'s own default is
1 s) between segments of 80-150 frames, cached apart (``transitions-long-SEED``) and reported in
a table of its own. No rule was worked out on it.

Methods and scoring as in bench/shots.py (each tool a whole process per file; a detection
matches a transition anywhere in its span +-2 frames; one per transition).

Usage: python bench/transitions.py [--seed N] [--long] [--verbose] [--out docs/BENCHMARKS.md]
ffmpeg: Debian's ``ffmpeg`` package (``make bench`` installs it when missing).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

import shots
from covers import labelled_boundaries
from report import update_block

SEED = 20261206
FPS = 25
SOURCE = "transnet_test.mp4"
SEGMENTS = 5  # per clip: four transitions
SEGMENT_FRAMES = (50, 100)
STEADY = 10  # frames of a segment in no transition, at least
TRANSITION_FRAMES = (6, 25)
LONG_SEGMENT_FRAMES = (80, 150)
LONG_TRANSITION_FRAMES = (26, 50)
SIZES = ("320:180", "640:360")
MARGIN = 3  # frames kept clear of a labelled boundary or uncertain span
GROUPS: dict[str, tuple[str, ...]] = {
    "dissolve": (
        "fade", "dissolve", "fadefast", "fadeslow", "fadegrays", "distance", "hblur", "pixelize",
    ),
    "fade through black or white": ("fadeblack", "fadewhite"),
    "wipe": (
        "wipeleft", "wiperight", "wipeup", "wipedown", "wipetl", "wipetr", "wipebl", "wipebr",
        "diagtl", "diagtr", "diagbl", "diagbr", "smoothleft", "smoothright", "smoothup",
        "smoothdown", "hlslice", "hrslice", "vuslice", "vdslice", "radial", "rectcrop",
    ),
    "iris": (
        "circleopen", "circleclose", "circlecrop", "vertopen", "vertclose", "horzopen",
        "horzclose",
    ),
    "slide (push)": ("slideleft", "slideright", "slideup", "slidedown"),
    "squeeze or zoom": ("squeezeh", "squeezev", "zoomin"),
}  # fmt: skip
HEADING = """
## Editors' transitions (ffmpeg `xfade`) — `bench/transitions.py`

`.venv/bin/python bench/transitions.py --out docs/BENCHMARKS.md`: real shots of the 160x90 clip
(upscaled) joined by each of the 46 transitions of ffmpeg's `xfade` filter, four of a kind per
clip, 6-25 frames each; exact truth. Rules were worked out on seeds 7 and 8 of the same recipe;
this seed's slides were looked at once the slide test was written, so for slides it is no
held-out set: seeds 11 and 12 are. Each tool a whole process per file, scored as above.

"""


def shot_spans(labels: dict[str, object], least: int) -> list[tuple[int, int]]:
    """Stretches of at least ``least`` frames inside the labelled shots, ``MARGIN`` frames clear
    of every boundary and uncertain span."""
    spans, free = [], 0
    for a, b in labelled_boundaries(labels):
        if a - MARGIN - free >= least:
            spans.append((free, a - 1 - MARGIN))
        free = max(free, b + 1 + MARGIN)
    if int(labels["frames"]) - free >= least:  # type: ignore[call-overload]
        spans.append((free, int(labels["frames"]) - 1))  # type: ignore[call-overload]
    return spans


def build_clip(
    kind: str, starts: list[int], lengths: list[int], durations: list[int], size: str, path: Path
) -> list[tuple[int, int]]:
    """The clip at ``path`` (encoded unless cached); the span of each transition in it."""
    source = shots.SHARED_MEDIA / SOURCE
    argv = ["ffmpeg", "-v", "error", "-y"]
    graph = []
    for k, (start, length) in enumerate(zip(starts, lengths, strict=True)):
        # Seeking to just before the segment, then trimming it by frame number (exact).
        ahead = min(start, 2 * FPS)
        argv += ["-ss", f"{(start - ahead) / FPS:.3f}", "-i", str(source)]
        graph.append(
            f"[{k}:v]trim=start_frame={ahead}:end_frame={ahead + length},setpts=PTS-STARTPTS,"
            f"scale={size}:flags=bicubic,setsar=1,format=yuv420p[s{k}]"
        )
    spans, previous, total = [], "s0", lengths[0]
    for k, duration in enumerate(durations, start=1):
        offset = total - duration
        spans.append((offset + 1, offset + duration - 1))  # the frames at both ends are whole
        graph.append(
            f"[{previous}][s{k}]xfade=transition={kind}:duration={duration / FPS:.4f}:"
            f"offset={offset / FPS:.4f}[x{k}]"
        )
        previous, total = f"x{k}", total + lengths[k] - duration
    if not path.exists():
        encode = ["-map", f"[{previous}]", "-c:v", "libx264", "-crf", "20", "-r", str(FPS)]
        subprocess.run([*argv, "-filter_complex", ";".join(graph), *encode, str(path)], check=True)
    return spans


def _draw(
    rng: np.random.Generator,
    spans: list[tuple[int, int]],
    segment_frames: tuple[int, int],
    transition_frames: tuple[int, int],
) -> tuple[list[int], list[int], list[int], str]:
    """A clip's segments (first frames in the source, lengths), transitions and size."""
    starts, lengths = [], []
    for k in rng.choice(len(spans), SEGMENTS, replace=False):
        first, last = spans[int(k)]
        length = int(rng.integers(segment_frames[0], min(segment_frames[1], last - first + 1) + 1))
        starts.append(int(rng.integers(first, last - length + 2)))
        lengths.append(length)
    durations: list[int] = []
    for k in range(SEGMENTS - 1):
        # Segment k + 1 begins with this transition and ends with the next: some steady frames
        # are left between them.
        room = min(lengths[k] - (durations[-1] if durations else 0), lengths[k + 1]) - STEADY
        durations.append(min(int(rng.integers(*transition_frames, endpoint=True)), room))
    return starts, lengths, durations, SIZES[int(rng.integers(len(SIZES)))]


def build(seed: int, long: bool = False) -> list[shots.Item]:
    """One clip per transition kind, with its labels file beside it (``long``: 1-2 s each)."""
    cache = shots.CACHE / (f"transitions-long-{seed}" if long else f"transitions-{seed}")
    cache.mkdir(parents=True, exist_ok=True)
    labels = json.loads((shots.SHARED_MEDIA / "labels" / f"{SOURCE}.json").read_text())
    segment_frames, transition_frames = (
        (LONG_SEGMENT_FRAMES, LONG_TRANSITION_FRAMES)
        if long
        else (SEGMENT_FRAMES, TRANSITION_FRAMES)
    )
    spans = shot_spans(labels, segment_frames[0])
    rng = np.random.default_rng(seed)
    items = []
    for group, kinds in GROUPS.items():
        for kind in kinds:
            starts, lengths, durations, size = _draw(rng, spans, segment_frames, transition_frames)
            video = cache / f"{kind}.mp4"
            joins = build_clip(kind, starts, lengths, durations, size, video)
            frames = sum(lengths) - sum(durations)
            label_file = cache / f"{kind}.json"
            label_file.write_text(
                json.dumps(
                    {
                        "frames": frames,
                        "cuts": [],
                        "gradual": [list(s) for s in joins],
                        "uncertain": [],
                        "boundaries": [{"frames": list(s), "kind": group} for s in joins],
                    }
                )
            )
            items.append(shots.labelled_item(video, label_file))
    return items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--long", action="store_true", help="transitions of 1-2 s (26-50 frames) instead"
    )
    parser.add_argument("--verbose", action="store_true", help="list misses and false detections")
    parser.add_argument("--out", type=Path, help="also write the tables into this Markdown file")
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None or not shots.SHARED_MEDIA.is_dir():
        print("needs the ffmpeg binary and the clips in ../shared/media", file=sys.stderr)
        return 1
    items = build(args.seed, args.long)
    length = "1-2 s" if args.long else "0.24-1 s"
    name = f"editors' transitions of {length} (seed {args.seed})"
    tallies = shots.evaluate(name, items, shots.DETECTORS, args.verbose)
    lines = [
        f"Machine: {shots.machine()}",
        f"Tools: {shots.versions()}",
        "",
        "Data: "
        + shots.describe(name, items)
        + "; the kinds: "
        + "; ".join(f"{group}: {', '.join(kinds)}" for group, kinds in GROUPS.items())
        + ".",
        "",
        *shots.main_table({name: tallies}),
        "",
        *shots.category_table(f"editors' transitions of {length}", items, tallies),
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        block = "transitions-long" if args.long else "transitions"
        update_block(args.out, block, text, heading=HEADING)
    return 0


if __name__ == "__main__":
    sys.exit(main())
