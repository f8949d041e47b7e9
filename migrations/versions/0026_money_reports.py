"""money reports: running totals of net sales per customer / product and month (the sales
analysis), filled from the issued invoices and credit notes; indexes of a customer's
documents by date (the statement); the "not overpaid" check of invoices in whole cents

Revision ID: 0026_money_reports
Revises: 0024_languages
Create Date: 2026-12-03 06:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0026_money_reports'
down_revision = '0025_supplier_bills'
branch_labels = None
depends_on = None

SOLD = "('issued', 'partly_paid', 'paid')"


def _month(column: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(date_trunc('month', {column}) AS DATE)"
    return f"date({column}, 'start of month')"


def _not_overpaid(condition: str) -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_invoices_not_overpaid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_invoices_not_overpaid'), condition)


def upgrade():
    # compared in whole cents: SQLite adds NUMERIC in floating point (12.10 + 50.20 >
    # 62.30), which refused paying the rest of an invoice a credit note had reduced
    _not_overpaid("ROUND((credited_total + paid_total) * 100) <= ROUND(total * 100)")
    op.create_table(
        'sales_customer_months',
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('net', sa.Numeric(14, 2), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], ondelete='CASCADE',
                                name=op.f('fk_sales_customer_months_company_id_companies')),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE',
                                name=op.f('fk_sales_customer_months_customer_id_customers')),
        sa.PrimaryKeyConstraint('company_id', 'month', 'customer_id',
                                name=op.f('pk_sales_customer_months')))
    op.create_index(op.f('ix_sales_customer_months_customer_id'), 'sales_customer_months',
                    ['customer_id'])
    op.create_table(
        'sales_product_months',
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('quantity', sa.Numeric(14, 3), nullable=False),
        sa.Column('net', sa.Numeric(14, 2), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], ondelete='CASCADE',
                                name=op.f('fk_sales_product_months_company_id_companies')),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], ondelete='CASCADE',
                                name=op.f('fk_sales_product_months_product_id_products')),
        sa.PrimaryKeyConstraint('company_id', 'month', 'product_id',
                                name=op.f('pk_sales_product_months')))
    op.create_index(op.f('ix_sales_product_months_product_id'), 'sales_product_months',
                    ['product_id'])
    op.create_index('ix_invoices_company_customer_date', 'invoices',
                    ['company_id', 'customer_id', 'invoice_date'])
    op.create_index('ix_credit_notes_company_customer_date', 'credit_notes',
                    ['company_id', 'customer_id', 'credit_date'])
    op.drop_index('ix_credit_notes_company_customer', table_name='credit_notes')  # its lead
    op.create_index('ix_payments_company_customer_date', 'payments',
                    ['company_id', 'customer_id', 'payment_date'])

    # the totals of what was issued before this revision
    lines = f"""
        SELECT i.company_id, {_month('i.invoice_date')} AS month, i.customer_id,
               l.product_id, l.quantity, l.subtotal - l.discount_amount AS net
          FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
         WHERE i.status IN {SOLD}
        UNION ALL
        SELECT c.company_id, {_month('c.credit_date')}, c.customer_id,
               l.product_id, -l.quantity, -(l.subtotal - l.discount_amount)
          FROM credit_note_lines l JOIN credit_notes c ON c.id = l.credit_note_id
         WHERE c.status = 'issued'"""
    op.execute(f"""
        INSERT INTO sales_customer_months (company_id, month, customer_id, net)
        SELECT company_id, month, customer_id, ROUND(SUM(net), 2)
          FROM ({lines}) AS sold GROUP BY company_id, month, customer_id""")
    op.execute(f"""
        INSERT INTO sales_product_months (company_id, month, product_id, quantity, net)
        SELECT company_id, month, product_id, ROUND(SUM(quantity), 3), ROUND(SUM(net), 2)
          FROM ({lines}) AS sold GROUP BY company_id, month, product_id""")


def downgrade():
    _not_overpaid("credited_total + paid_total <= total")
    op.drop_index('ix_payments_company_customer_date', table_name='payments')
    op.create_index('ix_credit_notes_company_customer', 'credit_notes',
                    ['company_id', 'customer_id'])
    op.drop_index('ix_credit_notes_company_customer_date', table_name='credit_notes')
    op.drop_index('ix_invoices_company_customer_date', table_name='invoices')
    op.drop_index(op.f('ix_sales_product_months_product_id'), table_name='sales_product_months')
    op.drop_table('sales_product_months')
    op.drop_index(op.f('ix_sales_customer_months_customer_id'), table_name='sales_customer_months')
    op.drop_table('sales_customer_months')
