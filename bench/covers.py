"""Covers benchmark: ours beside ffmpeg's ``thumbnail`` filter and the middle frame, on real
footage with planted defects.

Data (fixed seed, cached in bench/.cache/covers/): segments decoded with PyAV from inside the
labelled shots of the real clips in ../shared/media (testvideo.mp4, goldeneye-vfr-drop3.mp4,
transnet_test.mp4), composed into 25 fps H.264 videos with the truth of every frame (the good shot
it belongs to, or the defect it is):
- "interleaved" (10 videos, 640x360): 3-5 good shots with black, over-exposed (clipped to near
  white), Gaussian-blurred (Pillow) and mid-dissolve segments between them;
- "soft only" (4 videos of ~16 s): five shots of the 160x90 clip upscaled to 640x360 or 1280x720,
  some also blurred moderately, after a short black lead-in;
- "night" (4 videos of ~16 s, 640x360): five shots of the HD clips graded as night scenes
  (``samples.night_grade``: mid-grey to a sixth of white, the highlights kept) and encoded in
  full range, black at 0, after a short black lead-in: dark throughout, not black.

Methods, each run as a whole process per file: ``videorecog cover FILE --out DIR`` (all of its
covers), ``ffmpeg -i FILE -vf thumbnail -frames:v 1`` (its first pick) and the middle frame. A
cover is mapped to the frame it shows by comparing it with every decoded frame (at 128x72; a
still shot matches many frames: the cover counts as defective only when every one of them is).

Scoring: defective covers (in a planted defect segment: black, over-exposed, blurred or inside a
dissolve), refusals (the method gave no cover), distinct good shots per video.

Usage: python bench/covers.py [--out docs/BENCHMARKS.md]
ffmpeg: Debian's ``ffmpeg`` package (``apt-get install -y ffmpeg``); without it that row is skipped.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFilter

from report import update_block
from videorecog.samples import NIGHT_POWER, night_grade

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache" / "covers"
SHARED_MEDIA = ROOT.parent / "shared" / "media"
SEED = 20261202
FPS = 25
MATCH = (128, 72)
Rgb = npt.NDArray[np.uint8]
GOOD = -1  # a frame's defect code when it is good; the defects:
DEFECTS = {"black": 0, "over-exposed": 1, "blurred": 2, "dissolve": 3}


# --- source footage: good segments from inside labelled shots ---


@dataclass(frozen=True)
class SourceShot:
    clip: str
    first: int  # frames of the source clip, inclusive, away from its boundaries
    last: int


def labelled_boundaries(label: dict[str, object]) -> list[tuple[int, int]]:
    """The cuts, gradual transitions and uncertain spans of a labels file, as sorted spans."""
    spans = [(int(c), int(c)) for c in label["cuts"]]  # type: ignore[attr-defined]
    spans += [(int(a), int(b)) for a, b in label["gradual"]]  # type: ignore[attr-defined]
    spans += [(int(u["frames"][0]), int(u["frames"][1])) for u in label["uncertain"]]  # type: ignore[attr-defined]
    return sorted(spans)


def _frame_stats(path: Path) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    means, stds = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            y = frame.reformat(width=64, height=36, format="gray").to_ndarray().astype(np.float64)
            means.append(y.mean() / 255)
            stds.append(y.std() / 255)
    return np.array(means), np.array(stds)


def source_shots(clip: str, min_frames: int) -> list[SourceShot]:
    """Shots of ``clip`` with at least ``min_frames`` frames, every one well exposed and
    detailed (no black slates, strobes or fades), 3 frames clear of any boundary."""
    label = json.loads((SHARED_MEDIA / "labels" / f"{clip}.json").read_text())
    means, stds = _frame_stats(SHARED_MEDIA / clip)
    edges = [(-1, -1), *labelled_boundaries(label), (len(means), len(means))]
    shots = []
    for (_, prev_end), (next_start, _) in itertools.pairwise(edges):
        first, last = prev_end + 3, next_start - 3
        if last - first + 1 < min_frames:
            continue
        m, s = means[first : last + 1], stds[first : last + 1]
        if m.min() > 0.12 and m.max() < 0.8 and s.min() > 0.08:
            shots.append(SourceShot(clip, first, last))
    return shots


def read_frames(clip: str, wanted: set[int], size: tuple[int, int]) -> dict[int, Rgb]:
    """Frames of ``clip`` by decode-order number, cropped to 16:9 and resized to ``size``."""
    out: dict[int, Rgb] = {}
    with av.open(str(SHARED_MEDIA / clip)) as container:
        for n, frame in enumerate(container.decode(video=0)):
            if n > max(wanted):
                break
            if n in wanted:
                im = frame.to_image()
                w, h = im.size
                if w * 9 > h * 16 + 16:  # wider than 16:9 (the film): keep the centre
                    cw = round(h * 16 / 9)
                    im = im.crop(((w - cw) // 2, 0, (w - cw) // 2 + cw, h))
                out[n] = np.asarray(im.resize(size, Image.Resampling.BICUBIC))
    return out


# --- composing the videos ---


@dataclass
class Video:
    """Frames with their truth: the good shot each belongs to (-1 if none) and its defect."""

    name: str
    size: tuple[int, int]
    frames: list[Rgb]
    shot: list[int]
    defect: list[int]
    pix_fmt: str = "yuv420p"  # yuvj420p: full range

    def add(self, images: list[Rgb], shot: int = -1, defect: int = GOOD) -> None:
        self.frames += images
        self.shot += [shot] * len(images)
        self.defect += [defect] * len(images)


def _blur(images: list[Rgb], radius: float) -> list[Rgb]:
    return [
        np.asarray(Image.fromarray(im).filter(ImageFilter.GaussianBlur(radius))) for im in images
    ]


def _over_expose(images: list[Rgb]) -> list[Rgb]:
    return [np.clip(im.astype(np.float32) * 1.6 + 140, 0, 255).astype(np.uint8) for im in images]


def interleaved(k: int, rng: np.random.Generator, pool: list[list[Rgb]]) -> Video:
    """3-5 good shots (each from a different source shot), defects between them."""
    video = Video(f"interleaved-{k}", (640, 360), [], [], [])
    count = int(rng.integers(3, 6))
    chosen = [pool[i] for i in rng.choice(len(pool), size=min(count, len(pool)), replace=False)]
    lengths = [int(rng.integers(30, 55)) for _ in chosen]
    starts = [
        int(rng.integers(0, max(1, len(f) - n))) for f, n in zip(chosen, lengths, strict=True)
    ]
    kinds = ["black", "over-exposed", "blurred", "dissolve"]
    if rng.random() < 0.5:
        video.add(
            [np.zeros((360, 640, 3), np.uint8)] * int(rng.integers(10, 25)), -1, DEFECTS["black"]
        )
    for i, frames in enumerate(chosen):
        start, length = starts[i], lengths[i]
        segment = frames[start : start + length]
        if i == len(chosen) - 1:
            video.add(segment, i)
            break
        kind = kinds[(i + k) % len(kinds)]
        n = int(rng.integers(15, 35))
        nxt, nxt_start = chosen[i + 1], starts[i + 1]
        # The next shot's footage leading into its segment (its first frame held if too short),
        # and this shot's footage after its segment (its last frame held).
        before_next = [nxt[max(0, nxt_start - n + j)] for j in range(n)]
        after = [frames[min(len(frames) - 1, start + length + j)] for j in range(n)]
        if kind == "blurred":  # the next shot out of focus, then sharp (a rack focus)
            video.add(segment, i)
            video.add(_blur(before_next, float(rng.uniform(4.0, 6.0))), -1, DEFECTS[kind])
        elif kind == "over-exposed":  # this shot's exposure blows out
            cut = len(segment) - n // 2
            video.add(segment[:cut], i)
            video.add(_over_expose(segment[cut:] + after[: n - n // 2]), -1, DEFECTS[kind])
        elif kind == "black":
            video.add(segment, i)
            dark = 0.0 if rng.random() < 0.5 else 0.05  # black, or nearly black
            video.add([(im * dark).astype(np.uint8) for im in segment[:n]], -1, DEFECTS[kind])
        else:  # a cross-dissolve: this shot's footage going on, the next one's coming in
            video.add(segment, i)
            blend = [
                (a.astype(np.float32) * (1 - w) + b.astype(np.float32) * w).astype(np.uint8)
                for a, b, w in zip(
                    after, before_next, ((j + 1) / (n + 1) for j in range(n)), strict=False
                )
            ]  # every frame strictly between the two shots
            video.add(blend, -1, DEFECTS[kind])
    return video


def soft(k: int, rng: np.random.Generator, pool: list[list[Rgb]]) -> Video:
    """~16 s of soft footage only: five shots of the 160x90 clip upscaled (some also blurred)."""
    size = (1280, 720) if k % 2 else (640, 360)
    radius = (0.0, 1.5, 0.0, 2.5)[k % 4] * size[0] / 640
    video = Video(f"soft-{k}", size, [], [], [])
    video.add([np.zeros((size[1], size[0], 3), np.uint8)] * 12, -1, DEFECTS["black"])
    for i, j in enumerate(rng.choice(len(pool), size=5, replace=False)):
        frames = pool[int(j)][:95]
        up = [np.asarray(Image.fromarray(f).resize(size, Image.Resampling.BICUBIC)) for f in frames]
        video.add(_blur(up, radius) if radius else up, i)
    return video


def night(k: int, rng: np.random.Generator, pool: list[list[Rgb]]) -> Video:
    """~16 s of night scenes: five HD shots graded dark, in full range, after a black lead-in."""
    video = Video(f"night-{k}", (640, 360), [], [], [], "yuvj420p")
    video.add([np.zeros((360, 640, 3), np.uint8)] * 12, -1, DEFECTS["black"])
    for i, j in enumerate(rng.choice(len(pool), size=5, replace=False)):
        video.add([night_grade(f) for f in pool[int(j)][:80]], i)
    return video


def encode(video: Video, path: Path) -> None:
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = *video.size, video.pix_fmt
        stream.options = {"crf": "20", "preset": "veryfast"}
        stream.codec_context.time_base = Fraction(1, FPS)
        for n, image in enumerate(video.frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = n, Fraction(1, FPS)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


@dataclass(frozen=True)
class Item:
    path: Path
    kind: str
    shot: list[int]
    defect: list[int]

    @property
    def good_shots(self) -> int:
        return len({s for s in self.shot if s >= 0})


def build() -> list[Item]:
    CACHE.mkdir(parents=True, exist_ok=True)
    names = [f"interleaved-{k}" for k in range(10)] + [
        f"{kind}-{k}" for kind in ("soft", "night") for k in range(4)
    ]
    if not all((CACHE / f"{n}.json").exists() for n in names):
        _make_all()
    items = []
    for name in names:
        data = json.loads((CACHE / f"{name}.json").read_text())
        items.append(Item(CACHE / f"{name}.mp4", data["kind"], data["shot"], data["defect"]))
    return items


def _segments(clip: str, min_frames: int, size: tuple[int, int], most: int) -> list[list[Rgb]]:
    shots = source_shots(clip, min_frames)[:most]
    wanted = {n for s in shots for n in range(s.first, s.last + 1)}
    frames = read_frames(clip, wanted, size)
    return [[frames[n] for n in range(s.first, s.last + 1)] for s in shots]


def _make_all() -> None:
    rng = np.random.default_rng(SEED)
    hd = _segments("testvideo.mp4", 60, (640, 360), 8)
    hd += _segments("goldeneye-vfr-drop3.mp4", 40, (640, 360), 8)
    low = _segments("transnet_test.mp4", 60, (160, 90), 40)
    low_up = [[np.asarray(Image.fromarray(f).resize((640, 360))) for f in s[:90]] for s in low]
    print(f"source shots: {len(hd)} HD, {len(low)} from the 160x90 clip", file=sys.stderr)
    videos = []
    for k in range(10):
        # Most from the HD clips; every third from the low-resolution clip (soft throughout).
        videos.append(interleaved(k, rng, low_up if k % 3 == 2 else hd))
    videos += [soft(k, rng, low) for k in range(4)]
    videos += [night(k, rng, hd) for k in range(4)]  # drawn last: the others stay as they were
    for video in videos:
        encode(video, CACHE / f"{video.name}.mp4")
        meta = {"kind": video.name.split("-")[0], "shot": video.shot, "defect": video.defect}
        (CACHE / f"{video.name}.json").write_text(json.dumps(meta))


# --- the methods, each one process per file ---


def ours(path: Path, out: Path) -> list[Path]:
    exe = Path(sys.executable).parent / "videorecog"
    done = subprocess.run(
        [str(exe), "cover", str(path), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        return []
    return [Path(o["ImageURL"]) for o in json.loads(done.stdout)["Outputs"]]


def thumbnail(path: Path, out: Path) -> list[Path]:
    target = out / "thumb.png"
    command = [shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-y", "-i", str(path)]
    command += ["-vf", "thumbnail"]
    subprocess.run(
        [*command, "-frames:v", "1", str(target)],
        capture_output=True,
        check=False,
    )
    return [target] if target.exists() else []


def middle(path: Path, out: Path) -> list[Path]:
    frames = _decoded(path)
    target = out / "middle.png"
    Image.fromarray(frames[len(frames) // 2].astype(np.uint8)).save(target)
    return [target]


_DECODED: dict[Path, list[npt.NDArray[np.float32]]] = {}


def _decoded(path: Path) -> list[npt.NDArray[np.float32]]:
    if path not in _DECODED:
        with av.open(str(path)) as container:
            _DECODED[path] = [
                f.reformat(width=MATCH[0], height=MATCH[1], format="rgb24")
                .to_ndarray()
                .astype(np.float32)
                for f in container.decode(video=0)
            ]
    return _DECODED[path]


def frames_shown(image: Path, video: Path) -> list[int]:
    """Every frame that matches the cover as well as the best one does (still shots repeat)."""
    frames = _decoded(video)
    width, height = MATCH
    with Image.open(image) as im:
        # Covers may have had letterbox bars cut away: compare with the middle of each frame.
        if im.width * height > im.height * width:
            size = (width, max(2, round(width * im.height / im.width)))
        else:
            size = (max(2, round(height * im.width / im.height)), height)
        cover = np.asarray(im.convert("RGB").resize(size, Image.Resampling.BILINEAR), np.float32)
    top, left = (height - size[1]) // 2, (width - size[0]) // 2
    window = (slice(top, top + size[1]), slice(left, left + size[0]))
    errors = [float(np.abs(f[window] - cover).mean()) for f in frames]
    best = min(errors)
    return [n for n, e in enumerate(errors) if e <= best + 0.5]


@dataclass
class Tally:
    covers: int = 0
    defective: int = 0
    refusals: int = 0
    seconds: float = 0.0
    files: int = 0
    distinct: list[int] = field(default_factory=list)  # distinct good shots per video
    available: list[int] = field(default_factory=list)  # good shots per video
    multi: int = 0  # videos with >= 2 good shots
    multi_ok: int = 0  # ...that got covers from >= 2 of them


def run(method: str, item: Item, tally: Tally) -> None:
    fn = {"videorecog": ours, "ffmpeg thumbnail": thumbnail, "middle frame": middle}[method]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        images = fn(item.path, Path(tmp))
        tally.seconds += time.perf_counter() - start
        tally.files += 1
        if not images:
            tally.refusals += 1
            print(f"{method}: {item.path.name} refused", file=sys.stderr)
        shots = set()
        for image in images:
            frames = frames_shown(image, item.path)
            tally.covers += 1
            if all(item.defect[n] != GOOD for n in frames):
                tally.defective += 1
                print(f"{method}: {item.path.name} frames {frames[:5]} defective", file=sys.stderr)
                continue
            good = [n for n in frames if item.defect[n] == GOOD]
            shots.add(item.shot[good[0]])
    tally.distinct.append(len(shots))
    tally.available.append(item.good_shots)
    if item.good_shots >= 2:
        tally.multi += 1
        tally.multi_ok += len(shots) >= 2


def table(results: dict[tuple[str, str], Tally]) -> str:
    rows = [
        "| videos | method | covers | defective | refusals | distinct good shots / video "
        "(of) | >=2 shots where >=2 exist | s/file |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (kind, method), t in results.items():
        mean = sum(t.distinct) / max(1, len(t.distinct))
        available = sum(t.available) / max(1, len(t.available))
        share = f"{t.multi_ok}/{t.multi}" if t.multi else "-"
        rows.append(
            f"| {kind} ({t.files}) | {method} | {t.covers} | {t.defective} | {t.refusals} "
            f"| {mean:.2f} ({available:.2f}) | {share} | {t.seconds / max(1, t.files):.2f} |"
        )
    return f"Machine: {machine()}\n\n" + "\n".join(rows)


def machine() -> str:
    cpu = platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [x for x in cpuinfo.read_text().splitlines() if x.startswith("model name")]
        cpu = " ".join(names[0].split(":", 1)[1].split()[:2]) if names else cpu
    ffmpeg, exe = "no ffmpeg", shutil.which("ffmpeg")
    if exe:
        done = subprocess.run([exe, "-version"], capture_output=True, text=True, check=False)
        ffmpeg = " ".join(done.stdout.split()[:3])
    return f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}; {ffmpeg}"


HEADING = f"""## Covers — bench/covers.py

