"""Results and dead letters: the records they become, handed to the delivery mode's sink."""

from __future__ import annotations

from typing import Any

import orjson
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.outputs import Output, Sink


class Publisher:
    def __init__(
        self,
        sink: Sink,
        output_topic: str,
        dlq_topic: str,
        metrics: PipelineMetrics,
    ) -> None:
        self._sink = sink
        self._output = output_topic
        self._dlq = dlq_topic
        self._metrics = metrics

    async def result(self, source: TopicPartition, offset: int, record: dict[str, Any]) -> None:
        """The result of the event at ``offset`` of ``source``, keyed by its video id."""
        output = Output(self._output, orjson.dumps(record), key=str(record["video_id"]).encode())
        await self._sink.write(source, offset, output)
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
        output = Output(self._dlq, source.value, key=source.key, headers=headers)
        await self._sink.write(
            TopicPartition(source.topic, source.partition), source.offset, output
        )
        self._metrics.dlq_published.labels(reason).inc()
