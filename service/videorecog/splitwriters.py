"""Writing ``split``'s pieces in one pass over the source: packets copied, frames re-encoded.

Packets of copied parts are muxed as they come; when any piece re-encodes frames, every packet is
decoded too (the decoder needs all references) and the frames outside copied parts are encoded.
The first audio stream's packets go into the file of the shot whose time span holds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import av
import av.error

from videorecog.avc import PPS, SPS, X264_PROFILES, AvcConfig, annex_b_units, nal_type
from videorecog.split import Plan, Progress

ENCODE_CRF = 18
ENCODE_PRESET = "veryfast"


def _x264_options(**extra: str) -> dict[str, str]:
    return {"crf": str(ENCODE_CRF), "preset": ENCODE_PRESET, **extra}


def _rate(video: Any) -> Fraction:
    return Fraction(video.average_rate or video.guessed_rate or 25)


def _time_base(video: Any) -> Fraction:
    return Fraction(video.time_base or Fraction(1, 90000))


class _Writer:
    """One shot's file: its video (``add_packet``, ``add_frame``) and the source's audio packets
    of its time span (``add_audio``), timestamps shifted so that the shot starts at 0."""

    def __init__(self, plan: Plan, video: Any, audio: Any | None) -> None:
        self.plan = plan
        self.output = av.open(str(plan.piece.path), mode="w")
        self.video_time_base = _time_base(video)
        self.audio: Any | None = None
        self.stream = self._video_stream(video)
        if audio is not None:
            self.audio = self.output.add_stream_from_template(audio)
            self.audio_shift = round(plan.start_pts * self.video_time_base / audio.time_base)

    def _video_stream(self, video: Any) -> Any:
        return self.output.add_stream_from_template(video)

    def add_packet(self, packet: Any) -> None:
        raise NotImplementedError

    def add_frame(self, frame: Any) -> None:
        raise NotImplementedError

    def add_audio(self, packet: Any) -> None:
        packet.pts -= self.audio_shift
        if packet.dts is not None:
            packet.dts -= self.audio_shift
        packet.stream = self.audio
        self.output.mux(packet)

    def _shifted(self, frame: Any) -> Any:
        frame.pts -= self.plan.start_pts
        frame.time_base = self.video_time_base
        # The source's picture types would force its keyframes on the encoder.
        frame.pict_type = av.video.frame.PictureType.NONE
        return frame

    def close(self) -> None:
        self.output.close()


class _Copy(_Writer):
    """The shot's packets as they are."""

    def add_packet(self, packet: Any) -> None:
        shift = self.plan.start_pts
        packet.pts -= shift
        if packet.dts is not None:
            packet.dts -= shift
        packet.stream = self.stream
        self.output.mux(packet)


class _Encode(_Writer):
    """The shot's decoded frames, encoded again (libx264)."""

    def _video_stream(self, video: Any) -> Any:
        stream = self.output.add_stream("libx264", rate=_rate(video))
        stream.width = video.codec_context.width
        stream.height = video.codec_context.height
        stream.pix_fmt = "yuv420p"
        stream.options = dict[str, object](_x264_options())
        stream.codec_context.time_base = self.video_time_base
        return stream

    def add_frame(self, frame: Any) -> None:
        for packet in self.stream.encode(self._shifted(frame)):
            self.output.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode(None):
            self.output.mux(packet)
        self.output.close()


class _Smart(_Copy):
    """The copied part's packets as they are; the frames before it (head) and after it (tail)
    encoded again, each by an encoder of its own whose parameter sets join the source's in the
    file's decoder configuration (see ``split``'s docstring). Copied packets wait until the head
    is written: the decoder hands out the head's last frames after the copied part has begun."""

    def __init__(self, plan: Plan, video: Any, audio: Any | None, avc: AvcConfig) -> None:
        self.video, self.source_avc = video, avc
        self.parameter_set_id = avc.free_id()
        super().__init__(plan, video, audio)
        self.encoder: Any | None = None
        self.head_left = plan.head_frames
        self.head: list[Any] = []  # the head's packets, muxed once all are known
        self.waiting: list[Any] = []  # copied packets that came before the head was done

    def _video_stream(self, video: Any) -> Any:
        stream = super()._video_stream(video)
        own = self._encoder().extradata or b""
        self.avc = self.source_avc.with_sets(
            u for u in annex_b_units(own) if nal_type(u) in (SPS, PPS)
        )
        stream.codec_context.extradata = self.avc.to_bytes()
        return stream

    def _encoder(self) -> Any:
        context = av.CodecContext.create("libx264", "w")
        source = self.video.codec_context
        context.width, context.height, context.pix_fmt = source.width, source.height, "yuv420p"
        context.time_base = self.video_time_base
        context.framerate = _rate(self.video)
        context.options = _x264_options(
            profile=X264_PROFILES[self.source_avc.profile],
            # No B-frames: the head's decoding times fit below the copied part's (``_end_head``).
            **{"x264-params": f"sps-id={self.parameter_set_id}:bframes=0"},
        )
        # Parameter sets in extradata, not in the pictures: they go into the configuration.
        context.flags |= av.codec.context.Flags.global_header
        context.open()
        return context

    def add_packet(self, packet: Any) -> None:
        if self.head_left > 0:
            self.waiting.append(packet)
        else:
            super().add_packet(packet)

    def add_frame(self, frame: Any) -> None:
        if self.encoder is None:
            self.encoder = self._encoder()
        packets = self.encoder.encode(self._shifted(frame))
        if self.head_left == 0:
            self._mux_encoded(packets)
            return
        self.head += packets
        self.head_left -= 1
        if self.head_left == 0:
            self._end_head()

    def _end_head(self) -> None:
        """Every packet of the head is known: each decoding time is made at most its presentation
        time and below the first copied packet's; then the copied packets that waited."""
        self.head_left = 0
        head, self.head = [*self.head, *self._flush()], []
        below = self.plan.copy_dts - self.plan.start_pts
        for n, packet in enumerate(head):
            self._mux_encoded([packet], dts=min(packet.pts, below - (len(head) - n)))
        waiting, self.waiting = self.waiting, []
        for packet in waiting:
            super().add_packet(packet)

    def _flush(self) -> list[Any]:
        encoder, self.encoder = self.encoder, None
        return list(encoder.encode(None)) if encoder is not None else []

    def _mux_encoded(self, packets: Sequence[Any], dts: int | None = None) -> None:
        """Encoded packets as length-prefixed samples. A tail packet's decoding time is its
        presentation time: every copied frame comes before the tail, so theirs are lower."""
        for packet in packets:
            units = [u for u in annex_b_units(bytes(packet)) if nal_type(u) not in (SPS, PPS)]
            sample = av.Packet(self.avc.sample(units))
            sample.pts = packet.pts
            sample.dts = packet.pts if dts is None else dts
            sample.time_base = self.video_time_base
            sample.is_keyframe = packet.is_keyframe
            sample.stream = self.stream
            self.output.mux(sample)

    def close(self) -> None:
        if self.head_left > 0:  # frames that did not decode: write what there is
            self._end_head()
        self._mux_encoded(self._flush())
        self.output.close()


