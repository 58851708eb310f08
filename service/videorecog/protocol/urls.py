"""What a valid ``VideoUrl`` looks like (checked by the engine on submit, by the pipeline on
intake, so a malformed event never costs an API call)."""

from __future__ import annotations

from urllib.parse import urlsplit

from yarl import URL

from videorecog.protocol.errors import InvalidFileURL

MAX_URL_LENGTH = 2048


def check_url_syntax(url: str) -> URL:
    """Raises: InvalidFileError ``InvalidFile.URL`` (syntax, scheme, characters)."""
    if not url or len(url) > MAX_URL_LENGTH:
        raise InvalidFileURL("The VideoUrl is empty or too long.")
    if not url.isascii() or any(c.isspace() for c in url):
        raise InvalidFileURL("The VideoUrl must be ASCII with no spaces (percent-encode it).")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidFileURL("The VideoUrl must be an http or https URL.")
    try:
        parsed = URL(url, encoded=True)
        host = parsed.host
        _ = parsed.port
    except ValueError:
        raise InvalidFileURL("The VideoUrl is malformed.") from None
    if not host:
        raise InvalidFileURL("The VideoUrl has no host.")
    return parsed
