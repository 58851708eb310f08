from __future__ import annotations

import subprocess
import sys


def test_demo_runs_end_to_end() -> None:
    """``videorecog demo`` runs the whole chain: results with real shots, a dead letter, metrics."""
    done = subprocess.run(
        [sys.executable, "-m", "videorecog", "demo", "--log-format", "console"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "[demo] result for demo-1:" in out
    assert "[demo] result for demo-missing:" in out
    assert '"error_code": "InvalidFile.Download"' in out
    assert "[demo] dead letter: not_json:" in out
    assert 'videorecog_pipeline_results_published_total{status="succeeded"} 2.0' in out
    assert "[demo] done" in out
