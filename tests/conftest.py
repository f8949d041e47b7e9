"""Test fixtures: the app on a real database, clients per role, two companies, query counts.

`TEST_DB=sqlite` (default) runs on a SQLite file with the file-system cache, as the
embedded default does. `TEST_DB=postgresql` runs on a real PostgreSQL with Redis for
cache and rate limits. The session starts the servers it needs (tests/servers.py); under
pytest-xdist the controller starts them and every worker gets its own database.
"""
from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg2
import pytest
import redis as redis_lib
from flask.testing import FlaskClient
from sqlalchemy import event, text

from erp import create_app
from erp.extensions import db
from tests.factories.core import PASSWORD, CompanyFactory, UserFactory
from tests.servers import PostgresServer, RedisServer

TEST_DB = os.environ.get("TEST_DB", "sqlite")
if TEST_DB not in {"sqlite", "postgresql"}:
    raise RuntimeError(f"TEST_DB must be sqlite or postgresql, not {TEST_DB!r}")

_servers: list = []


def pytest_configure(config):
    config.addinivalue_line("markers", "postgresql_only: needs PostgreSQL's concurrency")
    config.addinivalue_line("markers", "browser: drives Chromium through Playwright")
    config.addinivalue_line("markers", "dialect_independent: the same on every database and "
                            "cache: runs in the SQLite pass only")
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller has started the servers
    if "TEST_REDIS_URL" not in os.environ:
        server = RedisServer().start()
        _servers.append(server)
        os.environ["TEST_REDIS_URL"] = server.url
    if TEST_DB == "postgresql" and "TEST_POSTGRES_URL" not in os.environ:
        server = PostgresServer().init().start()
        _servers.append(server)
        os.environ["TEST_POSTGRES_URL"] = server.url


def pytest_unconfigure(config):
    while _servers:
        _servers.pop().destroy()


def pytest_collection_modifyitems(config, items):
    if TEST_DB != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL (runs in the TEST_DB=postgresql pass)")
        for item in items:
            if "postgresql_only" in item.keywords:
                item.add_marker(skip)
        return
    # The browser tests check pages and their JavaScript, and the tests marked
    # dialect_independent (templates, escaping, config, parsing, URL-map declarations,
    # pure functions, explicit SQLite files) give the same answer on every database and
    # cache: they run in the SQLite pass only, which keeps `make test` within its budget.
    browser = os.environ.get("TEST_BROWSER_ON_POSTGRESQL") != "1"
    independent = os.environ.get("TEST_DIALECT_INDEPENDENT_ON_POSTGRESQL") != "1"
    skip_browser = pytest.mark.skip(reason="browser tests run in the SQLite pass")
    skip_independent = pytest.mark.skip(reason="dialect independent: runs in the SQLite pass")
    for item in items:
        if browser and item.nodeid.startswith("tests/browser/"):
            item.add_marker(skip_browser)
        elif independent and "dialect_independent" in item.keywords:
            item.add_marker(skip_independent)


def worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def worker_index() -> int:
    match = re.search(r"(\d+)$", worker_id())
    return int(match.group(1)) + 1 if match else 0


