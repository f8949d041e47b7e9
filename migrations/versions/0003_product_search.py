"""product search indexes: pg_trgm GIN indexes on PostgreSQL, an FTS5 trigram table on
SQLite (see erp/models/search.py, which holds the statements), and an index on lower(sku)

Revision ID: 0003_product_search
Revises: 0002_dashboard_totals
Create Date: 2026-11-22 17:40:00

"""
from alembic import op

from erp.models.search import statements

# revision identifiers, used by Alembic.
revision = '0003_product_search'
down_revision = '0002_dashboard_totals'
branch_labels = None
depends_on = None


def upgrade():
    for statement in statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade():
    for statement in statements(op.get_bind().dialect.name, drop=True):
        op.execute(statement)
