from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from videorecog.engine.links import CoverLinks


def _parts(url: str) -> tuple[str, str, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path.rsplit("/", 1)[1], query["Expires"][0], query["Signature"][0]


def test_link_verifies_until_it_expires() -> None:
    now = [1000.0]
    links = CoverLinks(b"k" * 32, "http://e", lifetime_seconds=60, clock=lambda: now[0])
    name, expires, signature = _parts(links.url("job-0.png"))
    assert name == "job-0.png"
    assert expires == "1060"
    assert links.verify(name, expires, signature)
    now[0] = 1061.0
    assert not links.verify(name, expires, signature)


def test_tampering_is_detected() -> None:
    links = CoverLinks(b"k" * 32, "http://e", clock=lambda: 0.0)
    name, expires, signature = _parts(links.url("job-0.png"))
    assert not links.verify("job-1.png", expires, signature)
    assert not links.verify(name, str(int(expires) + 1), signature)
    assert not links.verify(name, expires, signature[:-1] + ("A" if signature[-1] != "A" else "B"))
    assert not links.verify(name, "soon", signature)
    other_key = CoverLinks(b"x" * 32, "http://e", clock=lambda: 0.0)
    assert not other_key.verify(name, expires, signature)
