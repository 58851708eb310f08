from __future__ import annotations

import logging

import orjson
import pytest

from videorecog import logs


def test_json_lines_carry_extras(capsys: pytest.CaptureFixture[str]) -> None:
    """Each record is one JSON object with the message and every ``extra`` field."""
    logs.configure("INFO", "json")
    logging.getLogger("videorecog.test").info("job done", extra={"job_id": "j1", "offset": 7})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    entry = orjson.loads(line)
    assert entry["msg"] == "job done"
    assert entry["level"] == "INFO"
    assert entry["job_id"] == "j1"
    assert entry["offset"] == 7


def test_console_mode_is_readable(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("DEBUG", "console")
    logging.getLogger("videorecog.test").warning("slow poll", extra={"job_id": "j2"})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "WARNING videorecog.test: slow poll" in line
    assert "job_id=j2" in line


def test_level_filters(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("ERROR", "json")
    logging.getLogger("videorecog.test").info("hidden")
    assert capsys.readouterr().err == ""
