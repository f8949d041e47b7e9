"""Template globals: navigation, formatting filters, static file fingerprints."""
from __future__ import annotations

from datetime import date, datetime

from flask import Flask, current_app, request

from erp.formatting import money, quantity

# (label, endpoint, minimum role). A module not yet built shows as disabled.
NAVIGATION = [
    ("Dashboard", "main.dashboard", "viewer"),
    ("Catalog", "catalog.product_list", "viewer"),
    ("Inventory", "inventory.stock_list", "viewer"),
    ("Sales", "sales.order_list", "viewer"),
    ("Purchasing", "purchasing.order_list", "viewer"),
    ("Production", "production.order_list", "viewer"),
    ("Quality", "quality.inspection_list", "viewer"),
    ("Tasks", "tasks.task_list", "viewer"),
    ("Admin", "admin.user_list", "admin"),
    ("Monitoring", "monitoring.dashboard", "admin"),
]


def when(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def register(app: Flask) -> None:
    app.jinja_env.filters.update(money=money, quantity=quantity, when=when)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def globals_():
        return {
            "navigation": [(label, endpoint, role, endpoint in current_app.view_functions)
                           for label, endpoint, role in NAVIGATION],
            "active_section": (request.endpoint or "").split(".")[0],
            "current_app": current_app,
        }
