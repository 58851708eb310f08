"""A real round trip through the embedded broker: keys, groups, manual commits, resume."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.conftest import MakeTopic

# A member that left is waited out for its session timeout before the group rebalances;
# Kafka's smallest allowed session keeps restarts quick.
FAST_GROUP = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 500}


async def _produce(bootstrap: str, topic: str, count: int, start: int = 0) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(start, start + count):
            await producer.send_and_wait(
                topic, f"value-{i}".encode(), key=f"video-{i % 4}".encode()
            )
    finally:
        await producer.stop()


async def _consume(
    bootstrap: str, topic: str, group: str, want: int
) -> list[tuple[int, int, bytes]]:
    """Read ``want`` records in ``group``, committing each batch manually, then leave."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **FAST_GROUP,
    )
    await consumer.start()
    seen: list[tuple[int, int, bytes]] = []
    try:
        for _ in range(60):
            if len(seen) >= want:
                break
            batches = await consumer.getmany(timeout_ms=500, max_records=want - len(seen))
            for tp, records in batches.items():
                seen.extend((tp.partition, r.offset, r.value) for r in records)
                await consumer.commit({tp: records[-1].offset + 1})
    finally:
        await consumer.stop()
    return seen


async def test_consumer_resumes_after_committed_offset(
    bootstrap_servers: str, make_topic: MakeTopic
) -> None:
    """A restarted group member continues after the committed offsets, skipping nothing."""
    topic = await make_topic("roundtrip", partitions=2)
    await _produce(bootstrap_servers, topic, 12)

    first = await _consume(bootstrap_servers, topic, "g-resume", want=12)
    assert sorted(v for _, _, v in first) == sorted(f"value-{i}".encode() for i in range(12))

    await _produce(bootstrap_servers, topic, 5, start=12)
    second = await _consume(bootstrap_servers, topic, "g-resume", want=5)
    assert sorted(v for _, _, v in second) == sorted(f"value-{i}".encode() for i in range(12, 17))


async def test_keys_keep_order_within_a_partition(
    bootstrap_servers: str, make_topic: MakeTopic
) -> None:
    """Records with the same key land on one partition, in the order produced."""
    topic = await make_topic("keys", partitions=3)
    await _produce(bootstrap_servers, topic, 20)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id="g-keys",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **FAST_GROUP,
    )
    await consumer.start()
    by_key: dict[bytes, list[tuple[int, bytes]]] = {}
    try:
        count = 0
        for _ in range(40):
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for r in records:
                    by_key.setdefault(r.key, []).append((r.partition, r.value))
                    count += 1
            if count >= 20:
                break
    finally:
        await consumer.stop()
    assert count == 20
    for key, items in by_key.items():
        assert len({p for p, _ in items}) == 1, key
        numbers = [int(v.split(b"-")[1]) for _, v in items]
        assert numbers == sorted(numbers)


async def test_committed_offsets_are_visible_to_a_new_member(
    bootstrap_servers: str, make_topic: MakeTopic
) -> None:
    """What one member committed is what ``committed()`` reports to the next."""
    topic = await make_topic("commits", partitions=1)
    await _produce(bootstrap_servers, topic, 3)
    await _consume(bootstrap_servers, topic, "g-commits", want=3)
    # No subscription: this member only asks the coordinator, it never joins the group.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id="g-commits",
        enable_auto_commit=False,
        **FAST_GROUP,
    )
    await consumer.start()
    try:
        assert await consumer.committed(TopicPartition(topic, 0)) == 3
    finally:
        await consumer.stop()
