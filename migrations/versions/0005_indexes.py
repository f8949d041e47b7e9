"""indexes: drop single-column indexes that a composite index leading with the same column
already serves; index the ledger's product and warehouse foreign keys

Every (company_id, ...) index and unique constraint serves lookups by company_id, so a
table that has one needs no ix_<table>_company_id (erp.models.base.CompanyScoped keeps
that index only on tables without one: users and the document lines). The same holds for
purchase_order_items.order_id, served by (order_id, product_id) as on sales_order_items.

stock_movements.product_id and warehouse_id get indexes of their own: deleting a product or
a warehouse checks its RESTRICT foreign key against the whole ledger, which no
(company_id, ...) index serves.

On SQLite an index on (company_id) holds the rowid after it, so it also served "a
company's production orders, newest first" (the order picker); (company_id, id) takes
over that, on PostgreSQL as well.

Revision ID: 0005_indexes
Revises: 0004_product_list_indexes
Create Date: 2026-11-23 10:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005_indexes'
down_revision = '0004_product_list_indexes'
branch_labels = None
depends_on = None

# table -> the column of its redundant single-column index ix_<table>_<column>
DROPPED = [
    ('bom_lines', 'company_id'),
    ('categories', 'company_id'),
    ('customers', 'company_id'),
    ('employees', 'company_id'),
    ('goods_receipts', 'company_id'),
    ('production_order_components', 'company_id'),
    ('production_orders', 'company_id'),
    ('products', 'company_id'),
    ('purchase_orders', 'company_id'),
    ('quality_inspections', 'company_id'),
    ('sales_orders', 'company_id'),
    ('stock_levels', 'company_id'),
    ('suppliers', 'company_id'),
    ('todos', 'company_id'),
    ('warehouses', 'company_id'),
    ('work_orders', 'company_id'),
    ('purchase_order_items', 'order_id'),
]
# name -> table, columns
ADDED = {
    'ix_stock_movements_product_id': ('stock_movements', ['product_id']),
    'ix_stock_movements_warehouse_id': ('stock_movements', ['warehouse_id']),
    'ix_production_orders_company_newest': ('production_orders', ['company_id', 'id']),
}


def upgrade():
    for table, column in DROPPED:
        op.drop_index(f'ix_{table}_{column}', table_name=table)
    for name, (table, columns) in ADDED.items():
        op.create_index(name, table, columns, unique=False)


def downgrade():
    for name, (table, _columns) in ADDED.items():
        op.drop_index(name, table_name=table)
    for table, column in reversed(DROPPED):
        op.create_index(f'ix_{table}_{column}', table, [column], unique=False)
