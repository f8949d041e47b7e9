"""bill debits: what posted purchase returns take off the supplier's posted bills
(bills.debited_total, purchase_returns.returned_value / debited_total, the bill line a
purchase return line debited, purchase_order_items.debited_quantity); 0 (no bill line) for
existing rows: returns posted before kept their bills as they were

Revision ID: 0033_bill_debits
Revises: 0032_answer_trigram
Create Date: 2026-12-03 11:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0033_bill_debits'
down_revision = '0032_answer_trigram'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2)
QUANTITY = sa.Numeric(14, 3)


def _zero(name, kind):
    return sa.Column(name, kind, server_default='0', nullable=False)


def upgrade():
    with op.batch_alter_table('bills') as batch:
        batch.add_column(_zero('debited_total', MONEY))
        batch.create_check_constraint(
            batch.f('ck_bills_debited_range'), 'debited_total >= 0 AND ROUND((debited_total + paid_total) * 100) '
            '<= ROUND(total * 100)')
    with op.batch_alter_table('purchase_order_items') as batch:
        batch.add_column(_zero('debited_quantity', QUANTITY))
    with op.batch_alter_table('purchase_returns') as batch:
        batch.add_column(_zero('returned_value', MONEY))
        batch.add_column(_zero('debited_total', MONEY))
    with op.batch_alter_table('purchase_return_lines') as batch:
        batch.add_column(sa.Column('bill_line_id', sa.Integer(), nullable=True))
        batch.add_column(_zero('debited_quantity', QUANTITY))
        batch.add_column(_zero('debit_value', MONEY))
        batch.add_column(_zero('debit_amount', MONEY))
        batch.create_index(batch.f('ix_purchase_return_lines_bill_line_id'), ['bill_line_id'])
        batch.create_foreign_key(batch.f('fk_purchase_return_lines_bill_line_id_bill_lines'),
                                 'bill_lines', ['bill_line_id'], ['id'], ondelete='RESTRICT')


def downgrade():
    with op.batch_alter_table('purchase_return_lines') as batch:
        batch.drop_constraint(batch.f('fk_purchase_return_lines_bill_line_id_bill_lines'),
                              type_='foreignkey')
        batch.drop_index(batch.f('ix_purchase_return_lines_bill_line_id'))
        batch.drop_column('debit_amount')
        batch.drop_column('debit_value')
        batch.drop_column('debited_quantity')
        batch.drop_column('bill_line_id')
    with op.batch_alter_table('purchase_returns') as batch:
        batch.drop_column('debited_total')
        batch.drop_column('returned_value')
    with op.batch_alter_table('purchase_order_items') as batch:
        batch.drop_column('debited_quantity')
    with op.batch_alter_table('bills') as batch:
        batch.drop_constraint(batch.f('ck_bills_debited_range'), type_='check')
        batch.drop_column('debited_total')
