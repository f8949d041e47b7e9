"""the product pickers' index on (company_id, lower(sku)) again on SQLite: a later batch
rebuild of `products` (SQLite alters a table by copying it) did not carry this expression
index over, so every migrated SQLite database lost it and resolved each picked or scanned
product by reading every product (187 ms at 200,000 products). PostgreSQL kept it.

Revision ID: 0034_lower_sku_again
Revises: 0033_bill_debits
Create Date: 2026-12-03 18:25:00

"""
from alembic import op

from erp.models.search import LOWER_SKU

revision = '0034_lower_sku_again'
down_revision = '0033_bill_debits'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(LOWER_SKU)  # IF NOT EXISTS: a no-op where it survived


def downgrade():
    pass  # the index belongs to 0003, which drops it
