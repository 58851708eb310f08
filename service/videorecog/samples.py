"""Synthetic videos with exact ground truth, for tests, benchmarks and the demo; and real clips
shown at a higher frame rate by repeating their pictures, as a frame-rate conversion does, with
their labels carried over (``repeated_to_rate``, ``labels_at``), or graded as night scenes
(``night_graded``).

Each shot is a procedurally generated scene (smooth colour fields, textured shapes, its own palette)
seen through a moving camera; shots are joined by cuts, dissolves, fades through black or wipes;
distractors (flashes, fast motion, changing captions) and planted bad frames (black, blurred) can be
added. The result is H.264 in MP4, encoded with PyAV, and the truth is known to the frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter

from videorecog.analysis.scoring import Labels

Rgb = npt.NDArray[np.uint8]
NIGHT_POWER = 2.6  # ``night_grade``
_NIGHT_CURVE = (255 * (np.arange(256) / 255) ** NIGHT_POWER).round().astype(np.uint8)
Motion = Literal["still", "pan", "zoom", "fast"]
TransitionKind = Literal["cut", "dissolve", "fade", "wipe"]


@dataclass(frozen=True)
class Shot:
    frames: int
    motion: Motion = "pan"
    seed: int = 0
    captions: bool = False  # on-screen text that changes every second (not a boundary)
    blurred: bool = False  # a planted bad shot for cover tests
    black: bool = False  # an all-black shot


@dataclass(frozen=True)
class Transition:
    kind: TransitionKind = "cut"
    frames: int = 0  # blended frames (0 for a cut)


@dataclass(frozen=True)
class Plan:
    shots: tuple[Shot, ...]
    transitions: tuple[Transition, ...]  # one between each pair of shots
    flashes: tuple[int, ...] = ()  # frame numbers that flash white (not a boundary)
    width: int = 320
    height: int = 180
    fps: int = 25
    # Display timestamps jitter like a phone's variable frame rate (numbers stay positions).
    variable_frame_rate: bool = False
    rotation: int = 0  # display rotation written into the file (a phone held upright: 90)
    # False: the encoder keeps its fixed picture groups (as many streaming encodes do) instead
    # of starting one at each cut, which then falls among B-frames.
    keyframes_at_cuts: bool = True


@dataclass
class Truth:
    frames: int = 0
    cuts: list[int] = field(default_factory=list)  # first frame of the new shot
    gradual: list[tuple[int, int]] = field(default_factory=list)  # first and last blended frame
    bad: list[tuple[int, int]] = field(default_factory=list)  # frames no cover may come from

    @property
    def shot_frame_ids(self) -> list[int]:
        """What DetectVideoShot should answer: 0, cuts, and gradual midpoints."""
        mids = [(a + b + 1) // 2 for a, b in self.gradual]
        return sorted({0, *self.cuts, *mids})


class _Scene:
    """A canvas larger than the frame, and a camera path across it."""

    def __init__(self, shot: Shot, width: int, height: int) -> None:
        rng = np.random.default_rng(shot.seed)
        self.shot = shot
        self.width, self.height = width, height
        cw, ch = width * 2, height * 2
        base = rng.random((6, 8, 3)) * 0.7 + rng.random(3) * 0.3
        field_img = Image.fromarray((base * 255).astype(np.uint8)).resize(
            (cw, ch), Image.Resampling.BICUBIC
        )
        draw = ImageDraw.Draw(field_img)
        for _ in range(int(rng.integers(12, 24))):
            x, y = int(rng.integers(0, cw)), int(rng.integers(0, ch))
            r = int(rng.integers(ch // 20, ch // 5))
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            if rng.random() < 0.5:
                draw.ellipse((x - r, y - r, x + r, y + r), fill=colour, outline=(0, 0, 0), width=2)
            else:
                draw.rectangle(
                    (x - r, y - r // 2, x + r, y + r // 2),
                    fill=colour,
                    outline=(255, 255, 255),
                    width=2,
                )
        texture = rng.normal(0, 10, (ch, cw, 1))
        canvas = np.asarray(field_img, dtype=np.float32) + texture
        self.canvas = np.clip(canvas, 0, 255).astype(np.uint8)
        self.speed = {"still": 0.0, "pan": 1.5, "zoom": 0.0, "fast": 14.0}[shot.motion]
        angle = rng.uniform(0, 2 * math.pi)
        self.direction = (math.cos(angle), math.sin(angle))
        self.caption_seed = shot.seed

    def frame(self, k: int, fps: int) -> Rgb:
        if self.shot.black:
            return np.zeros((self.height, self.width, 3), np.uint8)
        ch, cw = self.canvas.shape[:2]
        if self.shot.motion == "zoom":
            scale = 1.0 + 0.6 * (k / max(1, self.shot.frames))
            w, h = int(cw / 2 * 2 / scale), int(ch / 2 * 2 / scale)
            x0, y0 = (cw - w) // 2, (ch - h) // 2
            crop = Image.fromarray(self.canvas[y0 : y0 + h, x0 : x0 + w])
            image = np.asarray(crop.resize((self.width, self.height), Image.Resampling.BILINEAR))
        else:
            span_x, span_y = cw - self.width, ch - self.height
            # Bounce within the canvas so a long or fast shot never runs off it.
            x = _bounce(span_x / 2 + self.direction[0] * self.speed * k, span_x)
            y = _bounce(span_y / 2 + self.direction[1] * self.speed * k, span_y)
            image = self.canvas[y : y + self.height, x : x + self.width]
        if self.shot.captions:
            pil = Image.fromarray(np.ascontiguousarray(image))
            text = f"caption {self.caption_seed}-{k // fps:03d}"
            ImageDraw.Draw(pil).text((8, self.height - 20), text, fill=(255, 255, 255))
            image = np.asarray(pil)
        if self.shot.blurred:
            pil = Image.fromarray(np.ascontiguousarray(image))
            image = np.asarray(pil.filter(ImageFilter.GaussianBlur(radius=self.width / 40)))
        return np.ascontiguousarray(image)


def _bounce(position: float, span: int) -> int:
    if span <= 0:
        return 0
    period = 2 * span
    p = position % period
    return int(p if p <= span else period - p)


def _blend(a: Rgb, b: Rgb, alpha: float) -> Rgb:
    alpha = min(1.0, max(0.0, alpha))
    mixed = a.astype(np.float32) * (1 - alpha) + b.astype(np.float32) * alpha
    return np.clip(mixed, 0, 255).astype(np.uint8)


def _wipe(a: Rgb, b: Rgb, alpha: float) -> Rgb:
    edge = round(alpha * a.shape[1])
    out = a.copy()
    out[:, :edge] = b[:, :edge]
    return out


def _encoder_options(plan: Plan, crf: int) -> dict[str, object]:
    options: dict[str, object] = {"crf": str(crf), "preset": "veryfast"}
    if not plan.keyframes_at_cuts:
        options["x264-params"] = "scenecut=0"
    return options


def render(plan: Plan, path: Path, *, crf: int = 20) -> Truth:
    """Encode ``plan`` to ``path`` (H.264 / MP4) and return its ground truth."""
    if len(plan.transitions) != len(plan.shots) - 1:
        raise ValueError("a plan needs one transition between each pair of shots")
    scenes = [_Scene(s, plan.width, plan.height) for s in plan.shots]
    truth = Truth()
    container = av.open(str(path), mode="w")
    try:
        stream = container.add_stream("libx264", rate=plan.fps)
        stream.width, stream.height, stream.pix_fmt = plan.width, plan.height, "yuv420p"
        stream.options = _encoder_options(plan, crf)
        if plan.rotation:
            stream.set_display_rotation(plan.rotation)
        time_base = Fraction(1, plan.fps * 100)
        stream.codec_context.time_base = time_base
        rng = np.random.default_rng(7)
        number = 0
        pts = 0

        def emit(image: Rgb) -> None:
            nonlocal number, pts
            if number in plan.flashes:
                image = np.clip(image.astype(np.int16) + 170, 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = pts
            frame.time_base = time_base
            step = 100
            if plan.variable_frame_rate:
                step = int(rng.choice([50, 100, 100, 150, 200]))
            pts += step
            for packet in stream.encode(frame):
                container.mux(packet)
            number += 1

        for i, scene in enumerate(scenes):
            shot = plan.shots[i]
            start = number
            incoming = plan.transitions[i - 1] if i else None
            skip = incoming.frames if incoming and incoming.kind != "cut" else 0
            for k in range(skip, shot.frames):
                outgoing = plan.transitions[i] if i < len(scenes) - 1 else None
                tail = outgoing.frames if outgoing and outgoing.kind != "cut" else 0
                if outgoing and tail and k == shot.frames - tail:
                    _transition(plan, scenes, i, outgoing, k, emit, truth, number)
                    break
                emit(scene.frame(k, plan.fps))
            if incoming and incoming.kind == "cut":
                truth.cuts.append(start)
            if shot.black or shot.blurred:
                truth.bad.append((start, number - 1))
        for packet in stream.encode(None):
            container.mux(packet)
    finally:
        container.close()
    truth.frames = number
    return truth


def _transition(
    plan: Plan,
    scenes: list[_Scene],
    i: int,
    t: Transition,
    k: int,
    emit: Callable[[Rgb], None],
    truth: Truth,
    first: int,
) -> None:
    a, b = scenes[i], scenes[i + 1]
    n = t.frames
    for j in range(n):
        alpha = (j + 1) / (n + 1)
        fa, fb = a.frame(k + j, plan.fps), b.frame(j, plan.fps)
        if t.kind == "dissolve":
            image = _blend(fa, fb, alpha)
        elif t.kind == "wipe":
            image = _wipe(fa, fb, alpha)
        else:  # fade through black: out over the first half, in over the second
            black = np.zeros_like(fa)
            half = n / 2
            image = (
                _blend(fa, black, (j + 1) / half)
                if j < half
                else _blend(black, fb, (j + 1 - half) / half)
            )
        emit(image)
    truth.gradual.append((first, first + n - 1))
    truth.bad.append((first, first + n - 1))


def repeated_to_rate(
    source: Path,
    out: Path,
    fps: Fraction | int | None = None,
    size: tuple[int, int] | None = None,
    count: int | None = None,
    picture: tuple[int, int, int, int] | None = None,
    fill: Literal["black", "blur"] = "black",
    grade: Callable[[Rgb], Rgb] | None = None,
    full_range: bool = False,
) -> list[int]:
    """Write the first ``count`` pictures of ``source`` (all by default), scaled to ``size``
    (by default the source's), at ``fps`` frames a second into ``out``: picture k from frame
    ``ceil(k * fps / rate)`` on (at the source's own rate, the default, each picture once: the
    clip rescaled). ``picture``: (left, top, width, height) of the frame the pictures are
    scaled into instead, with ``fill`` around them: black bars (a letterbox or pillarbox), or
    the same picture filling the frame, blurred (as phone videos are shown in a wide frame).
    ``grade``: applied to each frame as written; ``full_range``: black at 0, not 16. The first
    frame of each picture, and after the last one the frame count."""
    with av.open(str(source)) as src, av.open(str(out), mode="w") as dst:
        video = src.streams.video[0]
        rate = Fraction(video.average_rate or 25)
        fps = fps or rate
        size = size or (video.codec_context.width, video.codec_context.height)
        left, top, width, height = picture or (0, 0, *size)
        stream = dst.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuvj420p" if full_range else "yuv420p"
        stream.options = {"crf": "20", "preset": "veryfast"}
        firsts = [0]
        for k, frame in enumerate(src.decode(video=0)):
            if count is not None and k >= count:
                break
            if fill == "blur":
                whole = frame.to_ndarray(width=size[0], height=size[1], format="rgb24")
                image = _blurred(np.asarray(whole, dtype=np.uint8))
            else:
                image = np.zeros((size[1], size[0], 3), dtype=np.uint8)
            image[top : top + height, left : left + width] = frame.to_ndarray(
                width=width, height=height, format="rgb24"
            )
            if grade is not None:
                image = grade(image)
            firsts.append(math.ceil((k + 1) * fps / rate))
            for _ in range(firsts[-1] - firsts[-2]):
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    dst.mux(packet)
        for packet in stream.encode(None):
            dst.mux(packet)
    return firsts


def night_grade(image: Rgb) -> Rgb:
    """An RGB picture graded as a night scene: each level raised to the power ``NIGHT_POWER``."""
    return _NIGHT_CURVE[image]


def night_graded(source: Path, out: Path, size: tuple[int, int] | None = None) -> None:
    """Every frame of ``source`` (scaled to ``size``, by default its own) graded as a night scene
    (``night_grade``: mid-grey falls to a sixth of white while the highlights stay) into ``out``,
    in full range (black at 0, as phones record), each picture once: frame numbers, and so
    labels, are unchanged."""
    repeated_to_rate(source, out, size=size, grade=night_grade, full_range=True)


def _blurred(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """A Gaussian blur of a 32nd of the width: the background phone apps and editors put
    behind a picture that does not fill the frame."""
    blurred = Image.fromarray(image).filter(ImageFilter.GaussianBlur(image.shape[1] / 32))
    return np.asarray(blurred, dtype=np.uint8).copy()


def labels_at(labels: Labels, firsts: list[int]) -> Labels:
    """``labels`` of a clip's pictures as frames of it retimed (``firsts``, as
    ``repeated_to_rate`` gives them): a cut at its picture's first frame, a span from its first
    picture's first frame to its last picture's last; those of the pictures written only."""
    written = len(firsts) - 1

    def spans(pairs: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        return tuple((firsts[a], firsts[b + 1] - 1) for a, b in pairs if b < written)

    cuts = tuple(firsts[c] for c in labels.cuts if c < written)
    return Labels(cuts, spans(labels.gradual), spans(labels.uncertain))
