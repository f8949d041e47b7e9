"""sales rules: net sales totals with the tax apart; issued invoices frozen

The dashboard's running totals (sales_month_totals, sales_product_totals) held amounts
including tax; sales are net of tax (after discounts, before tax). The month totals get a
`tax` column and both tables are refilled from the orders, net.

sales_orders.issued holds what an invoice says (seller, customer, addresses, lines,
prices, taxes, totals), frozen when the order is invoiced (erp.models.sales.IssuedDocument).
Orders invoiced before this revision get theirs from their records as they are now.

Revision ID: 0008_sales_rules
Revises: 0007_quality_supersede
Create Date: 2026-12-02 11:00:00.000000

"""
from decimal import Decimal

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_sales_rules'
down_revision = '0007_quality_supersede'
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


BATCH = 500
orders = sa.table("sales_orders", sa.column("id"), sa.column("company_id"),
                  sa.column("customer_id"), sa.column("status"), sa.column("subtotal"),
                  sa.column("discount_total"), sa.column("tax_total"), sa.column("total"),
                  sa.column("issued", sa.JSON))
items = sa.table("sales_order_items", sa.column("id"), sa.column("order_id"),
                 sa.column("product_id"), sa.column("quantity"), sa.column("unit_price"),
                 sa.column("discount_percent"), sa.column("tax_rate"), sa.column("subtotal"),
                 sa.column("discount_amount"), sa.column("tax_amount"), sa.column("total"))
customers = sa.table("customers", sa.column("id"), sa.column("name"),
                     sa.column("billing_address"), sa.column("shipping_address"),
                     sa.column("tax_number"))
products = sa.table("products", sa.column("id"), sa.column("sku"), sa.column("name"),
                    sa.column("unit"))
companies = sa.table("companies", sa.column("id"), sa.column("name"), sa.column("currency"))


def _number(value, places: int) -> str:
    """A stored NUMERIC as the exact string the snapshot keeps (SQLite gives floats)."""
    return str(Decimal(str(value or 0)).quantize(Decimal(1).scaleb(-places)))


def _freeze_invoiced_orders() -> None:
    """Give every invoiced order its snapshot, in the shape of IssuedDocument.to_json."""
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(orders.c.id, orders.c.subtotal, orders.c.discount_total,
                      orders.c.tax_total, orders.c.total, customers.c.name,
                      customers.c.billing_address, customers.c.shipping_address,
                      customers.c.tax_number, companies.c.name, companies.c.currency)
            .join(customers, customers.c.id == orders.c.customer_id)
            .join(companies, companies.c.id == orders.c.company_id)
            .where(orders.c.status == "invoiced", orders.c.issued.is_(None), orders.c.id > last)
            .order_by(orders.c.id).limit(BATCH)).all()
        if not rows:
            return
        lines: dict[int, list[dict]] = {row[0]: [] for row in rows}
        for line in conn.execute(
                sa.select(items.c.order_id, products.c.sku, products.c.name, products.c.unit,
                          items.c.quantity, items.c.unit_price, items.c.discount_percent,
                          items.c.tax_rate, items.c.subtotal, items.c.discount_amount,
                          items.c.tax_amount, items.c.total)
                .join(products, products.c.id == items.c.product_id)
                .where(items.c.order_id.in_(list(lines))).order_by(items.c.id)):
            net = Decimal(_number(line.subtotal, 2)) - Decimal(_number(line.discount_amount, 2))
            lines[line.order_id].append({
                "sku": line.sku, "name": line.name, "unit": line.unit,
                "quantity": _number(line.quantity, 3), "unit_price": _number(line.unit_price, 2),
                "discount_percent": _number(line.discount_percent, 3),
                "tax_rate": _number(line.tax_rate, 3), "net": str(net),
                "tax": _number(line.tax_amount, 2), "total": _number(line.total, 2)})
        for (order_id, subtotal, discount, tax, total, name, billing, shipping, tax_number,
             seller, currency) in rows:
            conn.execute(orders.update().where(orders.c.id == order_id).values(issued={
                "seller": {"name": seller, "address": "", "currency": currency},
                "customer": {"name": name, "billing_address": billing,
                             "shipping_address": shipping, "tax_number": tax_number},
                "lines": lines[order_id], "subtotal": _number(subtotal, 2),
                "discount_total": _number(discount, 2), "tax_total": _number(tax, 2),
                "total": _number(total, 2)}))
        last = rows[-1][0]


def upgrade():
    with op.batch_alter_table('sales_month_totals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax', sa.Numeric(precision=14, scale=2),
                                      server_default='0', nullable=False))
    _refill_totals(net=True)
    with op.batch_alter_table('sales_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issued', sa.JSON(), nullable=True))
    _freeze_invoiced_orders()


def _drop_column(table: str, column: str) -> None:
    """Drop a column in place: a batch copy of sales_orders on SQLite would drop the old
    table, and with foreign keys on, that deletes every order line (ON DELETE CASCADE).
    SQLite drops an unindexed column itself since 3.35."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        op.drop_column(table, column)


def downgrade():
    _drop_column('sales_orders', 'issued')
    _drop_column('sales_month_totals', 'tax')
    _refill_totals(net=False)
