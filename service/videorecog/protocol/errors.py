"""The API's error codes and the exception hierarchy both sides raise.

Each code has one HTTP status and one answer to "may a client retry it?" (API.md). The class of an
error says what kind of failure it is; its ``code`` says exactly which.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorSpec:
    code: str
    http_status: int
    retryable: bool
    message: str


_SPECS = (
    ErrorSpec("InvalidParameter", 400, False, "A parameter is invalid."),
    ErrorSpec("InvalidParameter.Format", 400, False, "A parameter is malformed."),
    ErrorSpec("InvalidParameter.BadRequest", 400, False, "Missing or invalid input."),
    ErrorSpec("MissingParameter", 400, False, "A required parameter is missing."),
    ErrorSpec("InvalidFile.Resolution", 400, False, "The video resolution is out of range."),
    ErrorSpec("InvalidFile.Download", 400, False, "The file could not be downloaded."),
    ErrorSpec("InvalidFile.Decode", 400, False, "The file could not be decoded."),
    ErrorSpec("InvalidFile.Category", 400, False, "The content category is not accepted."),
    ErrorSpec("InvalidFile.Content", 400, False, "The file content is empty or unsuitable."),
    ErrorSpec("InvalidFile.Type", 400, False, "The file type is not accepted."),
    ErrorSpec("InvalidFile.Unsafe", 400, False, "The file link is unsafe."),
    ErrorSpec("InvalidFile.URL", 400, False, "The file URL is malformed."),
    ErrorSpec("InvalidFile.Region", 400, False, "The file URL is not in an accepted region."),
    ErrorSpec("InvalidAction.NotFound", 404, False, "The specified action is not valid."),
    ErrorSpec("UnsupportedOperation", 400, False, "The operation is not supported."),
    ErrorSpec("InvalidVersion", 400, False, "The specified version is not valid."),
    ErrorSpec("InvalidAccessKeyId.NotFound", 404, False, "The AccessKeyId is not found."),
    ErrorSpec("IncompleteSignature", 400, False, "The request signature is incomplete."),
    ErrorSpec(
        "SignatureDoesNotMatch",
        400,
        False,
        "The request signature does not conform to Alibaba Cloud standards.",
    ),
    ErrorSpec(
        "InvalidTimeStamp.Expired",
        400,
        False,
        "The timestamp is more than 15 minutes away from the server's time.",
    ),
    ErrorSpec("InvalidTimeStamp.Format", 400, False, "The timestamp is malformed."),
    ErrorSpec("SignatureNonceUsed", 400, False, "The signature nonce has been used."),
    ErrorSpec("Throttling", 400, True, "Request was denied due to request throttling."),
    ErrorSpec("Throttling.User", 400, True, "Request was denied due to user flow control."),
    ErrorSpec("Throttling.Api", 400, True, "Request was denied due to API flow control."),
    ErrorSpec("InternalServerError", 500, True, "The request processing has failed."),
    ErrorSpec("InternalServerError.Model", 500, False, "The model failed to load."),
    ErrorSpec("InternalServerError.Algo", 500, False, "The algorithm failed."),
    ErrorSpec("InternalServerError.Busy", 500, True, "The algorithm service is busy."),
    ErrorSpec("ServiceUnavailable", 503, True, "The service is temporarily unavailable."),
    # Not in the cloud's table: the engine's answer for a JobId it does not (or no longer) know.
    ErrorSpec("InvalidJobId.NotFound", 404, False, "The specified job does not exist."),
)

ERROR_SPECS: dict[str, ErrorSpec] = {spec.code: spec for spec in _SPECS}


def spec_for(code: str, http_status: int | None = None) -> ErrorSpec:
    """The spec of a known code; for an unknown one, a spec inferred from its HTTP status."""
    if code in ERROR_SPECS:
        return ERROR_SPECS[code]
    status = http_status or 500
    retryable = code.startswith("Throttling") or status >= 500 or status == 429
    return ErrorSpec(code, status, retryable, code)


class ApiError(Exception):
    """An error answer of the API (or one the engine is about to give).

    Attributes: ``code`` (the API's Code), ``message``, ``http_status``, ``request_id``,
    and ``retryable`` (whether a client should try again after a backoff).
    """

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        http_status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        spec = spec_for(code, http_status)
        self.code = code
        self.message = message or spec.message
        self.http_status = http_status or spec.http_status
        self.request_id = request_id
        self.retryable = spec.retryable
        super().__init__(f"{code}: {self.message}")


class RequestError(ApiError):
    """The request is wrong (missing or invalid parameter, unknown action or version)."""


class AuthError(ApiError):
    """The request is not authentic (key, signature, timestamp, nonce)."""


class InvalidFileError(ApiError):
    """The video behind ``VideoUrl`` cannot be fetched or used."""


class ThrottledError(ApiError):
    """Over the request-rate limit: retry later."""


class ServerError(ApiError):
    """The service failed; ``retryable`` tells whether trying again may help."""


class TransportError(ApiError):
    """No answer came back (connection refused, reset, timed out): retryable."""

    def __init__(self, message: str) -> None:
        super().__init__("ServiceUnavailable", message, http_status=0)


_AUTH_CODES = frozenset(
    {
        "InvalidAccessKeyId.NotFound",
        "IncompleteSignature",
        "SignatureDoesNotMatch",
        "InvalidTimeStamp.Expired",
        "InvalidTimeStamp.Format",
        "SignatureNonceUsed",
    }
)


def error_class(code: str, http_status: int | None = None) -> type[ApiError]:
    if code.startswith("InvalidFile."):
        return InvalidFileError
    if code in _AUTH_CODES:
        return AuthError
    if code.startswith("Throttling"):
        return ThrottledError
    if spec_for(code, http_status).http_status >= 500:
        return ServerError
    return RequestError


def make_error(
    code: str,
    message: str | None = None,
    *,
    http_status: int | None = None,
    request_id: str | None = None,
) -> ApiError:
    """The right ``ApiError`` subclass for ``code``."""
    cls = error_class(code, http_status)
    return cls(code, message, http_status=http_status, request_id=request_id)
