"""Test fixtures: the app on a real database, clients per role, two companies, query counts.

`TEST_DB=sqlite` (default) runs on a SQLite file with the file-system cache, as the
embedded default does. `TEST_DB=postgresql` runs on a real PostgreSQL with Redis for
cache and rate limits. The session starts the servers it needs (tests/servers.py); under
pytest-xdist the controller starts them and every worker gets its own database.

Which pass runs a test: the SQLite pass runs every test; the PostgreSQL pass
(TEST_DB=postgresql) runs only the tests whose outcome can depend on the database or on
Redis: services (locks, constraints, numbering, concurrency), queries and list reads
(collation, ILIKE, pg_trgm, EXPLAIN), migrations, models' CHECKs, the Redis-backed parts
(cache versions, rate limits, login throttle, monitoring figures, jobs), outages and real
servers, the API's schemathesis on a bounded subset, and one HTTP smoke per list page with
fixed hostile parameters (tests/test_list_pages.py), so each page's SQL runs once there.
Views' HTML shape, templates, escaping, fuzzing, browser tests, the role and 404 matrices
over the URL map and the languages run in the SQLite pass only. The rule, in order (the
closest declaration wins: a test's own marker, then its module's `pytestmark`, then its
path in `DIALECT_DEPENDENT`):
- `@pytest.mark.postgresql_only`: the PostgreSQL pass only (real concurrency);
- `@pytest.mark.dialect_dependent`: both passes (e.g. a list's filter test in tests/blueprints/);
- `@pytest.mark.dialect_independent`: the SQLite pass only (e.g. a pure function in
  tests/services/);
- unmarked: both passes when its module or folder is in `DIALECT_DEPENDENT`, else the
  SQLite pass only (a new module of views or templates needs no marker; a new module whose
  outcome depends on the database goes into `DIALECT_DEPENDENT`).
`TEST_DIALECT_INDEPENDENT_ON_POSTGRESQL=1` runs every test in the PostgreSQL pass (the
browser tests also need `TEST_BROWSER_ON_POSTGRESQL=1`); the others are deselected there.

Speed: every worker builds its app once (`_apps`; one more per module `config_overrides`)
and puts it back before each test as `create_app()` left it (`AppReset`): config,
extensions, rate limits, caches, the login throttle's and the monitoring's stores; a test
marked `fresh_app` gets an app of its own. Each test starts on an empty database
(`clean_database`: DELETE of the tables that have rows). A data set many tests start from
is a `scenario`, built once per session (by the first worker that needs it; the others read
its rows from the session's shared folder, $ERP_TEST_SHARED_DIR) and put back by INSERTs
(`seeded_demo`, the fuzz world). The session's temporary files (tmp_path, the apps' file
caches, the servers' data) live in memory (`memory_temp_root`), and the longest tests start
first (`SLOW_FIRST`) for `--dist worksteal` to balance the workers around them.
"""
from __future__ import annotations

import copy
import fcntl
import os
import pickle
import re
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import psycopg2
import pytest
import redis as redis_lib
from flask import session
from flask.testing import FlaskClient
from flask_login import login_user
from sqlalchemy import event, select, text

from erp import auth, create_app, login_throttle, monitoring
from erp.extensions import cache, csrf, db, limiter, login_manager, migrate, talisman
from erp.models import User
from erp.monitoring.recorder import Recorder
from erp.services.users import normalize_email
from tests.factories.core import PASSWORD, CompanyFactory, UserFactory
from tests.servers import PostgresServer, RedisServer

TEST_DB = os.environ.get("TEST_DB", "sqlite")
if TEST_DB not in {"sqlite", "postgresql"}:
    raise RuntimeError(f"TEST_DB must be sqlite or postgresql, not {TEST_DB!r}")

_servers: list = []
_shared_dirs: list[str] = []
SHARED_DIR = "ERP_TEST_SHARED_DIR"  # set by the controller, read by its workers


