"""Who is calling: AccessKey lookup, signature (v1 or ACS3), timestamp window, nonce replay."""

from __future__ import annotations

import collections
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from videorecog.engine.request import ApiRequest
from videorecog.protocol import signature_acs3, signature_v1
from videorecog.protocol.constants import (
    SIGNATURE_METHOD_V1,
    SIGNATURE_VERSION_V1,
    TIMESTAMP_FORMAT,
)
from videorecog.protocol.errors import (
    IncompleteSignature,
    InvalidAccessKeyIdNotFound,
    InvalidTimeStampExpired,
    InvalidTimeStampFormat,
    MissingParameter,
    SignatureDoesNotMatch,
    SignatureNonceUsed,
)
from videorecog.settings import Secret

WINDOW_SECONDS = 15 * 60
NONCE_USED = "Specified signature nonce was used already."


@dataclass(frozen=True)
class Caller:
    access_key_id: str
    nonce: str


class NonceCache:
    """Nonces seen within the timestamp window; older ones cannot be replayed (their timestamp
    is rejected), so memory stays bounded by the request rate times the window."""

    def __init__(self, window_seconds: float, clock: Callable[[], float]) -> None:
        self._window = window_seconds
        self._clock = clock
        self._seen: set[tuple[str, str]] = set()
        self._order: collections.deque[tuple[float, tuple[str, str]]] = collections.deque()

    def use(self, access_key_id: str, nonce: str) -> bool:
        """Record the nonce; False if it was already used."""
        now = self._clock()
        while self._order and self._order[0][0] < now:
            self._seen.discard(self._order.popleft()[1])
        key = (access_key_id, nonce)
        if key in self._seen:
            return False
        self._seen.add(key)
        # Remembered for twice the window: a timestamp may be up to WINDOW in the future.
        self._order.append((now + 2 * self._window, key))
        return True


def _parse_timestamp(raw: str) -> float:
    try:
        return datetime.strptime(raw, TIMESTAMP_FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise InvalidTimeStampFormat(
            f"The timestamp {raw!r} is not YYYY-MM-DDThh:mm:ssZ."
        ) from None


class Authenticator:
    def __init__(
        self,
        credentials: Mapping[str, Secret],
        *,
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = credentials
        self._window = window_seconds
        self._clock = clock
        self._nonces = NonceCache(window_seconds, clock)

    def authenticate(self, request: ApiRequest) -> str:
        """Return the caller's AccessKeyId, with replayed nonces refused by this process.

        Raises:
            RequestError: a required signing parameter is missing.
            AuthError: unknown key, bad signature, expired timestamp or replayed nonce.
        """
        caller = self.verify(request)
        if not self._nonces.use(caller.access_key_id, caller.nonce):
            raise SignatureNonceUsed(NONCE_USED)
        return caller.access_key_id

    def verify(self, request: ApiRequest) -> Caller:
        """Who signed the request, and with which nonce; the nonce is not checked here (a front
        door of several checks it against the store they share).

        Raises:
            RequestError: a required signing parameter is missing.
            AuthError: unknown key, bad signature or expired timestamp.
        """
        if request.is_acs3:
            return self._acs3(request)
        return self._v1(request)

    def _secret(self, access_key_id: str) -> str:
        secret = self._credentials.get(access_key_id)
        if secret is None:
            raise InvalidAccessKeyIdNotFound("Specified access key is not found.")
        return secret.reveal()

    def _check_time(self, raw: str) -> None:
        if abs(self._clock() - _parse_timestamp(raw)) > self._window:
            raise InvalidTimeStampExpired(f"Specified time stamp or date value is expired: {raw}.")

    def _v1(self, request: ApiRequest) -> Caller:
        params = request.params()
        for name in ("AccessKeyId", "Signature", "SignatureMethod", "SignatureNonce", "Timestamp"):
            if not params.get(name):
                raise MissingParameter(f"{name} is mandatory for this action.")
        if (
            params["SignatureMethod"] != SIGNATURE_METHOD_V1
            or params.get("SignatureVersion", SIGNATURE_VERSION_V1) != SIGNATURE_VERSION_V1
        ):
            raise IncompleteSignature(
                "Only SignatureMethod HMAC-SHA1 with SignatureVersion 1.0 is supported.",
            )
        key_id = params["AccessKeyId"]
        secret = self._secret(key_id)
        self._check_time(params["Timestamp"])
        if not signature_v1.verify(request.method, params, secret, params["Signature"]):
            raise SignatureDoesNotMatch(
                "Specified signature is not matched with our calculation. server string to sign "
                f"is:{signature_v1.string_to_sign(request.method, params)}",
            )
        return Caller(key_id, params["SignatureNonce"])

    def _acs3(self, request: ApiRequest) -> Caller:
        try:
            auth = signature_acs3.parse_authorization(request.header("Authorization") or "")
        except ValueError as exc:
            raise IncompleteSignature(f"Malformed Authorization: {exc}.") from None
        missing = signature_acs3.REQUIRED_SIGNED_HEADERS - {h.lower() for h in auth.signed_headers}
        if missing:
            raise IncompleteSignature(f"SignedHeaders must include {', '.join(sorted(missing))}.")
        secret = self._secret(auth.access_key_id)
        self._check_time(request.header("x-acs-date") or "")
        body_hash = signature_acs3.sha256_hex(request.body)
        declared = request.header("x-acs-content-sha256") or ""
        canonical = signature_acs3.canonical_request(
            request.method,
            request.path,
            request.query,
            request.headers,
            auth.signed_headers,
            declared,
        )
        expected = signature_acs3.signature(secret, canonical)
        if declared != body_hash or not hmac.compare_digest(expected, auth.signature):
            raise SignatureDoesNotMatch(
                "Specified signature is not matched with our calculation. "
                f"server string to sign is:{canonical!r}",
            )
        return Caller(auth.access_key_id, request.header("x-acs-signature-nonce") or "")
