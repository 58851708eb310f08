"""Fades found from the whole video's luma, once the frame-by-frame pass is over: through black
or white, and through another flat colour. Each frame's mean luma, contrast and the contrast of
each block of the grid, and the gradual test's detections, are all they need (as ``shots.Scan``
holds them); ``shots.AdaptiveShotDetector.finish`` drops other detections inside a fade.

Fade through black or white: a run of dark or bright frames, both flat (``dark_luma``,
``dark_contrast``; ``white_luma``, ``white_contrast``), entered and left by luminance ramps; into
white at once is a flash, not a fade. A dark picture that is not flat (a night scene, a stage in
the dark) is no black: its cuts stand. A ramp out of black climbs from the run's darkest level, in
mean luma or, for a dark picture with a few bright parts, in contrast; into true black (flat), a
dim picture (a night scene) climbs less, and its ramp is counted from the truly black frames,
gentle all the way (``_dim_fades``). When the colour is held too briefly to be a shot of its own
(``_held``: the frames still moving along a ramp do not count) the run is one transition,
reported at its centre; otherwise the fade-out and the fade-in are each a boundary (at their
ramps' midpoints, or at the run's edges when the ramp is a hard cut). A gradual detection that
darkens into a ramp carries it on (``_carried_on``). A ramp counts only where the picture it
reaches shows something: a blank field ramping through black or white changes no shot.

Fade through another colour (an editor's dip to colour): a run of flat frames at any other level,
entered by a ramp of contrast along which every block of the grid dims with the whole (a pan
onto a blank wall flattens it part by part), not at once (a cut, or a flash), and left by such a
ramp or at once. The same rules of one transition or two follow; a plain colour card too short
to be a shot between two cuts is one transition, as a few black frames are. Cuts inside a held
colour stand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from videorecog.analysis.detection import Boundary, DetectorParams
from videorecog.analysis.signals import FloatArray

__all__ = ["FadeFinder"]

# Frames of a flat run within this much of its flattest frame, in contrast and in mean luma, hold
# the colour; the others are the ends of the ramps into and out of it. A colour card holds its
# level within it all through, and its flattest frame is under it.
DIP_HOLD = 3.0
# A held colour is a shot of its own, not the turn of one transition, from
# ``min_plain_shot_seconds`` of frames this close to it (relative to the ramps' height): the ramps'
# last frames, a few percent of the picture left, are as flat as the colour but no part of a hold.
DIP_STILL = 0.05
# Along a dip's ramp every block of the grid keeps about the share of its contrast that the
# whole picture keeps: one under DIP_BLOCK_LAG of that share has gone flat ahead of the rest. A
# ramp on which, at DIP_UNEVEN_FRAMES frames or more that keep DIP_CLEAR of the picture, more than
# DIP_GONE_BLOCKS blocks and more than DIP_GONE_SHARE of those with DIP_BLOCK_MIN contrast or more
# (at least DIP_BLOCKS_LIT of them) did is a pan onto something blank, not a dip. Measured: at
# most 3 blocks of 16 at any frame along the dips of the bench sets; 2 of 3 on a pan onto a wall.
DIP_BLOCK_LAG = 1 / 3
DIP_GONE_BLOCKS = 3
DIP_GONE_SHARE = 0.4
DIP_UNEVEN_FRAMES = 2
DIP_BLOCK_MIN = 4.0
DIP_BLOCKS_LIT = 4
DIP_CLEAR = 0.3


def _climb(
    means: FloatArray, contrasts: FloatArray, end: int, floor_mean: float, floor_contrast: float
) -> float:
    """How far a ramp out of black that ends at frame ``end`` climbed from the black run's floor:
    in mean luma or in contrast, whichever climbed more."""
    return float(max(means[end] - floor_mean, contrasts[end] - floor_contrast))


def _gentle(levels: FloatArray, least: float) -> bool:
    """Whether ``levels`` (from a plain run outwards) rise by ``least`` or more over two steps
    or more, less than half of the rise in any one step."""
    if len(levels) < 3:
        return False
    rise = float(levels[-1] - levels[0])
    return rise >= least and float(np.diff(levels).max()) < rise / 2


def _true_runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """The runs of consecutive True in ``mask``: (first, last) frames of each, in order."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b) - 1) for a, b in zip(starts, ends, strict=True)]


