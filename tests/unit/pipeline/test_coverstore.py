"""Cover keys come from the content, under the video's own directory."""

from __future__ import annotations

import hashlib

import pytest

from videorecog.pipeline.coverstore import MAX_VIDEO_SEGMENT, cover_key, image_type, video_segment

SHA = hashlib.sha256(b"cover").hexdigest()


def test_key_is_prefix_video_and_content_hash() -> None:
    """``prefix/<video_id>/<sha256>.<ext>``; with no prefix the video directory is at the top."""
    assert cover_key("covers/prod", "v-123", SHA, "png") == f"covers/prod/v-123/{SHA}.png"
    assert cover_key("", "v-123", SHA, "jpg") == f"v-123/{SHA}.jpg"


def test_same_content_same_key_other_content_other_key() -> None:
    """Re-delivery (the same bytes) names the same object; other bytes another one."""
    other = hashlib.sha256(b"other").hexdigest()
    assert cover_key("p", "v", SHA, "png") == cover_key("p", "v", SHA, "png")
    assert cover_key("p", "v", SHA, "png") != cover_key("p", "v", other, "png")


@pytest.mark.parametrize(
    ("video_id", "segment"),
    [
        ("v-1_a.b~c", "v-1_a.b~c"),
        ("a/b", "a%2Fb"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("clip 1?x=#", "clip%201%3Fx%3D%23"),
        ("视频", "%E8%A7%86%E9%A2%91"),
    ],
)
def test_a_video_id_is_one_key_segment(video_id: str, segment: str) -> None:
    """Slashes, dot segments and other characters are percent-encoded: never another directory."""
    assert video_segment(video_id) == segment
    assert "/" not in video_segment(video_id)


def test_an_overlong_video_id_is_replaced_by_its_hash() -> None:
    """Ids whose encoding would not fit an S3 key become ``sha256-<hex>``, still one per id."""
    long_id = "视" * 256
    segment = video_segment(long_id)
    assert segment == "sha256-" + hashlib.sha256(long_id.encode()).hexdigest()
    assert video_segment("x" * MAX_VIDEO_SEGMENT) == "x" * MAX_VIDEO_SEGMENT
    assert len(cover_key("p" * 100, long_id, SHA, "webp").encode()) <= 1024


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n....", ("png", "image/png")),
        (b"\xff\xd8\xff\xe0....", ("jpg", "image/jpeg")),
        (b"GIF89a....", ("gif", "image/gif")),
        (b"GIF87a....", ("gif", "image/gif")),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", ("webp", "image/webp")),
        (b"<html>", ("bin", "application/octet-stream")),
    ],
)
def test_the_extension_comes_from_the_bytes(head: bytes, expected: tuple[str, str]) -> None:
    """The extension (part of the key) is read from the image itself, never from its link."""
    assert image_type(head) == expected
