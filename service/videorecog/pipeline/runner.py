"""Running the pipeline as a service: its app served on the metrics port, until stopped."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from videorecog.pipeline.app import PIPELINE, build_app
from videorecog.pipeline.metrics import PipelineMetrics
from videorecog.pipeline.service import Pipeline
from videorecog.serving import serving
from videorecog.settings import Settings, SettingsError


def check(settings: Settings) -> None:
    """Raises: SettingsError when the pipeline could not sign a request."""
    if not settings.api.access_key_id:
        raise SettingsError(
            "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET "
            "are required by the pipeline"
        )


@contextlib.asynccontextmanager
async def started(
    settings: Settings, metrics: PipelineMetrics | None = None, *, host: str | None = None
) -> AsyncIterator[tuple[Pipeline, int]]:
    """The pipeline's resources started and its port listening: ``(pipeline, bound port)``.

    Raises: SettingsError (no key to sign with; StartupError: a missing topic, a feature the
    broker lacks), KafkaError.
    """
    check(settings)
    p = settings.pipeline
    app = build_app(settings, metrics)
    async with serving(app, host or p.metrics_host, p.metrics_port) as port:
        yield app[PIPELINE], port


async def run(
    settings: Settings, stop: asyncio.Event, metrics: PipelineMetrics | None = None
) -> None:
    """Serve until ``stop`` is set, then drain, commit and close."""
    async with started(settings, metrics) as (pipeline, _):
        await pipeline.run(stop)
