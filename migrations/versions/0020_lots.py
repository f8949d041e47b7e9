"""lots and serial numbers: products.tracking, lots, lot_levels, stock_movements.lot_id

products.tracking ('none' for every existing product, checked against the choices);
lots (a batch or serial number of a product, unique code per product, optional expiry);
lot_levels (a lot's stock per warehouse, never negative); stock_movements.lot_id (the lot
a movement of a tracked product moved; NULL for the existing ledger, whose products are
untracked); delivery_note_lines.lots (the picks of a draft delivery, '' for existing lines).

Revision ID: 0020_lots
Revises: 0019_money
Create Date: 2026-12-02 18:24:30.549295

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0020_lots'
down_revision = '0019_money'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lots',
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('expiry', sa.Date(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_lots_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_lots_product_id_products'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lots')),
    sa.UniqueConstraint('company_id', 'product_id', 'code', name=op.f('uq_lots_company_id_product_id_code'))
    )
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.create_index('ix_lots_company_code', ['company_id', 'code'], unique=False)
        batch_op.create_index('ix_lots_company_expiry', ['company_id', 'expiry'], unique=False)
        batch_op.create_index(batch_op.f('ix_lots_product_id'), ['product_id'], unique=False)

    op.create_table('lot_levels',
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('on_hand', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('on_hand >= 0', name=op.f('ck_lot_levels_on_hand_not_negative')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_lot_levels_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_lot_levels_lot_id_lots'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_lot_levels_product_id_products'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_lot_levels_warehouse_id_warehouses'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot_levels')),
    sa.UniqueConstraint('lot_id', 'warehouse_id', name=op.f('uq_lot_levels_lot_id_warehouse_id'))
    )
    with op.batch_alter_table('lot_levels', schema=None) as batch_op:
        batch_op.create_index('ix_lot_levels_company_product_warehouse', ['company_id', 'product_id', 'warehouse_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lot_levels_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lot_levels_warehouse_id'), ['warehouse_id'], unique=False)

    with op.batch_alter_table('delivery_note_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lots', sa.String(length=2000), server_default='', nullable=False))

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tracking', sa.String(length=10), server_default='none', nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_products_tracking'), "tracking IN ('none', 'lot', 'serial')")

    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lot_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_stock_movements_lot_id'), ['lot_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_stock_movements_lot_id_lots'), 'lots', ['lot_id'], ['id'], ondelete='RESTRICT')



def downgrade():
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_stock_movements_lot_id_lots'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_stock_movements_lot_id'))
        batch_op.drop_column('lot_id')

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_products_tracking'), type_='check')
        batch_op.drop_column('tracking')

    with op.batch_alter_table('delivery_note_lines', schema=None) as batch_op:
        batch_op.drop_column('lots')

    with op.batch_alter_table('lot_levels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lot_levels_warehouse_id'))
        batch_op.drop_index(batch_op.f('ix_lot_levels_product_id'))
        batch_op.drop_index('ix_lot_levels_company_product_warehouse')

    op.drop_table('lot_levels')
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lots_product_id'))
        batch_op.drop_index('ix_lots_company_expiry')
        batch_op.drop_index('ix_lots_company_code')

    op.drop_table('lots')
