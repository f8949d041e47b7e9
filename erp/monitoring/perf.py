"""`flask perf-test`: in-process checks of the running configuration against the plan's
thresholds: the main pages' query and response times, cache round trips, memory under
repeated page renders. Each check runs for about `duration` seconds.

Pages are rendered through Flask's test client as the first active admin (every page
whose address has no parameter); without an admin only raw database checks run.
"""
from __future__ import annotations

import re
import statistics
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

import psutil
from flask import Flask
from sqlalchemy import select, text

from erp import cache as safe_cache
from erp.extensions import db, limiter
from erp.models import User
from erp.monitoring.thresholds import THRESHOLDS
from erp.monitoring.timing import paused

SKIPPED_PREFIXES = ("monitoring.", "auth.", "metrics.", "health.", "static")
SERVER_TIMING_DB = re.compile(r'db;dur=([\d.]+);desc="(\d+) queries"')


@dataclass
class Row:
    category: str
    figure: str
    value: float | None
    unit: str = ""
    threshold: str | None = None  # a key of THRESHOLDS, or None for information only
    note: str = ""

    @property
    def level(self) -> str:
        if self.threshold is None:
            return "info"
        return THRESHOLDS[self.threshold].level(self.value)

    @property
    def target(self) -> str:
        return THRESHOLDS[self.threshold].describe() if self.threshold else ""


def page_endpoints(app: Flask) -> list[tuple[str, str]]:
    pages = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if ("GET" not in rule.methods or rule.arguments
                or rule.endpoint.startswith(SKIPPED_PREFIXES)
                or getattr(view, "required_role", None) is None):
            continue
        pages.append((rule.endpoint, rule.rule))
    return sorted(pages)


