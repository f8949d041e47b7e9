"""installation administrators: users.is_superuser

An admin with this flag also sees the system-wide pages (monitoring: every company's
traffic); a company's other admins no longer do. Nobody has it after the upgrade: grant it
with `flask --app wsgi set-install-admin EMAIL` (`seed-demo` grants it to the demo admin).

Revision ID: 0006_install_admin
Revises: 0005_indexes
Create Date: 2026-11-23 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_install_admin'
down_revision = '0005_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_superuser', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('is_superuser')
