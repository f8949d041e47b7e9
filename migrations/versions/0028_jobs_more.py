"""jobs and more: a company's nightly reorder drafts (`auto_reorder`), and an expression
index for the custom forms' choice and text answer filters (#23)

Revision ID: 0028_jobs_more
Revises: 0024_languages
Create Date: 2026-12-03 06:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0028_jobs_more'
down_revision = '0027_stock_valuation'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('companies') as batch:
        batch.add_column(sa.Column('auto_reorder', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    # the same expression on both databases (erp.queries.forms.text_key), so that both
    # planners match the filters' substr(value_text, 1, 100) to it
    op.create_index('ix_form_answers_text', 'form_answers',
                    ['company_id', 'form_id', 'field_key',
                     sa.text('substr(value_text, 1, 100)'), 'submission_id'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ANALYZE form_answers')
    else:
        op.execute('PRAGMA optimize')


def downgrade():
    op.drop_index('ix_form_answers_text', table_name='form_answers')
    with op.batch_alter_table('companies') as batch:
        batch.drop_column('auto_reorder')
