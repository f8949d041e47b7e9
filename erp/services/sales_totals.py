"""The running totals of sales (`SalesMonthTotal`, `SalesProductTotal`) the dashboard reads.

`count(order, +1)` when an order becomes sold (confirmation) and `count(order, -1)` when a
sold order stops being one (a confirmed order cancelled), inside the transaction of that
change: each total is one atomic upsert (`INSERT ... ON CONFLICT DO UPDATE SET x = x +
excluded.x`), so concurrent confirmations never lose an addition. `rebuild` recomputes
them from the orders (bulk-loaded data, the migration that added them); `mismatches` is
the check the tests and the benchmark's generator run.

Sales are net of tax: an order's `total` here is its net amount (subtotal - discount), its
tax is kept apart in `tax`; a product's revenue is the sum of its lines' net amounts.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, func, select

from erp.database import conflict_insert
from erp.extensions import db
from erp.models.base import ZERO
from erp.models.sales import (SOLD_STATUSES, SalesMonthTotal, SalesOrder, SalesOrderItem,
                              SalesProductTotal)

CENT = Decimal("0.01")
MILLI = Decimal("0.001")


def exact(value, step: Decimal) -> Decimal:
    """A SUM or stored NUMERIC as an exact Decimal at `step` (SQLite returns floats)."""
    return Decimal(str(value or 0)).quantize(step)


def upsert(model, keys: dict, increments: dict) -> None:
    """Add `increments` to the row of `keys` (made when missing), atomically."""
    stmt = conflict_insert(model).values(**keys, **increments)
    scale = {"orders": None, "total": 2, "tax": 2, "revenue": 2, "quantity": 3, "net": 2}
    set_ = {}
    for column in increments:
        summed = getattr(model, column) + stmt.excluded[column]
        # SQLite adds NUMERIC in binary floating point: round to the column's scale
        set_[column] = summed if scale[column] is None else func.round(summed, scale[column])
    db.session.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=set_))


def count(order: SalesOrder, sign: int) -> None:
    """Add (+1) or take away (-1) a sold order and its lines, in the caller's transaction."""
    upsert(SalesMonthTotal, {"company_id": order.company_id,
                              "month": order.order_date.replace(day=1)},
            {"orders": sign, "total": sign * order.net, "tax": sign * order.tax_total})
    for product_id, (quantity, revenue) in by_product(order.items):
        upsert(SalesProductTotal, {"company_id": order.company_id, "product_id": product_id},
                {"quantity": sign * quantity, "revenue": sign * revenue})


def by_product(lines) -> list[tuple[int, tuple[Decimal, Decimal]]]:
    """(product id, (quantity, net amount)) of a document's lines, by product id: the order
    the totals are upserted in, so that two writers never deadlock."""
    per_product: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for line in lines:
        per_product[line.product_id][0] += line.quantity
        per_product[line.product_id][1] += line.net
    return [(product_id, tuple(per_product[product_id])) for product_id in sorted(per_product)]


def month_key(dialect: str, column):
    """The first day of a DATE column's month, as a date, on SQLite and PostgreSQL."""
    if dialect == "postgresql":
        return func.date_trunc("month", column).cast(SalesOrder.order_date.type)
    return func.date(column, "start of month")


def _expected(company_id: int) -> tuple[dict, dict]:
    """The totals computed from the orders: ({month: (orders, net total, tax)},
    {product_id: (quantity, net revenue)})."""
    dialect = db.session.get_bind().dialect.name
    month = month_key(dialect, SalesOrder.order_date).label("month")
    sold = (SalesOrder.company_id == company_id, SalesOrder.status.in_(SOLD_STATUSES))
    months = {}
    for key, orders, total, tax in db.session.execute(
            select(month, func.count(),
                   func.sum(SalesOrder.subtotal - SalesOrder.discount_total),
                   func.sum(SalesOrder.tax_total)).where(*sold)
            .group_by(month)):
        key = date.fromisoformat(key[:10]) if isinstance(key, str) else key
        months[key] = (int(orders), exact(total, CENT), exact(tax, CENT))
    products = {
        product_id: (exact(quantity, MILLI), exact(revenue, CENT))
        for product_id, quantity, revenue in db.session.execute(
            select(SalesOrderItem.product_id, func.sum(SalesOrderItem.quantity),
                   func.sum(SalesOrderItem.subtotal - SalesOrderItem.discount_amount))
            .join(SalesOrder, SalesOrder.id == SalesOrderItem.order_id).where(*sold)
            .group_by(SalesOrderItem.product_id))}
    return months, products


def rebuild(company_id: int) -> None:
    """Replace the company's totals by those computed from its orders. Flushes only."""
    months, products = _expected(company_id)
    db.session.execute(delete(SalesMonthTotal).where(SalesMonthTotal.company_id == company_id))
    db.session.execute(delete(SalesProductTotal)
                       .where(SalesProductTotal.company_id == company_id))
    if months:
        db.session.execute(SalesMonthTotal.__table__.insert(), [
            {"company_id": company_id, "month": month, "orders": orders, "total": total,
             "tax": tax}
            for month, (orders, total, tax) in months.items()])
    if products:
        db.session.execute(SalesProductTotal.__table__.insert(), [
            {"company_id": company_id, "product_id": product_id, "quantity": quantity,
             "revenue": revenue}
            for product_id, (quantity, revenue) in products.items()])


def mismatches(company_id: int) -> list[str]:
    """What differs between the stored totals and the orders (empty when they agree)."""
    months, products = _expected(company_id)
    stored_months = {
        month: (int(orders), exact(total, CENT), exact(tax, CENT))
        for month, orders, total, tax in db.session.execute(
            select(SalesMonthTotal.month, SalesMonthTotal.orders, SalesMonthTotal.total,
                   SalesMonthTotal.tax)
            .where(SalesMonthTotal.company_id == company_id))
        if orders or total or tax}
    stored_products = {
        product_id: (exact(quantity, MILLI), exact(revenue, CENT))
        for product_id, quantity, revenue in db.session.execute(
            select(SalesProductTotal.product_id, SalesProductTotal.quantity,
                   SalesProductTotal.revenue)
            .where(SalesProductTotal.company_id == company_id))
        if quantity or revenue}
    problems = [f"month {month}: stored {stored_months.get(month)}, orders say {months.get(month)}"
                for month in sorted(set(months) | set(stored_months))
                if months.get(month) != stored_months.get(month)]
    problems += [f"product {pid}: stored {stored_products.get(pid)}, orders say {products.get(pid)}"
                 for pid in sorted(set(products) | set(stored_products))
                 if products.get(pid) != stored_products.get(pid)]
    return problems
