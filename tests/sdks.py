"""The two official Alibaba Cloud SDKs, pointed at an engine: how a user's code calls it."""

from __future__ import annotations

import gc
import json
import time
import warnings
from typing import Any

from tests.conftest import CREDENTIALS
from tests.support import EngineProcess

AK = "ak-test"
SK = CREDENTIALS[AK]
FINAL = {"PROCESS_SUCCESS", "PROCESS_FAILED", "TIMEOUT_FAILED", "LIMIT_RETRY_FAILED"}


def v1_client() -> Any:
    from aliyunsdkcore.client import AcsClient

    return AcsClient(AK, SK, "cn-shanghai")


def v1_call(engine: EngineProcess, request: Any) -> dict[str, Any]:
    request.set_endpoint(engine.host)
    request.set_protocol_type("http")
    with warnings.catch_warnings():
        # aliyunsdkcore opens a requests.Session per call and never closes it; collect those
        # sockets here so their ResourceWarning is not blamed on a later, unrelated test.
        warnings.simplefilter("ignore", ResourceWarning)
        body = v1_client().do_action_with_exception(request)
        gc.collect()
    return dict(json.loads(body))


def v1_wait(engine: EngineProcess, job_id: str) -> dict[str, Any]:
    from aliyunsdkvideorecog.request.v20200320.GetAsyncJobResultRequest import (
        GetAsyncJobResultRequest,
    )

    for _ in range(240):
        request = GetAsyncJobResultRequest()
        request.set_JobId(job_id)
        data: dict[str, Any] = v1_call(engine, request)["Data"]
        if data["Status"] in FINAL:
            return data
        time.sleep(0.25)
    raise AssertionError(f"job {job_id} did not finish")


def acs3_client(engine: EngineProcess) -> Any:
    from alibabacloud_tea_openapi.models import Config
    from alibabacloud_videorecog20200320.client import Client

    return Client(
        Config(
            access_key_id=AK,
            access_key_secret=SK,
            endpoint=engine.host,
            protocol="http",
            region_id="cn-shanghai",
        )
    )


def acs3_wait(client: Any, job_id: str) -> Any:
    from alibabacloud_videorecog20200320 import models

    for _ in range(240):
        data = client.get_async_job_result(models.GetAsyncJobResultRequest(job_id=job_id)).body.data
        if data.status in FINAL:
            return data
        time.sleep(0.25)
    raise AssertionError(f"job {job_id} did not finish")
