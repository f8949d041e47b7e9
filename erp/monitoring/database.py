"""The database analysis: `flask --app wsgi db-analyze` and the page `/admin/database`.

What the database holds and how it is used, from its own catalog and statistics (not from
the models alone, so an index or a foreign key added by hand is seen too): tables and
models per module, rows (exact up to EXACT_COUNT_LIMIT, else the planner's estimate,
labelled), sizes, indexes, foreign keys by delete rule and those no index leads with; on
PostgreSQL the statistics views (index use, sequential scans, hit ratios, dead tuples,
vacuum and analyze, connections, pg_stat_statements), on SQLite the PRAGMA figures and
sqlite_stat1. The probe (`probe=True`) renders the main pages as an admin, times them and
explains their statements (the approach of bench/explain.py). Findings and the database
plan's targets are derived from those facts, each with its evidence.

Everything here reads; nothing is changed. On PostgreSQL the catalog queries are a fixed
number whatever the number of tables or rows.

The monitoring page and /metrics reuse the server-wide part live (`server_health`: the
pool, `postgresql_statistics`, the replicas), and `MeasuredQueuePool` counts pool waits.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import statistics
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import QueuePool

from erp.extensions import db
from erp.models.base import leaves_out_rows
from erp.monitoring import metrics
from erp.monitoring.thresholds import DATABASE_TARGETS, SLOW_QUERY_MS, level
from erp.monitoring.timing import current_stats

BIG_TABLE_ROWS = 10_000  # a full scan of a table this big is worth a finding
EXACT_COUNT_LIMIT = 100_000  # rows counted exactly up to this many, else estimated
PROBE_RUNS = 5
MIN_BLOCKS = 10_000  # a hit ratio over fewer block reads (a fresh server) says nothing
MAX_EXPLAINED = 15  # statements explained per page (the slowest first)
GROWTH_PAGE_SIZES = (2, 100)  # a list rendered with these page sizes: same query count?
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA", "SET")
PG_DELETE_RULES = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL",
                   "d": "SET DEFAULT"}
# pg_stat_statements rows left out (PostgreSQL regular expressions): transaction control
# and maintenance, and this analysis's own catalog reads
UTILITY_STATEMENTS = (r"^\s*(begin|commit|rollback|savepoint|release|set|show|vacuum|analyze"
                      r"|create|alter|drop|copy|truncate|reindex|cluster|grant)\M")
CATALOG_READS = r"\m(pg_stat_\w+|pg_statio_\w+|pg_class|pg_index|pg_constraint)\M"
FINDING_LEVELS = ("info", "warning", "critical")
ENABLE_PG_STAT_STATEMENTS = (
    "add `shared_preload_libraries = 'pg_stat_statements'` to postgresql.conf, restart "
    "PostgreSQL, then run `CREATE EXTENSION pg_stat_statements;` in this database")


@dataclass
class Index:
    name: str
    table: str
    columns: list  # column names; None for an expression
    unique: bool = False
    primary: bool = False
    partial: bool = False
    size: int | None = None  # bytes
    scans: int | None = None  # PostgreSQL: index scans since the statistics reset
    method: str = ""
    serves: str = ""  # the foreign key it leads with, if any


@dataclass
class ForeignKey:
    table: str
    columns: list[str]
    referred_table: str
    on_delete: str
    indexed_by: str | None = None

    @property
    def label(self) -> str:
        return f"{self.table}({', '.join(self.columns)}) -> {self.referred_table}"


@dataclass
class Table:
    name: str
    module: str = ""
    model: str = ""
    rows: int | None = None
    rows_basis: str = "exact"  # exact, estimate, or "at least" (a capped count)
    size: int | None = None  # bytes: the table with its indexes (and TOAST)
    indexes: list[Index] = field(default_factory=list)
    stats: dict = field(default_factory=dict)  # PostgreSQL: pg_stat_user_tables

    @property
    def rows_label(self) -> str:
        if self.rows is None:
            return "unknown"
        if self.rows_basis == "exact":
            return f"{self.rows:,}"
        if self.rows_basis == "at least":
            return f"> {EXACT_COUNT_LIMIT:,}"
        return f"~{self.rows:,} (estimate)"


@dataclass
class Finding:
    level: str  # info, warning, critical
    title: str
    evidence: list[str]
    advice: str


@dataclass
class Target:
    key: str
    label: str
    value: float | None
    unit: str
    level: str  # a level of erp.monitoring.thresholds (good, fair, warning, critical, unknown)
    thresholds: str
    source: str

    @property
    def met(self) -> bool | None:
        return None if self.level == "unknown" else self.level == "good"


@dataclass
class Statement:
    sql: str
    ms: float
    plan: list[str]
    full_scans: list[str]  # big tables read whole


@dataclass
class PageProbe:
    endpoint: str
    url: str
    status: int
    runs: int
    median_ms: float
    p95_ms: float
    queries: int
    query_ms: list[float] = field(default_factory=list)
    growth: tuple[int, int] | None = None  # query counts at GROWTH_PAGE_SIZES
    statements: list[Statement] = field(default_factory=list)

    @property
    def grows_with_rows(self) -> bool:
        return self.growth is not None and self.growth[1] > self.growth[0]

    @property
    def full_scans(self) -> list[str]:
        return sorted({name for s in self.statements for name in s.full_scans})


@dataclass
class Report:
    dialect: str
    server_version: str
    database: str
    generated_at: str
    big_table_rows: int
    tables: list[Table] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    figures: dict = field(default_factory=dict)  # the database's own figures, by name
    notes: list[str] = field(default_factory=list)  # what could not be read, and why
    top_statements: list[dict] | None = None
    statements_note: str = ""
    probe: list[PageProbe] | None = None
    probe_note: str = ""
    targets: list[Target] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def table_map(self) -> dict[str, Table]:
        return {table.name: table for table in self.tables}

    @property
    def indexes(self) -> list[Index]:
        return [index for table in self.tables for index in table.indexes]

    @property
    def modules(self) -> dict[str, list[Table]]:
        grouped: dict[str, list[Table]] = {}
        for table in self.tables:
            grouped.setdefault(table.module or "(not a model)", []).append(table)
        return dict(sorted(grouped.items(), key=lambda item: (item[0].startswith("("), item[0])))

    @property
    def foreign_keys_by_rule(self) -> dict[str, list[ForeignKey]]:
        grouped: dict[str, list[ForeignKey]] = {}
        for fk in sorted(self.foreign_keys, key=lambda fk: (fk.on_delete, fk.label)):
            grouped.setdefault(fk.on_delete, []).append(fk)
        return grouped

    @property
    def unindexed_foreign_keys(self) -> list[ForeignKey]:
        return [fk for fk in self.foreign_keys if fk.indexed_by is None]

    @property
    def unused_indexes(self) -> list[Index]:
        """Indexes no scan used: on PostgreSQL since the statistics reset; on SQLite (no
        statistics) none of the probed statements' plans. Unique and primary-key indexes
        enforce a rule and are not listed."""
        used = self.figures.get("indexes_used_by_probe")
        found = []
        for index in self.indexes:
            if index.unique or index.primary:
                continue
            if index.scans == 0 or (index.scans is None and used is not None
                                    and index.name not in used):
                found.append(index)
        return found

    @property
    def unused_label(self) -> str:
        """The unused indexes' names, or why they are not known."""
        if self.dialect == "sqlite" and "indexes_used_by_probe" not in self.figures:
            return "not known (SQLite keeps no index statistics: run the probe)"
        return ", ".join(index.name for index in self.unused_indexes) or "none"

    @property
    def level(self) -> str:
        return max((f.level for f in self.findings), key=FINDING_LEVELS.index, default="info")

    def count(self, level: str) -> int:
        return sum(1 for finding in self.findings if finding.level == level)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["modules"] = {module: [t.name for t in tables]
                           for module, tables in self.modules.items()}
        data["foreign_keys_by_rule"] = {rule: [fk.label for fk in fks]
                                        for rule, fks in self.foreign_keys_by_rule.items()}
        data["unindexed_foreign_keys"] = [fk.label for fk in self.unindexed_foreign_keys]
        data["unused_indexes"] = [index.name for index in self.unused_indexes]
        for target, raw in zip(self.targets, data["targets"]):
            raw["met"] = target.met
        data["level"] = self.level
        return data


