"""Pipeline benchmark against the API SIMULATOR, with its references measured in the same run.

Everything runs on this machine: the embedded broker, the simulator (a subprocess) and the
pipeline (a subprocess, as in production). Scenarios:

1. raw: the rate of signed requests one aiohttp client gets from the simulator (reference a);
2. throughput: events/s through the whole chain with short jobs, and API requests per event;
3. latency: jobs of median 5 s: polls per job and result delay (job finished -> result seen);
4. memory: peak RSS of the pipeline process with 10,000 jobs pending;
5. naive: one event at a time with the official SDK (reference b);
6. fleet: four pipeline processes in one consumer group against an account budget of 2
   submissions/s per action, enforced by the simulator like the cloud: one budget in Redis beside
   a bucket per process (``videorecog/fleet.py``). Redis is the machine's own on 6379 when it
   answers, else a private ``redis-server`` on a free port.

7. delivery: at-least-once and exactly-once through the same broker (noida-db, the tests' broker
   with transactions; idempotent producer on), one after the other in the same run.

Usage: python bench/pipeline.py [--out docs/BENCHMARKS.md] [--events N] [--only SCENARIO ...]
                                [--fleet-seconds 120]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import uvloop
from aiokafka import AIOKafkaConsumer

from report import update_block
from videorecog import fleet
from videorecog.broker import EmbeddedBroker, free_port
from videorecog.client import VideorecogClient
from videorecog.fleet import (
    SUBMISSIONS,
    FleetRun,
    Topics,
    produce_uploads,
    run_fleet,
    simulator_stats,
)

# The test suite's second broker (noida-db), which grants transactions; tansu does not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support import NoidaBroker

AK, SK = "bench", "bench-secret"


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{cpu}, {os.cpu_count()} cores; Python {sys.version.split()[0]}"


@dataclass(frozen=True)
class Simulator:
    endpoint: str
    pid: int


@asynccontextmanager
async def simulator(job_seconds: float, *extra: str) -> AsyncIterator[Simulator]:
    port = free_port()
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "videorecog",
            "simulator",
            "--port",
            str(port),
            "--credentials",
            f"{AK}:{SK}",
            "--job-seconds",
            str(job_seconds),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as process:
        try:
            assert process.stdout is not None
            process.stdout.readline()  # the banner: it is listening
            yield Simulator(f"http://127.0.0.1:{port}", process.pid)
        finally:
            process.terminate()
            process.wait()


def pipeline_env(bootstrap: str, topics: Topics, endpoint: str, **extra: str) -> dict[str, str]:
    return fleet.pipeline_env(bootstrap, topics, endpoint, (AK, SK), **extra)


@asynccontextmanager
async def pipeline(env: dict[str, str]) -> AsyncIterator[subprocess.Popen[bytes]]:
    with subprocess.Popen(
        [sys.executable, "-m", "videorecog", "pipeline"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as process:
        try:
            yield process
        finally:
            process.terminate()
            process.wait()


async def collect(
    bootstrap: str,
    topic: str,
    count: int,
    limit: float,
    on_first: Callable[[], None] | None = None,
) -> list[tuple[float, dict[str, Any]]]:
    """(arrival wall time, record) for ``count`` distinct videos, as a read_committed reader
    (exactly-once output's readers) sees them."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    seen: dict[str, tuple[float, dict[str, Any]]] = {}
    try:
        async with asyncio.timeout(limit):
            while len(seen) < count:
                for batch in (await consumer.getmany(timeout_ms=50)).values():
                    now = time.time()
                    if not seen and on_first is not None:
                        on_first()
                    for r in batch:
                        body = orjson.loads(r.value)
                        seen.setdefault(body["video_id"], (now, body))
    finally:
        await consumer.stop()
    return list(seen.values())


async def raw_rate(
    endpoint: str, seconds: float = 5.0, concurrency: int = 64, *, mix: bool = False
) -> float:
    """Signed requests per second one aiohttp client gets: GetAsyncJobResult of a real job, or
    with ``mix`` the pipeline's own mix (submit a DetectVideoShot, then poll it once)."""
    async with VideorecogClient(endpoint, AK, SK, max_connections=concurrency) as client:
        job_id = await client.detect_video_shot("http://media.example/raw.mp4")
        done = 0
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                if mix:
                    await client.detect_video_shot("http://media.example/raw.mp4")
                    done += 1
                await client.get_async_job_result(job_id)
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - started)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def naive_rate(bootstrap: str, topics: Topics, endpoint: str, count: int) -> float:
    """The simplest loop with the official v1 SDK: one event, submit, poll every second,
    publish, commit, next."""
    code = f"""
import asyncio, json, time, warnings
warnings.simplefilter("ignore")
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aliyunsdkcore.client import AcsClient
from aliyunsdkvideorecog.request.v20200320.DetectVideoShotRequest import DetectVideoShotRequest
from aliyunsdkvideorecog.request.v20200320.GetAsyncJobResultRequest import GetAsyncJobResultRequest
sdk = AcsClient({AK!r}, {SK!r}, "cn-shanghai")
def call(request):
    request.set_endpoint({endpoint.split("//")[1]!r}); request.set_protocol_type("http")
    return json.loads(sdk.do_action_with_exception(request))
async def main():
    consumer = AIOKafkaConsumer({topics.input!r}, bootstrap_servers={bootstrap!r},
        group_id={topics.group + "-naive"!r}, enable_auto_commit=False,
        auto_offset_reset="earliest")
    producer = AIOKafkaProducer(bootstrap_servers={bootstrap!r})
    await consumer.start(); await producer.start()
    started = None
    for _ in range({count}):
        record = await consumer.getone()
        started = started or time.perf_counter()
        event = json.loads(record.value)
        submit = DetectVideoShotRequest(); submit.set_VideoUrl(event["video_url"])
        job_id = call(submit)["RequestId"]
        while True:
            time.sleep(1.0)
            poll = GetAsyncJobResultRequest(); poll.set_JobId(job_id)
            data = call(poll)["Data"]
            if data["Status"] not in ("QUEUING", "PROCESSING"):
                break
        await producer.send_and_wait({topics.output!r}, json.dumps(data).encode())
        await consumer.commit()
    print({count} / (time.perf_counter() - started))
    await consumer.stop(); await producer.stop()
asyncio.run(main())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


async def metric(port: str, name: str) -> float:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        text = await response.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


def vm(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return 0.0


async def throughput_scenario(bs: str, events: int) -> dict[str, float]:
    """Short jobs: events/s through the chain, requests per event, and both references."""
    async with simulator(0.2) as sim:
        # The best of three: the reference is the most this client ever got, not a bad moment.
        raw = max([await raw_rate(sim.endpoint, seconds=3.0) for _ in range(3)])
    async with simulator(0.2) as sim:
        raw_mix = max([await raw_rate(sim.endpoint, seconds=3.0, mix=True) for _ in range(3)])
    async with simulator(0.2) as sim:  # a fresh one: its request counts are the pipeline's
        topics = Topics()
        await topics.create(bs)
        await produce_uploads(bs, topics.input, events, ["shots"])
        env = pipeline_env(bs, topics, sim.endpoint, VIDEORECOG_POLL_FIRST_SECONDS="0.2")
        async with pipeline(env) as process:
            pids = {"pipeline": process.pid, "simulator": sim.pid}
            cpu_at_first: dict[str, float] = {}

            def first_result() -> None:
                cpu_at_first.update({name: cpu_seconds(pid) for name, pid in pids.items()})

            started = time.time()
            results = await collect(bs, topics.output, events, limit=600, on_first=first_result)
            cpu = {name: cpu_seconds(pid) - cpu_at_first[name] for name, pid in pids.items()}
        requests = sum((await simulator_stats(sim.endpoint))["requests"].values())
    async with simulator(0.2) as sim:
        naive_topics = Topics()
        await naive_topics.create(bs)
        await produce_uploads(bs, naive_topics.input, 8, ["shots"])
        naive = naive_rate(bs, naive_topics, sim.endpoint, 8)
    arrivals = sorted(t for t, _ in results)
    # Steady state, first result to last: start-up (imports, joining the group) is reported apart.
    steady = arrivals[-1] - arrivals[0]
    return {
        "raw": raw,
        "raw_mix": raw_mix,
        "throughput": (events - 1) / steady,
        "startup": arrivals[0] - started,
        "per_event": requests / events,
        "naive": naive,
        "cpu_pipeline": cpu["pipeline"] / steady,
        "cpu_simulator": cpu["simulator"] / steady,
    }


async def delivery_scenario(events: int) -> dict[str, float]:
    """Steady events/s at least once and exactly once, through one noida-db broker with the
    idempotent producer on, short jobs as in the throughput scenario."""
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as data:
        async with NoidaBroker(Path(data)) as broker:
            bs = broker.bootstrap_servers
            for delivery in ("at-least-once", "exactly-once"):
                async with simulator(0.2) as sim:
                    topics = Topics()
                    await topics.create(bs)
                    await produce_uploads(bs, topics.input, events, ["shots"])
                    env = pipeline_env(
                        bs,
                        topics,
                        sim.endpoint,
                        VIDEORECOG_POLL_FIRST_SECONDS="0.2",
                        VIDEORECOG_KAFKA_IDEMPOTENCE="true",
                        VIDEORECOG_DELIVERY=delivery,
                    )
                    async with pipeline(env):
                        results = await collect(bs, topics.output, events, limit=600)
                arrivals = sorted(t for t, _ in results)
                rates[delivery] = (events - 1) / (arrivals[-1] - arrivals[0])
    return rates


async def latency_scenario(bs: str, count: int = 400) -> dict[str, float]:
    """Jobs of median 5 s: polls per job, and how late each result is seen."""
    async with simulator(5.0) as simulated:
        topics = Topics()
        await topics.create(bs)
        await produce_uploads(bs, topics.input, count, ["shots"])
        async with pipeline(pipeline_env(bs, topics, simulated.endpoint)):
            results = await collect(bs, topics.output, count, limit=300)
        sim = await simulator_stats(simulated.endpoint)
    delays: list[float] = []
    within = 0
    for arrived, body in results:
        job_id = body["tasks"]["shots"]["job_id"]
        delay = arrived - sim["ready_at"][job_id]
        delays.append(delay)
        within += delay <= 1.0 + 0.1 * sim["job_seconds"][job_id]
    delays.sort()
    return {
        "polls": sim["requests"].get("GetAsyncJobResult:Success", 0) / count,
        "median_job": statistics.median(sim["job_seconds"].values()),
        "p50": delays[len(delays) // 2],
        "p95": delays[int(len(delays) * 0.95)],
        "within": within / count,
    }


async def memory_scenario(bs: str, pending: int = 10_000) -> dict[str, float]:
    """RSS of the pipeline process once ``pending`` jobs wait for their results."""
    async with simulator(600.0) as simulated:
        topics = Topics()
        await topics.create(bs)
        await produce_uploads(bs, topics.input, pending, ["shots"])
        env = pipeline_env(
            bs,
            topics,
            simulated.endpoint,
            VIDEORECOG_MAX_INFLIGHT=str(pending),
            VIDEORECOG_MAX_INFLIGHT_PER_PARTITION=str(pending),
        )
        async with pipeline(env) as process, asyncio.timeout(300):
            port = env["VIDEORECOG_METRICS_PORT"]
            while await _safe_metric(port, "videorecog_pipeline_jobs_pending") < pending:
                await asyncio.sleep(0.5)
            return {
                "pending": pending,
                "rss": vm(process.pid, "VmRSS"),
                "peak": vm(process.pid, "VmHWM"),
            }


@asynccontextmanager
async def quota_redis() -> AsyncIterator[str]:
    """The machine's Redis when it answers on 6379, else a private one for the run."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 6379)) == 0:
            yield "redis://127.0.0.1:6379/0"
            return
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("no Redis on 127.0.0.1:6379 and no redis-server (apt-get install it)")
    port = free_port()
    with subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    ) as process:
        try:
            await asyncio.sleep(0.5)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait()


