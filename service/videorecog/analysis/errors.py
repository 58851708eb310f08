"""The one way analysis fails on bad input: ``InvalidVideo`` with an ``InvalidFile.*`` code."""

from __future__ import annotations


class InvalidVideo(Exception):
    """The file cannot be analysed; ``code`` is the API's ``InvalidFile.*`` code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