# -- the analysis ----------------------------------------------------------------------------

def analyze(app: Flask, *, probe: bool = False, runs: int = PROBE_RUNS,
            big_table_rows: int = BIG_TABLE_ROWS, pages: list[tuple[str, str]] | None = None
            ) -> Report:
    """The whole report. Needs an app context. `pages` (endpoint, url) narrows the probe."""
    engine = db.engine
    report = Report(dialect=engine.dialect.name, server_version="",
                    database=engine.url.render_as_string(hide_password=True),
                    generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    big_table_rows=big_table_rows)
    with engine.connect() as conn:
        # known once a connection is open
        report.server_version = (sqlite3.sqlite_version if report.dialect == "sqlite" else
                                 ".".join(map(str, engine.dialect.server_version_info or ())))
        if report.dialect == "postgresql":
            _postgresql_facts(conn, report)
        elif report.dialect == "sqlite":
            _sqlite_facts(conn, report)
        else:
            report.notes.append(f"{report.dialect} is not analysed (SQLite and PostgreSQL are).")
        _count_rows(conn, report)
        conn.rollback()
    _name_models(report)
    _match_foreign_keys(report)
    if probe:
        probe_pages(app, report, runs=runs, pages=pages)
    report.targets = targets(app, report)
    report.findings = findings(report)
    return report


def _name_models(report: Report) -> None:
    """Each table's model and module (erp.models.<module>) from the mapped classes."""
    known = {table.name: table for table in report.tables}
    for mapper in db.Model.registry.mappers:
        cls = mapper.class_
        for table in mapper.tables:
            if table.name in known:
                known[table.name].module = cls.__module__.rsplit(".", 1)[-1]
                known[table.name].model = cls.__name__
    for name in db.metadata.tables:  # tables of the metadata without a class of their own
        if name in known and not known[name].module:
            known[name].module = "(table only)"


def _match_foreign_keys(report: Report) -> None:
    """Name the index that leads with each foreign key's columns (any order among them)."""
    by_table: dict[str, list[Index]] = {}
    for index in report.indexes:
        by_table.setdefault(index.table, []).append(index)
    for fk in report.foreign_keys:
        wanted = set(fk.columns)
        for index in sorted(by_table.get(fk.table, []), key=lambda i: len(i.columns)):
            if index.partial:
                continue  # it leaves out rows a lookup of the key may want
            if set(index.columns[:len(wanted)]) == wanted:
                fk.indexed_by = index.name
                if not index.serves:
                    index.serves = fk.label
                break


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)


def _count_rows(conn: Connection, report: Report) -> None:
    """Exact counts, capped at EXACT_COUNT_LIMIT, in one statement; beyond the cap (or for
    tables the statistics already call big) the estimate is kept and labelled."""
    wanted = [t for t in report.tables
              if t.rows_basis != "estimate" or t.rows is None or t.rows < EXACT_COUNT_LIMIT]
    if not wanted:
        return
    parts = [f"SELECT {i} AS n, (SELECT count(*) FROM (SELECT 1 FROM {_quote(conn, t.name)} "
             f"LIMIT {EXACT_COUNT_LIMIT + 1}) AS capped) AS rows" for i, t in enumerate(wanted)]
    counts = {}
    for start in range(0, len(parts), 400):  # SQLite allows 500 terms in a compound SELECT
        counts.update(conn.execute(text(" UNION ALL ".join(parts[start:start + 400]))).all())
    for i, table in enumerate(wanted):
        counted = counts.get(i)
        if counted is None:
            continue
        if counted <= EXACT_COUNT_LIMIT:
            table.rows, table.rows_basis = counted, "exact"
        elif table.rows is not None and table.rows > EXACT_COUNT_LIMIT:
            table.rows_basis = "estimate"
        else:  # more rows than the cap, and no (or a stale) estimate
            table.stats["stale_estimate"] = table.rows
            table.rows, table.rows_basis = EXACT_COUNT_LIMIT + 1, "at least"


def _postgresql_facts(conn: Connection, report: Report) -> None:
    rows = conn.execute(text("""
        SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid),
               s.seq_scan, s.seq_tup_read, s.idx_scan, s.n_live_tup, s.n_dead_tup,
               s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
        WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
        ORDER BY c.relname""")).all()
    for (name, reltuples, size, seq_scan, seq_read, idx_scan, live, dead, vacuum, autovacuum,
         analyze_, autoanalyze) in rows:
        table = Table(name=name, size=size)
        if reltuples is not None and reltuples >= 0:  # -1: never vacuumed nor analysed
            table.rows, table.rows_basis = int(reltuples), "estimate"
        table.stats = {"seq_scan": seq_scan, "seq_tup_read": seq_read, "idx_scan": idx_scan,
                       "n_live_tup": live, "n_dead_tup": dead,
                       "last_vacuum": _when(vacuum, autovacuum),
                       "last_analyze": _when(analyze_, autoanalyze),
                       "analyzed": analyze_ is not None or autoanalyze is not None}
        report.tables.append(table)
    tables = report.table_map
    for (table, name, unique, primary, where, columns, size, method, scans) in conn.execute(
            text("""
        SELECT t.relname, i.relname, x.indisunique, x.indisprimary,
               pg_get_expr(x.indpred, x.indrelid),
               ARRAY(SELECT a.attname::text FROM unnest(x.indkey::int2[]) WITH ORDINALITY
                         AS k(attnum, n)
                     LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
                     WHERE k.n <= x.indnkeyatts ORDER BY k.n),
               pg_relation_size(i.oid), am.amname, s.idx_scan
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
        JOIN pg_am am ON am.oid = i.relam
        LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.oid
        WHERE n.nspname = current_schema() AND t.relkind IN ('r', 'p')
        ORDER BY t.relname, i.relname""")):
        if table in tables:
            tables[table].indexes.append(Index(
                name=name, table=table, columns=list(columns), unique=unique, primary=primary,
                partial=leaves_out_rows(where, columns[0] if columns else None), size=size,
                scans=scans, method=method))
    for table, columns, referred, rule in conn.execute(text("""
        SELECT t.relname,
               ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
                     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
                     ORDER BY k.n),
               r.relname, c.confdeltype
        FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_class r ON r.oid = c.confrelid
        WHERE c.contype = 'f' AND n.nspname = current_schema()
        ORDER BY t.relname, c.conname""")):
        report.foreign_keys.append(ForeignKey(table, list(columns), referred,
                                              PG_DELETE_RULES.get(rule, rule)))
    figures = report.figures
    figures.update(postgresql_statistics(conn))
    scans = conn.execute(text("SELECT coalesce(sum(idx_scan), 0), coalesce(sum(seq_scan), 0) "
                              "FROM pg_stat_user_tables")).one()
    figures["index_scan_share"] = _ratio(scans[0], scans[1])
    _pg_stat_statements(conn, report)


