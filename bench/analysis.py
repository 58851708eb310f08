"""One analysis per video: the CPU time of an event asking for shots, a cover and a GIF, analysed
in one decoding pass, beside shots alone and beside the three separate analyses of before.

Each measurement is a process of its own (``bench/analysis.py --child MODE FILE``) that imports
the analysis and loads the face finder first, as the engine's warm workers have, and reports the
CPU seconds of the analysis alone (``time.process_time``: every thread of the process, the
decoder's included; start-up left out, as a warm worker does not pay it). Modes:

- shots alone: ``detect_shots``;
- three separate analyses: ``detect_shots``, ``make_covers`` (image) and ``make_covers`` (GIF),
  one after another in the process, as three jobs would run them;
- one pass: ``analyse`` with ``shots``, ``cover`` and ``gif``.

The modes take turns, round after round, on the real clips in ../shared/media that covers can be
made of (fades.mp4, a flat grey field, has none), so a busy moment of a shared machine falls on
all of them alike; medians over the rounds, min-max in brackets.

Usage: python bench/analysis.py [--rounds 5] [--out docs/BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from report import update_block
from shots import SHARED_MEDIA, machine

CLIPS = ("goldeneye-vfr-drop3.mp4", "testvideo.mp4", "transnet_test.mp4")
SHOTS, SEPARATE, ONE_PASS = "shots alone", "three separate analyses", "one pass"
MODES = (SHOTS, SEPARATE, ONE_PASS)


def child(mode: str, path: str) -> None:
    """Run one mode on one file and print its CPU seconds and frames as JSON."""
    import numpy as np

    from videorecog.analysis import faces, tasks

    faces.largest_face(np.zeros((64, 64, 3), np.uint8))  # the cascade, loaded by a warm worker

    def separate(out: str) -> int:
        tasks.make_covers(path, out, "image", is_gif=False)
        tasks.make_covers(path, out, "gif", is_gif=True)
        return tasks.detect_shots(path).frames

    with tempfile.TemporaryDirectory() as out:
        runs: dict[str, Callable[[], int]] = {
            SHOTS: lambda: tasks.detect_shots(path).frames,
            SEPARATE: lambda: separate(out),
            ONE_PASS: lambda: tasks.analyse(path, frozenset(tasks.OUTPUTS), out, "v").frames,
        }
        start = time.process_time()
        frames = runs[mode]()
        seconds = time.process_time() - start
    print(json.dumps({"seconds": seconds, "frames": frames}))


def measure(mode: str, path: Path) -> tuple[float, int]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return float(result["seconds"]), int(result["frames"])


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def table(rounds: int) -> list[str]:
    lines = [
        f"Machine: {machine()}",
        "",
        f"CPU seconds of the analysis in a warm process (median of {rounds} interleaved rounds, "
        "min-max in brackets): an event asking for `shots`, `cover` and `gif`.",
        "",
        f"| video | frames | {SHOTS} | {SEPARATE} | {ONE_PASS}: shots + cover + gif | "
        "one pass vs shots alone | one pass vs separate |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in CLIPS:
        path = SHARED_MEDIA / name
        if not path.is_file():
            continue
        times: dict[str, list[float]] = {mode: [] for mode in MODES}
        frames = 0
        for _ in range(rounds):
            for mode in MODES:
                seconds, frames = measure(mode, path)
                times[mode].append(seconds)
        median = {mode: statistics.median(t) for mode, t in times.items()}
        lines.append(
            f"| {name} | {frames} | {spread(times[SHOTS])} | {spread(times[SEPARATE])} | "
            f"{spread(times[ONE_PASS])} | {median[ONE_PASS] / median[SHOTS]:.2f}x | "
            f"{median[ONE_PASS] / median[SEPARATE]:.2f}x |"
        )
        print(lines[-1], file=sys.stderr)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--out", type=Path, help="also write the table into this Markdown file")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    if not SHARED_MEDIA.is_dir():
        print(f"no real clips in {SHARED_MEDIA}", file=sys.stderr)
        return 1
    text = "\n".join(table(args.rounds))
    print(text)
    if args.out:
        heading = "## One analysis per video — `bench/analysis.py`\n\n"
        update_block(args.out, "analysis", text, heading=heading)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
