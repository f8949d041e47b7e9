"""Per-request timing: X-Response-Time and Server-Timing headers, slow-request log,
Prometheus observations and the shared per-minute figures.

Database time and statement count come from SQLAlchemy cursor events on the app's
engine; cache time from the observers of `erp.cache`. Both add to the current request's
`RequestStats`, found through a context variable (set first thing in the request).
"""
from __future__ import annotations

import contextvars
import logging
import time
from dataclasses import dataclass

from flask import Flask, current_app, request
from sqlalchemy import event

from erp import cache as safe_cache
from erp.extensions import db
from erp.monitoring import metrics
from erp.monitoring.recorder import Sample
from erp.monitoring.thresholds import SLOW_QUERY_MS

log = logging.getLogger("erp.monitoring")

# Requests of these endpoints are timed and counted in Prometheus but are not part of the
# monitoring page's figures (static files, probes, scrapes and the page's own polling).
UNRECORDED = {"static", "health.liveness", "health.readiness", "metrics.metrics"}
UNRECORDED_PREFIXES = ("monitoring.",)
# Endpoints whose POST responses carry no timing headers: a login's query count and
# database time told which e-mails have an account (issue #24). They are still measured.
NO_TIMING_HEADERS = {"auth.login"}
# Endpoints whose POST hashes a password on purpose (scrypt, about 0.1 to 1 s): measured
# against their own threshold, SLOW_LOGIN_MS, so the slow-request log is not mostly logins.
PASSWORD_HASHING = {"auth.login", "account.password_change"}
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")


@dataclass
class RequestStats:
    started: float
    db_ms: float = 0.0
    db_count: int = 0
    cache_ms: float = 0.0
    cache_hits: int = 0
    cache_misses: int = 0
    cache_calls: int = 0
    db_slow: int = 0  # statements slower than SLOW_QUERY_MS
    checkouts: int = 0  # pooled connections checked out (erp.monitoring.database)
    pool_waits: int = 0  # ... of which found the pool exhausted and waited


_current: contextvars.ContextVar[RequestStats | None] = contextvars.ContextVar(
    "erp_request_stats", default=None)
_paused = contextvars.ContextVar("erp_monitoring_paused", default=False)


def current_stats() -> RequestStats | None:
    return _current.get()


class paused:
    """`with paused():` requests are not recorded in the shared figures (perf-test)."""

    def __enter__(self):
        self._token = _paused.set(True)

    def __exit__(self, *exc):
        _paused.reset(self._token)


def _before_cursor(conn, cursor, statement, parameters, context, executemany):
    if _current.get() is not None:
        conn.info.setdefault("erp_query_started", []).append(time.perf_counter())


def _after_cursor(conn, cursor, statement, parameters, context, executemany):
    stats = _current.get()
    started = conn.info.get("erp_query_started")
    if stats is None or not started:
        return
    seconds = time.perf_counter() - started.pop()
    stats.db_ms += seconds * 1000
    if not statement.lstrip()[:16].upper().startswith(TRANSACTION_CONTROL):
        stats.db_count += 1
        slow = seconds * 1000 > SLOW_QUERY_MS
        stats.db_slow += slow
        metrics.observe_query(seconds, slow=slow)


def _error_cursor(context):
    started = context.connection.info.get("erp_query_started") if context.connection else None
    if started:
        started.pop()


def _cache_observer(operation: str, seconds: float, outcome: str, count: int = 1) -> None:
    metrics.observe_cache(seconds, outcome, count)
    stats = _current.get()
    if stats is None:
        return
    stats.cache_ms += seconds * 1000
    stats.cache_calls += count
    if outcome == "hit":
        stats.cache_hits += count
    elif outcome == "miss":
        stats.cache_misses += count


def instrument_engine(engine) -> None:
    if not event.contains(engine, "before_cursor_execute", _before_cursor):
        event.listen(engine, "before_cursor_execute", _before_cursor)
        event.listen(engine, "after_cursor_execute", _after_cursor)
        event.listen(engine, "handle_error", _error_cursor)


def _start() -> None:
    _current.set(RequestStats(started=time.perf_counter()))


def _finish(response):
    stats = _current.get()
    if stats is None:
        return response
    duration_ms = (time.perf_counter() - stats.started) * 1000
    endpoint = request.url_rule.endpoint if request.url_rule is not None else "unmatched"
    if endpoint not in NO_TIMING_HEADERS or request.method == "GET":
        response.headers["X-Response-Time"] = f"{duration_ms:.1f}ms"
        parts = [f'app;dur={duration_ms:.1f};desc="total"',
                 f'db;dur={stats.db_ms:.1f};desc="{stats.db_count} queries"']
        if stats.cache_calls:
            parts.append(f'cache;dur={stats.cache_ms:.1f};desc="{stats.cache_hits} hits '
                         f'{stats.cache_misses} misses"')
        else:
            parts.append('cache;dur=0.0;desc="0 calls"')
        response.headers["Server-Timing"] = ", ".join(parts)

    status = response.status_code
    metrics.observe_request(endpoint, request.method, status, duration_ms / 1000,
                            db_count=stats.db_count, db_seconds=stats.db_ms / 1000)
    config = current_app.config
    hashing = request.method == "POST" and endpoint in PASSWORD_HASHING
    if duration_ms > config["SLOW_LOGIN_MS" if hashing else "SLOW_REQUEST_MS"]:
        metrics.SLOW_REQUESTS.inc()
        log.warning("slow request: %s %s took %.0f ms with %d queries (%.0f ms in the "
                    "database), status %s", request.method, request.path, duration_ms,
                    stats.db_count, stats.db_ms, status)
    if _paused.get() or endpoint in UNRECORDED or endpoint.startswith(UNRECORDED_PREFIXES):
        return response
    monitor = current_app.extensions.get("erp_monitoring")
    if monitor is not None:
        monitor.recorder.record(Sample(
            endpoint=endpoint, status=status, duration_ms=duration_ms, db_ms=stats.db_ms,
            db_count=stats.db_count, cache_hits=stats.cache_hits,
            cache_misses=stats.cache_misses, db_slow=stats.db_slow, checkouts=stats.checkouts,
            pool_waits=stats.pool_waits))
        monitor.maybe_check_alerts()
    return response


def _teardown(_exc) -> None:
    _current.set(None)


def init_app(app: Flask) -> None:
    with app.app_context():
        instrument_engine(db.engine)
    safe_cache.add_observer(_cache_observer)
    # First before every other hook (the login loads the user in a before_request hook),
    # and after_request hooks run in reverse order: registered first, ours runs last.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request_funcs.setdefault(None, []).insert(0, _finish)
    app.teardown_request(_teardown)