def create_postgres_database(name: str) -> str:
    base = os.environ["TEST_POSTGRES_URL"]
    conn = psycopg2.connect(base + "/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return f"{base}/{name}"


def fresh_database_url(tmp_path, name: str) -> str:
    """An empty database of the kind under test (for migration and copy tests)."""
    if TEST_DB == "postgresql":
        return create_postgres_database(f"{name}_{worker_id()}")
    return f"sqlite:///{tmp_path / (name + '.sqlite3')}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DB == "postgresql":
        return create_postgres_database(f"erp_test_{worker_id()}")
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'erp.sqlite3'}"


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis database of this worker's own, on the session's server."""
    return f"{os.environ['TEST_REDIS_URL']}/{worker_index()}"


def app_config(database_url: str, redis_url: str, tmp_path) -> dict:
    config = {
        "TESTING": True,
        "ERP_ENV": "development",
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "FORCE_HTTPS": False,
        "SESSION_COOKIE_SECURE": False,
        "CACHE_DIR": str(tmp_path / "cache"),
        "IMPORT_UPLOAD_DIR": str(tmp_path / "imports"),  # the upload quotas count per folder
        "REDIS_URL": None,
        # monitoring figures written at once: a buffered flush a second later could land
        # in the next test's store (tests/test_request_cost.py tests the buffering)
        "MONITORING_FLUSH_SECONDS": 0,
    }
    if TEST_DB == "postgresql":
        config["REDIS_URL"] = redis_url
    return config


@pytest.fixture(scope="session")
def _schema(database_url, redis_url, tmp_path_factory):
    """Create the tables once per worker (the migrations are tested on their own)."""
    app = create_app(app_config(database_url, redis_url, tmp_path_factory.mktemp("schema")))
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()


def clean_database() -> None:
    """Empty every table, fast, so each test starts from nothing."""
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            # SQLite checks the self-reference row by row: unlink nested categories first.
            conn.execute(text("UPDATE categories SET parent_id = NULL"))
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context and session, as in
    production, and not in the test's. The test's transaction is ended first, so that
    on SQLite it holds no lock while the request writes, and its objects reload afterwards.
    """

    def open(self, *args, **kwargs):
        try:
            db.session.commit()
        except Exception:  # e.g. the database is down in an outage test
            db.session.rollback()
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def config_overrides() -> dict:
    """Override in a test module to change the app's config."""
    return {}


@pytest.fixture
def app(database_url, redis_url, _schema, tmp_path, config_overrides):
    config = app_config(database_url, redis_url, tmp_path)
    config.update(config_overrides)
    if config.get("REDIS_URL"):
        redis_lib.Redis.from_url(config["REDIS_URL"]).flushdb()
    app = create_app(config)
    app.test_client_class = IsolatedClient
    with app.app_context():
        clean_database()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def company(app):
    return CompanyFactory(name="Acme Manufacturing")


@pytest.fixture
def other_company(app):
    return CompanyFactory(name="Globex Trading")


def login(client, email: str, password: str = PASSWORD):
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 303, f"login failed for {email}: {response.status_code}"
    return client


@pytest.fixture
def make_user(app, company):
    def make(role: str = "staff", *, company=company, **kwargs):
        return UserFactory(role=role, company=company, **kwargs)

    return make


@pytest.fixture
def client_as(app, make_user) -> Callable:
    """`client_as("manager")`: a new test client logged in as a new user of that role."""

    def make(role: str, *, company=None):
        user = make_user(role) if company is None else make_user(role, company=company)
        return login(app.test_client(), user.email)

    return make


@pytest.fixture
def admin_client(client_as):
    return client_as("admin")


@pytest.fixture
def staff_client(client_as):
    return client_as("staff")


@pytest.fixture
def other_company_client(client_as, other_company):
    """An admin of another company: every record of `company` must answer 404 to it."""
    return client_as("admin", company=other_company)


@dataclass
class QueryCounter:
    count: int = 0
    statements: list | None = None


@contextmanager
def count_queries() -> Iterator[QueryCounter]:
    """Count the SQL statements the app sends (transaction control not included)."""
    counter = QueryCounter(statements=[])
    engine = db.engine

    def before(conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip()[:16].upper()
        if head.startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")):
            return
        counter.count += 1
        counter.statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def queries_for() -> Callable:
    """`queries_for(client, url)`: how many queries one GET of `url` makes (asserts 200)."""

    def run(client, url: str, *, headers=None) -> int:
        with count_queries() as counter:
            response = client.get(url, headers=headers or {})
        assert response.status_code == 200, f"{url}: {response.status_code}"
        return counter.count

    return run


def unique(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:8]
