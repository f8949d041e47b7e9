"""The live monitoring page for installation administrators: tiles refreshed by htmx, a
chart of the last hour, the slowest endpoints, the workers and the alert history (figures
over all workers); and the database analysis (`/admin/database`, the report of
`flask db-analyze`).

The figures are system-wide (every company's traffic, not one company's data), so a
company's admin does not see them: only an admin with `users.is_superuser`
(`flask set-install-admin`).
"""
from __future__ import annotations

import time

from flask import Blueprint, current_app, request
from jinja2_fragments.flask import render_block

from erp.auth import require_install_admin
from erp.monitoring import database as analysis
from erp.monitoring import get_monitor
from erp.monitoring.thresholds import DATABASE_HEALTH, DATABASE_TARGETS, THRESHOLDS
from erp.web import render

bp = Blueprint("monitoring", __name__, url_prefix="/admin")


def _when(timestamp, fmt: str) -> str:
    try:
        return time.strftime(fmt, time.localtime(float(timestamp)))
    except (TypeError, ValueError, OverflowError):
        return ""


def _context() -> dict:
    monitor = get_monitor()
    if monitor is None:
        return {"summary": None, "alerts": [], "refresh": 5, "thresholds": THRESHOLDS}
    summary = monitor.summary()
    monitor.check_alerts(summary)
    alerts = [dict(alert, when=_when(alert.get("at"), "%Y-%m-%d %H:%M:%S"))
              for alert in monitor.recorder.alerts(20)]
    return {"summary": summary, "alerts": alerts,
            "updated": _when(summary["generated_at"], "%H:%M:%S"),
            "refresh": current_app.config.get("MONITORING_REFRESH_SECONDS", 5),
            "thresholds": THRESHOLDS, "db_thresholds": {**DATABASE_TARGETS, **DATABASE_HEALTH},
            "store": monitor.recorder.store.kind}


@bp.route("/monitoring")
@require_install_admin
def dashboard():
    return render("monitoring/dashboard.html", block="tiles", **_context())


@bp.route("/monitoring/tiles")
@require_install_admin
def tiles():
    """The tiles fragment the page polls (hx-trigger="every 5s")."""
    response = current_app.make_response(
        render_block("monitoring/dashboard.html", "tiles", **_context()))
    response.headers["Cache-Control"] = "no-store"
    return response


PAGE_PROBE_RUNS = 2  # fewer than the command's: the page must answer within the timeout


@bp.route("/database")
@require_install_admin
def database():
    """The database analysis; `?probe=1` also times the main pages (a few seconds)."""
    probe = request.args.get("probe") == "1"
    report = analysis.analyze(current_app._get_current_object(), probe=probe,
                              runs=PAGE_PROBE_RUNS)
    return render("monitoring/database.html", report=report, probe=probe,
                  probe_runs=PAGE_PROBE_RUNS, sizes=analysis.GROWTH_PAGE_SIZES,
                  size=analysis.size_label)

