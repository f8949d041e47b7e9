"""The database analysis (`flask db-analyze`, /admin/database, issue #22): it reads the live
database's catalog and statistics, so a foreign key without an index and an index nobody
uses, made by hand on scratch tables, are named; the project's own schema has neither."""
import json

import pytest
from sqlalchemy import select, text

from erp.auth import require_role
from erp.extensions import db
from erp.monitoring import database as analysis
from tests.conftest import TEST_DB, count_queries, login

SCRATCH_FK = "scratch_children(parent_id) -> scratch_parents"
SCRATCH_INDEX = "ix_scratch_children_note"
FILL = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) "
        "INSERT INTO scratch_children (note) SELECT 'row ' || i FROM n")


@pytest.fixture
def scratch(app):
    """Two tables outside the models: a foreign key no index leads with (ON DELETE
    CASCADE) and an index no statement uses. `scratch(rows)` fills the child table."""
    key = "SERIAL" if TEST_DB == "postgresql" else "INTEGER"
    with db.engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE scratch_parents (id {key} PRIMARY KEY)"))
        conn.execute(text(f"CREATE TABLE scratch_children (id {key} PRIMARY KEY, "
                          "parent_id INTEGER REFERENCES scratch_parents (id) ON DELETE CASCADE, "
                          "note VARCHAR(40))"))
        conn.execute(text(f"CREATE INDEX {SCRATCH_INDEX} ON scratch_children (note)"))

    def fill(rows: int) -> None:
        with db.engine.begin() as conn:
            conn.execute(text(FILL.format(rows=rows)))

    yield fill
    db.session.remove()
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE scratch_children"))
        conn.execute(text("DROP TABLE scratch_parents"))


@pytest.fixture
def install_admin(app, make_user):
    """An installation administrator: the report covers every company's tables."""
    return make_user("admin", is_superuser=True)


def titles(report) -> list[str]:
    return [finding.title for finding in report.findings]


def test_the_report_names_an_unindexed_foreign_key_and_an_unused_index(app, scratch,
                                                                       install_admin):
    # SQLite keeps no index statistics: there "unused" means used by no probed statement
    report = analysis.analyze(app, probe=True, runs=1, pages=[("main.dashboard", "/")])
    assert [fk.label for fk in report.unindexed_foreign_keys] == [SCRATCH_FK]
    assert f"Foreign key without an index: {SCRATCH_FK}" in titles(report)
    finding = next(f for f in report.findings if SCRATCH_FK in f.title)
    assert finding.level == "warning"  # a small table
    assert "ON DELETE CASCADE" in finding.evidence[0]
    assert "CREATE INDEX ix_scratch_children_parent_id ON scratch_children (parent_id)" \
        in finding.advice
    assert SCRATCH_INDEX in [index.name for index in report.unused_indexes]
    assert any(SCRATCH_INDEX in line for f in report.findings for line in f.evidence)
    tables = report.table_map
    assert tables["scratch_children"].module == ""  # not a model
    assert tables["scratch_children"].rows == 0 and tables["scratch_children"].rows_basis == "exact"
    assert SCRATCH_FK in [fk.label for fk in report.foreign_keys_by_rule["CASCADE"]]
    for output in (analysis.format_text(report), analysis.format_text(report, markdown=True),
                   analysis.to_json(report)):
        assert SCRATCH_FK in output and SCRATCH_INDEX in output


def test_a_big_table_makes_the_missing_index_critical(app, scratch):
    scratch(analysis.BIG_TABLE_ROWS)
    report = analysis.analyze(app)
    finding = next(f for f in report.findings if SCRATCH_FK in f.title)
    assert finding.level == "critical"
    assert report.table_map["scratch_children"].rows == analysis.BIG_TABLE_ROWS
    assert report.level == "critical"


def vacuumed() -> None:
    """On PostgreSQL, VACUUM the worker's test database: the tests before this one emptied
    its tables with DELETE, and their dead rows (a "dead rows pile up" warning that depends on
    which tests ran first and on autovacuum's timing) are the harness's, not the schema's."""
    if db.engine.dialect.name == "postgresql":
        db.session.rollback()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM")


def test_the_projects_own_schema_has_every_foreign_key_indexed(app):
    vacuumed()
    report = analysis.analyze(app)
    assert report.unindexed_foreign_keys == []
    assert not [f for f in report.findings if f.title.startswith("Foreign key without")]
    models = {t.name: (t.module, t.model) for t in report.tables if t.model}
    assert models["sales_orders"] == ("sales", "SalesOrder")
    assert models["stock_movements"] == ("inventory", "StockMovement")
    assert set(models) == {table.name for table in db.metadata.sorted_tables}
    rules = report.foreign_keys_by_rule
    assert {"CASCADE", "RESTRICT", "SET NULL"} <= set(rules)
    assert "sales_order_items(order_id) -> sales_orders" in [fk.label for fk in rules["CASCADE"]]
    assert len(report.foreign_keys) >= 50 and len(report.indexes) >= 100
    assert report.level == "info"  # nothing to warn about on an empty database


