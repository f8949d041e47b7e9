"""Suppliers' default payment terms: a bill's due date comes from its supplier's terms,
else from the company's default (as an invoice's from its customer's)

Revision ID: 0030_supplier_terms
Revises: 0029_turkish_search
Create Date: 2026-12-03 09:50:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0030_supplier_terms'
down_revision = '0029_turkish_search'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('suppliers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_terms_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_suppliers_payment_terms_id', ['payment_terms_id'])
        batch_op.create_foreign_key(batch_op.f('fk_suppliers_payment_terms_id_payment_terms'),
                                    'payment_terms', ['payment_terms_id'], ['id'],
                                    ondelete='RESTRICT')


def downgrade():
    with op.batch_alter_table('suppliers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_suppliers_payment_terms_id_payment_terms'),
                                 type_='foreignkey')
        batch_op.drop_index('ix_suppliers_payment_terms_id')
        batch_op.drop_column('payment_terms_id')
