from __future__ import annotations

from pathlib import Path

from videorecog.settings import VARIABLES, markdown_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_documents_every_setting() -> None:
    """Each environment variable and its flag appear in the README's configuration table."""
    text = README.read_text(encoding="utf-8")
    missing = [v.env for v in VARIABLES if f"`{v.env}` | `{v.flag}`" not in text]
    assert not missing


def test_readme_configuration_table_is_the_declared_one() -> None:
    """The table is ``settings.markdown_table()`` verbatim (print it to regenerate the table)."""
    assert markdown_table() in README.read_text(encoding="utf-8")


def test_readme_gives_both_quick_start_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "make demo" in text
    assert "make test" in text
