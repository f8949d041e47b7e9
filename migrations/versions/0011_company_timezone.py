"""companies.timezone: the IANA zone dates and times are shown in

Times stay stored in UTC; the pages show them in the company's zone and date new
documents with the company's today. Existing companies get 'UTC' (what they saw before).

Revision ID: 0011_company_timezone
Revises: 0010_purchase_close_short
Create Date: 2026-11-30 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_company_timezone'
down_revision = '0010_purchase_close_short'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), server_default='UTC',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_column('timezone')
