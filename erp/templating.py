"""Template globals: navigation, formatting filters, static file fingerprints."""
from __future__ import annotations

import hashlib
import os
from datetime import date, datetime
from functools import lru_cache

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


@lru_cache(maxsize=512)
def _fingerprint(path: str, mtime: float) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:12]


def static_fingerprint(app: Flask, filename: str) -> str | None:
    """A short hash of a static file's content (cached per file and modification time)."""
    path = os.path.join(app.static_folder, filename)
    try:
        return _fingerprint(path, os.path.getmtime(path))
    except OSError:
        return None


FOREVER = "public, max-age=31536000, immutable"


def register(app: Flask) -> None:
    app.jinja_env.filters.update(money=money, quantity=quantity, when=when)

    @app.url_defaults
    def fingerprint_static_urls(endpoint, values):
        """url_for('static', ...) gets ?v=<content hash>: a changed file gets a new URL, so
        browsers may cache every version for good."""
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = static_fingerprint(app, values["filename"])
            if version:
                values["v"] = version

    @app.after_request
    def cache_fingerprinted_static(response):
        if request.endpoint == "static" and request.args.get("v") and response.status_code == 200:
            response.headers["Cache-Control"] = FOREVER
        return response
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
