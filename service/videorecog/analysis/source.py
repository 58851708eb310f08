"""The frames one pass gives the detector: every frame, or the video surveyed when asked.

By default every frame is decoded, without the in-loop deblocking filter
(``decode.iter_frames``). A survey (``survey.Survey``: reference frames decoded, the frames
skipped between them blended unless a cut may hide there) is 10-20% faster on HD video but not
the default: blends change less from frame to frame than real frames do, so the cut test's
baseline (its neighbours' changes) drops and a motion burst, a flash or an overlay between two
decoded frames can stand out as a cut (3 false detections on 6 HD files of the benchmark's hard
sets, none with every frame decoded). In a video of ``RESIZE_MIN_FRAMES`` or more, frames
too small for ``decode.PlaneSampler`` are resized by OpenCV (``decode.PlaneResizer``); both
parallel stretches of one video and a single pass over it decide alike, from the container.

What the detector is given is settled once per video (``Setup``): its parameters at the video's
frame rate, and the picture inside any letterbox or pillarbox bars or blurred fill
(``letterbox``), scaled to ``ANALYSIS_WIDTH`` as a picture without bars would be: the decoder's
planes are cut to it before they are scaled. A single pass finds the bars from the first frame
it decodes (and opens the file again only if that one may have bars or fill); the stretches of a
split video are given them, found beforehand from the same frames.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

import av

from videorecog.analysis import decode, letterbox
from videorecog.analysis.detection import DetectorParams
from videorecog.analysis.shots import CutGate
from videorecog.analysis.survey import Survey

ANALYSIS_WIDTH = 64  # the detector's frames (height by aspect ratio)
# From this many frames on (by the container's duration), small frames are resized by OpenCV
# (``decode.PlaneResizer``): its import, about 80 ms, is repaid from about 600 frames of 160x90.
RESIZE_MIN_FRAMES = 1000


@dataclass(frozen=True)
class Setup:
    """How the detector looks at one video; every process that scans part of it uses the same."""

    path: str
    info: decode.VideoInfo  # from ``decode.probe``
    params: DetectorParams  # at the video's frame rate (``DetectorParams.at_rate``)
    # The picture inside its bars; None: found from the first frame the pass decodes.
    area: letterbox.Area | None = None

    @classmethod
    def of(cls, path: str, info: decode.VideoInfo) -> Setup:
        return cls(path, info, DetectorParams().at_rate(info.fps))

    def settled(self, container: av.container.InputContainer) -> Setup:
        """This setup with its picture area found now (before any pass), from ``container``:
        the video opened already, its video stream not decoding yet (``letterbox.area_in``)."""
        if self.area is not None:
            return self
        return dataclasses.replace(self, area=letterbox.area_in(container, self.info))

    def scaling_from(self, first: av.VideoFrame) -> tuple[int, int, decode.Window | None]:
        """``scaling`` with the bars found from the video's first frame, ``first``."""
        area = letterbox.picture_area(self.path, self.info, first)
        return dataclasses.replace(self, area=area).scaling()

    def scaling(self) -> tuple[int, int, decode.Window | None]:
        """The analysis frames' size, and the part of each frame they show: the picture inside
        the bars (its edges at even pixels), ``ANALYSIS_WIDTH`` wide as the video would be
        without bars (never enlarged); without bars, or before they are found, the whole."""
        info, area = self.info, self.area
        if area is None or area.is_whole(info):
            return (*decode.scaled_size(info.width, info.height, ANALYSIS_WIDTH), None)
        window = (
            area.left + area.left % 2,
            area.top + area.top % 2,
            area.right - area.right % 2,
            area.bottom - area.bottom % 2,
        )
        left, top, right, bottom = window
        return (*decode.scaled_size(right - left, bottom - top, ANALYSIS_WIDTH), window)


def analysis_frames(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    setup: Setup,
    *,
    survey: bool = False,
    sample_every: float = 0.0,
    sample_size: tuple[int, int] = (0, 0),
    threads: int = 0,
    references_before: float | None = None,
) -> Iterable[decode.Frame]:
    """The frames from the container's position on, at the detector's size. ``survey``: decode
    reference frames only, where that is exact (``survey.Survey``). ``threads``: the decoder's
    (``decode.prepare``). ``references_before``: frames shown before this time (seconds) are
    not wanted, only decoded where others are predicted from them (the survey skips those
    anyway).

    Raises (iterating):
        SurveyUnavailable: the stream cannot be surveyed (see ``Survey``): decode it in full.
        InvalidVideo: see ``decode.iter_frames``.
    """
    info = setup.info
    width, height, window = setup.scaling()
    sizing = setup.scaling_from if setup.area is None else None
    if survey:
        return Survey(
            container,
            stream,
            width=width,
            height=height,
            must_decode=CutGate(setup.params),
            sample_every=sample_every,
            sample_size=sample_size,
            threads=threads,
            window=window,
            sizing=sizing,
        )
    return decode.iter_frames(
        container,
        stream,
        width=width,
        height=height,
        pixel_format="yuv444p",
        sample_every=sample_every,
        sample_size=sample_size,
        deblock=False,
        threads=threads,
        references_before=references_before,
        resize_small=info.duration * info.fps >= RESIZE_MIN_FRAMES,
        window=window,
        sizing=sizing,
    )