FLEET_BUDGET = 2.0


async def fleet_scenario(bs: str, seconds: float) -> tuple[FleetRun, FleetRun]:
    """Four replicas, one budget in Redis; then four with a bucket each. Each run gets a fresh
    simulator, so neither inherits the other's spent budget."""
    rates = ("--account-rate", str(FLEET_BUDGET), "--poll-account-rate", "20")
    runs = []
    with tempfile.TemporaryDirectory(prefix="videorecog-fleet-") as logs:
        async with quota_redis() as redis_url:
            for shared in (redis_url, None):
                async with simulator(1.0, *rates) as sim:
                    runs.append(
                        await run_fleet(
                            bs,
                            sim.endpoint,
                            (AK, SK),
                            replicas=4,
                            budget=FLEET_BUDGET,
                            seconds=seconds,
                            redis_url=shared,
                            logs=Path(logs),
                        )
                    )
    return runs[0], runs[1]


def fleet_table(shared: FleetRun, alone: FleetRun) -> list[str]:
    def rates(run: FleetRun) -> str:
        return " / ".join(f"{run.submission_rate(a):.2f}" for a in SUBMISSIONS)

    return [
        f"Fleet: {shared.replicas} pipeline processes, one consumer group, an account budget of "
        f"{shared.budget:g} submissions/s per action enforced by the simulator, "
        f"{shared.seconds:.0f} s of steady running each.",
        "",
        "| measure | one budget in Redis | a bucket per process | target |",
        "|---|---|---|---|",
        f"| submissions/s (DetectVideoShot / GenerateVideoCover) | {rates(shared)} | "
        f"{rates(alone)} | — |",
        f"| budget used (the lower action) | {shared.budget_use:.0%} | {alone.budget_use:.0%} | "
        ">= 95% |",
        f"| requests throttled (all actions) | {shared.throttled_share:.1%} | "
        f"{alone.throttled_share:.1%} | <= 1% |",
        f"| tasks given up after every retry | {shared.gave_up} of {2 * shared.results} | "
        f"{alone.gave_up} of {2 * alone.results} | 0 |",
    ]


