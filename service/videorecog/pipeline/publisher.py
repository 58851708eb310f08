"""Writing results and dead letters; every write waits for the broker (acks=all)."""

from __future__ import annotations

from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from videorecog.pipeline.metrics import PipelineMetrics


class Publisher:
    def __init__(
        self,
        producer: AIOKafkaProducer,
        output_topic: str,
        dlq_topic: str,
        metrics: PipelineMetrics,
    ) -> None:
        self._producer = producer
        self._output = output_topic
        self._dlq = dlq_topic
        self._metrics = metrics

    async def result(self, video_id: str, record: dict[str, Any]) -> None:
        await self._producer.send_and_wait(
            self._output, orjson.dumps(record), key=video_id.encode()
        )
        self._metrics.results_published.labels(record["status"]).inc()

    async def dead_letter(
        self, source: ConsumerRecord[bytes, bytes], reason: str, message: str
    ) -> None:
        """The original key, value and headers, plus why and where it came from."""
        headers = [
            *list(source.headers or ()),
            ("error-code", reason.encode()),
            ("error-message", message.encode()[:1000]),
            ("source-topic", source.topic.encode()),
            ("source-partition", str(source.partition).encode()),
            ("source-offset", str(source.offset).encode()),
        ]
        await self._producer.send_and_wait(self._dlq, source.value, key=source.key, headers=headers)
        self._metrics.dlq_published.labels(reason).inc()
