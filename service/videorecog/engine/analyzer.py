"""The seam to ``videorecog.analysis``: each analysis runs in a spawn-context process pool,
never on the event loop."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from videorecog import logs
from videorecog.analysis import decode, tasks
from videorecog.analysis.errors import InvalidVideo
from videorecog.protocol.errors import InternalServerErrorAlgo, error_for

log = logging.getLogger(__name__)


def _init_child(level: str, fmt: str) -> None:
    logs.configure(level, fmt)


def _analyse_counted(
    path: str, outputs: frozenset[str], out_dir: str, stem: str, image_format: str
) -> tuple[tasks.VideoAnalysis, int]:
    """``tasks.analyse`` in a pool process, and how many decoding passes it made."""
    before = dataclasses.replace(decode.TALLY)
    analysis = tasks.analyse(path, outputs, out_dir, stem, image_format)
    return analysis, decode.TALLY.since(before).passes


def _warm() -> None:
    """Run in each worker as soon as the pool starts, so that no job pays for starting a
    process and importing the analysis (OpenCV's face finder included)."""
    from videorecog.analysis import faces  # noqa: F401


class Analyzer:
    """``analyse()``: all of a video's outputs in one decoding pass, in a warm process; raises
    InvalidFileError or ServerError as the API would."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        root = logging.getLogger()
        fmt = (
            "json"
            if any(isinstance(h.formatter, logs.JsonFormatter) for h in root.handlers)
            else "console"
        )
        self._child_logging = (logging.getLevelName(root.level), fmt)
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_child,
            initargs=self._child_logging,
        )
        # The executor starts a worker per task waiting: one warm-up task each starts them all.
        for _ in range(self._workers):
            pool.submit(_warm)
        return pool

    async def _run(self, fn: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, fn, *args)
        except InvalidVideo as exc:
            raise error_for(exc.code, exc.message) from None
        except BrokenProcessPool:
            log.error("analysis worker died; starting a new pool")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            raise InternalServerErrorAlgo("The analysis worker died.") from None
        except (MemoryError, RuntimeError, ValueError, OSError) as exc:
            log.exception("analysis failed")
            raise InternalServerErrorAlgo(f"The analysis failed: {exc}") from None

    async def analyse(
        self,
        video: Path,
        outputs: frozenset[str],
        out_dir: Path,
        stem: str,
        image_format: str = "png",
    ) -> tuple[tasks.VideoAnalysis, int]:
        """``outputs`` of ``tasks.OUTPUTS`` from one decoding pass, and the passes it took (one,
        unless the analysis changes). A cover that cannot be made (no visible frame) is in
        ``failed`` as ``InvalidVideo``, the other outputs are still given:
        ``error_for(exc.code, exc.message)`` is the error its own job would have."""
        result: tuple[tasks.VideoAnalysis, int] = await self._run(
            _analyse_counted, str(video), outputs, str(out_dir), stem, image_format
        )
        return result

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
