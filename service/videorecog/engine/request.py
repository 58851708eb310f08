"""An API request as the front door sees it: plain data, so auth and routing are pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiohttp import web

from videorecog.protocol.errors import (
    InvalidParameter,
    InvalidParameterBadRequest,
    InvalidParameterFormat,
)

FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    form: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    @property
    def is_acs3(self) -> bool:
        return (self.header("Authorization") or "").startswith("ACS3-")

    def params(self) -> dict[str, str]:
        """Query and form body together.

        Raises:
            RequestError: ``InvalidParameter`` when a name is given twice.
        """
        merged: dict[str, str] = {}
        for name, value in (*self.query, *self.form):
            if name in merged:
                raise InvalidParameter(f"The parameter {name} is given twice.")
            merged[name] = value
        return merged


async def read_request(request: web.Request, max_body: int = 1 << 20) -> ApiRequest:
    body = await request.read()
    if len(body) > max_body:
        raise InvalidParameterBadRequest("The request body is too large.")
    form: list[tuple[str, str]] = []
    if request.content_type == FORM_TYPE and body:
        try:
            form = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise InvalidParameterFormat("The form body is not UTF-8.") from None
    return ApiRequest(
        method=request.method,
        path=request.raw_path.split("?", 1)[0] or "/",
        query=tuple(parse_qsl(request.query_string, keep_blank_values=True)),
        form=tuple(form),
        headers=tuple(request.headers.items()),
        body=body,
    )
