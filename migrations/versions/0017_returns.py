"""returns: sales returns against delivery notes, purchase returns to suppliers

New tables sales_returns, sales_return_lines, purchase_returns, purchase_return_lines;
delivery_note_lines.returned_quantity and purchase_order_items.returned_quantity (what
posted returns took back; 0 for every existing line), each checked between 0 and what
was delivered (received). The stock movement kinds are not a database constraint.
Downgrading drops the returns (their stock movements stay in the ledger).

Revision ID: 0017_returns
Revises: 0016_api_tokens
Create Date: 2026-12-02 15:26:26.804912

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0017_returns'
down_revision = '0016_api_tokens'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('purchase_returns',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('return_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'posted', 'cancelled')", name=op.f('ck_purchase_returns_status')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_purchase_returns_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_purchase_returns_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['purchase_orders.id'], name=op.f('fk_purchase_returns_order_id_purchase_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_purchase_returns_supplier_id_suppliers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_purchase_returns_warehouse_id_warehouses'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_returns')),
    sa.UniqueConstraint('company_id', 'number', name=op.f('uq_purchase_returns_company_id_number'))
    )
    with op.batch_alter_table('purchase_returns', schema=None) as batch_op:
        batch_op.create_index('ix_purchase_returns_company_date_id', ['company_id', 'return_date', 'id'], unique=False)
        batch_op.create_index('ix_purchase_returns_company_status', ['company_id', 'status'], unique=False)
        batch_op.create_index('ix_purchase_returns_company_supplier', ['company_id', 'supplier_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_returns_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_returns_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_returns_supplier_id'), ['supplier_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_returns_warehouse_id'), ['warehouse_id'], unique=False)

    op.create_table('purchase_return_lines',
    sa.Column('return_id', sa.Integer(), nullable=False),
    sa.Column('order_item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_purchase_return_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_purchase_return_lines_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_item_id'], ['purchase_order_items.id'], name=op.f('fk_purchase_return_lines_order_item_id_purchase_order_items'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['return_id'], ['purchase_returns.id'], name=op.f('fk_purchase_return_lines_return_id_purchase_returns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_return_lines'))
    )
    with op.batch_alter_table('purchase_return_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purchase_return_lines_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_return_lines_order_item_id'), ['order_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_return_lines_return_id'), ['return_id'], unique=False)

    op.create_table('sales_returns',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('return_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'posted', 'cancelled')", name=op.f('ck_sales_returns_status')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_sales_returns_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_sales_returns_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_sales_returns_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['delivery_id'], ['delivery_notes.id'], name=op.f('fk_sales_returns_delivery_id_delivery_notes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_sales_returns_warehouse_id_warehouses'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_returns')),
    sa.UniqueConstraint('company_id', 'number', name=op.f('uq_sales_returns_company_id_number'))
    )
    with op.batch_alter_table('sales_returns', schema=None) as batch_op:
        batch_op.create_index('ix_sales_returns_company_customer', ['company_id', 'customer_id'], unique=False)
        batch_op.create_index('ix_sales_returns_company_date_id', ['company_id', 'return_date', 'id'], unique=False)
        batch_op.create_index('ix_sales_returns_company_status', ['company_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_returns_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_returns_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_returns_delivery_id'), ['delivery_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_returns_warehouse_id'), ['warehouse_id'], unique=False)

    op.create_table('sales_return_lines',
    sa.Column('return_id', sa.Integer(), nullable=False),
    sa.Column('delivery_line_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_sales_return_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_sales_return_lines_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['delivery_line_id'], ['delivery_note_lines.id'], name=op.f('fk_sales_return_lines_delivery_line_id_delivery_note_lines'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['return_id'], ['sales_returns.id'], name=op.f('fk_sales_return_lines_return_id_sales_returns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_return_lines'))
    )
    with op.batch_alter_table('sales_return_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_return_lines_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_return_lines_delivery_line_id'), ['delivery_line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_return_lines_return_id'), ['return_id'], unique=False)

    with op.batch_alter_table('delivery_note_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('returned_quantity', sa.Numeric(precision=14, scale=3), server_default='0', nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_delivery_note_lines_returned_quantity_range'),
            "returned_quantity >= 0 AND returned_quantity <= quantity")

    with op.batch_alter_table('purchase_order_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('returned_quantity', sa.Numeric(precision=14, scale=3), server_default='0', nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_purchase_order_items_returned_quantity_range'),
            "returned_quantity >= 0 AND returned_quantity <= received_quantity")



def downgrade():
    with op.batch_alter_table('purchase_order_items', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_purchase_order_items_returned_quantity_range'),
                                 type_='check')
        batch_op.drop_column('returned_quantity')

    with op.batch_alter_table('delivery_note_lines', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_delivery_note_lines_returned_quantity_range'),
                                 type_='check')
        batch_op.drop_column('returned_quantity')

    with op.batch_alter_table('sales_return_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sales_return_lines_return_id'))
        batch_op.drop_index(batch_op.f('ix_sales_return_lines_delivery_line_id'))
        batch_op.drop_index(batch_op.f('ix_sales_return_lines_company_id'))

    op.drop_table('sales_return_lines')
    with op.batch_alter_table('sales_returns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sales_returns_warehouse_id'))
        batch_op.drop_index(batch_op.f('ix_sales_returns_delivery_id'))
        batch_op.drop_index(batch_op.f('ix_sales_returns_customer_id'))
        batch_op.drop_index(batch_op.f('ix_sales_returns_created_by_id'))
        batch_op.drop_index('ix_sales_returns_company_status')
        batch_op.drop_index('ix_sales_returns_company_date_id')
        batch_op.drop_index('ix_sales_returns_company_customer')

    op.drop_table('sales_returns')
    with op.batch_alter_table('purchase_return_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_return_lines_return_id'))
        batch_op.drop_index(batch_op.f('ix_purchase_return_lines_order_item_id'))
        batch_op.drop_index(batch_op.f('ix_purchase_return_lines_company_id'))

    op.drop_table('purchase_return_lines')
    with op.batch_alter_table('purchase_returns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_returns_warehouse_id'))
        batch_op.drop_index(batch_op.f('ix_purchase_returns_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_purchase_returns_order_id'))
        batch_op.drop_index(batch_op.f('ix_purchase_returns_created_by_id'))
        batch_op.drop_index('ix_purchase_returns_company_supplier')
        batch_op.drop_index('ix_purchase_returns_company_status')
        batch_op.drop_index('ix_purchase_returns_company_date_id')

    op.drop_table('purchase_returns')
