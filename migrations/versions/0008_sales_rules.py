"""sales rules: net sales totals with the tax apart

The dashboard's running totals (sales_month_totals, sales_product_totals) held amounts
including tax; sales are net of tax (after discounts, before tax). The month totals get a
`tax` column and both tables are refilled from the orders, net.

Revision ID: 0008_sales_rules
Revises: 0006_install_admin
Create Date: 2026-12-02 11:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_sales_rules'
down_revision = '0006_install_admin'
branch_labels = None
depends_on = None

MONTH = {"sqlite": "date(o.order_date, 'start of month')",
         "postgresql": "CAST(date_trunc('month', o.order_date) AS DATE)"}
SOLD = "o.status IN ('confirmed', 'shipped', 'invoiced')"


def _refill_totals(*, net: bool) -> None:
    """Refill the running totals from the orders: net of tax (`net`) or, going back down,
    the amounts including tax that the earlier revisions kept."""
    month = MONTH[op.get_bind().dialect.name]
    order_amount = "o.subtotal - o.discount_total" if net else "o.total"
    line_amount = "i.subtotal - i.discount_amount" if net else "i.total"
    tax = (", tax", ", ROUND(SUM(o.tax_total), 2)") if net else ("", "")
    op.execute("DELETE FROM sales_month_totals")
    op.execute("DELETE FROM sales_product_totals")
    op.execute(f"INSERT INTO sales_month_totals (company_id, month, orders, total{tax[0]}) "
               f"SELECT o.company_id, {month}, COUNT(*), ROUND(SUM({order_amount}), 2){tax[1]} "
               f"FROM sales_orders o WHERE {SOLD} GROUP BY o.company_id, {month}")
    op.execute("INSERT INTO sales_product_totals (company_id, product_id, quantity, revenue) "
               f"SELECT o.company_id, i.product_id, ROUND(SUM(i.quantity), 3), "
               f"ROUND(SUM({line_amount}), 2) "
               f"FROM sales_order_items i JOIN sales_orders o ON o.id = i.order_id WHERE {SOLD} "
               "GROUP BY o.company_id, i.product_id")


def upgrade():
    with op.batch_alter_table('sales_month_totals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax', sa.Numeric(precision=14, scale=2),
                                      server_default='0', nullable=False))
    _refill_totals(net=True)


def downgrade():
    with op.batch_alter_table('sales_month_totals', schema=None) as batch_op:
        batch_op.drop_column('tax')
    _refill_totals(net=False)
