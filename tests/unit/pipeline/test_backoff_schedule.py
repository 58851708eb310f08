from __future__ import annotations

import asyncio
import random

from videorecog.pipeline.backoff import PollPolicy, RetryPolicy
from videorecog.pipeline.schedule import PollSchedule


def test_retry_delay_is_full_jitter_under_a_growing_cap() -> None:
    policy = RetryPolicy(attempts=8, base_seconds=0.5, cap_seconds=4.0)
    rng = random.Random(1)
    for attempt, ceiling in enumerate([0.5, 1.0, 2.0, 4.0, 4.0, 4.0]):
        delays = [policy.delay(attempt, rng) for _ in range(300)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > 0.8 * ceiling  # it spreads over the whole range
        assert min(delays) < 0.2 * ceiling


def test_first_poll_follows_the_typical_duration() -> None:
    policy = PollPolicy(first_seconds=1.0, expect_fraction=0.8, cap_seconds=15.0)
    assert policy.first(None) == 1.0
    assert policy.first(0.5) == 1.0  # never sooner than first_seconds
    assert policy.first(5.0) == 4.0
    assert policy.first(100.0) == 15.0


def test_later_polls_keep_the_delay_within_the_allowance() -> None:
    """Waiting at most 1 s + 10% of the elapsed time (less some headroom), up to the cap."""
    policy = PollPolicy(first_seconds=1.0, slack_fraction=0.1, cap_seconds=5.0)
    assert 0.5 <= policy.next(0.0) <= 1.0
    assert 1.0 <= policy.next(10.0) <= 2.0
    assert policy.next(100.0) == 5.0


def test_typical_duration_is_a_recent_median() -> None:
    from videorecog.pipeline.backoff import TypicalDuration

    typical = TypicalDuration(window=3)
    assert typical.median() is None
    for seconds in (9.0, 1.0, 2.0, 3.0):
        typical.add(seconds)
    assert typical.median() == 2.0  # 9.0 fell out of the window


async def test_schedule_serves_items_in_due_order() -> None:
    loop = asyncio.get_running_loop()
    schedule: PollSchedule[str] = PollSchedule(loop.time)
    now = loop.time()
    schedule.add("late", now + 0.2)
    schedule.add("soon", now + 0.05)
    schedule.add("now", now)
    assert [await schedule.next_due() for _ in range(3)] == ["now", "soon", "late"]
    assert loop.time() - now >= 0.19


async def test_a_sleeping_taker_wakes_for_an_earlier_item() -> None:
    loop = asyncio.get_running_loop()
    schedule: PollSchedule[str] = PollSchedule(loop.time)
    schedule.add("far", loop.time() + 30)
    taker = asyncio.create_task(schedule.next_due())
    await asyncio.sleep(0.02)
    schedule.add("near", loop.time())
    assert await asyncio.wait_for(taker, 1) == "near"


async def test_a_taker_cancelled_as_an_item_arrives_stops() -> None:
    """Cancelled in the same turn of the loop as an item wakes it, a taker ends: the stop of a
    pipeline cancels its pollers once and waits for them (``asyncio.wait_for`` on Python 3.11
    returned the wake-up and lost the cancellation, and the poller slept on: a stop that hung)."""
    loop = asyncio.get_running_loop()
    schedule: PollSchedule[str] = PollSchedule(loop.time)
    schedule.add("far", loop.time() + 30)
    taker = asyncio.create_task(schedule.next_due())
    await asyncio.sleep(0.01)  # asleep until "far" is due
    schedule.add("farther", loop.time() + 60)  # wakes the taker, which would sleep again
    taker.cancel()
    done, _ = await asyncio.wait({taker}, timeout=2)
    assert taker in done
    assert taker.cancelled()


def test_remove_where_and_scale() -> None:
    """100,000 pending entries are cheap; removal by predicate keeps the rest ordered."""
    schedule: PollSchedule[int] = PollSchedule(lambda: 0.0)
    for i in range(100_000):
        schedule.add(i, float(i % 977))
    assert schedule.remove_where(lambda i: i % 2 == 0) == 50_000
    assert len(schedule) == 50_000