def compile_catalogs() -> None:
    """The Turkish pages read the compiled catalogs: compile them from the .po files as
    `make translations` does, so a test never reads a stale one. Catalogs compiled after
    their last change are left alone: scripts/run-tests.sh compiles them once before its
    two passes, which run side by side (a catalog rewritten while the other pass's workers
    read it could be read half written)."""
    from babel.messages.frontend import CommandLineInterface

    translations = Path(__file__).resolve().parents[1] / "erp/translations"
    if all(po.with_suffix(".mo").exists()
           and po.with_suffix(".mo").stat().st_mtime >= po.stat().st_mtime
           for po in translations.glob("*/LC_MESSAGES/messages.po")):
        return
    CommandLineInterface().run(["pybabel", "-q", "compile", "-d", str(translations)])


def pytest_configure(config):
    config.addinivalue_line("markers", "postgresql_only: needs PostgreSQL's concurrency")
    config.addinivalue_line("markers", "browser: drives Chromium through Playwright")
    config.addinivalue_line("markers", "fresh_app: the test gets an app of its own, not the "
                            "worker's shared one (e.g. it changes what the app reads at start)")
    config.addinivalue_line("markers", "dialect_independent: the same on every database and "
                            "cache: runs in the SQLite pass only")
    config.addinivalue_line("markers", "dialect_dependent: its outcome can depend on the "
                            "database or Redis: runs in both passes (see DIALECT_DEPENDENT)")
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller has started the servers and the catalogs
    compile_catalogs()
    # the session's folder that its workers share (the scenarios built once per session)
    _shared_dirs.append(tempfile.mkdtemp(prefix="erp-tests-", dir=memory_temp_root()))
    os.environ[SHARED_DIR] = _shared_dirs[-1]
    if os.environ.get("TEST_TMPDIR") != "":
        # every temporary file of the session (tmp_path, the apps' file caches, the
        # throwaway servers' data) in that memory folder: the workers and the servers
        # inherit TMPDIR; removed with the folder at the end
        os.environ["TMPDIR"] = _shared_dirs[-1]
        tempfile.tempdir = None  # read TMPDIR again
        os.chmod(_shared_dirs[-1], 0o711)  # the postgres user reaches its servers' folders
    if "TEST_REDIS_URL" not in os.environ:
        server = RedisServer().start()
        _servers.append(server)
        os.environ["TEST_REDIS_URL"] = server.url
    if TEST_DB == "postgresql" and "TEST_POSTGRES_URL" not in os.environ:
        server = PostgresServer().init().start()
        _servers.append(server)
        os.environ["TEST_POSTGRES_URL"] = server.url


def memory_temp_root() -> str | None:
    """A folder in memory for the session's temporary files, when the machine has one
    (`TEST_TMPDIR`, else /dev/shm): a cache entry written to the app's file cache cost
    1.3 ms on disk and 0.25 ms there, and every commit writes some (erp/cache_versions.py).
    `TEST_TMPDIR=` (empty) keeps the system's temporary folder."""
    root = os.environ.get("TEST_TMPDIR", "/dev/shm")
    if root and os.path.isdir(root) and os.access(root, os.W_OK | os.X_OK):
        return root
    return None


def pytest_unconfigure(config):
    while _servers:
        _servers.pop().destroy()
    while _shared_dirs:
        shutil.rmtree(_shared_dirs.pop(), ignore_errors=True)


