"""Every blueprint of the app, in registration order.

A module's blueprint is `bp` in `erp/blueprints/<module>/views.py`; modules not built yet
are skipped (their navigation entry shows as disabled).
"""
from __future__ import annotations

import importlib
import importlib.util

MODULES = ["auth", "main", "admin", "health", "catalog", "inventory", "sales", "purchasing",
           "production", "quality", "tasks", "audit", "monitoring", "account"]


def load_blueprints() -> list:
    blueprints = []
    for name in MODULES:
        module_name = f"erp.blueprints.{name}.views"
        if importlib.util.find_spec(f"erp.blueprints.{name}") is None:
            continue
        blueprints.append(importlib.import_module(module_name).bp)
    return blueprints
