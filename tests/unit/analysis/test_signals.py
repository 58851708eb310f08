import warnings

import av
import numpy as np
import pytest

from tests.support import SHARED_MEDIA
from videorecog.analysis.signals import (
    CONTRAST_FLOOR,
    FLAT_CONTRAST,
    blocks,
    changes,
    edge_agreement,
    magnified,
    median,
    shapes,
    shift_residual,
    shift_residuals,
    zoom_residuals,
)


@pytest.mark.parametrize("size", [1, 2, 3, 15, 16, 17])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_median_is_numpys_bit_for_bit(size: int, dtype: type[np.floating]) -> None:
    rng = np.random.default_rng(size)
    scales = rng.choice([1e-3, 1.0, 1e3], (400, 1))
    values = (rng.random((400, size)) * scales).astype(dtype)
    values[::5, : size // 2] = values[::5, size // 2 : 2 * (size // 2)]  # ties
    got = median(values)
    assert got.dtype == dtype
    assert np.array_equal(got, np.median(values, axis=-1))


def test_median_of_the_values_that_count_is_nanmedians() -> None:
    rng = np.random.default_rng(7)
    values = rng.random((400, 3, 16)).astype(np.float32)
    counts = rng.integers(0, 17, size=(400, 3))
    for row, count in np.ndenumerate(counts):
        values[row][count:] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the rows with nothing to count
        expected = np.nan_to_num(np.nanmedian(values, axis=-1), nan=0.0)
    got = median(values, counts)
    assert got.dtype == np.float32
    assert np.array_equal(got, expected)


def _textured(rng: np.random.Generator, h: int = 36, w: int = 64) -> np.ndarray:
    coarse = rng.random((h // 4 + 2, w // 4 + 2)).astype(np.float32) * 255
    return np.kron(coarse, np.ones((4, 4), np.float32))[:h, :w] + rng.random((h, w)) * 8


def test_a_shifted_picture_leaves_little_an_unrelated_one_all() -> None:
    rng = np.random.default_rng(3)
    wide = _textured(rng, 48, 80)
    start, moved = wide[:36, :64], wide[5:41, 9:73]  # the camera moved 5 down, 9 right
    unrelated = _textured(rng)
    residuals = shift_residuals(np.stack([start, start]), np.stack([moved, unrelated]))
    assert residuals[0] < 0.2
    assert residuals[1] > 0.7


def test_edges_agree_under_other_light_not_in_another_picture() -> None:
    """Half the picture lit up and the whole of it washed brighter keeps its edges; another
    picture, and a flat one, share none of them."""
    rng = np.random.default_rng(7)
    picture = _textured(rng)
    relit = picture.copy()
    relit[:, :32] = relit[:, :32] * 1.7 + 20
    pairs = [
        (picture, relit),
        (picture, picture * 0.5 + 60),
        (picture, _textured(rng)),
        (picture, np.full_like(picture, 128.0)),
    ]
    agreement = edge_agreement(np.stack([a for a, _ in pairs]), np.stack([b for _, b in pairs]))
    assert agreement[0] > 0.9
    assert agreement[1] > 0.99
    assert abs(agreement[2]) < 0.3
    assert agreement[3] == pytest.approx(0.0, abs=1e-3)


@pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="labelled clips not present")
@pytest.mark.parametrize("shift", [1, 3, 6])
def test_a_real_picture_moved_sideways_is_explained_by_a_shift(shift: int) -> None:
    """A real frame's edges do not wrap around as the transform assumes: untapered, the jump
    at the borders made no shift look best, and a pan passed for a change of picture."""
    with av.open(str(SHARED_MEDIA / "testvideo.mp4")) as container:
        frame = next(f for k, f in enumerate(container.decode(video=0)) if k == 470)
    luma = frame.reformat(width=640, height=40, format="gray").to_ndarray().astype(np.float32)
    start, moved = luma[2:38, 90:154], luma[2:38, 90 + shift : 154 + shift]
    assert shift_residual(start, moved) < 0.3


def test_pairs_at_once_are_each_pair_alone() -> None:
    rng = np.random.default_rng(5)
    starts = np.stack([_textured(rng) for _ in range(12)]).astype(np.float32)
    ends = np.roll(starts, (2, -3), axis=(1, 2)) + rng.random(starts.shape).astype(np.float32)
    ends[::3] = np.stack([_textured(rng) for _ in range(4)])
    together = shift_residuals(starts, ends)
    alone = [shift_residual(start, end) for start, end in zip(starts, ends, strict=True)]
    assert together.tolist() == alone
    assert shift_residuals(starts[:0], ends[:0]).shape == (0,)  # no pairs, no answers


@pytest.mark.parametrize("pixels", [144, 448])  # 64 x 36 pictures; 64 x 114 (portrait)
def test_pixel_change_is_the_median_blocks_mean_absolute_difference(pixels: int) -> None:
    rng = np.random.default_rng(pixels)
    a = rng.integers(0, 256, (50, 16, pixels), dtype=np.uint8)
    b = rng.integers(0, 256, (50, 16, pixels), dtype=np.uint8)
    a[:10], b[:10] = 0, 255  # the largest sums there are
    units = np.zeros((50, 16, pixels), np.float32)
    flat = np.zeros((50, 16), bool)
    contrast = rng.random(50).astype(np.float32) * 60
    pixel, _ = changes(a, units, flat, contrast, b, units, flat, contrast)
    per_block = np.abs(b.astype(np.float32) - a.astype(np.float32)).mean(axis=2)
    expected = np.median(per_block, axis=1) / (contrast + CONTRAST_FLOOR)
    assert np.array_equal(pixel, expected.astype(np.float32))
    assert pixel[0] == np.float32(255 / (contrast[0] + CONTRAST_FLOOR))


def _measured(
    luma: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What ``changes`` takes of pictures (N x H x W, 8-bit)."""
    units, block_contrast, contrast = shapes(luma.astype(np.float32))
    return blocks(luma), units, block_contrast < FLAT_CONTRAST, contrast


def test_on_a_plain_field_the_writing_is_the_picture() -> None:
    """Two title cards, black but for other writing across one row of 4 blocks of the 16, and
    a second line on one of them: the change is the median of the 4 blocks written on in both,
    all of them changed, where the black field would outvote it. What appears where the field
    was blank (the second line) does not count either way."""
    rng = np.random.default_rng(7)
    card_a, card_b = np.full((2, 1, 36, 64), 16, dtype=np.uint8)
    card_a[0, 10:17, 4:60] = rng.integers(16, 236, (7, 56))
    card_b[0, 10:17, 4:60] = rng.integers(16, 236, (7, 56))
    card_b[0, 19:26, 4:28] = rng.integers(16, 236, (7, 24))  # a line more, in 2 blocks
    a, b = _measured(card_a), _measured(card_b)
    blank = a[2][0] & b[2][0]
    assert blank.sum() == 10
    pixel, structure = changes(*a, *b)
    per_block = np.abs(a[0].astype(np.float32) - b[0].astype(np.float32)).mean(axis=2)[0]
    mean_contrast = (a[3][0] + b[3][0]) / 2
    both = ~a[2][0] & ~b[2][0]
    assert both.sum() == 4
    expected = np.median(per_block[both]) / (mean_contrast + CONTRAST_FLOOR)
    assert pixel[0] == pytest.approx(expected)
    assert structure[0] > 0.4  # the frame of blank rows and columns around the writing is alike
    everywhere = np.median(per_block) / (mean_contrast + CONTRAST_FLOOR)
    assert everywhere == 0  # what the 16 blocks' median said


@pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="labelled clips not present")
def test_a_picture_zoomed_in_or_out_is_explained_by_a_zoom() -> None:
    """A real frame and the same frame seen 1.3 times closer (about a point off the centre: a
    zoom and a shift), each way, leave little of their change after the best zoom; a shift
    alone leaves most of it, and so does another picture."""
    with av.open(str(SHARED_MEDIA / "testvideo.mp4")) as container:
        frame = next(f for k, f in enumerate(container.decode(video=0)) if k == 470)
    luma = frame.reformat(width=96, height=54, format="gray").to_ndarray().astype(np.float32)
    wide = luma[None, 9:45, 16:80]  # 64 x 36, with room around it
    closer = magnified(luma[None, 6:42, 19:83], 1.3)
    other = _textured(np.random.default_rng(2))[None]
    starts = np.concatenate([wide, closer, wide])
    ends = np.concatenate([closer, wide, other])
    zoom = zoom_residuals(starts, ends)
    assert zoom[0] < 0.35
    assert zoom[1] < 0.35
    assert zoom[2] > 0.8
    assert shift_residuals(starts[:2], ends[:2]).min() > 0.6


def test_magnifying_by_one_changes_nothing() -> None:
    picture = _textured(np.random.default_rng(4))[None]
    assert np.allclose(magnified(picture, 1.0), picture)
