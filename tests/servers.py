"""Throwaway servers for the tests: PostgreSQL and Redis for the test session (and for
outage tests); the app under gunicorn and nginx in front of it for the deployment tests.

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
Each server lives in its own temporary directory on a free loopback port and is gone
after `stop()`.
"""
from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# How long a server may take to start: a gunicorn importing the app took over 30 s on a
# 2-core machine loaded 10 times its cores. Waiting longer costs nothing when it is quick.
START_TIMEOUT = 120.0


def _wait_for_port(port: int, timeout: float = START_TIMEOUT) -> None:
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


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


class GunicornServer:
    """The app under gunicorn (gunicorn.conf.py) on a free loopback port, as an app host of
    the deployment tests: `env` adds to this process's environment. gunicorn runs in a
    session of its own, so that `kill()` takes the whole host, master and workers, at once."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, **env}
        self.log = log
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "GunicornServer":
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                 "--bind", f"127.0.0.1:{self.port}", "wsgi:app"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        return self

    def wait_ready(self, timeout: float = 60.0) -> "GunicornServer":
        """Poll `/health` until it answers 200 (gunicorn preloads the app before it listens)."""
        wait_for_http(self.url + "/health", timeout, self.process, self.log)
        return self

    def kill(self) -> None:
        """SIGKILL to master and workers: the host is gone as if its machine had died."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for_http(url: str, timeout: float, process: subprocess.Popen | None = None,
                  log: Path | None = None) -> None:
    """Poll `url` until it answers 200; fail at once with the log's end if `process` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited ({process.returncode}):\n"
                               + (_tail(log) if log else ""))
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer 200 in {timeout} s:\n" + (_tail(log) if log else ""))


def deploy_site(directory: Path, listen_port: int, app_ports: list[int]) -> str:
    """deploy/nginx.conf on loopback: listening on `listen_port`, in front of one gunicorn
    per port of `app_ports` (one or two: the sample's second server line), with its static
    files from this checkout and its access log in `directory`."""
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    replacements = [("listen 80;", f"listen 127.0.0.1:{listen_port};"),
                    ("server 127.0.0.1:5000 ", f"server 127.0.0.1:{app_ports[0]} "),
                    ("/srv/erp/erp/static/", f"{ROOT}/erp/static/"),
                    ("/var/log/nginx/erp.access.log", str(directory / "access.log"))]
    if len(app_ports) > 1:
        replacements.append(("# server 10.0.0.12:5000 ", f"server 127.0.0.1:{app_ports[1]} "))
    for old, new in replacements:
        if old not in site:
            raise RuntimeError(f"deploy/nginx.conf no longer contains {old!r}: update {__file__}")
        site = site.replace(old, new)
    return site


class NginxServer:
    """nginx (Debian's package) as a child process, not a daemon, with a main config of its
    own around `site` (a file for the http block) and every path in `directory`. As root its
    workers stay root (`user root;`): the default `nobody` could not read the temporary
    folder."""

    def __init__(self, site: str, directory: Path) -> None:
        self.dir = directory
        self.site = site
        self.process: subprocess.Popen | None = None
        self.binary = shutil.which("nginx") or "/usr/sbin/nginx"

    def start(self) -> "NginxServer":
        if not Path(self.binary).exists():
            raise RuntimeError("nginx is not installed: apt-get install nginx "
                               "(scripts/ensure-system-packages.sh installs it)")
        d = self.dir
        (d / "site.conf").write_text(self.site)
        (d / "nginx.conf").write_text(f"""
{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
daemon off;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/site.conf;
}}
""")
        with open(d / "stderr.log", "ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "-p", str(d), "-c", str(d / "nginx.conf")],
                stdout=subprocess.DEVNULL, stderr=log)
        return self

    def access_log(self) -> list[str]:
        try:
            return (self.dir / "access.log").read_text().splitlines()
        except FileNotFoundError:
            return []

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
