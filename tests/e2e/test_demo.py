from __future__ import annotations

import subprocess
import sys


def test_demo_runs_end_to_end() -> None:
    """``videorecog demo`` exits 0 and prints the event it read back from the broker."""
    done = subprocess.run(
        [sys.executable, "-m", "videorecog", "demo", "--log-format", "console"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "[demo] consumed video-uploads" in done.stdout
    assert '"video_id": "demo-' in done.stdout
