"""Creating the topics the service uses, with aiokafka's admin client."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from videorecog.settings import KafkaSettings


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 1
    replication_factor: int = 1
    config: dict[str, str] = field(default_factory=dict)


def service_topics(
    kafka: KafkaSettings, partitions: int = 3, replication_factor: int = 1
) -> list[TopicSpec]:
    """The input, output and dead-letter topics, and the compacted job-id log."""
    return [
        TopicSpec(kafka.input_topic, partitions, replication_factor),
        TopicSpec(kafka.output_topic, partitions, replication_factor),
        TopicSpec(kafka.dlq_topic, 1, replication_factor),
        TopicSpec(
            kafka.jobs_topic, partitions, replication_factor, config={"cleanup.policy": "compact"}
        ),
    ]


async def ensure_topics(bootstrap_servers: str, specs: Iterable[TopicSpec]) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=s.config)
            for s in specs
            if s.name not in existing
        ]
        if missing:
            # Another process may create one between our list and create: that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()