def test_fail_on_sets_the_exit_code(app, runner, request):
    vacuumed()
    clean = runner.invoke(args=["db-analyze", "--fail-on", "warning"])
    assert clean.exit_code == 0, clean.output
    assert "Foreign keys without an index leading with them: none" in clean.output
    scratch = request.getfixturevalue("scratch")  # the scratch tables from here on
    warned = runner.invoke(args=["db-analyze", "--fail-on", "warning"])
    assert warned.exit_code == 1
    assert f"[WARNING] Foreign key without an index: {SCRATCH_FK}" in warned.output
    assert runner.invoke(args=["db-analyze", "--fail-on", "critical"]).exit_code == 0
    assert runner.invoke(args=["db-analyze"]).exit_code == 0  # no --fail-on: reports only
    scratch(analysis.BIG_TABLE_ROWS)
    critical = runner.invoke(args=["db-analyze", "--fail-on", "critical", "--format", "json"])
    assert critical.exit_code == 1
    body = json.loads(critical.output)
    assert body["level"] == "critical" and body["unindexed_foreign_keys"] == [SCRATCH_FK]


def test_formats_and_bad_arguments(app, runner):
    body = json.loads(runner.invoke(args=["db-analyze", "--format", "json"]).output)
    assert body["dialect"] == TEST_DB
    assert {t["key"] for t in body["targets"]} == set(analysis.DATABASE_TARGETS)
    assert "sales" in body["modules"] and "CASCADE" in body["foreign_keys_by_rule"]
    markdown = runner.invoke(args=["db-analyze", "--format", "md"]).output
    assert markdown.startswith("# Database analysis")
    assert "| target | value | level | met |" in markdown
    for args in (["--format", "xml"], ["--fail-on", "info"], ["--runs", "0"]):
        result = runner.invoke(args=["db-analyze", *args])
        assert result.exit_code == 2 and "Invalid value" in result.output


def test_the_catalog_reads_do_not_grow_with_the_rows(app, scratch):
    with count_queries() as empty:
        analysis.analyze(app)
    scratch(500)
    with count_queries() as filled:
        analysis.analyze(app)
    assert filled.count == empty.count
    assert empty.count <= (12 if TEST_DB == "postgresql" else 14)


# -- the probe -------------------------------------------------------------------------------

def test_the_probe_times_pages_counts_queries_and_explains_them(app, seeded_demo, runner):
    result = runner.invoke(args=["db-analyze", "--probe", "--runs", "2",
                                 "--page", "/sales/orders", "--page", "/catalog/products"])
    assert result.exit_code == 0, result.output
    output = result.output.split("Probe of the main pages")[1]
    assert "-- /sales/orders" in output and "-- /catalog/products" in output
    assert "/inventory/stock" not in output
    assert ("SEARCH" if TEST_DB == "sqlite" else "Scan") in output  # the plans
    bad = runner.invoke(args=["db-analyze", "--page", "sales/orders"])
    assert bad.exit_code == 2 and "is not an address" in bad.output
    report = analysis.analyze(app, probe=True, runs=3,
                              pages=[("sales.order_list", "/sales/orders"),
                                     ("inventory.stock_list", "/inventory/stock")])
    orders = report.probe[0]
    assert orders.status == 200 and orders.runs == 3 and orders.queries >= 2
    assert 0 < orders.median_ms <= orders.p95_ms
    assert orders.growth[0] == orders.growth[1]  # lists eager-load: no query per row
    assert not orders.grows_with_rows
    assert all(statement.plan for statement in orders.statements)
    assert not orders.full_scans  # the demo's tables are small
    targets = {target.key: target for target in report.targets}
    assert targets["query_mean_ms"].value is not None
    assert targets["slow_query_share"].value is not None
    assert targets["pool_efficiency"].value is not None  # the probe checked out enough


@pytest.mark.fresh_app
def test_a_query_per_row_and_a_full_scan_of_a_big_table_are_flagged(app, install_admin,
                                                                       scratch):
    from flask import request

    @require_role("viewer")
    def query_per_row():
        for _ in range(int(request.args.get("per_page", 20))):
            db.session.execute(select(1))
        return "rows"

    @require_role("viewer")
    def full_scan():
        return str(db.session.execute(text(
            "SELECT count(*) FROM scratch_children WHERE note LIKE '%5%'")).scalar())

    @require_role("viewer")
    def bounded_scan():  # a LIMIT without ORDER BY stops the scan early: not flagged
        return str(db.session.execute(text(
            "SELECT note FROM scratch_children WHERE note LIKE '%5%' LIMIT 5")).all())

    app.add_url_rule("/n-plus-one", "n_plus_one", query_per_row)
    app.add_url_rule("/full-scan", "full_scan", full_scan)
    app.add_url_rule("/bounded-scan", "bounded_scan", bounded_scan)
    scratch(analysis.BIG_TABLE_ROWS)
    report = analysis.analyze(app, probe=True, runs=1, pages=[
        ("n_plus_one", "/n-plus-one"), ("full_scan", "/full-scan"),
        ("bounded_scan", "/bounded-scan")])
    rows, scan, bounded = report.probe
    assert bounded.statements and not bounded.full_scans
    assert rows.growth[1] - rows.growth[0] == 98  # per_page 100 against 2
    assert rows.grows_with_rows and not scan.grows_with_rows
    assert "Query count grows with rows: /n-plus-one" in titles(report)
    assert scan.full_scans == ["scratch_children"] and not rows.full_scans
    finding = next(f for f in report.findings if f.title == "Full scan of a big table: /full-scan")
    assert "scratch_children" in finding.evidence[-1]
    assert "SCAN scratch_children" in finding.evidence[0] if TEST_DB == "sqlite" \
        else "Seq Scan on scratch_children" in finding.evidence[0]


