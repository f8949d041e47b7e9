"""/health and /health/ready: the JSON shape, outages of the real database and Redis,
the migration check, the token rules for details, and the health-check command."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import text

from erp import create_app
from erp.extensions import db
from erp.monitoring import health
from tests.conftest import TEST_DB, app_config, login
from tests.servers import PostgresServer, RedisServer

CHECKS = {"database", "cache", "migrations", "disk", "memory"}
TOKEN = "health-token-" + "h" * 24
TRUSTED = {"Authorization": f"Bearer {TOKEN}"}  # the checks' figures need the token (#24)


def test_liveness_is_ok_and_not_rate_limited(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert "X-RateLimit-Limit" not in response.headers


def test_anonymous_readiness_gives_the_status_only(client):
    """Issue #24, finding 7: no free disk bytes, memory, cache backend or schema revision
    for anyone who asks; the load balancer needs the status code and the status."""
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.get_json() == {"status": response.get_json()["status"]}
    assert response.get_json()["status"] in {"healthy", "degraded"}
    assert response.headers["Cache-Control"] == "no-store"
    for leak in (b"bytes", b"percent", b"Cache", b"head", b"current", b"latency"):
        assert leak not in response.data


def test_readiness_reports_every_check_with_its_latency(client):
    response = client.get("/health/ready", headers=TRUSTED)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"status", "timestamp", "checks"}
    assert body["status"] in {"healthy", "degraded"}
    datetime.fromisoformat(body["timestamp"])
    assert set(body["checks"]) == CHECKS
    for name, check in body["checks"].items():
        assert check["status"] in {"healthy", "warning", "degraded", "unhealthy"}, name
        assert isinstance(check["latency_ms"], (int, float)), name
    assert body["checks"]["database"]["status"] == "healthy"
    assert body["checks"]["cache"]["status"] == "healthy"
    assert "details" not in body
    assert response.headers["Cache-Control"] == "no-store"


def test_a_schema_without_alembic_version_is_a_warning_not_unhealthy(client):
    body = client.get("/health/ready", headers=TRUSTED).get_json()
    check = body["checks"]["migrations"]
    assert check["status"] == "warning"
    assert "alembic_version" in check["message"]
    assert body["status"] == "degraded"


@pytest.fixture
def alembic_version(app):
    db.session.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
    db.session.commit()
    yield lambda revision: (db.session.execute(text("DELETE FROM alembic_version")),
                            db.session.execute(text("INSERT INTO alembic_version VALUES (:r)"),
                                               {"r": revision}), db.session.commit())
    db.session.rollback()
    db.session.execute(text("DROP TABLE alembic_version"))
    db.session.commit()


def test_migrations_at_head_are_healthy_and_behind_head_unhealthy(app, client, alembic_version):
    head = health.script_heads(_directory(app))
    alembic_version(head[0])
    body = client.get("/health/ready", headers=TRUSTED).get_json()
    assert body["checks"]["migrations"]["status"] == "healthy"
    assert body["checks"]["migrations"]["current"] == list(head)
    assert body["status"] in {"healthy", "degraded"}  # disk and memory of the machine decide

    alembic_version("0000_older")
    assert client.get("/health/ready").get_json() == {"status": "unhealthy"}
    response = client.get("/health/ready", headers=TRUSTED)
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["migrations"]["status"] == "unhealthy"
    assert "db upgrade" in body["checks"]["migrations"]["message"]


def _directory(app) -> str:
    with app.test_request_context():
        return health.migrations_directory()


@pytest.mark.dialect_independent
def test_disk_and_memory_levels():
    assert health._percent_status(84.9) == "healthy"
    assert health._percent_status(85) == "warning"
    assert health._percent_status(90) == "unhealthy"
    assert health.overall({"a": {"status": "healthy"}, "b": {"status": "warning"}}) == "degraded"
    assert health.overall({"a": {"status": "degraded"}, "b": {"status": "unhealthy"}}) == "unhealthy"
    assert health.overall({"a": {"status": "healthy"}}) == "healthy"


# -- details: HEALTH_TOKEN or an admin session ---------------------------------------------

@pytest.fixture
def config_overrides():
    return {"HEALTH_TOKEN": TOKEN}


def test_details_need_the_token_or_an_admin(client, client_as):
    assert client.get("/health/ready?detailed=1").status_code == 403
    wrong = client.get("/health/ready?detailed=1", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    assert client_as("manager").get("/health/ready?detailed=1").status_code == 403

    response = client.get("/health/ready?detailed=1", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    details = response.get_json()["details"]
    assert details["versions"]["python"]
    assert details["versions"]["database"].startswith(TEST_DB)
    assert "status" in details["pool"]
    assert details["process"]["rss_bytes"] > 0

    admin = client_as("admin").get("/health/ready?detailed=1")
    assert admin.status_code == 200
    assert "pool" in admin.get_json()["details"]


@pytest.mark.dialect_independent
def test_health_token_is_read_from_the_environment(monkeypatch, database_url, redis_url, tmp_path):
    monkeypatch.setenv("HEALTH_TOKEN", "from-the-environment")
    app = create_app(app_config(database_url, redis_url, tmp_path))
    assert app.config["HEALTH_TOKEN"] == "from-the-environment"
    response = app.test_client().get("/health/ready?detailed=1",
                                     headers={"Authorization": "Bearer from-the-environment"})
    assert response.status_code == 200
    assert "details" in response.get_json()
    with app.app_context():
        db.engine.dispose()


def test_health_check_command(runner):
    result = runner.invoke(args=["health-check"])
    assert result.exit_code == 0, result.output
    assert '"database"' in result.output
    assert '"details"' not in result.output
    detailed = runner.invoke(args=["health-check", "--detailed"])
    assert detailed.exit_code == 0
    assert '"versions"' in detailed.output


# -- outages of the real servers -------------------------------------------------------------

@pytest.mark.skipif(TEST_DB != "sqlite", reason="the PostgreSQL pass stops a real server")
def test_an_unopenable_sqlite_database_is_unhealthy(tmp_path, redis_url):
    app = create_app({**app_config(f"sqlite:///{tmp_path}/missing/dir/erp.sqlite3", redis_url,
                                   tmp_path), "HEALTH_TOKEN": TOKEN})
    client = app.test_client()
    assert client.get("/health/ready").get_json() == {"status": "unhealthy"}
    response = client.get("/health/ready", headers=TRUSTED)
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"]["status"] == "unhealthy"
    assert "OperationalError" in body["checks"]["database"]["error"]
    assert client.get("/health").status_code == 200  # liveness touches nothing
    result = app.test_cli_runner().invoke(args=["health-check"])
    assert result.exit_code == 1


@pytest.mark.postgresql_only
def test_postgresql_down_gives_503_and_back_up_gives_200(tmp_path, redis_url):
    server = PostgresServer().init().start()
    try:
        app = create_app({**app_config(server.url + "/postgres", redis_url, tmp_path),
                          "HEALTH_TOKEN": TOKEN})
        client = app.test_client()
        up = client.get("/health/ready", headers=TRUSTED)
        assert up.status_code == 200, up.get_json()
        assert up.get_json()["checks"]["database"]["status"] == "healthy"

        server.stop()
        down = client.get("/health/ready", headers=TRUSTED)
        assert down.status_code == 503
        body = down.get_json()
        assert body["status"] == "unhealthy"
        assert body["checks"]["database"]["status"] == "unhealthy"
        assert body["checks"]["migrations"]["status"] == "unhealthy"
        assert client.get("/health").status_code == 200
        assert app.test_cli_runner().invoke(args=["health-check"]).exit_code == 1

        server.start()
        assert client.get("/health/ready").status_code == 200  # pool_pre_ping reconnects
        with app.app_context():
            db.engine.dispose()
    finally:
        server.destroy()


def test_redis_down_degrades_but_answers_200(tmp_path, database_url, make_user):
    admin = make_user("admin", is_superuser=True)  # the monitoring page needs one
    db.session.commit()  # the test's own app below reads it on its own connection
    server = RedisServer().start()
    try:
        config = app_config(database_url, server.url, tmp_path)
        config["REDIS_URL"] = server.url + "/0"
        config["HEALTH_TOKEN"] = TOKEN
        app = create_app(config)
        client = app.test_client()
        up = client.get("/health/ready", headers=TRUSTED).get_json()
        assert up["checks"]["cache"]["status"] == "healthy"
        assert up["checks"]["cache"]["backend"] == "RedisCache"

        server.stop()
        response = client.get("/health/ready", headers=TRUSTED)
        assert response.status_code == 200
        body = response.get_json()
        assert body["status"] == "degraded"
        assert body["checks"]["cache"]["status"] == "degraded"
        assert body["checks"]["database"]["status"] == "healthy"
        # Pages and the monitoring page still answer without Redis.
        login(client, admin.email)
        page = client.get("/admin/monitoring")
        assert page.status_code == 200
        assert "X-Response-Time" in page.headers
        with app.app_context():
            db.engine.dispose()
    finally:
        server.stop()
