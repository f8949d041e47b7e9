"""quality inspections are superseded, not edited: quality_inspections.supersedes_id

A recorded inspection becomes read-only; a re-inspection is a new row naming the one it
replaces. Unique: an inspection is superseded at most once (the gate follows a chain).

Revision ID: 0007_quality_supersede
Revises: 0006_install_admin
Create Date: 2026-11-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_quality_supersede'
down_revision = '0006_install_admin'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('quality_inspections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supersedes_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f('uq_quality_inspections_supersedes_id'), ['supersedes_id'])
        batch_op.create_foreign_key(
            batch_op.f('fk_quality_inspections_supersedes_id_quality_inspections'),
            'quality_inspections', ['supersedes_id'], ['id'])


def downgrade():
    with op.batch_alter_table('quality_inspections', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_quality_inspections_supersedes_id_quality_inspections'),
            type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_quality_inspections_supersedes_id'),
                                 type_='unique')
        batch_op.drop_column('supersedes_id')