def postgresql_statistics(conn: Connection) -> dict:
    """The server-wide figures of the analysis that monitoring shows live too: size, buffer
    and index hit ratios, connections by state against max_connections, replication."""
    figures: dict[str, Any] = {}
    (figures["database_size"], figures["blocks_hit"], figures["blocks_read"],
     figures["statistics_reset"], figures["max_connections"], figures["in_recovery"],
     standby_lag) = conn.execute(text("""
        SELECT pg_database_size(current_database()), blks_hit, blks_read, stats_reset,
               current_setting('max_connections')::int, pg_is_in_recovery(),
               extract(epoch FROM now() - pg_last_xact_replay_timestamp())
        FROM pg_stat_database WHERE datname = current_database()""")).one()
    figures["statistics_reset"] = _iso(figures["statistics_reset"])
    figures["buffer_blocks"] = int(figures["blocks_hit"] + figures["blocks_read"])
    figures["buffer_hit_ratio"] = _ratio(figures["blocks_hit"], figures["blocks_read"])
    hit, read = conn.execute(text("SELECT coalesce(sum(idx_blks_hit), 0), "
                                  "coalesce(sum(idx_blks_read), 0) FROM pg_statio_user_indexes")
                             ).one()
    figures["index_blocks"] = int(hit + read)
    figures["index_hit_ratio"] = _ratio(hit, read)
    states = conn.execute(text("""
        SELECT coalesce(state, 'unknown'), count(*) FILTER (WHERE datname = current_database()),
               count(*)
        FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1""")).all()
    figures["connections_by_state"] = {state: mine for state, mine, _all in states}
    figures["connections"] = sum(mine for _state, mine, _all in states)
    figures["server_connections"] = sum(every for _state, _mine, every in states)
    # Streaming replicas of this server and how far behind each has replayed (a NULL
    # replay_lag means caught up and idle: 0); on a standby, its own delay.
    figures["replicas"] = [
        {"name": name or address or "replica", "state": state,
         "lag_seconds": None if lag is None else round(float(lag), 3)}
        for name, address, state, lag in conn.execute(text("""
            SELECT application_name, host(client_addr), state,
                   extract(epoch FROM coalesce(replay_lag, interval '0'))
            FROM pg_stat_replication ORDER BY application_name"""))]
    if figures["in_recovery"]:  # (the time since the last replayed commit: an idle
        # primary makes it grow, a busy one shows the real delay)
        figures["replicas"].append({"name": "this server (standby)", "state": "recovery",
                                    "lag_seconds": None if standby_lag is None
                                    else round(float(standby_lag), 3)})
    lags = [r["lag_seconds"] for r in figures["replicas"] if r["lag_seconds"] is not None]
    figures["replica_lag_seconds"] = max(lags) if lags else None
    return figures


def _pg_stat_statements(conn: Connection, report: Report) -> None:
    installed = conn.execute(text(
        "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")).scalar()
    if not installed:
        available = conn.execute(text("SELECT 1 FROM pg_available_extensions "
                                      "WHERE name = 'pg_stat_statements'")).scalar()
        report.statements_note = (
            "pg_stat_statements is not installed in this database: " + ENABLE_PG_STAT_STATEMENTS
            + ("" if available else " (the extension ships with PostgreSQL's contrib "
                                    "package, which this server lacks)") + ".")
        return
    savepoint = conn.begin_nested()
    try:
        rows = conn.execute(text(r"""
            SELECT query, calls, total_exec_time, mean_exec_time, rows
            FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND query !~* :utility AND query !~ :catalog
            ORDER BY total_exec_time DESC"""), {"utility": UTILITY_STATEMENTS,
                                                "catalog": CATALOG_READS}).all()
    except Exception as error:  # e.g. not in shared_preload_libraries
        savepoint.rollback()
        report.statements_note = (f"pg_stat_statements cannot be read "
                                  f"({str(error).splitlines()[0]}): {ENABLE_PG_STAT_STATEMENTS}.")
        return
    savepoint.commit()
    calls = sum(row.calls for row in rows)
    report.figures["statements_calls"] = calls
    if calls:
        report.figures["statements_mean_ms"] = sum(r.total_exec_time for r in rows) / calls
        slow = sum(row.calls for row in rows if row.mean_exec_time > SLOW_QUERY_MS)
        report.figures["statements_slow_share"] = 100.0 * slow / calls
    report.top_statements = [
        {"query": " ".join(row.query.split())[:500], "calls": row.calls,
         "total_ms": round(row.total_exec_time, 1), "mean_ms": round(row.mean_exec_time, 2),
         "rows": row.rows} for row in rows[:10]]


