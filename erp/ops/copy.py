"""Copy every table from the current database into another (SQLite to PostgreSQL).

The target must be migrated (`flask db upgrade`) and empty. Rows keep their ids; the
PostgreSQL id sequences are moved past the largest id afterwards. All in one
transaction on the target: a failure leaves it empty.
"""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import MetaData, create_engine, func, select
from sqlalchemy.engine import Engine
from erp.i18n import _

BATCH = 2000


class CopyError(RuntimeError):
    """The copy was refused or failed; the message says why."""


def copy_data(source: Engine, target_url: str, metadata: MetaData,
              progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Copy all rows of `metadata`'s tables; return the row count per table."""
    target = create_engine(target_url)
    counts: dict[str, int] = {}
    try:
        with target.connect() as check:
            existing = set(target.dialect.get_table_names(check))
            missing = [t.name for t in metadata.sorted_tables if t.name not in existing]
            if missing:
                raise CopyError(_('The target is not migrated (missing tables: %(value)s). Run flask db upgrade against it first.', value=', '.join(missing[:5])))
            for table in metadata.sorted_tables:
                if check.execute(select(func.count()).select_from(table)).scalar():
                    raise CopyError(_('The target is not empty (table %(name)s has rows).', name=table.name))
        with source.connect() as src, target.begin() as dst:
            for table in metadata.sorted_tables:
                rows = src.execute(select(table).order_by(*table.primary_key.columns))
                copied = 0
                while batch := rows.fetchmany(BATCH):
                    dst.execute(table.insert(), [dict(row._mapping) for row in batch])
                    copied += len(batch)
                    if progress:
                        progress(table.name, len(batch))
                counts[table.name] = copied
            if dst.dialect.name == "postgresql":
                for table in metadata.sorted_tables:
                    if "id" in table.c and table.c.id.autoincrement is not False:
                        highest = select(func.max(table.c.id)).scalar_subquery()
                        dst.execute(select(func.setval(
                            func.pg_get_serial_sequence(table.name, "id"),
                            func.coalesce(highest, 0) + 1, False)))
    finally:
        target.dispose()
    return counts
