"""The running totals of net sales (`SalesCustomerMonth`, `SalesProductMonth`) that the
sales analysis reads, so that it never sums every invoice line of a period.

`count(document, sign)` adds an issued invoice (+1) or takes away an issued credit note
(-1) in the transaction that issues it: one atomic upsert per customer and per product
(`INSERT ... ON CONFLICT DO UPDATE SET net = net + excluded.net`), so concurrent issues
never lose an addition. Net means before tax (the lines' subtotal less discount).
`rebuild` recomputes a company's totals from its documents (bulk-loaded data, the
migration that added them); `mismatches` is the check the tests and seed-bench run.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import delete, func, select, union_all

from erp.extensions import db
from erp.models.base import ZERO
from erp.models.invoices import (CreditNote, CreditNoteLine, Invoice, InvoiceLine,
                                 SalesCustomerMonth, SalesProductMonth)
from erp.services.sales_totals import by_product, exact, month_key, upsert

CENT = Decimal("0.01")
MILLI = Decimal("0.001")
# invoices that count as sales: issued, whatever has been paid since
SOLD_INVOICE_STATUSES = ("issued", "partly_paid", "paid")


def count(document: Invoice | CreditNote, sign: int) -> None:
    """Add an issued invoice (`sign` +1) or take away an issued credit note (-1), by the
    month of its date, in the caller's transaction. Flushes only."""
    day = document.invoice_date if isinstance(document, Invoice) else document.credit_date
    month = day.replace(day=1)
    company_id = document.company_id
    net = sum((line.net for line in document.items), ZERO)
    upsert(SalesCustomerMonth, {"company_id": company_id, "month": month,
                                 "customer_id": document.customer_id}, {"net": sign * net})
    for product_id, (quantity, amount) in by_product(document.items):
        upsert(SalesProductMonth, {"company_id": company_id, "month": month,
                                   "product_id": product_id},
               {"quantity": sign * quantity, "net": sign * amount})


def _expected(company_id: int) -> tuple[dict, dict]:
    """The totals computed from the documents: ({(month, customer): net},
    {(month, product): (quantity, net)})."""
    dialect = db.session.get_bind().dialect.name
    invoice_month = month_key(dialect, Invoice.invoice_date)
    note_month = month_key(dialect, CreditNote.credit_date)
    sold = (Invoice.company_id == company_id, Invoice.status.in_(SOLD_INVOICE_STATUSES))
    credited = (CreditNote.company_id == company_id, CreditNote.status == "issued")
    invoice_net = InvoiceLine.subtotal - InvoiceLine.discount_amount
    note_net = CreditNoteLine.subtotal - CreditNoteLine.discount_amount
    lines = union_all(
        select(invoice_month.label("month"), Invoice.customer_id.label("customer_id"),
               InvoiceLine.product_id.label("product_id"),
               InvoiceLine.quantity.label("quantity"), invoice_net.label("net"))
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id).where(*sold),
        select(note_month, CreditNote.customer_id, CreditNoteLine.product_id,
               -CreditNoteLine.quantity, -note_net)
        .join(CreditNote, CreditNote.id == CreditNoteLine.credit_note_id).where(*credited),
    ).subquery()
    customers = {(_month(month), customer_id): exact(net, CENT)
                 for month, customer_id, net in db.session.execute(
                     select(lines.c.month, lines.c.customer_id, func.sum(lines.c.net))
                     .group_by(lines.c.month, lines.c.customer_id))}
    products = {(_month(month), product_id): (exact(quantity, MILLI), exact(net, CENT))
                for month, product_id, quantity, net in db.session.execute(
                    select(lines.c.month, lines.c.product_id, func.sum(lines.c.quantity),
                           func.sum(lines.c.net))
                    .group_by(lines.c.month, lines.c.product_id))}
    return customers, products


def _month(value) -> date:
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value if type(value) is date else value.date()


def rebuild(company_id: int) -> None:
    """Replace the company's totals by those computed from its documents. Flushes only."""
    customers, products = _expected(company_id)
    for model in (SalesCustomerMonth, SalesProductMonth):
        db.session.execute(delete(model).where(model.company_id == company_id))
    if customers:
        db.session.execute(SalesCustomerMonth.__table__.insert(), [
            {"company_id": company_id, "month": month, "customer_id": customer_id, "net": net}
            for (month, customer_id), net in customers.items()])
    if products:
        db.session.execute(SalesProductMonth.__table__.insert(), [
            {"company_id": company_id, "month": month, "product_id": product_id,
             "quantity": quantity, "net": net}
            for (month, product_id), (quantity, net) in products.items()])


def mismatches(company_id: int) -> list[str]:
    """What differs between the stored totals and the documents (empty when they agree)."""
    customers, products = _expected(company_id)
    stored_customers = {
        (_month(month), customer_id): exact(net, CENT)
        for month, customer_id, net in db.session.execute(
            select(SalesCustomerMonth.month, SalesCustomerMonth.customer_id,
                   SalesCustomerMonth.net).where(SalesCustomerMonth.company_id == company_id))}
    stored_products = {
        (_month(month), product_id): (exact(quantity, MILLI), exact(net, CENT))
        for month, product_id, quantity, net in db.session.execute(
            select(SalesProductMonth.month, SalesProductMonth.product_id,
                   SalesProductMonth.quantity, SalesProductMonth.net)
            .where(SalesProductMonth.company_id == company_id))}
    zero = (ZERO, ZERO)
    problems = [f"customer {key}: stored {stored_customers.get(key)}, documents say "
                f"{customers.get(key)}"
                for key in sorted(set(customers) | set(stored_customers))
                if customers.get(key, ZERO) != stored_customers.get(key, ZERO)]
    problems += [f"product {key}: stored {stored_products.get(key)}, documents say "
                 f"{products.get(key)}"
                 for key in sorted(set(products) | set(stored_products))
                 if products.get(key, zero) != stored_products.get(key, zero)]
    return problems
