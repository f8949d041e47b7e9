"""The database's health in monitoring (issue #22): query time per request (mean and p95),
the slow-query share, the pool's use and waits, connections against the server's limit,
buffer and index hit ratios and replica lag, on the page, in /metrics and in the alerts."""
from __future__ import annotations

import threading
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from erp.extensions import db
from erp.monitoring import alerts, get_monitor, timing
from erp.monitoring import database as health
from erp.monitoring.recorder import Recorder, Sample
from erp.monitoring.store import SQLiteStore
from erp.monitoring.thresholds import level


@pytest.fixture
def admin_client(app, make_user):
    from tests.conftest import login

    return login(app.test_client(), make_user("admin", is_superuser=True).email)


def metric(text_: str, name: str) -> float | None:
    for family in text_string_to_metric_families(text_):
        for sample in family.samples:
            if sample.name == name and not sample.labels:
                return sample.value
    return None


# -- figures from the recorded requests --------------------------------------------------------

@pytest.mark.dialect_independent
def test_query_time_per_request_slow_share_and_pool_waits_are_recorded(tmp_path):
    recorder = Recorder(SQLiteStore(str(tmp_path / "monitoring.sqlite3")))
    now = time.time()
    for _ in range(18):  # 18 requests at 4 ms of database time, 2 at 700 ms
        recorder.record(Sample("a.list", 200, 20.0, db_ms=4.0, db_count=2, checkouts=1, at=now))
    for _ in range(2):
        recorder.record(Sample("a.report", 200, 900.0, db_ms=700.0, db_count=5, db_slow=3,
                               checkouts=2, pool_waits=1, at=now))
    summary = recorder.summary(now)
    figures, levels = summary["figures"], summary["levels"]
    assert figures["queries"] == 46 and figures["slow_queries"] == 6
    assert figures["slow_query_share"] == round(100 * 6 / 46, 2)
    assert levels["slow_query_share"] == "critical"  # 13 % > 10 %
    assert figures["db_time_mean_ms"] == round((18 * 4 + 2 * 700) / 20, 1)
    assert 500 < figures["db_time_p95_ms"] <= 750  # in the 700 ms requests' bucket
    assert levels["db_time_p95_ms"] == "warning"
    assert figures["checkouts"] == 22 and figures["pool_waits"] == 2
    assert figures["pool_wait_share"] == round(100 * 2 / 22, 2)
    assert levels["pool_wait_share"] == "warning"
    assert len(summary["history"]["db_time_p95_ms"]) == 60


@pytest.mark.dialect_independent
@pytest.mark.parametrize("name, value, expected", [
    ("query_mean_ms", 30, "good"), ("query_mean_ms", 600, "critical"),
    ("db_time_p95_ms", 80, "good"), ("db_time_p95_ms", 1500, "critical"),
    ("slow_query_share", 0.5, "good"), ("slow_query_share", 7, "warning"),
    ("buffer_hit_ratio", 99, "good"), ("buffer_hit_ratio", 70, "critical"),
    ("index_hit_ratio", 95, "good"), ("index_hit_ratio", 50, "critical"),
    ("pool_usage", 20, "good"), ("pool_usage", 100, "critical"),
    ("server_connections_share", 85, "warning"), ("connections", 120, "critical"),
    ("replica_lag_seconds", 0.2, "good"), ("replica_lag_seconds", 10, "warning"),
    ("replica_lag_seconds", 60, "critical"), ("replica_lag_seconds", None, "unknown"),
])
def test_database_figures_have_target_warning_and_critical_levels(name, value, expected):
    assert level(name, value) == expected


@pytest.mark.dialect_independent
def test_hit_ratios_over_too_few_blocks_are_not_judged():
    levels = health.health_levels({"buffer_hit_ratio": 50.0, "buffer_blocks": 100,
                                   "index_hit_ratio": 50.0, "index_blocks": 50_000})
    assert levels["buffer_hit_ratio"] == "unknown"
    assert levels["index_hit_ratio"] == "critical"


@pytest.mark.dialect_independent
def test_critical_database_figures_alert_with_their_thresholds(app):
    monitor = get_monitor(app)
    summary = {"figures": {"slow_query_share": 20.0, "queries": 50, "replica_lag_seconds": 45.0,
                           "pool_wait_share": 50.0, "checkouts": 10},
               "levels": {"slow_query_share": "critical", "replica_lag_seconds": "critical",
                          "pool_wait_share": "critical"}}
    fired = alerts.check(monitor.recorder, summary, webhook_url=None, now=time.time())
    # too few queries and checkouts to judge a share: only the replica lag alerts
    assert [alert["figure"] for alert in fired] == ["replica_lag_seconds"]
    assert fired[0]["message"] == ("Replica lag is critical: 45 s (target <1 s, warning >5 s, "
                                   "critical >30 s)")
    summary["figures"]["queries"] = 500
    fired = alerts.check(monitor.recorder, summary, webhook_url=None, now=time.time())
    assert [alert["figure"] for alert in fired] == ["slow_query_share"]  # the lag: claimed