def _sqlite_facts(conn: Connection, report: Report) -> None:
    names = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table' "
                                 "AND name NOT LIKE 'sqlite_%' ORDER BY name").scalars().all()
    report.tables = [Table(name=name) for name in names]
    tables = report.table_map
    indexes: dict[tuple[str, str], Index] = {}
    for table, name, unique, origin, partial, sql, column in conn.exec_driver_sql("""
            SELECT m.name, il.name, il."unique", il.origin, il.partial, x.sql, ii.name
            FROM sqlite_master AS m JOIN pragma_index_list(m.name) AS il
            JOIN pragma_index_info(il.name) AS ii
            LEFT JOIN sqlite_master AS x ON x.type = 'index' AND x.name = il.name
            WHERE m.type = 'table' ORDER BY m.name, il.name, ii.seqno"""):
        index = indexes.get((table, name))
        if index is None:
            where = re.split(r"\bWHERE\b", sql or "", maxsplit=1, flags=re.I)[1:] or [None]
            index = indexes[(table, name)] = Index(
                name=name, table=table, columns=[], unique=bool(unique),
                primary=origin == "pk", method="btree",
                partial=bool(partial) and leaves_out_rows(where[0], column))
            if table in tables:
                tables[table].indexes.append(index)
        index.columns.append(column)
    primary_keys: dict[str, list[str]] = {}
    for table, column in conn.exec_driver_sql("""
            SELECT m.name, p.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p
            WHERE m.type = 'table' AND p.pk > 0 ORDER BY m.name, p.pk"""):
        primary_keys.setdefault(table, []).append(column)
    for table, columns in primary_keys.items():
        if table in tables and not any(i.primary for i in tables[table].indexes):
            # a rowid table's INTEGER PRIMARY KEY is the table's own b-tree
            tables[table].indexes.insert(0, Index(name=f"{table} (rowid primary key)",
                                                  table=table, columns=columns, unique=True,
                                                  primary=True, method="rowid"))
    keys: dict[tuple[str, int], ForeignKey] = {}
    for table, key_id, referred, column, on_delete in conn.exec_driver_sql("""
            SELECT m.name, fk.id, fk."table", fk."from", fk.on_delete
            FROM sqlite_master AS m JOIN pragma_foreign_key_list(m.name) AS fk
            WHERE m.type = 'table' ORDER BY m.name, fk.id, fk.seq"""):
        fk = keys.get((table, key_id))
        if fk is None:
            fk = keys[(table, key_id)] = ForeignKey(table, [], referred, on_delete.upper())
            report.foreign_keys.append(fk)
        fk.columns.append(column)
    figures = report.figures
    for pragma in ("page_size", "page_count", "freelist_count", "journal_mode"):
        figures[pragma] = conn.exec_driver_sql(f"PRAGMA {pragma}").scalar()
    figures["database_size"] = figures["page_size"] * figures["page_count"]
    figures["quick_check"] = "; ".join(
        str(row) for row in conn.exec_driver_sql("PRAGMA quick_check(20)").scalars())
    path = next((row[2] for row in conn.exec_driver_sql("PRAGMA database_list")
                 if row[1] == "main"), "")
    wal = f"{path}-wal" if path else ""
    figures["wal_size"] = os.path.getsize(wal) if wal and os.path.exists(wal) else 0
    savepoint = conn.begin_nested()
    try:  # dbstat needs SQLITE_ENABLE_DBSTAT_VTAB (Debian's and Python's builds have it)
        sizes = dict(conn.exec_driver_sql(
            "SELECT name, pgsize FROM dbstat WHERE aggregate = TRUE").all())
    except Exception as error:
        savepoint.rollback()
        report.notes.append(f"Sizes per table are unavailable: {error}")
    else:
        savepoint.commit()
        for table in report.tables:
            for index in table.indexes:
                index.size = sizes.get(index.name)
            table.size = sizes.get(table.name, 0) + sum(i.size or 0 for i in table.indexes)
    has_stat1 = conn.exec_driver_sql("SELECT 1 FROM sqlite_master "
                                     "WHERE name = 'sqlite_stat1'").scalar() is not None
    figures["sqlite_stat1"] = has_stat1
    analysed = set()
    if has_stat1:
        for table, stat in conn.exec_driver_sql("SELECT tbl, stat FROM sqlite_stat1"):
            analysed.add(table)
            if table in tables and stat:
                tables[table].rows = int(str(stat).split()[0])
                tables[table].rows_basis = "estimate"
    for table in report.tables:
        table.stats["analyzed"] = table.name in analysed


def _when(*moments) -> str | None:
    found = [moment for moment in moments if moment is not None]
    return _iso(max(found)) if found else None


def _iso(moment) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def _ratio(good, bad) -> float | None:
    good, bad = float(good or 0), float(bad or 0)  # sums are Decimal on PostgreSQL
    return round(100.0 * good / (good + bad), 2) if good + bad else None


# -- the probe -------------------------------------------------------------------------------

def probe_pages(app: Flask, report: Report, *, runs: int = PROBE_RUNS,
                pages: list[tuple[str, str]] | None = None) -> None:
    """Render the main pages `runs` times each as the first active admin (erp.monitoring.perf)
    and record their time, statements and plans into `report.probe`."""
    from erp.monitoring.perf import PageRenderer, p95, quiet

    engine = db.engine
    captured: list[tuple[str, Any, float]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("erp_probe_started", []).append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):
        started = conn.info.get("erp_probe_started")
        if started:
            seconds = time.perf_counter() - started.pop()
            if not statement.lstrip()[:16].upper().startswith(TRANSACTION_CONTROL):
                captured.append((statement, parameters, seconds * 1000))

    renderer = PageRenderer(app)
    if renderer.user is None:
        report.probe_note = "No active admin user: the pages were not probed."
        report.probe = []
        return
    pages = renderer.pages if pages is None else pages
    report.probe = []
    used_indexes: set[str] = set()
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        with quiet():
            for endpoint, url in pages:
                renderer.get(url)  # warm: caches, templates
                durations, statements, status = [], [], 200
                for _ in range(max(runs, 1)):
                    captured.clear()
                    result = renderer.get(url)
                    durations.append(result["ms"])
                    status = result["status"]
                    statements = list(captured)
                counts = []
                for size in GROWTH_PAGE_SIZES:
                    captured.clear()
                    joiner = "&" if "?" in url else "?"
                    renderer.get(f"{url}{joiner}per_page={size}")
                    counts.append(len(captured))
                page = PageProbe(endpoint=endpoint, url=url, status=status, runs=len(durations),
                                 median_ms=round(statistics.median(durations), 2),
                                 p95_ms=round(p95(durations), 2), queries=len(statements),
                                 query_ms=[round(ms, 3) for _s, _p, ms in statements],
                                 growth=(counts[0], counts[1]))
                report.probe.append(page)
                page.statements = _explain(engine, statements, report, used_indexes)
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    report.figures["indexes_used_by_probe"] = sorted(used_indexes)


SCAN = re.compile(r"^SCAN (\w+)(?! VIRTUAL)(.*)$")
USING_INDEX = re.compile(r"USING (?:COVERING )?INDEX (\w+)")
PG_SCAN = re.compile(r"Seq Scan on (\w+)")
PG_INDEX = re.compile(r"Index (?:Only )?Scan(?: Backward)? using (\w+)|Bitmap Index Scan on (\w+)")
LIMIT = re.compile(r"\bLIMIT\b", re.IGNORECASE)
ORDER_BY = re.compile(r"\bORDER\s+BY\b", re.IGNORECASE)
ALIAS = re.compile(r'(?:FROM|JOIN)\s+"?(\w+)"?(?:\s+(?:AS\s+)?"?(\w+)"?)?', re.IGNORECASE)