Reproduce: `.venv/bin/python bench/covers.py --out docs/BENCHMARKS.md` (needs ffmpeg for the
reference: Debian's `ffmpeg` package, `apt-get install -y ffmpeg`).

- **Data.** Real footage from `../shared/media`: segments from inside labelled shots of
  `testvideo.mp4`, `goldeneye-vfr-drop3.mp4` and the 160x90 `transnet_test.mp4` (only shots
  well exposed in every frame), composed with a fixed seed into 25 fps H.264 videos whose every
  frame's truth is known (cached in `bench/.cache/covers/`). *Interleaved* (10 videos, 640x360):
  3-5 good shots with black or nearly black, over-exposed (clipped to near white), Gaussian-blurred
  (Pillow, radius 4-6: the next shot out of focus) and mid-dissolve segments between them; every
  third made of the 160x90 clip upscaled. *Soft only* (4 videos of ~16 s): five shots of the
  160x90 clip upscaled to 640x360 or 1280x720, two of them also blurred, after a black lead-in.
  *Night scenes* (4 videos of ~16 s, 640x360): five shots of the HD clips graded as night
  scenes (each level raised to the power {NIGHT_POWER}, `samples.night_grade`) in full range,
  black at 0, after a black lead-in: dark throughout, not black.
- **Methods**, each one process per file: `videorecog cover FILE --out DIR` (all its covers),
  ffmpeg's `thumbnail` filter (`-vf thumbnail -frames:v 1`, its first pick) and the middle frame.
  A cover is mapped to the frame it shows by comparing it with every decoded frame.
- **Scoring.** A cover is defective when the frame it shows lies in a planted defect segment; a
  refusal is a video that got no cover; distinct good shots per video (in brackets: how many the
  video has) and the videos with two or more good shots that got covers from two or more.

How the covers are chosen (`analysis/covers.py`): every 0.25 s a 320 px sample is measured
(detail: Laplacian variance over luma variance on a 2x2-averaged copy; luma mean and spread,
clipped-white share, colourfulness, a 16x9 thumbnail) and judged against the video's own
distribution, kept in fixed-bin histograms: blurred is under a third of the detail of the video's
75th-percentile well-exposed frame, under-exposed under 0.35 of its median luma, washed out under
0.3 of its median spread; over-exposed is near white or largely clipped. Only a frame with nothing
visible (black or flat) is never a candidate. In each detected shot the best frame of the best
tier wins (clean; near a transition or changing far more than the video's frames usually do;
defective), defective frames only when nothing better exists; up to five, one per shot, the same
picture twice skipped.

"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="Markdown file to write the table into")
    args = parser.parse_args()
    if not SHARED_MEDIA.is_dir():
        print(f"the labelled clips are not in {SHARED_MEDIA}", file=sys.stderr)
        return 1
    items = build()
    methods = ["videorecog", "ffmpeg thumbnail", "middle frame"]
    if shutil.which("ffmpeg") is None:
        print("ffmpeg not found (apt-get install -y ffmpeg): its row is skipped", file=sys.stderr)
        methods.remove("ffmpeg thumbnail")
    results: dict[tuple[str, str], Tally] = {}
    kinds = (
        ("interleaved", "interleaved defects"),
        ("soft", "soft only"),
        ("night", "night scenes"),
    )
    for kind, label in kinds:
        for method in methods:
            tally = results.setdefault((label, method), Tally())
            for item in (i for i in items if i.kind == kind):
                run(method, item, tally)
    text = table(results)
    print(text)
    if args.out:
        update_block(args.out, "covers", text, heading=HEADING)
    return 0


if __name__ == "__main__":
    sys.exit(main())
