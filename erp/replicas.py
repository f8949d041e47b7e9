"""Read replicas: list pages and their CSV exports read from a PostgreSQL streaming replica.

`DATABASE_REPLICA_URLS` (comma-separated SQLAlchemy URLs) turns it on. The routing is
SQLAlchemy's documented "custom vertical partitioning": the session's `get_bind` chooses
the engine per statement (`RoutingSession`, the session class of `db`). A statement goes
to a replica only when all of these hold:

- the code asked for it: a view wrapped in `replica_reads` (every `ListSpec` page and its
  CSV; a view may add the decorator), on a GET or HEAD;
- the session has not written in this request (a flush, an INSERT/UPDATE/DELETE) and is
  not inside a use case's transaction (`services.atomic()`): every write and every read
  of a write transaction goes to the primary;
- the user has not written for `READ_YOUR_WRITES_SECONDS` (the time of their last
  commit travels in their session cookie, so it holds on every app host);
- a replica is usable: it answers and its replay lag is at most `REPLICA_MAX_LAG_SECONDS`
  (checked at most every `REPLICA_CHECK_SECONDS` per process). Otherwise the primary.

A replica that fails in the middle of a read is marked down and the view is run again on
the primary, so a replica going away costs a retry, never an error. `/health/ready` and
`/admin/monitoring` show each replica's state and lag.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import logging
import os
import threading
import time
from dataclasses import dataclass, field

from flask import Flask, current_app, has_request_context, request, session
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import UpdateBase

from erp.config import ConfigError
from erp.i18n import _

log = logging.getLogger(__name__)

SETTINGS = {"DATABASE_REPLICA_URLS": "", "REPLICA_MAX_LAG_SECONDS": "5",
            "READ_YOUR_WRITES_SECONDS": "5", "REPLICA_CHECK_SECONDS": "2"}
WROTE_AT = "_wrote_at"  # the session cookie's key: the user's last commit (epoch seconds)
CHECK_TIMEOUT_MS = 1000
# The replica's delay: 0 when it has replayed all it received, else the age of the last
# transaction it replayed (so an idle, caught-up replica is not "behind").
LAG_SQL = text("""
    SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0
                WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()),
                              'Infinity') END""")

_reading: contextvars.ContextVar[bool] = contextvars.ContextVar("erp_replica_reads",
                                                                default=False)
_checking: contextvars.ContextVar[bool] = contextvars.ContextVar("erp_replica_check",
                                                                 default=False)


@dataclass
class Replica:
    name: str  # the URL without its password
    engine: object
    lag_seconds: float | None = None
    error: str | None = None
    usable: bool = True
    checked_at: float = 0.0
    statements: int = 0  # the app's statements run on it by this process (not the checks)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def status(self, max_lag: float) -> dict:
        if self.error:
            state = "down"
        elif self.lag_seconds is not None and self.lag_seconds > max_lag:
            state = "lagging"
        else:
            state = "streaming"
        return {"name": self.name, "state": state, "usable": self.usable,
                "lag_seconds": None if self.lag_seconds is None else round(self.lag_seconds, 3),
                "error": self.error}


class Replicas:
    """The app's replicas (app.extensions["erp_replicas"]) and their health."""

    def __init__(self, urls: list[str], *, max_lag: float, check_seconds: float,
                 engine_options: dict) -> None:
        self.max_lag = max_lag
        self.check_seconds = check_seconds
        self.replicas = []
        for url in urls:
            engine = create_engine(url, **engine_options)
            replica = Replica(engine.url.render_as_string(hide_password=True), engine)
            event.listen(engine, "before_cursor_execute", functools.partial(_count, replica))
            self.replicas.append(replica)
        self._turn = itertools.count()

    def choose(self) -> Replica | None:
        """A usable replica (in turn), checking those whose check is due; None: primary."""
        candidates = []
        for replica in self.replicas:
            if time.monotonic() - replica.checked_at >= self.check_seconds:
                self.check(replica)
            if replica.usable:
                candidates.append(replica)
        if not candidates:
            return None
        return candidates[next(self._turn) % len(candidates)]

    def check(self, replica: Replica) -> None:
        with replica.lock:
            if time.monotonic() - replica.checked_at < self.check_seconds:
                return  # another thread just did
            token = _checking.set(True)
            try:
                with replica.engine.connect() as conn:
                    conn.exec_driver_sql(f"SET LOCAL statement_timeout = {CHECK_TIMEOUT_MS}")
                    replica.lag_seconds = float(conn.execute(LAG_SQL).scalar())
                    conn.rollback()
                replica.error = None
            except Exception as exc:  # down or unreachable: skipped until the next check
                self.mark_down(replica, exc)
                return
            finally:
                replica.checked_at = time.monotonic()
                _checking.reset(token)
            usable = replica.lag_seconds <= self.max_lag
            if usable != replica.usable:
                log.warning("replica %s %s (lag %.1f s, limit %g s)", replica.name,
                            "usable again" if usable else "skipped: lagging",
                            replica.lag_seconds, self.max_lag)
            replica.usable = usable

    def mark_down(self, replica: Replica, exc: Exception) -> None:
        if replica.usable or replica.error is None:
            log.warning("replica %s skipped: %s", replica.name, exc)
        message = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        replica.error = f"{exc.__class__.__name__}: {message[0][:200] if message else ''}"
        replica.usable = False
        replica.checked_at = time.monotonic()

    def status(self) -> list[dict]:
        return [replica.status(self.max_lag) for replica in self.replicas]

    def dispose(self) -> None:
        for replica in self.replicas:
            replica.engine.dispose()


