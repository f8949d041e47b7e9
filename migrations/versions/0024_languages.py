"""languages: a user's own language (none: the company's) and the company's default

Revision ID: 0024_languages
Revises: 0023
Create Date: 2026-12-02 19:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0024_languages'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('companies') as batch:
        batch.add_column(sa.Column('default_language', sa.String(length=5), nullable=False,
                                   server_default='en'))
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('language', sa.String(length=5), nullable=True))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('language')
    with op.batch_alter_table('companies') as batch:
        batch.drop_column('default_language')
