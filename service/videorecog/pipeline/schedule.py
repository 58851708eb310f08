"""The poll schedule: pending jobs ordered by when they are next due.

A heap, not a task per job: 100,000 pending jobs cost 100,000 small entries and log-time
operations, served by a fixed set of polling coroutines that sleep until the earliest is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PollSchedule(Generic[T]):
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, T]] = []
        self._order = itertools.count()
        self._changed = asyncio.Event()

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, item: T, due: float) -> None:
        heapq.heappush(self._heap, (due, next(self._order), item))
        self._changed.set()  # a sleeping poller may now have something sooner to do

    async def next_due(self) -> T:
        """Wait until the earliest item is due, remove it and return it."""
        while True:
            if self._heap:
                due = self._heap[0][0]
                wait = due - self._clock()
                if wait <= 0:
                    return heapq.heappop(self._heap)[2]
            else:
                wait = None
            self._changed.clear()
            # Woken by a new item or by the earliest one falling due, whichever comes first.
            # ``asyncio.timeout``, not ``wait_for``: on Python 3.11 a cancellation arriving as the
            # event is set was lost there, and the stop that cancelled this poller waited for good.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._changed.wait()

    def remove_where(self, predicate: Callable[[T], bool]) -> int:
        """Drop matching items (e.g. of a revoked partition); returns how many."""
        kept = [entry for entry in self._heap if not predicate(entry[2])]
        removed = len(self._heap) - len(kept)
        if removed:
            heapq.heapify(kept)
            self._heap = kept
        return removed
