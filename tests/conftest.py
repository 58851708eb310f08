"""Shared fixtures: real Kafka-protocol brokers on free loopback ports (tansu for every test, and
noida-db for the tests run over both), each started once per run."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.clips import Clip, make_clips
from tests.support import SHARED_MEDIA, EngineProcess, MediaServer, NoidaBroker
from videorecog.broker import READY_TIMEOUT_SECONDS, EmbeddedBroker
from videorecog.topics import TopicSpec, ensure_topics

CREDENTIALS = {"ak-test": "sk-test", "ak-rate": "sk-rate", "ak-other": "sk-other"}


def _serve(broker: EmbeddedBroker) -> Iterator[EmbeddedBroker]:
    broker.start()
    try:
        asyncio.run(asyncio.wait_for(broker.wait_ready(), READY_TIMEOUT_SECONDS))
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def tansu_broker() -> Iterator[EmbeddedBroker]:
    """A tansu broker started once per test run and stopped at its end."""
    yield from _serve(EmbeddedBroker())


@pytest.fixture(scope="session")
def noida_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """A noida-db broker (idempotent and transactional producers), started on first use."""
    yield from _serve(NoidaBroker(tmp_path_factory.mktemp("noida-db")))


BROKERS = ["tansu", "noida"]
"""Parametrise a test over both: ``@pytest.mark.parametrize("kafka_broker", BROKERS,
indirect=True)``."""

chains = pytest.mark.parametrize(
    ("kafka_broker", "delivery"),
    [
        pytest.param("tansu", "at-least-once", id="tansu-at-least-once"),
        pytest.param("noida", "at-least-once", id="noida-at-least-once"),
        # tansu has no transactions.
        pytest.param("noida", "exactly-once", id="noida-exactly-once"),
    ],
    indirect=["kafka_broker"],
)
"""Run a chain test over every broker and delivery mode it supports; the test takes ``delivery``
(the value of VIDEORECOG_DELIVERY)."""


@pytest.fixture
def kafka_broker(request: pytest.FixtureRequest) -> EmbeddedBroker:
    """The broker of the test: tansu unless the test is parametrised with ``BROKERS``."""
    name = getattr(request, "param", "tansu")
    broker: EmbeddedBroker = request.getfixturevalue(f"{name}_broker")
    return broker


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


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Clip]:
    """Generated clips with exact ground truth (made once per run) and broken files."""
    return make_clips(tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="session")
def media_server(clips: dict[str, Clip]) -> Iterator[MediaServer]:
    """HTTP on loopback: ``/gen/<file>`` generated clips, ``/shared/<file>`` the labelled ones."""
    server = MediaServer({"gen": next(iter(clips.values())).path.parent, "shared": SHARED_MEDIA})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    """One engine process for the run (tests needing their own start one themselves)."""
    process = EngineProcess(
        tmp_path_factory.mktemp("engine") / "data",
        ",".join(f"{k}:{v}" for k, v in CREDENTIALS.items()),
        rate_limit="100",
    )
    process.start()
    yield process
    process.stop()


@dataclass
class Topics:
    input: str
    output: str
    dlq: str
    jobs: str
    group: str
    idempotence: bool = False  # the broker grants idempotent producers: production's setting


@pytest.fixture
async def topics(make_topic: MakeTopic, kafka_broker: EmbeddedBroker) -> Topics:
    """The pipeline's four topics and a consumer group, all new for the test."""
    return Topics(
        idempotence=kafka_broker.idempotence,
        input=await make_topic("uploads", partitions=3),
        output=await make_topic("results", partitions=3),
        dlq=await make_topic("dlq", partitions=1),
        jobs=await make_topic("jobs", partitions=3, **{"cleanup.policy": "compact"}),
        group=f"group-{uuid.uuid4().hex[:8]}",
    )
