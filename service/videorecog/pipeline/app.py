"""The pipeline's aiohttp application, wired in one place (like the engine's).

Long-lived resources are async context managers in ``app.cleanup_ctx``, entered in this order and
closed in reverse: the start-up checks of the broker and the topics (``startup.py``; missing
topics created with VIDEORECOG_CREATE_TOPICS), the Kafka producers (one, or with exactly-once
delivery a transactional one beside the job log's), the signed API client and the request budgets
(``quota.py``: with Redis, the fleet's), the job log, the cover store (only with
VIDEORECOG_COVER_STORE_URL), then the consumer with the ``Pipeline`` built on all of them. The app
serves ``/metrics``, ``/healthz`` and ``/readyz``; ``await app[PIPELINE].run(stop)`` does the work
(``runner.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from videorecog.client import VideorecogClient
from videorecog.pipeline.coverstore import CoverStore, optional_cover_store
from videorecog.pipeline.joblog import JobLog
from videorecog.pipeline.membership import leave_group
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.quota import Budgets, budgets
from videorecog.pipeline.service import Pipeline
from videorecog.pipeline.startup import check_broker, start_producer
from videorecog.pipeline.transactions import transactional_id
from videorecog.serving import add_health_routes
from videorecog.settings import KafkaSettings, PipelineSettings, Settings

PRODUCER = web.AppKey("producer", AIOKafkaProducer)
"""Results and dead letters (transactional with exactly-once delivery)."""
JOBLOG_PRODUCER = web.AppKey("joblog_producer", AIOKafkaProducer)
"""Job-log records (the same producer at least once)."""
CLIENT = web.AppKey("client", VideorecogClient)
BUDGETS = web.AppKey("budgets", Budgets)
JOBLOG = web.AppKey("joblog", JobLog)
COVERS = web.AppKey("covers", CoverStore)
PIPELINE = web.AppKey("pipeline", Pipeline)


def isolation_level(kafka: KafkaSettings) -> str:
    """Exactly once, what aborted transactions wrote is never read (input, job log)."""
    return "read_committed" if kafka.delivery == "exactly-once" else "read_uncommitted"


def _producer(
    kafka: KafkaSettings, transactional: str | None = None, timeout_ms: int = 60_000
) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers,
        acks="all",
        enable_idempotence=kafka.idempotence,
        # A few milliseconds of linger let concurrent results and job-log writes share requests.
        linger_ms=5,
        transactional_id=transactional,
        # The broker aborts a transaction left open this long: a dead instance's, about when its
        # partitions move to another member (one never lasts longer than a batch).
        transaction_timeout_ms=timeout_ms,
    )


@asynccontextmanager
async def _producers(
    k: KafkaSettings, p: PipelineSettings
) -> AsyncIterator[tuple[AIOKafkaProducer, AIOKafkaProducer]]:
    """(results and dead letters, job-log records): one producer at least once. Exactly once,
    results and dead letters go through a transactional producer, while job-log records (which
    must outlive an abort: transactions.py) keep a plain one."""
    exactly_once = k.delivery == "exactly-once"
    producers: list[AIOKafkaProducer] = []
    try:
        if exactly_once:
            # Started first: it fences a predecessor and closes its open transaction before the
            # job log is read (read_committed stops at an open transaction).
            producers.append(_producer(k, transactional_id(k), p.session_timeout_ms))
            await start_producer(producers[0], k, transactional=True)
        producers.append(_producer(k))
        await start_producer(producers[-1], k)  # an idempotent one gets its id here
        yield producers[0], producers[-1]
    finally:
        for producer in reversed(producers):
            # Flushes what is buffered (idempotent after a failed start). Against a broker that
            # stopped answering this waits as aiokafka's sender does (it retries an idempotent
            # producer's records until the broker answers): the pod's grace period ends it, and
            # nothing not flushed has been committed past.
            await producer.stop()


def build_app(settings: Settings, metrics: PipelineMetrics | None = None) -> web.Application:
    metrics = metrics or PipelineMetrics()
    k, api, p = settings.kafka, settings.api, settings.pipeline
    app = web.Application()

    async def checks_ctx(app: web.Application) -> AsyncIterator[None]:
        await check_broker(k)
        yield

    async def producer_ctx(app: web.Application) -> AsyncIterator[None]:
        async with _producers(k, p) as (app[PRODUCER], app[JOBLOG_PRODUCER]):
            yield

    async def client_ctx(app: web.Application) -> AsyncIterator[None]:
        async with VideorecogClient(
            api.endpoint,
            api.access_key_id,
            api.access_key_secret.reveal(),
            signature=api.signature,
            region_id=api.region_id,
            max_connections=4 * p.api_concurrency,
        ) as client:
            app[CLIENT] = client
            yield

    async def budgets_ctx(app: web.Application) -> AsyncIterator[None]:
        async with budgets(settings, metrics) as per_action:
            app[BUDGETS] = per_action
            yield

    async def joblog_ctx(app: web.Application) -> AsyncIterator[None]:
        reader = AIOKafkaConsumer(
            bootstrap_servers=k.bootstrap_servers,
            enable_auto_commit=False,
            isolation_level=isolation_level(k),
        )
        async with JobLog(app[JOBLOG_PRODUCER], k.jobs_topic, reader) as joblog:
            app[JOBLOG] = joblog
            yield

    async def covers_ctx(app: web.Application) -> AsyncIterator[None]:
        async with optional_cover_store(settings, metrics) as covers:
            if covers is not None:  # off: results keep only the API's expiring links
                app[COVERS] = covers
            yield

    async def consumer_ctx(app: web.Application) -> AsyncIterator[None]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=k.bootstrap_servers,
            group_id=k.group_id,
            # Static membership (KIP-345): a restart under the same id gets its partitions back
            # without a rebalance; the broker expires a member that never returns after the
            # session timeout.
            group_instance_id=k.instance_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level=isolation_level(k),
            session_timeout_ms=p.session_timeout_ms,
            heartbeat_interval_ms=max(100, p.session_timeout_ms // 10),
        )
        pipeline = Pipeline(
            settings,
            metrics,
            consumer=consumer,
            producer=app[PRODUCER],
            client=app[CLIENT],
            joblog=app[JOBLOG],
            covers=app.get(COVERS),
            budgets=app[BUDGETS],
        )
        consumer.subscribe([k.input_topic], listener=pipeline.listener)
        async with consumer:
            app[PIPELINE] = pipeline
            try:
                yield
            finally:
                # A static member leaves explicitly: its partitions move now, not after the
                # session timeout (aiokafka leaves only as a dynamic member).
                await leave_group(
                    consumer, k.group_id, k.instance_id, seconds=p.session_timeout_ms / 1000
                )

    app.cleanup_ctx.extend(
        [checks_ctx, producer_ctx, client_ctx, budgets_ctx, joblog_ctx, covers_ctx, consumer_ctx]
    )

    def live() -> bool:
        pipeline = app.get(PIPELINE)
        return pipeline is None or pipeline.is_live()

    def ready() -> bool:
        pipeline = app.get(PIPELINE)
        return pipeline is not None and pipeline.is_ready()

    add_health_routes(app, metrics.registry, live=live, ready=ready)
    return app