def throughput_rows(t: dict[str, float]) -> list[str]:
    per_request = t["raw"] / t["per_event"]
    per_mix = t["raw_mix"] / t["per_event"]
    return [
        f"| events/s through the whole chain, steady (jobs ~0.2 s) | {t['throughput']:.0f} | "
        f"(a) {t['raw']:.0f} signed req/s / {t['per_event']:.2f} req per event = "
        f"{per_request:.0f} | >= 80% of (a)/req: {t['throughput'] / per_request:.0%} |",
        f"| the same against (a'): one client doing the pipeline's mix | {t['throughput']:.0f} | "
        f"(a') {t['raw_mix']:.0f} req/s / {t['per_event']:.2f} = {per_mix:.0f} | "
        f"{t['throughput'] / per_mix:.0%} of (a')/req |",
        f"| CPU during the steady run (cores) | pipeline {t['cpu_pipeline']:.2f}, "
        f"simulator {t['cpu_simulator']:.2f} | — | — |",
        f"| start-up to first result (process start, group join) | {t['startup']:.1f} s | — | — |",
        f"| vs one event at a time with the official SDK | {t['throughput']:.0f} | "
        f"(b) {t['naive']:.2f} events/s | >= 20x: {t['throughput'] / t['naive']:.0f}x |",
    ]


