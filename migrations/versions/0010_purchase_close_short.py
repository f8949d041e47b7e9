"""purchase orders closed short: the status 'closed' in ck_purchase_orders_status

A partially received purchase order can be closed short (the rest is no longer
expected). The status CHECK constraint is rebuilt with the new status (SQLite: the table
is copied in batch mode). Downgrading turns closed orders into received ones (nothing
more is expected from either).

Revision ID: 0010_purchase_close_short
Revises: 0008_sales_rules
Create Date: 2026-12-01 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_purchase_close_short'
down_revision = '0008_sales_rules'
branch_labels = None
depends_on = None

OLD = ('draft', 'ordered', 'partially_received', 'received', 'cancelled')
NEW = ('draft', 'ordered', 'partially_received', 'received', 'closed', 'cancelled')


def _status_check(statuses):
    listed = ", ".join(f"'{status}'" for status in statuses)
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_purchase_orders_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_purchase_orders_status'),
                                         f"status IN ({listed})")


def upgrade():
    _status_check(NEW)


def downgrade():
    op.execute(sa.text("UPDATE purchase_orders SET status = 'received' WHERE status = 'closed'"))
    _status_check(OLD)
