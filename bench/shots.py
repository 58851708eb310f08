"""Shot detection benchmark: ours beside PySceneDetect and plain decoding, in one run.

Data: (a) a synthetic 720p set generated here with exact ground truth (camera motion, hard cuts,
dissolves of 8-30 frames, fades through black, wipes; flashes, fast motion and captions as
distractors), cached in bench/.cache; (b) the labelled clips in ../shared/media.
Scoring (the reviewers' rule): a detection matches a cut within +-2 frames, a gradual transition
anywhere in its span +-2; one detection per true boundary; detections in "uncertain" spans ignored.

Also: frames per second on the 720p files (same threads for everyone), peak RSS for a 1-minute and
a 10-minute video, defective covers on clips with planted black/blurred/mid-dissolve frames, and
GIF cover sizes.

Usage: python bench/shots.py [--quick] [--out docs/BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from report import update_block
from videorecog.analysis.scoring import Labels, Score, score
from videorecog.analysis.tasks import detect_shots, make_covers
from videorecog.samples import Plan, Shot, Transition, Truth, render

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
SHARED_MEDIA = ROOT.parent / "shared" / "media"
W, H, FPS = 1280, 720, 25


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


def cover_plans() -> list[Plan]:
    """Planted bad frames: black shots, blurred shots, long dissolves."""
    plans = []
    for k in range(3):
        shots = (
            Shot(50, "still", 900 + k, black=True),
            Shot(80, "pan", 910 + k, blurred=True),
            Shot(60, "pan", 920 + k),
            Shot(70, "still", 930 + k, blurred=True),
            Shot(60, "zoom", 940 + k),
            Shot(40, "still", 950 + k, black=True),
        )
        transitions = (
            Transition("cut"),
            Transition("dissolve", 20),
            Transition("dissolve", 30),
            Transition("cut"),
            Transition("fade", 16),
        )
        plans.append(Plan(shots, transitions, width=W, height=H, fps=FPS))
    return plans


@dataclass
class Item:
    path: Path
    labels: Labels
    bad: list[tuple[int, int]]
    frames: int


def _labels_of(truth: Truth) -> Labels:
    return Labels(tuple(truth.cuts), tuple(truth.gradual))


def build(plans: list[Plan], name: str) -> list[Item]:
    CACHE.mkdir(parents=True, exist_ok=True)
    items = []
    for i, plan in enumerate(plans):
        path = CACHE / f"{name}-{i}.mp4"
        meta = path.with_suffix(".json")
        if path.exists() and meta.exists():
            data = json.loads(meta.read_text())
            truth = Truth(
                data["frames"],
                data["cuts"],
                [tuple(g) for g in data["gradual"]],
                [tuple(b) for b in data["bad"]],
            )
        else:
            truth = render(plan, path)
            meta.write_text(json.dumps(truth.__dict__))
        items.append(Item(path, _labels_of(truth), list(truth.bad), truth.frames))
    return items


def shared_items() -> list[Item]:
    items = []
    for label in sorted((SHARED_MEDIA / "labels").glob("*.json")):
        data = json.loads(label.read_text())
        items.append(
            Item(
                SHARED_MEDIA / data["video"],
                Labels(
                    tuple(data["cuts"]),
                    tuple(tuple(g) for g in data["gradual"]),
                    tuple(tuple(u["frames"]) for u in data["uncertain"]),
                ),
                [],
                data["frames"],
            )
        )
    return items


# --- the methods ---

Detector = Callable[[Path], list[int]]


def ours(path: Path) -> list[int]:
    return detect_shots(str(path)).shot_frame_ids


def _pyscenedetect(detector_factory: Callable[[], object]) -> Detector:
    def run(path: Path) -> list[int]:
        from scenedetect import SceneManager, open_video

        video = open_video(str(path))  # its default (and fastest) backend, OpenCV
        manager = SceneManager()
        manager.add_detector(detector_factory())
        manager.detect_scenes(video, show_progress=False)
        return [0] + [start.frame_num for start, _ in manager.get_scene_list()[1:]]

    return run


def content_detector() -> Detector:
    from scenedetect import ContentDetector

    return _pyscenedetect(ContentDetector)


def adaptive_detector() -> Detector:
    from scenedetect import AdaptiveDetector

    return _pyscenedetect(AdaptiveDetector)


def decode_only(path: Path) -> list[int]:
    """Every frame decoded, nothing else: the floor for any method that looks at every frame."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in container.decode(stream):
            pass
    return []