def test_without_an_admin_the_probe_says_so(app):
    report = analysis.analyze(app, probe=True, runs=1)
    assert report.probe == [] and "No active admin" in report.probe_note


# -- the database's own figures --------------------------------------------------------------

@pytest.mark.skipif(TEST_DB != "sqlite", reason="SQLite's PRAGMA figures")
def test_sqlite_figures_and_planner_statistics(app):
    with db.engine.connect() as conn:  # another test of this worker may have analysed
        had_stat1 = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").scalar() is not None
    figures = analysis.analyze(app).figures
    assert figures["quick_check"] == "ok" and figures["journal_mode"] == "wal"
    assert figures["page_count"] > 0 and figures["freelist_count"] >= 0
    assert figures["wal_size"] >= 0 and figures["sqlite_stat1"] is had_stat1
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    try:
        report = analysis.analyze(app)
        assert report.figures["sqlite_stat1"] is True
        assert all(t.stats["analyzed"] for t in report.tables if t.rows)
    finally:
        if not had_stat1:
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP TABLE sqlite_stat1")


@pytest.mark.postgresql_only
def test_postgresql_statistics_and_statements(app):
    report = analysis.analyze(app)
    figures = report.figures
    assert figures["max_connections"] == 300 or figures["max_connections"] > 0
    assert figures["connections"] >= 1 and "active" in figures["connections_by_state"]
    assert figures["buffer_hit_ratio"] is None or 0 <= figures["buffer_hit_ratio"] <= 100
    assert report.table_map["sales_orders"].stats.keys() >= {"seq_scan", "n_dead_tup",
                                                             "last_vacuum", "last_analyze"}
    assert {t.key: t for t in report.targets}["connections"].value >= 1
    assert report.top_statements is None
    assert "CREATE EXTENSION pg_stat_statements" in report.statements_note
    preloaded = db.session.execute(text("SHOW shared_preload_libraries")).scalar()
    if "pg_stat_statements" not in preloaded:
        pytest.skip("this PostgreSQL does not preload pg_stat_statements")
    with db.engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION pg_stat_statements"))
        conn.execute(text("SELECT pg_stat_statements_reset()"))
    try:
        for _ in range(3):
            db.session.execute(select(db.metadata.tables["sales_orders"])).all()
        db.session.commit()
        report = analysis.analyze(app)
        statements = " ".join(row["query"] for row in report.top_statements)
        assert "SELECT sales_orders." in statements  # (shortened: the columns, then FROM)
        assert "pg_stat_user_tables" not in statements  # the analysis's own reads left out
        assert "COMMIT" not in statements and "SAVEPOINT" not in statements
        assert {t.key: t for t in report.targets}["query_mean_ms"].source.startswith(
            "pg_stat_statements")
    finally:
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(text("DROP EXTENSION pg_stat_statements"))


# -- the page --------------------------------------------------------------------------------

def test_the_page_is_for_installation_admins(app, client_as, install_admin, scratch):
    client = login(app.test_client(), install_admin.email)
    response = client.get("/admin/database")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for section in ("database-targets", "database-findings", "database-tables",
                    "database-foreign-keys", "database-indexes", "database-figures"):
        assert f'id="{section}"' in html
    assert SCRATCH_FK.replace(">", "&gt;") in html and SCRATCH_INDEX in html
    assert 'id="tile-query_mean_ms"' in html and 'href="/admin/database?probe=1"' in html
    assert "<script>" not in html and "style=" not in html  # CSP: nothing inline
    assert 'href="/admin/database"' in client.get("/admin/monitoring").get_data(as_text=True)
    for role in ("admin", "manager", "staff", "viewer"):  # a company's admin too: every
        assert client_as(role).get("/admin/database").status_code == 403  # company's tables
    assert app.test_client().get("/admin/database").status_code == 302  # to the login


def test_the_page_runs_the_probe(app, install_admin):
    client = login(app.test_client(), install_admin.email)
    html = client.get("/admin/database?probe=1").get_data(as_text=True)
    assert 'id="database-probe"' in html
    assert '<a href="/sales/orders">/sales/orders</a>' in html
    assert "Without the probe" in html
