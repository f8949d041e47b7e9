"""The dashboard: the state of the business at a glance, every figure an aggregate query,
each group cached per company and invalidated by the writes that change it
(`erp.queries.dashboard`, `erp.cache_versions`).

Each part of the page is also cached as rendered HTML, under a key of the areas its groups
depend on (and the day, and the user for "my tasks"), so a warm dashboard reads neither
figures nor templates of its parts; a part whose key changed is rendered from the groups,
which are themselves mostly still cached.
"""
from __future__ import annotations

from flask import Blueprint, abort, make_response, render_template
from flask_login import current_user
from markupsafe import Markup

from erp.auth import require_role
from erp.cache_versions import cached, prefetch
from erp.i18n import current_language
from erp.models.core import company_today
from erp.models.sales import ORDER_STATUSES, STATUS_BADGES
from erp.queries import dashboard as dashboard_queries
from erp.services import NotFound
from erp.services import money as money_service
from erp.web import render

bp = Blueprint("main", __name__)

# part -> (template, the figure groups it shows)
PARTS = {
    "figures": ("main/_figures.html", ("catalog", "low-stock", "order-counts", "sales",
                                       "purchasing", "production", "receivables",
                                       "payables")),
    "chart": ("main/_sales_chart.html", ("sales",)),
    "tasks": ("main/_my_tasks.html", ("tasks",)),
    "top_products": ("main/_top_products.html", ("top-products",)),
    "recent_orders": ("main/_recent_orders.html", ("recent-orders",)),
}


@bp.route("/")
@require_role("viewer")
def dashboard():
    company_id, user_id = current_user.company_id, current_user.id
    currency = current_user.company.currency
    data = dashboard_queries.dashboard(company_id, user_id, company_today(current_user.company))
    context = {"data": data, "order_statuses": ORDER_STATUSES, "status_badges": STATUS_BADGES,
               "currency": currency}

    language = current_language()

    def key(name: str) -> str:
        """A rendered part depends on the day, the currency and the reader's language (its
        texts and number formats); the task list also on the reader."""
        return (f"html:{name}:{data.day}:{currency}:{language}"
                + (f":user={user_id}" if name == "tasks" else ""))

    def part(name: str) -> Markup:
        template, groups = PARTS[name]
        html = cached(company_id, key(name), dashboard_queries.areas_of(*groups),
                      lambda: render_template(template, **context))
        return Markup(html)  # our own template's output, escaped when it was rendered

    prefetch(company_id, [*map(key, PARTS), *dashboard_queries.EMPTY_GROUPS])

    return render("main/dashboard.html", block="content", company=current_user.company,
                  data=data, parts={name: part(name) for name in PARTS})


@bp.route("/company/logo")
@require_role("viewer")
def company_logo():
    """The logo of the user's own company (there is no address for another's); 404 without
    one. Private: the browser may keep it, shared caches may not."""
    try:
        logo = money_service.get_logo(current_user.company_id)
    except NotFound:
        abort(404)
    response = make_response(logo.data)
    response.headers["Content-Type"] = logo.content_type
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
