"""custom forms: an index for a form's submissions sorted by submitted time (#23: at
100,000 submissions SQLite sorted them all in a temporary b-tree, 170 ms)

Revision ID: 0023
Revises: 0022_jobs_webhooks
Create Date: 2026-12-02 19:00:00

"""
from alembic import op


revision = '0023'
down_revision = '0022_jobs_webhooks'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('form_submissions', schema=None) as batch_op:
        batch_op.create_index('ix_form_submissions_company_form_submitted',
                              ['company_id', 'form_id', 'submitted_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('form_submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_form_submissions_company_form_submitted')
