"""Load shedding (#17): a request that waited in the queue past REQUEST_QUEUE_BUDGET_MS gets
a fast 503 with Retry-After instead of piling up; the others are served."""
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from erp.overload import QUEUED_AT, request_start
from tests.servers import _wait_for_port, free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.dialect_independent
def test_a_request_queued_past_the_budget_is_shed_before_any_work(client_as):
    client = client_as("viewer")
    waited_long = client.get("/sales/orders", environ_base={QUEUED_AT: time.time() - 3.5})
    assert waited_long.status_code == 503
    assert waited_long.headers["Retry-After"] == "2"
    assert "busy" in waited_long.text
    assert client.get("/sales/orders", environ_base={QUEUED_AT: time.time() - 0.1}).status_code == 200
    assert client.get("/sales/orders").status_code == 200  # no stamp (not under our worker)
    # the load balancer's health checks are never shed
    assert client.get("/health", environ_base={QUEUED_AT: time.time() - 60}).status_code == 200


@pytest.mark.dialect_independent
def test_the_proxys_start_time_counts_only_behind_a_proxy(client_as, app, monkeypatch):
    client = client_as("viewer")
    old = {"X-Request-Start": f"t={time.time() - 10:.3f}"}
    assert client.get("/sales/orders", headers=old).status_code == 200  # a client's own header
    # as with PROXY_COUNT > 0 (nginx overwrites the header)
    monkeypatch.setattr(app.wsgi_app, "trust_header", True)
    assert client.get("/sales/orders", headers=old).status_code == 503
    fresh = {"X-Request-Start": f"t={time.time():.3f}"}
    assert client.get("/sales/orders", headers=fresh).status_code == 200


@pytest.mark.dialect_independent
def test_request_start_reads_the_formats_proxies_send():
    assert request_start("t=1700000000.123") == pytest.approx(1700000000.123)
    assert request_start("1700000000123") == pytest.approx(1700000000.123)  # ms
    assert request_start("t=1700000000123456") == pytest.approx(1700000000.123456)  # us
    assert request_start("nonsense") is None and request_start(None) is None


SLOW_APP = '''
import time
from erp.overload import ShedLateRequests

def slow(environ, start_response):
    time.sleep(0.4)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]

app = ShedLateRequests(slow, 600, trust_header=False)
'''


@pytest.mark.dialect_independent
def test_our_gunicorn_worker_stamps_the_queue_so_a_long_queue_is_shed(tmp_path):
    """One worker with one thread, a page taking 0.4 s, eight requests at once: the first
    ones are served, the ones that waited more than 0.6 s get 503 at once."""
    (tmp_path / "slow_app.py").write_text(SLOW_APP)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--threads", "1", "--worker-class", "erp.gunicorn_worker.QueueStampingWorker",
         "--chdir", str(tmp_path), "slow_app:app"],
        cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port)
        statuses = []

        def get():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as r:
                    statuses.append(r.status)
            except urllib.error.HTTPError as error:
                statuses.append(error.code)
                assert error.headers["Retry-After"]

        threads = [threading.Thread(target=get) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert 200 in statuses and 503 in statuses, statuses
        # every request finished: served in turn until the queue was too old, then shed fast
        assert sorted(statuses).count(200) <= 3, statuses
        assert len(statuses) == 8
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_request_that_finds_every_pooled_connection_busy_gets_a_fast_503(
        app, make_user, database_url, redis_url, tmp_path):
    """The pool's wait is bounded (DB_POOL_TIMEOUT_MS on PostgreSQL; the engine option
    here): past it the request is answered 503 with Retry-After, not a 500 and not a wait
    of its own on top of the queue's; once a connection is back, pages are served."""
    from erp import create_app
    from erp.extensions import db
    from tests.conftest import app_config, login

    user = make_user("viewer")
    small = create_app({**app_config(database_url, redis_url, tmp_path),
                        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0,
                                                      "pool_timeout": 0.3}})
    client = login(small.test_client(), user.email)
    with small.app_context():
        engine = db.engine
    held = engine.connect()  # the pool's only connection, busy elsewhere
    try:
        started = time.perf_counter()
        busy = client.get("/sales/orders")
        assert busy.status_code == 503
        assert busy.headers["Retry-After"] == "2"
        assert time.perf_counter() - started < 2
    finally:
        held.close()
    assert client.get("/sales/orders").status_code == 200
    engine.dispose()
