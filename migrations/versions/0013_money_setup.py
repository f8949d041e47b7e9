"""Money settings: the seller's data on companies, company logos, tax codes, payment terms;
products name a default tax code, customers their payment terms

Existing companies get blank seller data (their documents keep showing the name), no tax
code and no terms: lines keep the rate typed on them until codes are set up.

Revision ID: 0013_money_setup
Revises: 0012_default_warehouse
Create Date: 2026-12-02 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_money_setup'
down_revision = '0012_default_warehouse'
branch_labels = None
depends_on = None

COMPANY_COLUMNS = [('legal_name', sa.String(length=200)), ('address', sa.Text()),
                   ('tax_number', sa.String(length=50)), ('bank_details', sa.Text()),
                   ('invoice_footer', sa.Text())]


def _timestamps():
    return [sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
            sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False)]


def _company_table(name, *columns, checks=()):
    op.create_table(
        name,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        *columns,
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('is_default', sa.Boolean(), nullable=False),
        *_timestamps(),
        *checks,
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                                name=op.f(f'fk_{name}_company_id_companies'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}')),
        sa.UniqueConstraint('company_id', 'name', name=op.f(f'uq_{name}_company_id_name')))
    op.create_index(f'ix_{name}_company_active_name', name, ['company_id', 'active', 'name'])
    op.create_index(f'uq_{name}_one_default', name, ['company_id', 'is_default'], unique=True,
                    sqlite_where=sa.text('is_default'), postgresql_where=sa.text('is_default'))


def upgrade():
    with op.batch_alter_table('companies', schema=None) as batch_op:
        for name, type_ in COMPANY_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, server_default='', nullable=False))
    op.create_table(
        'company_logos',
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('content_type', sa.String(length=20), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                                name=op.f('fk_company_logos_company_id_companies'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('company_id', name=op.f('pk_company_logos')))
    _company_table('tax_codes', sa.Column('rate', sa.Numeric(precision=7, scale=3),
                                          nullable=False),
                   checks=[sa.CheckConstraint('rate >= 0 AND rate <= 100',
                                              name=op.f('ck_tax_codes_rate_range'))])
    _company_table('payment_terms', sa.Column('kind', sa.String(length=20), nullable=False),
                   sa.Column('days', sa.Integer(), nullable=False),
                   checks=[sa.CheckConstraint('days >= 0 AND days <= 365',
                                              name=op.f('ck_payment_terms_days_range')),
                           sa.CheckConstraint("kind IN ('net', 'receipt', 'end_of_month')",
                                              name=op.f('ck_payment_terms_kind'))])
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_code_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_products_tax_code_id', ['tax_code_id'])
        batch_op.create_foreign_key(batch_op.f('fk_products_tax_code_id_tax_codes'),
                                    'tax_codes', ['tax_code_id'], ['id'], ondelete='RESTRICT')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_terms_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_customers_payment_terms_id', ['payment_terms_id'])
        batch_op.create_foreign_key(batch_op.f('fk_customers_payment_terms_id_payment_terms'),
                                    'payment_terms', ['payment_terms_id'], ['id'],
                                    ondelete='RESTRICT')


def downgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_customers_payment_terms_id_payment_terms'),
                                 type_='foreignkey')
        batch_op.drop_index('ix_customers_payment_terms_id')
        batch_op.drop_column('payment_terms_id')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_products_tax_code_id_tax_codes'),
                                 type_='foreignkey')
        batch_op.drop_index('ix_products_tax_code_id')
        batch_op.drop_column('tax_code_id')
    for name in ('payment_terms', 'tax_codes'):
        op.drop_index(f'uq_{name}_one_default', table_name=name)
        op.drop_index(f'ix_{name}_company_active_name', table_name=name)
        op.drop_table(name)
    op.drop_table('company_logos')
    with op.batch_alter_table('companies', schema=None) as batch_op:
        for name, _type in reversed(COMPANY_COLUMNS):
            batch_op.drop_column(name)
