"""`flask --app wsgi health-check [--detailed]` and `flask --app wsgi perf-test ...`."""
from __future__ import annotations

import json

import click
from flask import current_app

from erp.monitoring import perf
from erp.monitoring.health import readiness


@click.command("health-check")
@click.option("--detailed", is_flag=True, help="Add versions, pool and process figures.")
def health_check(detailed: bool) -> None:
    """Run the readiness checks; exit 0 when healthy or degraded, 1 when unhealthy."""
    body, code = readiness(detailed=detailed)
    click.echo(json.dumps(body, indent=2, default=str))
    if code != 200:
        raise SystemExit(1)


@click.command("perf-test")
@click.option("--category", type=click.Choice(["database", "cache", "memory", "full"]),
              default="full", show_default=True)
@click.option("--duration", type=click.FloatRange(0.1, 3600), default=5.0, show_default=True,
              help="Seconds per category.")
def perf_test(category: str, duration: float) -> None:
    """Measure pages, queries, cache and memory against the plan's thresholds; exit 1
    when a figure is critical."""
    rows = perf.run(current_app._get_current_object(), category, duration)
    click.echo(perf.format_table(rows))
    critical = [row for row in rows if row.level == "critical"]
    warnings = [row for row in rows if row.level == "warning"]
    click.echo(f"\n{len(critical)} critical, {len(warnings)} warning.")
    if critical:
        raise SystemExit(1)


COMMANDS = (health_check, perf_test)
