"""The H.264 byte formats of smart cut, against a configuration and parameter sets libx264 wrote."""

from __future__ import annotations

import pytest

from videorecog.avc import PPS, SPS, AvcConfig, AvcError, annex_b_units, nal_type, parameter_set_id

# The avcC of a 64x48 High-profile clip from libx264 (SPS id 0, PPS id 0).
AVCC = bytes.fromhex(
    "0164000cffe100186764000cacd941419f9e10000003001000013880f142996001000568ef86f2c0fdf8f800"
)
# libx264's global header with ``sps-id=3``: SPS and PPS as an Annex B stream.
ANNEX_B = bytes.fromhex("00000001674d400a25a109a1000003000100000300320f1226a00000000168212f023c80")


def test_configuration_round_trips() -> None:
    """A record parses into its parameter sets and NAL length size and writes back identical."""
    config = AvcConfig.parse(AVCC)
    assert (config.profile, config.level, config.length_size) == (100, 12, 4)
    assert [nal_type(u) for u in config.sps + config.pps] == [SPS, PPS]
    assert config.to_bytes() == AVCC


def test_added_parameter_sets_are_declared_beside_the_sources() -> None:
    """Another encoder's SPS and PPS join the record under their own id, and the level covers
    both."""
    config = AvcConfig.parse(AVCC)
    assert config.free_id() == 1
    units = annex_b_units(ANNEX_B)
    assert [(nal_type(u), parameter_set_id(u)) for u in units] == [(SPS, 3), (PPS, 3)]
    merged = AvcConfig.parse(config.with_sets(units).to_bytes())
    assert [parameter_set_id(u) for u in merged.sps] == [0, 3]
    assert [parameter_set_id(u) for u in merged.pps] == [0, 3]
    assert merged.level == 12


def test_samples_are_length_prefixed_and_idr_is_recognised() -> None:
    """NAL units become a sample with the record's length size and come back out of it."""
    config = AvcConfig.parse(AVCC)
    idr, slice_ = b"\x65\x88\x84", b"\x41\x9a"
    sample = config.sample([idr, slice_])
    assert sample == b"\x00\x00\x00\x03" + idr + b"\x00\x00\x00\x02" + slice_
    assert config.units(sample) == [idr, slice_]
    assert config.is_idr(sample)
    assert not config.is_idr(config.sample([slice_]))


def test_not_a_configuration_record() -> None:
    """An Annex B stream is not a record."""
    with pytest.raises(AvcError):
        AvcConfig.parse(ANNEX_B)
