"""Shared fixtures: one real Kafka-protocol broker for the whole run, on a free loopback port."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from videorecog.broker import READY_TIMEOUT_SECONDS, EmbeddedBroker
from videorecog.topics import TopicSpec, ensure_topics

SHARED_MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[EmbeddedBroker]:
    """A tansu broker started once per test run and stopped at its end."""
    broker = EmbeddedBroker()
    broker.start()
    try:
        asyncio.run(asyncio.wait_for(broker.wait_ready(), READY_TIMEOUT_SECONDS))
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def bootstrap_servers(kafka_broker: EmbeddedBroker) -> str:
    return kafka_broker.bootstrap_servers


MakeTopic = Callable[..., Awaitable[str]]


@pytest.fixture
def make_topic(kafka_broker: EmbeddedBroker) -> MakeTopic:
    """Create a topic with a unique name (tests never share topics) and return its name."""

    async def create(prefix: str = "t", partitions: int = 1, **config: str) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        spec = TopicSpec(name, partitions, config=dict(config))
        await ensure_topics(kafka_broker.bootstrap_servers, [spec])
        return name

    return create
