"""lot choice: the lots or serial numbers a return line names (sales_return_lines.lots,
purchase_return_lines.lots; '' for existing lines: posting picks them as before)

Revision ID: 0031_lot_choice
Revises: 0030_supplier_terms
Create Date: 2026-12-03 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0031_lot_choice'
down_revision = '0030_supplier_terms'
branch_labels = None
depends_on = None

TABLES = ('sales_return_lines', 'purchase_return_lines')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('lots', sa.String(length=2000), server_default='',
                                       nullable=False))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('lots')