def _explain(engine, statements, report: Report, used_indexes: set[str]) -> list[Statement]:
    """The plans of a page's SELECTs (each text once, the slowest first), with the big
    tables they read whole."""
    tables = report.table_map
    seen, explained = set(), []
    for sql, params, ms in sorted(statements, key=lambda s: -s[2]):
        if sql in seen or not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        seen.add(sql)
        if len(explained) >= MAX_EXPLAINED:
            break
        try:
            with engine.connect() as conn:
                if engine.dialect.name == "sqlite":
                    plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql,
                                                                     params)]
                else:
                    plan = [row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql, params)]
                conn.rollback()
        except Exception as error:  # a statement that cannot be explained is reported
            explained.append(Statement(sql=_short(sql), ms=round(ms, 3),
                                       plan=[f"(no plan: {str(error).splitlines()[0]})"],
                                       full_scans=[]))
            continue
        aliases = {}
        for table, alias in ALIAS.findall(sql):
            aliases[table] = table
            if alias and alias.upper() not in {"ON", "WHERE", "JOIN", "LEFT", "INNER", "ORDER",
                                               "GROUP", "LIMIT", "AS"}:
                aliases[alias] = table
        scans = []
        # a LIMIT without ORDER BY stops a scan early; with ORDER BY only an index scan
        # (which walks the rows in order) stops early, a table scan sorts every row first
        limited = LIMIT.search(sql) is not None
        bounded = limited and ORDER_BY.search(sql) is None
        for line in plan:
            for match in USING_INDEX.finditer(line):
                used_indexes.add(match.group(1))
            for match in PG_INDEX.finditer(line):
                used_indexes.add(match.group(1) or match.group(2))
            if engine.dialect.name == "sqlite":  # SCAN: a whole table, or a whole index
                found = SCAN.match(line.strip())
                by_index = found is not None and "INDEX" in found.group(2)
                name = (aliases.get(found.group(1), found.group(1))
                        if found and not bounded and not (by_index and limited) else None)
            else:
                found = PG_SCAN.search(line)
                name = found.group(1) if found and not bounded else None
            table = tables.get(name) if name else None
            if table is not None and (table.rows or 0) >= report.big_table_rows:
                scans.append(name)
        explained.append(Statement(sql=_short(sql), ms=round(ms, 3), plan=plan,
                                   full_scans=sorted(set(scans))))
    return explained


def _short(sql: str, limit: int = 2000) -> str:
    sql = " ".join(sql.split())
    return sql if len(sql) <= limit else sql[:limit] + " ..."


# -- targets and findings --------------------------------------------------------------------

def targets(app: Flask, report: Report) -> list[Target]:
    """The database plan's targets, each from the best source there is: pg_stat_statements
    (the server's whole history), else the live traffic (erp.monitoring), else the probe."""
    figures = report.figures
    live = _live_figures(app)
    probe_ms = [ms for page in report.probe or [] for ms in page.query_ms]
    found: list[Target] = []

    def add(key: str, value, source: str) -> None:
        threshold = DATABASE_TARGETS[key]
        found.append(Target(key, threshold.label, None if value is None else round(value, 2),
                            threshold.unit.strip(), threshold.level(value),
                            threshold.describe(), source))

    if figures.get("statements_mean_ms") is not None:
        add("query_mean_ms", figures["statements_mean_ms"],
            f"pg_stat_statements, {figures['statements_calls']:,} calls")
    elif live.get("queries"):
        add("query_mean_ms", live["query_time_ms"],
            f"live traffic, last five minutes, {live['queries']:,} queries")
    elif probe_ms:
        add("query_mean_ms", sum(probe_ms) / len(probe_ms), f"probe, {len(probe_ms):,} queries")
    else:
        add("query_mean_ms", None, "no traffic recorded: run with --probe")
    if figures.get("statements_slow_share") is not None:
        add("slow_query_share", figures["statements_slow_share"],
            f"pg_stat_statements: statements whose mean is over {SLOW_QUERY_MS:g} ms")
    elif probe_ms:
        slow = sum(1 for ms in probe_ms if ms > SLOW_QUERY_MS)
        add("slow_query_share", 100.0 * slow / len(probe_ms),
            f"probe: {slow} of {len(probe_ms):,} queries over {SLOW_QUERY_MS:g} ms")
    else:
        add("slow_query_share", None, "no statement timings: run with --probe"
            + (" or enable pg_stat_statements" if report.dialect == "postgresql" else ""))
    if report.dialect == "postgresql":
        blocks = figures.get("index_blocks") or 0
        if blocks >= MIN_BLOCKS:
            add("index_hit_ratio", figures.get("index_hit_ratio"),
                f"pg_statio_user_indexes: index blocks found in the buffer cache, "
                f"of {blocks:,} read")
        else:
            add("index_hit_ratio", None, f"{blocks:,} index blocks read since the statistics "
                "reset: too few to judge")
        add("connections", figures.get("connections"),
            f"pg_stat_activity: client connections to this database "
            f"(server limit {figures.get('max_connections')})")
    else:
        add("index_hit_ratio", None, "SQLite keeps no buffer statistics")
        add("connections", None, "SQLite: an embedded file, no server connections")
    checkouts, connects = POOL_COUNTS["checkouts"], POOL_COUNTS["connects"]
    if checkouts >= 20:
        add("pool_efficiency", 100.0 * (checkouts - min(connects, checkouts)) / checkouts,
            f"this process: {checkouts:,} checkouts, {connects:,} new connections")
    else:
        add("pool_efficiency", None,
            f"this process has checked out {checkouts} connections: too few to judge")
    return found


def _live_figures(app: Flask) -> dict:
    monitor = app.extensions.get("erp_monitoring")
    if monitor is None:
        return {}
    try:
        return monitor.recorder.summary(history=False)["figures"]
    except Exception:  # the monitoring store is down: the analysis goes on without it
        return {}


