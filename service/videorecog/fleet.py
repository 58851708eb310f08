"""A fleet of pipeline processes in one consumer group against the API SIMULATOR, measured.

For the fleet benchmark (``bench/pipeline.py``) and its shorter test: N ``videorecog pipeline``
processes share a backlog of upload events; the simulator enforces the account's budget per action
(``--account-rate``) and counts every answer. ``run_fleet`` reports what the simulator saw over a
window once every replica is ready: submissions/s per action against the budget, and the share of
requests it throttled. Nothing here is used by the service itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from videorecog.broker import free_port
from videorecog.protocol.constants import Action
from videorecog.topics import TopicSpec, ensure_topics

SUBMISSIONS = (Action.DETECT_VIDEO_SHOT, Action.GENERATE_VIDEO_COVER)
READY_SECONDS = 180.0  # a loaded two-core machine takes a while to start four Python processes


class Topics:
    """The pipeline's four topics and a consumer group, all new."""

    def __init__(self, partitions: int = 3) -> None:
        tag = uuid.uuid4().hex[:8]
        self.partitions = partitions
        self.input, self.output = f"in-{tag}", f"out-{tag}"
        self.dlq, self.jobs, self.group = f"dlq-{tag}", f"jobs-{tag}", f"group-{tag}"

    async def create(self, bootstrap: str) -> None:
        await ensure_topics(
            bootstrap,
            [
                TopicSpec(self.input, self.partitions),
                TopicSpec(self.output, self.partitions),
                TopicSpec(self.dlq, 1),
                TopicSpec(self.jobs, self.partitions, config={"cleanup.policy": "compact"}),
            ],
        )


def pipeline_env(
    bootstrap: str, topics: Topics, endpoint: str, key: tuple[str, str], **extra: str
) -> dict[str, str]:
    """The environment of a pipeline process on these topics (no limits to speak of: ``extra``
    sets them)."""
    return {
        **os.environ,
        "VIDEORECOG_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "VIDEORECOG_INPUT_TOPIC": topics.input,
        "VIDEORECOG_OUTPUT_TOPIC": topics.output,
        "VIDEORECOG_DLQ_TOPIC": topics.dlq,
        "VIDEORECOG_JOBS_TOPIC": topics.jobs,
        "VIDEORECOG_GROUP_ID": topics.group,
        "VIDEORECOG_KAFKA_IDEMPOTENCE": "false",
        "VIDEORECOG_ENDPOINT": endpoint,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": key[0],
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": key[1],
        "VIDEORECOG_API_RATE_LIMIT": "100000",
        "VIDEORECOG_POLL_RATE_LIMIT": "100000",
        "VIDEORECOG_API_CONCURRENCY": "64",
        "VIDEORECOG_POLLERS": "32",
        "VIDEORECOG_METRICS_PORT": str(free_port()),
        "VIDEORECOG_LOG_LEVEL": "WARNING",
        "VIDEORECOG_SHUTDOWN_GRACE_SECONDS": "2",
        **extra,
    }


async def produce_uploads(bootstrap: str, topic: str, count: int, tasks: list[str]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, acks="all")
    await producer.start()
    try:
        for i in range(count):
            body = {
                "video_id": f"v{i}",
                "video_url": f"http://media.example/{i}.mp4",
                "tasks": tasks,
            }
            await producer.send(topic, orjson.dumps(body), key=f"v{i}".encode())
        await producer.flush()
    finally:
        await producer.stop()