# Tests whose outcome can depend on the database or Redis, by folder or module: they run in
# both passes; every other test runs in the SQLite pass only unless it is marked
# `dialect_dependent` (see the module's docstring).
DIALECT_DEPENDENT = (
    "tests/services/",              # locks, constraints, numbering, concurrency, totals upserts
    "tests/api/",                   # lists, idempotency keys, rate limits on Redis, schemathesis
    "tests/test_list_pages.py",     # one smoke per list page: its SQL once on PostgreSQL
    "tests/test_search.py",         # product search: ILIKE / pg_trgm vs FTS5
    "tests/test_turkish.py",        # collation: Turkish folding and order
    "tests/test_pagination.py",     # deep pages by ids, capped counts
    "tests/test_valuation.py",      # the day tables' locking, value sums
    "tests/test_timezone.py",       # timestamps stored in UTC, day boundaries in SQL
    "tests/test_value_limits.py",   # models' CHECKs and numeric limits
    "tests/test_migrations.py",     # the migrations on each database
    "tests/test_ops.py",            # backups, restores, SQLite -> PostgreSQL copies
    "tests/test_db_analysis.py",    # the catalog and statistics of the live database
    "tests/test_database_health.py",  # pool, server statistics, replica lag
    "tests/test_health.py",         # outages of the real database and Redis
    "tests/test_outages.py",
    "tests/test_replicas.py",
    "tests/test_hosts.py",
    "tests/test_worker_kill.py",
    "tests/test_bench_seed.py",     # bulk SQL with PostgreSQL branches
    "tests/test_cache_versions.py",  # cache versions on Redis
    "tests/test_dashboard.py",      # figures (aggregates) and their cache
    "tests/test_monitoring.py",     # figures shared over workers (Redis store)
    "tests/test_request_cost.py",   # buffered monitoring figures, session cookie (Redis)
    "tests/test_jobs.py",           # the job queue on Redis
    "tests/test_periodic_jobs.py",
    "tests/test_webhooks.py",       # deliveries through the job queue, row locks
    "tests/test_mail.py",           # jobs on Redis
    "tests/test_exports.py",        # every list's CSV read, export jobs, rate limit
    "tests/test_csv.py",            # imports in batches (SQLite pauses between them)
    "tests/test_cli.py",            # commands on the database (`check` reads REDIS_URL)
    "tests/test_overload.py",       # load shedding with the pool
)
PASS_MARKERS = ("postgresql_only", "dialect_dependent", "dialect_independent")


def pass_of(item) -> str:
    """Which pass runs `item`: 'postgresql_only', 'dialect_dependent' (both) or
    'dialect_independent' (SQLite only); the closest declaration wins."""
    for mark in item.iter_markers():  # the test's own first, then its class's and module's
        if mark.name in PASS_MARKERS:
            return mark.name
    path = item.nodeid.split("::", 1)[0]
    if any(path == entry or (entry.endswith("/") and path.startswith(entry))
           for entry in DIALECT_DEPENDENT):
        return "dialect_dependent"
    return "dialect_independent"


# The longest tests (20-60 s each on a loaded machine, mostly waiting on processes and
# threads they start), started first: with `--dist worksteal` (scripts/run-tests.sh) the
# other worker meanwhile runs the short ones and takes over the rest of this one's queue,
# instead of a pass ending on one worker running a long test alone. By node id prefix;
# `--durations=20` shows the current ones.
SLOW_FIRST = (
    "tests/test_jobs.py::test_a_worker_killed_mid_import",
    "tests/api/test_api_schema.py::test_no_operation_answers_a_server_error",
    "tests/services/test_stock.py::test_concurrent_moves",
    "tests/services/test_sales_concurrency.py",
    "tests/test_migrations.py::test_migrations_match_the_models",
    "tests/test_migrations.py::test_migrating_down_and_up",
    "tests/test_migrations.py::test_a_table_rebuilt_by_a_migration",
    "tests/test_migrations.py::test_0017_",
    "tests/test_turkish.py::test_seed_demo_makes_the_turkish_demo_company",
    "tests/test_metrics.py::test_database_queries_and_cache_hits_are_counted",
    "tests/test_metrics.py::test_multiprocess_mode_merges_the_workers",
    "tests/test_security_findings.py::test_two_workers_share_the_login_throttle",
    "tests/services/test_purchasing.py::test_the_migrated_status_check",
    "tests/test_request_cost.py::test_a_web_process_imports_no_migration_tooling",
    "tests/test_gunicorn_conf.py::test_static_files_stay_out_of_the_access_log",
)


def slow_first(items: list) -> None:
    """Move the SLOW_FIRST tests to the front, in their order, the others keeping theirs."""
    rank = {prefix: index for index, prefix in enumerate(SLOW_FIRST)}

    def key(item) -> int:
        return next((rank[prefix] for prefix in SLOW_FIRST
                     if item.nodeid.startswith(prefix)), len(SLOW_FIRST))

    items.sort(key=key)  # stable: the others stay in collection order


