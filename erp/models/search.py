"""Indexes for searching products by any part of their SKU, name or barcode.

A search is a substring match (`LIKE '%term%'`), which no b-tree index serves: on 200,000
products it reads them all. So each database gets the index made for it:

- PostgreSQL: pg_trgm GIN indexes on the folded columns (erp.collation: İ, I, ı as i,
  lower case), which serve the LIKE of a folded term.
- SQLite: an FTS5 table with the trigram tokenizer over the same columns, folded, kept in
  step with `products` by triggers (updates of other columns, such as the stock service's
  `available`, do not touch it); `erp.queries.search` matches the folded term against it.

The DDL is here once and used both by `db.create_all()` (tests, fresh development
databases) through metadata events and by migrations 0003 and 0029. Expression indexes and a
virtual table are not something the models can describe, so the migration drift test
ignores them (`SEARCH_INDEXES`, `SEARCH_TABLE`). The b-tree index on lower(sku) for exact,
case-insensitive SKU lookups is here for the same reason, and so are PostgreSQL's indexes in
Turkish order (`COLLATED_INDEXES`).
"""
from __future__ import annotations

from sqlalchemy import DDL, event

from erp.collation import COLLATION, ICU_COLLATION, postgresql_fold, sqlite_fold
from erp.models.catalog import Product
from erp.models.forms import ANSWER_TRIGRAM_INDEX
from erp.models.sales import Customer

SEARCH_TABLE = "products_search"
# a picked or imported SKU is found case-insensitively (erp.services.catalog.find_product)
LOWER_SKU = ("CREATE INDEX IF NOT EXISTS ix_products_company_lower_sku "
             "ON products (company_id, lower(sku))")
COLUMNS = ("sku", "name", "barcode")


def _folded_values(prefix: str) -> str:
    return ", ".join(sqlite_fold(f"{prefix}{column}") for column in COLUMNS)


# The FTS5 table holds the search form of the text (erp.collation: İ, I, ı as i; FTS5
# folds the other capitals), in plain SQL so that any connection can write products. Its
# content is not the products' own text, so it is filled by FILL_SQLITE, never 'rebuild'.
FILL_SQLITE = [
    f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}) VALUES ('delete-all')",
    f"INSERT INTO {SEARCH_TABLE}(rowid, sku, name, barcode) "
    f"SELECT id, {_folded_values('')} FROM products",
]
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS products_search_insert AFTER INSERT ON products BEGIN "
    f"INSERT INTO {SEARCH_TABLE}(rowid, sku, name, barcode) "
    f"VALUES (new.id, {_folded_values('new.')}); END",
    f"CREATE TRIGGER IF NOT EXISTS products_search_delete AFTER DELETE ON products BEGIN "
    f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}, rowid, sku, name, barcode) "
    f"VALUES ('delete', old.id, {_folded_values('old.')}); END",
    f"CREATE TRIGGER IF NOT EXISTS products_search_update AFTER UPDATE OF sku, name, barcode "
    f"ON products BEGIN "
    f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}, rowid, sku, name, barcode) "
    f"VALUES ('delete', old.id, {_folded_values('old.')}); "
    f"INSERT INTO {SEARCH_TABLE}(rowid, sku, name, barcode) "
    f"VALUES (new.id, {_folded_values('new.')}); END",
]
SQLITE_TRIGGERS_DROP = [f"DROP TRIGGER IF EXISTS products_search_{event_}"
                        for event_ in ("insert", "delete", "update")]
SQLITE = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {SEARCH_TABLE} USING fts5(sku, name, barcode, "
    "content='products', content_rowid='id', tokenize='trigram')",
    *SQLITE_TRIGGERS,
    *FILL_SQLITE,  # existing rows
    LOWER_SKU,
]
SQLITE_DROP = SQLITE_TRIGGERS_DROP + [
    f"DROP TABLE IF EXISTS {SEARCH_TABLE}", "DROP INDEX IF EXISTS ix_products_company_lower_sku"]

# Turkish order for Turkish readers (erp.collation.reader_order) walked by an index: the
# product list by SKU or name, the customer list by name (the big lists: sorting 20,000
# products through SQLite's Python collation took 0.6-0.9 s a page). Without `active`, so
# one index serves the active, the archived and all rows. PostgreSQL: on a server built
# with ICU. SQLite: in the collation the app registers on each connection, so a connection
# without it (a sqlite3 shell) reads these tables but cannot add rows or change the names.
COLLATED_INDEXES = {
    "ix_products_company_sku_tr": "products (company_id, sku COLLATE {c}, id)",
    "ix_products_company_name_tr": "products (company_id, name COLLATE {c}, id)",
    "ix_customers_company_name_tr": "customers (company_id, name COLLATE {c}, id)",
}
COLLATED_DROP = [f"DROP INDEX IF EXISTS {name}" for name in COLLATED_INDEXES]


def collated_indexes(table: str, dialect: str = "postgresql") -> list[str]:
    """The Turkish-order indexes of `table` (on PostgreSQL only where the collation exists)."""
    collation = COLLATION if dialect == "sqlite" else f'"{ICU_COLLATION}"'
    creates = [f"CREATE INDEX IF NOT EXISTS {name} ON {on.format(c=collation)}"
               for name, on in COLLATED_INDEXES.items() if on.startswith(table + " ")]
    if dialect == "sqlite":
        return creates
    return ["DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_collation WHERE collname = "
            f"'{ICU_COLLATION}') THEN {'; '.join(creates)}; END IF; END $$"]


SEARCH_INDEXES = [f"ix_products_trgm_{column}" for column in COLUMNS] + [
    "ix_products_company_lower_sku", *COLLATED_INDEXES]
TRIGRAM_INDEXES = [
    f"CREATE INDEX IF NOT EXISTS ix_products_trgm_{column} ON products "
    f"USING gin ({postgresql_fold(column)} gin_trgm_ops)" for column in COLUMNS]
POSTGRESQL = ["CREATE EXTENSION IF NOT EXISTS pg_trgm", *TRIGRAM_INDEXES, LOWER_SKU]
POSTGRESQL_DROP = [f"DROP INDEX IF EXISTS {name}" for name in SEARCH_INDEXES]


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """For Alembic's autogenerate and the drift test: leave the search DDL out."""
    if type_ == "table" and name and name.startswith(SEARCH_TABLE):
        return False  # the FTS5 table and its shadow tables
    return not (type_ == "index" and (name in SEARCH_INDEXES or name == ANSWER_TRIGRAM_INDEX))


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
    for dialect in ("sqlite", "postgresql"):
        for table, statements_ in (("products", collated_indexes("products", dialect)),
                                   ("customers", collated_indexes("customers", dialect))):
            for statement in statements_:
                event.listen((Product if table == "products" else Customer).__table__,
                             "after_create", DDL(statement).execute_if(dialect=dialect))
    for statement in SQLITE_DROP:
        event.listen(Product.__table__, "before_drop",
                     DDL(statement).execute_if(dialect="sqlite"))


_listen()
