"""The whole chain against the real broker and the real engine."""

from __future__ import annotations

import orjson

from tests.clips import Clip
from tests.conftest import chains
from tests.integration.pipeline.conftest import (
    Topics,
    committed,
    end_offsets,
    event,
    eventually,
    pipeline_settings,
    produce,
    read_all,
    running,
    sample,
)
from tests.support import EngineProcess, MediaServer

# Also against noida-db, with the idempotent producer on as production runs it.
pytestmark = chains


async def test_mixed_events_each_get_exactly_one_outcome(
    bootstrap_servers: str,
    topics: Topics,
    engine: EngineProcess,
    media_server: MediaServer,
    clips: dict[str, Clip],
    delivery: str,
) -> None:
    """Good events get one result with real shots and covers; malformed ones go to the DLQ with
    their reason; bad videos get PROCESS_FAILED with InvalidFile codes; offsets reach the end."""
    good = [
        event(f"good-{i}", media_server.url("gen/cuts.mp4"), ["shots", "cover"]) for i in range(4)
    ]
    bad_video = [
        event("corrupt", media_server.url("gen/corrupt.mp4"), ["shots"]),
        event("page", media_server.url("page.html"), ["shots", "gif"]),
    ]
    malformed = [
        (b"m1", b"{not json", []),
        (b"m2", orjson.dumps({"video_id": "x", "video_url": "ftp://h/v"}), []),
        (b"m3", orjson.dumps({"video_id": "y", "video_url": "http://h/v", "tasks": ["ocr"]}), []),
    ]
    await produce(bootstrap_servers, topics.input, good + bad_video + malformed)

    settings = pipeline_settings(
        bootstrap_servers, topics, engine.endpoint, VIDEORECOG_DELIVERY=delivery
    )
    async with running(settings) as pipeline:
        results = await read_all(bootstrap_servers, topics.output, want=6)
        dead = await read_all(bootstrap_servers, topics.dlq, want=3)
        ends = await end_offsets(bootstrap_servers, topics.input, 3)

        async def all_committed() -> bool:
            return await committed(bootstrap_servers, topics.input, topics.group, 3) == ends

        await eventually(all_committed)
        consumed = sample(pipeline, "events_consumed_total")
        succeeded = sample(pipeline, "results_published_total", status="succeeded")

    by_video = {}
    for record in results:
        body = orjson.loads(record.value)
        assert record.key == body["video_id"].encode()
        assert body["video_id"] not in by_video, "a second result for the same event"
        by_video[body["video_id"]] = body
    assert set(by_video) == {"good-0", "good-1", "good-2", "good-3", "corrupt", "page"}

    expected_shots = clips["cuts"].truth.shot_frame_ids
    for i in range(4):
        body = by_video[f"good-{i}"]
        assert body["status"] == "succeeded"
        assert body["tasks"]["shots"]["shot_frame_ids"] == expected_shots
        assert body["tasks"]["cover"]["outputs"][0]["image_url"].startswith(engine.endpoint)
        assert body["attributes"] == {"n": f"good-{i}"}
        assert body["source"]["topic"] == topics.input
    assert by_video["corrupt"]["status"] == "failed"
    assert by_video["corrupt"]["tasks"]["shots"]["status"] == "PROCESS_FAILED"
    assert by_video["corrupt"]["tasks"]["shots"]["error_code"] == "InvalidFile.Decode"
    assert by_video["page"]["tasks"]["gif"]["error_code"] == "InvalidFile.Type"

    reasons = {dict(r.headers)["error-code"].decode(): r for r in dead}
    assert set(reasons) == {"not_json", "bad_url", "unknown_task"}
    assert reasons["not_json"].value == b"{not json"
    headers = dict(reasons["bad_url"].headers)
    assert headers["source-topic"].decode() == topics.input
    assert int(headers["source-offset"]) >= 0
    assert headers["error-message"]

    assert consumed == 9
    assert succeeded == 4
