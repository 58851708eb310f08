"""The engine scaled out: two front doors and two workers, separate processes, sharing one
PostgreSQL database and one SeaweedFS bucket, called through both official SDKs."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from PIL import Image

from tests import stores
from tests.clips import Clip
from tests.conftest import CREDENTIALS
from tests.integration.engine.test_errors import _send, _v1
from tests.sdks import AK, SK, acs3_client, acs3_wait, v1_call, v1_wait
from tests.support import EngineProcess, MediaServer
from videorecog.client import VideorecogClient

CLIPS = ("cuts", "dissolves", "fade", "wipe", "vfr", "captions")
TASKS = ("shots", "cover", "gif")


@dataclass
class Cluster:
    database_url: str
    doors: list[EngineProcess]
    workers: list[EngineProcess]

    def job_row(self, job_id: str) -> dict[str, Any] | None:
        with psycopg.connect(self.database_url) as conn:
            cursor = conn.execute(
                "SELECT status, attempts, lease_owner FROM engine_jobs WHERE job_id = %s",
                (job_id,),
            )
            row = cursor.fetchone()
        return dict(zip(("status", "attempts", "lease_owner"), row, strict=True)) if row else None

    def total(self, metric: str) -> float:
        return sum(worker.metric(metric) for worker in self.workers)


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "videorecog", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server_url: str,
    s3_server: stores.SeaweedS3,
) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("scaled-out")
    bucket = s3_server.create_bucket("scaled-out")
    with stores.new_database(postgres_server_url) as database_url:
        env = {
            **bucket.env(),
            "VIDEORECOG_ENGINE_STORE_URL": database_url,
            "VIDEORECOG_ENGINE_COVER_STORE_URL": f"s3://{bucket.bucket}/covers",
            "VIDEORECOG_S3_ADDRESSING_STYLE": "path",
        }
        credentials = ",".join(f"{k}:{v}" for k, v in CREDENTIALS.items())
        migrated = _run(
            {**EngineProcess(root / "m", credentials, env=env).env}, "engine", "migrate"
        )
        assert migrated.returncode == 0, migrated.stderr
        doors = [
            EngineProcess(root / f"door-{n}", credentials, env=env, rate_limit="100")
            for n in range(2)
        ]
        workers = [
            EngineProcess(
                root / f"worker-{n}",
                credentials,
                role="worker",
                env=env,
                workers="1",
                # Short, for the killed worker's job to be taken over soon; renewed every third
                # of it, which leaves a worker slowed by a loaded machine (the suite's other
                # processes, PostgreSQL beside them) a few seconds to renew before it loses a
                # job it is still working on.
                lease_seconds="5",
            )
            for n in range(2)
        ]
        for process in (*doors, *workers):
            process.start()
        try:
            yield Cluster(database_url, doors, workers)
        finally:
            for process in (*doors, *workers):
                process.stop()


def test_migrate_is_versioned_and_an_unmigrated_store_stops_start_up(
    cluster: Cluster, postgres_server_url: str, tmp_path: Path
) -> None:
    env = EngineProcess(tmp_path / "d", "ak:sk").env
    again = _run({**env, "VIDEORECOG_ENGINE_STORE_URL": cluster.database_url}, "engine", "migrate")
    assert again.returncode == 0, again.stderr
    assert "0 step(s) applied" in again.stdout
    with stores.new_database(postgres_server_url) as empty:
        refused = _run(
            {
                **env,
                "VIDEORECOG_ENGINE_STORE_URL": empty,
                "VIDEORECOG_ENGINE_COVER_STORE_URL": "s3://nowhere/covers",
            },
            "engine",
        )
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert "VIDEORECOG_ENGINE_STORE_URL" in lines[0]
    assert "videorecog engine migrate" in lines[0]


def _submit_v1(door: EngineProcess, url: str, task: str) -> str:
    from aliyunsdkvideorecog.request.v20200320.DetectVideoShotRequest import DetectVideoShotRequest
    from aliyunsdkvideorecog.request.v20200320.GenerateVideoCoverRequest import (
        GenerateVideoCoverRequest,
    )

    request: Any
    if task == "shots":
        request = DetectVideoShotRequest()
    else:
        request = GenerateVideoCoverRequest()
        request.set_IsGif(task == "gif")
    request.set_VideoUrl(url)
    return str(v1_call(door, request)["RequestId"])


def _submit_acs3(door: EngineProcess, url: str, task: str) -> str:
    from alibabacloud_videorecog20200320 import models

    client = acs3_client(door)
    if task == "shots":
        body = client.detect_video_shot(models.DetectVideoShotRequest(video_url=url)).body
    else:
        body = client.generate_video_cover(
            models.GenerateVideoCoverRequest(video_url=url, is_gif=task == "gif")
        ).body
    return str(body.request_id)


def _answer(data: dict[str, Any]) -> Any:
    """What must agree between engines: the shots, or each cover's confidence (links differ)."""
    assert data["Status"] == "PROCESS_SUCCESS", data
    result = json.loads(data["Result"])
    if "ShotFrameIds" in result:
        return result["ShotFrameIds"]
    return [output["Confidence"] for output in result["Outputs"]]


