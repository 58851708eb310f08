"""Both official Alibaba Cloud SDKs, unchanged but for the endpoint, against the real engine."""

from __future__ import annotations

import json
import urllib.request

import pytest
from PIL import Image

from tests.clips import Clip
from tests.sdks import AK, SK, acs3_client, acs3_wait, v1_call, v1_wait
from tests.support import EngineProcess, MediaServer
from videorecog.analysis.tasks import detect_shots
from videorecog.client.signing import sign_v1


def _download_image(url: str) -> Image.Image:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        image = Image.open(response)
        image.load()
        return image


def test_v1_sdk_detect_video_shot(
    engine: EngineProcess, media_server: MediaServer, clips: dict[str, Clip]
) -> None:
    """aliyun-python-sdk-videorecog (v1, POST form): real ShotFrameIds back."""
    from aliyunsdkvideorecog.request.v20200320.DetectVideoShotRequest import DetectVideoShotRequest

    request = DetectVideoShotRequest()
    request.set_VideoUrl(media_server.url("gen/cuts.mp4"))
    job_id = v1_call(engine, request)["RequestId"]
    data = v1_wait(engine, job_id)
    assert data["Status"] == "PROCESS_SUCCESS", data
    assert data["JobId"] == job_id
    result = json.loads(data["Result"])
    assert result["ShotFrameIds"] == detect_shots(str(clips["cuts"].path)).shot_frame_ids
    assert result["ShotFrameIds"] == clips["cuts"].truth.shot_frame_ids


def test_v1_sdk_generate_video_cover(engine: EngineProcess, media_server: MediaServer) -> None:
    """v1 SDK: cover URLs that download as valid images."""
    from aliyunsdkvideorecog.request.v20200320.GenerateVideoCoverRequest import (
        GenerateVideoCoverRequest,
    )

    request = GenerateVideoCoverRequest()
    request.set_VideoUrl(media_server.url("gen/cuts.mp4"))
    request.set_IsGif(False)
    data = v1_wait(engine, v1_call(engine, request)["RequestId"])
    assert data["Status"] == "PROCESS_SUCCESS", data
    outputs = json.loads(data["Result"])["Outputs"]
    assert outputs
    for output in outputs:
        assert "Expires=" in output["ImageURL"]
        assert "Signature=" in output["ImageURL"]
        assert _download_image(output["ImageURL"]).format == "PNG"
        assert 0 <= output["Confidence"] <= 10


def test_acs3_sdk_all_three_actions(
    engine: EngineProcess, media_server: MediaServer, clips: dict[str, Clip]
) -> None:
    """alibabacloud-videorecog20200320 (ACS3): shots, still covers and GIF covers."""
    from alibabacloud_videorecog20200320 import models

    client = acs3_client(engine)
    url = media_server.url("gen/dissolves.mp4")
    shots_job = client.detect_video_shot(models.DetectVideoShotRequest(video_url=url)).body
    cover_job = client.generate_video_cover(
        models.GenerateVideoCoverRequest(video_url=url, is_gif=False)
    ).body
    gif_job = client.generate_video_cover(
        models.GenerateVideoCoverRequest(video_url=url, is_gif=True)
    ).body

    shots = acs3_wait(client, shots_job.request_id)
    assert shots.status == "PROCESS_SUCCESS"
    assert (
        json.loads(shots.result)["ShotFrameIds"]
        == detect_shots(str(clips["dissolves"].path)).shot_frame_ids
    )
    for job, kind in ((cover_job, "PNG"), (gif_job, "GIF")):
        data = acs3_wait(client, job.request_id)
        assert data.status == "PROCESS_SUCCESS"
        for output in json.loads(data.result)["Outputs"]:
            assert _download_image(output["ImageURL"]).format == kind


def test_acs3_sdk_failed_job_carries_error_code(
    engine: EngineProcess, media_server: MediaServer
) -> None:
    """A bad video fails its job with an InvalidFile code the SDK reads back."""
    from alibabacloud_videorecog20200320 import models

    client = acs3_client(engine)
    job = client.detect_video_shot(
        models.DetectVideoShotRequest(video_url=media_server.url("gen/corrupt.mp4"))
    ).body
    data = acs3_wait(client, job.request_id)
    assert data.status == "PROCESS_FAILED"
    assert data.error_code == "InvalidFile.Decode"
    assert data.error_message


def test_hand_built_get_request_like_the_seed(
    engine: EngineProcess, media_server: MediaServer
) -> None:
    """GET /?Action=DetectVideoShot&VideoUrl=...&<common parameters>, signed by hand (v1)."""
    prepared = sign_v1(
        "DetectVideoShot",
        {"VideoUrl": media_server.url("gen/cuts.mp4")},
        AK,
        SK,
        method="GET",
        region_id="cn-shanghai",
    )
    with urllib.request.urlopen(f"{engine.endpoint}/?{prepared.query_string}") as response:
        body = json.loads(response.read())
    assert set(body) == {"RequestId"}
    assert v1_wait(engine, body["RequestId"])["Status"] == "PROCESS_SUCCESS"


@pytest.mark.parametrize("fmt", ["JSON", "XML"])
def test_get_async_job_result_shape(
    engine: EngineProcess, media_server: MediaServer, fmt: str
) -> None:
    """GetAsyncJobResult answers in the documented shape, as JSON or XML."""
    submit = sign_v1(
        "DetectVideoShot", {"VideoUrl": media_server.url("gen/cuts.mp4")}, AK, SK, method="GET"
    )
    with urllib.request.urlopen(f"{engine.endpoint}/?{submit.query_string}") as response:
        job_id = json.loads(response.read())["RequestId"]
    v1_wait(engine, job_id)
    query = sign_v1("GetAsyncJobResult", {"JobId": job_id, "Format": fmt}, AK, SK, method="GET")
    with urllib.request.urlopen(f"{engine.endpoint}/?{query.query_string}") as response:
        text = response.read().decode()
        content_type = response.headers["Content-Type"]
    if fmt == "XML":
        assert content_type.startswith("text/xml")
        assert "<GetAsyncJobResultResponse><RequestId>" in text
        assert f"<Data><JobId>{job_id}</JobId><Status>PROCESS_SUCCESS</Status>" in text
    else:
        body = json.loads(text)
        assert set(body) == {"RequestId", "Data"}
        assert set(body["Data"]) == {"JobId", "Status", "Result"}
        assert isinstance(body["Data"]["Result"], str)
