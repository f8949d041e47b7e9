"""custom forms: a pg_trgm GIN index on the folded answer text, for the submissions
list's "contains" filter (#23: at 100,000 submissions PostgreSQL read every answer of the
field to count the matches, ~270 ms); PostgreSQL only (SQLite reads the answers' first
characters from ix_form_answers_text, migration 0028)

Revision ID: 0032_answer_trigram
Revises: 0031_lot_choice
Create Date: 2026-12-03 10:00:00

"""
from alembic import op

from erp.models.forms import ANSWER_TRIGRAM, ANSWER_TRIGRAM_DROP

revision = '0032_answer_trigram'
down_revision = '0031_lot_choice'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for statement in [*ANSWER_TRIGRAM, 'ANALYZE form_answers']:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for statement in ANSWER_TRIGRAM_DROP:
            op.execute(statement)
