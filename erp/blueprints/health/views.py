"""Health checks for the load balancer: no login, no rate limit.

`/health` is liveness (the process answers, touches nothing); `/health/ready` is
readiness (database, cache, migrations, disk, memory: erp/monitoring/health.py), 503
when unhealthy. An anonymous caller (the load balancer) gets the overall status only;
the checks and their figures (free disk, memory, cache backend, schema revision) are for
a `HEALTH_TOKEN` bearer token or an admin's session, and `?detailed=1` adds versions
and pool figures for them.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user

from erp.auth import public
from erp.extensions import limiter
from erp.monitoring.health import readiness as run_readiness
from erp.monitoring.metrics import bearer_token, token_matches

bp = Blueprint("health", __name__, url_prefix="/health")


@bp.route("")
@public
@limiter.exempt
def liveness():
    """The process answers; touches nothing."""
    return jsonify(status="ok")


def _may_see_details() -> bool:
    token = bearer_token()
    if token is not None:
        return token_matches(token, current_app.config.get("HEALTH_TOKEN"))
    try:
        return bool(current_user.is_authenticated and current_user.has_role("admin"))
    except Exception:  # the database is down: no session user can be loaded
        return False


@bp.route("/ready")
@public
@limiter.exempt
def readiness():
    """Database, cache, migrations, disk and memory: 503 when unhealthy, 200 otherwise."""
    detailed = request.args.get("detailed", "") in {"1", "true", "yes"}
    trusted = _may_see_details()
    if detailed and not trusted:
        response = jsonify(error="details need a HEALTH_TOKEN bearer token or an admin session")
        return response, 403
    body, code = run_readiness(detailed=detailed)
    if not trusted:
        body = {"status": body["status"]}  # no figures of the host for anyone who asks
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, code