def _count(replica: Replica, conn, cursor, statement, parameters, context, executemany):
    if not _checking.get():
        replica.statements += 1


def get_replicas(app: Flask | None = None) -> Replicas | None:
    return (app or current_app).extensions.get("erp_replicas")


class RoutingSession(FlaskSession):
    """`db.session`'s class: reads inside `replica_reads` go to a replica (see the module)."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if self._flushing or isinstance(clause, UpdateBase):
            self.info["wrote"] = True
        elif (bind is None and _reading.get() and not self.info.get("wrote")
              and not self.info.get("atomic_depth")):
            replica = self.info.get("replica")
            if replica is None:
                replicas = get_replicas()
                replica = replicas.choose() if replicas is not None else None
                self.info["replica"] = replica or False
            if replica:
                return replica.engine
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


@event.listens_for(RoutingSession, "after_commit")
def _remember_the_write(db_session) -> None:
    """A user's commit that wrote: their next requests read from the primary for a while."""
    if db_session.info.pop("wrote", False) and has_request_context() \
            and current_app.extensions.get("erp_replicas") is not None:
        session[WROTE_AT] = round(time.time(), 3)


def _wrote_recently() -> bool:
    try:
        wrote_at = float(session.get(WROTE_AT, 0))
    except (TypeError, ValueError):
        return False
    return time.time() - wrote_at < current_app.config["READ_YOUR_WRITES_SECONDS"]


@contextlib.contextmanager
def primary_reads():
    """The block's reads go to the primary, even inside `replica_reads`: a figure kept in the
    cache under the cache versions of now (erp.cache_versions) must not be computed from a
    replica that has not replayed the write that made those versions."""
    token = _reading.set(False)
    try:
        yield
    finally:
        _reading.reset(token)


def replica_reads(view):
    """Let the reads of `view` (a GET that writes nothing) go to a replica; if the replica
    fails meanwhile, it is marked down and the view runs again on the primary."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        replicas = current_app.extensions.get("erp_replicas")
        if (replicas is None or _reading.get() or request.method not in {"GET", "HEAD"}
                or _wrote_recently()):
            return view(*args, **kwargs)
        from erp.extensions import db

        token = _reading.set(True)
        try:
            return view(*args, **kwargs)
        except DBAPIError as exc:
            replica = db.session.info.get("replica")
            if not replica:
                raise
            replicas.mark_down(replica, exc)
            db.session.rollback()
            db.session.info["replica"] = False
            return view(*args, **kwargs)
        finally:
            _reading.reset(token)

    return wrapper


def _settings(app: Flask) -> list[str]:
    config = app.config
    for name, default in SETTINGS.items():
        if config.get(name) is None:
            value = os.environ.get(name)
            config[name] = value if value not in (None, "") else default
    for name in ("REPLICA_MAX_LAG_SECONDS", "READ_YOUR_WRITES_SECONDS", "REPLICA_CHECK_SECONDS"):
        try:
            config[name] = float(config[name])
        except (TypeError, ValueError) as exc:
            raise ConfigError(_('%(name)s must be a number, not %(value)s', name=name, value=repr(config[name]))) from exc
    urls = config["DATABASE_REPLICA_URLS"]
    if isinstance(urls, str):
        urls = [url.strip() for url in urls.split(",") if url.strip()]
    for url in urls:
        if not url.startswith("postgresql"):
            raise ConfigError(_('DATABASE_REPLICA_URLS: %(value)s is not a PostgreSQL URL (replicas are PostgreSQL streaming standbys)', value=repr(url.split('@')[-1])))
    if urls and not config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        raise ConfigError(_("DATABASE_REPLICA_URLS needs a PostgreSQL DATABASE_URL"))
    return urls


def init_app(app: Flask) -> Replicas | None:
    """Create the replicas' engines (same pool options as the primary's, a short connect
    timeout) when DATABASE_REPLICA_URLS is set."""
    urls = _settings(app)
    if not urls:
        return None
    from erp.monitoring import database, timing

    options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    options["connect_args"] = dict(options.get("connect_args") or {}, connect_timeout=2)
    replicas = Replicas(urls, max_lag=app.config["REPLICA_MAX_LAG_SECONDS"],
                        check_seconds=app.config["REPLICA_CHECK_SECONDS"],
                        engine_options=options)
    for replica in replicas.replicas:
        timing.instrument_engine(replica.engine)
        database.instrument_pool(replica.engine)
    app.extensions["erp_replicas"] = replicas
    app.teardown_appcontext(_close_after_a_lost_replica)  # runs before Flask-SQLAlchemy's
    return replicas


def _close_after_a_lost_replica(exc) -> None:
    """Close the session of a request that read from a replica. A replica that went away
    after the view read from it fails the closing rollback: the page is made, so the
    replica is marked down and the session dropped instead of turning the page into a 500."""
    from erp.extensions import db

    if not db.session.registry.has():
        return
    replica = db.session.info.get("replica")
    if not replica:
        return
    try:
        db.session.remove()
    except DBAPIError as error:
        current_app.extensions["erp_replicas"].mark_down(replica, error)
        db.session.registry.clear()
