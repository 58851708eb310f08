"""Leaving the consumer group explicitly as a static member (KIP-345).

aiokafka sends ``LeaveGroup`` on close only for dynamic members, and only versions 0-1, which cannot
name a ``group.instance.id``: a static member that stops would hold its partitions until the
session timeout. ``leave_group`` sends ``LeaveGroup`` v3 (the first version with members by
instance id) to the group's coordinator, so a clean shutdown hands the partitions over at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError, for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Int16, Int32, Schema, String

log = logging.getLogger(__name__)


class LeaveGroupResponse_v3(Response):  # type: ignore[misc]
    API_KEY = 13
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        (
            "members",
            Array(
                ("member_id", String("utf-8")),
                ("group_instance_id", String("utf-8")),
                ("error_code", Int16),
            ),
        ),
    )


class LeaveGroupRequest_v3(RequestStruct):  # type: ignore[misc]
    API_KEY = 13
    API_VERSION = 3
    RESPONSE_TYPE: ClassVar[type[Response]] = LeaveGroupResponse_v3
    SCHEMA = Schema(
        ("group", String("utf-8")),
        ("members", Array(("member_id", String("utf-8")), ("group_instance_id", String("utf-8")))),
    )


class StaticLeaveGroupRequest(Request[LeaveGroupRequest_v3]):  # type: ignore[misc]
    API_KEY = 13

    def __init__(self, group: str, member_id: str, instance_id: str) -> None:
        self._group = group
        self._member = (member_id, instance_id)

    def build(self, request_struct_class: type[LeaveGroupRequest_v3]) -> LeaveGroupRequest_v3:
        return request_struct_class(self._group, [self._member])


async def leave_group(
    consumer: AIOKafkaConsumer, group_id: str, instance_id: str, *, seconds: float
) -> bool:
    """Leave the group as the static member ``instance_id``; True if the coordinator agreed.

    Call it before ``consumer.stop()``. A broker without LeaveGroup v3, an error or no answer
    within ``seconds`` (the session timeout: waiting longer gains nothing) is logged: the
    member then expires after the session timeout, as it would have without this.
    """
    # aiokafka keeps the member id and the coordinator in its group coordinator (no public API).
    coordinator: Any = getattr(consumer, "_coordinator", None)
    client: Any = getattr(consumer, "_client", None)
    member_id = getattr(coordinator, "member_id", "")
    node_id = getattr(coordinator, "coordinator_id", None)
    if not member_id or node_id is None or client is None:
        return False  # never joined
    try:
        async with asyncio.timeout(seconds):
            response: Any = await client.send(
                node_id, StaticLeaveGroupRequest(group_id, member_id, instance_id)
            )
    except (KafkaError, NotImplementedError, OSError, TimeoutError) as exc:
        log.warning("could not leave the group", extra={"group": group_id, "error": repr(exc)})
        return False
    codes = [response.error_code, *(m[2] for m in response.members)]
    failed = [for_code(code).__name__ for code in codes if code]
    if failed:
        log.warning("could not leave the group", extra={"group": group_id, "error": failed[0]})
        return False
    log.info("left the group", extra={"group": group_id, "instance_id": instance_id})
    return True
