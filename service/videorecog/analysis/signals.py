"""What the shot detector measures of small YUV pictures, one frame or many at once.

- ``histogram``: normalised Y/U/V histograms; their L1 distance (``hist_distance``) is ~0 for the
  same content (even moving) and approaches 1 for unrelated pictures, but is blind to a cut
  between two shots of one palette.
- pixel change: the mean absolute luma change over the pictures' own contrast (their luma
  standard deviation), so a dark or washed-out video changes as much at a cut as a crisp one.
- structure change: one minus the correlation of the two luma planes; blind to brightness and
  contrast, high when the layout of the picture changes.
Both are taken block by block on a 4 x 4 grid, and the median block counts: a cut changes the
whole picture, a caption, a logo or a person walking by only part of it. On a blank field (a
title card: blocks flat in both pictures) the median of the blocks that show something in both
counts: there the writing is the picture.
- ``blend_residual`` and ``shift_residuals``: is a picture a mix of two others (a dissolve), is a
  change one global shift (camera motion)?
- ``edge_agreement``: do two pictures have their edges in the same places, pointing the same way
  (the same shot under other light), or not (another shot)?
- ``profiles`` and ``profile_moves``: how far each picture moved from the one before, along each
  axis, from its row and column sums alone (cheap enough for every frame; ``phase_moves``, on
  the whole pictures, confirms).
"""

from __future__ import annotations

import functools
from typing import TypeVar

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
Image = npt.NDArray[np.uint8]
Pixel = TypeVar("Pixel", np.uint8, np.float32)

# Luma levels added to a picture's contrast before dividing by it: a flat field is not infinitely
# sensitive to noise.
CONTRAST_FLOOR = 2.0
# Below this luma standard deviation a picture is flat: it has no structure to correlate.
FLAT_CONTRAST = 0.5
GRID = 4  # blocks across and down, for the changes that must cover most of the picture


def histograms(yuv: Image, bins: tuple[int, int, int]) -> FloatArray:
    """Concatenated Y, U, V histograms of each planar picture (N x 3 x H x W), each normalised to
    sum 1: N x sum(bins)."""
    shifts, offsets = _bin_layout(bins)
    n = yuv.shape[0]
    total = sum(bins)
    # Every other pixel each way: a quarter of the work, the same distribution within noise.
    sampled = yuv[:, :, ::2, ::2]
    # One bincount for all pictures and planes: each plane's bin numbers moved past the previous
    # ones (still within uint8), each picture's past the previous picture's.
    codes = (sampled.reshape(n, 3, -1) >> shifts) + offsets
    index = np.uint16 if n * total < 2**16 else np.int64
    per_picture = np.arange(n, dtype=index)[:, None, None] * np.asarray(total, dtype=index)
    counts = np.bincount((codes.astype(index) + per_picture).ravel(), minlength=n * total)
    return np.asarray(counts.reshape(n, total) / sampled[0, 0].size, dtype=np.float32)


def histogram(yuv: Image, bins: tuple[int, int, int]) -> FloatArray:
    """``histograms`` of one planar picture (3 x H x W)."""
    return np.asarray(histograms(yuv[None], bins)[0], dtype=np.float32)


