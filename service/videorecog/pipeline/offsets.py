"""Per-partition commit watermarks.

Events finish out of order; a partition's committable offset is the lowest offset still in flight
(or one past the highest seen when nothing is). Committing it means "everything below is done",
which stays true however the rest finishes.
"""

from __future__ import annotations

import heapq


class PartitionProgress:
    """Offsets of one partition: started, finished, and the watermark they allow."""

    def __init__(self) -> None:
        self._in_flight: list[int] = []  # a heap
        self._finished: set[int] = set()
        self._next = -1  # one past the highest offset started
        self._committed = -1

    def start(self, offset: int) -> None:
        heapq.heappush(self._in_flight, offset)
        self._next = max(self._next, offset + 1)

    def finish(self, offset: int) -> None:
        self._finished.add(offset)
        while self._in_flight and self._in_flight[0] in self._finished:
            self._finished.discard(heapq.heappop(self._in_flight))

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def watermark(self) -> int | None:
        """The offset to commit (the next one to read after a restart); None before any."""
        if self._next < 0:
            return None
        return self._in_flight[0] if self._in_flight else self._next

    def to_commit(self) -> int | None:
        """The watermark if it moved since the last ``committed()``."""
        mark = self.watermark()
        return mark if mark is not None and mark > self._committed else None

    def committed(self, offset: int) -> None:
        self._committed = max(self._committed, offset)
