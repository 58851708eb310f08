"""Static group membership: the pipeline is the member VIDEORECOG_INSTANCE_ID of its group."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from tests.conftest import BROKERS
from tests.integration.pipeline.conftest import Topics, eventually, pipeline_settings, running


async def _members(bootstrap: str, group: str) -> list[Any]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        responses: list[Any] = await admin.describe_consumer_groups([group])
        return [m for r in responses for g in r.groups for m in g[5]]
    finally:
        await admin.close()


@pytest.mark.parametrize("kafka_broker", BROKERS, indirect=True)
async def test_a_clean_stop_leaves_the_group_at_once(
    bootstrap_servers: str, topics: Topics
) -> None:
    """A static member leaves explicitly when stopped: the group is empty right after, not once
    the session timeout has passed (aiokafka itself leaves only as a dynamic member)."""
    settings = pipeline_settings(bootstrap_servers, topics, "http://127.0.0.1:9")
    async with running(settings) as pipeline:

        async def ready() -> bool:
            return pipeline.is_ready()

        await eventually(ready)
        assert len(await _members(bootstrap_servers, topics.group)) == 1
    assert await _members(bootstrap_servers, topics.group) == []
