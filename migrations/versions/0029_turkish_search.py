"""Turkish search: the product search indexes hold the folded text (İ, I and ı as i, lower
case: erp.collation), and indexes in Turkish order for the product and customer lists of
Turkish readers (PostgreSQL: where the server has the ICU collation; SQLite: in the
collation the app registers on each connection)

PostgreSQL: the pg_trgm GIN indexes are made again on the folded columns. SQLite: the
FTS5 table's triggers write the folded text, and the table is filled again with it.

Revision ID: 0029_turkish_search
Revises: 0024_languages
Create Date: 2026-12-03 06:30:00

"""
from alembic import op

from erp.models.search import (COLLATED_DROP, COLUMNS, FILL_SQLITE, SEARCH_TABLE,
                               SQLITE_TRIGGERS, SQLITE_TRIGGERS_DROP, TRIGRAM_INDEXES,
                               collated_indexes)

revision = '0029_turkish_search'
down_revision = '0028_jobs_more'
branch_labels = None
depends_on = None

TRIGRAM_DROP = [f"DROP INDEX IF EXISTS ix_products_trgm_{column}" for column in COLUMNS]

# what 0003 made, for the downgrade
OLD_TRIGRAM_INDEXES = [f"CREATE INDEX IF NOT EXISTS ix_products_trgm_{column} ON products "
                       f"USING gin (lower({column}) gin_trgm_ops)" for column in COLUMNS]
OLD_SQLITE_TRIGGERS = [
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
]


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for statement in [*TRIGRAM_DROP, *TRIGRAM_INDEXES, *collated_indexes("products"),
                          *collated_indexes("customers"), "ANALYZE products",
                          "ANALYZE customers"]:
            op.execute(statement)
    elif dialect == "sqlite":
        for statement in [*SQLITE_TRIGGERS_DROP, *SQLITE_TRIGGERS, *FILL_SQLITE,
                          *collated_indexes("products", "sqlite"),
                          *collated_indexes("customers", "sqlite")]:
            op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for statement in [*TRIGRAM_DROP, *OLD_TRIGRAM_INDEXES, *COLLATED_DROP]:
            op.execute(statement)
    elif dialect == "sqlite":
        for statement in [*SQLITE_TRIGGERS_DROP, *OLD_SQLITE_TRIGGERS, *COLLATED_DROP,
                          f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}) VALUES ('rebuild')"]:
            op.execute(statement)
