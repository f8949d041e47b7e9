"""The dashboard: the state of the business at a glance, every figure an aggregate query,
each group cached per company and invalidated by the writes that change it
(`erp.queries.dashboard`, `erp.cache_versions`)."""
from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from erp.auth import require_role
from erp.models.sales import ORDER_STATUSES, STATUS_BADGES
from erp.queries import dashboard as dashboard_queries
from erp.web import render

bp = Blueprint("main", __name__)


@bp.route("/")
@require_role("viewer")
def dashboard():
    data = dashboard_queries.dashboard(current_user.company_id, current_user.id)
    chart = data.sales["chart"]
    return render("main/dashboard.html", block="content", company=current_user.company,
                  data=data,
                  chart_labels=[month["label"] for month in chart],
                  chart_values=[str(month["total"]) for month in chart],
                  order_statuses=ORDER_STATUSES, status_badges=STATUS_BADGES)
