"""An API SIMULATOR, for load and fault tests only: it never looks at a video.

It speaks the real protocol (signatures checked exactly as the engine checks them) but its jobs
just take a random time and then succeed with canned results, or fail, at configurable rates; any
request may be throttled (``Throttling.User``) or refused as busy (``InternalServerError.Busy``,
``ServiceUnavailable``) at configurable rates. Like the cloud it can enforce an account's budget:
``account_rate`` requests/s for each submission action and ``poll_account_rate`` for
GetAsyncJobResult, counted per AccessKeyId and action across all connections, answered
``Throttling.User`` at once above it. It counts submissions per ``VideoUrl`` so tests can prove
that nothing was submitted twice.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter

from videorecog.engine.api import api_response, error_response, new_request_id, read_action
from videorecog.engine.auth import Authenticator
from videorecog.engine.request import read_request
from videorecog.protocol.constants import Action, JobStatus
from videorecog.protocol.errors import (
    ApiError,
    InternalServerErrorBusy,
    InvalidActionNotFound,
    InvalidFileDecode,
    InvalidJobIdNotFound,
    MissingParameter,
    ServiceUnavailable,
    ThrottlingUser,
)
from videorecog.protocol.tasks import Task, task_for
from videorecog.ratelimit import KeyedBuckets
from videorecog.serving import add_health_routes
from videorecog.settings import Secret


@dataclass(frozen=True)
class SimulatorConfig:
    median_job_seconds: float = 1.0  # job times are log-normal around this
    job_time_spread: float = 0.5  # sigma of the log-normal
    throttle_rate: float = 0.0  # share of requests answered Throttling.User
    busy_rate: float = 0.0  # share answered InternalServerError.Busy (500) / ServiceUnavailable
    failure_rate: float = 0.0  # share of jobs ending PROCESS_FAILED
    account_rate: float = 0.0  # requests/s per AccessKeyId per submission action (0: unlimited)
    poll_account_rate: float = 0.0  # the same for GetAsyncJobResult (0: unlimited)
    seed: int | None = None


@dataclass
class _Job:
    task: Task
    video_url: str
    ready_at: float  # monotonic
    ready_wall: float  # the same moment on the wall clock, for other processes' timings
    seconds: float  # how long the job takes
    fails: bool


@dataclass
class SimulatorState:
    submissions: Counter[str] = field(default_factory=Counter)  # VideoUrl -> submits
    job_ids: dict[str, list[str]] = field(default_factory=dict)  # VideoUrl -> job ids in order
    requests: Counter[str] = field(default_factory=Counter)  # "Action:Code" -> count


class ApiSimulator:
    def __init__(self, credentials: dict[str, str], config: SimulatorConfig) -> None:
        self.config = config
        self.state = SimulatorState()
        self._auth = Authenticator({k: Secret(v) for k, v in credentials.items()})
        self._jobs: dict[str, _Job] = {}
        self._rng = random.Random(config.seed)
        self._account: dict[Action, KeyedBuckets] = {}
        for action in Action:
            is_poll = action is Action.GET_ASYNC_JOB_RESULT
            rate = config.poll_account_rate if is_poll else config.account_rate
            if rate > 0:
                self._account[action] = KeyedBuckets(rate)
        self.registry = CollectorRegistry()
        self._requests = PromCounter(
            "videorecog_simulator_requests",
            "Requests answered, by action and code",
            ["action", "code"],
            registry=self.registry,
        )

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/", self._handle)
        app.router.add_get("/stats", self._stats)
        add_health_routes(app, self.registry)
        return app

    def _job_seconds(self) -> float:
        c = self.config
        return c.median_job_seconds * math.exp(self._rng.gauss(0.0, c.job_time_spread))

    def _over_budget(self, key_id: str, action: Action) -> None:
        buckets = self._account.get(action)
        if buckets is not None and not buckets.try_acquire(key_id):
            raise ThrottlingUser("Request was denied due to user flow control.")

    def _faults(self) -> None:
        roll = self._rng.random()
        if roll < self.config.throttle_rate:
            raise ThrottlingUser("Request was denied due to user flow control.")
        if roll < self.config.throttle_rate + self.config.busy_rate:
            if self._rng.random() < 0.5:
                raise InternalServerErrorBusy("The algorithm service is busy.")
            raise ServiceUnavailable("The service is temporarily unavailable.")

    async def _handle(self, request: web.Request) -> web.Response:
        request_id = new_request_id()
        action_name = "unknown"
        try:
            api = await read_request(request)
            params = api.params()
            action = read_action(api, params)
            action_name = action.value
            key_id = self._auth.authenticate(api)
            self._over_budget(key_id, action)
            self._faults()
            body = self._act(action, params, request_id)
        except ApiError as exc:
            self.state.requests[f"{action_name}:{exc.code}"] += 1
            self._requests.labels(action_name, exc.code).inc()
            return error_response(exc, request_id, "simulator")
        self.state.requests[f"{action_name}:Success"] += 1
        self._requests.labels(action_name, "Success").inc()
        return api_response(action, body)

    def _act(self, action: Action, params: dict[str, str], request_id: str) -> dict[str, Any]:
        if action in (Action.DETECT_VIDEO_SHOT, Action.GENERATE_VIDEO_COVER):
            url = params.get("VideoUrl", "")
            if not url:
                raise MissingParameter("VideoUrl is mandatory for this action.")
            fails = self._rng.random() < self.config.failure_rate
            seconds = self._job_seconds()
            task = task_for(action, {"IsGif": "false", **params})
            self._jobs[request_id] = _Job(
                task, url, time.monotonic() + seconds, time.time() + seconds, seconds, fails
            )
            self.state.submissions[url] += 1
            self.state.job_ids.setdefault(url, []).append(request_id)
            return {"RequestId": request_id}
        if action == Action.GET_ASYNC_JOB_RESULT:
            job = self._jobs.get(params.get("JobId", ""))
            if job is None:
                raise InvalidJobIdNotFound("The specified job does not exist.")
            return {"RequestId": request_id, "Data": self._job_data(params["JobId"], job)}
        raise InvalidActionNotFound(f"Specified api {action.value} is not found.")

    @staticmethod
    def _job_data(job_id: str, job: _Job) -> dict[str, Any]:
        if time.monotonic() < job.ready_at:
            return {"JobId": job_id, "Status": JobStatus.PROCESSING.value}
        if job.fails:
            return {
                "JobId": job_id,
                "Status": JobStatus.PROCESS_FAILED.value,
                "ErrorCode": InvalidFileDecode.code,
                "ErrorMessage": "simulated failure",
            }
        return {
            "JobId": job_id,
            "Status": JobStatus.PROCESS_SUCCESS.value,
            "Result": orjson.dumps(job.task.example(job_id)).decode(),
        }

    async def _stats(self, request: web.Request) -> web.Response:
        body = {
            "submissions": dict(self.state.submissions),
            "job_ids": self.state.job_ids,
            "requests": dict(self.state.requests),
            "ready_at": {job_id: job.ready_wall for job_id, job in self._jobs.items()},
            "job_seconds": {job_id: job.seconds for job_id, job in self._jobs.items()},
        }
        return web.Response(body=orjson.dumps(body), content_type="application/json")