@dataclass(frozen=True)
class FadeFinder:
    """The fades of one video, from its frames' measures (as ``shots.Scan`` holds them)."""

    params: DetectorParams

    def fades(
        self,
        means: FloatArray,
        contrasts: FloatArray,
        fps: float,
        gradual: Sequence[Boundary] = (),
    ) -> tuple[list[Boundary], list[tuple[int, int]]]:
        """Fade boundaries, and the plain (black or white) runs inside which nothing else is a
        boundary. ``gradual``: the gradual test's detections, which may carry a fade's ramp on
        (``_carried_on``)."""
        p = self.params
        dark = (means < p.dark_luma) & (contrasts < p.dark_contrast)
        white = (means > p.white_luma) & (contrasts < p.white_contrast)
        found: list[Boundary] = []
        runs: list[tuple[int, int]] = []
        n = len(means)
        shot = self._shot_frames(fps)
        for d0, d1 in sorted(_true_runs(dark) + _true_runs(white)):
            # Walking away from a black run luma rises; from a white one it falls.
            sign = 1.0 if dark[d0] else -1.0
            levels = means * sign
            runs.append((d0, d1))
            out_start = self._ramp(levels, d0 - 1, -1)
            in_end = self._ramp(levels, d1 + 1, +1)
            if sign > 0:
                # Black's edge may already be a few levels up a slow fade: from its floor.
                run = slice(d0, d1 + 1)
                floor_mean, floor_contrast = means[run].min(), contrasts[run].min()
                rise_out = _climb(means, contrasts, out_start, floor_mean, floor_contrast)
                rise_in = _climb(means, contrasts, in_end, floor_mean, floor_contrast)
            else:
                rise_out = means[d0] - means[out_start] if 0 <= out_start < n else 0.0
                rise_in = means[d1] - means[in_end] if 0 <= in_end < n else 0.0
            has_out = d0 > 0 and out_start < d0 and rise_out >= p.ramp_min_rise
            has_in = d1 < n - 1 and in_end > d1 and rise_in >= p.ramp_min_rise
            edges = (d0, d1)  # where the picture is all gone (a dim fade's are further in)
            if sign > 0 and floor_contrast < DIP_HOLD:
                ramps, found_ramps = (out_start, in_end), (has_out, has_in)
                has_out, has_in, edges = self._dim_fades(
                    means, edges, ramps, floor_mean, found_ramps
                )
            out_edge, in_edge = edges
            out_start = self._carried_on(levels, (out_start, out_edge), -1, has_out, gradual)
            in_end = self._carried_on(levels, (in_end, in_edge), +1, has_in, gradual)
            is_shot = self._held(levels, (d0, d1), (out_start, in_end), (has_out, has_in)) >= shot
            # Into white at once (most of the rise in one frame) is a flash, a photographer's or
            # a strobe, whatever follows.
            is_flash = sign < 0 and (
                not has_out or sign * (means[d0 - 1] - means[d0]) >= 0.5 * rise_out
            )
            # Between blank fields (a flat grey ramping to black and back) no shot changes: a
            # ramp counts where the picture it reaches shows something.
            out_shows = has_out and contrasts[out_start] >= p.dark_contrast
            in_shows = has_in and contrasts[in_end] >= p.dark_contrast
            if not (out_shows or in_shows):
                continue
            if not is_shot:
                if d0 > 0 and d1 < n - 1 and (has_out or has_in) and not is_flash:
                    lo = out_start if has_out else d0
                    hi = in_end if has_in else d1
                    found.append(Boundary((d0 + d1 + 1) // 2, "gradual", 1.0, (lo, hi)))
                continue
            found += self._out_and_in(
                (out_start, in_end), edges, (has_out and not is_flash, has_in)
            )
        return found, runs

    @staticmethod
    def _out_and_in(
        ramps: tuple[int, int], edges: tuple[int, int], has: tuple[bool, bool]
    ) -> list[Boundary]:
        """The fade-out and the fade-in (``has``: which of the two there are) of a colour held
        as a shot of its own: each a boundary over its ramp (``ramps``: where each ends away
        from the run), but a one-frame ramp, a hard cut into (or out of) the run at its edge
        (``edges``)."""
        (out_start, in_end), (out_edge, in_edge), (has_out, has_in) = ramps, edges, has
        boundaries = []
        if has_out and out_start == out_edge - 1:
            boundaries.append(Boundary(out_edge, "cut", 1.0, (out_edge, out_edge)))
        elif has_out:
            middle = (out_start + out_edge) // 2
            boundaries.append(Boundary(middle, "gradual", 1.0, (out_start, out_edge - 1)))
        if has_in and in_end == in_edge + 1:
            boundaries.append(Boundary(in_edge + 1, "cut", 1.0, (in_edge + 1, in_edge + 1)))
        elif has_in:
            middle = (in_edge + 1 + in_end + 1) // 2
            boundaries.append(Boundary(middle, "gradual", 1.0, (in_edge + 1, in_end)))
        return boundaries

    def _carried_on(
        self,
        levels: FloatArray,
        ramp: tuple[int, int],
        direction: int,
        found: bool,
        gradual: Sequence[Boundary],
    ) -> int:
        """Where a fade's ramp out of (``direction`` -1) or into (+1) its plain run ends away
        from the run once the gradual detections that carry it on are counted in. ``ramp``:
        where ``_ramp`` stopped, and the edge where the picture is all gone; ``levels`` rise
        away from the run. Such a detection reaches the ramp (overlaps it, or stops at most its
        own half-window short of it: the gradual test places a span's ends within that much)
        and goes further out, and from its far end ``levels`` fall to the ramp as a ramp's do,
        by ``ramp_min_step`` a frame or more on average; the furthest such end counts, up to
        ``ramp_max_frames`` from the edge, the longest a ramp may be. Only a ramp ``found`` and
        longer than a frame is carried on: a one-frame ramp is a cut into or out of the run.

        The walk stops at the first frame that goes back or barely moves, and a slow fade's
        light flickers (a lamp, a sky, film grain); the gradual test, which compares frames a
        window apart, sees through that and finds the rest of the fade: one transition reported
        twice, its span and the ramp's a few frames apart. A dissolve into a darker shot and a
        fade out of it, all within a ramp's length, would be taken for one transition; shots
        that short between two are rare, two boundaries reported for one fade are not."""
        p = self.params
        end, edge = ramp
        if not found or (end - edge) * direction <= 1:
            return end
        last = len(levels) - 1
        reach = end
        for b in gradual:
            near, far = (b.span[1], b.span[0]) if direction < 0 else b.span
            far = min(max(far, 0), last)
            short = (near - end) * direction  # frames it stops short of the ramp (<= 0: in it)
            beyond = (far - end) * direction  # frames it goes further out
            fall = float(levels[far] - levels[end])
            if (
                short <= b.window
                and (far - reach) * direction > 0
                and abs(far - edge) <= p.ramp_max_frames
                and fall >= p.ramp_min_step * beyond
            ):
                reach = far
        return reach

    def dips(
        self,
        means: FloatArray,
        contrasts: FloatArray,
        blocks: npt.NDArray[np.float16],
        fps: float,
        plain_runs: Sequence[tuple[int, int]],
        cuts: set[int],
    ) -> list[Boundary]:
        """Fades through a flat colour other than black or white (an editor's dip to colour):
        a run of flat frames (under ``dark_contrast``) that the picture enters by a ramp along
        which its contrast falls evenly as it blends into the colour, and leaves by a ramp or at
        once. Into the colour at once is a cut or a flash, left to the cut test (and what follows
        to the gradual test), but for a plain colour card too short to be a shot between two of
        its ``cuts``: one transition, as a few black frames between two shots are. The run is no
        plain run: cuts inside a held colour still stand. ``blocks``: each frame's contrast of
        each block of the grid."""
        p = self.params
        flat = contrasts < p.dark_contrast
        plain = np.zeros(len(means), dtype=bool)
        for lo, hi in plain_runs:
            plain[lo : hi + 1] = True
        shot = self._shot_frames(fps)
        found: list[Boundary] = []
        n = len(means)
        for start, last in _true_runs(flat):
            end = last + 1  # the flat run is frames start..end - 1
            if plain[start:end].any():
                continue  # the turn of a fade through black or white (``fades``)
            # The colour itself is where the run is flattest: the ramps' last frames are flat
            # too, but still moving.
            flattest = start + int(np.argmin(contrasts[start:end]))
            floor, colour = float(contrasts[flattest]), float(means[flattest])
            held = (contrasts[start:end] <= floor + DIP_HOLD) & (
                np.abs(means[start:end] - colour) <= DIP_HOLD
            )
            d0, d1 = start + int(np.argmax(held)), end - 1 - int(np.argmax(held[::-1]))
            out_start = self._ramp(contrasts, d0 - 1, -1)
            in_end = self._ramp(contrasts, d1 + 1, +1)
            if not (
                d0 > 0
                and self._dip_ramp(contrasts, range(d0 - 1, out_start - 1, -1), floor)
                and self._dims_evenly(contrasts, blocks, range(out_start + 1, d0), floor)
            ):
                # A card holds one level all through, and is as flat as a colour laid on is at
                # its flattest: a short, dim or foggy shot between two cuts is a shot.
                steady = bool((np.abs(means[start:end] - colour) <= DIP_HOLD).all())
                card = steady and floor < DIP_HOLD and end - start < shot
                if card and start in cuts and end in cuts:
                    found.append(Boundary((start + end) // 2, "gradual", 1.0, (start, end - 1)))
                continue
            has_in = (
                d1 < n - 1
                and self._dip_ramp(contrasts, range(d1 + 1, in_end + 1), floor)
                and self._dims_evenly(contrasts, blocks, range(in_end - 1, d1, -1), floor)
            )
            # Held as a shot of its own, or the turn of one transition: counted where the
            # picture is all but gone (the ramps' last few percent are as flat as the colour).
            if self._held(contrasts, (d0, d1), (out_start, in_end), (True, has_in)) < shot:
                if d1 < n - 1:
                    hi = in_end if has_in else d1
                    found.append(Boundary((d0 + d1 + 1) // 2, "gradual", 1.0, (out_start, hi)))
                continue
            found.append(Boundary((out_start + d0) // 2, "gradual", 1.0, (out_start, d0 - 1)))
            if has_in:
                found.append(Boundary((d1 + 1 + in_end + 1) // 2, "gradual", 1.0, (d1 + 1, in_end)))
        return found

    @staticmethod
    def _held(
        levels: FloatArray, run: tuple[int, int], ramps: tuple[int, int], has: tuple[bool, bool]
    ) -> int:
        """How many frames of a plain run (``levels`` rising away from it: luma from black,
        less luma from white, contrast from a colour) hold the colour: those within
        ``DIP_STILL`` of the ramps' height (of those there are, ``has``) of its darkest,
        brightest or flattest frame. A slow fade's first or last frames are as dark as black's
        bar but still moving: a fade-out at once and a slow fade-in (``xfade``'s ``fadeblack``)
        are one transition, not two with a shot of black between. With no ramp either way, the
        run."""
        d0, d1 = run
        tops = [levels[end] for end, there in zip(ramps, has, strict=True) if there]
        if not tops:
            return d1 - d0 + 1
        floor = float(levels[d0 : d1 + 1].min())
        still = levels[d0 : d1 + 1] - floor <= DIP_STILL * (float(min(tops)) - floor)
        return int(still.sum())

    def _shot_frames(self, fps: float) -> int:
        """How many frames a plain run (black, white or another colour) lasts to be a shot of
        its own, not the turn of one transition."""
        return max(1, round(self.params.min_plain_shot_seconds * fps))

    def _dim_fades(
        self,
        means: FloatArray,
        run: tuple[int, int],
        ramps: tuple[int, int],
        floor: float,
        found: tuple[bool, bool],
    ) -> tuple[bool, bool, tuple[int, int]]:
        """A run of true black (``run``: its first and last frames; ``ramps``: where the ramps
        out of it end, each way; ``floor``: its darkest mean luma) that a ramp of
        ``ramp_min_rise`` does not enter or leave (``found``, each way) may still be entered or
        left by a dim picture, a night scene, fading: by no more than it is bright, and across
        the dark bar while still fading. Such a ramp is measured from the truly black frames,
        gentle all the way (from a dim picture into black at once is left to the cut test).
        Whether each way has a ramp now, and where the picture is all gone each way."""
        (d0, d1), (out_start, in_end), (has_out, has_in) = run, ramps, found
        black = means[d0 : d1 + 1] <= floor + DIP_HOLD
        first, last = d0 + int(np.argmax(black)), d1 - int(np.argmax(black[::-1]))
        dim_out = (
            not has_out and d0 > 0 and self._dims_to_black(means, range(first, out_start - 1, -1))
        )
        dim_in = (
            not has_in
            and d1 < len(means) - 1
            and self._dims_to_black(means, range(last, in_end + 1))
        )
        edges = (first if dim_out else d0, last if dim_in else d1)
        return has_out or dim_out, has_in or dim_in, edges

    def _dims_to_black(self, means: FloatArray, ramp: range) -> bool:
        """Whether mean luma falls gently into true black along ``ramp`` (frames from the first
        truly black one outwards, all the way up the fade), from at least the dark bar
        (``dark_contrast``) above the black, as bright as a picture that is more than black
        must be."""
        return _gentle(means[np.asarray(ramp)], self.params.dark_contrast)

    def _dip_ramp(self, contrasts: FloatArray, ramp: range, floor: float) -> bool:
        """Whether contrast rises gently from the colour's ``floor`` along ``ramp`` (frames
        from next to the held colour outwards), by ``ramp_min_rise`` or more (out of the colour
        at once is a cut or a flash)."""
        levels = np.concatenate([[floor], contrasts[np.asarray(ramp, dtype=np.intp)]])
        return _gentle(levels, self.params.ramp_min_rise)

    def _dims_evenly(
        self,
        contrasts: FloatArray,
        blocks: npt.NDArray[np.float16],
        ramp: range,
        floor: float,
    ) -> bool:
        """Whether the picture just before ``ramp`` (frames from the picture towards a flat
        colour) dims all over along it, as a blend with the colour does: wherever the picture
        is still clearly there, hardly a block of the grid has gone flat ahead of the rest. A pan
        onto a blank wall or sky flattens the picture part by part (so does a wipe to a colour,
        which is left to the cut and gradual tests)."""
        picture = ramp.start - ramp.step
        reference = blocks[picture]
        lit = reference >= DIP_BLOCK_MIN  # blocks with structure to lose
        height = contrasts[picture] - floor
        if lit.sum() < DIP_BLOCKS_LIT or height <= 0:
            return True  # too little structure to tell
        uneven = 0
        for t in ramp:
            left = (contrasts[t] - floor) / height  # of the picture, by the whole's contrast
            if left < DIP_CLEAR:
                continue  # near the colour the blocks' contrasts are too small to compare
            gone = int((blocks[t][lit] < reference[lit] * left * DIP_BLOCK_LAG).sum())
            uneven += gone > max(DIP_GONE_BLOCKS, DIP_GONE_SHARE * lit.sum())
        return uneven < DIP_UNEVEN_FRAMES

    def _ramp(self, levels: FloatArray, start: int, direction: int) -> int:
        """Walk from ``start`` away from a plain run while ``levels`` keep rising, pausing at
        most ``ramp_pause_frames`` frames at a time (a frame rate raised by repeating pictures
        shows each level of a fade twice or more)."""
        p = self.params
        n = len(levels)
        if not 0 <= start < n:
            return start - direction
        k = start
        while True:
            for step in range(k + direction, k + (p.ramp_pause_frames + 2) * direction, direction):
                if not (0 <= step < n and abs(step - start) < p.ramp_max_frames):
                    return k
                if levels[step] >= levels[k] + p.ramp_min_step:
                    break
                if levels[step] < levels[k] - p.ramp_min_step:
                    return k  # falling back: no pause
            else:
                return k
            k = step
