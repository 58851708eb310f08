"""Start-up problems stop the pipeline with exit status 2 and one line saying what to do."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from tests.conftest import BROKERS, MakeTopic
from tests.integration.pipeline.conftest import Topics, pipeline_env, pipeline_settings
from videorecog.broker import free_port
from videorecog.pipeline.runner import started


def _run_pipeline(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "videorecog", "pipeline"],
        env={**os.environ, **env, "PYTHONWARNINGS": "always"},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def _assert_status_2(done: subprocess.CompletedProcess[str]) -> None:
    """Status 2, no traceback and no unclosed client."""
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output
    assert "Unclosed" not in output


def _assert_one_line(done: subprocess.CompletedProcess[str], line: str) -> None:
    """Status 2 and the line on stderr."""
    _assert_status_2(done)
    assert f"videorecog: configuration error: {line}" in done.stderr.splitlines(), done.stderr


@pytest.mark.parametrize("kafka_broker", BROKERS, indirect=True)
@pytest.mark.parametrize(
    ("variable", "kind"),
    [
        ("VIDEORECOG_JOBS_TOPIC", "job-log"),
        ("VIDEORECOG_INPUT_TOPIC", "input"),
        ("VIDEORECOG_OUTPUT_TOPIC", "output"),
        ("VIDEORECOG_DLQ_TOPIC", "dead-letter"),
    ],
)
def test_a_missing_topic_is_one_line_and_status_2(
    bootstrap_servers: str, topics: Topics, variable: str, kind: str
) -> None:
    """The line names the topic and both ways to fix it."""
    missing = f"no-such-{uuid.uuid4().hex[:8]}"
    env = pipeline_env(bootstrap_servers, topics, "http://127.0.0.1:9", **{variable: missing})
    _assert_one_line(
        _run_pipeline(env),
        f"{kind} topic {missing} does not exist: run `videorecog topics` "
        "or set VIDEORECOG_CREATE_TOPICS=true",
    )


@pytest.mark.parametrize("kafka_broker", BROKERS, indirect=True)
async def test_a_job_log_that_is_not_compacted_is_one_line_and_status_2(
    bootstrap_servers: str, topics: Topics, make_topic: MakeTopic
) -> None:
    """A job log under the delete policy would lose the entries that prevent resubmission."""
    jobs = await make_topic("jobs", partitions=3)
    env = pipeline_env(bootstrap_servers, topics, "http://127.0.0.1:9", VIDEORECOG_JOBS_TOPIC=jobs)
    _assert_one_line(
        _run_pipeline(env),
        f"job-log topic {jobs} has cleanup.policy=delete and must be compacted: set its "
        "cleanup.policy to compact (kafka-configs --alter --entity-type topics "
        f"--entity-name {jobs} --add-config cleanup.policy=compact)",
    )


def test_idempotence_refused_by_the_broker_is_one_line_and_status_2(
    bootstrap_servers: str, topics: Topics
) -> None:
    """tansu refuses InitProducerId: the line names the setting instead of an UnknownError."""
    env = pipeline_env(
        bootstrap_servers, topics, "http://127.0.0.1:9", VIDEORECOG_KAFKA_IDEMPOTENCE="true"
    )
    _assert_one_line(
        _run_pipeline(env),
        f"the broker at {bootstrap_servers} does not support idempotent producers "
        "(InitProducerId: UnknownError): set VIDEORECOG_KAFKA_IDEMPOTENCE=false "
        "or use a broker that does",
    )


def test_exactly_once_from_a_broker_without_transactions_is_one_line_and_status_2(
    bootstrap_servers: str, topics: Topics
) -> None:
    """tansu grants no transactional producer: the line names the setting to change."""
    env = pipeline_env(
        bootstrap_servers,
        topics,
        "http://127.0.0.1:9",
        VIDEORECOG_DELIVERY="exactly-once",
        VIDEORECOG_KAFKA_IDEMPOTENCE="true",
    )
    _assert_one_line(
        _run_pipeline(env),
        f"the broker at {bootstrap_servers} does not support transactions "
        "(InitProducerId: UnknownError): set VIDEORECOG_DELIVERY=at-least-once "
        "or use a broker that does",
    )


def test_exactly_once_without_idempotence_is_one_line_and_status_2(
    bootstrap_servers: str, topics: Topics
) -> None:
    """A transactional producer is idempotent: asking for one without the other is refused
    before the broker is contacted."""
    env = pipeline_env(
        bootstrap_servers,
        topics,
        "http://127.0.0.1:9",
        VIDEORECOG_DELIVERY="exactly-once",
        VIDEORECOG_KAFKA_IDEMPOTENCE="false",
    )
    _assert_one_line(
        _run_pipeline(env),
        "VIDEORECOG_DELIVERY=exactly-once needs VIDEORECOG_KAFKA_IDEMPOTENCE=true "
        "(a transactional producer is idempotent)",
    )


async def test_create_topics_makes_what_is_missing(bootstrap_servers: str, topics: Topics) -> None:
    """With VIDEORECOG_CREATE_TOPICS=true missing topics are created at start-up, the job log
    compacted."""
    jobs, output = f"jobs-{uuid.uuid4().hex[:8]}", f"results-{uuid.uuid4().hex[:8]}"
    settings = pipeline_settings(
        bootstrap_servers,
        topics,
        "http://127.0.0.1:9",
        VIDEORECOG_JOBS_TOPIC=jobs,
        VIDEORECOG_OUTPUT_TOPIC=output,
        VIDEORECOG_CREATE_TOPICS="true",
    )
    async with started(settings, host="127.0.0.1"):
        pass
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        assert {jobs, output} <= set(await admin.list_topics())
    finally:
        await admin.close()


def test_an_unreachable_broker_is_one_line_and_status_2(topics: Topics) -> None:
    """Nothing listens at the bootstrap address: the line names it and the setting."""
    closed = f"127.0.0.1:{free_port()}"
    env = pipeline_env(closed, topics, "http://127.0.0.1:9")
    done = _run_pipeline(env)
    _assert_status_2(done)
    (line,) = [ln for ln in done.stderr.splitlines() if ln.startswith("videorecog:")]
    assert line.startswith(
        f"videorecog: configuration error: cannot reach the Kafka broker at {closed}"
    )
    assert line.endswith("check VIDEORECOG_KAFKA_BOOTSTRAP_SERVERS")
