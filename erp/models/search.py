"""Indexes for searching products by any part of their SKU, name or barcode.

A search is a substring match (`LIKE '%term%'`), which no b-tree index serves: on 200,000
products it reads them all. So each database gets the index made for it:

- PostgreSQL: pg_trgm GIN indexes on the lowered columns; the LIKE query is unchanged.
- SQLite: an FTS5 table with the trigram tokenizer over the same columns, kept in step with
  `products` by triggers (updates of other columns, such as the stock service's
  `available`, do not touch it); `erp.queries.search` matches against it.

The DDL is here once and used both by `db.create_all()` (tests, fresh development
databases) through metadata events and by migration 0003. Expression indexes and a
virtual table are not something the models can describe, so the migration drift test
ignores them (`SEARCH_INDEXES`, `SEARCH_TABLE`). The b-tree index on lower(sku) for exact,
case-insensitive SKU lookups is here for the same reason.
"""
from __future__ import annotations

from sqlalchemy import DDL, event

from erp.models.catalog import Product

SEARCH_TABLE = "products_search"
# a picked or imported SKU is found case-insensitively (erp.services.catalog.find_product)
LOWER_SKU = ("CREATE INDEX IF NOT EXISTS ix_products_company_lower_sku "
             "ON products (company_id, lower(sku))")
COLUMNS = ("sku", "name", "barcode")

SQLITE = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {SEARCH_TABLE} USING fts5(sku, name, barcode, "
    "content='products', content_rowid='id', tokenize='trigram')",
    f"CREATE TRIGGER IF NOT EXISTS products_search_insert AFTER INSERT ON products BEGIN "
    f"INSERT INTO {SEARCH_TABLE}(rowid, sku, name, barcode) "
    "VALUES (new.id, new.sku, new.name, new.barcode); END",
    f"CREATE TRIGGER IF NOT EXISTS products_search_delete AFTER DELETE ON products BEGIN "
    f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}, rowid, sku, name, barcode) "
    "VALUES ('delete', old.id, old.sku, old.name, old.barcode); END",
    f"CREATE TRIGGER IF NOT EXISTS products_search_update AFTER UPDATE OF sku, name, barcode "
    f"ON products BEGIN "
    f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}, rowid, sku, name, barcode) "
    "VALUES ('delete', old.id, old.sku, old.name, old.barcode); "
    f"INSERT INTO {SEARCH_TABLE}(rowid, sku, name, barcode) "
    "VALUES (new.id, new.sku, new.name, new.barcode); END",
    f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}) VALUES ('rebuild')",  # existing rows
    LOWER_SKU,
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS products_search_{event_}"
               for event_ in ("insert", "delete", "update")] + [
    f"DROP TABLE IF EXISTS {SEARCH_TABLE}", "DROP INDEX IF EXISTS ix_products_company_lower_sku"]

SEARCH_INDEXES = [f"ix_products_trgm_{column}" for column in COLUMNS] + [
    "ix_products_company_lower_sku"]
POSTGRESQL = ["CREATE EXTENSION IF NOT EXISTS pg_trgm"] + [
    f"CREATE INDEX IF NOT EXISTS ix_products_trgm_{column} ON products "
    f"USING gin (lower({column}) gin_trgm_ops)" for column in COLUMNS] + [LOWER_SKU]
POSTGRESQL_DROP = [f"DROP INDEX IF EXISTS {name}" for name in SEARCH_INDEXES]


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """For Alembic's autogenerate and the drift test: leave the search DDL out."""
    if type_ == "table" and name and name.startswith(SEARCH_TABLE):
        return False  # the FTS5 table and its shadow tables
    return not (type_ == "index" and name in SEARCH_INDEXES)


def statements(dialect: str, *, drop: bool = False) -> list[str]:
    if dialect == "postgresql":
        return POSTGRESQL_DROP if drop else POSTGRESQL
    if dialect == "sqlite":
        return SQLITE_DROP if drop else SQLITE
    return []


def _listen() -> None:
    # create_all: after the products table exists; drop_all: the FTS table goes with it
    for dialect in ("sqlite", "postgresql"):
        for statement in statements(dialect):
            event.listen(Product.__table__, "after_create",
                         DDL(statement).execute_if(dialect=dialect))
    for statement in SQLITE_DROP:
        event.listen(Product.__table__, "before_drop",
                     DDL(statement).execute_if(dialect="sqlite"))


_listen()