SPEED_ROUNDS = 3


def speed_rounds(methods: dict[str, Detector], items: list[Item]) -> dict[str, float]:
    """Median wall seconds per method over ``items``. The methods take turns, round after round,
    so that a slow moment of the (shared) machine falls on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(SPEED_ROUNDS):
        for name, method in methods.items():
            times[name].append(run_method(method, items)[1])
    return {name: statistics.median(t) for name, t in times.items()}


def run_method(method: Detector, items: list[Item]) -> tuple[Score, float, int]:
    total = Score(0, 0, 0)
    seconds = 0.0
    frames = 0
    for item in items:
        started = time.perf_counter()
        found = method(item.path)
        seconds += time.perf_counter() - started
        frames += item.frames
        total = total + score(found, item.labels)
    return total, seconds, frames


# --- memory, covers, gifs ---


def peak_rss_mb(path: Path) -> float:
    """Peak RSS of a fresh process running detect_shots on ``path``.

    Read from /proc (VmHWM): Linux carries ru_maxrss across exec, so getrusage in the child
    would report this benchmark's own peak.
    """
    code = (
        "import sys;from videorecog.analysis.tasks import detect_shots;"
        "detect_shots(sys.argv[1]);"
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip()) / 1024


def long_video(minutes: int) -> Path:
    path = CACHE / f"long-{minutes}min.mp4"
    if not path.exists():
        shots = []
        remaining = minutes * 60 * FPS
        k = 0
        while remaining > 0:
            n = min(remaining, 100 + (k * 37) % 150)
            shots.append(Shot(n, ["pan", "still", "zoom", "fast"][k % 4], 5000 + k))
            remaining -= n
            k += 1
        render(
            Plan(
                tuple(shots),
                tuple(Transition("cut") for _ in shots[1:]),
                width=640,
                height=360,
                fps=FPS,
            ),
            path,
        )
    return path


def cover_defects(items: list[Item]) -> tuple[int, int, list[int]]:
    """(defective covers, covers, GIF sizes in bytes) over the planted-bad-frame clips."""
    from PIL import Image

    from videorecog.analysis import decode

    defects = covers = 0
    gif_sizes: list[int] = []
    for item in items:
        with tempfile.TemporaryDirectory() as tmp:
            result = make_covers(str(item.path), tmp, "c", is_gif=False)
            container = decode.open_video(str(item.path))
            stream, _ = decode.probe(container)
            frames = [
                f.image.astype(np.float32)
                for f in decode.iter_frames(container, stream, width=64, height=36)
            ]
            container.close()
            for cover in result.covers:
                with Image.open(Path(tmp) / cover.file) as im:
                    small = np.asarray(im.convert("RGB").resize((64, 36)), dtype=np.float32)
                errors = [float(np.abs(f - small).mean()) for f in frames]
                best = min(errors)
                matches = [i for i, e in enumerate(errors) if e <= best + 0.5]
                covers += 1
                if all(any(lo <= m <= hi for lo, hi in item.bad) for m in matches):
                    defects += 1
            gifs = make_covers(str(item.path), tmp, "g", is_gif=True)
            gif_sizes += [(Path(tmp) / g.file).stat().st_size for g in gifs.covers]
    return defects, covers, gif_sizes


def survey_work(items: list[Item]) -> tuple[int, int, int]:
    """(frames, frames the survey blended instead of decoding, seeks back) over ``items``."""
    import functools

    from videorecog.analysis import decode
    from videorecog.analysis.shots import DetectorParams, may_hide_cut
    from videorecog.analysis.survey import Survey, SurveyUnavailable

    frames = blended = seeks = 0
    for item in items:
        frames += item.frames
        container = decode.open_video(str(item.path))
        try:
            stream, _ = decode.probe(container)
            survey = Survey(
                container,
                stream,
                width=64,
                height=36,
                must_decode=functools.partial(may_hide_cut, params=DetectorParams()),
            )
            for _ in survey:
                pass
            blended, seeks = blended + survey.blended, seeks + survey.seeks
        except SurveyUnavailable:
            pass  # decoded in full (another codec)
        finally:
            container.close()
    return frames, blended, seeks


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the tables into this Markdown file")
    parser.add_argument("--quick", action="store_true", help="skip the 10-minute memory run")
    args = parser.parse_args()

    print("generating the synthetic set (cached in bench/.cache) ...", file=sys.stderr)
    cuts = build(cut_plans(1), "cuts")
    gradual = build(gradual_plans(2), "gradual")
    planted = build(cover_plans(), "covers")
    real = shared_items() if SHARED_MEDIA.is_dir() else []

    methods: dict[str, Callable[[], Detector]] = {
        "videorecog": lambda: ours,
        "PySceneDetect ContentDetector": content_detector,
        "PySceneDetect AdaptiveDetector": adaptive_detector,
    }
    # Held out: generated from seeds the detector's parameters were never tuned on.
    held_cuts = build(cut_plans(11), "heldcuts")
    held_gradual = build(gradual_plans(12), "heldgradual")
    sets = {
        "synthetic hard cuts": cuts,
        "synthetic gradual": gradual,
        "held-out hard cuts": held_cuts,
        "held-out gradual": held_gradual,
        "labelled clips (shared/media)": real,
    }
    rows = []
    for set_name, items in sets.items():
        if not items:
            continue
        for name, factory in methods.items():
            result, seconds, frames = run_method(factory(), items)
            rows.append((set_name, name, result, frames / seconds))
    speed_frames = sum(i.frames for i in cuts + gradual)
    speed = speed_rounds(
        {"decode": decode_only} | {k: f() for k, f in methods.items()}, cuts + gradual
    )
    decode_seconds = speed.pop("decode")

    lines = [
        f"Machine: {machine()}",
        "",
        "| data | method | precision | recall | F1 | frames/s |",
        "|---|---|---|---|---|---|",
    ]
    for set_name, name, result, fps in rows:
        lines.append(
            f"| {set_name} | {name} | {result.precision:.3f} | {result.recall:.3f} | "
            f"{result.f1:.3f} | {fps:.0f} |"
        )
    lines += [
        "",
        f"Speed on the 720p synthetic files ({speed_frames} frames, same threads; median of "
        f"{SPEED_ROUNDS} interleaved rounds):",
        "",
        "| method | frames/s | vs decode-only |",
        "|---|---|---|",
        f"| decode only (PyAV, no analysis) | {speed_frames / decode_seconds:.0f} | 1.00 |",
    ]
    for name, seconds in speed.items():
        lines.append(f"| {name} | {speed_frames / seconds:.0f} | {decode_seconds / seconds:.2f} |")
    content = speed["PySceneDetect ContentDetector"] / speed["videorecog"]
    lines += ["", f"videorecog is {content:.2f}x as fast as PySceneDetect's ContentDetector."]
    surveyed = {"the 720p synthetic files": cuts + gradual, "the labelled clips": real}
    for label, group in surveyed.items():
        if group:
            frames, blended, seeks = survey_work(group)
            lines.append(
                f"On {label} the survey decoded {1 - blended / frames:.0%} of the frames "
                f"and sought back {seeks} times."
            )

    minutes = [1] if args.quick else [1, 10]
    lines += [
        "",
        "Peak RSS of shot detection (640x360, one process each):",
        "",
        "| video | frames | peak RSS |",
        "|---|---|---|",
    ]
    for m in minutes:
        path = long_video(m)
        lines.append(f"| {m} min | {m * 60 * FPS} | {peak_rss_mb(path):.0f} MB |")

    defects, covers, gifs = cover_defects(planted)
    lines += [
        "",
        f"Covers on {len(planted)} clips with planted black, blurred and mid-dissolve "
        f"frames: {defects} defective of {covers}.",
        f"GIF covers of these busy synthetic clips (~3 s, 10 fps, <= 480 px, narrower to fit "
        f"512 KB): {len(gifs)} files, "
        f"{min(gifs) / 1024:.0f}-{max(gifs) / 1024:.0f} KB, "
        f"median {sorted(gifs)[len(gifs) // 2] / 1024:.0f} KB.",
    ]

    table = "\n".join(lines)
    print(table)
    if args.out:
        update_block(args.out, "shots", table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