def findings(report: Report) -> list[Finding]:
    """What the facts call for, each with its evidence; the worst first."""
    found: list[Finding] = []
    tables = report.table_map
    big = report.big_table_rows

    def rows_of(name: str) -> int:
        table = tables.get(name)
        return (table.rows or 0) if table else 0

    for fk in report.unindexed_foreign_keys:
        rows = rows_of(fk.table)
        found.append(Finding(
            "critical" if rows >= big else "warning",
            f"Foreign key without an index: {fk.label}",
            [f"{fk.label} ON DELETE {fk.on_delete}; no index of {fk.table} leads with "
             f"{', '.join(fk.columns)}", f"{fk.table} has {tables[fk.table].rows_label} rows"
             if fk.table in tables else ""],
            f"CREATE INDEX ix_{fk.table}_{'_'.join(fk.columns)} ON {fk.table} "
            f"({', '.join(fk.columns)}); without it every delete or key change in "
            f"{fk.referred_table} reads {fk.table} whole, and joins on it scan."))
    quiet_unused = []  # small tables: one finding naming them all
    for index in report.unused_indexes:
        if index.serves:
            continue  # a foreign key's index serves deletes whether or not reads use it
        reset = report.figures.get("statistics_reset")
        basis = ("used by none of the probed statements" if index.scans is None else
                 f"never scanned since the statistics reset of {reset}" if reset else
                 "never scanned since the statistics began (never reset)")
        if index.scans is None or rows_of(index.table) < big:
            quiet_unused.append((index, basis))
            continue
        found.append(Finding(
            "warning", f"Unused index: {index.name}",
            [f"{index.name} on {index.table}({_columns(index)}): {basis}",
             f"size {size_label(index.size)}; {index.table} has "
             f"{tables[index.table].rows_label} rows"],
            f"If no report or rare job needs it, DROP INDEX {index.name}: every write to "
            f"{index.table} maintains it."))
    if quiet_unused and report.dialect == "postgresql":
        found.append(Finding(
            "info", f"Unused indexes on small tables: {len(quiet_unused)}",
            [f"{index.name} on {index.table}({_columns(index)}), {size_label(index.size)}: {basis}"
             for index, basis in quiet_unused],
            "Harmless while the tables are small; drop those no report or job needs before "
            "they grow."))
    elif quiet_unused:  # SQLite keeps no statistics: only the probe's plans tell
        found.append(Finding(
            "info", f"Indexes none of the probed statements used: {len(quiet_unused)}",
            [f"{index.name} on {index.table}({_columns(index)}), {size_label(index.size)}; "
             f"{tables[index.table].rows_label} rows" for index, _basis in quiet_unused],
            "The probe renders the lists unfiltered: check that a filter, a sort, a record "
            "page or a report uses each of these before dropping it."))
    for table, index, other in _redundant_indexes(report):
        found.append(Finding(
            "info", f"Redundant index: {index.name}",
            [f"{index.name} ({', '.join(index.columns)}) is a leading part of {other.name} "
             f"({', '.join(other.columns)}) on {table}"],
            f"DROP INDEX {index.name}: {other.name} serves the same lookups."))
    if report.dialect == "postgresql":
        found += _postgresql_findings(report)
    elif report.dialect == "sqlite":
        found += _sqlite_findings(report)
    for page in report.probe or []:
        if page.status >= 500:
            found.append(Finding("critical", f"Page fails: {page.url}",
                                 [f"status {page.status}"], "See the application log."))
        if page.grows_with_rows:
            found.append(Finding(
                "warning", f"Query count grows with rows: {page.url}",
                [f"{page.growth[0]} queries with per_page={GROWTH_PAGE_SIZES[0]}, "
                 f"{page.growth[1]} with per_page={GROWTH_PAGE_SIZES[1]}"],
                "A query per row (N+1): eager-load what the rows show (selectinload, "
                "joinedload) in the list's query."))
        if page.full_scans:
            found.append(Finding(
                "warning", f"Full scan of a big table: {page.url}",
                [f"{s.ms:.1f} ms: {' / '.join(s.plan)}" for s in page.statements
                 if s.full_scans][:3] + [f"tables: {', '.join(page.full_scans)}"],
                "Add an index that serves the statement's filter and order (company_id "
                "first), or bound the query."))
    for target in report.targets:
        if target.level in {"fair", "warning", "critical"}:
            found.append(Finding(
                "info" if target.level == "fair" else target.level,
                f"Target not met: {target.label}",
                [f"{target.value}{target.unit} ({target.source}); {target.thresholds}"],
                TARGET_ADVICE.get(target.key, "")))
    found.sort(key=lambda f: -FINDING_LEVELS.index(f.level))
    return found


TARGET_ADVICE = {
    "query_mean_ms": "Look at the slowest statements (pg_stat_statements or --probe) and "
                     "their plans.",
    "slow_query_share": "The slowest statements first: their plans show the missing index "
                        "or the unbounded read.",
    "index_hit_ratio": "The indexes do not fit in memory: raise shared_buffers, or drop "
                       "unused indexes.",
    "connections": "Fewer gunicorn workers, a smaller DB_POOL_SIZE / DB_MAX_OVERFLOW, or a "
                   "connection pooler (PgBouncer).",
    "pool_efficiency": "Connections are opened instead of reused: check pool_recycle and "
                       "that the pool is not disposed.",
}


def _redundant_indexes(report: Report):
    """Plain b-tree indexes whose columns lead another plain index of the same table."""
    for table in report.tables:
        plain = [i for i in table.indexes if i.method == "btree" and not i.partial
                 and not i.unique and None not in i.columns]
        others = [i for i in table.indexes if i.method == "btree" and not i.partial
                  and None not in i.columns]
        for index in plain:
            for other in others:
                if other is not index and len(other.columns) > len(index.columns) \
                        and other.columns[:len(index.columns)] == index.columns:
                    yield table.name, index, other
                    break


def _postgresql_findings(report: Report) -> list[Finding]:
    found = []
    figures = report.figures
    big = report.big_table_rows
    for table in report.tables:
        stats, rows = table.stats, table.rows or 0
        seq, idx = stats.get("seq_scan") or 0, stats.get("idx_scan") or 0
        if rows >= big and seq > idx and (stats.get("seq_tup_read") or 0) >= rows:
            found.append(Finding(
                "warning", f"Mostly sequential scans: {table.name}",
                [f"{seq:,} sequential scans ({stats.get('seq_tup_read') or 0:,} rows read) "
                 f"against {idx:,} index scans; {table.rows_label} rows"],
                "Find the statements that read it (pg_stat_statements, --probe) and index "
                "their filters."))
        dead, live = stats.get("n_dead_tup") or 0, stats.get("n_live_tup") or 0
        if dead > 1000 and dead > 0.2 * live:
            found.append(Finding(
                "warning", f"Dead rows pile up: {table.name}",
                [f"{dead:,} dead rows against {live:,} live; last vacuum "
                 f"{stats.get('last_vacuum') or 'never'}"],
                f"VACUUM (ANALYZE) {table.name}; if it recurs, make autovacuum more eager "
                "for the table (autovacuum_vacuum_scale_factor)."))
        if rows >= 1000 and not stats.get("analyzed"):
            found.append(Finding(
                "warning", f"Never analysed: {table.name}",
                [f"{table.rows_label} rows; no ANALYZE nor autoanalyze yet"],
                f"ANALYZE {table.name}: the planner guesses without statistics."))
        if stats.get("stale_estimate") is not None:  # None: never analysed, said above
            found.append(_stale(table, "ANALYZE"))
    if (figures.get("buffer_hit_ratio") is not None and figures["buffer_hit_ratio"] < 90
            and figures["blocks_hit"] + figures["blocks_read"] >= MIN_BLOCKS):
        found.append(Finding(
            "warning", "Low buffer cache hit ratio",
            [f"{figures['buffer_hit_ratio']}% of block reads found in shared buffers "
             f"({figures['blocks_hit']:,} hits, {figures['blocks_read']:,} reads)"],
            "Raise shared_buffers (about a quarter of RAM), or find the statements that read "
            "whole big tables."))
    limit = figures.get("max_connections") or 0
    used = figures.get("server_connections") or 0
    if limit and used >= 0.8 * limit:
        found.append(Finding(
            "critical" if used >= 0.95 * limit else "warning", "Connections near the limit",
            [f"{used} client connections to the server, max_connections = {limit}; by state "
             f"here: {figures.get('connections_by_state')}"],
            "Workers x (DB_POOL_SIZE + DB_MAX_OVERFLOW) must stay under max_connections; "
            "use a connection pooler for more hosts."))
    if report.top_statements is None:
        found.append(Finding("info", "pg_stat_statements is not available",
                             [report.statements_note], ENABLE_PG_STAT_STATEMENTS + "."))
    else:
        slow = [row for row in report.top_statements if row["mean_ms"] > SLOW_QUERY_MS]
        if slow:
            found.append(Finding(
                "warning", f"Slow statements: {len(slow)} of the top {len(report.top_statements)}",
                [f"mean {row['mean_ms']} ms over {row['calls']:,} calls: {row['query'][:200]}"
                 for row in slow],
                "EXPLAIN (ANALYZE, BUFFERS) each and index what it filters on (a bulk load's "
                "statements are slow on purpose: pg_stat_statements_reset() after one)."))
    return found


