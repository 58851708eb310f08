"""``make demo``: the whole chain on one machine, on a generated video with real cuts.

Generates a clip (hard cuts, a dissolve, a fade through black), starts the dev stack (embedded
broker, engine, file server, pipeline), sends upload events — two good ones, one malformed, one
pointing at a missing file — and prints the result records, the dead letter and a metrics summary.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client import generate_latest

from videorecog.devstack import DevStack
from videorecog.samples import Plan, Shot, Transition, render
from videorecog.settings import Settings

RESULT_TIMEOUT_SECONDS = 180


def _say(text: str) -> None:
    print(text, flush=True)


def sample_plan() -> Plan:
    return Plan(
        shots=(
            Shot(60, "pan", 1),
            Shot(50, "still", 2),
            Shot(70, "zoom", 3),
            Shot(60, "pan", 4),
            Shot(50, "still", 5),
        ),
        transitions=(
            Transition("cut"),
            Transition("dissolve", 16),
            Transition("fade", 20),
            Transition("cut"),
        ),
        width=640,
        height=360,
    )


async def _read(bootstrap: str, topic: str, want: int) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    records: list[Any] = []
    try:
        async with asyncio.timeout(RESULT_TIMEOUT_SECONDS):
            while len(records) < want:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    records.extend(batch)
    finally:
        await consumer.stop()
    return records


def _metrics_summary(text: str) -> list[str]:
    wanted = (
        "events_consumed_total",
        "events_invalid_total",
        "api_requests_total",
        "jobs_completed_total",
        "results_published_total",
        "dlq_published_total",
        "polls_total",
    )
    return [
        line
        for line in text.splitlines()
        if not line.startswith("#") and any(w in line for w in wanted)
    ]


async def run_demo(settings: Settings) -> int:
    with tempfile.TemporaryDirectory(prefix="videorecog-demo-") as tmp:
        media = Path(tmp)
        truth = render(sample_plan(), media / "sample.mp4")
        _say(
            f"[demo] generated sample.mp4: {truth.frames} frames, true shot starts "
            f"{truth.shot_frame_ids}"
        )
        quiet = dataclasses.replace(
            settings,
            engine=dataclasses.replace(settings.engine, data_dir=media / "engine", workers=2),
            pipeline=dataclasses.replace(
                settings.pipeline,
                metrics_port=0,
                api_rate_per_second=20,
                poll_first_seconds=0.5,
                poll_max_seconds=1.0,
                commit_interval_seconds=0.5,
            ),
        )
        async with DevStack(quiet, media) as stack:
            kafka = stack.settings.kafka
            _say(
                f"[demo] broker {kafka.bootstrap_servers}, engine {stack.settings.api.endpoint}, "
                f"metrics http://127.0.0.1:{stack.metrics_port}/metrics"
            )
            events: list[dict[str, Any]] = [
                {
                    "video_id": "demo-1",
                    "video_url": stack.media_url("sample.mp4"),
                    "tasks": ["shots", "cover", "gif"],
                    "attributes": {"source": "make demo"},
                },
                {
                    "video_id": "demo-2",
                    "video_url": stack.media_url("sample.mp4"),
                    "tasks": ["shots"],
                },
                {"video_id": "demo-missing", "video_url": stack.media_url("missing.mp4")},
            ]
            producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
            await producer.start()
            try:
                for e in events:
                    await producer.send_and_wait(
                        kafka.input_topic, orjson.dumps(e), key=e["video_id"].encode()
                    )
                await producer.send_and_wait(kafka.input_topic, b"this is not JSON", key=b"bad")
            finally:
                await producer.stop()
            _say(f"[demo] sent {len(events) + 1} upload events to {kafka.input_topic}")
            results = await _read(kafka.bootstrap_servers, kafka.output_topic, len(events))
            dead = await _read(kafka.bootstrap_servers, kafka.dlq_topic, 1)
            for record in results:
                _say(f"[demo] result for {record.key.decode()}:")
                _say(orjson.dumps(orjson.loads(record.value), option=orjson.OPT_INDENT_2).decode())
            for record in dead:
                headers = {k: v.decode() for k, v in record.headers}
                _say(f"[demo] dead letter: {headers['error-code']}: {headers['error-message']}")
            _say("[demo] metrics:")
            for line in _metrics_summary(generate_latest(stack.metrics.registry).decode()):
                _say(f"    {line}")
            bodies: dict[str, Any] = {
                orjson.loads(r.value)["video_id"]: orjson.loads(r.value) for r in results
            }
        good = bodies.get("demo-1", {}).get("tasks", {}).get("shots", {}).get("shot_frame_ids")
        if good is None:
            print("[demo] no shots came back for demo-1", file=sys.stderr)
            return 1
        _say(f"[demo] detected shot starts {good} (truth {truth.shot_frame_ids})")
    _say("[demo] done")
    return 0
