"""Reads of the invoice pages: the list (ListSpec) and one invoice with what its page shows."""
from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload, selectinload

from erp.extensions import db
from erp.lists import Csv, Filter, ListSpec, by_id, choice_filter, date_filter, text_filter
from erp.models.core import company_today
from erp.models.invoices import INVOICE_STATUSES, OPEN_INVOICE_STATUSES, Invoice, InvoiceLine
from erp.models.sales import Customer, SalesOrder
from erp.queries import scoped_get_or_404


def _overdue(stmt: Select, value: str) -> Select:
    """`overdue=1`: open invoices whose due date is past (the company's today)."""
    if value not in ("1", "yes", "on", "true"):
        return stmt
    from flask_login import current_user

    return stmt.where(Invoice.status.in_(OPEN_INVOICE_STATUSES),
                      Invoice.due_date < company_today(current_user.company_id))


INVOICES = ListSpec(
    model=Invoice,
    sorts={"date": Invoice.invoice_date, "due": Invoice.due_date,
           "number": Invoice.invoice_number, "total": Invoice.total},
    default_sort="-date",
    stable_desc=True,
    filters=[choice_filter("status", Invoice.status, INVOICE_STATUSES),
             by_id("customer", Invoice.customer_id, Customer, Customer.name),
             text_filter("number", Invoice.invoice_number),
             date_filter("date_from", Invoice.invoice_date),
             date_filter("date_to", Invoice.invoice_date, until=True),
             Filter("overdue", _overdue)],
    csv=Csv(response=lambda stmt: Csv("invoices", [
        ("number", Invoice.invoice_number), ("invoice_date", Invoice.invoice_date),
        ("due_date", Invoice.due_date), ("customer", Customer.name),
        ("status", Invoice.status), ("total", Invoice.total),
        ("credited", Invoice.credited_total), ("paid", Invoice.paid_total),
        ("id", Invoice.id), ("customer_id", Invoice.customer_id),
        ("order_id", Invoice.order_id)],
    ).export(stmt.join(Invoice.customer))),
    options=[joinedload(Invoice.customer)],
)


def invoice_page(invoice_id: int) -> Invoice:
    """An invoice of the company with its customer, order and lines with their products."""
    return scoped_get_or_404(
        Invoice, invoice_id, joinedload(Invoice.customer), joinedload(Invoice.order),
        selectinload(Invoice.items).joinedload(InvoiceLine.product))


ORDER_INVOICES_SHOWN = 50


def order_invoices(order: SalesOrder) -> list[Invoice]:
    """The order's latest invoices, for its page (none before it shipped: no query)."""
    if order.status in ("draft", "confirmed", "cancelled"):
        return []
    return list(db.session.scalars(
        select(Invoice).where(Invoice.company_id == order.company_id,
                              Invoice.order_id == order.id)
        .order_by(Invoice.id.desc()).limit(ORDER_INVOICES_SHOWN)))
