"""Health checks for the load balancer: no login, no rate limit."""
from __future__ import annotations

import time
from datetime import datetime, timezone

from flask import Blueprint, jsonify
from sqlalchemy import text

from erp.auth import public
from erp.extensions import db, limiter
from erp.cache import cache_roundtrip

bp = Blueprint("health", __name__, url_prefix="/health")


@bp.route("")
@public
@limiter.exempt
def liveness():
    """The process answers; touches nothing."""
    return jsonify(status="ok")


@bp.route("/ready")
@public
@limiter.exempt
def readiness():
    """Database and cache reachable: 503 when the database is not, degraded without cache."""
    checks = {}
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        checks["database"] = {"status": "healthy"}
    except Exception as exc:  # any failure of the database makes us unready
        db.session.rollback()
        checks["database"] = {"status": "unhealthy", "error": exc.__class__.__name__}
    checks["database"]["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    started = time.perf_counter()
    cache_ok = cache_roundtrip()
    checks["cache"] = {"status": "healthy" if cache_ok else "degraded",
                       "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    if checks["database"]["status"] == "unhealthy":
        status, code = "unhealthy", 503
    elif not cache_ok:
        status, code = "degraded", 200
    else:
        status, code = "healthy", 200
    return jsonify(status=status, timestamp=datetime.now(timezone.utc).isoformat(),
                   checks=checks), code