def latency_rows(lat: dict[str, float]) -> list[str]:
    return [
        f"| polls per job (jobs of median {lat['median_job']:.1f} s) | {lat['polls']:.2f} | — | "
        "<= 6 |",
        f"| result delay p50 / p95 (job done -> result read) | {lat['p50']:.2f} s / "
        f"{lat['p95']:.2f} s | — | <= 1 s + 10% of job time: {lat['within']:.0%} of results |",
    ]


def memory_rows(mem: dict[str, float]) -> list[str]:
    return [
        f"| RSS with {int(mem['pending']):,} jobs pending | {mem['rss']:.0f} MB "
        f"(peak {mem['peak']:.0f} MB) | — | <= 150 MB |",
    ]


def delivery_rows(rates: dict[str, float]) -> list[str]:
    eos, alo = rates["exactly-once"], rates["at-least-once"]
    return [
        f"| exactly-once events/s, steady (noida-db, jobs ~0.2 s) | {eos:.0f} | at-least-once on "
        f"the same broker: {alo:.0f} | >= 70% of at-least-once: {eos / alo:.0%} |",
    ]


SCENARIOS = ("throughput", "latency", "memory", "fleet", "delivery")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the table into this Markdown file")
    parser.add_argument(
        "--events", type=int, default=8000, help="events of the throughput and delivery runs"
    )
    parser.add_argument(
        "--only", choices=SCENARIOS, action="append", help="run these scenarios (default: all)"
    )
    parser.add_argument("--fleet-seconds", type=float, default=120.0, help="each fleet run")
    args = parser.parse_args()
    only = set(args.only or SCENARIOS)
    rows = ["| measure | videorecog | reference | target |", "|---|---|---|---|"]
    async with EmbeddedBroker() as broker:
        bs = broker.bootstrap_servers
        if "throughput" in only:
            rows += throughput_rows(await throughput_scenario(bs, args.events))
        if "latency" in only:
            rows += latency_rows(await latency_scenario(bs))
        if "memory" in only:
            rows += memory_rows(await memory_scenario(bs))
        if "fleet" in only:
            shared, alone = await fleet_scenario(bs, args.fleet_seconds)
            text = "\n".join([f"Machine: {machine()}", "", *fleet_table(shared, alone)])
            print(text)
            if args.out:
                heading = "## Fleet budget — `bench/pipeline.py --only fleet`\n\n"
                update_block(args.out, "fleet", text, heading=heading)
    if "delivery" in only:
        rows += delivery_rows(await delivery_scenario(args.events))
    if len(rows) > 2:
        text = "\n".join([f"Machine: {machine()}", "", *rows])
        print(text)
        if args.out:
            heading = "## Pipeline — `bench/pipeline.py`\n\n"
            update_block(args.out, "pipeline", text, heading=heading)
    return 0


async def _safe_metric(port: str, name: str) -> float:
    try:
        return await metric(port, name)
    except aiohttp.ClientError:
        return 0.0


if __name__ == "__main__":
    # The same event loop as the services (uvloop), so reference (a) is the strongest client.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        raise SystemExit(runner.run(main()))
