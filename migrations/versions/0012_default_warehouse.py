"""warehouses.is_default: the company's default warehouse for new documents

At most one per company (a partial unique index). No warehouse is the default after the
upgrade: new orders keep starting in the only, else the first active warehouse by name
until an admin chooses one in the company settings.

Revision ID: 0012_default_warehouse
Revises: 0011_company_timezone
Create Date: 2026-12-02 12:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_default_warehouse'
down_revision = '0011_company_timezone'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('warehouses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_default', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    op.create_index('uq_warehouses_one_default', 'warehouses', ['company_id', 'is_default'],
                    unique=True, sqlite_where=sa.text('is_default'),
                    postgresql_where=sa.text('is_default'))


def downgrade():
    op.drop_index('uq_warehouses_one_default', table_name='warehouses')
    with op.batch_alter_table('warehouses', schema=None) as batch_op:
        batch_op.drop_column('is_default')
