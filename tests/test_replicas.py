"""Read replicas (issue #22) on a real PostgreSQL streaming replica: a primary and a
standby (pg_basebackup) of this module's own. List pages read from the replica (counted
on its engine, and seen stale while its replay is paused), a user reads their own write,
a lagging replica is skipped, and a replica stopped under load costs no error."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from erp.config import ConfigError
from erp.extensions import db
from erp.replicas import get_replicas
from tests.conftest import _build_app, app_config, clean_database
from tests.servers import PostgresServer, StandbyServer

@pytest.fixture(scope="module")
def servers():
    primary = PostgresServer().init().start()
    standby = StandbyServer(primary).init().start()
    yield primary, standby
    standby.destroy()
    primary.destroy()


@pytest.fixture(scope="module")
def replica_app(servers, redis_url, tmp_path_factory):
    primary, standby = servers
    config = {**app_config(f"{primary.url}/postgres", redis_url, tmp_path_factory.mktemp("app")),
              "REDIS_URL": None, "DATABASE_REPLICA_URLS": f"{standby.url}/postgres",
              "REPLICA_CHECK_SECONDS": 0, "REPLICA_MAX_LAG_SECONDS": 60,
              "READ_YOUR_WRITES_SECONDS": 1,
              # one app for the module: its logins are not throttled at 10 a minute
              "RATELIMIT_LOGIN": "1000 per minute"}
    app = _build_app(config)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        get_replicas(app).dispose()
        db.engine.dispose()


@pytest.fixture
def app(replica_app, servers):
    """This module's app (the conftest's `company`, `make_user`, `client_as` use it)."""
    with replica_app.app_context():
        clean_database()
        caught_up(servers)
        yield replica_app
        db.session.remove()
        standby_sql(servers, "SELECT pg_wal_replay_resume()")
        get_replicas(replica_app).max_lag = replica_app.config["REPLICA_MAX_LAG_SECONDS"]


def standby_sql(servers, sql: str):
    engine = create_engine(f"{servers[1].url}/postgres", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def caught_up(servers, timeout: float = 10.0) -> None:
    """Wait until the standby has replayed everything the primary has written (the insert
    position: the test servers commit with synchronous_commit=off, so a commit's record
    may not be written out yet)."""
    engine = create_engine(f"{servers[0].url}/postgres", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            target = conn.execute(text("SELECT pg_current_wal_insert_lsn()::text")).scalar()
    finally:
        engine.dispose()
    deadline = time.monotonic() + timeout
    while standby_sql(servers, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"
                      ) is not True:
        assert time.monotonic() < deadline, "the standby does not catch up"
        time.sleep(0.05)


def names(client) -> str:
    response = client.get("/catalog/categories?per_page=100")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.postgresql_only
def test_list_reads_land_on_the_replica_and_a_user_reads_their_own_write(app, client_as,
                                                                         servers):
    replica = get_replicas(app).replicas[0]
    writer, reader = client_as("staff"), client_as("staff")
    time.sleep(1.1)  # the logins wrote: past READ_YOUR_WRITES_SECONDS
    caught_up(servers)
    before = replica.statements
    assert "Bearings" not in names(reader)
    assert replica.statements > before  # the list's queries ran on the replica
    standby_sql(servers, "SELECT pg_wal_replay_pause()")
    response = writer.post("/catalog/categories/new", data={"name": "Bearings"})
    assert response.status_code == 303
    on_replica = replica.statements
    assert "Bearings" in names(writer)  # their own write: read from the primary
    assert replica.statements == on_replica
    assert "Bearings" not in names(reader)  # another user reads the (paused) replica
    assert replica.statements > on_replica
    standby_sql(servers, "SELECT pg_wal_replay_resume()")
    caught_up(servers)
    assert "Bearings" in names(reader)
    time.sleep(1.1)
    on_replica = replica.statements
    assert "Bearings" in names(writer)  # past the window: the writer reads the replica too
    assert replica.statements > on_replica


@pytest.mark.postgresql_only
def test_a_cached_report_is_computed_on_the_primary(app, client_as, servers):
    """The receivables aging is kept in the cache under the versions of now (#17): computed
    from a replica behind the primary, a stale page would be kept until the next write."""
    replica = get_replicas(app).replicas[0]
    viewer = client_as("viewer")
    time.sleep(1.1)
    caught_up(servers)
    spent = []
    for _ in range(2):  # computed, then read from the cache
        before = replica.statements
        assert viewer.get("/money/receivables-aging").status_code == 200
        spent.append(replica.statements - before)
    assert spent[0] == spent[1]  # the page's rows and totals: not on the replica


@pytest.mark.postgresql_only
def test_a_post_never_reads_from_a_replica(app, client_as):
    replica = get_replicas(app).replicas[0]
    staff = client_as("staff")
    time.sleep(1.1)
    before = replica.statements
    response = staff.post("/catalog/categories/new", data={"name": "Valves"})
    assert response.status_code == 303
    assert replica.statements == before  # a POST never reads a replica


@pytest.mark.postgresql_only
def test_a_lagging_replica_is_skipped_and_health_shows_it(app, client_as, servers,
                                                          make_user):
    from tests.conftest import login

    admin_client = login(app.test_client(), make_user("admin", is_superuser=True).email)
    replicas = get_replicas(app)
    replica = replicas.replicas[0]
    writer, reader = client_as("staff"), client_as("staff")
    time.sleep(1.1)
    standby_sql(servers, "SELECT pg_wal_replay_pause()")
    assert writer.post("/catalog/categories/new", data={"name": "Gaskets"}).status_code == 303
    replicas.max_lag = 0.3
    time.sleep(0.5)
    before = replica.statements
    assert "Gaskets" in names(reader)  # the replica lags beyond the limit: the primary
    assert replica.statements == before
    body = admin_client.get("/health/ready").get_json()
    check = body["checks"]["replicas"]
    assert check["status"] == "degraded" and body["status"] == "degraded"
    assert check["replicas"][0]["state"] == "lagging" and check["replicas"][0]["lag_seconds"] > 0.3
    assert "skipped" in check["message"]
    html = admin_client.get("/admin/monitoring").get_data(as_text=True)
    assert "1 replica, 1 skipped" in html
    standby_sql(servers, "SELECT pg_wal_replay_resume()")
    caught_up(servers)
    replicas.max_lag = app.config["REPLICA_MAX_LAG_SECONDS"]
    assert "Gaskets" in names(reader)
    assert replica.statements > before
    assert admin_client.get("/health/ready").get_json()["checks"]["replicas"]["status"] \
        == "healthy"


@pytest.mark.postgresql_only
def test_a_replica_lost_after_the_read_fails_no_request_at_its_end(app, servers):
    """The view read from the replica, then the replica went away before the request ended:
    closing the session (its rollback on the replica's connection) is no error, the replica
    is marked down, and the next read is on the primary."""
    from erp.replicas import replica_reads

    replica = get_replicas(app).replicas[0]
    caught_up(servers)
    with app.app_context(), app.test_request_context("/catalog/categories"):  # a request's own
        replica_reads(lambda: db.session.execute(text("SELECT 1")).scalar())()
        assert db.session.info["replica"] is replica
        servers[1].stop("immediate")
    try:
        assert not replica.usable and replica.error
        with app.app_context(), app.test_request_context("/catalog/categories"):
            assert replica_reads(lambda: db.session.execute(text("SELECT 2")).scalar())() == 2
            assert db.session.info["replica"] is False
    finally:
        servers[1].start()
    caught_up(servers)


@pytest.mark.postgresql_only
def test_a_replica_stopped_under_load_gives_no_error(app, client_as, servers):
    replica = get_replicas(app).replicas[0]
    clients = [client_as("viewer") for _ in range(3)]
    admin = client_as("admin")
    time.sleep(1.1)
    statuses: list[int] = []
    stop = threading.Event()

    def load(client) -> None:
        with app.app_context():  # the tests' client rolls the context's session back
            while not stop.is_set():
                statuses.append(client.get("/catalog/categories").status_code)

    threads = [threading.Thread(target=load, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        on_replica = replica.statements
        assert on_replica > 0
        servers[1].stop("immediate")
        # the load goes on for a second and for 20 requests after the stop, however
        # slowly a loaded machine serves them
        after_stop = len(statuses) + 20
        deadline = time.monotonic() + 60
        time.sleep(1.0)
        while len(statuses) < after_stop and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    try:
        assert len(statuses) > 20 and set(statuses) == {200}, statuses
        status = get_replicas(app).status()[0]
        assert status["state"] == "down" and not status["usable"]
        body = admin.get("/health/ready").get_json()
        assert body["checks"]["replicas"]["status"] == "degraded"
        assert body["checks"]["replicas"]["replicas"][0]["error"]
    finally:
        servers[1].start()
    caught_up(servers)
    before = replica.statements
    assert names(clients[0])
    assert replica.statements > before  # back in use at the next check


@pytest.mark.dialect_independent
def test_replica_urls_must_be_postgresql(tmp_path, redis_url):
    config = {**app_config(f"sqlite:///{tmp_path / 'erp.sqlite3'}", redis_url, tmp_path),
              "DATABASE_REPLICA_URLS": "postgresql://erp@replica/erp"}
    with pytest.raises(ConfigError, match="needs a PostgreSQL DATABASE_URL"):
        _build_app(config)
    config["DATABASE_REPLICA_URLS"] = "sqlite:///other.sqlite3"
    with pytest.raises(ConfigError, match="is not a PostgreSQL URL"):
        _build_app(config)
