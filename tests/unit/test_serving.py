from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from videorecog.serving import add_health_routes, serving


async def test_health_routes_follow_their_callbacks() -> None:
    """/healthz and /readyz answer 200 or 503 as live() and ready() say; /metrics: the registry."""
    registry = CollectorRegistry()
    Counter("things", "things seen", registry=registry).inc()
    state = {"live": True, "ready": False}
    app = web.Application()
    add_health_routes(app, registry, live=lambda: state["live"], ready=lambda: state["ready"])
    async with serving(app, "127.0.0.1", 0) as port, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{port}"
        async with http.get(f"{base}/healthz") as response:
            assert response.status == 200
        async with http.get(f"{base}/readyz") as response:
            assert response.status == 503
        state.update(live=False, ready=True)
        async with http.get(f"{base}/healthz") as response:
            assert response.status == 503
        async with http.get(f"{base}/readyz") as response:
            assert response.status == 200
        async with http.get(f"{base}/metrics") as response:
            assert "things_total 1.0" in await response.text()


async def test_a_failed_start_closes_what_was_opened() -> None:
    """When a cleanup context fails to start, those entered before it are closed, in reverse."""
    events: list[str] = []

    def resource(name: str, fail: bool = False) -> Callable[[web.Application], AsyncIterator[None]]:
        async def ctx(app: web.Application) -> AsyncIterator[None]:
            if fail:
                raise RuntimeError(name)
            events.append(f"open {name}")
            yield
            events.append(f"close {name}")

        return ctx

    app = web.Application()
    app.cleanup_ctx.extend([resource("a"), resource("b"), resource("c", fail=True)])
    with pytest.raises(RuntimeError, match="c"):
        async with serving(app, "127.0.0.1", 0):
            pytest.fail("the app must not serve")
    assert events == ["open a", "open b", "close b", "close a"]


async def test_the_simulator_serves_health_and_counts_its_answers() -> None:
    from videorecog.simulator import ApiSimulator, SimulatorConfig

    simulator = ApiSimulator({"ak": "sk"}, SimulatorConfig())
    async with serving(simulator.app(), "127.0.0.1", 0) as port, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{port}"
        for path in ("/healthz", "/readyz"):
            async with http.get(base + path) as response:
                assert response.status == 200
        async with http.get(base + "/") as response:
            assert response.status == 400  # no Action
        async with http.get(base + "/metrics") as response:
            text = await response.text()
    assert (
        'videorecog_simulator_requests_total{action="unknown",code="MissingParameter"} 1.0' in text
    )
