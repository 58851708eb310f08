"""Engine throughput: videos analysed per minute, by one worker and by two, on real footage.

The real clips in ../shared/media are cut into videos of about ten seconds (re-encoded with PyAV,
so each has bytes of its own and no analysis is answered from another's), served over loopback.
Each video is an event asking for ``shots``, ``cover`` and ``gif``: three jobs, submitted at once.

Configurations, one after another, then again, round after round (a busy moment of a shared
machine falls on all of them alike):

- embedded: ``videorecog engine`` alone (SQLite, local covers), one analysis process;
- shared, 1 worker / 2 workers: a front door and ``videorecog worker`` processes (one analysis
  process each) on a PostgreSQL database of their own and a SeaweedFS bucket.

Figures: wall time from the first submission to the last answer; videos per minute, and per
analysis process (each worker runs one, so on a 2-core machine the second worker shares its core
with the front door, PostgreSQL and SeaweedFS); CPU seconds of the engine's processes per video.
PostgreSQL is the machine's own on 5432 when it answers, else a private server on a free port.

Usage: python bench/engine.py [--rounds 3] [--out docs/BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from fractions import Fraction
from pathlib import Path

import av
import psutil
from psycopg import AsyncConnection

from report import update_block
from shots import SHARED_MEDIA, machine
from videorecog.client import VideorecogClient
from videorecog.engine import migrations

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests import stores
from tests.support import EngineProcess, MediaServer

SOURCES = ("transnet_test.mp4", "testvideo.mp4", "goldeneye-vfr-drop3.mp4")
SEGMENT_SECONDS = 10.0
MAX_SEGMENTS: dict[str, int] = {}  # source name -> most segments taken (none: all)
CREDENTIALS = "bench:bench-secret"
CONFIGS = ("embedded", "shared, 1 worker", "shared, 2 workers")


def cut(source: Path, out_dir: Path) -> list[Path]:
    """Segments of ``source`` of about SEGMENT_SECONDS, each re-encoded (H.264) to a file."""
    segments: dict[int, list[av.VideoFrame]] = {}
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        rate = Fraction(stream.average_rate or 25)
        for frame in container.decode(stream):
            n = int((frame.time or 0.0) // SEGMENT_SECONDS)
            if n >= MAX_SEGMENTS.get(source.name, 99):
                break
            segments.setdefault(n, []).append(frame.reformat(format="yuv420p"))
    made = []
    for n, frames in segments.items():
        path = out_dir / f"{source.stem}-{n:02d}.mp4"
        with av.open(str(path), "w") as output:
            writer = output.add_stream("libx264", rate=rate)
            writer.width, writer.height = frames[0].width, frames[0].height
            writer.pix_fmt = "yuv420p"
            writer.options = {"preset": "veryfast", "crf": "20"}
            for index, frame in enumerate(frames):
                frame.pts, frame.time_base = index, Fraction(1, 1) / rate
                output.mux(writer.encode(frame))
            output.mux(writer.encode())
        made.append(path)
    return made


async def migrate(database_url: str) -> None:
    async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
        await migrations.migrate(conn)


def cpu_seconds(process: EngineProcess) -> float:
    """User and system CPU of the process and its analysis processes, so far."""
    assert process.pid is not None
    root = psutil.Process(process.pid)
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


async def run_events(endpoint: str, urls: list[str]) -> None:
    async with VideorecogClient(endpoint, *CREDENTIALS.split(":")) as client:
        jobs = []
        for url in urls:
            jobs += await asyncio.gather(
                client.detect_video_shot(url),
                client.generate_video_cover(url, is_gif=False),
                client.generate_video_cover(url, is_gif=True),
            )
        for job in jobs:
            while (result := await client.get_async_job_result(job)).status.value in (
                "QUEUING",
                "PROCESSING",
            ):
                await asyncio.sleep(0.2)
            if result.status.value != "PROCESS_SUCCESS":
                raise RuntimeError(f"job {job} ended {result.status.value}: {result.error_code}")


@contextmanager
def started(processes: list[EngineProcess]) -> Iterator[list[EngineProcess]]:
    try:
        for process in processes:
            process.start(timeout=60)
        yield processes
    finally:
        for process in processes:
            process.stop()


def measure(
    config: str, urls: list[str], work: Path, server_url: str, s3: stores.SeaweedS3
) -> tuple[float, float]:
    """(wall seconds, engine CPU seconds) to answer every event."""
    with ExitStack() as stack:
        if config == "embedded":
            processes = [
                EngineProcess(work / "embedded", CREDENTIALS, workers="1", rate_limit="1000")
            ]
        else:
            database = stack.enter_context(stores.new_database(server_url))
            asyncio.run(migrate(database))
            bucket = s3.create_bucket(f"bench-{time.time_ns()}")
            env = {
                **bucket.env(),
                "VIDEORECOG_ENGINE_STORE_URL": database,
                "VIDEORECOG_ENGINE_COVER_STORE_URL": f"s3://{bucket.bucket}/covers",
                "VIDEORECOG_S3_ADDRESSING_STYLE": "path",
            }
            workers = 1 if "1 worker" in config else 2
            processes = [EngineProcess(work / "door", CREDENTIALS, env=env, rate_limit="1000")]
            processes += [
                EngineProcess(
                    work / f"worker-{n}", CREDENTIALS, role="worker", env=env, workers="1"
                )
                for n in range(workers)
            ]
        stack.enter_context(started(processes))
        before = sum(cpu_seconds(p) for p in processes)
        start = time.monotonic()
        asyncio.run(run_events(processes[0].endpoint, urls))
        wall = time.monotonic() - start
        cpu = sum(cpu_seconds(p) for p in processes) - before
    return wall, cpu


def spread(values: list[float], fmt: str = "{:.1f}") -> str:
    low, high = fmt.format(min(values)), fmt.format(max(values))
    return f"{fmt.format(statistics.median(values))} ({low}-{high})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every configuration")
    parser.add_argument("--out", type=Path, help="also write the table into this Markdown file")
    args = parser.parse_args()
    if not SHARED_MEDIA.is_dir():
        print(f"no real clips in {SHARED_MEDIA}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="videorecog-bench-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        media = work / "media"
        media.mkdir()
        videos = [v for name in SOURCES for v in cut(SHARED_MEDIA / name, media)]
        frames = sum(av.open(str(v)).streams.video[0].frames for v in videos)
        server = MediaServer({"media": media})
        server.start()
        stack.callback(server.stop)
        if stores.answers("127.0.0.1", 5432):
            server_url = "postgresql://postgres@127.0.0.1:5432"
        else:
            postgres = stores.PrivatePostgres()
            postgres.start()
            stack.callback(postgres.stop)
            server_url = postgres.url
        s3 = stores.SeaweedS3(work / "seaweedfs")
        s3.start()
        stack.callback(s3.stop)
        walls: dict[str, list[float]] = {c: [] for c in CONFIGS}
        cpus: dict[str, list[float]] = {c: [] for c in CONFIGS}
        for n in range(args.rounds):
            for config in CONFIGS:
                # A query string of the round: no front door or cache has seen these URLs.
                urls = [server.url(f"media/{v.name}?round={n}") for v in videos]
                wall, cpu = measure(config, urls, work / f"{n}-{config}", server_url, s3)
                walls[config].append(wall)
                cpus[config].append(cpu)
                print(
                    f"round {n + 1} {config}: {wall:.1f} s wall, {cpu:.1f} CPU s", file=sys.stderr
                )
    lines = [
        f"Machine: {machine()}",
        "",
        f"{len(videos)} videos cut from the real clips ({frames} frames: "
        f"{', '.join(SOURCES)}), each an event asking for `shots`, `cover` and `gif`; "
        f"median of {args.rounds} rounds, min-max in brackets.",
        "",
        "| engine | analysis processes | wall time | videos/min | videos/min per process | "
        "engine CPU s per video |",
        "|---|---|---|---|---|---|",
    ]
    for config in CONFIGS:
        processes = 2 if "2 workers" in config else 1
        per_minute = [len(videos) * 60 / w for w in walls[config]]
        lines.append(
            f"| {config} | {processes} | {spread(walls[config])} s | {spread(per_minute)} | "
            f"{spread([v / processes for v in per_minute])} | "
            f"{spread([c / len(videos) for c in cpus[config]], '{:.2f}')} |"
        )
    text = "\n".join(lines)
    print(text)
    if args.out:
        heading = "## Engine throughput — `bench/engine.py`\n\n"
        update_block(args.out, "engine", text, heading=heading)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