# -- real statements, pool and server ----------------------------------------------------------

def test_a_request_counts_its_queries_checkouts_and_the_page_shows_the_database(
        app, admin_client):
    before = get_monitor(app).summary(history=False)["figures"]["checkouts"]
    assert admin_client.get("/admin/users").status_code == 200
    summary = get_monitor(app).summary(history=False)
    assert summary["figures"]["checkouts"] > before
    assert summary["figures"]["db_time_p95_ms"] is not None
    assert summary["figures"]["pool_capacity"] == summary["database"]["pool_capacity"]
    html = admin_client.get("/admin/monitoring").get_data(as_text=True)
    for tile in ("db-query-mean", "db-time", "db-slow", "db-pool", "db-pool-waits",
                 "db-connections", "db-buffer", "db-index", "db-replica"):
        assert f'id="tile-{tile}"' in html
    assert "no replica" in html
    if db.engine.dialect.name == "sqlite":
        assert "PostgreSQL only" in html
    else:
        figures = summary["figures"]
        assert figures["connections"] >= 1 and figures["max_connections"] > 0
        assert f"{figures['connections']} / {figures['max_connections']}" in html
        assert summary["levels"]["connections"] in {"good", "fair"}
        assert figures["buffer_hit_ratio"] is None or 0 <= figures["buffer_hit_ratio"] <= 100
        assert figures["replica_lag_seconds"] is None and summary["database"]["replicas"] == []


def test_metrics_carry_the_database_figures(app, client, admin_client):
    admin_client.get("/admin/users")
    body = client.get("/metrics").get_data(as_text=True)
    assert metric(body, "erp_db_pool_capacity") == health.pool_figures(db.engine)["pool_capacity"]
    assert metric(body, "erp_db_slow_queries_total") is not None
    assert metric(body, "erp_db_seconds_per_request_count") >= 1
    assert metric(body, "erp_db_pool_waits_total") is not None
    if db.engine.dialect.name == "postgresql":
        assert metric(body, "erp_db_max_connections") > 0
        assert metric(body, "erp_db_connections") >= 1


@pytest.mark.dialect_independent
def test_an_unreachable_server_gives_an_error_figure_not_an_exception():
    engine = create_engine("postgresql://erp@127.0.0.1:1/erp",
                           poolclass=health.MeasuredQueuePool,
                           connect_args={"connect_timeout": 2})
    try:
        figures = health.server_health(engine)
    finally:
        engine.dispose()
    assert figures["error"].startswith("OperationalError")
    assert figures["pool_checked_out"] == 0
    assert health.health_levels(figures)["connections"] == "unknown"


@pytest.mark.postgresql_only
def test_a_slow_statement_is_counted_in_its_request(app):
    with app.test_request_context("/"):
        timing._start()
        db.session.execute(text("SELECT pg_sleep(0.12)"))
        db.session.execute(text("SELECT 1"))
        stats = timing.current_stats()
        assert (stats.db_count, stats.db_slow) == (2, 1)
        assert stats.checkouts == 1
        db.session.rollback()
        timing._teardown(None)


@pytest.mark.postgresql_only
def test_a_checkout_that_finds_the_pool_exhausted_is_a_pool_wait(app, database_url):
    assert isinstance(db.engine.pool, health.MeasuredQueuePool)
    engine = create_engine(database_url, poolclass=health.MeasuredQueuePool, pool_size=1,
                           max_overflow=0, pool_timeout=5)
    waits = health.POOL_COUNTS["waits"]
    got = []
    try:
        held = engine.connect()
        assert health.POOL_COUNTS["waits"] == waits  # a free connection: no wait

        def second() -> None:
            with engine.connect() as conn:
                got.append(conn.execute(text("SELECT 1")).scalar())

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.2)
        assert not got  # waiting for the held connection
        held.close()
        thread.join(5)
        assert got == [1]
        assert health.POOL_COUNTS["waits"] == waits + 1
        assert health.pool_figures(engine) == {
            "pool_class": "MeasuredQueuePool", "pool_size": 1, "pool_checked_out": 0,
            "pool_capacity": 1, "pool_usage": 0.0}
    finally:
        engine.dispose()
