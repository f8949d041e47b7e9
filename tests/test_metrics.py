"""/metrics (Prometheus text, access rules, multiprocess mode) and the timing headers."""
from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import textwrap

import pytest
from prometheus_client.parser import text_string_to_metric_families

from erp import create_app
from erp.cache import cache_get, cache_get_many, cache_set
from erp.config import ConfigError
from erp.extensions import db
from erp.monitoring import timing
from tests.conftest import app_config, count_queries

TOKEN = "metrics-token-" + "m" * 24
OUTSIDE = {"REMOTE_ADDR": "10.1.2.3"}


def sample(text: str, name: str, **labels) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def scrape(client, **kwargs) -> str:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return response.get_data(as_text=True)


def test_metrics_parse_and_count_a_request(client):
    labels = {"endpoint": "auth.login", "method": "GET", "status": "200"}
    before = scrape(client)
    assert client.get("/login").status_code == 200
    after = scrape(client)
    families = {family.name for family in text_string_to_metric_families(after)}
    assert {"erp_http_request_duration_seconds", "erp_http_requests", "erp_db_queries",
            "erp_db_query_seconds", "erp_cache_hits", "erp_cache_misses",
            "erp_process_resident_memory_bytes"} <= families
    assert sample(after, "erp_http_requests_total", **labels) == \
        sample(before, "erp_http_requests_total", **labels) + 1
    assert sample(after, "erp_http_request_duration_seconds_count", **labels) == \
        sample(before, "erp_http_request_duration_seconds_count", **labels) + 1
    assert sample(after, "erp_process_resident_memory_bytes") > 0


def test_database_queries_and_cache_hits_are_counted(app, client, admin_client):
    before = scrape(client)
    admin_client.get("/admin/users")
    cache_set("metrics-test", "x")
    assert cache_get("metrics-test") == "x"
    assert cache_get("metrics-test-missing") is None
    after = scrape(client)
    assert sample(after, "erp_db_queries_total") > sample(before, "erp_db_queries_total")
    assert sample(after, "erp_cache_hits_total") == sample(before, "erp_cache_hits_total") + 1
    assert sample(after, "erp_cache_misses_total") == sample(before, "erp_cache_misses_total") + 1

    # a read of several keys counts each of its keys, observed once for the hits and once
    # for the misses (#17): the totals, and the request's Server-Timing
    cache_set("metrics-test-2", "y")
    assert cache_get_many(["metrics-test", "nothing-1", "metrics-test-2", "nothing-2",
                           "nothing-3"]) == ["x", None, "y", None, None]
    again = scrape(client)
    assert sample(again, "erp_cache_hits_total") == sample(after, "erp_cache_hits_total") + 2
    assert sample(again, "erp_cache_misses_total") == sample(after, "erp_cache_misses_total") + 3
    with app.test_request_context("/"):
        timing._start()
        cache_get_many(["metrics-test", "nothing-1", "metrics-test-2"])
        stats = timing._current.get()
        assert (stats.cache_calls, stats.cache_hits, stats.cache_misses) == (3, 2, 1)


@pytest.fixture
def config_overrides():
    return {"METRICS_TOKEN": TOKEN}


def test_metrics_need_the_token_or_an_allowed_network(client):
    assert client.get("/metrics", environ_base=OUTSIDE).status_code == 404
    wrong = client.get("/metrics", environ_base=OUTSIDE, headers={"Authorization": "Bearer no"})
    assert wrong.status_code == 403
    scrape(client, environ_base=OUTSIDE, headers={"Authorization": f"Bearer {TOKEN}"})
    scrape(client)  # 127.0.0.1 is allowed by default
    assert "X-RateLimit-Limit" not in client.get("/metrics").headers


@pytest.mark.dialect_independent
def test_metrics_allow_takes_a_list_of_networks(database_url, redis_url, tmp_path):
    config = app_config(database_url, redis_url, tmp_path)
    config["METRICS_ALLOW"] = "192.168.0.0/16, 10.0.0.0/8"
    app = create_app(config)
    client = app.test_client()
    scrape(client, environ_base=OUTSIDE)
    assert client.get("/metrics").status_code == 404  # 127.0.0.1 no longer listed
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "172.16.0.1"}).status_code == 404
    with app.app_context():
        db.engine.dispose()


@pytest.mark.dialect_independent
def test_a_bad_metrics_allow_refuses_to_start(database_url, redis_url, tmp_path):
    config = app_config(database_url, redis_url, tmp_path)
    config["METRICS_ALLOW"] = "10.0.0.0/8,not-a-network"
    with pytest.raises(ConfigError, match="not-a-network"):
        create_app(config)


def test_timing_headers_carry_database_time_and_query_count(admin_client):
    with count_queries() as counter:
        response = admin_client.get("/admin/users")
    assert response.status_code == 200
    assert re.fullmatch(r"\d+\.\dms", response.headers["X-Response-Time"])
    timing = response.headers["Server-Timing"]
    assert re.search(r'app;dur=[\d.]+', timing)
    match = re.search(r'db;dur=([\d.]+);desc="(\d+) queries"', timing)
    assert match and int(match.group(2)) == counter.count > 0
    assert "cache;dur=" in timing


@pytest.mark.dialect_independent
def test_every_response_is_timed_even_errors_and_static(client):
    for url in ("/nowhere", "/health", "/static/css/app.css", "/login"):
        response = client.get(url)
        assert "X-Response-Time" in response.headers, url
        assert "Server-Timing" in response.headers, url


@pytest.fixture
def slow_app(database_url, redis_url, tmp_path):
    config = app_config(database_url, redis_url, tmp_path)
    config["SLOW_REQUEST_MS"] = 0
    app = create_app(config)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.dialect_independent
def test_slow_requests_are_logged_with_path_duration_and_queries(slow_app, caplog):
    with caplog.at_level(logging.WARNING, logger="erp.monitoring"):
        slow_app.test_client().get("/login?next=x")
    messages = [r.getMessage() for r in caplog.records if "slow request" in r.getMessage()]
    assert messages and "GET /login" in messages[0]
    assert re.search(r"took \d+ ms with \d+ queries", messages[0])


@pytest.mark.dialect_independent
def test_slow_request_threshold_defaults_to_500_ms(app):
    assert app.config["SLOW_REQUEST_MS"] == 500


MULTIPROCESS_SCRIPT = textwrap.dedent("""
    import os, sys
    from erp import create_app
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1],
                      "CACHE_DIR": sys.argv[2], "REDIS_URL": None})
    client = app.test_client()
    pid = os.fork()  # two workers, as gunicorn forks them
    assert client.get("/login").status_code == 200
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    sys.stdout.write(client.get("/metrics").get_data(as_text=True))
""")


@pytest.mark.dialect_independent
def test_multiprocess_mode_merges_the_workers(tmp_path):
    """Two processes (as two gunicorn workers) share PROMETHEUS_MULTIPROC_DIR."""
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    result = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS_SCRIPT, f"sqlite:///{tmp_path}/mp.sqlite3",
         str(tmp_path / "cache")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    labels = {"endpoint": "auth.login", "method": "GET", "status": "200"}
    assert sample(result.stdout, "erp_http_requests_total", **labels) == 2
    assert sample(result.stdout, "erp_http_request_duration_seconds_count", **labels) == 2
    assert len(list(metrics_dir.iterdir())) >= 2  # one file per process and metric type
