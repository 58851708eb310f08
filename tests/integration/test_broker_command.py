from __future__ import annotations

import os
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


def test_broker_dies_with_its_parent() -> None:
    """A parent killed outright (SIGKILL, a CI timeout) takes its broker with it."""
    script = (
        "import asyncio, sys\n"
        "from videorecog.broker import EmbeddedBroker\n"
        "async def main():\n"
        "    async with EmbeddedBroker() as broker:\n"
        "        print(broker._process.pid, flush=True)\n"
        "        await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    ) as parent:
        assert parent.stdout is not None
        broker_pid = int(parent.stdout.readline())
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(broker_pid, 0)
        except ProcessLookupError:
            return
        # A zombie (exited, not yet reaped by init) counts as gone.
        with open(f"/proc/{broker_pid}/stat") as stat:
            if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                return
        time.sleep(0.1)
    os.kill(broker_pid, signal.SIGKILL)
    raise AssertionError("the broker outlived its parent")
