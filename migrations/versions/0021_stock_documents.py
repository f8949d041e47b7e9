"""stock documents: count sheets and multi-line transfers; a barcode is unique per company

New tables stock_counts, stock_count_lines, stock_transfers, stock_transfer_lines. A
product's barcode (when given) becomes unique per company (uq_products_company_barcode, a
partial unique index). A barcode already repeated within a company is kept on its oldest
product and blanked on the others first (a scan could not tell them apart anyway: the
picker resolved a repeated barcode to no product); the blanked products are printed.

Revision ID: 0021_stock_documents
Revises: 0020_lots
Create Date: 2026-12-02 18:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0021_stock_documents'
down_revision = '0020_lots'
branch_labels = None
depends_on = None

STATUSES = "status IN ('draft', 'posted', 'cancelled')"


def _stamps(table):
    return [sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('company_id', sa.Integer(), nullable=False),
            sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
            sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                                    name=f'fk_{table}_company_id_companies', ondelete='CASCADE'),
            sa.PrimaryKeyConstraint('id', name=f'pk_{table}')]


def _fk(table, column, target, ondelete='RESTRICT'):
    return sa.ForeignKeyConstraint([column], [f'{target}.id'],
                                   name=f'fk_{table}_{column}_{target}', ondelete=ondelete)


def _blank_repeated_barcodes():
    conn = op.get_bind()
    repeated = conn.execute(sa.text(
        "SELECT p.id, p.sku, p.barcode FROM products p WHERE p.barcode <> '' AND EXISTS ("
        "SELECT 1 FROM products o WHERE o.company_id = p.company_id AND o.barcode = p.barcode "
        "AND o.id < p.id)")).all()
    for product_id, sku, barcode in repeated:
        print(f"0021: barcode {barcode} of {sku} (#{product_id}) is another product's "
              "as well: blanked on this one.")
        conn.execute(sa.text("UPDATE products SET barcode = '' WHERE id = :id"),
                     {"id": product_id})


def upgrade():
    _blank_repeated_barcodes()
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index('uq_products_company_barcode', ['company_id', 'barcode'],
                              unique=True, sqlite_where=sa.text("barcode <> ''"),
                              postgresql_where=sa.text("barcode <> ''"))

    op.create_table(
        'stock_counts',
        sa.Column('number', sa.String(length=30), nullable=False),
        sa.Column('warehouse_id', sa.Integer(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=True),
        sa.Column('count_date', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        *_stamps('stock_counts'),
        sa.CheckConstraint(STATUSES, name='ck_stock_counts_status'),
        _fk('stock_counts', 'warehouse_id', 'warehouses'),
        _fk('stock_counts', 'category_id', 'categories'),
        _fk('stock_counts', 'created_by_id', 'users', 'SET NULL'),
        sa.UniqueConstraint('company_id', 'number', name='uq_stock_counts_company_id_number'))
    with op.batch_alter_table('stock_counts', schema=None) as batch_op:
        batch_op.create_index('ix_stock_counts_company_date_id', ['company_id', 'count_date', 'id'])
        batch_op.create_index('ix_stock_counts_company_status', ['company_id', 'status'])
        batch_op.create_index('ix_stock_counts_company_warehouse', ['company_id', 'warehouse_id'])
        batch_op.create_index('ix_stock_counts_warehouse_id', ['warehouse_id'])
        batch_op.create_index('ix_stock_counts_category_id', ['category_id'])
        batch_op.create_index('ix_stock_counts_created_by_id', ['created_by_id'])

    op.create_table(
        'stock_count_lines',
        sa.Column('count_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('expected', sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column('counted', sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column('adjusted', sa.Numeric(precision=14, scale=3), nullable=True),
        *_stamps('stock_count_lines'),
        sa.CheckConstraint('counted IS NULL OR counted >= 0',
                           name='ck_stock_count_lines_counted_not_negative'),
        _fk('stock_count_lines', 'count_id', 'stock_counts', 'CASCADE'),
        _fk('stock_count_lines', 'product_id', 'products'),
        sa.UniqueConstraint('count_id', 'product_id',
                            name='uq_stock_count_lines_count_id_product_id'))
    with op.batch_alter_table('stock_count_lines', schema=None) as batch_op:
        batch_op.create_index('ix_stock_count_lines_company_id', ['company_id'])
        batch_op.create_index('ix_stock_count_lines_product_id', ['product_id'])

    op.create_table(
        'stock_transfers',
        sa.Column('number', sa.String(length=30), nullable=False),
        sa.Column('from_warehouse_id', sa.Integer(), nullable=False),
        sa.Column('to_warehouse_id', sa.Integer(), nullable=False),
        sa.Column('transfer_date', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        *_stamps('stock_transfers'),
        sa.CheckConstraint(STATUSES, name='ck_stock_transfers_status'),
        sa.CheckConstraint('from_warehouse_id <> to_warehouse_id',
                           name='ck_stock_transfers_two_warehouses'),
        _fk('stock_transfers', 'from_warehouse_id', 'warehouses'),
        _fk('stock_transfers', 'to_warehouse_id', 'warehouses'),
        _fk('stock_transfers', 'created_by_id', 'users', 'SET NULL'),
        sa.UniqueConstraint('company_id', 'number', name='uq_stock_transfers_company_id_number'))
    with op.batch_alter_table('stock_transfers', schema=None) as batch_op:
        batch_op.create_index('ix_stock_transfers_company_date_id',
                              ['company_id', 'transfer_date', 'id'])
        batch_op.create_index('ix_stock_transfers_company_status', ['company_id', 'status'])
        batch_op.create_index('ix_stock_transfers_company_from', ['company_id', 'from_warehouse_id'])
        batch_op.create_index('ix_stock_transfers_company_to', ['company_id', 'to_warehouse_id'])
        batch_op.create_index('ix_stock_transfers_from_warehouse_id', ['from_warehouse_id'])
        batch_op.create_index('ix_stock_transfers_to_warehouse_id', ['to_warehouse_id'])
        batch_op.create_index('ix_stock_transfers_created_by_id', ['created_by_id'])

    op.create_table(
        'stock_transfer_lines',
        sa.Column('transfer_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
        *_stamps('stock_transfer_lines'),
        sa.CheckConstraint('quantity > 0', name='ck_stock_transfer_lines_quantity_positive'),
        _fk('stock_transfer_lines', 'transfer_id', 'stock_transfers', 'CASCADE'),
        _fk('stock_transfer_lines', 'product_id', 'products'))
    with op.batch_alter_table('stock_transfer_lines', schema=None) as batch_op:
        batch_op.create_index('ix_stock_transfer_lines_company_id', ['company_id'])
        batch_op.create_index('ix_stock_transfer_lines_product_id', ['product_id'])
        batch_op.create_index('ix_stock_transfer_lines_transfer_id', ['transfer_id'])


def downgrade():
    """Drops the count sheets and transfers (their stock movements stay in the ledger)."""
    op.drop_table('stock_transfer_lines')
    op.drop_table('stock_transfers')
    op.drop_table('stock_count_lines')
    op.drop_table('stock_counts')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index('uq_products_company_barcode')
