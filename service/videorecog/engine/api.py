"""The front door: ``/`` answers the three actions the way the cloud does.

Order of checks: Action and Version, then who is calling (auth), then their rate, then the
action's own parameters. Every error answer carries RequestId, HostId, Code and Message.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from videorecog.engine.auth import NONCE_USED, Authenticator
from videorecog.engine.fetch import AddressPolicy
from videorecog.engine.jobs import Job
from videorecog.engine.metrics import EngineMetrics
from videorecog.engine.request import ApiRequest, read_request
from videorecog.engine.state import EngineState
from videorecog.protocol import envelope
from videorecog.protocol.constants import API_VERSION, Action, JobStatus
from videorecog.protocol.errors import (
    ApiError,
    InvalidActionNotFound,
    InvalidJobIdNotFound,
    InvalidParameter,
    InvalidVersion,
    MissingParameter,
    SignatureNonceUsed,
    ThrottlingUser,
)
from videorecog.protocol.tasks import task_for
from videorecog.protocol.urls import check_url_syntax

log = logging.getLogger(__name__)


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise MissingParameter(f"{name} is mandatory for this action.")
    return value


def _boolean(params: dict[str, str], name: str) -> bool:
    value = _required(params, name).lower()
    if value not in ("true", "false"):
        raise InvalidParameter(f"{name} must be true or false.")
    return value == "true"


def read_action(request: ApiRequest, params: dict[str, str]) -> Action:
    """The action asked for, from the ACS3 headers or the v1 parameters.

    Raises: MissingParameter, InvalidActionNotFound, InvalidVersion.
    """
    if request.is_acs3:
        name, version = request.header("x-acs-action"), request.header("x-acs-version")
    else:
        name, version = params.get("Action"), params.get("Version")
    if not name:
        raise MissingParameter("Action is mandatory for this request.")
    if not version:
        raise MissingParameter("Version is mandatory for this request.")
    try:
        action = Action(name)
    except ValueError:
        raise InvalidActionNotFound(f"Specified api {name} is not found.") from None
    if version != API_VERSION:
        raise InvalidVersion(f"Specified version {version} is not valid.")
    return action


def api_response(action: Action, body: dict[str, Any], fmt: str = "JSON") -> web.Response:
    """A successful answer, in the envelope the cloud uses, JSON or XML."""
    payload, content_type = envelope.render(f"{action.value}Response", body, fmt)
    return web.Response(body=payload, content_type=None, headers={"Content-Type": content_type})


def error_response(exc: ApiError, request_id: str, host_id: str, fmt: str = "JSON") -> web.Response:
    """An error answer: RequestId, HostId, Code and Message, with the code's HTTP status."""
    payload, content_type = envelope.render(
        "Error", envelope.error_body(request_id, host_id, exc.code, exc.message), fmt
    )
    return web.Response(
        body=payload,
        status=exc.http_status,
        content_type=None,
        headers={"Content-Type": content_type},
    )


class FrontDoor:
    def __init__(
        self,
        state: EngineState,
        auth: Authenticator,
        policy: AddressPolicy,
        metrics: EngineMetrics,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = state.store
        self._guards = state.guards
        self._covers = state.covers
        self._auth = auth
        self._policy = policy
        self._metrics = metrics
        self._clock = clock

    async def handle(self, request: web.Request) -> web.Response:
        request_id = new_request_id()
        host_id = request.host
        action_label = "unknown"
        fmt = "JSON"
        try:
            api_request = await read_request(request)
            params = api_request.params()
            fmt = params.get("Format", "JSON").upper()
            action = read_action(api_request, params)
            action_label = action.value
            caller = self._auth.verify(api_request)
            # The nonce is spent only once the signature is known good, as the cloud does.
            if not await self._guards.use_nonce(caller.access_key_id, caller.nonce):
                raise SignatureNonceUsed(NONCE_USED)
            key_id = caller.access_key_id
            if not await self._guards.admit(key_id):
                raise ThrottlingUser("Request was denied due to user flow control.")
            body = await self._dispatch(action, params, key_id, request_id)
        except ApiError as exc:
            self._metrics.requests.labels(action_label, exc.code).inc()
            return error_response(exc, request_id, host_id, fmt)
        self._metrics.requests.labels(action_label, "Success").inc()
        return api_response(action, body, fmt)

    async def _dispatch(
        self, action: Action, params: dict[str, str], key_id: str, request_id: str
    ) -> dict[str, Any]:
        if action is Action.GET_ASYNC_JOB_RESULT:
            return await self._job_result(_required(params, "JobId"), key_id, request_id)
        video_url = _required(params, "VideoUrl")
        is_gif = _boolean(params, "IsGif") if action is Action.GENERATE_VIDEO_COVER else False
        task = task_for(action, {**params, "IsGif": "true" if is_gif else "false"})
        self._policy.check_literal(check_url_syntax(video_url))
        now = self._clock()
        await self._store.add(
            Job(request_id, action.value, video_url, is_gif, key_id, JobStatus.QUEUING, now, now)
        )
        log.info("job accepted", extra={"job_id": request_id, "task": task.name})
        return {"RequestId": request_id}

    async def _job_result(self, job_id: str, key_id: str, request_id: str) -> dict[str, Any]:
        job = await self._store.get(job_id)
        if job is None or job.access_key_id != key_id:
            raise InvalidJobIdNotFound(f"The job {job_id} does not exist.")
        data: dict[str, Any] = {"JobId": job.job_id, "Status": job.status.value}
        if job.result is not None:
            data["Result"] = await self._public_result(job.result)
        if job.error_code:
            data["ErrorCode"] = job.error_code
        if job.error_code or job.error_message:
            data["ErrorMessage"] = job.error_message or ""
        return {"RequestId": request_id, "Data": data}

    async def _public_result(self, stored: str) -> str:
        """Covers are stored by file name; each answer carries fresh links, valid 30 minutes."""
        result = orjson.loads(stored)
        if "Outputs" in result:
            result["Outputs"] = [
                {"ImageURL": await self._covers.link(o["File"]), "Confidence": o["Confidence"]}
                for o in result["Outputs"]
            ]
        return orjson.dumps(result).decode()
