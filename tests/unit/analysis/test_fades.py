"""Fades through black, white and other colours (``analysis/fades.py``), found from each
frame's measures as ``AdaptiveShotDetector.finish`` finds them: scans made up here."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from videorecog.analysis.detection import Boundary, DetectorParams
from videorecog.analysis.fades import FadeFinder
from videorecog.analysis.shots import AdaptiveShotDetector, Scan


def test_a_fade_ramp_goes_on_through_repeated_levels_only_where_allowed() -> None:
    """Luma rising by 2 every other frame (each level shown twice) is one ramp when pauses of a
    frame are allowed, and ends at the first pause when they are not; a level that falls back
    ends it either way."""
    levels = np.array([0, 0, 2, 2, 4, 4, 6, 6, 8, 3, 10], dtype=np.float32)
    paused = FadeFinder(DetectorParams(ramp_pause_frames=1))
    assert paused._ramp(levels, 0, +1) == 8
    assert FadeFinder(DetectorParams())._ramp(levels, 0, +1) == 0
    assert paused._ramp(levels[::-1].copy(), 10, -1) == 10 - 8  # the same walk backwards


def _dip(out_alike: bool = True, in_alike: bool = True) -> Scan:
    """A picture (mean luma 80, contrast 40, 16 blocks of 30; frames 0-19) ramping to a flat
    grey of 140 (20-30), 4 frames of it (31-34) and back (35-45) to the picture (46-65): on
    each ramp every block dimming with the whole (``alike``), or the blocks going flat one after
    another (the whole's contrast falls the same either way)."""
    share = np.concatenate([np.ones(20), np.linspace(1, 0, 13)[1:], np.zeros(1)])
    share = np.concatenate([share, share[::-1]])
    means = 140 - 60 * share
    contrasts = 40 * share
    alike = np.outer(share, np.full(16, 30.0))
    # Block b is flat once the share of the picture left falls under (b + 1) / 16.
    one_by_one = np.where(share[:, None] * 16 > np.arange(16)[None, :], 30.0, 0.0)
    half = len(share) // 2
    blocks = np.concatenate(
        [(alike if out_alike else one_by_one)[:half], (alike if in_alike else one_by_one)[half:]]
    )
    f32 = np.float32
    return Scan([], means.astype(f32), contrasts.astype(f32), blocks.astype(np.float16))


def _spans(scan: Scan) -> list[tuple[str, tuple[int, int]]]:
    return [(b.kind, b.span) for b in AdaptiveShotDetector().finish(scan, 25.0)]


def test_a_fade_through_a_colour_is_told_from_a_pan_onto_a_blank_wall() -> None:
    """The same fall and rise of contrast into a flat grey is one dip to colour when every block
    of the picture dims with the whole, and nothing when the blocks go flat one by one, as
    they do when the camera pans onto a blank wall and back. Where only the way back is uneven,
    the dip ends at the colour: the rest is left to the other tests."""
    # The ramps run from the picture's last and first full frames.
    assert _spans(_dip()) == [("gradual", (19, 46))]
    assert _spans(_dip(out_alike=False, in_alike=False)) == []
    assert _spans(_dip(in_alike=False)) == [("gradual", (19, 34))]


@pytest.mark.parametrize("cut", [slice(0, 33), slice(31, None)])
def test_a_fade_through_a_colour_at_either_end_of_the_video(cut: slice) -> None:
    """A video that ends in a fade to a colour (held 2 frames, under the 0.3 s of a shot) has
    no boundary there, as one ending in black; one that starts in the colour and fades in has
    none either (frame 0 starts the first shot)."""
    scan = _dip()
    scan = Scan([], scan.means[cut], scan.contrasts[cut], scan.block_contrasts[cut])
    assert _spans(scan) == []


def _even_scan(means: np.ndarray, contrasts: np.ndarray, found: Sequence[Boundary] = ()) -> Scan:
    """A scan of these measures, each frame's blocks as lit, or as flat, as the whole."""
    blocks = np.repeat(contrasts[:, None], 16, axis=1).astype(np.float16)
    f32 = np.float32
    return Scan(list(found), means.astype(f32), contrasts.astype(f32), blocks)


def _flickering_fade_out() -> tuple[np.ndarray, np.ndarray]:
    """A picture (mean luma 90, contrast 30) that fades to black over 60 frames (frames 20-79),
    its light flickering up two levels at frame 57, and black to the end (frame 119): truly
    black (under 20, flat) from frame 66."""
    share = np.concatenate([np.ones(20), np.linspace(1.0, 0.0, 61)[1:], np.zeros(40)])
    means, contrasts = 90.0 * share, 30.0 * share
    means[57] += 2.0
    return means, contrasts


@pytest.mark.parametrize(
    ("gradual_span", "window", "boundaries"),
    [
        # Its last frame 5 before the ramp's first, within its half-window of 16: the same fade.
        ((20, 52), 16, [("gradual", (20, 65))]),
        # Overlapping the ramp and reaching further out: the same fade.
        ((20, 60), 8, [("gradual", (20, 65))]),
        # Its last frame 12 before the ramp's first, beyond its half-window of 8: another one.
        ((20, 45), 8, [("gradual", (20, 45)), ("gradual", (57, 65))]),
        # Reaching 64 frames from the black, further than a ramp may be (60): another one.
        ((2, 52), 16, [("gradual", (2, 52)), ("gradual", (57, 65))]),
    ],
)
def test_a_flicker_in_a_slow_fade_does_not_report_it_twice(
    gradual_span: tuple[int, int], window: int, boundaries: list[tuple[str, tuple[int, int]]]
) -> None:
    """The walk up the fade's ramp from the black stops at the flicker (frame 57); the gradual
    test, comparing frames a window apart, finds the fade's first part (``gradual_span``, found
    with half-window ``window``). Where that detection overlaps the ramp or ends within its
    half-window of it, and the picture darkens from it into the ramp as a ramp does, both are
    one fade, over both spans: reported once, not twice. A detection further off, or reaching
    further than a fade's ramp may be long, is another transition."""
    means, contrasts = _flickering_fade_out()
    lo, hi = gradual_span
    found = [Boundary((lo + hi) // 2, "gradual", 2.0, gradual_span, window)]
    assert _spans(_even_scan(means, contrasts, found)) == boundaries


def test_a_flicker_in_a_slow_fade_in_does_not_report_it_twice() -> None:
    """The same fade played backwards, out of black: the gradual test's detection after the
    ramp carries it on the other way."""
    means, contrasts = (a[::-1].copy() for a in _flickering_fade_out())
    last = len(means) - 1  # frame k of the fade out is frame last - k here
    found = [Boundary(last - 36, "gradual", 2.0, (last - 52, last - 20), 16)]
    assert _spans(_even_scan(means, contrasts, found)) == [("gradual", (last - 65, last - 20))]


def test_a_change_beside_a_fade_that_does_not_darken_into_it_stays_its_own() -> None:
    """A gradual detection just before a fade's ramp along which the picture does not darken
    (a dissolve between two shots as bright) is a transition of its own, however close."""
    means, contrasts = _flickering_fade_out()
    means[:57], contrasts[:57] = means[57], contrasts[57]  # as bright as the ramp's top
    found = [Boundary(36, "gradual", 2.0, (20, 52), 16)]
    assert _spans(_even_scan(means, contrasts, found)) == [
        ("gradual", (20, 52)),
        ("gradual", (57, 65)),
    ]


def test_a_cut_into_black_after_a_darkening_stays_a_cut() -> None:
    """A picture that darkens slowly (a gradual detection), holds, then is cut into black: the
    one-frame ramp into the black is a cut, and a detection before it carries nothing on."""
    means = np.concatenate([np.linspace(90.0, 60.0, 50), np.full(7, 60.0), np.zeros(40)])
    contrasts = np.concatenate([np.linspace(30.0, 20.0, 50), np.full(7, 20.0), np.zeros(40)])
    found = [Boundary(36, "gradual", 2.0, (20, 52), 16)]
    assert _spans(_even_scan(means, contrasts, found)) == [("gradual", (20, 52)), ("cut", (57, 57))]


def _card(middle: np.ndarray, contrast: np.ndarray) -> list[tuple[str, tuple[int, int]]]:
    """Four frames (``middle`` mean luma, ``contrast``) between two pictures (mean 80, contrast
    40), entered and left at once, with the cut test's cuts at both ends."""
    means = np.concatenate([np.full(20, 80.0), middle, np.full(20, 80.0)])
    contrasts = np.concatenate([np.full(20, 40.0), contrast, np.full(20, 40.0)])
    cuts = [Boundary(k, "cut", 5.0, (k, k)) for k in (20, 24)]
    return _spans(_even_scan(means, contrasts, cuts))


def test_a_colour_card_between_two_cuts_is_one_transition() -> None:
    """Four frames of a flat colour between two pictures, entered and left at once: one
    transition where the cut test found cuts at both ends (a little noise on its last frame
    changes nothing), nothing added where it did not (a flash of colour inside a shot). A
    dim, foggy shot of four frames between two cuts stays a shot."""
    flat = np.full(4, 140.0)
    assert _card(flat, np.zeros(4)) == [("gradual", (20, 23))]
    assert _card(flat, np.array([0.0, 0.0, 0.0, 4.0])) == [("gradual", (20, 23))]
    assert _card(np.array([60.0, 61, 62, 63]), np.array([8.0, 7.5, 8.5, 9])) == [
        ("cut", (20, 20)),
        ("cut", (24, 24)),
    ]
    share = np.concatenate([np.ones(20), np.zeros(4), np.ones(20)])
    blocks = np.outer(share, np.full(16, 30.0)).astype(np.float16)
    assert _spans(Scan([], 140 - 60 * share, 40 * share, blocks)) == []


def test_a_slow_fade_in_climbs_from_the_floor_of_its_black_run() -> None:
    """Black (mean luma 0), then a slow fade into a dim picture (mean 34, contrast 12): the
    frames at the start of the ramp are still black by the rules (under 20, flat), so the black
    run ends 19 levels up the ramp. Measured from there the ramp climbs 15, from the black
    itself 34: a fade-in either way, found only when counted from the floor."""
    fade_in = np.linspace(0.0, 1.0, 41)[1:]  # 40 frames: 0.85 levels a frame
    means = np.concatenate([np.zeros(50), 34.0 * fade_in, np.full(40, 34.0)])
    contrasts = np.concatenate([np.zeros(50), 12.0 * fade_in, np.full(40, 12.0)])
    black_until = int(np.argmax(means >= DetectorParams().dark_luma))
    assert 18 <= means[black_until - 1] < 20
    assert contrasts[black_until - 1] < 10
    found = AdaptiveShotDetector().finish(_even_scan(means, contrasts), 25.0)
    assert [(b.kind, b.span) for b in found] == [("gradual", (black_until, 89))], found


@pytest.mark.parametrize("hold", [0, 10])
def test_a_quick_fade_out_and_a_slow_fade_in_are_one_dip_unless_black_is_held(hold: int) -> None:
    """A picture (mean luma 90, contrast 30) fades to black over 5 frames and, after ``hold``
    frames of black, slowly into another (mean 75, contrast 25) over 26, as ffmpeg's
    ``fadeblack`` does: the fade-in's first 6 frames are still black by the rules (under 20,
    flat), so the black run lasts 8 frames with no hold, a shot's length (0.3 s), though only 2
    of them stand still. One transition over both ramps; held for 10 frames (0.4 s), the black
    is a shot of its own, and the fade-out and the fade-in are a boundary each."""
    fade_out = np.linspace(1.0, 0.0, 6)[1:]
    fade_in = np.linspace(0.0, 1.0, 27)[1:]
    means = np.concatenate([np.full(20, 90.0), 90 * fade_out, np.zeros(hold), 75 * fade_in])
    contrasts = np.concatenate([np.full(20, 30.0), 30 * fade_out, np.zeros(hold), 25 * fade_in])
    means, contrasts = (np.concatenate([a, np.full(30, a[-1])]) for a in (means, contrasts))
    dark = (means < 20) & (contrasts < 10)
    assert int(dark.sum()) == 8 + hold
    found = AdaptiveShotDetector().finish(_even_scan(means, contrasts), 25.0)
    spans = [b.span for b in found]
    if hold:
        assert len(spans) == 2
        assert spans[0][1] < 24 < 24 + hold < spans[1][0], spans
    else:
        assert len(spans) == 1
        assert spans[0][0] <= 20, spans
        assert spans[0][1] >= 45, spans


def test_a_blank_field_ramping_through_black_and_white_changes_no_shot() -> None:
    """A flat field (no contrast anywhere) held black, brightening to white over 25 frames and
    darkening back to black, twice: no picture enters or leaves, so nothing is a boundary. The
    same ramps with a picture (contrast 30) at the top: each black run's ramps are fades."""
    up, down = np.linspace(0.0, 255.0, 26)[1:], np.linspace(255.0, 0.0, 26)[1:]
    means = np.concatenate([np.zeros(20), up, down, np.zeros(20), up, down, np.zeros(20)])
    flat = np.zeros_like(means)
    assert AdaptiveShotDetector().finish(_even_scan(means, flat), 25.0) == []
    pictured = 30.0 * (means > DetectorParams().dark_luma)
    assert AdaptiveShotDetector().finish(_even_scan(means, pictured), 25.0) != []


def test_a_dim_picture_fading_into_black_is_a_fade_and_one_cut_into_it_is_not() -> None:
    """A night scene (mean luma 18, contrast 15: under the 25 levels a ramp out of black must
    otherwise climb) fading into true black over 20 frames is one fade, out or (backwards) in,
    counted to the first truly black frame: it crosses the dark bar (contrast under 10) six
    frames into the fade, with 70% of its light still there. The same picture cut into black,
    after a few frames of it growing dimmer, is no fade: that is the cut test's."""
    fade = np.linspace(1.0, 0.0, 21)[1:]  # frames 40-59
    share = np.concatenate([np.ones(40), fade, np.zeros(40)])
    means, contrasts = 18.0 * share, 15.0 * share
    black = int(np.argmax(means <= 3.0))
    assert black == 56
    assert _spans(_even_scan(means, contrasts)) == [("gradual", (39, black - 1))]
    n = len(share)
    assert _spans(_even_scan(means[::-1], contrasts[::-1])) == [
        ("gradual", (n - black, n - 1 - 39))
    ]
    creeping = np.concatenate([np.ones(35), np.linspace(1.0, 0.95, 6)[1:], np.zeros(40)])
    assert _spans(_even_scan(18.0 * creeping, 15.0 * creeping)) == []
