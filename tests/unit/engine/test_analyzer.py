"""The engine's analysis pool: warm workers, so no job pays for starting one."""

from __future__ import annotations

import multiprocessing
import time

from videorecog.engine.analyzer import Analyzer


def test_workers_start_with_the_pool_not_with_the_first_job() -> None:
    """Every worker process is running (and has imported the analysis) before any job."""
    before = set(multiprocessing.active_children())
    analyzer = Analyzer(2)
    try:
        deadline = time.monotonic() + 15
        started: set[multiprocessing.process.BaseProcess] = set()
        while time.monotonic() < deadline:
            started = set(multiprocessing.active_children()) - before
            if len(started) >= 2:
                break
            time.sleep(0.05)
        assert len(started) == 2
    finally:
        analyzer.close()
