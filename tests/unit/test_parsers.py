"""The object-store URL parser and its settings: what is accepted, and how a bad one stops."""

from __future__ import annotations

import pytest

from videorecog.cli import main
from videorecog.parsers import S3Url, s3_url
from videorecog.settings import SettingsError, load


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("s3://covers", S3Url("covers", "")),
        ("s3://covers/", S3Url("covers", "")),
        ("s3://my.covers-1/prod", S3Url("my.covers-1", "prod")),
        (" s3://covers//prod/v2/ ", S3Url("covers", "prod/v2")),
    ],
)
def test_s3_urls_give_bucket_and_a_prefix_without_slashes(raw: str, expected: S3Url) -> None:
    """A bucket and a prefix with empty segments and outer slashes removed."""
    assert s3_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "https://covers/prod",  # not s3
        "s3:///prod",  # no bucket
        "s3://Covers/prod",  # upper case
        "s3://ab/prod",  # too short
        "s3://covers:9000/prod",  # a port is the endpoint's business
        "s3://covers/prod?versionId=1",
        "s3://covers/../other",
        "s3://co..vers/prod",
    ],
)
def test_bad_s3_urls_are_refused(raw: str) -> None:
    """Anything but s3://bucket[/prefix] with a valid bucket name is a ValueError."""
    with pytest.raises(ValueError, match=r"s3://|bucket|prefix|query"):
        s3_url(raw)


def test_the_uri_of_an_object_names_its_bucket_and_key() -> None:
    """``uri(key)`` is the s3:// URI a result record carries."""
    assert S3Url("covers", "prod").uri("prod/v/abc.png") == "s3://covers/prod/v/abc.png"


def test_without_a_store_url_durable_covers_are_off() -> None:
    """The default leaves covers as the API's links only."""
    assert load({}).covers.url is None
    assert load({"VIDEORECOG_COVER_STORE_URL": "s3://covers/p"}).covers.url == S3Url("covers", "p")


def test_s3_keys_must_come_in_pairs() -> None:
    """An S3 key id without its secret (or the reverse) is refused, the secret never shown."""
    with pytest.raises(SettingsError, match="AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        load({"AWS_ACCESS_KEY_ID": "AKIA"})
    settings = load({"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "very-secret"})
    assert "very-secret" not in repr(settings)


def test_a_bad_store_url_stops_start_up_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`videorecog pipeline` exits with status 2 and one line naming the variable."""
    monkeypatch.setenv("VIDEORECOG_COVER_STORE_URL", "https://covers.example.com/prod")
    assert main(["pipeline"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "VIDEORECOG_COVER_STORE_URL='https://covers.example.com/prod'" in err
