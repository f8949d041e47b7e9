"""gunicorn.conf.py: a light embedded default (2 workers on SQLite, static files out of the
access log), and the slow-request log not filled with logins (issue #16, item 21)."""
import logging
import multiprocessing
import os
import platform
import runpy
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from erp import create_app
from erp.extensions import db
from tests.conftest import app_config, login
from tests.servers import _wait_for_port, free_port

pytestmark = pytest.mark.dialect_independent  # same on every database: SQLite pass only

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "gunicorn.conf.py"


def settings(monkeypatch, **environ) -> dict:
    for name in ("DATABASE_URL", "GUNICORN_WORKERS", "WEB_CONCURRENCY",
                 "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


@pytest.mark.parametrize("database_url", [None, "sqlite:///instance/erp.sqlite3"])
def test_the_embedded_sqlite_default_runs_two_workers(monkeypatch, database_url):
    environ = {"DATABASE_URL": database_url} if database_url else {}
    assert settings(monkeypatch, **environ)["workers"] == 2


def test_postgresql_runs_two_workers_a_core_and_one(monkeypatch):
    conf = settings(monkeypatch, DATABASE_URL="postgresql://erp@localhost/erp")
    assert conf["workers"] == multiprocessing.cpu_count() * 2 + 1


def test_the_number_of_workers_can_be_set(monkeypatch):
    assert settings(monkeypatch, GUNICORN_WORKERS="3")["workers"] == 3
    assert settings(monkeypatch, WEB_CONCURRENCY="4")["workers"] == 4
    assert settings(monkeypatch, GUNICORN_WORKERS="3", WEB_CONCURRENCY="4")["workers"] == 3


def test_the_master_limits_malloc_arenas_unless_the_environment_does(monkeypatch):
    """glibc's per-thread malloc arenas cost a worker of 4 threads ~5 MB (#17): the master
    sets at most two before it forks, and leaves MALLOC_ARENA_MAX to glibc when set."""
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    limit = settings(monkeypatch)["limit_malloc_arenas"]
    assert limit() is (platform.libc_ver()[0] == "glibc")  # glibc accepted the setting
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit() is False


def test_static_files_stay_out_of_the_access_log(tmp_path, redis_url):
    database = f"sqlite:///{tmp_path / 'conf.sqlite3'}"
    app = create_app(app_config(database, redis_url, tmp_path))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = {**os.environ, "DATABASE_URL": database, "ERP_ENV": "development", "REDIS_URL": "",
           "SECRET_KEY": "conf-test-" + "k" * 40, "GUNICORN_WORKERS": "1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(CONF), "--bind", f"127.0.0.1:{port}",
             "wsgi:app"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            _wait_for_port(port)
            for path in ("/static/css/app.css", "/health", "/static/no-such-file.css"):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10)
                except urllib.error.HTTPError:
                    pass
        finally:
            server.terminate()
            server.wait(30)
    text = log.read_text()
    assert '"GET /health HTTP/1.1" 200' in text  # the access log is on
    assert "/static/css/app.css" not in text  # a static file that was served is not in it
    assert '"GET /static/no-such-file.css HTTP/1.1" 404' in text  # a failing one is


def test_a_login_has_its_own_slow_request_threshold(app, make_user, caplog):
    app.config.update(SLOW_REQUEST_MS=0, SLOW_LOGIN_MS=3_600_000)  # all slow, logins not
    user = make_user("staff")
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="erp.monitoring"):
        login(client, user.email)
        client.get("/login")
    slow = [r.getMessage() for r in caplog.records if "slow request" in r.getMessage()]
    assert not any("POST /login" in message for message in slow)
    assert any("GET /login" in message for message in slow)  # other requests still are


def test_the_login_threshold_defaults_to_three_seconds(app):
    assert app.config["SLOW_LOGIN_MS"] == 3000
