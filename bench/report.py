"""Writing a benchmark's table into a Markdown file, between markers, replacing the last run."""

from __future__ import annotations

from pathlib import Path


def update_block(path: Path, name: str, table: str, heading: str = "") -> None:
    """Replace the text between ``<!-- name:begin -->`` and ``<!-- name:end -->`` in ``path``
    (appending the block, under ``heading``, when it is not there yet)."""
    text = path.read_text() if path.exists() else ""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{table}\n{end}"
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text = f"{text}\n{heading}{block}\n"
    path.write_text(text)