class PageRenderer:
    """Renders pages as an admin through the test client, one app context per request."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.user = db.session.scalar(
            select(User).where(User.role == "admin", User.active.is_(True)).order_by(User.id))
        self.client = app.test_client()
        if self.user is not None:
            now = int(time.time())
            with self.client.session_transaction() as session:
                session["_user_id"] = self.user.get_id()
                session["_fresh"] = True
                session["login_at"] = now
                session["last_seen"] = now
        self.pages = page_endpoints(app) if self.user is not None else []

    def get(self, url: str) -> dict:
        started = time.perf_counter()
        with self.app.app_context():
            response = self.client.get(url)
        duration = (time.perf_counter() - started) * 1000
        match = SERVER_TIMING_DB.search(response.headers.get("Server-Timing", ""))
        db_ms, queries = (float(match.group(1)), int(match.group(2))) if match else (0.0, 0)
        return {"status": response.status_code, "ms": duration, "db_ms": db_ms,
                "queries": queries}


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def _avg(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def run_database(app: Flask, renderer: PageRenderer, duration: float) -> list[Row]:
    rows = []
    select_one = []
    deadline = time.monotonic() + max(duration * 0.2, 0.05)
    while time.monotonic() < deadline or not select_one:
        started = time.perf_counter()
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1")).scalar_one()
            conn.rollback()
        select_one.append((time.perf_counter() - started) * 1000)
    rows.append(Row("database", "SELECT 1 round trip (avg)", _avg(select_one), "ms",
                    "query_time_ms", f"{len(select_one)} runs"))
    if not renderer.pages:
        rows.append(Row("database", "pages", None, "", None,
                        "no active admin user: pages not rendered"))
        return rows
    results: dict[str, list[dict]] = {endpoint: [] for endpoint, _ in renderer.pages}
    deadline = time.monotonic() + duration * 0.8
    while True:
        for endpoint, url in renderer.pages:
            results[endpoint].append(renderer.get(url))
        if time.monotonic() >= deadline:
            break
    all_ms = [r["ms"] for runs in results.values() for r in runs]
    db_ms = sum(r["db_ms"] for runs in results.values() for r in runs)
    queries = sum(r["queries"] for runs in results.values() for r in runs)
    errors = sum(1 for runs in results.values() for r in runs if r["status"] >= 500)
    rows.append(Row("database", "average query time (pages)",
                    db_ms / queries if queries else None, "ms", "query_time_ms",
                    f"{queries} queries"))
    rows.append(Row("database", "page response time (p95)", p95(all_ms), "ms",
                    "response_time_ms", f"{len(all_ms)} renders of {len(results)} pages"))
    rows.append(Row("database", "server error rate (pages)", 100.0 * errors / len(all_ms), "%",
                    "error_rate", f"{errors} answers 5xx: see the log" if errors else ""))
    for endpoint, runs in sorted(results.items()):
        page_queries = sum(r["queries"] for r in runs)
        rows.append(Row("database", f"  {endpoint}", _avg([r["ms"] for r in runs]), "ms",
                        "response_time_ms",
                        f"{page_queries / len(runs):.0f} queries, status "
                        f"{'/'.join(sorted({str(r['status']) for r in runs}))}"))
    return rows


def run_cache(app: Flask, duration: float) -> list[Row]:
    latencies, hits, errors, runs = [], 0, 0, 0
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline or not runs:
        key, value = f"perf:{uuid.uuid4().hex}", uuid.uuid4().hex
        started = time.perf_counter()
        stored = safe_cache.cache_set(key, value, timeout=30)
        found = safe_cache.cache_get(key, counted=False)
        latencies.append((time.perf_counter() - started) * 1000)
        safe_cache.cache_delete(key)
        runs += 1
        hits += found == value
        errors += not stored
    return [
        Row("cache", "round trip hit ratio", 100.0 * hits / runs, "%", "cache_hit_ratio",
            f"{runs} set+get, backend {app.config.get('CACHE_TYPE')}"),
        Row("cache", "round trip time (avg)", _avg(latencies), "ms", None,
            f"p95 {p95(latencies):.2f} ms"),
        Row("cache", "failed writes", errors, "", None, "cache down?" if errors else ""),
    ]


def run_memory(app: Flask, renderer: PageRenderer, duration: float) -> list[Row]:
    process = psutil.Process()
    before = process.memory_info().rss
    renders = 0
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline or not renders:
        if renderer.pages:
            for _endpoint, url in renderer.pages:
                renderer.get(url)
                renders += 1
        else:
            with app.test_request_context("/"):
                app.jinja_env.from_string("{% for i in range(200) %}{{ i }}{% endfor %}").render()
            renders += 1
    after = process.memory_info().rss
    memory = psutil.virtual_memory()
    return [
        Row("memory", "system memory in use", memory.percent, "%", "memory_percent"),
        Row("memory", "process RSS", after / 1048576, "MB", None, f"{renders} renders"),
        Row("memory", "RSS growth while rendering", (after - before) / 1048576, "MB", None),
    ]


@contextmanager
def quiet():
    """Measuring requests: no rate limit (repeated renders would trip it) and not part of
    the live figures (also used by the database probe, erp.monitoring.database)."""
    enabled, limiter.enabled = limiter.enabled, False
    try:
        with paused():
            yield
    finally:
        limiter.enabled = enabled


def run(app: Flask, category: str, duration: float) -> list[Row]:
    renderer = PageRenderer(app)
    with quiet():
        rows = []
        if category in {"database", "full"}:
            rows += run_database(app, renderer, duration)
        if category in {"cache", "full"}:
            rows += run_cache(app, duration)
        if category in {"memory", "full"}:
            rows += run_memory(app, renderer, duration)
    return rows


def format_table(rows: list[Row]) -> str:
    header = ("category", "figure", "value", "level", "thresholds", "note")
    lines = [header]
    for row in rows:
        value = "-" if row.value is None else f"{row.value:,.2f} {row.unit}".strip()
        lines.append((row.category, row.figure, value, row.level, row.target, row.note))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for index, line in enumerate(lines):
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if index == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
