"""Reads of the receivables pages: invoices, credit notes and payments (their lists, as
ListSpecs, and records), and what a customer owes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import joinedload, selectinload

from erp.extensions import db
from erp.lists import Csv, Filter, ListSpec, attrs, choice_filter, document_list, party_filter
from erp.models.core import company_today
from erp.models.invoices import (CREDIT_NOTE_STATUSES, INVOICE_STATUSES,
                                 OPEN_INVOICE_STATUSES, PAYMENT_METHODS, PAYMENT_STATUSES,
                                 CreditNote, CreditNoteLine, Invoice, InvoiceLine, Payment,
                                 PaymentAllocation)
from erp.models.sales import Customer, SalesOrder
from erp.queries import scoped_get_or_404


DUE_SOON_DAYS = 7  # `overdue=week`: due today or in the next six days


def overdue_filter(model) -> Filter:
    """`overdue=1`: open documents (invoices, bills) whose due date is past (the company's
    today); `overdue=week`: open documents due from today through the next six days (what
    falls due this week, the overdue ones apart)."""
    def apply(stmt: Select, value: str) -> Select:
        if value not in ("1", "yes", "on", "true", "week"):
            return stmt
        from flask_login import current_user

        today = company_today(current_user.company_id)
        stmt = stmt.where(model.status.in_(model.OPEN_STATUSES))
        if value == "week":
            return stmt.where(model.due_date >= today,
                              model.due_date < today + timedelta(days=DUE_SOON_DAYS))
        return stmt.where(model.due_date < today)
    return Filter("overdue", apply)


def billed_list(model, *, number, dated, party, party_key: str, statuses, csv) -> ListSpec:
    """The list of a kind of document that asks for money (invoices, bills): sorted by
    date, due date, number or total; filtered by status, party, number, dates and overdue;
    its CSV `csv(stmt)`; the party loaded with the rows."""
    relation = getattr(model, party_key.removesuffix("_id"))
    return document_list(
        model, dated=dated, number=number, statuses=statuses,
        sorts={"due": model.due_date, "total": model.total},
        parties=[party_filter(model, party_key, party)], extra=[overdue_filter(model)],
        csv=Csv(response=csv),
        options=[joinedload(relation)],
    )


INVOICES = billed_list(
    Invoice, number=Invoice.invoice_number, dated=Invoice.invoice_date, party=Customer,
    party_key="customer_id", statuses=INVOICE_STATUSES,
    csv=lambda stmt: Csv("invoices", [
        ("number", Invoice.invoice_number), *attrs(Invoice, "invoice_date", "due_date"),
        ("customer", Customer.name), *attrs(Invoice, "status", "total"),
        ("credited", Invoice.credited_total), ("paid", Invoice.paid_total),
        *attrs(Invoice, "id", "customer_id", "order_id")],
    ).export(stmt.join(Invoice.customer)))


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


CREDIT_NOTES = document_list(
    CreditNote, dated=CreditNote.credit_date, number=CreditNote.credit_number,
    statuses=CREDIT_NOTE_STATUSES, sorts={"total": CreditNote.total},
    parties=[party_filter(CreditNote, "customer_id", Customer)],
    csv=Csv(response=lambda stmt: Csv("credit-notes", [
        ("number", CreditNote.credit_number), ("credit_date", CreditNote.credit_date),
        ("invoice", Invoice.invoice_number), ("customer", Customer.name),
        *attrs(CreditNote, "status", "total", "id", "invoice_id", "customer_id")],
    ).export(stmt.join(CreditNote.customer).join(CreditNote.invoice))),
    options=[joinedload(CreditNote.customer), joinedload(CreditNote.invoice)],
)

def payments_list(model, *, party, party_key: str, name: str) -> ListSpec:
    """The list of a side's payments (customer, supplier): by date, number or amount;
    filtered by status, method, party, number and dates; CSV `name`.csv."""
    party_column = getattr(model, party_key)
    return document_list(
        model, dated=model.payment_date, statuses=PAYMENT_STATUSES,
        sorts={"amount": model.amount},
        parties=[choice_filter("method", model.method, PAYMENT_METHODS),
                 party_filter(model, party_key, party)],
        csv=Csv(response=lambda stmt: Csv(name, [
            *attrs(model, "number", "payment_date"),
            (party_key.removesuffix("_id"), party.name), ("amount", model.amount),
            ("allocated", model.allocated_total), *attrs(model, "method", "reference", "status",
                                                         "id"),
            (party_key, party_column)],
        ).export(stmt.join(party, party.id == party_column))),
        options=[joinedload(getattr(model, party_key.removesuffix("_id")))],
    )


PAYMENTS = payments_list(Payment, party=Customer, party_key="customer_id", name="payments")


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
    """What a party owes (a customer) or is owed (a supplier): its open documents' balance
    less its unallocated payments."""

    open_total: Decimal
    open_count: int
    overdue_total: Decimal
    credit: Decimal
    invoices: list  # the oldest open documents

    @property
    def balance(self) -> Decimal:
        return self.open_total - self.credit


def open_position(ledger, company_id: int, party_id: int) -> Receivables:
    """Two aggregates and the oldest open documents of a party (bounded: a page, never all
    of them); `ledger` is the side (erp.services.payments.Ledger)."""
    from erp.services.payments import credit

    model = ledger.document
    today = company_today(company_id)
    open_ = (model.company_id == company_id, getattr(model, ledger.party_key) == party_id,
             model.status.in_(model.OPEN_STATUSES))
    owed = model.owed()
    total, count, overdue = db.session.execute(
        select(func.coalesce(func.sum(owed), 0), func.count(),
               func.coalesce(func.sum(case((model.due_date < today, owed), else_=0)), 0))
        .where(*open_)).one()
    oldest = list(db.session.scalars(select(model).where(*open_)
                                     .order_by(model.due_date, model.id).limit(20)))
    cents = Decimal("0.01")
    return Receivables(Decimal(str(total)).quantize(cents), count,
                       Decimal(str(overdue)).quantize(cents),
                       credit(ledger, company_id, party_id), oldest)


def customer_receivables(company_id: int, customer_id: int) -> Receivables:
    from erp.services.payments import CUSTOMERS

    return open_position(CUSTOMERS, company_id, customer_id)