def pytest_collection_modifyitems(config, items):
    slow_first(items)
    if TEST_DB != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL (runs in the TEST_DB=postgresql pass)")
        for item in items:
            if pass_of(item) == "postgresql_only":
                item.add_marker(skip)
        return
    # The browser tests check pages and their JavaScript; the other tests that cannot depend
    # on the database or Redis (pass_of) give the same answer on every database and cache:
    # they run in the SQLite pass only, which keeps `make test` within its budget.
    browser = os.environ.get("TEST_BROWSER_ON_POSTGRESQL") != "1"
    everything = os.environ.get("TEST_DIALECT_INDEPENDENT_ON_POSTGRESQL") == "1"
    kept, deselected = [], []
    for item in items:
        if browser and item.nodeid.startswith("tests/browser/"):
            deselected.append(item)
        elif not everything and pass_of(item) == "dialect_independent":
            deselected.append(item)
        else:
            kept.append(item)
    if deselected:  # not skipped one by one: the pass never hands them to its workers
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def worker_index() -> int:
    match = re.search(r"(\d+)$", worker_id())
    return int(match.group(1)) + 1 if match else 0


def create_postgres_database(name: str, template: str = "template1") -> str:
    base = os.environ["TEST_POSTGRES_URL"]
    conn = psycopg2.connect(base + "/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    conn.close()
    return f"{base}/{name}"


def fresh_database_url(tmp_path, name: str) -> str:
    """An empty database of the kind under test (for migration and copy tests)."""
    if TEST_DB == "postgresql":
        return create_postgres_database(f"{name}_{worker_id()}")
    return f"sqlite:///{tmp_path / (name + '.sqlite3')}"


def migrated_database_url(tmp_path, name: str) -> str:
    """A database of the kind under test at the migrations' head, for the tests that start
    from a migrated schema (and go down and up from there): a copy of one database migrated
    once per session (SQLite: its file; PostgreSQL: CREATE DATABASE ... TEMPLATE), since
    migrating from empty costs seconds. tests/test_migrations.py still migrates from empty."""
    template = _migrated_template()
    if TEST_DB == "postgresql":
        return create_postgres_database(f"{name}_{worker_id()}", template=template)
    target = tmp_path / f"{name}.sqlite3"
    source, copy_ = sqlite3.connect(template), sqlite3.connect(target)
    source.backup(copy_)
    source.close()
    copy_.close()
    return f"sqlite:///{target}"


_migrated: dict[str, str] = {}


def _migrated_template() -> str:
    """The session's migrated database (a SQLite file, or a PostgreSQL database's name),
    built by the first worker that needs it, under a lock in the shared folder."""
    if TEST_DB in _migrated:
        return _migrated[TEST_DB]
    shared = Path(os.environ.get(SHARED_DIR) or tempfile.mkdtemp(prefix="erp-tests-"))
    with open(shared / "migrated.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / "migrated.done"
        if TEST_DB == "postgresql":
            template = "erp_migrated_" + re.sub(r"[^a-z0-9]+", "_", shared.name.lower())
            url = f"{os.environ['TEST_POSTGRES_URL']}/{template}"
        else:
            template = str(shared / "migrated.sqlite3")
            url = f"sqlite:///{template}"
        if not done.exists():
            from flask_migrate import upgrade

            if TEST_DB == "postgresql":
                create_postgres_database(template)
            redis_url = f"{os.environ['TEST_REDIS_URL']}/{worker_index()}"
            app = create_app(app_config(url, redis_url, shared / "migrated"))
            with app.app_context():
                upgrade()
                db.session.remove()
                db.engine.dispose()  # a template database must have no connections
            done.touch()
        fcntl.flock(lock, fcntl.LOCK_UN)
    _migrated[TEST_DB] = template
    return template


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
        "JOBS_DB": str(tmp_path / "jobs.sqlite3"),  # the job queue (tests/test_jobs.py)
        "MAIL_FILE_PATH": None,  # e-mail goes over SMTP (tests/test_mail.py's aiosmtpd)
        "REDIS_URL": None,
        # monitoring figures written at once: a buffered flush a second later could land
        # in the next test's store (tests/test_request_cost.py tests the buffering)
        "MONITORING_FLUSH_SECONDS": 0,
    }
    if TEST_DB == "postgresql":
        config["REDIS_URL"] = redis_url
    return config


@pytest.fixture(scope="session")
def _schema(_apps):
    """The tables, created once per worker (the migrations are tested on their own)."""


@pytest.fixture(scope="session")
def _apps(database_url, redis_url, tmp_path_factory):
    """The worker's apps, built once and reset before each test (building an app per test
    cost more than most tests): the default one, which also creates the tables, and one per
    module `config_overrides` (the last few kept)."""
    apps = SharedApps(lambda overrides: _build_app(
        {**app_config(database_url, redis_url, tmp_path_factory.mktemp("app")), **overrides}))
    with apps.default.app.app_context():
        db.drop_all()
        db.create_all()
    yield apps
    apps.close()


def _build_app(config: dict):
    app = create_app(config)
    app.test_client_class = IsolatedClient
    return app


class SharedApps:
    """Apps by their config overrides; those of settings read per request share the default."""

    KEEP = 3  # apps with overrides kept besides the default one

    def __init__(self, build) -> None:
        self.build = build
        self.default = AppReset(build({}))
        self.others: dict[str, AppReset] = {}

    def get(self, overrides: dict) -> tuple[AppReset, dict]:
        """The app for these overrides and the overrides still to set on it at each reset."""
        if overrides.keys() <= REQUEST_TIME_SETTINGS:
            return self.default, overrides
        key = repr(sorted(overrides.items()))
        shared = self.others.pop(key, None)
        if shared is None:
            shared = AppReset(self.build(overrides))
        self.others[key] = shared  # the most recently used last
        while len(self.others) > self.KEEP:
            _dispose(self.others.pop(next(iter(self.others))).app)
        return shared, {}

    def close(self) -> None:
        for shared in [self.default, *self.others.values()]:
            _dispose(shared.app)


def _dispose(app) -> None:
    with app.app_context():
        db.engine.dispose()


# Settings read on each request (never at start), so that a test module may set them on the
# shared app with `config_overrides`; any other override builds a fresh app for the test.
REQUEST_TIME_SETTINGS = frozenset({"WTF_CSRF_ENABLED", "HEALTH_TOKEN", "METRICS_TOKEN",
                                   "MONITORING_REFRESH_SECONDS"})


def _copy_setting(value):
    if isinstance(value, (dict, list, set)):
        return copy.deepcopy(value)
    return value


class AppReset:
    """Puts the shared app back as `create_app()` left it, before each test: its config
    (tests change `app.config`), its extensions (tests rebuild the login throttle), the
    global extension objects that keep the settings of the last app built (Flask-Limiter,
    Flask-Talisman...: a test that builds its own app rebinds them), the rate-limit and
    cache stores, the login throttle's and the monitoring's stores."""

    def __init__(self, app) -> None:
        self.app = app
        self.config = {key: _copy_setting(value) for key, value in app.config.items()}
        self.extensions = dict(app.extensions)
        self.globals = [(obj, dict(vars(obj))) for obj in _global_extension_objects()]
        self.throttle = app.extensions[login_throttle.EXTENSION]
        self.monitor = app.extensions["erp_monitoring"]

    def reset(self, tmp_path, overrides: dict) -> None:
        app = self.app
        app.config.clear()
        app.config.update({key: _copy_setting(value) for key, value in self.config.items()})
        app.config["IMPORT_UPLOAD_DIR"] = str(tmp_path / "imports")  # quotas count per folder
        app.config.update(overrides)
        app.extensions.clear()
        app.extensions.update(self.extensions)
        for obj, state in self.globals:
            vars(obj).clear()
            vars(obj).update(state)
        self._empty_stores()
        throttle = copy.copy(self.throttle)
        throttle.fallback, throttle._failed = login_throttle.MemoryStore(), False
        app.extensions[login_throttle.EXTENSION] = throttle
        app.extensions["erp_monitoring"] = monitoring.Monitor(app, Recorder(
            self.monitor.recorder.store, flush_seconds=app.config["MONITORING_FLUSH_SECONDS"]))

    def _empty_stores(self) -> None:
        config = self.app.config
        if config.get("REDIS_URL"):  # the cache, rate limits, login throttle and monitoring
            redis_lib.Redis.from_url(config["REDIS_URL"]).flushdb()
        else:
            with self.app.app_context():
                cache.clear()
            limiter.storage.reset()
            for store in (self.throttle.store, self.monitor.recorder.store):
                empty_sqlite_store(store)


def _global_extension_objects() -> list:
    """The extension objects every app shares, which keep settings of the last app built."""
    return [limiter, limiter.limit_manager, talisman, login_manager, csrf, cache, migrate]


def empty_sqlite_store(store) -> None:
    """Delete every row of one of the app's own SQLite files (monitoring, login throttle)."""
    conn = store._conn()
    tables = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    for table in tables:
        conn.execute(f'DELETE FROM "{table}"')
    if conn.in_transaction:
        conn.commit()


def clean_database() -> None:
    """Empty the tables that have rows, fast, so each test starts from nothing: a DELETE
    of the few tables a test wrote (TRUNCATE of every table took 20 times longer on
    PostgreSQL), and on PostgreSQL the sequences used start again at 1."""
    tables = reversed(db.metadata.sorted_tables)
    with db.engine.begin() as conn:
        probe = " UNION ALL ".join(
            f"SELECT '{table.name}' WHERE EXISTS (SELECT 1 FROM {table.name})"
            for table in db.metadata.sorted_tables)
        filled = {row[0] for row in conn.execute(text(probe))}
        postgresql = conn.dialect.name == "postgresql"
        sequences = []
        if postgresql:
            sequences = list(conn.scalars(text(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) "
                "FROM pg_sequences WHERE last_value IS NOT NULL")))
        for table in tables:
            if table.name not in filled:
                continue
            for fk in table.foreign_keys:  # self-references: unlink nested rows first
                if fk.column.table is table and fk.parent.nullable:
                    conn.execute(text(f"UPDATE {table.name} SET {fk.parent.name} = NULL "
                                      f"WHERE {fk.parent.name} IS NOT NULL"))
            conn.execute(text(f"DELETE FROM {table.name}"))
        for sequence in sequences:
            conn.execute(text("SELECT setval(:name, 1, false)"), {"name": sequence})


