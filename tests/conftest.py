"""Shared fixtures: real Kafka-protocol brokers on free loopback ports (tansu for every test, and
noida-db for the tests run over both), each started once per run; PostgreSQL, Redis and an
S3-compatible store (tests/stores.py)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import pytest
from pytest_redis import factories as redis_factories

from tests import stores
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


# Private servers, started only when a test needs one and the machine has none (see stores.py).
private_redis = redis_factories.redis_proc(
    executable=stores.redis_server(), host="127.0.0.1", port=None
)


@pytest.fixture(scope="session")
def private_postgresql() -> Iterator[stores.PrivatePostgres]:
    server = stores.PrivatePostgres()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server_url(request: pytest.FixtureRequest) -> str:
    """A PostgreSQL server's URL (no database): configured, the machine's own, or private."""
    configured = os.environ.get("VIDEORECOG_TEST_POSTGRES_URL")
    if configured:
        return configured.rstrip("/")
    if stores.answers("127.0.0.1", 5432):
        return "postgresql://postgres@127.0.0.1:5432"
    server: stores.PrivatePostgres = request.getfixturevalue("private_postgresql")
    return server.url


@pytest.fixture(scope="session")
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A database of its own for this test run, dropped at its end."""
    with stores.new_database(postgres_server_url) as url:
        yield url


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest) -> str:
    """A Redis server's URL: configured, the machine's own, or private. Tests share it, so each
    keeps to its own keys (``redis_prefix``) and never flushes."""
    configured = os.environ.get("VIDEORECOG_TEST_REDIS_URL")
    if configured:
        return configured
    if stores.answers("127.0.0.1", 6379):
        return "redis://127.0.0.1:6379/0"
    server = request.getfixturevalue("private_redis")
    return f"redis://{server.host}:{server.port}/0"


@pytest.fixture
def redis_prefix() -> str:
    """Keys of this test alone."""
    return f"videorecog-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def killable_redis() -> Iterator[stores.KillableRedis]:
    """A Redis of the test's own, which it may kill (``kill()``) and start again (``start()``)."""
    if stores.redis_server() is None:
        pytest.skip("redis-server is not installed (the Makefile installs it)")
    server = stores.KillableRedis()
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[stores.SeaweedS3]:
    """One SeaweedFS for the run; tests take buckets of their own (``s3_bucket``)."""
    server = stores.SeaweedS3(tmp_path_factory.mktemp("seaweedfs") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(s3_server: stores.SeaweedS3) -> stores.S3Location:
    """A new, empty bucket for the test."""
    return s3_server.create_bucket(f"test-{uuid.uuid4().hex[:12]}")
