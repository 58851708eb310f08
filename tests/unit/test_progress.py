"""The progress bar: frames, rate and time left on a terminal, nothing otherwise."""

from __future__ import annotations

import io

from videorecog.progress import FrameProgress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_shows_frames_rate_and_time_left() -> None:
    """Done of total, frames per second and the remaining time, once the delay is over."""
    terminal = _Terminal()
    with FrameProgress(200, description="shots", delay=0, stream=terminal) as progress:
        progress(50)
        progress._bar.refresh()
        text = terminal.getvalue()
    assert "shots" in text
    assert "50/200" in text
    assert "frames/s" in text
    assert "<" in text  # elapsed<remaining


def test_count_going_back_starts_over() -> None:
    """A pass that starts again (the survey fell back to full decoding) restarts the bar."""
    terminal = _Terminal()
    progress = FrameProgress(200, delay=0, stream=terminal)
    progress(120)
    progress(10)
    assert progress._bar.n == 10
    progress.close()


def test_silent_when_quiet_or_not_a_terminal() -> None:
    """Neither ``quiet`` nor a stream that is not a terminal get a bar."""
    for stream, quiet in ((_Terminal(), True), (io.StringIO(), False)):
        with FrameProgress(200, delay=0, stream=stream, quiet=quiet) as progress:
            progress(100)
            assert not progress.enabled
        assert stream.getvalue() == ""
