"""Start-up checks: what the pipeline needs of the broker, verified before it consumes.

Each problem raises ``StartupError`` with one line that names it and the fix; the command line
prints it and exits with status 2. Checked, in order: the broker answers; the four topics exist
(created first with VIDEORECOG_CREATE_TOPICS) and the job log is compacted; the consumer group's
coordinator can be found and the group is one a consumer can join; and, when the producer starts,
that the broker grants it a producer id (``InitProducerId``) if it is idempotent, and one for its
transactional id with exactly-once delivery.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaConnectionError, KafkaError, for_code

from videorecog.pipeline.joblog import MissingTopicError
from videorecog.settings import KafkaSettings, SettingsError
from videorecog.topics import ensure_topics, service_topics

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 30.0
"""Bound on each check: a broker that accepts connections but never answers is a problem too."""


class StartupError(SettingsError):
    """The broker or its topics are not what the settings ask for (exit status 2)."""


def unreachable(kafka: KafkaSettings, error: BaseException) -> StartupError:
    return StartupError(
        f"cannot reach the Kafka broker at {kafka.bootstrap_servers} ({error}): "
        "check VIDEORECOG_KAFKA_BOOTSTRAP_SERVERS"
    )


async def check_broker(kafka: KafkaSettings, group_id: str | None = None) -> None:
    """Verify the topics and the consumer group (``kafka.group_id`` unless given).

    Raises: StartupError (MissingTopicError for a missing topic) naming the problem and the fix.
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=kafka.bootstrap_servers, request_timeout_ms=10_000
    )
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await admin.start()
            if kafka.create_topics:
                await ensure_topics(kafka.bootstrap_servers, service_topics(kafka))
            await _check_topics(admin, kafka)
            await _check_group(admin, group_id or kafka.group_id)
    except (KafkaConnectionError, TimeoutError) as exc:
        raise unreachable(kafka, exc) from None
    finally:
        await admin.close()


async def _check_topics(admin: AIOKafkaAdminClient, kafka: KafkaSettings) -> None:
    existing = set(await admin.list_topics())
    for kind, name in [
        ("input", kafka.input_topic),
        ("output", kafka.output_topic),
        ("dead-letter", kafka.dlq_topic),
        ("job-log", kafka.jobs_topic),
    ]:
        if name not in existing:
            raise MissingTopicError(
                f"{kind} topic {name} does not exist: run `videorecog topics` "
                "or set VIDEORECOG_CREATE_TOPICS=true"
            )
    policy = await _topic_config(admin, kafka.jobs_topic, "cleanup.policy")
    # Absent means the broker's default, which is delete.
    if "compact" not in (policy or "delete").split(","):
        raise StartupError(
            f"job-log topic {kafka.jobs_topic} has cleanup.policy={policy or 'delete'} and "
            "must be compacted: set its cleanup.policy to compact (kafka-configs --alter "
            f"--entity-type topics --entity-name {kafka.jobs_topic} "
            "--add-config cleanup.policy=compact)"
        )


async def _topic_config(admin: AIOKafkaAdminClient, topic: str, name: str) -> str | None:
    """The value of one topic setting, None when the broker does not report it."""
    # All of them: tansu cannot parse a request that names the settings it wants.
    resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs=None)
    responses: list[Any] = await admin.describe_configs([resource])
    for response in responses:
        for error_code, message, _, resource_name, entries in response.resources:
            if error_code:
                raise StartupError(
                    f"cannot read the settings of topic {resource_name}: "
                    f"{for_code(error_code).__name__} {message}"
                )
            for entry in entries:
                if entry[0] == name:
                    return str(entry[1])
    return None


async def _check_group(admin: AIOKafkaAdminClient, group_id: str) -> None:
    """The group's coordinator answers for it, and no other kind of client uses the group."""
    try:
        responses: list[Any] = await admin.describe_consumer_groups([group_id])
    except KafkaError as exc:
        raise StartupError(
            f"consumer group {group_id} cannot be joined ({type(exc).__name__}): check "
            "VIDEORECOG_GROUP_ID and that the broker allows this client to use the group"
        ) from None
    for response in responses:
        for group in response.groups:
            error_code, _, state, protocol_type = group[0], group[1], group[2], group[3]
            if error_code:
                raise StartupError(
                    f"consumer group {group_id} cannot be joined ({for_code(error_code).__name__}):"
                    " check VIDEORECOG_GROUP_ID and that the broker allows this client to use it"
                )
            if protocol_type not in ("", "consumer") and state not in ("Empty", "Dead"):
                raise StartupError(
                    f"consumer group {group_id} is in use by {protocol_type} clients: "
                    "set VIDEORECOG_GROUP_ID to a group of its own"
                )


async def start_producer(
    producer: AIOKafkaProducer, kafka: KafkaSettings, *, transactional: bool = False
) -> None:
    """Start ``producer``; an idempotent or transactional one gets its producer id now (a
    transactional one also fences the previous producer of its id, aborting its open transaction).

    Stops the producer again on failure (no unclosed client).
    Raises: StartupError naming the feature the broker refused and the setting to change.
    """
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await producer.start()
    except BaseException as exc:
        await producer.stop()
        if isinstance(exc, KafkaConnectionError | TimeoutError):
            raise unreachable(kafka, exc) from None
        if isinstance(exc, KafkaError) and transactional:
            raise StartupError(
                f"the broker at {kafka.bootstrap_servers} does not support transactions "
                f"(InitProducerId: {type(exc).__name__}): set VIDEORECOG_DELIVERY=at-least-once "
                "or use a broker that does"
            ) from None
        if isinstance(exc, KafkaError) and kafka.idempotence:
            raise StartupError(
                f"the broker at {kafka.bootstrap_servers} does not support idempotent producers "
                f"(InitProducerId: {type(exc).__name__}): set VIDEORECOG_KAFKA_IDEMPOTENCE=false "
                "or use a broker that does"
            ) from None
        raise
