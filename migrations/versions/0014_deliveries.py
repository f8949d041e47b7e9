"""delivery notes: sales orders shipped in parts

New tables delivery_notes and delivery_note_lines; sales_order_items.shipped_quantity
(what posted deliveries took; an order shipped before this revision shipped every line
whole, so its lines are set to their quantity); the sales order statuses partly_shipped
and closed (short) in ck_sales_orders_status (SQLite: the table is copied in batch
mode). Downgrading turns partly shipped orders back into confirmed ones and orders closed
short into shipped ones (the deliveries and the shipped quantities are dropped).

Revision ID: 0014_deliveries
Revises: 0013_money_setup
Create Date: 2026-12-02 14:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_deliveries'
down_revision = '0013_money_setup'
branch_labels = None
depends_on = None

OLD = ('draft', 'confirmed', 'shipped', 'invoiced', 'cancelled')
NEW = ('draft', 'confirmed', 'partly_shipped', 'shipped', 'closed', 'invoiced', 'cancelled')


def _status_check(statuses):
    listed = ", ".join(f"'{status}'" for status in statuses)
    with op.batch_alter_table('sales_orders', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_sales_orders_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_sales_orders_status'),
                                         f"status IN ({listed})")


def upgrade():
    _status_check(NEW)
    with op.batch_alter_table('sales_order_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shipped_quantity', sa.Numeric(precision=14, scale=3),
                                      server_default='0', nullable=False))
    op.execute(sa.text(
        "UPDATE sales_order_items SET shipped_quantity = quantity WHERE order_id IN "
        "(SELECT id FROM sales_orders WHERE status IN ('shipped', 'invoiced'))"))
    with op.batch_alter_table('sales_order_items', schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f('ck_sales_order_items_shipped_quantity_range'),
            "shipped_quantity >= 0 AND shipped_quantity <= quantity")

    op.create_table('delivery_notes',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('delivery_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'posted', 'cancelled')", name=op.f('ck_delivery_notes_status')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_delivery_notes_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_delivery_notes_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_delivery_notes_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['order_id'], ['sales_orders.id'], name=op.f('fk_delivery_notes_order_id_sales_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_delivery_notes_warehouse_id_warehouses'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_notes')),
    sa.UniqueConstraint('company_id', 'number', name=op.f('uq_delivery_notes_company_id_number'))
    )
    with op.batch_alter_table('delivery_notes', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_notes_company_customer', ['company_id', 'customer_id'], unique=False)
        batch_op.create_index('ix_delivery_notes_company_date_id', ['company_id', 'delivery_date', 'id'], unique=False)
        batch_op.create_index('ix_delivery_notes_company_status', ['company_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_notes_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_notes_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_notes_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_notes_warehouse_id'), ['warehouse_id'], unique=False)

    op.create_table('delivery_note_lines',
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('order_item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_delivery_note_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_delivery_note_lines_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['delivery_id'], ['delivery_notes.id'], name=op.f('fk_delivery_note_lines_delivery_id_delivery_notes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_item_id'], ['sales_order_items.id'], name=op.f('fk_delivery_note_lines_order_item_id_sales_order_items'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_note_lines'))
    )
    with op.batch_alter_table('delivery_note_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_note_lines_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_note_lines_delivery_id'), ['delivery_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_note_lines_order_item_id'), ['order_item_id'], unique=False)


def downgrade():
    op.drop_table('delivery_note_lines')
    op.drop_table('delivery_notes')
    with op.batch_alter_table('sales_order_items', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_sales_order_items_shipped_quantity_range'),
                                 type_='check')
        batch_op.drop_column('shipped_quantity')
    op.execute(sa.text(
        "UPDATE sales_orders SET status = 'confirmed' WHERE status = 'partly_shipped'"))
    op.execute(sa.text("UPDATE sales_orders SET status = 'shipped' WHERE status = 'closed'"))
    _status_check(OLD)
