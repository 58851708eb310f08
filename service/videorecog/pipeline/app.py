"""The pipeline's aiohttp application, wired in one place (like the engine's).

Long-lived resources are async context managers in ``app.cleanup_ctx``, entered in this order and
closed in reverse: the start-up checks of the broker and the topics (``startup.py``; missing
topics created with VIDEORECOG_CREATE_TOPICS), the Kafka producers (one, or with exactly-once
delivery a transactional one beside the job log's), the signed API client, the job log, then the
consumer with the ``Pipeline`` built on all of them. The app serves ``/metrics``,
``/healthz`` and ``/readyz``; ``await app[PIPELINE].run(stop)`` does the work (``runner.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from videorecog.client import VideorecogClient
from videorecog.pipeline.joblog import JobLog
from videorecog.pipeline.membership import leave_group
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.service import Pipeline
from videorecog.pipeline.startup import check_broker, start_producer
from videorecog.pipeline.transactions import transactional_id
from videorecog.serving import add_health_routes
from videorecog.settings import KafkaSettings, Settings

PRODUCER = web.AppKey("producer", AIOKafkaProducer)
"""Results and dead letters (transactional with exactly-once delivery)."""
JOBLOG_PRODUCER = web.AppKey("joblog_producer", AIOKafkaProducer)
"""Job-log records (the same producer at least once)."""
CLIENT = web.AppKey("client", VideorecogClient)
JOBLOG = web.AppKey("joblog", JobLog)
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


def build_app(settings: Settings, metrics: PipelineMetrics | None = None) -> web.Application:
    metrics = metrics or PipelineMetrics()
    k, api, p = settings.kafka, settings.api, settings.pipeline
    app = web.Application()

    async def checks_ctx(app: web.Application) -> AsyncIterator[None]:
        await check_broker(k)
        yield

    async def producer_ctx(app: web.Application) -> AsyncIterator[None]:
        # Exactly once, results and dead letters go through a transactional producer, while job-log
        # records (which must outlive an abort: transactions.py) keep a plain one.
        exactly_once = k.delivery == "exactly-once"
        producers = []
        try:
            if exactly_once:
                # Started first: it fences a predecessor and closes its open transaction before
                # the job log is read (read_committed stops at an open transaction).
                app[PRODUCER] = _producer(k, transactional_id(k), p.session_timeout_ms)
                producers.append(app[PRODUCER])
                await start_producer(app[PRODUCER], k, transactional=True)
            app[JOBLOG_PRODUCER] = _producer(k)
            producers.append(app[JOBLOG_PRODUCER])
            await start_producer(app[JOBLOG_PRODUCER], k)  # an idempotent one gets its id here
            if not exactly_once:
                app[PRODUCER] = app[JOBLOG_PRODUCER]
            yield
        finally:
            for producer in reversed(producers):
                await producer.stop()  # flushes what is buffered; idempotent after a failed start

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

    async def joblog_ctx(app: web.Application) -> AsyncIterator[None]:
        reader = AIOKafkaConsumer(
            bootstrap_servers=k.bootstrap_servers,
            enable_auto_commit=False,
            isolation_level=isolation_level(k),
        )
        async with JobLog(app[JOBLOG_PRODUCER], k.jobs_topic, reader) as joblog:
            app[JOBLOG] = joblog
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
        )
        consumer.subscribe([k.input_topic], listener=pipeline.listener)
        async with consumer:
            app[PIPELINE] = pipeline
            try:
                yield
            finally:
                # A static member leaves explicitly: its partitions move now, not after the
                # session timeout (aiokafka leaves only as a dynamic member).
                await leave_group(consumer, k.group_id, k.instance_id)

    app.cleanup_ctx.extend([checks_ctx, producer_ctx, client_ctx, joblog_ctx, consumer_ctx])

    def live() -> bool:
        pipeline = app.get(PIPELINE)
        return pipeline is None or pipeline.is_live()

    def ready() -> bool:
        pipeline = app.get(PIPELINE)
        return pipeline is not None and pipeline.is_ready()

    add_health_routes(app, metrics.registry, live=live, ready=ready)
    return app
