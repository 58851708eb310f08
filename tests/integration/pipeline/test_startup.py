"""Start-up problems stop the pipeline with exit status 2 and one line saying what to do."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from aiokafka.admin import AIOKafkaAdminClient

from tests.integration.pipeline.conftest import Topics, pipeline_env, pipeline_settings
from videorecog.pipeline.runner import started


def test_a_missing_job_log_topic_is_one_line_and_status_2(
    bootstrap_servers: str, topics: Topics
) -> None:
    """No traceback, no unclosed client: the line names the topic and both ways to fix it."""
    missing = f"no-such-jobs-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **pipeline_env(bootstrap_servers, topics, "http://127.0.0.1:9"),
        "VIDEORECOG_JOBS_TOPIC": missing,
        "PYTHONWARNINGS": "always",
    }
    done = subprocess.run(
        [sys.executable, "-m", "videorecog", "pipeline"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert (
        f"videorecog: configuration error: job-log topic {missing} does not exist: "
        "run `videorecog topics` or set VIDEORECOG_CREATE_TOPICS=true"
    ) in done.stderr.splitlines()
    assert "Traceback" not in output
    assert "Unclosed" not in output


async def test_create_topics_makes_what_is_missing(bootstrap_servers: str, topics: Topics) -> None:
    """With VIDEORECOG_CREATE_TOPICS=true a missing job log is created at start-up."""
    jobs = f"jobs-{uuid.uuid4().hex[:8]}"
    settings = pipeline_settings(
        bootstrap_servers,
        topics,
        "http://127.0.0.1:9",
        VIDEORECOG_JOBS_TOPIC=jobs,
        VIDEORECOG_CREATE_TOPICS="true",
    )
    async with started(settings, host="127.0.0.1"):
        pass
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        assert jobs in await admin.list_topics()
    finally:
        await admin.close()