class Scenarios:
    """Data sets built once per session and put back, row for row, in later tests.

    The first worker that needs a data set builds it and leaves its rows in the session's
    shared folder (`shared`, one pickle per data set, under a file lock); the other
    workers put those rows back instead of building it again (seed-demo alone costs
    seconds). A data set whose value cannot be pickled is built once per worker."""

    def __init__(self, shared: Path | None = None) -> None:
        self.built: dict[str, tuple[object, dict, list]] = {}
        self.shared = shared

    def get(self, name: str, build: Callable[[], object]):
        if name not in self.built:
            with self._shared_lock(name) as path:
                if path is not None and path.exists():
                    self.built[name] = pickle.loads(path.read_bytes())
                else:
                    value = build()
                    db.session.commit()
                    self.built[name] = (value, *capture_rows())
                    self._share(path, self.built[name])
                    return copy.deepcopy(value)
        value, rows, sequences = self.built[name]
        restore_rows(rows, sequences)
        return copy.deepcopy(value)

    @contextmanager
    def _shared_lock(self, name: str) -> Iterator[Path | None]:
        """The data set's file in the shared folder, held under an exclusive lock (the
        other workers wait for its builder); None without a shared folder."""
        if self.shared is None:
            yield None
            return
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
        with open(self.shared / f"{stem}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self.shared / f"{stem}.pickle"
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @staticmethod
    def _share(path: Path | None, built: tuple) -> None:
        if path is None:
            return
        try:
            data = pickle.dumps(built)
        except (pickle.PicklingError, TypeError, AttributeError):
            return  # e.g. a value holding ORM objects: each worker builds its own
        partial = path.with_suffix(".partial")
        partial.write_bytes(data)
        partial.rename(path)


def capture_rows() -> tuple[dict, list]:
    """Every row of every table (and on PostgreSQL the sequences' positions)."""
    db.session.remove()
    rows, sequences = {}, []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            found = [dict(row._mapping) for row in
                     conn.execute(table.select().order_by(*table.primary_key.columns))]
            if found:
                rows[table.name] = found
        if conn.dialect.name == "postgresql":
            sequences = conn.execute(text(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), "
                "last_value FROM pg_sequences WHERE last_value IS NOT NULL")).all()
    return rows, sequences


