"""Durable covers against the real broker, the real engine and a real S3 server (SeaweedFS)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import botocore.session
import orjson
import pytest

from tests.conftest import Topics
from tests.integration.pipeline.conftest import (
    Results,
    committed,
    end_offsets,
    event,
    eventually,
    kill_then_restart,
    pipeline_env,
    produce,
    read_all,
    running,
    sample,
)
from tests.stores import S3Location, SeaweedS3
from tests.support import EngineProcess, MediaServer
from videorecog.broker import free_port
from videorecog.settings import load

PREFIX = "covers/run"


def _store_env(location: S3Location, **extra: str) -> dict[str, str]:
    return {
        **location.env(),
        "VIDEORECOG_COVER_STORE_URL": f"s3://{location.bucket}/{PREFIX}",
        **extra,
    }


def _objects(location: S3Location) -> dict[str, bytes]:
    """Every object of the bucket: key -> bytes."""
    client = botocore.session.get_session().create_client(
        "s3",
        endpoint_url=location.endpoint_url,
        aws_access_key_id=location.access_key_id,
        aws_secret_access_key=location.secret_access_key,
        region_name=location.region,
    )
    try:
        keys = [
            item["Key"]
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=location.bucket)
            for item in page.get("Contents", [])
        ]
        return {
            key: client.get_object(Bucket=location.bucket, Key=key)["Body"].read() for key in keys
        }
    finally:
        client.close()


def _outputs(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        output
        for name in ("cover", "gif")
        if name in body["tasks"]
        for output in body["tasks"][name].get("outputs", [])
    ]


def _check_stored(body: dict[str, Any], objects: dict[str, bytes], bucket: str) -> set[str]:
    """Each output of the record points at an object of its bytes, under its video: the keys."""
    keys = set()
    for output in _outputs(body):
        assert output["image_url"].startswith("http"), output
        assert "store_error" not in output, output
        prefix = f"s3://{bucket}/{PREFIX}/{body['video_id']}/"
        assert output["stored_url"].startswith(prefix), output
        key = output["stored_url"].removeprefix(f"s3://{bucket}/")
        data = objects[key]
        assert hashlib.sha256(data).hexdigest() == output["sha256"]
        assert key.rsplit("/", 1)[1].split(".")[0] == output["sha256"]
        keys.add(key)
    return keys


async def test_every_stored_cover_exists_and_matches_its_sha256(
    bootstrap_servers: str,
    topics: Topics,
    engine: EngineProcess,
    media_server: MediaServer,
    s3_bucket: S3Location,
) -> None:
    """Each cover and GIF output keeps its image_url and gains a stored_url of an object whose
    SHA-256 is its sha256, under prefix/<video_id>/; the counters count exactly those copies."""
    videos = ["cuts", "dissolves", "fade"]
    await produce(
        bootstrap_servers,
        topics.input,
        [event(f"{v}-1", media_server.url(f"gen/{v}.mp4"), ["cover", "gif"]) for v in videos],
    )
    settings = load(
        pipeline_env(bootstrap_servers, topics, engine.endpoint, **_store_env(s3_bucket))
    )
    async with running(settings) as pipeline:
        records = await read_all(bootstrap_servers, topics.output, want=len(videos))
        stored = sample(pipeline, "covers_stored_total")
        stored_bytes = sample(pipeline, "cover_store_bytes_total")

    objects = await asyncio.to_thread(_objects, s3_bucket)
    bodies = [orjson.loads(r.value) for r in records]
    keys: set[str] = set()
    for body in bodies:
        assert body["status"] == "succeeded", body
        assert _outputs(body)
        keys |= _check_stored(body, objects, s3_bucket.bucket)
    assert set(objects) == keys
    assert stored == sum(len(_outputs(b)) for b in bodies)
    assert stored_bytes == sum(len(data) for data in objects.values())
    assert {key.rsplit(".", 1)[1] for key in keys} == {"png", "gif"}


# SeaweedFS creates a missing bucket on the first PUT of an admin, so a wrong secret stands for
# a store that refuses the copies.
@pytest.mark.parametrize("failure", ["refused", "unreachable"])
async def test_a_store_failure_marks_the_outputs_and_the_event_still_completes(
    failure: str,
    bootstrap_servers: str,
    topics: Topics,
    engine: EngineProcess,
    media_server: MediaServer,
    s3_server: SeaweedS3,
) -> None:
    """When the copy cannot be stored, every output carries store_error (and its link), the
    event is published as succeeded, its offset committed, and the failure counted."""
    if failure == "refused":
        location = S3Location(
            s3_server.endpoint_url, f"refused-{uuid.uuid4().hex[:8]}", secret_access_key="wrong"
        )
    else:
        location = S3Location(f"http://127.0.0.1:{free_port()}", "nobody-listens")
    env = pipeline_env(
        bootstrap_servers,
        topics,
        engine.endpoint,
        **_store_env(location, VIDEORECOG_COVER_STORE_ATTEMPTS="2"),
    )
    await produce(
        bootstrap_servers,
        topics.input,
        [event("v-fail", media_server.url("gen/cuts.mp4"), ["shots", "cover"])],
    )
    async with running(load(env)) as pipeline:
        (record,) = await read_all(bootstrap_servers, topics.output, want=1)
        ends = await end_offsets(bootstrap_servers, topics.input, 3)

        async def all_committed() -> bool:
            return await committed(bootstrap_servers, topics.input, topics.group, 3) == ends

        await eventually(all_committed)
        failures = sample(pipeline, "cover_store_failures_total", reason="upload")
        stored = sample(pipeline, "covers_stored_total")

    body = orjson.loads(record.value)
    assert body["status"] == "succeeded"
    assert body["tasks"]["shots"]["shot_frame_ids"]
    outputs = body["tasks"]["cover"]["outputs"]
    assert outputs
    for output in outputs:
        assert output["image_url"].startswith(engine.endpoint)
        assert output["store_error"].startswith("upload: ")
        assert "stored_url" not in output
        assert "sha256" not in output
    assert failures == len(outputs)
    assert stored == 0


async def test_sigkill_mid_run_writes_no_duplicate_objects_and_results_are_complete(
    bootstrap_servers: str,
    topics: Topics,
    engine: EngineProcess,
    media_server: MediaServer,
    s3_bucket: S3Location,
    tmp_path: Path,
) -> None:
    """A pipeline killed mid-run and restarted gives every event a result whose covers are
    stored; the events it processes again write the same objects, so the bucket holds exactly
    the distinct covers of the results."""
    videos = ["cuts", "dissolves", "fade", "wipe", "flashes", "captions"]
    count = 12
    await produce(
        bootstrap_servers,
        topics.input,
        [
            event(f"v{i}", media_server.url(f"gen/{videos[i % len(videos)]}.mp4"), ["cover"])
            for i in range(count)
        ],
    )
    env = pipeline_env(
        bootstrap_servers,
        topics,
        engine.endpoint,
        **_store_env(s3_bucket),
        VIDEORECOG_LOG_LEVEL="WARNING",
        # No commit before the crash (the first run may take up to 90 s): every event is
        # delivered again.
        VIDEORECOG_COMMIT_INTERVAL_SECONDS="600",
    )
    async with Results(bootstrap_servers, topics.output) as results:
        await kill_then_restart(env, results, tmp_path, kill_after=3, count=count, uncommitted=True)
        bodies = results.bodies

    objects = await asyncio.to_thread(_objects, s3_bucket)
    keys_by_video: dict[str, list[set[str]]] = defaultdict(list)
    for body in bodies:
        assert body["status"] == "succeeded", body
        keys_by_video[body["video_id"]].append(_check_stored(body, objects, s3_bucket.bucket))
    assert set(keys_by_video) == {f"v{i}" for i in range(count)}
    again = [video for video, deliveries in keys_by_video.items() if len(deliveries) > 1]
    assert again, "some events should have been processed twice"
    for video in again:
        # Processed again, the event wrote the very same objects.
        assert all(keys == keys_by_video[video][0] for keys in keys_by_video[video]), video
    distinct = {key for deliveries in keys_by_video.values() for keys in deliveries for key in keys}
    assert len(objects) == len(distinct)
    assert set(objects) == distinct
