"""What a shot detector reports (``Boundary``, ``ShotDetector``) and the parameters it decides
with (``DetectorParams``, scaled to a video's frame rate by ``at_rate`` and ``rate_factor`` from
``BASE_RATE``): used by the frame-by-frame tests (``shots.py``), the fades found from the whole
video's luma (``fades.py``) and the modules that use the boundaries."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from videorecog.analysis.decode import Frame

__all__ = ["BASE_RATE", "Boundary", "DetectorParams", "ShotDetector", "rate_factor"]

# The frame rate that the spans in frames of ``DetectorParams`` are for (``at_rate``).
BASE_RATE = 25.0


@dataclass(frozen=True)
class Boundary:
    frame: int  # first frame of the new shot (a gradual transition: its midpoint)
    kind: Literal["cut", "gradual"]
    score: float
    span: tuple[int, int]  # frames the transition covers (a cut: (frame, frame))
    window: int = 0  # the gradual test's half-window that found it (0: not that test)


class ShotDetector(Protocol):
    def detect(self, frames: Iterable[Frame], fps: float) -> list[Boundary]:
        """Boundaries in frame order; frame 0 is never one (it starts the first shot)."""
        ...


@dataclass(frozen=True)
class DetectorParams:
    """Named defaults. Each threshold is a ratio to the video's own changes or a noise floor."""

    window: int = 8  # half-window of the cut test's neighbourhood
    # How many times its neighbours' median change a cut's change is (geometric mean over the
    # histogram, pixel and structure changes).
    cut_standout: float = 3.0
    # Noise floors added to the neighbours' median (a still shot changes by about nothing):
    # histogram, pixel and structure changes.
    floors: tuple[float, float, float] = (0.005, 0.02, 0.005)
    # The survey decodes skipped frames for real where their decoded neighbours' change stands
    # out this much: lower than ``cut_standout``, so no cut is blended away.
    survey_standout: float = 2.0
    cut_structure_min: float = 1.5  # ...and the structure change alone at least this much
    # A frame whose pixel and structure changes are both under this share of its window's
    # upper quartile (at least of the floors), next to one that changed, repeats the picture
    # before it (``repeated``); repeats are left out of a cut's neighbours where at least
    # ``changed_share`` of them are not (a frame rate raised by repeating pictures): 4 of 16,
    # and as many of fewer at either end of the video.
    repeat_share: float = 0.1
    changed_share: float = 0.25
    flash_frames: int = 4  # a picture that returns within this many frames was a flash
    # "returns": standing out under this share of the jump, and less than a cut would
    flash_similarity: float = 0.5
    merge_frames: int = 2  # detections this close are one boundary
    # A jolt of the camera, not a cut: after the best global shift less than this share of the
    # change is left.
    jolt_residual_max: float = 0.5
    # A change of light or a jolt within a shot, not a cut: the edges stay where they were,
    # pointing the same way (``signals.edge_agreement`` over this; cuts between two shots
    # measured at most 0.65 on the tuning sets, such changes 0.80 and more).
    edge_agreement_max: float = 0.75
    # In a moving shot, whose frames' changes are shifts, a cut need only stand out this much, if
    # after the best global shift at least ``moving_cut_residual`` of its change is left.
    moving_cut_standout: float = 2.0
    moving_cut_residual: float = 0.8
    # W: the gradual test's half-windows, one test each (a dissolve longer than 2W fills it).
    gradual_windows: tuple[int, ...] = (8, 16)
    context: int = 8  # C: the steady stretch expected on each side of the window
    # The change from frame t-W to t+W over the larger change inside the contexts beside it
    # (t-W-C to t-W, t+W to t+W+C), geometric mean over the three signals.
    gradual_standout: float = 3.0
    # ...or the mean histograms of the two contexts differ (``gradual_min``), over
    # ``context_ratio`` times the largest distance of a context's frame from its mean, and the
    # change still stands out ``gradual_corroboration`` times (an exposure drift does not).
    gradual_min: float = 0.17
    context_ratio: float = 1.5
    gradual_corroboration: float = 1.3
    gradual_ratio: float = 2.5  # spread-out test: that change over the largest single step
    # ...and frame t must be close to a blend of frames t-W and t+W (on luma shrunk 4x more, which
    # tolerates the slow motion inside a dissolve but not the displacement of a fast pan).
    blend_residual_max: float = 0.5
    min_run: int = 3  # a transition holds for at least this many consecutive centres
    # Camera motion, not a transition: one global shift explains most of the change between
    # frames t-w/2 and t+w/2, w the shortest window, or between frames t-1 and t+1 (residual
    # after the best shift below this share of the raw change).
    motion_residual_max: float = 0.5
    # A frame is black under ``dark_luma`` mean luma (0..255) if it is also flat, under
    # ``dark_contrast``: black frames measure under 6 on the footage here (compression noise, a
    # faint logo), under heavy film grain 8, while a night scene's dark pictures measure 14-30.
    dark_luma: float = 20.0
    dark_contrast: float = 10.0
    # A frame is white over ``white_luma`` with less contrast than ``white_contrast`` (limited-
    # range video puts white at 235).
    white_luma: float = 215.0
    white_contrast: float = 8.0
    # A fade ramp climbs at least this much: in mean luma, or out of black in contrast too;
    # out of another colour, in contrast.
    ramp_min_rise: float = 25.0
    ramp_max_frames: int = 60
    ramp_min_step: float = 0.3  # along a ramp mean luma moves at least this much per frame
    ramp_pause_frames: int = 0  # ...but for pauses this long (``at_rate``)
    # A dark or white run shorter than this is the turn of one fade, not a shot of its own.
    min_plain_shot_seconds: float = 0.3
    histogram_bins: tuple[int, int, int] = (16, 8, 8)  # Y, U, V
    # A slide (``slides.py``) moves the picture for this many frames, fewest and most (about
    # two seconds: with its calm and the frames read around it, as many as a stretch's margin
    # holds, ``segments.MARGIN``), each frame by at least this share of its size along the axis
    # of the move, by this many times its size in all, with this many frames of calm on either
    # side. Both pictures move at one speed: measured on the whole pictures, no frame of the run
    # moves more than ``slide_steady`` times its median (motion all over the place in a burst
    # of quick shots does, and can add up to a picture's size).
    slide_frames: tuple[int, int] = (3, 54)
    slide_speed: float = 1 / 64
    slide_travel: tuple[float, float] = (0.75, 1.5)
    slide_still: int = 3
    slide_steady: float = 2.0
    # Moves are measured between frames this many apart (``at_rate``): at 50 or 60 frames/s a
    # frame's own move is half a 25th of a second's, too small to tell from noise.
    slide_step: int = 1
    # Frames read beyond a slide's calm on either side to measure it again on the whole
    # pictures (its first estimate's ends may be a few frames off).
    slide_read: int = 3

    @property
    def slide_reach(self) -> int:
        """Frames a slide test looks at back from the last frame of the slide's calm after it:
        the longest run, its calm either side, the frames read around them, and the frames its
        first moves are measured from (``AdaptiveShotDetector._slides``)."""
        return self.slide_frames[1] + 2 * self.slide_still + self.slide_read + self.slide_step

    def at_rate(self, fps: float) -> DetectorParams:
        """These parameters for a video of ``fps`` frames a second. A dissolve, a flash or a
        fade lasts about as long at any frame rate, so the spans that measure such durations
        (the gradual test's windows, contexts and shortest run, a flash, a fade's ramp, the
        distance at which detections are one, the longest slide and the calm around it) are
        counted in frames of ``BASE_RATE`` times ``rate_factor``: twice as many at 50 or 60
        frames/s. (At 50 frames/s with the spans of 25, a motion burst of a quarter second
        passed for a dissolve.) The cut test's neighbours are a number of changes to take the
        median of, not a duration: they stay; so does the shortest slide, three frames of
        moving (a slide over fewer is a jump the cut tests see). A slide's moves are measured
        between frames ``rate_factor`` apart, so its speed bar stays a share of the picture a
        25th of a second.

        A fade's ramp may pause for as many frames as a conversion from ``BASE_RATE`` repeats a
        picture in a row: ``fps / BASE_RATE`` rounded up, less one (a rate at most a tenth of
        ``BASE_RATE`` above a multiple of it counts as that multiple): none at 24-27 frames/s,
        one at 30 or 50, two at 60. A ramp that stopped at a repeated level found no fade."""
        factor = rate_factor(fps)
        return dataclasses.replace(
            self,
            ramp_pause_frames=max(0, math.ceil(fps / BASE_RATE - 0.1) - 1),
            gradual_windows=tuple(w * factor for w in self.gradual_windows),
            context=self.context * factor,
            min_run=self.min_run * factor,
            flash_frames=self.flash_frames * factor,
            merge_frames=self.merge_frames * factor,
            ramp_max_frames=self.ramp_max_frames * factor,
            ramp_min_step=self.ramp_min_step / factor,
            slide_frames=(self.slide_frames[0], self.slide_frames[1] * factor),
            slide_still=self.slide_still * factor,
            slide_step=factor,
        )


def rate_factor(fps: float) -> int:
    """How many frames of a video of ``fps`` frames a second last as long as one of
    ``BASE_RATE``, to the nearest whole number: 1 up to 37 frames/s, 2 at 50 or 60."""
    return max(1, round(fps / BASE_RATE))
