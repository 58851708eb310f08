from __future__ import annotations

import orjson
from aiokafka import TopicPartition

from tests.unit.pipeline.fakes import FakeProducer, record
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.outputs import AckedSink
from videorecog.pipeline.publisher import Publisher


async def test_a_result_is_keyed_by_video_id() -> None:
    producer, metrics = FakeProducer(), PipelineMetrics()
    publisher = Publisher(AckedSink(producer), "out", "dlq", metrics)  # type: ignore[arg-type]
    await publisher.result(TopicPartition("up", 0), 7, {"video_id": "v-1", "status": "partial"})
    [sent] = producer.sent
    assert (sent.topic, sent.key) == ("out", b"v-1")
    assert orjson.loads(sent.value or b"") == {"video_id": "v-1", "status": "partial"}
    labels = {"status": "partial"}
    assert (
        metrics.registry.get_sample_value("videorecog_pipeline_results_published_total", labels)
        == 1
    )


async def test_a_dead_letter_keeps_the_original_and_says_why_and_where() -> None:
    producer, metrics = FakeProducer(), PipelineMetrics()
    publisher = Publisher(AckedSink(producer), "out", "dlq", metrics)  # type: ignore[arg-type]
    source = record("up", 2, 41, b"{", key=b"k")
    await publisher.dead_letter(source, "not_json", "x" * 2000)
    [sent] = producer.sent
    headers = dict(sent.headers)
    assert (sent.topic, sent.key, sent.value) == ("dlq", b"k", b"{")
    assert headers["error-code"] == b"not_json"
    assert len(headers["error-message"]) == 1000
    assert (headers["source-topic"], headers["source-partition"], headers["source-offset"]) == (
        b"up",
        b"2",
        b"41",
    )
    labels = {"reason": "not_json"}
    assert metrics.registry.get_sample_value("videorecog_pipeline_dlq_published_total", labels) == 1
