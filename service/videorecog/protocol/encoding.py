"""RFC 3986 percent-encoding as both Alibaba Cloud signatures use it."""

from __future__ import annotations

from urllib.parse import quote


def percent_encode(text: str) -> str:
    """Encode all but the unreserved characters ``A-Z a-z 0-9 - _ . ~`` (space -> %20, * -> %2A)."""
    return quote(text, safe="~", encoding="utf-8")
