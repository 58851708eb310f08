from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from videorecog.pipeline.offsets import PartitionProgress


def test_watermark_waits_for_the_lowest_unfinished() -> None:
    p = PartitionProgress()
    assert p.watermark() is None
    for offset in (10, 11, 12):
        p.start(offset)
    assert p.watermark() == 10
    p.finish(12)
    p.finish(11)
    assert p.watermark() == 10
    p.finish(10)
    assert p.watermark() == 13
    assert p.in_flight == 0


def test_to_commit_only_when_moved() -> None:
    p = PartitionProgress()
    p.start(5)
    assert p.to_commit() == 5
    p.committed(5)
    assert p.to_commit() is None
    p.finish(5)
    assert p.to_commit() == 6


@given(st.integers(min_value=1, max_value=60), st.randoms(use_true_random=False))
def test_watermark_never_passes_an_unfinished_offset(count: int, rng: random.Random) -> None:
    """Whatever order events finish in, everything below the watermark is finished."""
    p = PartitionProgress()
    offsets = list(range(100, 100 + count))
    for o in offsets:
        p.start(o)
    finished: set[int] = set()
    order = offsets[:]
    rng.shuffle(order)
    for o in order:
        p.finish(o)
        finished.add(o)
        mark = p.watermark()
        assert mark is not None
        assert all(x in finished for x in range(100, mark))
        assert mark == 100 + count or mark not in finished
    assert p.watermark() == 100 + count
