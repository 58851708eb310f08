"""``VideorecogClient``: one aiohttp session, every request signed, errors typed.

One call is one attempt: retries, backoff and rate limits belong to the caller (the pipeline's
dispatcher), which knows how long it may wait.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self

import aiohttp
import orjson
from yarl import URL

from videorecog.client.signing import PreparedRequest, sign_acs3, sign_v1
from videorecog.protocol import envelope
from videorecog.protocol.constants import Action, JobStatus
from videorecog.protocol.errors import ApiError, InternalServerError, TransportError, error_for
from videorecog.protocol.tasks import Task


@dataclass(frozen=True)
class JobResult:
    """The answer of GetAsyncJobResult, with ``Result`` already deserialised."""

    request_id: str
    job_id: str
    status: JobStatus
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None


class VideorecogClient:
    """Async client of DetectVideoShot, GenerateVideoCover and GetAsyncJobResult.

    Use as ``async with VideorecogClient(...) as client``; ``close()`` is idempotent.
    """

    def __init__(
        self,
        endpoint: str,
        access_key_id: str,
        access_key_secret: str,
        *,
        signature: Literal["v1", "acs3"] = "v1",
        region_id: str = "",
        max_connections: int = 64,
        timeout_seconds: float = 30.0,
    ) -> None:
        self._url = URL(endpoint.rstrip("/") + "/")
        self._access_key_id = access_key_id
        self._secret = access_key_secret
        self._signature = signature
        self._region_id = region_id
        self._max_connections = max_connections
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _session_or_new(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._max_connections)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self._session

    async def detect_video_shot(self, video_url: str) -> str:
        """Submit a shot-detection job; returns its job id. Raises: ApiError."""
        body = await self.call(Action.DETECT_VIDEO_SHOT, {"VideoUrl": video_url})
        return str(body["RequestId"])

    async def generate_video_cover(self, video_url: str, is_gif: bool) -> str:
        """Submit a cover job; returns its job id. Raises: ApiError."""
        params = {"VideoUrl": video_url, "IsGif": "true" if is_gif else "false"}
        body = await self.call(Action.GENERATE_VIDEO_COVER, params)
        return str(body["RequestId"])

    async def submit(self, task: Task, video_url: str) -> str:
        """Start the job of ``task`` (protocol/tasks.py); returns its job id. Raises: ApiError."""
        body = await self.call(task.action, {"VideoUrl": video_url, **task.params})
        return str(body["RequestId"])

    async def get_async_job_result(self, job_id: str) -> JobResult:
        """Raises: ApiError (a job the API does not know: code ``JobNotFound`` or similar)."""
        body = await self.call(Action.GET_ASYNC_JOB_RESULT, {"JobId": job_id})
        data = body.get("Data") or {}
        raw_result = data.get("Result")
        return JobResult(
            request_id=str(body.get("RequestId", "")),
            job_id=str(data.get("JobId", job_id)),
            status=JobStatus(data["Status"]),
            result=orjson.loads(raw_result) if raw_result else None,
            error_code=data.get("ErrorCode") or None,
            error_message=data.get("ErrorMessage") or None,
        )

    def prepare(self, action: str, params: dict[str, str]) -> PreparedRequest:
        if self._signature == "acs3":
            return sign_acs3(
                action, params, self._access_key_id, self._secret, host=self._url.raw_authority
            )
        return sign_v1(action, params, self._access_key_id, self._secret, region_id=self._region_id)

    async def call(self, action: str, params: dict[str, str]) -> dict[str, Any]:
        """One signed request; returns the decoded body.

        Raises:
            ApiError: the API's error answer, as the subclass for its code.
            TransportError: no answer (connection failed, timed out).
        """
        prepared = self.prepare(action, params)
        url = self._url.with_query(None)
        if prepared.query:
            url = URL(f"{url}?{prepared.query_string}", encoded=True)
        try:
            async with self._session_or_new().request(
                prepared.method,
                url,
                headers=prepared.headers,
                data=prepared.body or None,
            ) as response:
                payload = await response.read()
                status = response.status
                content_type = response.headers.get("Content-Type", "")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransportError(f"{action}: {type(exc).__name__}: {exc}") from exc
        try:
            body = envelope.parse(payload, content_type)
        except ValueError:
            if status >= 400:
                raise InternalServerError(
                    f"HTTP {status} with no API body", http_status=status
                ) from None
            raise
        if status >= 400:
            raise error_for(
                str(body.get("Code", "InternalServerError")),
                body.get("Message"),
                http_status=status,
                request_id=body.get("RequestId"),
            )
        return body


__all__ = ["ApiError", "JobResult", "VideorecogClient"]
