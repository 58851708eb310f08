from __future__ import annotations

import ipaddress

import pytest

from videorecog.engine.fetch import AddressPolicy, looks_like_video
from videorecog.protocol.errors import InvalidFileError
from videorecog.protocol.urls import check_url_syntax


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "224.0.0.1",
        "0.0.0.0",
        "100.64.0.1",
        "fc00::1",
        "240.0.0.1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not AddressPolicy().address_allowed("h", ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert AddressPolicy().address_allowed("h", ipaddress.ip_address(address))


def test_allow_list_admits_hosts_and_networks() -> None:
    policy = AddressPolicy(["127.0.0.0/8", "media.internal"])
    assert policy.address_allowed("x", ipaddress.ip_address("127.0.0.9"))
    assert policy.address_allowed("media.internal", ipaddress.ip_address("10.1.1.1"))
    assert not policy.address_allowed("other.internal", ipaddress.ip_address("10.1.1.1"))


def test_literal_unsafe_address_refused_without_dns() -> None:
    with pytest.raises(InvalidFileError) as info:
        AddressPolicy().check_literal(check_url_syntax("http://[::1]:8080/v.mp4"))
    assert info.value.code == "InvalidFile.Unsafe"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "v.mp4",
        "file:///etc/passwd",
        "http://",
        "http://h/a b.mp4",
        "http://h:99999/x",
        "https://h/" + "x" * 3000,
    ],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(InvalidFileError) as info:
        check_url_syntax(url)
    assert info.value.code == "InvalidFile.URL"


def test_container_sniffing() -> None:
    assert looks_like_video(b"\x00\x00\x00\x20ftypisom" + bytes(500))
    assert looks_like_video(b"FLV\x01" + bytes(500))
    assert looks_like_video(b"\x1a\x45\xdf\xa3" + bytes(500))
    assert looks_like_video(bytes([0x47]) + bytes(187) + bytes([0x47]) + bytes(300))
    assert not looks_like_video(b"<html>" + bytes(500))
    assert not looks_like_video(b"\x89PNG\r\n\x1a\n" + bytes(500))
