"""stock valuation: each movement's unit cost and value, each level's value, and the value
of each level and of each category and warehouse at the end of every day

Revision ID: 0027_stock_valuation
Revises: 0024_languages
Create Date: 2026-12-03 06:30:00

Old movements are valued at their product's cost price (erp.services.valuation.rebuild):
a level is then worth its on hand x the cost price, and its movements add up to it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0027_stock_valuation'
down_revision = '0026_money_reports'
branch_labels = None
depends_on = None

VALUE = sa.Numeric(20, 2)


def upgrade():
    with op.batch_alter_table('stock_movements') as batch:
        batch.add_column(sa.Column('unit_cost', sa.Numeric(16, 4), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('value', VALUE, nullable=False, server_default='0'))
    with op.batch_alter_table('stock_levels') as batch:
        batch.add_column(sa.Column('value', VALUE, nullable=False, server_default='0'))
    op.create_table(
        'stock_value_days',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('warehouse_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('quantity', sa.Numeric(14, 3), nullable=False),
        sa.Column('value', VALUE, nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], ondelete='CASCADE',
                                name=op.f('fk_stock_value_days_company_id_companies')),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], ondelete='RESTRICT',
                                name=op.f('fk_stock_value_days_product_id_products')),
        sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], ondelete='RESTRICT',
                                name=op.f('fk_stock_value_days_warehouse_id_warehouses')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_value_days')),
        sa.UniqueConstraint('company_id', 'product_id', 'warehouse_id', 'day',
                            name=op.f('uq_stock_value_days_company_id_product_id_warehouse_id_day')),
    )
    op.create_index(op.f('ix_stock_value_days_product_id'), 'stock_value_days',
                    ['product_id'])
    op.create_index(op.f('ix_stock_value_days_warehouse_id'), 'stock_value_days',
                    ['warehouse_id'])
    op.create_table(
        'stock_value_totals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('category_key', sa.Integer(), nullable=False),
        sa.Column('warehouse_key', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('value', VALUE, nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], ondelete='CASCADE',
                                name=op.f('fk_stock_value_totals_company_id_companies')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_value_totals')),
        sa.UniqueConstraint('company_id', 'category_key', 'warehouse_key', 'day',
                            name=op.f('uq_stock_value_totals_company_id_category_key_warehouse_key_day')),
    )
    from erp.services.valuation import rebuild

    connection = op.get_bind()
    for company_id, zone in connection.execute(sa.text("SELECT id, timezone FROM companies")):
        rebuild(connection, company_id, zone or "UTC")


def downgrade():
    op.drop_table('stock_value_totals')
    op.drop_index(op.f('ix_stock_value_days_warehouse_id'), table_name='stock_value_days')
    op.drop_index(op.f('ix_stock_value_days_product_id'), table_name='stock_value_days')
    op.drop_table('stock_value_days')
    with op.batch_alter_table('stock_levels') as batch:
        batch.drop_column('value')
    with op.batch_alter_table('stock_movements') as batch:
        batch.drop_column('value')
        batch.drop_column('unit_cost')
