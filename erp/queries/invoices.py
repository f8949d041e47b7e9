"""Reads of the receivables pages: invoices, credit notes and payments (their lists, as
ListSpecs, and records), and what a customer owes."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import joinedload, selectinload

from erp.extensions import db
from erp.lists import Csv, Filter, ListSpec, by_id, choice_filter, date_filter, text_filter
from erp.models.core import company_today
from erp.models.invoices import (CREDIT_NOTE_STATUSES, INVOICE_STATUSES,
                                 OPEN_INVOICE_STATUSES, PAYMENT_METHODS, PAYMENT_STATUSES,
                                 CreditNote, CreditNoteLine, Invoice, InvoiceLine, Payment,
                                 PaymentAllocation)
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


CREDIT_NOTES = ListSpec(
    model=CreditNote,
    sorts={"date": CreditNote.credit_date, "number": CreditNote.credit_number,
           "total": CreditNote.total},
    default_sort="-date",
    stable_desc=True,
    filters=[choice_filter("status", CreditNote.status, CREDIT_NOTE_STATUSES),
             by_id("customer", CreditNote.customer_id, Customer, Customer.name),
             text_filter("number", CreditNote.credit_number),
             date_filter("date_from", CreditNote.credit_date),
             date_filter("date_to", CreditNote.credit_date, until=True)],
    csv=Csv(response=lambda stmt: Csv("credit-notes", [
        ("number", CreditNote.credit_number), ("credit_date", CreditNote.credit_date),
        ("invoice", Invoice.invoice_number), ("customer", Customer.name),
        ("status", CreditNote.status), ("total", CreditNote.total), ("id", CreditNote.id),
        ("invoice_id", CreditNote.invoice_id), ("customer_id", CreditNote.customer_id)],
    ).export(stmt.join(CreditNote.customer).join(CreditNote.invoice))),
    options=[joinedload(CreditNote.customer), joinedload(CreditNote.invoice)],
)

PAYMENTS = ListSpec(
    model=Payment,
    sorts={"date": Payment.payment_date, "number": Payment.number, "amount": Payment.amount},
    default_sort="-date",
    stable_desc=True,
    filters=[choice_filter("status", Payment.status, PAYMENT_STATUSES),
             choice_filter("method", Payment.method, PAYMENT_METHODS),
             by_id("customer", Payment.customer_id, Customer, Customer.name),
             text_filter("number", Payment.number),
             date_filter("date_from", Payment.payment_date),
             date_filter("date_to", Payment.payment_date, until=True)],
    csv=Csv(response=lambda stmt: Csv("payments", [
        ("number", Payment.number), ("payment_date", Payment.payment_date),
        ("customer", Customer.name), ("amount", Payment.amount),
        ("allocated", Payment.allocated_total), ("method", Payment.method),
        ("reference", Payment.reference), ("status", Payment.status), ("id", Payment.id),
        ("customer_id", Payment.customer_id)],
    ).export(stmt.join(Payment.customer))),
    options=[joinedload(Payment.customer)],
)


def credit_note_page(credit_note_id: int) -> CreditNote:
    return scoped_get_or_404(
        CreditNote, credit_note_id, joinedload(CreditNote.customer),
        joinedload(CreditNote.invoice),
        selectinload(CreditNote.items).joinedload(CreditNoteLine.product))


def payment_page(payment_id: int) -> Payment:
    return scoped_get_or_404(Payment, payment_id, joinedload(Payment.customer),
                             selectinload(Payment.allocations)
                             .joinedload(PaymentAllocation.invoice))


SHOWN = 50  # the latest credit notes and payments an invoice's page lists


def invoice_settlements(invoice: Invoice) -> dict:
    """An issued invoice's credit notes and the payments allocated to it (the latest)."""
    if invoice.status in ("draft", "cancelled"):
        return {"credit_notes": [], "allocations": []}
    return {
        "credit_notes": list(db.session.scalars(
            select(CreditNote).where(CreditNote.company_id == invoice.company_id,
                                     CreditNote.invoice_id == invoice.id)
            .order_by(CreditNote.id.desc()).limit(SHOWN))),
        "allocations": list(db.session.scalars(
            select(PaymentAllocation).where(PaymentAllocation.company_id == invoice.company_id,
                                            PaymentAllocation.invoice_id == invoice.id)
            .options(joinedload(PaymentAllocation.payment))
            .order_by(PaymentAllocation.id.desc()).limit(SHOWN)))}


@dataclass(frozen=True)
class Receivables:
    """What a customer owes: its open invoices' balance less its unallocated payments."""

    open_total: Decimal
    open_count: int
    overdue_total: Decimal
    credit: Decimal
    invoices: list

    @property
    def balance(self) -> Decimal:
        return self.open_total - self.credit


def customer_receivables(company_id: int, customer_id: int) -> Receivables:
    """Two aggregates and the oldest open invoices (bounded: a page, never all of them)."""
    from erp.services.payments import customer_credit

    today = company_today(company_id)
    open_ = (Invoice.company_id == company_id, Invoice.customer_id == customer_id,
             Invoice.status.in_(OPEN_INVOICE_STATUSES))
    owed = Invoice.total - Invoice.credited_total - Invoice.paid_total
    total, count, overdue = db.session.execute(
        select(func.coalesce(func.sum(owed), 0), func.count(),
               func.coalesce(func.sum(case((Invoice.due_date < today, owed), else_=0)), 0))
        .where(*open_)).one()
    oldest = list(db.session.scalars(select(Invoice).where(*open_)
                                     .order_by(Invoice.due_date, Invoice.id).limit(20)))
    cents = Decimal("0.01")
    return Receivables(Decimal(str(total)).quantize(cents), count,
                       Decimal(str(overdue)).quantize(cents),
                       customer_credit(company_id, customer_id), oldest)
