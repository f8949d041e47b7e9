"""Readiness checks: database, cache, migrations, disk, memory.

Each check returns `{"status": healthy|warning|degraded|unhealthy, "latency_ms": ...}`
plus its figures. The overall status is `unhealthy` when a check is (the database is
down, the schema is not the code's, disk or memory over 90%), `degraded` when a check
warns or is degraded (cache down, disk or memory from 85%, schema not managed by
Alembic), else `healthy`.
"""
from __future__ import annotations

import os
import platform
import re
import time
from datetime import datetime, timezone
from pathlib import Path

import psutil
from flask import current_app
from sqlalchemy import inspect, text

from erp.cache import cache_roundtrip
from erp.extensions import db

WARNING_PERCENT = 85.0
UNHEALTHY_PERCENT = 90.0
DB_STATEMENT_TIMEOUT_MS = 2000
_STARTED = time.time()
_heads: dict[str, tuple[str, ...]] = {}


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:  # a check that breaks is an unhealthy check, never a 500
        result = {"status": "unhealthy", "error": _describe(exc)}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def _describe(exc: Exception) -> str:
    message = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{exc.__class__.__name__}: {message[0][:200]}" if message else exc.__class__.__name__


def check_database() -> dict:
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {DB_STATEMENT_TIMEOUT_MS}")
        conn.execute(text("SELECT 1")).scalar_one()
        conn.rollback()
    return {"status": "healthy"}


def check_cache() -> dict:
    if cache_roundtrip():
        return {"status": "healthy", "backend": current_app.config.get("CACHE_TYPE")}
    return {"status": "degraded", "backend": current_app.config.get("CACHE_TYPE"),
            "error": "the cache did not store and return a value; pages fall back to the database"}


def migrations_directory() -> str:
    migrate = current_app.extensions.get("migrate")
    directory = getattr(migrate, "directory", None)
    return str(directory or Path(current_app.root_path).parent / "migrations")


# a migration script's `revision = "..."` and `down_revision = None | "..." | ("...", ...)`
REVISION = re.compile(r"""^revision\s*(?::[^=]*)?=\s*['"]([^'"]+)['"]""", re.M)
DOWN_REVISION = re.compile(r"""^down_revision\s*(?::[^=]*)?=\s*(None|['"][^'"]*['"]|\([^)]*\))""",
                           re.M)
QUOTED = re.compile(r"""['"]([^'"]+)['"]""")


def script_heads(directory: str) -> tuple[str, ...]:
    """The head revisions of the migration scripts (read once per process): the revisions
    no other script names as its down revision. Read from the scripts' text, as Alembic
    declares them, without importing Alembic (with Mako and Pygments, 8.8 MB per worker
    that answers a readiness check, #17)."""
    if directory not in _heads:
        revisions, parents = set(), set()
        for path in Path(directory, "versions").glob("*.py"):
            source = path.read_text(encoding="utf-8")
            revision = REVISION.search(source)
            if revision is None:
                continue
            revisions.add(revision.group(1))
            down = DOWN_REVISION.search(source)
            if down is not None:
                parents.update(QUOTED.findall(down.group(1)))
        _heads[directory] = tuple(sorted(revisions - parents))
    return _heads[directory]


def check_migrations() -> dict:
    heads = script_heads(migrations_directory())
    with db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return {"status": "warning", "head": list(heads), "current": None,
                    "message": "no alembic_version table: the schema is not managed by the "
                               "migrations (built with create_all?); run "
                               "'flask --app wsgi db stamp head' if it matches the code"}
        current = tuple(sorted(conn.execute(text("SELECT version_num FROM alembic_version"))
                               .scalars()))
        conn.rollback()
    if current == heads:
        return {"status": "healthy", "head": list(heads), "current": list(current)}
    return {"status": "unhealthy", "head": list(heads), "current": list(current),
            "message": "the database is not at the migrations' head: run "
                       "'flask --app wsgi db upgrade'"}


def _percent_status(percent: float) -> str:
    if percent >= UNHEALTHY_PERCENT:
        return "unhealthy"
    if percent >= WARNING_PERCENT:
        return "warning"
    return "healthy"


def check_disk() -> dict:
    usage = psutil.disk_usage(current_app.instance_path)
    return {"status": _percent_status(usage.percent), "percent": usage.percent,
            "free_bytes": usage.free}


def check_memory() -> dict:
    memory = psutil.virtual_memory()
    return {"status": _percent_status(memory.percent), "percent": memory.percent,
            "available_bytes": memory.available}


CHECKS = {"database": check_database, "cache": check_cache, "migrations": check_migrations,
          "disk": check_disk, "memory": check_memory}


def check_replicas() -> dict:
    """Only with DATABASE_REPLICA_URLS: a replica down or lagging is skipped (its reads go
    to the primary), so the app is degraded, not unhealthy."""
    from erp.replicas import get_replicas

    replicas = get_replicas()
    for replica in replicas.replicas:
        replicas.check(replica)
    status = replicas.status()
    skipped = [r["name"] for r in status if not r["usable"]]
    return {"status": "degraded" if skipped else "healthy", "replicas": status,
            **({"message": f"skipped, reads go to the primary: {', '.join(skipped)}"}
               if skipped else {})}


def overall(checks: dict) -> str:
    statuses = {check["status"] for check in checks.values()}
    if "unhealthy" in statuses:
        return "unhealthy"
    if statuses & {"warning", "degraded"}:
        return "degraded"
    return "healthy"


def readiness(*, detailed: bool = False) -> tuple[dict, int]:
    """The readiness report and its HTTP status (503 when unhealthy)."""
    checks = {}
    for name, check in CHECKS.items():
        if name == "migrations" and checks.get("database", {}).get("status") == "unhealthy":
            checks[name] = {"status": "unhealthy", "latency_ms": 0.0,
                            "error": "skipped: the database is down"}
            continue
        checks[name] = _timed(check)
    if current_app.extensions.get("erp_replicas") is not None:
        checks["replicas"] = _timed(check_replicas)
    status = overall(checks)
    body = {"status": status, "timestamp": datetime.now(timezone.utc).isoformat(),
            "checks": checks}
    if detailed:
        body["details"] = details()
    return body, 503 if status == "unhealthy" else 200


def details() -> dict:
    """Versions, pool figures and this process: only for a HEALTH_TOKEN or an admin."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for package in ("flask", "sqlalchemy", "alembic", "flask-caching", "redis", "psutil",
                    "prometheus-client", "gunicorn"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            pass
    engine = db.engine
    info = engine.dialect.server_version_info
    versions["database"] = f"{engine.dialect.name} {'.'.join(map(str, info or ()))}".strip()
    pool = engine.pool
    pool_figures = {"class": type(pool).__name__, "status": pool.status()}
    for name in ("size", "checkedin", "checkedout", "overflow"):
        method = getattr(pool, name, None)
        if callable(method):
            pool_figures[name] = method()
    process = psutil.Process()
    return {
        "versions": versions,
        "pool": pool_figures,
        "process": {"pid": os.getpid(), "rss_bytes": process.memory_info().rss,
                    "threads": process.num_threads(),
                    "uptime_seconds": round(time.time() - _STARTED, 1)},
        "redis": bool(current_app.config.get("REDIS_URL")),
        "prometheus_multiprocess": bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR")),
    }