def _sqlite_findings(report: Report) -> list[Finding]:
    found = []
    figures = report.figures
    if figures.get("quick_check") != "ok":
        found.append(Finding("critical", "The database file is damaged",
                             [f"PRAGMA quick_check: {figures.get('quick_check')}"],
                             "Restore the latest backup (flask restore), or dump what reads."))
    if str(figures.get("journal_mode")).lower() != "wal":
        found.append(Finding("warning", "Not in WAL mode",
                             [f"journal_mode = {figures.get('journal_mode')}"],
                             "Readers then block writers: PRAGMA journal_mode=WAL."))
    pages, free = figures.get("page_count") or 0, figures.get("freelist_count") or 0
    if free > 1000 and free > 0.2 * pages:
        found.append(Finding("info", "Much free space in the file",
                             [f"{free:,} of {pages:,} pages are free"],
                             "VACUUM (with the app stopped) gives the space back."))
    if (figures.get("wal_size") or 0) > 64 * 1048576:
        found.append(Finding("warning", "The WAL file is large",
                             [f"{size_label(figures['wal_size'])} of write-ahead log"],
                             "A long read transaction keeps checkpoints from finishing; "
                             "PRAGMA wal_checkpoint(TRUNCATE) once it ends."))
    unanalysed = [t for t in report.tables if (t.rows or 0) >= 1000 and not t.stats.get("analyzed")
                  and t.module and not t.module.startswith("(")]
    if unanalysed:
        found.append(Finding(
            "warning", "Planner statistics missing" if not figures.get("sqlite_stat1")
            else "Planner statistics incomplete",
            [f"sqlite_stat1 {'exists' if figures.get('sqlite_stat1') else 'does not exist'}; "
             f"not analysed: " + ", ".join(f"{t.name} ({t.rows_label} rows)"
                                            for t in unanalysed[:10])],
            "PRAGMA optimize (or ANALYZE) after bulk loads and migrations: a peer's list ran "
            "80 times faster after one ANALYZE."))
    for table in report.tables:
        if table.stats.get("stale_estimate") is not None:  # None: no statistics, said above
            found.append(_stale(table, "ANALYZE"))
    return found


def _stale(table: Table, command: str) -> Finding:
    return Finding("warning", f"Stale planner statistics: {table.name}",
                   [f"more than {EXACT_COUNT_LIMIT:,} rows; the statistics say "
                    f"{table.stats['stale_estimate']:,}"],
                   f"{command} {table.name}: the planner chooses its plans by these figures.")


# -- the pool's reuse (pool efficiency) --------------------------------------------------------

POOL_COUNTS = {"checkouts": 0, "connects": 0, "waits": 0}


def _on_connect(dbapi_connection, record) -> None:
    POOL_COUNTS["connects"] += 1


def _on_checkout(dbapi_connection, record, proxy) -> None:
    POOL_COUNTS["checkouts"] += 1
    stats = current_stats()
    if stats is not None:
        stats.checkouts += 1


class MeasuredQueuePool(QueuePool):
    """QueuePool that counts the checkouts which found every connection in use (pool and
    overflow) and so waited for one to come back: the pool waits. SQLAlchemy has no event
    before a checkout, hence the subclass (the engine's `poolclass`, erp/__init__.py)."""

    def _do_get(self):
        full = 0 <= self._max_overflow and self.checkedout() >= self.size() + self._max_overflow
        if not full:
            return super()._do_get()
        started = time.perf_counter()
        try:
            return super()._do_get()
        finally:
            seconds = time.perf_counter() - started
            POOL_COUNTS["waits"] += 1
            metrics.observe_pool_wait(seconds)
            stats = current_stats()
            if stats is not None:
                stats.pool_waits += 1


def pool_figures(engine) -> dict:
    """This process's pool: connections checked out against its size plus overflow."""
    pool = engine.pool
    figures: dict[str, Any] = {"pool_class": type(pool).__name__}
    if isinstance(pool, QueuePool):
        capacity = pool.size() + max(pool._max_overflow, 0)
        figures.update(pool_size=pool.size(), pool_checked_out=pool.checkedout(),
                       pool_capacity=capacity,
                       pool_usage=round(100.0 * pool.checkedout() / capacity, 1)
                       if capacity else None)
    return figures


HEALTH_SECONDS = 5.0  # the server figures are read at most this often per process
_health_cache: dict[str, tuple[float, dict]] = {}


def server_health(engine) -> dict:
    """The database's live health for monitoring: this process's pool, and on PostgreSQL
    the server's statistics (`postgresql_statistics`, read at most every HEALTH_SECONDS).
    The server's figures are {} when it cannot be read: monitoring never fails a page."""
    figures = pool_figures(engine)
    figures["dialect"] = engine.dialect.name
    if engine.dialect.name == "postgresql":
        key = str(engine.url)
        cached = _health_cache.get(key)
        if cached is None or time.monotonic() - cached[0] > HEALTH_SECONDS:
            try:
                with engine.connect() as conn:
                    server = postgresql_statistics(conn)
                    conn.rollback()
            except Exception as exc:  # the database is down: health says so, never a 500
                server = {"error": f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}"}
            cached = _health_cache[key] = (time.monotonic(), server)
        figures.update(cached[1])
        replicas = current_app.extensions.get("erp_replicas") if has_app_context() else None
        if replicas is not None:  # the app's own replicas (DATABASE_REPLICA_URLS), as routed
            figures["replicas"] = replicas.status()
            lags = [r["lag_seconds"] for r in figures["replicas"] if r["lag_seconds"] is not None]
            figures["replica_lag_seconds"] = max(lags) if lags else None
            figures["replicas_skipped"] = sum(not r["usable"] for r in figures["replicas"])
        if figures.get("connections") is not None and figures.get("max_connections"):
            figures["server_connections_share"] = round(
                100.0 * figures["server_connections"] / figures["max_connections"], 1)
    return figures


# The figures of `server_health` that join the monitoring summary's figures and levels.
HEALTH_FIGURES = ("pool_checked_out", "pool_capacity", "pool_usage", "connections",
                  "server_connections", "max_connections", "server_connections_share",
                  "buffer_hit_ratio", "index_hit_ratio", "replica_lag_seconds")


