"""Real things on 127.0.0.1 for the tests: a media server, an engine process, and a second
Kafka-protocol broker (noida-db) that grants idempotent and transactional producers."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import noida_db

from videorecog.broker import EmbeddedBroker, free_port

SHARED_MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"


class _MediaHandler(BaseHTTPRequestHandler):
    roots: ClassVar[dict[str, Path]] = {}
    hits: ClassVar[collections.Counter[str]]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(parts.query)["to"][0])
            self.end_headers()
            return
        if parts.path == "/page.html":
            body = b"<html><body>not a video</body></html>"
            self._send(200, body, "text/html")
            return
        self.hits[parts.path] += 1
        root_name, _, name = parts.path.lstrip("/").partition("/")
        root = self.roots.get(root_name)
        path = (root / name) if root else None
        if path is None or "/" in name or not path.is_file():
            self._send(404, b"not found", "text/plain")
            return
        self._send(200, path.read_bytes(), "application/octet-stream")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class MediaServer:
    """Serves ``/<root>/<file>`` from named directories, plus ``/redirect?to=`` and a page."""

    def __init__(self, roots: Mapping[str, Path]) -> None:
        self.hits: collections.Counter[str] = collections.Counter()  # GETs of each path
        handler = type("Handler", (_MediaHandler,), {"roots": dict(roots), "hits": self.hits})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class EngineProcess:
    """``videorecog engine`` as a child process on a free loopback port."""

    def __init__(
        self,
        data_dir: Path,
        credentials: str,
        *,
        role: str = "engine",
        env: Mapping[str, str] | None = None,
        **settings: str,
    ) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self.role = role  # "engine" (the front door, or both roles alone) or "worker"
        self.env = {
            **os.environ,
            "VIDEORECOG_ENGINE_PORT": str(self.port),
            "VIDEORECOG_ENGINE_DATA_DIR": str(data_dir),
            "VIDEORECOG_ENGINE_CREDENTIALS": credentials,
            "VIDEORECOG_ENGINE_ALLOW_HOSTS": "127.0.0.1",
            "VIDEORECOG_LOG_FORMAT": "json",
            **(env or {}),
            **{f"VIDEORECOG_ENGINE_{k.upper()}": v for k, v in settings.items()},
        }
        self._process: subprocess.Popen[bytes] | None = None
        self._log = data_dir.parent / f"{role}-{self.port}.log"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self._log.open("ab") as log:
            # A session of its own, so that ``kill`` takes its analysis processes with it, as a
            # container's end does.
            self._process = subprocess.Popen(
                [sys.executable, "-m", "videorecog", self.role],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.role} exited: {self._log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/readyz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("engine not ready in time")

    def stop(self) -> int:
        process, self._process = self._process, None
        if process is None:
            return 0
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def kill(self) -> None:
        """SIGKILL the process and its analysis processes: no clean-up of any kind."""
        process, self._process = self._process, None
        if process is not None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def metric(self, name: str) -> float:
        """The sum of a metric's samples on ``/metrics`` (0 when it has none)."""
        with urllib.request.urlopen(f"{self.endpoint}/metrics", timeout=5) as response:
            text = response.read().decode()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(name) and line[len(name) : len(name) + 1] in (" ", "{")
        )

    def log_text(self) -> str:
        return self._log.read_text() if self._log.exists() else ""


class NoidaBroker(EmbeddedBroker):
    """noida-db's Kafka service on a free loopback port, its data in ``data_dir``.

    Unlike tansu it grants ``InitProducerId``, so the pipeline runs with the idempotent producer
    on (production's default) and with transactions. The binary inside the package is started
    directly: the console-script wrapper would leave it running when killed. ``--only kafka``
    keeps it from starting its own PostgreSQL and Redis on their standard ports.
    """

    idempotence = True

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self.data_dir = data_dir

    def command(self) -> list[str]:
        binary = Path(noida_db.__file__).with_name("noida-db")
        return [
            str(binary),
            "start",
            "--only",
            "kafka",
            "--host",
            self.host,
            "--kafka-port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]

    def freeze(self) -> None:
        """Stop the process where it is (SIGSTOP): connections stay open, nothing is answered."""
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)