def test_sixty_jobs_through_both_front_doors_answer_as_the_embedded_engine(
    cluster: Cluster, engine: EngineProcess, media_server: MediaServer, clips: dict[str, Clip]
) -> None:
    pairs = list(itertools.islice(itertools.cycle(itertools.product(CLIPS, TASKS)), 60))
    submitted = []
    for n, (clip, task) in enumerate(pairs):
        door = cluster.doors[n % 2]
        submit = _submit_v1 if n % 2 == 0 else _submit_acs3
        submitted.append(
            (door, clip, task, submit(door, media_server.url(f"gen/{clip}.mp4"), task))
        )
    # Every job is readable through either front door: ask the other one.
    answers = {}
    for n, (_door, clip, task, job_id) in enumerate(submitted):
        data = v1_wait(cluster.doors[(n + 1) % 2], job_id)
        answers.setdefault((clip, task), []).append(data)

    expected = {
        (clip, task): _answer(
            v1_wait(engine, _submit_v1(engine, media_server.url(f"gen/{clip}.mp4"), task))
        )
        for clip, task in answers
    }
    for key, datas in answers.items():
        assert [_answer(d) for d in datas] == [expected[key]] * len(datas), key
    # Cover links are presigned GETs on the object store, good for 30 minutes.
    cover = json.loads(answers[("cuts", "cover")][0]["Result"])["Outputs"][0]["ImageURL"]
    assert "X-Amz-Expires=1800" in cover
    with urllib.request.urlopen(cover, timeout=10) as response:
        assert Image.open(response).format == "PNG"


def test_a_nonce_used_on_one_front_door_is_refused_by_the_other(cluster: Cluster) -> None:
    prepared = _v1("GetAsyncJobResult", {"JobId": "NOPE"}, nonce=f"shared-{time.time_ns()}")
    first_status, first = asyncio.run(_send(cluster.doors[0], prepared))
    assert (first_status, first.get("Code")) == (404, "InvalidJobId.NotFound"), first
    status, body = asyncio.run(_send(cluster.doors[1], prepared))
    assert (status, body.get("Code")) == (400, "SignatureNonceUsed"), body


async def _three_tasks(door: EngineProcess, url: str) -> list[Any]:
    async with VideorecogClient(door.endpoint, AK, SK) as client:
        jobs = await asyncio.gather(
            client.detect_video_shot(url),
            client.generate_video_cover(url, is_gif=False),
            client.generate_video_cover(url, is_gif=True),
        )
        results = []
        for job in jobs:
            while (result := await client.get_async_job_result(job)).status.value in (
                "QUEUING",
                "PROCESSING",
            ):
                await asyncio.sleep(0.1)
            results.append(result)
        return results


def test_shots_cover_and_gif_of_one_video_take_one_download_and_one_pass(
    cluster: Cluster, media_server: MediaServer
) -> None:
    path = "/shared/goldeneye-vfr-drop3.mp4"
    counters = ("videorecog_engine_downloads_total", "videorecog_engine_decode_passes_total")
    before = [cluster.total(c) for c in counters]
    hits = media_server.hits[path]
    results = asyncio.run(_three_tasks(cluster.doors[0], media_server.url(path)))
    assert [r.status.value for r in results] == ["PROCESS_SUCCESS"] * 3, results
    assert media_server.hits[path] - hits == 1
    assert [cluster.total(c) - b for c, b in zip(counters, before, strict=True)] == [1, 1]

    # The same bytes under another URL: downloaded (to be known), answered without decoding.
    reused = cluster.total("videorecog_engine_analyses_reused_total")
    again = asyncio.run(_three_tasks(cluster.doors[1], media_server.url(f"redirect?to={path}")))
    assert [r.status.value for r in again] == ["PROCESS_SUCCESS"] * 3, again
    assert again[0].result == results[0].result
    assert cluster.total(counters[1]) - before[1] == 1
    assert cluster.total("videorecog_engine_analyses_reused_total") - reused == 3


def test_a_worker_killed_mid_job_leaves_its_job_to_the_other(
    cluster: Cluster, media_server: MediaServer
) -> None:
    url = media_server.url("shared/transnet_test.mp4")
    job_id = _submit_acs3(cluster.doors[0], url, "shots")
    deadline = time.monotonic() + 30
    while (row := cluster.job_row(job_id)) is None or row["lease_owner"] is None:
        assert time.monotonic() < deadline, row
        time.sleep(0.05)
    holder = next(w for w in cluster.workers if f"-{w.pid}-" in row["lease_owner"])
    other = next(w for w in cluster.workers if w is not holder)
    holder.kill()
    try:
        data = acs3_wait(acs3_client(cluster.doors[1]), job_id)
        assert data.status == "PROCESS_SUCCESS"
        assert json.loads(data.result)["ShotFrameIds"][0] == 0
        final = cluster.job_row(job_id)
        assert final is not None
        assert final["attempts"] == 2
        assert other.metric("videorecog_engine_lease_expiries_total") >= 1
    finally:
        holder.start()
