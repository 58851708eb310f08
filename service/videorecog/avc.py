"""Just enough of H.264's byte formats for ``split``'s smart cut.

A file that mixes copied and re-encoded H.264 must declare both encoders' parameter sets (SPS
and PPS) in its one decoder configuration (``avcC``, ISO/IEC 14496-15), under different ids, and
store every picture as length-prefixed NAL units. libx264 writes its parameter sets and pictures
as Annex B byte streams (start codes): they are converted here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

IDR_SLICE = 5
SPS = 7
PPS = 8
MAX_PARAMETER_SET_ID = 31  # x264's limit; the standard allows 31 SPS and 255 PPS ids
# The profiles libx264 encodes at 8-bit 4:2:0, by profile_idc.
X264_PROFILES = {66: "baseline", 77: "main", 100: "high"}

_START_CODE = re.compile(b"\x00\x00\x01")


class AvcError(ValueError):
    """Bytes that are not the H.264 structure expected."""


@dataclass(frozen=True)
class AvcConfig:
    """An ``AVCDecoderConfigurationRecord``: the parameter sets and the NAL length size."""

    profile: int
    compatibility: int
    level: int
    length_size: int  # bytes of each NAL unit's length prefix
    sps: tuple[bytes, ...]
    pps: tuple[bytes, ...]
    extension: bytes = b""  # the High profiles' chroma and bit-depth fields, kept as they are

    @classmethod
    def parse(cls, data: bytes) -> AvcConfig:
        """Raises AvcError: not a version-1 record (an Annex B stream, say)."""
        if len(data) < 7 or data[0] != 1:
            raise AvcError("not an avcC record")
        at = 5
        sets: list[tuple[bytes, ...]] = []
        for mask in (0x1F, 0xFF):
            count = data[at] & mask
            at += 1
            units = []
            for _ in range(count):
                size = int.from_bytes(data[at : at + 2], "big")
                units.append(data[at + 2 : at + 2 + size])
                at += 2 + size
            if at > len(data):
                raise AvcError("truncated avcC record")
            sets.append(tuple(units))
        return cls(data[1], data[2], data[3], (data[4] & 3) + 1, sets[0], sets[1], data[at:])

    def to_bytes(self) -> bytes:
        out = bytearray([1, self.profile, self.compatibility, self.level])
        out += bytes([0xFC | (self.length_size - 1), 0xE0 | len(self.sps)])
        for unit in self.sps:
            out += len(unit).to_bytes(2, "big") + unit
        out.append(len(self.pps))
        for unit in self.pps:
            out += len(unit).to_bytes(2, "big") + unit
        return bytes(out + self.extension)

    def free_id(self) -> int:
        """The lowest id that neither an SPS nor a PPS of this record uses.

        Raises:
            AvcError: every id up to ``MAX_PARAMETER_SET_ID`` is taken.
        """
        used = {parameter_set_id(u) for u in self.sps + self.pps}
        for candidate in range(MAX_PARAMETER_SET_ID + 1):
            if candidate not in used:
                return candidate
        raise AvcError("no free parameter set id")

    def with_sets(self, units: Iterable[bytes]) -> AvcConfig:
        """This record plus the SPS and PPS among ``units``; the level is the higher of the two
        encoders' (the profile is assumed the same: ``X264_PROFILES``)."""
        new = list(units)
        sps = tuple(u for u in new if nal_type(u) == SPS)
        pps = tuple(u for u in new if nal_type(u) == PPS)
        level = max([self.level, *(u[3] for u in sps)])
        compatibility = self.compatibility
        for unit in sps:
            compatibility &= unit[2]
        return replace(
            self,
            level=level,
            compatibility=compatibility,
            sps=self.sps + sps,
            pps=self.pps + pps,
        )

    def units(self, sample: bytes) -> list[bytes]:
        """The NAL units of a length-prefixed sample."""
        units, at = [], 0
        while at + self.length_size <= len(sample):
            size = int.from_bytes(sample[at : at + self.length_size], "big")
            at += self.length_size
            units.append(sample[at : at + size])
            at += size
        return units

    def sample(self, units: Iterable[bytes]) -> bytes:
        """Length-prefixed NAL units, as this record says samples are stored."""
        return b"".join(len(u).to_bytes(self.length_size, "big") + u for u in units)

    def is_idr(self, sample: bytes) -> bool:
        """Whether a sample holds an IDR picture: one after which nothing refers to a picture
        before it, and where a decoder may switch to other parameter sets."""
        return any(nal_type(u) == IDR_SLICE for u in self.units(sample))


def nal_type(unit: bytes) -> int:
    return unit[0] & 0x1F if unit else 0


def annex_b_units(stream: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte stream (3- or 4-byte start codes)."""
    parts = _START_CODE.split(stream)
    # A 4-byte start code leaves its leading zero at the end of the unit before; NAL units never
    # end with a zero byte (their trailing bits end in a 1).
    return [p.rstrip(b"\x00") for p in parts[1:] if p.rstrip(b"\x00")]


def parameter_set_id(unit: bytes) -> int:
    """The id of an SPS or a PPS (``seq_parameter_set_id``, ``pic_parameter_set_id``): the first
    Exp-Golomb number after the NAL header (and, in an SPS, after profile, flags and level).

    Raises:
        AvcError: the unit is neither, or too short.
    """
    kind = nal_type(unit)
    if kind not in (SPS, PPS):
        raise AvcError(f"NAL unit type {kind} has no parameter set id")
    payload = unit[4 if kind == SPS else 1 :][:10].replace(b"\x00\x00\x03", b"\x00\x00")
    bits = "".join(f"{b:08b}" for b in payload)
    zeros = len(bits) - len(bits.lstrip("0"))
    if 2 * zeros + 1 > len(bits):
        raise AvcError("parameter set id out of range")
    return int(bits[zeros : 2 * zeros + 1], 2) - 1
