"""Animated GIF covers: the best 2-4 s inside one shot, <= 480 px wide, ~10 fps, looping.

One palette for the whole clip (median cut over a mosaic of its frames), stabilised still areas
and a transparent "unchanged" index: colours stay steady from frame to frame and a 3 s preview
of 480 px is typically 80-200 KB.
"""

from __future__ import annotations

import io
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
from av.video.reformatter import VideoReformatter
from PIL import Image as PILImage

from videorecog.analysis import decode
from videorecog.analysis.covers import Image, crop

GIF_MAX_WIDTH = 480
GIF_MIN_WIDTH = 240
GIF_SIZE_BUDGET = 512 * 1024  # bytes: a preview, not a copy of the video
GIF_FPS = 10
GIF_SECONDS = (2.0, 3.0, 4.0)  # shortest, preferred, longest
EDGE_MARGIN_SECONDS = 0.3  # stay this far inside the shot
STILL_THRESHOLD = 10  # per-channel change (0..255) below which a pixel counts as unchanged
TRANSPARENT = 255  # palette index of "same as the previous frame"


def segment(centre: float, shot_start: float, shot_end: float) -> tuple[float, float]:
    """A window of the preferred length around ``centre``, inside the shot's margins."""
    lo, hi = shot_start + EDGE_MARGIN_SECONDS, shot_end - EDGE_MARGIN_SECONDS
    if hi - lo <= GIF_SECONDS[0]:
        lo, hi = shot_start, shot_end  # a short shot: take all of it
    length = min(GIF_SECONDS[1], max(hi - lo, 0.1))
    start = min(max(lo, centre - length / 2), hi - length)
    return max(start, lo), max(start, lo) + length


def read_segment(
    path: str, start: float, end: float, box: tuple[float, float, float, float]
) -> list[Image]:
    container = decode.open_video(path)
    try:
        stream, info = decode.probe(container)
        stream.thread_type = "AUTO"
        keep_w = 1.0 - box[2] - box[3]
        width, height = decode.scaled_size(
            info.width, info.height, min(info.width, math.ceil(GIF_MAX_WIDTH / max(keep_w, 0.3)))
        )
        time_base = stream.time_base or Fraction(1, 1)
        container.seek(max(0, int(start / float(time_base))), stream=stream, backward=True)
        frames: list[Image] = []
        next_time = start
        scaler = VideoReformatter()
        for frame in decode.decoded_from(container, stream, start):
            t = decode.seconds(frame.pts or 0, time_base)
            if t >= end:
                break
            if t + 1e-3 >= next_time:
                rgb = decode.to_image(frame, width, height, "rgb24", scaler)
                frames.append(crop(decode.rotate_upright(rgb, decode.display_rotation(frame)), box))
                next_time += 1.0 / GIF_FPS
    finally:
        container.close()
    return frames


def stabilise(frames: list[Image], threshold: int = STILL_THRESHOLD) -> list[Image]:
    """Carry over pixels that changed by less than ``threshold`` (any channel) since the previous
    output frame: compression noise on still areas becomes exact repetition, which GIF stores
    almost for free."""
    out = [frames[0]]
    for frame in frames[1:]:
        previous = out[-1]
        moved = np.abs(frame.astype(np.int16) - previous.astype(np.int16)).max(axis=2)
        out.append(np.where((moved < threshold)[..., None], previous, frame))
    return out


def write_gif(frames: list[Image], out: Path) -> int:
    """Encode ``frames`` as a looping GIF within ``GIF_SIZE_BUDGET``; returns its size.

    Width starts at ``GIF_MAX_WIDTH`` and steps down until the file fits (busy, textured motion
    changes every pixel every frame and defeats the transparency trick).
    """
    images = [PILImage.fromarray(f) for f in stabilise(frames)]
    width = min(GIF_MAX_WIDTH, images[0].width)
    data = b""
    while True:
        height = round(images[0].height * width / images[0].width)
        scaled = (
            images
            if width == images[0].width
            else [im.resize((width, height), PILImage.Resampling.LANCZOS) for im in images]
        )
        data = _encode(scaled)
        if len(data) <= GIF_SIZE_BUDGET or width <= GIF_MIN_WIDTH:
            break
        width = max(GIF_MIN_WIDTH, int(width * 0.8))
    out.write_bytes(data)
    return len(data)


def _encode(images: list[PILImage.Image]) -> bytes:
    """One median-cut palette of 255 colours for all frames; index 255 is transparent and marks
    pixels unchanged since the previous frame (disposal 1 keeps that frame underneath)."""
    tiles = images[:: max(1, len(images) // 4)][:4]
    mosaic = PILImage.new("RGB", (images[0].width, images[0].height * len(tiles)))
    for i, tile in enumerate(tiles):
        mosaic.paste(tile, (0, i * images[0].height))
    palette = mosaic.quantize(colors=TRANSPARENT, method=PILImage.Quantize.MEDIANCUT)
    # No error diffusion: its noise would differ frame to frame and defeat the transparency.
    indices = [
        np.asarray(im.quantize(palette=palette, dither=PILImage.Dither.NONE)) for im in images
    ]
    encoded = []
    for k, index in enumerate(indices):
        shown = index.copy()
        if k:
            shown[index == indices[k - 1]] = TRANSPARENT
        frame = PILImage.fromarray(shown.astype(np.uint8), mode="P")
        frame.putpalette(palette.getpalette() or [])
        encoded.append(frame)
    buffer = io.BytesIO()
    encoded[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=encoded[1:],
        duration=1000 // GIF_FPS,
        loop=0,
        optimize=False,
        disposal=1,
        transparency=TRANSPARENT,
    )
    return buffer.getvalue()