def restore_rows(rows: dict, sequences: list) -> None:
    """Put captured rows back into the empty tables, parents first."""
    db.session.remove()
    with db.engine.begin() as conn:
        for table in db.metadata.sorted_tables:
            if table.name in rows:
                conn.execute(table.insert(), rows[table.name])
        for name, value in sequences:
            conn.execute(text("SELECT setval(:name, :value, true)"),
                         {"name": name, "value": value})


@pytest.fixture(scope="session")
def _scenarios() -> Scenarios:
    shared = os.environ.get(SHARED_DIR)
    return Scenarios(Path(shared) if shared else None)


@pytest.fixture
def scenario(app, _scenarios) -> Callable:
    """`scenario(name, build)`: the database as `build()` leaves it (from an empty one) and
    what it returned (plain data: ids, names; a copy per test). Built once per session, put
    back by INSERTs of the captured rows in later tests: for a data set many tests start
    from. `build` makes its own companies and users (not the `company` fixture's)."""
    return _scenarios.get


@pytest.fixture
def seeded_demo(scenario, runner) -> SimpleNamespace:
    """The database as `flask seed-demo` leaves an empty one, and what the command answered
    (`exit_code`, `output`): the demo data set, built once per session."""

    def build():
        result = runner.invoke(args=["seed-demo"])
        return SimpleNamespace(exit_code=result.exit_code, output=result.output)

    return scenario("seed-demo", build)


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
def app(request, database_url, redis_url, _schema, tmp_path, config_overrides):
    """The app, from nothing: an empty database and stores, the default config plus the
    module's `config_overrides`. One of the worker's shared apps, reset; a test marked
    `fresh_app` gets an app of its own."""
    if request.node.get_closest_marker("fresh_app") is None:
        shared, overrides = request.getfixturevalue("_apps").get(config_overrides)
        shared.reset(tmp_path, overrides)
        with shared.app.app_context():
            clean_database()
            yield shared.app
            db.session.remove()
        return
    config = app_config(database_url, redis_url, tmp_path)
    config.update(config_overrides)
    if config.get("REDIS_URL"):
        redis_lib.Redis.from_url(config["REDIS_URL"]).flushdb()
    app = _build_app(config)
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
    """Log in through the login form, as a person does (for the tests of logging in)."""
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 303, f"login failed for {email}: {response.status_code}"
    return client


def sign_in(client, email: str):
    """Give `client` the session cookie the login view makes for `email` (the session
    started, the user's id and session version), without the login form: for the tests that
    are not about logging in (a login POST cost 50 ms; tests/blueprints/test_auth.py tests
    the real one). Unlike `login`, nothing is recorded: no audit entry, no throttle count."""
    app = client.application
    db.session.commit()  # the user is visible to the request's session, as for a request
    with app.app_context(), app.test_request_context("/login", environ_base=client.environ_base):
        user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
        assert user is not None and user.active, f"no active user {email}"
        auth.start_session(user)
        login_user(user)
        cookie = app.session_interface.get_signing_serializer(app).dumps(dict(session))
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
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
        return sign_in(app.test_client(), user.email)

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
