"""`flask --app wsgi health-check [--detailed]`, `flask --app wsgi perf-test ...` and
`flask --app wsgi db-analyze ...`."""
from __future__ import annotations

import json

import click
from flask import current_app

from erp.monitoring import database, perf
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


@click.command("db-analyze")
@click.option("--format", "output", type=click.Choice(["text", "json", "md"]), default="text",
              show_default=True)
@click.option("--probe", is_flag=True,
              help="Also time the main pages' queries (as the first active admin) with their "
                   "query counts and plans.")
@click.option("--runs", type=click.IntRange(1, 100), default=database.PROBE_RUNS,
              show_default=True, help="Renders of each page for the probe's median and p95.")
@click.option("--page", "pages", multiple=True, metavar="PATH",
              help="Probe only this address (repeatable), e.g. --page /sales/orders.")
@click.option("--fail-on", type=click.Choice(["warning", "critical"]), default=None,
              help="Exit 1 when a finding is at this level or worse (CI, cron).")
def db_analyze(output: str, probe: bool, runs: int, pages: tuple[str, ...],
               fail_on: str | None) -> None:
    """Analyse the database: tables, rows, sizes, indexes, foreign keys, statistics,
    recommendations and the database plan's targets."""
    for path in pages:
        if not path.startswith("/"):
            raise click.BadParameter(f"{path!r} is not an address such as /sales/orders.",
                                     param_hint="--page")
    report = database.analyze(current_app._get_current_object(), probe=probe or bool(pages),
                              runs=runs, pages=[(path, path) for path in pages] or None)
    if output == "json":
        click.echo(database.to_json(report))
    else:
        click.echo(database.format_text(report, markdown=output == "md"), nl=False)
    if database.fails(report, fail_on):
        if output != "json":
            click.echo(f"\nFailing: a finding at {fail_on} level or worse.", err=True)
        raise SystemExit(1)


COMMANDS = (health_check, perf_test, db_analyze)
