"""A progress bar on standard error for the one-shot commands (``tqdm``): frames done, frames
per second and time left. It appears only once the work has taken ``delay`` seconds, only when
standard error is a terminal, and never with ``--quiet``; standard output stays clean."""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from tqdm import tqdm

DELAY_SECONDS = 2.0
FALLBACK_SIZE = (80, 24)  # columns, rows of a terminal that reports none (a bare pseudo-terminal)


class FrameProgress:
    """A callable taking the number of frames done so far (``analysis.tasks.Progress``).

    ``total``: the frames expected (0 when unknown: no time left is shown then). A count that
    goes back (an analysis pass started over) starts the bar over.
    """

    def __init__(
        self,
        total: int = 0,
        *,
        description: str = "",
        quiet: bool = False,
        delay: float = DELAY_SECONDS,
        stream: TextIO | None = None,
    ) -> None:
        stream = stream if stream is not None else sys.stderr
        self._done = 0
        self._bar: tqdm[None] | None = None
        if quiet or not _is_terminal(stream):
            return  # and tqdm is not even imported: a tenth of a short command's start-up
        from tqdm import tqdm

        width = _width(stream)
        self._bar = tqdm(
            total=total or None,
            desc=description or None,
            unit=" frames",
            unit_scale=False,
            dynamic_ncols=width > 0,
            # A terminal that reports no size: tqdm would hide the bar below its 0 rows.
            ncols=None if width > 0 else FALLBACK_SIZE[0],
            nrows=None if width > 0 else FALLBACK_SIZE[1],
            delay=delay,
            file=stream,
            leave=False,
            mininterval=0.25,
        )

    @property
    def enabled(self) -> bool:
        return self._bar is not None

    def __call__(self, frames: int) -> None:
        if self._bar is None:
            return
        if frames < self._done:
            self._bar.reset(total=self._bar.total)
            self._done = 0
        self._bar.update(frames - self._done)
        self._done = frames

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> FrameProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _width(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return 0
