from __future__ import annotations

import pytest

from videorecog.protocol import errors
from videorecog.protocol.errors import (
    ERRORS,
    ApiError,
    AuthError,
    InvalidFileError,
    RequestError,
    ServerError,
    ThrottledError,
    TransportError,
    UnknownApiError,
    error_for,
)

# (code, HTTP status, retryable, family): API.md's table and its platform-wide codes.
DOCUMENTED = [
    ("InvalidParameter", 400, False, RequestError),
    ("InvalidParameter.Format", 400, False, RequestError),
    ("InvalidParameter.BadRequest", 400, False, RequestError),
    ("MissingParameter", 400, False, RequestError),
    ("InvalidAction.NotFound", 404, False, RequestError),
    ("UnsupportedOperation", 400, False, RequestError),
    ("InvalidVersion", 400, False, RequestError),
    ("InvalidJobId.NotFound", 404, False, RequestError),
    ("InvalidFile.Resolution", 400, False, InvalidFileError),
    ("InvalidFile.Download", 400, False, InvalidFileError),
    ("InvalidFile.Decode", 400, False, InvalidFileError),
    ("InvalidFile.Category", 400, False, InvalidFileError),
    ("InvalidFile.Content", 400, False, InvalidFileError),
    ("InvalidFile.Type", 400, False, InvalidFileError),
    ("InvalidFile.Unsafe", 400, False, InvalidFileError),
    ("InvalidFile.URL", 400, False, InvalidFileError),
    ("InvalidFile.Region", 400, False, InvalidFileError),
    ("InvalidAccessKeyId.NotFound", 404, False, AuthError),
    ("IncompleteSignature", 400, False, AuthError),
    ("SignatureDoesNotMatch", 400, False, AuthError),
    ("InvalidTimeStamp.Expired", 400, False, AuthError),
    ("InvalidTimeStamp.Format", 400, False, AuthError),
    ("SignatureNonceUsed", 400, False, AuthError),
    ("Throttling", 400, True, ThrottledError),
    ("Throttling.User", 400, True, ThrottledError),
    ("Throttling.Api", 400, True, ThrottledError),
    ("InternalServerError", 500, True, ServerError),
    ("InternalServerError.Model", 500, False, ServerError),
    ("InternalServerError.Algo", 500, False, ServerError),
    ("InternalServerError.Busy", 500, True, ServerError),
    ("ServiceUnavailable", 503, True, ServerError),
]


@pytest.mark.parametrize(("code", "status", "retryable", "family"), DOCUMENTED)
def test_each_documented_code_has_one_class(
    code: str, status: int, retryable: bool, family: type[ApiError]
) -> None:
    """A documented code maps to its own class, with its HTTP status, retryability and family."""
    cls = ERRORS[code]
    error = cls("why")
    assert (error.code, error.http_status, error.retryable) == (code, status, retryable)
    assert isinstance(error, family)
    assert error.message == "why"
    assert str(error) == f"{code}: why"


def test_no_undocumented_class_is_registered() -> None:
    """The registry holds exactly the documented codes, each class once."""
    assert set(ERRORS) == {code for code, *_ in DOCUMENTED}
    assert len(set(ERRORS.values())) == len(ERRORS)


def test_a_class_has_a_default_message() -> None:
    assert errors.MissingParameter().message == "A required parameter is missing."


def test_a_server_answer_keeps_its_class_whatever_the_status() -> None:
    """A documented code answered with another status keeps its class and its retryability."""
    error = error_for("Throttling.User", "slow down", http_status=429, request_id="R1")
    assert isinstance(error, errors.ThrottlingUser)
    assert error.http_status == 429
    assert error.retryable
    assert error.request_id == "R1"


@pytest.mark.parametrize(
    ("status", "retryable"), [(400, False), (403, False), (404, False), (429, True), (500, True)]
)
def test_an_unknown_code_is_retried_only_on_5xx_or_429(status: int, retryable: bool) -> None:
    """A typo or a new code is one generic class, never guessed retryable from its name."""
    error = error_for("Throttling.Typo", "?", http_status=status)
    assert type(error) is UnknownApiError
    assert error.code == "Throttling.Typo"
    assert error.retryable is retryable
    assert error.http_status == status


def test_no_answer_is_a_retryable_transport_error() -> None:
    error = TransportError("connection refused")
    assert isinstance(error, errors.ServiceUnavailable)
    assert error.retryable
    assert error.code == "ServiceUnavailable"
    assert error.http_status == 0
    assert "TransportError" not in {cls.__name__ for cls in ERRORS.values()}
