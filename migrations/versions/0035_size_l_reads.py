"""size l's reads (#17): the invoices' and bills' order_id indexes only of the documents
that bill an order. With most documents direct (order_id NULL), SQLite's statistics counted
every document as one order's, and its planner read the whole table for an order's page
(order detail: 2 ms at 10,000 invoices, 20 at 100,000); the partial index has no such rows.

Revision ID: 0035_size_l_reads
Revises: 0034_lower_sku_again
Create Date: 2026-12-03 19:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0035_size_l_reads'
down_revision = '0034_lower_sku_again'
branch_labels = None
depends_on = None

ORDER_GIVEN = sa.text("order_id IS NOT NULL")


def upgrade():
    for table in ("invoices", "bills"):
        op.drop_index(f"ix_{table}_order_id", table_name=table)
        op.create_index(f"ix_{table}_order_id", table, ["order_id"],
                        sqlite_where=ORDER_GIVEN, postgresql_where=ORDER_GIVEN)


def downgrade():
    for table in ("invoices", "bills"):
        op.drop_index(f"ix_{table}_order_id", table_name=table)
        op.create_index(f"ix_{table}_order_id", table, ["order_id"])
