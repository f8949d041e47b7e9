"""Throwaway PostgreSQL and Redis servers for the test session (and for outage tests).

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
Each server lives in its own temporary directory on a free loopback port and is gone
after `stop()`.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answers on port {port} after {timeout} s")


def postgres_bin() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                        key=lambda p: int(Path(p).parent.name))
    if not candidates:
        raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql")
    return Path(candidates[-1])


class PostgresServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="erp-pg-"))
        self.data = self.dir / "data"
        self.bin = postgres_bin()
        self.as_root = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def init(self) -> "PostgresServer":
        os.chmod(self.dir, 0o755)
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-sync")
        return self

    def start(self) -> "PostgresServer":
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=300 -c shared_buffers=128MB "
                   # the database analysis reads it (tests/test_db_analysis.py)
                   "-c shared_preload_libraries=pg_stat_statements")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.dir / "server.log"), "-w", "-t", "30", "start")
        _wait_for_port(self.port)
        return self

    def stop(self, mode: str = "fast") -> None:
        if self.data.exists():
            try:
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
            except subprocess.CalledProcessError:
                pass

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class StandbyServer(PostgresServer):
    """A streaming replica of `primary`: a base backup (`pg_basebackup -R`: standby.signal
    and primary_conninfo) started on a port of its own. The primary's initdb with
    --auth=trust allows replication connections from 127.0.0.1."""

    def __init__(self, primary: PostgresServer) -> None:
        super().__init__()
        self.primary = primary

    def init(self) -> "StandbyServer":
        os.chmod(self.dir, 0o755)
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(str(self.bin / "pg_basebackup"), "-h", "127.0.0.1",
                  "-p", str(self.primary.port), "-U", "postgres", "-D", str(self.data),
                  "-R", "-X", "stream", "--no-sync", "-c", "fast")
        return self


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> "RedisServer":
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("Redis is not installed: apt-get install redis-server")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--databases", "64"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    destroy = stop
