"""Decoding less: a survey over the reference frames, every frame decoded where a cut may hide.

In H.264 and HEVC most frames are usually non-reference B-frames (two thirds of the labelled 720p
clip, two fifths of the synthetic benchmark set): no other frame is predicted from them, so the
decoder can skip them (``skip_frame=NONREF``) and still reconstruct every other frame exactly.
The survey decodes the reference frames and stands in for each skipped run with blends of the
decoded frames on either side, which is what motion, dissolves and fades look like over a frame
or two. Where those two frames differ as much as a cut may (the ``must_decode`` test), the run is
decoded for real instead: back to the keyframe before it, reference frames again, then every
frame of the run. Encoders start a new picture group at most cuts, so a cut is almost always
between two decoded frames already; should seeking back cost more than surveying saves, the
rest of the video is decoded in full.

Every frame keeps its number in the full sequence: its timestamp's rank among the timestamps of
all packets, skipped ones included, which the demuxer gives before the frame is decoded.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Generator, Iterator
from fractions import Fraction
from typing import Any, Literal

import av
import av.error
import numpy as np

from videorecog.analysis.decode import (
    TALLY,
    Frame,
    Image,
    Pictures,
    Sizing,
    Window,
    prepare,
    seconds,
)

# Decoders that skip non-reference frames on request and whose frames carry their packets'
# timestamps; other codecs are decoded in full.
SURVEYED_CODECS = frozenset({"h264", "hevc"})
SEEK_BACK_SECONDS = 1.0  # first step back when a seek lands after the frame it must reach
MAX_SEEK_STEPS = 24
# Frames decoded twice because of seeking back that are tolerated before comparing them with the
# frames skipped: one early cut among B-frames does not condemn the rest of a long video.
REDECODE_ALLOWANCE = 100
# Frames announced but not given yet, beyond which the stream is not surveyed (a decoder that
# gives nothing back): memory stays bounded whatever the stream.
MAX_PENDING = 1024

# (previous, before, after, following) decoded pictures in order, the first and last possibly
# missing -> must the frames skipped between ``before`` and ``after`` be decoded?
GapTest = Callable[[Image | None, Image, Image, Image | None], bool]
Packets = Iterator["av.packet.Packet[Any]"]


class SurveyUnavailable(Exception):
    """This stream cannot be surveyed with exact frame numbers: decode it in full instead."""


class Survey:
    """The frames ``decode.iter_frames(..., pixel_format="yuv444p", deblock=False)`` gives, with
    the same numbers and times, where a skipped frame's image is a blend of its neighbours unless
    ``must_decode(previous, before, after, following)`` says its run must be decoded.

    Raises (constructing or iterating):
        SurveyUnavailable: a codec that is not surveyed, a packet without a timestamp, a damaged
            packet... The caller starts over with ``iter_frames``, which also tells what is
            wrong with a bad file.
    """

    def __init__(
        self,
        container: av.container.InputContainer,
        stream: av.video.stream.VideoStream,
        *,
        width: int,
        height: int,
        must_decode: GapTest,
        sample_every: float = 0.0,
        sample_size: tuple[int, int] = (0, 0),
        threads: int = 0,
        window: Window | None = None,
        sizing: Sizing | None = None,
    ) -> None:
        name = stream.codec_context.name
        if name not in SURVEYED_CODECS:
            raise SurveyUnavailable(f"{name} is decoded in full")
        self.container, self.stream, self.must_decode = container, stream, must_decode
        self.threads = threads  # the decoder's (``decode.prepare``)
        self.pictures = Pictures(
            width, height, "yuv444p", sample_every, sample_size, window=window, sizing=sizing
        )
        self.time_base = stream.time_base or Fraction(1, 1)
        # Timestamps of the packets demuxed so far that come after the last frame given, in
        # display order: the frames still to give, skipped or not.
        self.pending: list[int] = []
        self.newest: int | None = None  # demux position (dts, else byte offset), newest packet
        self.last: Frame | None = None  # the last frame given; always a decoded one
        self.previous: Image | None = None  # the decoded frame before it
        # The newest decoded frame and its image, given once the frame after it is decoded:
        # whether the run skipped before it must be decoded looks at both of its neighbours.
        self.held: tuple[av.VideoFrame, int, Image] | None = None
        self.last_pts = -(2**63)
        self.index = 0
        self.exact_before: int | None = None  # decode every frame up to this timestamp
        self.decode_all = False
        # What it took, for tests and benchmarks.
        self.blended = 0  # frames given as blends
        self.redecoded = 0  # frames decoded twice because of seeking back
        self.seeks = 0

    def __iter__(self) -> Iterator[Frame]:
        return self._frames()

    def _frames(self) -> Iterator[Frame]:
        TALLY.passes += 1
        prepare(self.stream, deblock=False, threads=self.threads)
        packets: Packets = self.container.demux(self.stream)
        while True:
            needs_seek = yield from self._decode(packets)
            if not needs_seek:
                if not self.pending:
                    break
                # Skipped frames after the last decoded one: nothing to blend them with.
                if self.last is None or self.exact_before is not None:
                    raise SurveyUnavailable("frames at the end could not be decoded")
                self.exact_before = self.pending[-1] + 1
            if self.redecoded > max(self.blended, REDECODE_ALLOWANCE):
                # Seeking back has cost more than skipping saved (cuts in the middle of picture
                # groups, most likely throughout): decode the rest in full.
                self.decode_all = True
            packets = self._seek_back()
        if self.last is None:
            raise SurveyUnavailable("no frame decoded")

    def _decode(self, packets: Packets) -> Generator[Frame, None, bool]:
        """Give frames until the end (False) or until a skipped run must be decoded (True)."""
        skipping: Literal["DEFAULT", "NONREF"] | None = None
        for packet in packets:
            self._announce(packet)
            exact = self.decode_all or (
                self.exact_before is not None
                and packet.pts is not None
                and self.last_pts < packet.pts < self.exact_before
            )
            wanted: Literal["DEFAULT", "NONREF"] = "DEFAULT" if exact else "NONREF"
            if wanted != skipping:
                self.stream.codec_context.skip_frame = skipping = wanted
            try:
                decoded = packet.decode()
            except av.error.FFmpegError as exc:
                raise SurveyUnavailable(f"damaged packet: {exc}") from None
            TALLY.frames += len(decoded)
            for frame in decoded:
                if frame.pts is None:
                    raise SurveyUnavailable("a frame without a timestamp")
                if frame.pts <= self.last_pts:
                    self.redecoded += 1  # decoded again after seeking back
                    continue
                image = self.pictures.image(frame)
                if (yield from self._release_held(image)):
                    return True
                self.held = (frame, frame.pts, image)
        return (yield from self._release_held(None))

    def _release_held(self, following: Image | None) -> Generator[Frame, None, bool]:
        """Give the held frame, after blends for the run skipped before it -- unless that run
        must be decoded: then let the held frame go (it is decoded again after seeking back)
        and answer True."""
        if self.held is None:
            return False
        frame, pts, image = self.held
        self.held = None
        gap = self._gap(pts)
        if gap:
            if self.last is None or self.exact_before is not None:
                raise SurveyUnavailable("skipped frames that could not be decoded")
            if self.must_decode(self.previous, self.last.image, image, following):
                self.exact_before = pts
                return True
            yield from self._blends(gap, self.last.image, image)
        shown = seconds(pts, self.time_base)
        self.previous = self.last.image if self.last is not None else None
        self.last = Frame(self.index, shown, image, self.pictures.sample(frame, shown))
        yield self.last
        self.index += 1
        self.last_pts = pts
        del self.pending[: len(gap) + 1]
        if self.exact_before is not None and pts >= self.exact_before:
            self.exact_before = None
        return False

    def _announce(self, packet: av.packet.Packet[Any]) -> None:
        """Note the timestamp of a frame to come (once, though seeking back demuxes it again)."""
        if packet.size == 0 or packet.is_discard:
            return  # the end-of-stream flush; a packet decoded only as a reference
        if packet.pts is None or packet.is_corrupt:
            raise SurveyUnavailable("a packet without a timestamp, or flagged corrupt")
        position = packet.dts if packet.dts is not None else packet.pos
        if position is None or (packet.dts is None and position < 0):
            raise SurveyUnavailable("a packet without a position")
        if self.newest is not None and position <= self.newest:
            return
        self.newest = position
        if packet.pts <= self.last_pts:
            raise SurveyUnavailable("a packet shown before frames already given")
        if len(self.pending) >= MAX_PENDING:
            raise SurveyUnavailable(f"{MAX_PENDING} frames skipped in a row")
        bisect.insort(self.pending, packet.pts)

    def _gap(self, pts: int) -> list[int]:
        """The timestamps of the skipped frames before the decoded frame at ``pts``."""
        k = bisect.bisect_left(self.pending, pts)
        if k == len(self.pending) or self.pending[k] != pts:
            raise SurveyUnavailable("a frame whose packet was not demuxed")
        return self.pending[:k]

    def _blends(self, gap: list[int], before: Image, after: Image) -> Iterator[Frame]:
        steps = len(gap) + 1
        start = before.astype(np.int16)
        change = after.astype(np.int16) - start
        for k, pts in enumerate(gap, start=1):
            image = (start + change * k // steps).astype(np.uint8)
            yield Frame(self.index, seconds(pts, self.time_base), image)
            self.index += 1
            self.blended += 1

    def _seek_back(self) -> Packets:
        """Packets from a keyframe at or before the last frame given."""
        self.seeks += 1
        target = self.last_pts
        step = max(1, round(SEEK_BACK_SECONDS / self.time_base))
        for _ in range(MAX_SEEK_STEPS):
            self.container.seek(target, backward=True, stream=self.stream)
            packets = self.container.demux(self.stream)
            first = next(packets, None)
            if first is not None and first.pts is not None and first.pts <= self.last_pts:
                return itertools.chain([first], packets)
            target, step = target - step, step * 2
        raise SurveyUnavailable("no keyframe before the frames to decode")