@functools.cache
def _bin_layout(bins: tuple[int, int, int]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    if sum(bins) > 256:
        raise ValueError(f"at most 256 histogram bins in all, not {bins}")
    shifts = np.array([[8 - int(np.log2(n))] for n in bins], dtype=np.uint8)
    offsets = np.array([[0], [bins[0]], [bins[0] + bins[1]]], dtype=np.uint8)
    return shifts, offsets


def hist_distance(a: FloatArray, b: FloatArray) -> float:
    """Mean over Y, U, V of half the L1 distance: 0 (same) .. 1 (disjoint)."""
    return float(np.abs(a - b).sum() / 6.0)


def blocks(luma: npt.NDArray[Pixel]) -> npt.NDArray[Pixel]:
    """The pictures cut into a ``GRID`` x ``GRID`` grid of blocks: N x blocks x pixels."""
    n, h, w = luma.shape
    bh, bw = h // GRID, w // GRID
    cropped = luma[:, : bh * GRID, : bw * GRID].reshape(n, GRID, bh, GRID, bw)
    return cropped.transpose(0, 1, 3, 2, 4).reshape(n, GRID * GRID, bh * bw)


def shapes(luma: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Each picture's blocks (``blocks``) less their means scaled to length 1 (zeros for a flat
    block), each block's contrast, and the picture's contrast (luma standard deviation):
    N x blocks x pixels, N x blocks and N, from N x H x W."""
    flat = luma.reshape(luma.shape[0], -1)
    contrast = flat.std(axis=1).astype(np.float32)
    parts = blocks(luma)
    centred = parts - parts.mean(axis=2, keepdims=True)
    norms = np.sqrt(np.einsum("ijk,ijk->ij", centred, centred))
    block_contrast = (norms / np.sqrt(parts.shape[2])).astype(np.float32)
    scale = np.where(block_contrast >= FLAT_CONTRAST, 1.0 / np.maximum(norms, 1e-6), 0.0)
    units = np.multiply(centred, scale[..., None], out=centred)  # float32 throughout
    return units, block_contrast, contrast


def changes(
    blocks_a: Image,
    units_a: FloatArray,
    flat_a: npt.NDArray[np.bool_],
    contrast_a: FloatArray,
    blocks_b: Image,
    units_b: FloatArray,
    flat_b: npt.NDArray[np.bool_],
    contrast_b: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Pixel and structure changes from pictures ``a`` to pictures ``b`` (row by row), each the
    median over the blocks: a caption, a logo or one person moving changes a few blocks, a cut
    nearly all of them. ``blocks``: the luma cut into blocks (``blocks``, 8-bit); ``units``: as
    ``shapes`` gives them; ``flat``: which blocks have no structure (N x blocks)."""
    # Luma levels are whole numbers: summed in integers, a block's differences are exactly what
    # floating point gives (every partial sum is under 2**24), from a quarter of the memory.
    pixels = blocks_a.shape[2]
    wide = np.uint16 if pixels * 255 < 2**16 else np.uint32
    difference = np.maximum(blocks_a, blocks_b)
    difference -= np.minimum(blocks_a, blocks_b)
    per_block = np.add.reduce(difference, axis=2, dtype=wide).astype(np.float32) / pixels
    correlation = np.einsum("ijk,ijk->ij", units_a, units_b)
    # Flat to flat: nothing changed; flat to textured (or back): all of the structure did.
    structure = np.where(flat_a | flat_b, (flat_a != flat_b).astype(np.float32), 1.0 - correlation)
    pixel, shape = _median_of_what_shows(per_block, structure, flat_a, flat_b)
    pixel /= 0.5 * (contrast_a + contrast_b) + CONTRAST_FLOOR
    return pixel.astype(np.float32), shape.astype(np.float32)


def _median_of_what_shows(
    per_block: FloatArray,
    structure: FloatArray,
    flat_a: npt.NDArray[np.bool_],
    flat_b: npt.NDArray[np.bool_],
) -> tuple[FloatArray, FloatArray]:
    """The median block's pixel and structure change; where some blocks are blank in both
    pictures (flat), the median of those that show something in both. On a plain field (a
    title card) what is written or drawn is the whole picture, and the field would outvote it;
    what appears on the field where nothing was (a subtitle on black, a firework in a dark sky)
    is no other picture, and decides nothing. Pictures with no blank block (nearly all footage)
    take the plain median."""
    pixel, shape = median(per_block), median(structure)
    both = ~flat_a & ~flat_b
    rows = np.flatnonzero((flat_a & flat_b).any(axis=-1) & both.any(axis=-1))
    if len(rows):
        hidden, counts = ~both[rows], both[rows].sum(axis=-1)
        pixel[rows] = median(np.where(hidden, np.nan, per_block[rows]), counts)
        shape[rows] = median(np.where(hidden, np.nan, structure[rows]), counts)
    return pixel, shape


def median(values: FloatArray, counts: npt.NDArray[np.intp] | None = None) -> FloatArray:
    """The median over the last axis, as ``np.median`` gives it for finite values (the mean of
    the two middle values of an even count, in the values' precision), at a fraction of its
    cost on the small rows the detector has (16 blocks, 16 neighbours): there ``np.median``'s
    own bookkeeping costs more than the sorting. ``counts``: how many values of each row count,
    the others being NaN (sorted last), as ``np.nanmedian`` gives it; a row with none is 0."""
    if counts is None:
        n = values.shape[-1]
        half = n // 2
        middle = np.partition(values, (half - 1, half) if n % 2 == 0 else half, axis=-1)
        low, high = middle[..., (n - 1) // 2], middle[..., half]
    else:
        ordered = np.sort(values, axis=-1)
        low = np.take_along_axis(ordered, np.maximum(counts - 1, 0)[..., None] // 2, axis=-1)
        high = np.take_along_axis(ordered, counts[..., None] // 2, axis=-1)
        low, high = low[..., 0], high[..., 0]
        low, high = np.where(counts > 0, low, 0), np.where(counts > 0, high, 0)
    return np.asarray((low + high) / 2, dtype=values.dtype)


def shrink(luma: FloatArray, factor: int) -> FloatArray:
    """Average ``factor`` x ``factor`` blocks."""
    h, w = (luma.shape[0] // factor) * factor, (luma.shape[1] // factor) * factor
    blocks = luma[:h, :w].reshape(h // factor, factor, w // factor, factor)
    return np.asarray(blocks.mean(axis=(1, 3)), dtype=np.float32)


def blend_residual(middle: FloatArray, start: FloatArray, end: FloatArray) -> float:
    """How far ``middle`` is from the best ``a*start + b*end``, relative to |end - start|;
    infinite when the best blend is not a plausible mix (weights far outside 0..1)."""
    basis = np.stack([start.ravel(), end.ravel()], axis=1)
    coeffs, *_ = np.linalg.lstsq(basis, middle.ravel(), rcond=None)
    if not all(-0.25 <= float(c) <= 1.25 for c in coeffs):
        return float("inf")
    residual = float(np.linalg.norm(middle.ravel() - basis @ coeffs))
    return residual / (float(np.linalg.norm(end - start)) + 1e-6)


def spectra(luma: FloatArray) -> npt.NDArray[np.complex128]:
    """The 2-D spectra of pictures (N x H x W) without their means, tapered at the borders
    (a Hann window), for phase correlation."""
    # Each picture's mean summed as for that picture alone: a pair's answer must not depend on
    # the pictures measured with it.
    means = np.array([picture.mean() for picture in luma], dtype=luma.dtype)
    h, w = luma.shape[1:]
    return np.fft.rfft2((luma - means[:, None, None]) * _taper(h, w, luma.dtype.str))


@functools.cache
def _taper(h: int, w: int, dtype: str) -> npt.NDArray[np.floating]:
    """A 2-D Hann window: the transform takes a picture as repeating, and the jump from one
    edge to the other, which does not move with the camera, made no shift the best match for a
    real picture panned a few pixels. Made once per size (every pair of pictures needs it)."""
    taper = np.outer(np.hanning(h), np.hanning(w)).astype(dtype)
    taper.flags.writeable = False  # shared by every caller
    return taper


def _correlation(starts: FloatArray, ends: FloatArray) -> FloatArray:
    """The phase correlation of each pair of pictures (N x H x W each): peaked at the shift
    that takes ``starts`` onto ``ends``. The transforms of all pairs in one call each: for
    pictures this small a call costs more than its arithmetic."""
    h, w = starts.shape[1:]
    cross = spectra(starts) * np.conj(spectra(ends))
    return np.asarray(np.fft.irfft2(cross / (np.abs(cross) + 1e-9), s=(h, w)))


def _signed(index: npt.NDArray[np.int64], size: int) -> npt.NDArray[np.int64]:
    """A peak's index in a circular correlation of ``size`` as a shift either way."""
    return np.where(index > size // 2, index - size, index)


def _vertex(before: FloatArray, peak: FloatArray, after: FloatArray) -> FloatArray:
    """Where the parabola through three neighbouring values of a correlation peaks, from the
    middle one: -0.5..0.5 (0 where they make no peak)."""
    curve = before - 2 * peak + after
    offset = 0.5 * (before - after) / np.where(curve < 0, curve, -np.inf)
    return np.asarray(np.clip(offset, -0.5, 0.5))


def phase_moves(starts: FloatArray, ends: FloatArray) -> FloatArray:
    """For each pair of pictures (N x H x W each), the global shift (dy, dx) that best takes
    ``starts`` onto ``ends``, in pixels, by phase correlation, refined between pixels: N x 2.
    (A shift of 2.5 pixels a frame measured in whole pixels came out 2 every frame.)"""
    n, h, w = starts.shape
    correlation = _correlation(starts, ends)
    y, x = np.divmod(correlation.reshape(n, h * w).argmax(axis=1), w)
    k = np.arange(n)
    dy = _signed(y, h) + _vertex(
        correlation[k, (y - 1) % h, x], correlation[k, y, x], correlation[k, (y + 1) % h, x]
    )
    dx = _signed(x, w) + _vertex(
        correlation[k, y, (x - 1) % w], correlation[k, y, x], correlation[k, y, (x + 1) % w]
    )
    return np.stack([dy, dx], axis=1).astype(np.float32)


def shift_residuals(
    starts: FloatArray, ends: FloatArray, max_shift: float = 0.4
) -> npt.NDArray[np.float64]:
    """For each pair of pictures (N x H x W each), how much of the change from ``starts`` to
    ``ends`` remains after the best global shift in whole pixels (by phase correlation), 0..1+;
    1 when no plausible shift helps."""
    n, h, w = starts.shape
    peaks = _correlation(starts, ends).reshape(n, h * w).argmax(axis=1)
    y, x = np.divmod(peaks, w)
    moves = np.stack([_signed(y, h), _signed(x, w)], axis=1).tolist()
    residuals = np.ones(n)
    for k, (start, end) in enumerate(zip(starts, ends, strict=True)):
        dy, dx = moves[k]
        if abs(dy) > max_shift * h or abs(dx) > max_shift * w:
            continue
        # start[y, x] ~ end[y - dy, x - dx]: compare the overlapping parts.
        moved = start[max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx)]
        landed = end[max(0, -dy) : h + min(0, -dy), max(0, -dx) : w + min(0, -dx)]
        raw = float(np.abs(end - start).mean()) + 1e-6
        residuals[k] = float(np.abs(moved - landed).mean()) / raw
    return residuals


def profiles(luma: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Each picture's row sums and column sums (N x H and N x W, from N x H x W whole luma
    levels): what a move along each axis shifts. Sums of whole numbers this small are exact in
    any order, so a picture's profiles do not depend on the pictures measured with it."""
    n, h, w = luma.shape
    rows = luma.reshape(n * h, w) @ np.ones(w, dtype=luma.dtype)
    return rows.reshape(n, h), np.ones(h, dtype=luma.dtype) @ luma


def profile_moves(profiles: FloatArray, step: int = 1) -> FloatArray:
    """For each profile (N x L) after the first ``step``, how far the one ``step`` before it
    moved to become it, in pixels, by phase correlation in one dimension (tapered), refined
    between pixels: N - step. An estimate: a person crossing the frame moves the column sums
    too."""
    length = profiles.shape[1]
    centred = (profiles - profiles.mean(axis=1, keepdims=True)) * _taper(1, length, "f4")[0]
    spectrum = np.fft.rfft(centred, axis=1)
    cross = spectrum[:-step] * np.conj(spectrum[step:])
    cross /= np.abs(cross) + 1e-9
    correlation = np.fft.irfft(cross, n=length, axis=1)
    peak = correlation.argmax(axis=1)
    around = np.take_along_axis(correlation, (peak[:, None] + np.arange(-1, 2)) % length, axis=1)
    return np.asarray(_signed(peak, length) + _vertex(*around.T), dtype=np.float32)


def shift_residual(start: FloatArray, end: FloatArray, max_shift: float = 0.4) -> float:
    """``shift_residuals`` of one pair of pictures (H x W each)."""
    return float(shift_residuals(start[None], end[None], max_shift)[0])


# How much a zoom may magnify between two frames, each way, in steps of about 6%: a crash zoom
# moves a third or more a frame; past half, a frame loses most of what the one before showed.
ZOOMS = (1.06, 1.12, 1.19, 1.26, 1.34, 1.42, 1.5)
# How far a roll of the camera may turn between two frames, each way, in degrees: a whip roll
# turns ten or more a frame.
TURNS = (4.0, 8.0, 12.0, 16.0, 20.0)


def magnified(luma: FloatArray, scale: float, degrees: float = 0.0) -> FloatArray:
    """Pictures (N x H x W) magnified ``scale`` times and turned ``degrees`` anticlockwise about
    their centre (bilinear; where the turned picture leaves the frame, its edge is repeated)."""
    h, w = luma.shape[1:]
    cy, cx = (h - 1) / 2, (w - 1) / 2
    turn = np.deg2rad(degrees)
    y, x = np.mgrid[0:h, 0:w]
    # Where each output pixel comes from: the inverse turn and scale about the centre.
    ys = ((y - cy) * np.cos(turn) - (x - cx) * np.sin(turn)) / scale + cy
    xs = ((y - cy) * np.sin(turn) + (x - cx) * np.cos(turn)) / scale + cx
    ys, xs = np.clip(ys, 0, h - 1), np.clip(xs, 0, w - 1)
    y0, x0 = (
        np.minimum(np.floor(ys).astype(np.intp), h - 2),
        np.minimum(np.floor(xs).astype(np.intp), w - 2),
    )
    fy, fx = (ys - y0).astype(luma.dtype), (xs - x0).astype(luma.dtype)
    top = luma[:, y0, x0] * (1 - fx) + luma[:, y0, x0 + 1] * fx
    bottom = luma[:, y0 + 1, x0] * (1 - fx) + luma[:, y0 + 1, x0 + 1] * fx
    return np.asarray(top * (1 - fy) + bottom * fy, dtype=luma.dtype)


def zoom_residuals(starts: FloatArray, ends: FloatArray) -> npt.NDArray[np.float64]:
    """For each pair of pictures (N x H x W each), how much of the change from ``starts`` to
    ``ends`` remains after the best zoom in or out (``ZOOMS``) or roll either way (``TURNS``),
    about the centre, and global shift (about another point), relative to the change itself:
    0..1+, as ``shift_residuals``."""
    moves = [(s, 0.0) for s in ZOOMS] + [(1.0, t) for t in TURNS] + [(1.0, -t) for t in TURNS]
    # In: the start moved is the end; out (or back): the end moved is the start.
    near = np.concatenate([magnified(starts, *m) for m in moves] + [starts] * len(ZOOMS))
    far = np.concatenate([ends] * len(moves) + [magnified(ends, s) for s in ZOOMS])
    left = shift_residuals(near, far) * (np.abs(far - near).mean(axis=(1, 2)) + 1e-6)
    raw = np.abs(ends - starts).mean(axis=(1, 2)) + 1e-6
    return np.asarray(left.reshape(-1, len(starts)).min(axis=0) / raw)


def edge_agreement(starts: FloatArray, ends: FloatArray) -> npt.NDArray[np.float32]:
    """For each pair of pictures (N x H x W each), how far their luma gradients point the same
    way at the same pixels: the cosine of the angle between them, weighted by the weaker of the
    two gradients' lengths, -1..1. A change of light (a lamp, a strobe, a colour wash) or a jolt
    within a shot leaves the edges where they were (near 1); another shot's edges agree with them
    only by chance (near 0). Flat pictures have no edges to agree: near 0 too."""
    start_y, start_x = np.gradient(starts, axis=(1, 2))
    end_y, end_x = np.gradient(ends, axis=(1, 2))
    start_length, end_length = np.hypot(start_x, start_y), np.hypot(end_x, end_y)
    weight = np.minimum(start_length, end_length)
    cosine = (start_x * end_x + start_y * end_y) / (start_length * end_length + 1e-6)
    agreement = (weight * cosine).sum(axis=(1, 2)) / (weight.sum(axis=(1, 2)) + 1e-6)
    return np.asarray(agreement, dtype=np.float32)