def health_levels(figures: dict) -> dict:
    """The level of each database figure against its threshold; a hit ratio over fewer
    than MIN_BLOCKS block reads is `unknown` (a fresh server says nothing)."""
    levels = {key: level(key, figures.get(key))
              for key in ("connections", "server_connections_share", "pool_usage",
                          "replica_lag_seconds")}
    for key, blocks in (("buffer_hit_ratio", "buffer_blocks"),
                        ("index_hit_ratio", "index_blocks")):
        enough = (figures.get(blocks) or 0) >= MIN_BLOCKS
        levels[key] = level(key, figures.get(key) if enough else None)
    return levels


def instrument_pool(engine) -> None:
    """Count this process's checkouts and new connections: the pool's efficiency is the
    share of checkouts served by a connection already open."""
    if not event.contains(engine, "checkout", _on_checkout):
        event.listen(engine, "connect", _on_connect)
        event.listen(engine, "checkout", _on_checkout)


# -- output ----------------------------------------------------------------------------------

def size_label(value: int | None) -> str:
    if value is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return str(value)


def _columns(index: Index) -> str:
    return ", ".join(column or "(expression)" for column in index.columns)


def _met(target: Target) -> str:
    return {True: "met", False: "NOT met", None: "not measured"}[target.met]


def to_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2, default=str)


def format_text(report: Report, *, markdown: bool = False) -> str:
    """The report as plain text, or as Markdown (`markdown=True`)."""
    out: list[str] = []

    def heading(title: str) -> None:
        out.append("")
        out.append(f"## {title}" if markdown else f"{title}\n{'=' * len(title)}")

    def table(header: tuple, rows: list[tuple]) -> None:
        cells = [tuple(str(c) for c in header)] + [tuple(str(c) for c in row) for row in rows]
        if markdown:
            out.append("| " + " | ".join(cells[0]) + " |")
            out.append("|" + "---|" * len(header))
            out.extend("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"
                       for row in cells[1:])
            return
        widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
        for n, row in enumerate(cells):
            out.append("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())
            if n == 0:
                out.append("  ".join("-" * w for w in widths))

    title = "Database analysis"
    out.append(f"# {title}" if markdown else title)
    out.append(f"{report.dialect} {report.server_version} · {report.database} · "
               f"{report.generated_at}")
    out.append(f"{len(report.tables)} tables, {sum(1 for t in report.tables if t.model)} "
               f"models, {len(report.indexes)} indexes, {len(report.foreign_keys)} foreign "
               f"keys; {size_label(report.figures.get('database_size'))} on disk. Findings: "
               f"{report.count('critical')} critical, {report.count('warning')} warning, "
               f"{report.count('info')} info.")

    heading("Targets of the database plan")
    table(("target", "value", "level", "met", "thresholds", "source"),
          [(t.label, "-" if t.value is None else f"{t.value}{t.unit}", t.level, _met(t),
            t.thresholds, t.source) for t in report.targets])

    heading("Findings")
    if not report.findings:
        out.append("Nothing to recommend.")
    for finding in report.findings:
        out.append(f"{'- ' if markdown else ''}[{finding.level.upper()}] {finding.title}")
        for line in finding.evidence:
            if line:
                out.append(f"    evidence: {line}")
        out.append(f"    advice: {finding.advice}")

    heading("Tables and models per module")
    for module, tables in report.modules.items():
        out.append(f"{module}: " + ", ".join(
            f"{t.model} ({t.name})" if t.model else t.name for t in tables))

    heading("Tables")
    table(("table", "module", "rows", "size", "indexes"),
          [(t.name, t.module or "-", t.rows_label, size_label(t.size), len(t.indexes))
           for t in sorted(report.tables, key=lambda t: -(t.rows or 0))])

    heading("Indexes")
    table(("table", "index", "columns", "kind", "size", "scans", "serves"),
          [(i.table, i.name, _columns(i),
            "primary" if i.primary else "unique" if i.unique else i.method or "",
            size_label(i.size), "-" if i.scans is None else f"{i.scans:,}", i.serves or "")
           for i in report.indexes])

    heading("Foreign keys by delete rule")
    for rule, fks in report.foreign_keys_by_rule.items():
        out.append(f"{rule} ({len(fks)}): " + ", ".join(fk.label for fk in fks))
    unindexed = report.unindexed_foreign_keys
    out.append("")
    out.append("Foreign keys without an index leading with them: "
               + (", ".join(fk.label for fk in unindexed) if unindexed else "none"))

    heading(f"{'PostgreSQL statistics' if report.dialect == 'postgresql' else 'Database figures'}")
    for name, value in report.figures.items():
        if name == "indexes_used_by_probe":
            continue
        shown = size_label(value) if name.endswith("_size") else value
        out.append(f"{name}: {shown}")
    out.append(f"unused indexes: {report.unused_label}")
    if report.dialect == "postgresql":
        seq = [(t.name, t.stats.get("seq_scan"), t.stats.get("idx_scan"),
                t.stats.get("n_live_tup"), t.stats.get("n_dead_tup"),
                t.stats.get("last_vacuum") or "never", t.stats.get("last_analyze") or "never")
               for t in report.tables]
        table(("table", "seq scans", "index scans", "live", "dead", "last vacuum",
               "last analyze"), seq)
        heading("Top statements (pg_stat_statements)")
        if report.top_statements is None:
            out.append(report.statements_note)
        else:
            table(("total ms", "calls", "mean ms", "rows", "statement"),
                  [(s["total_ms"], s["calls"], s["mean_ms"], s["rows"], s["query"][:120])
                   for s in report.top_statements])
    for note in report.notes:
        out.append(f"note: {note}")

    if report.probe is not None:
        heading("Probe of the main pages")
        if report.probe_note:
            out.append(report.probe_note)
        table(("page", "status", "runs", "median ms", "p95 ms", "queries",
               f"queries at per_page {GROWTH_PAGE_SIZES[0]}/{GROWTH_PAGE_SIZES[1]}",
               "full scans"),
              [(p.url, p.status, p.runs, p.median_ms, p.p95_ms, p.queries,
                f"{p.growth[0]}/{p.growth[1]}" + (" GROWS" if p.grows_with_rows else "")
                if p.growth else "-", ", ".join(p.full_scans) or "-") for p in report.probe])
        for page in report.probe:
            out.append("")
            out.append(f"{'### ' if markdown else '-- '}{page.url}")
            for statement in page.statements:
                out.append(f"  {statement.ms:.2f} ms: {statement.sql[:300]}")
                for line in statement.plan:
                    out.append(f"      {line}")
    return "\n".join(out) + "\n"


def fails(report: Report, fail_on: str | None) -> bool:
    """Whether a finding is at `fail_on` (warning or critical) or worse."""
    if not fail_on:
        return False
    return any(FINDING_LEVELS.index(f.level) >= FINDING_LEVELS.index(fail_on)
               for f in report.findings)

