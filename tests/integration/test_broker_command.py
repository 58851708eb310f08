from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

from videorecog.broker import free_port


def test_broker_command_serves_and_stops_on_sigterm() -> None:
    """``videorecog broker --port N`` accepts connections, then exits 0 on SIGTERM."""
    port = free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "videorecog", "broker", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        _check_serves_then_stops(proc, port)


def _check_serves_then_stops(proc: subprocess.Popen[str], port: int) -> None:
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert f"127.0.0.1:{port}" in line
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        time.sleep(0.2)
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, "broker still listening"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
