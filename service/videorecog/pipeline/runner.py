"""Running the pipeline as a service: health server around the pipeline, until stopped."""

from __future__ import annotations

import asyncio

from videorecog.pipeline.health import build_app
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


async def run(
    settings: Settings, stop: asyncio.Event, metrics: PipelineMetrics | None = None
) -> None:
    check(settings)
    pipeline = Pipeline(settings, metrics)
    p = settings.pipeline
    async with serving(build_app(pipeline), p.metrics_host, p.metrics_port):
        await pipeline.run(stop)
