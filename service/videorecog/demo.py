"""``make demo``: the whole chain on one machine, printed step by step."""

from __future__ import annotations

import dataclasses
import sys
import uuid

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from videorecog.broker import EmbeddedBroker
from videorecog.settings import Settings
from videorecog.topics import ensure_topics, service_topics


def _say(text: str) -> None:
    print(text, flush=True)


async def run_demo(settings: Settings) -> int:
    """Start an embedded broker, send a sample upload event and read it back in a group."""
    async with EmbeddedBroker() as broker:
        kafka = dataclasses.replace(
            settings.kafka, bootstrap_servers=broker.bootstrap_servers, idempotence=False
        )
        _say(f"[demo] embedded broker on {broker.bootstrap_servers}")
        await ensure_topics(kafka.bootstrap_servers, service_topics(kafka))
        video_id = f"demo-{uuid.uuid4().hex[:8]}"
        event = {
            "video_id": video_id,
            "video_url": "https://example.com/videos/sample.mp4",
            "tasks": ["shots", "cover"],
            "attributes": {"source": "make demo"},
        }
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
        await producer.start()
        try:
            meta = await producer.send_and_wait(
                kafka.input_topic, orjson.dumps(event), key=video_id.encode()
            )
        finally:
            await producer.stop()
        _say(f"[demo] produced to {meta.topic}[{meta.partition}]@{meta.offset}")

        consumer = AIOKafkaConsumer(
            kafka.input_topic,
            bootstrap_servers=kafka.bootstrap_servers,
            group_id=kafka.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            batches = await consumer.getmany(timeout_ms=10_000)
            records = [r for batch in batches.values() for r in batch]
            for record in records:
                _say(
                    f"[demo] consumed {record.topic}[{record.partition}]@{record.offset} "
                    f"key={record.key!r}"
                )
                _say(orjson.dumps(orjson.loads(record.value), option=orjson.OPT_INDENT_2).decode())
            await consumer.commit()
        finally:
            await consumer.stop()
    if not records:
        print("[demo] nothing came back from the broker", file=sys.stderr)
        return 1
    _say("[demo] done")
    return 0
