"""Records of a newly assigned partition wait until the job log has been read.

aiokafka gives the new assignment to its fetcher before it runs the rebalance listener, so
records can arrive while the listener is still reading the job log; accepted then, an event
whose job was recorded by the partition's previous owner would be submitted a second time.
"""

from __future__ import annotations

import orjson
from aiokafka import AIOKafkaProducer

from tests.integration.pipeline.conftest import (
    Topics,
    event,
    pipeline_settings,
    read_all,
    running,
    simulated_api,
)
from videorecog.pipeline.joblog import job_key

FILLER = 40_000  # enough job-log records that reading them takes longer than a fetch


async def test_events_wait_for_the_job_log_of_their_partition(
    bootstrap_servers: str, topics: Topics
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, linger_ms=50, acks="all")
    await producer.start()
    try:
        for i in range(FILLER):
            await producer.send(
                topics.jobs, b'{"job_id": "old"}', key=f"filler/{i}".encode(), partition=0
            )
        # As if the partition's previous owner had submitted this event's job just before it left.
        key = job_key(topics.input, 0, 0, "shots")
        await producer.send(topics.jobs, b'{"job_id": "J-known"}', key=key.encode(), partition=0)
        await producer.flush()
        _, value, _ = event("v0", "http://media.example/0.mp4", ["shots"])
        await producer.send_and_wait(topics.input, value, key=b"v0", partition=0)
    finally:
        await producer.stop()
    async with (
        simulated_api(median_job_seconds=0.1) as (simulator, endpoint),
        running(pipeline_settings(bootstrap_servers, topics, endpoint)),
    ):
        results = await read_all(bootstrap_servers, topics.output, want=1, timeout=60)
    assert orjson.loads(results[0].value)["video_id"] == "v0"
    # The recorded job was polled first (the simulator never heard of it, so it was then
    # submitted anew, once): the event was not accepted before the job log was read.
    assert simulator.state.requests["GetAsyncJobResult:InvalidJobId.NotFound"] == 1
    assert simulator.state.submissions["http://media.example/0.mp4"] == 1