def _find(plans: Sequence[Plan], pts: int) -> Plan | None:
    for plan in plans:
        if pts >= plan.start_pts and (plan.end_pts is None or pts < plan.end_pts):
            return plan
    return None


class _Splitter:
    """Routes packets and frames to the shots' files; opens a file at its shot's first packet
    and closes it once the stream is ``CLOSE_AFTER_SECONDS`` past its end (audio packets come
    a little after the video of the same time)."""

    CLOSE_AFTER_SECONDS = 2.0

    def __init__(
        self, plans: Sequence[Plan], video: Any, audio: Any | None, avc: AvcConfig | None
    ) -> None:
        self.plans, self.video, self.audio, self.avc = plans, video, audio, avc
        self.writers: dict[int, _Writer] = {}
        self.finished: set[int] = set()
        self.margin = round(self.CLOSE_AFTER_SECONDS / _time_base(video))

    def _writer(self, plan: Plan) -> _Writer | None:
        key = plan.piece.shot
        if key in self.finished:
            return None
        if key not in self.writers:
            method = plan.piece.method
            if method == "smart" and self.avc is not None:
                self.writers[key] = _Smart(plan, self.video, self.audio, self.avc)
            else:
                kind = _Copy if method == "copy" else _Encode
                self.writers[key] = kind(plan, self.video, self.audio)
        return self.writers[key]

    def packet(self, packet: Any) -> bool:
        """Mux a video packet into its shot's file if it is in a copied part."""
        if packet.pts is None or not packet.size:
            return False
        plan = _find(self.plans, packet.pts)
        if plan is None or not plan.copies(packet.pts):
            return False
        self._close_before(packet.pts)
        writer = self._writer(plan)
        if writer is not None:
            writer.add_packet(packet)
        return True

    def frame(self, frame: Any) -> None:
        """Encode a decoded frame into its shot's file if it is outside the copied part."""
        if frame.pts is None:
            return
        self._close_before(frame.pts)
        plan = _find(self.plans, frame.pts)
        if plan is not None and not plan.copies(frame.pts):
            writer = self._writer(plan)
            if writer is not None:
                writer.add_frame(frame)

    def audio_packet(self, packet: Any) -> None:
        if packet.pts is None or not packet.size:
            return
        at = round(packet.pts * packet.time_base / self.video.time_base)
        plan = _find(self.plans, at)
        writer = self._writer(plan) if plan is not None else None
        if writer is not None:
            writer.add_audio(packet)

    def _close_before(self, pts: int) -> None:
        for key in list(self.writers):
            end = self.writers[key].plan.end_pts
            if end is not None and end + self.margin <= pts:
                self.writers.pop(key).close()
                self.finished.add(key)

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()


def write(
    path: str, plans: Sequence[Plan], avc: AvcConfig | None, progress: Progress | None
) -> None:
    """Write every piece of ``plans`` in one pass over ``path``."""
    encoding = any(p.piece.encoded_frames for p in plans)
    container = av.open(path, mode="r")
    try:
        video = container.streams.video[0]
        video.thread_type = "AUTO"
        audio = container.streams.audio[0] if container.streams.audio else None
        splitter = _Splitter(plans, video, audio, avc)
        done = 0
        try:
            for packet in container.demux(*(s for s in (video, audio) if s is not None)):
                if audio is not None and packet.stream is audio:
                    splitter.audio_packet(packet)
                    continue
                # Decoded before it is copied: copying re-times the packet.
                frames = _decode(packet) if encoding else []
                copied = splitter.packet(packet)
                for frame in frames:
                    splitter.frame(frame)
                done += len(frames) if encoding else int(copied)
                if progress is not None:
                    progress(done)
        finally:
            splitter.close()
    finally:
        container.close()


def _decode(packet: Any) -> list[Any]:
    try:
        return list(packet.decode())
    except av.error.FFmpegError:
        return []
