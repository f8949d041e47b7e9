"""Prometheus metrics and the `/metrics` endpoint.

Under gunicorn set `PROMETHEUS_MULTIPROC_DIR` (an empty directory, before the app
starts): every worker writes its figures there and a scrape merges them. Without it,
figures are this process's own. `/metrics` answers only a `METRICS_TOKEN` bearer token
or a client in `METRICS_ALLOW` (CIDR list, default 127.0.0.1/32); others get 404 (403
for a wrong token).
"""
from __future__ import annotations

import hmac
import ipaddress
import os

import psutil
from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge,
                               Histogram, generate_latest, multiprocess)

from erp.auth import public
from erp.extensions import limiter

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

REQUEST_LATENCY = Histogram("erp_http_request_duration_seconds",
                            "Time to answer a request", ["endpoint", "method", "status"],
                            buckets=LATENCY_BUCKETS)
REQUESTS = Counter("erp_http_requests", "Requests answered", ["endpoint", "method", "status"])
DB_QUERIES = Counter("erp_db_queries", "SQL statements sent to the database")
DB_SECONDS = Counter("erp_db_query_seconds", "Time spent in SQL statements")
DB_QUERIES_PER_REQUEST = Histogram("erp_db_queries_per_request", "SQL statements per request",
                                   buckets=(0, 1, 2, 5, 10, 20, 50, 100))
DB_SLOW_QUERIES = Counter("erp_db_slow_queries", "SQL statements slower than 100 ms")
DB_SECONDS_PER_REQUEST = Histogram("erp_db_seconds_per_request", "Database time per request",
                                   buckets=LATENCY_BUCKETS)
DB_POOL_WAITS = Counter("erp_db_pool_waits", "Checkouts that found the pool exhausted and "
                        "waited for a connection")
DB_POOL_WAIT_SECONDS = Counter("erp_db_pool_wait_seconds", "Time spent waiting for a pooled "
                               "connection")
# Read from the database and this process's pool at each scrape (erp.monitoring.database).
DB_POOL_CHECKED_OUT = Gauge("erp_db_pool_checked_out", "Pooled connections in use",
                            multiprocess_mode="livesum")
DB_POOL_CAPACITY = Gauge("erp_db_pool_capacity", "Pool size plus overflow",
                         multiprocess_mode="livesum")
DB_CONNECTIONS = Gauge("erp_db_connections", "Client connections to this database",
                       multiprocess_mode="max")
DB_MAX_CONNECTIONS = Gauge("erp_db_max_connections", "The server's max_connections",
                           multiprocess_mode="max")
DB_BUFFER_HIT_RATIO = Gauge("erp_db_buffer_hit_ratio_percent", "Blocks found in the buffer "
                            "cache (PostgreSQL)", multiprocess_mode="max")
DB_INDEX_HIT_RATIO = Gauge("erp_db_index_hit_ratio_percent", "Index blocks found in the buffer "
                           "cache (PostgreSQL)", multiprocess_mode="max")
DB_REPLICA_LAG = Gauge("erp_db_replica_lag_seconds", "Replay lag of the most behind replica",
                       multiprocess_mode="max")
CACHE_HITS = Counter("erp_cache_hits", "Cache reads that found a value")
CACHE_MISSES = Counter("erp_cache_misses", "Cache reads that found nothing")
CACHE_ERRORS = Counter("erp_cache_errors", "Cache calls that failed (cache down)")
CACHE_SECONDS = Counter("erp_cache_seconds", "Time spent in cache calls")
SLOW_REQUESTS = Counter("erp_slow_requests", "Requests slower than SLOW_REQUEST_MS")
PROCESS_RSS = Gauge("erp_process_resident_memory_bytes", "Resident memory of a worker",
                    multiprocess_mode="liveall")
SYSTEM_MEMORY = Gauge("erp_system_memory_percent", "Memory in use on the machine",
                      multiprocess_mode="max")


def observe_request(endpoint: str, method: str, status: int, seconds: float, *,
                    db_count: int, db_seconds: float) -> None:
    method = method if method in METHODS else "OTHER"
    labels = (endpoint, method, str(status))
    REQUEST_LATENCY.labels(*labels).observe(seconds)
    REQUESTS.labels(*labels).inc()
    DB_QUERIES_PER_REQUEST.observe(db_count)
    DB_SECONDS_PER_REQUEST.observe(db_seconds)


def observe_query(seconds: float, *, slow: bool = False) -> None:
    DB_QUERIES.inc()
    DB_SECONDS.inc(seconds)
    if slow:
        DB_SLOW_QUERIES.inc()


def observe_pool_wait(seconds: float) -> None:
    DB_POOL_WAITS.inc()
    DB_POOL_WAIT_SECONDS.inc(seconds)


def set_database_gauges(health: dict) -> None:
    """The database's figures (erp.monitoring.database.server_health) into the gauges; a
    figure the database does not give (SQLite, no replica) is not set."""
    gauges = {"pool_checked_out": DB_POOL_CHECKED_OUT, "pool_capacity": DB_POOL_CAPACITY,
              "connections": DB_CONNECTIONS, "max_connections": DB_MAX_CONNECTIONS,
              "buffer_hit_ratio": DB_BUFFER_HIT_RATIO, "index_hit_ratio": DB_INDEX_HIT_RATIO,
              "replica_lag_seconds": DB_REPLICA_LAG}
    for key, gauge in gauges.items():
        if health.get(key) is not None:
            gauge.set(float(health[key]))


def observe_cache(seconds: float, outcome: str, count: int = 1) -> None:
    CACHE_SECONDS.inc(seconds)
    if outcome == "hit":
        CACHE_HITS.inc(count)
    elif outcome == "miss":
        CACHE_MISSES.inc(count)
    elif outcome == "error":
        CACHE_ERRORS.inc()


def refresh_memory() -> tuple[float, float]:
    """Read this process's RSS and the machine's memory use (percent) into the gauges;
    return them."""
    rss = float(psutil.Process().memory_info().rss)
    percent = float(psutil.virtual_memory().percent)
    PROCESS_RSS.set(rss)
    SYSTEM_MEMORY.set(percent)
    return rss, percent


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition() -> bytes:
    """The metrics text: merged over the workers in multiprocess mode."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def parse_networks(value: str) -> list:
    """`METRICS_ALLOW`: comma-separated CIDRs (or addresses); ValueError names a bad one."""
    networks = []
    for part in (value or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise ValueError(f"METRICS_ALLOW: {part!r} is not a network (like 10.0.0.0/8)") from exc
    return networks


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_matches(given: str | None, expected: str | None) -> bool:
    return bool(given and expected and hmac.compare_digest(given.encode(), expected.encode()))


def client_allowed(networks: list) -> bool:
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


bp = Blueprint("metrics", __name__)


@bp.route("/metrics")
@public
@limiter.exempt
def metrics():
    """Prometheus scrape: a METRICS_TOKEN bearer token or a client from METRICS_ALLOW."""
    config = current_app.config
    token = bearer_token()
    if token is not None:
        if not token_matches(token, config.get("METRICS_TOKEN")):
            abort(403)
    elif not client_allowed(config["METRICS_ALLOW_NETWORKS"]):
        abort(404)
    refresh_memory()
    from erp.extensions import db
    from erp.monitoring.database import server_health

    set_database_gauges(server_health(db.engine))
    response = Response(exposition(), mimetype=None)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.headers["Cache-Control"] = "no-store"
    return response