async def simulator_stats(endpoint: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{endpoint}/stats") as response:
        return dict(orjson.loads(await response.read()))


@dataclass(frozen=True)
class FleetRun:
    """What the simulator saw from the fleet over ``seconds`` of steady running."""

    replicas: int
    shared: bool  # one budget in Redis, or one per process
    budget: float  # submissions/s per action the account allows
    seconds: float
    answers: Mapping[str, int]  # "Action:Code" -> answers in the window
    gave_up: int  # tasks published as failed after every retry (Pipeline.RetriesExhausted)
    results: int  # results published by the end

    def count(self, action: Action, code: str | None = None) -> int:
        return sum(
            n
            for key, n in self.answers.items()
            if key.split(":", 1)[0] == action.value and (code is None or key.endswith(f":{code}"))
        )

    def submission_rate(self, action: Action) -> float:
        return self.count(action, "Success") / self.seconds

    @property
    def budget_use(self) -> float:
        """The lowest of the submission actions' rates, as a share of the budget."""
        return min(self.submission_rate(a) for a in SUBMISSIONS) / self.budget

    @property
    def throttled_share(self) -> float:
        throttled = sum(n for key, n in self.answers.items() if ":Throttling" in key)
        return throttled / max(1, sum(self.answers.values()))


@contextlib.asynccontextmanager
async def _replicas(envs: list[dict[str, str]], logs: Path) -> AsyncIterator[None]:
    processes = []
    try:
        for i, env in enumerate(envs):
            with (logs / f"pipeline-{i}.log").open("wb") as log:
                processes.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "videorecog",
                        "pipeline",
                        env=env,
                        stdout=log,
                        stderr=log,
                    )
                )
        yield
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                async with asyncio.timeout(30):  # not ``wait_for``, which could lose a cancellation
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


async def _ready(port: str) -> bool:
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/readyz") as response,
        ):
            return response.status == 200
    except aiohttp.ClientError:
        return False


async def _published(bootstrap: str, topic: str) -> tuple[int, int]:
    """(results, tasks that gave up after every retry) on the output topic so far."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    seen: dict[str, dict[str, Any]] = {}
    try:
        while batches := await consumer.getmany(timeout_ms=1000):
            for batch in batches.values():
                for record in batch:
                    body = orjson.loads(record.value)
                    seen[body["video_id"]] = body
    finally:
        await consumer.stop()
    gave_up = sum(
        task.get("error_code") == "Pipeline.RetriesExhausted"
        for body in seen.values()
        for task in body["tasks"].values()
    )
    return len(seen), gave_up


async def run_fleet(
    bootstrap: str,
    endpoint: str,
    key: tuple[str, str],
    *,
    replicas: int,
    budget: float,
    seconds: float,
    redis_url: str | None,
    logs: Path,
) -> FleetRun:
    """Run ``replicas`` pipelines with ``budget`` submissions/s per action: shared through
    ``redis_url``, or each process its own bucket of ``budget`` when it is None."""
    topics = Topics(partitions=2 * replicas)
    await topics.create(bootstrap)
    # A backlog the budget cannot finish in the window, so the fleet is never idle.
    await produce_uploads(
        bootstrap, topics.input, int(budget * seconds * 2) + 50, ["shots", "cover"]
    )
    quota = {"VIDEORECOG_QUOTA_REDIS_URL": redis_url} if redis_url else {}
    envs = [
        pipeline_env(
            bootstrap,
            topics,
            endpoint,
            key,
            VIDEORECOG_INSTANCE_ID=f"replica-{i}-{topics.group}",
            VIDEORECOG_API_RATE_LIMIT=str(budget),
            VIDEORECOG_POLL_RATE_LIMIT="20",
            VIDEORECOG_API_CONCURRENCY="8",
            VIDEORECOG_POLLERS="8",
            VIDEORECOG_QUOTA_KEY=f"fleet-{topics.group}",
            **quota,
        )
        for i in range(replicas)
    ]
    async with _replicas(envs, logs):
        async with asyncio.timeout(READY_SECONDS):
            for env in envs:
                # Another process's readiness shows only over HTTP: ask until it says so.
                while not await _ready(env["VIDEORECOG_METRICS_PORT"]):  # noqa: ASYNC110
                    await asyncio.sleep(0.5)
        await asyncio.sleep(2.0)  # the last rebalance settles
        before = (await simulator_stats(endpoint))["requests"]
        started = time.monotonic()
        await asyncio.sleep(seconds)
        after = (await simulator_stats(endpoint))["requests"]
        elapsed = time.monotonic() - started
    results, gave_up = await _published(bootstrap, topics.output)
    return FleetRun(
        replicas=replicas,
        shared=redis_url is not None,
        budget=budget,
        seconds=elapsed,
        answers={k: n - before.get(k, 0) for k, n in after.items() if n - before.get(k, 0)},
        gave_up=gave_up,
        results=results,
    )
