"""Every blueprint of the app, in registration order: `bp` in
`erp/blueprints/<module>/views.py`."""
from __future__ import annotations

import importlib

MODULES = ["auth", "main", "admin", "health", "catalog", "inventory", "sales", "purchasing",
           "production", "quality", "tasks", "money", "forms", "audit", "monitoring", "account",
           "jobs"]


def load_blueprints() -> list:
    return [importlib.import_module(f"erp.blueprints.{name}.views").bp for name in MODULES]
