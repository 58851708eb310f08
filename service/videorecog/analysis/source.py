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
"""

from __future__ import annotations

from collections.abc import Iterable

import av

from videorecog.analysis import decode
from videorecog.analysis.shots import CutGate, DetectorParams
from videorecog.analysis.survey import Survey

ANALYSIS_WIDTH = 64  # the detector's frames (height by aspect ratio)
# From this many frames on (by the container's duration), small frames are resized by OpenCV
# (``decode.PlaneResizer``): its import, about 80 ms, is repaid from about 600 frames of 160x90.
RESIZE_MIN_FRAMES = 1000


def analysis_frames(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    info: decode.VideoInfo,
    params: DetectorParams,
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
    width, height = decode.scaled_size(info.width, info.height, ANALYSIS_WIDTH)
    if survey:
        return Survey(
            container,
            stream,
            width=width,
            height=height,
            must_decode=CutGate(params),
            sample_every=sample_every,
            sample_size=sample_size,
            threads=threads,
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
    )
