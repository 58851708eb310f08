"""Every error of the API, one class per documented code, in one small hierarchy.

Each class carries its ``code``, its ``http_status`` and whether a client may retry it
(``retryable``, API.md). The family classes (``RequestError``, ``AuthError``,
``InvalidFileError``, ``ThrottledError``, ``ServerError``) say what kind of failure it is; the leaf
says exactly which. Raise the leaf: ``raise MissingParameter("VideoUrl is mandatory.")``.

A code the server answers that is not in this module becomes ``UnknownApiError``, retried only when
its HTTP status is 5xx or 429. ``TransportError`` is no answer at all (retryable).
"""

from __future__ import annotations

from typing import ClassVar


class ApiError(Exception):
    """An error answer of the API (or one the engine is about to give).

    Attributes: ``code`` (the API's Code), ``message``, ``http_status``, ``request_id``, and
    ``retryable`` (whether a client should try again after a backoff).
    """

    code: str = "InternalServerError"
    http_status: int = 500
    retryable: bool = False
    default_message: ClassVar[str] = "The request processing has failed."

    def __init__(
        self,
        message: str | None = None,
        *,
        http_status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.message = message or self.default_message
        if http_status is not None:
            self.http_status = http_status
        self.request_id = request_id
        super().__init__(f"{self.code}: {self.message}")

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        code = cls.__dict__.get("code")
        if code is not None:
            if code in ERRORS:
                raise TypeError(f"two classes for the code {code}")
            ERRORS[code] = cls


ERRORS: dict[str, type[ApiError]] = {}
"""Code -> class, for every documented code (filled as the classes below are defined)."""


# --- families ---


class RequestError(ApiError):
    """The request is wrong (missing or invalid parameter, unknown action or version)."""

    http_status = 400


class AuthError(ApiError):
    """The request is not authentic (key, signature, timestamp, nonce)."""

    http_status = 400


class InvalidFileError(ApiError):
    """The video behind ``VideoUrl`` cannot be fetched or used."""

    http_status = 400


class ThrottledError(ApiError):
    """Over the request-rate limit: retry later."""

    http_status = 400
    retryable = True


class ServerError(ApiError):
    """The service failed; ``retryable`` tells whether trying again may help."""

    http_status = 500


# --- the documented codes ---


class InvalidParameter(RequestError):
    code = "InvalidParameter"
    default_message = "A parameter is invalid."


class InvalidParameterFormat(RequestError):
    code = "InvalidParameter.Format"
    default_message = "A parameter is malformed."


class InvalidParameterBadRequest(RequestError):
    code = "InvalidParameter.BadRequest"
    default_message = "Missing or invalid input."


class MissingParameter(RequestError):
    code = "MissingParameter"
    default_message = "A required parameter is missing."


class InvalidActionNotFound(RequestError):
    code = "InvalidAction.NotFound"
    http_status = 404
    default_message = "The specified action is not valid."


class UnsupportedOperation(RequestError):
    code = "UnsupportedOperation"
    default_message = "The operation is not supported."


class InvalidVersion(RequestError):
    code = "InvalidVersion"
    default_message = "The specified version is not valid."


class InvalidJobIdNotFound(RequestError):
    """Not in the cloud's table: the engine's answer for a JobId it does not (or no longer) know."""

    code = "InvalidJobId.NotFound"
    http_status = 404
    default_message = "The specified job does not exist."


class InvalidFileResolution(InvalidFileError):
    code = "InvalidFile.Resolution"
    default_message = "The video resolution is out of range."


class InvalidFileDownload(InvalidFileError):
    code = "InvalidFile.Download"
    default_message = "The file could not be downloaded."


class InvalidFileDecode(InvalidFileError):
    code = "InvalidFile.Decode"
    default_message = "The file could not be decoded."


class InvalidFileCategory(InvalidFileError):
    code = "InvalidFile.Category"
    default_message = "The content category is not accepted."


class InvalidFileContent(InvalidFileError):
    code = "InvalidFile.Content"
    default_message = "The file content is empty or unsuitable."


class InvalidFileType(InvalidFileError):
    code = "InvalidFile.Type"
    default_message = "The file type is not accepted."


class InvalidFileUnsafe(InvalidFileError):
    code = "InvalidFile.Unsafe"
    default_message = "The file link is unsafe."


class InvalidFileURL(InvalidFileError):
    code = "InvalidFile.URL"
    default_message = "The file URL is malformed."


class InvalidFileRegion(InvalidFileError):
    code = "InvalidFile.Region"
    default_message = "The file URL is not in an accepted region."


class InvalidAccessKeyIdNotFound(AuthError):
    code = "InvalidAccessKeyId.NotFound"
    http_status = 404
    default_message = "The AccessKeyId is not found."


class IncompleteSignature(AuthError):
    code = "IncompleteSignature"
    default_message = "The request signature is incomplete."


class SignatureDoesNotMatch(AuthError):
    code = "SignatureDoesNotMatch"
    default_message = "The request signature does not conform to Alibaba Cloud standards."


class InvalidTimeStampExpired(AuthError):
    code = "InvalidTimeStamp.Expired"
    default_message = "The timestamp is more than 15 minutes away from the server's time."


class InvalidTimeStampFormat(AuthError):
    code = "InvalidTimeStamp.Format"
    default_message = "The timestamp is malformed."


class SignatureNonceUsed(AuthError):
    code = "SignatureNonceUsed"
    default_message = "The signature nonce has been used."


class Throttling(ThrottledError):
    code = "Throttling"
    default_message = "Request was denied due to request throttling."


class ThrottlingUser(ThrottledError):
    code = "Throttling.User"
    default_message = "Request was denied due to user flow control."


class ThrottlingApi(ThrottledError):
    code = "Throttling.Api"
    default_message = "Request was denied due to API flow control."


class InternalServerError(ServerError):
    code = "InternalServerError"
    retryable = True
    default_message = "The request processing has failed."


class InternalServerErrorModel(ServerError):
    code = "InternalServerError.Model"
    default_message = "The model failed to load."


class InternalServerErrorAlgo(ServerError):
    code = "InternalServerError.Algo"
    default_message = "The algorithm failed."


class InternalServerErrorBusy(ServerError):
    code = "InternalServerError.Busy"
    retryable = True
    default_message = "The algorithm service is busy."


class ServiceUnavailable(ServerError):
    code = "ServiceUnavailable"
    http_status = 503
    retryable = True
    default_message = "The service is temporarily unavailable."


# --- outside the table ---


class UnknownApiError(ApiError):
    """A code this module does not know: retried only when its HTTP status is 5xx or 429."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        http_status: int,
        request_id: str | None = None,
    ) -> None:
        self.code = code
        self.retryable = http_status >= 500 or http_status == 429
        super().__init__(message or code, http_status=http_status, request_id=request_id)


class TransportError(ServiceUnavailable):
    """No answer came back (connection refused, reset, timed out): retryable."""

    def __init__(self, message: str) -> None:
        super().__init__(message, http_status=0)


def error_for(
    code: str,
    message: str | None = None,
    *,
    http_status: int | None = None,
    request_id: str | None = None,
) -> ApiError:
    """The error a server answered: its class when the code is documented, else UnknownApiError.

    The documented class keeps its own retryability whatever HTTP status came with it.
    """
    cls = ERRORS.get(code)
    if cls is None:
        return UnknownApiError(code, message, http_status=http_status or 500, request_id=request_id)
    return cls(message, http_status=http_status, request_id=request_id)
