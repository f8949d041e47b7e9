"""supplier bills: bills (BILL) of what purchase orders received, supplier payments (SPAY)
with their allocations; purchase_order_items.billed_quantity (what bills take of the
received quantity; 0 for every existing line)

Revision ID: 0025_supplier_bills
Revises: 0024_languages
Create Date: 2026-12-03 06:10:00
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0025_supplier_bills'
down_revision = '0024_languages'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('supplier_payments',
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('payment_date', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('allocated_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('reversed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("method IN ('bank_transfer', 'cash', 'card', 'cheque', 'other')", name=op.f('ck_supplier_payments_method')),
    sa.CheckConstraint("status IN ('recorded', 'reversed')", name=op.f('ck_supplier_payments_status')),
    sa.CheckConstraint('allocated_total >= 0 AND allocated_total <= amount', name=op.f('ck_supplier_payments_allocated_range')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_supplier_payments_amount_positive')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_supplier_payments_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_supplier_payments_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_supplier_payments_supplier_id_suppliers'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supplier_payments')),
    sa.UniqueConstraint('company_id', 'number', name=op.f('uq_supplier_payments_company_id_number'))
    )
    with op.batch_alter_table('supplier_payments', schema=None) as batch_op:
        batch_op.create_index('ix_supplier_payments_company_date_id', ['company_id', 'payment_date', 'id'], unique=False)
        batch_op.create_index('ix_supplier_payments_company_supplier_status', ['company_id', 'supplier_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_supplier_payments_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supplier_payments_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('bills',
    sa.Column('bill_number', sa.String(length=30), nullable=True),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('supplier_reference', sa.String(length=60), nullable=False),
    sa.Column('bill_date', sa.Date(), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('subtotal', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('discount_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tax_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('paid_total', sa.Numeric(precision=14, scale=2), server_default='0', nullable=False),
    sa.Column('issued', sa.JSON(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'open', 'partly_paid', 'paid', 'cancelled')", name=op.f('ck_bills_status')),
    sa.CheckConstraint('paid_total >= 0 AND paid_total <= total', name=op.f('ck_bills_paid_range')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_bills_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_bills_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['purchase_orders.id'], name=op.f('fk_bills_order_id_purchase_orders'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_bills_supplier_id_suppliers'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bills')),
    sa.UniqueConstraint('company_id', 'bill_number', name=op.f('uq_bills_company_id_bill_number'))
    )
    with op.batch_alter_table('bills', schema=None) as batch_op:
        batch_op.create_index('ix_bills_company_date_id', ['company_id', 'bill_date', 'id'], unique=False)
        batch_op.create_index('ix_bills_company_status_due', ['company_id', 'status', 'due_date'], unique=False)
        batch_op.create_index('ix_bills_company_supplier_status', ['company_id', 'supplier_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_bills_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bills_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bills_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('bill_lines',
    sa.Column('bill_id', sa.Integer(), nullable=False),
    sa.Column('order_item_id', sa.Integer(), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('discount_percent', sa.Numeric(precision=7, scale=3), nullable=False),
    sa.Column('tax_rate', sa.Numeric(precision=7, scale=3), nullable=False),
    sa.Column('subtotal', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('discount_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tax_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('discount_percent >= 0 AND discount_percent <= 100', name=op.f('ck_bill_lines_discount_percent_range')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_bill_lines_quantity_positive')),
    sa.CheckConstraint('tax_rate >= 0', name=op.f('ck_bill_lines_tax_rate_not_negative')),
    sa.CheckConstraint('unit_price >= 0', name=op.f('ck_bill_lines_unit_price_not_negative')),
    sa.ForeignKeyConstraint(['bill_id'], ['bills.id'], name=op.f('fk_bill_lines_bill_id_bills'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_bill_lines_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_item_id'], ['purchase_order_items.id'], name=op.f('fk_bill_lines_order_item_id_purchase_order_items'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_bill_lines_product_id_products'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bill_lines'))
    )
    with op.batch_alter_table('bill_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bill_lines_bill_id'), ['bill_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bill_lines_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bill_lines_order_item_id'), ['order_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bill_lines_product_id'), ['product_id'], unique=False)

    op.create_table('supplier_payment_allocations',
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('bill_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_supplier_payment_allocations_amount_positive')),
    sa.ForeignKeyConstraint(['bill_id'], ['bills.id'], name=op.f('fk_supplier_payment_allocations_bill_id_bills'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_supplier_payment_allocations_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['payment_id'], ['supplier_payments.id'], name=op.f('fk_supplier_payment_allocations_payment_id_supplier_payments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supplier_payment_allocations'))
    )
    with op.batch_alter_table('supplier_payment_allocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supplier_payment_allocations_bill_id'), ['bill_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supplier_payment_allocations_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supplier_payment_allocations_payment_id'), ['payment_id'], unique=False)

    with op.batch_alter_table('purchase_order_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('billed_quantity', sa.Numeric(precision=14, scale=3), server_default='0', nullable=False))



def downgrade():
    with op.batch_alter_table('purchase_order_items', schema=None) as batch_op:
        batch_op.drop_column('billed_quantity')

    with op.batch_alter_table('supplier_payment_allocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supplier_payment_allocations_payment_id'))
        batch_op.drop_index(batch_op.f('ix_supplier_payment_allocations_company_id'))
        batch_op.drop_index(batch_op.f('ix_supplier_payment_allocations_bill_id'))

    op.drop_table('supplier_payment_allocations')
    with op.batch_alter_table('bill_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bill_lines_product_id'))
        batch_op.drop_index(batch_op.f('ix_bill_lines_order_item_id'))
        batch_op.drop_index(batch_op.f('ix_bill_lines_company_id'))
        batch_op.drop_index(batch_op.f('ix_bill_lines_bill_id'))

    op.drop_table('bill_lines')
    with op.batch_alter_table('bills', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bills_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_bills_order_id'))
        batch_op.drop_index(batch_op.f('ix_bills_created_by_id'))
        batch_op.drop_index('ix_bills_company_supplier_status')
        batch_op.drop_index('ix_bills_company_status_due')
        batch_op.drop_index('ix_bills_company_date_id')

    op.drop_table('bills')
    with op.batch_alter_table('supplier_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supplier_payments_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_supplier_payments_created_by_id'))
        batch_op.drop_index('ix_supplier_payments_company_supplier_status')
        batch_op.drop_index('ix_supplier_payments_company_date_id')

    op.drop_table('supplier_payments')
