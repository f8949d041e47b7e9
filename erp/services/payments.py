"""Payments: money received from customers (allocated to their open invoices) and paid to
suppliers (allocated to their open bills), one set of rules declared twice (`Ledger`).

A manager records a payment (date, amount, method, reference) of a party (a customer, a
supplier) and how much of it goes to each of the party's open documents (`alloc-<id>`
inputs, partial allowed); what is not allocated stays as the party's credit, allocated
later from the payment's page. Never more than a document still asks for, never more than
the payment holds. Each allocation raises the document's `paid_total`, moving it open ->
partly paid -> paid. A payment is never deleted: reversing it (recorded in the history)
takes every allocation back and the documents open again.

Locks: the payment first (allocating later, reversing), then the documents it touches in
id order, each re-read under its lock before its open balance is checked, so two payments
racing for one document on PostgreSQL never over-pay it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value

from erp.extensions import db
from erp.formatting import money as fmt_money
from erp.i18n import _, gettext
from erp.models import User
from erp.models.base import ZERO, utcnow
from erp.models.core import company_today
from erp.models.invoices import PAYMENT_METHODS, Invoice, Payment, PaymentAllocation
from erp.models.sales import Customer
from erp.services import (InvalidTransition, NotFound, ValidationError, atomic, audit,
                          validation)
from erp.parsing import parse_id
from erp.services.sequences import next_number

CENT = Decimal("0.01")
MAX_MONEY = Decimal("999999999999.99")
REFERENCE_MAX = 100


@dataclass(frozen=True)
class Ledger:
    """One side's payments: its payment and allocation models, the documents they settle
    (`document`, whose `OPEN_STATUSES` may be paid), the party both belong to, the number
    series and the record type of the history, and `settle(document)` (its state from its
    figures)."""

    payment: type
    allocation: type
    document: type
    party: type
    doc_key: str          # the allocation's column of the document: "invoice_id"
    party_key: str        # the payment's and the document's column of the party
    party_field: str      # the form's field of the party: "customer"
    series: str
    record_type: str
    settle: Callable[[Any], None]
    # (company id, party id) -> what the party owes besides its unallocated payments (a
    # supplier: returned goods its bills could not take)
    other_credit: Callable[[int, int], Decimal] | None = None

    def choose_party(self) -> str:
        return _("Choose a customer.") if self.party is Customer else _("Choose a supplier.")

    def not_of_party(self) -> str:
        return (_("Choose an invoice of this customer.") if self.party is Customer
                else _("Choose a bill of this supplier."))

    def no_document(self) -> str:
        return _("No such invoice.") if self.party is Customer else _("No such bill.")


def _settle_invoice(invoice) -> None:
    from erp.services.invoices import settle

    settle(invoice)


CUSTOMERS = Ledger(payment=Payment, allocation=PaymentAllocation, document=Invoice,
                   party=Customer, doc_key="invoice_id", party_key="customer_id",
                   party_field="customer", series="PAY", record_type="payment",
                   settle=_settle_invoice)
SERIES = CUSTOMERS.series


def _amount(value, field: str, errors: dict, *, required: bool) -> Decimal | None:
    """A positive amount of money (at most cents); blank or 0 is None (no allocation)."""
    if validation.blank(value):
        if required:
            validation.add_error(errors, field, _("Enter an amount."))
        return None
    try:
        amount = validation.number(value, step=CENT, maximum=MAX_MONEY)
    except validation.BadValue as problem:
        validation.add_error(errors, field, str(problem))
        return None
    if amount == 0:
        if required:
            validation.add_error(errors, field, _("Enter an amount above zero."))
        return None
    return amount


def open_documents(ledger: Ledger, company_id: int, party_id: int, *, limit: int = 50) -> list:
    """The party's open documents, oldest due first (what a payment may be allocated to)."""
    document = ledger.document
    return list(db.session.scalars(
        select(document).where(document.company_id == company_id,
                               getattr(document, ledger.party_key) == party_id,
                               document.status.in_(document.OPEN_STATUSES))
        .order_by(document.due_date, document.id).limit(limit)))


def open_invoices(company_id: int, customer_id: int, *, limit: int = 50) -> list[Invoice]:
    return open_documents(CUSTOMERS, company_id, customer_id, limit=limit)


def _allocate(ledger: Ledger, payment, allocations: dict, errors: dict, *,
              room: Decimal) -> list:
    """Parse and lock: {document id: amount text} -> [(document, amount)], each document the
    payment's party's and open, locked and re-read, the amount within its balance; all
    within `room` (what the payment has left). Problems go to `errors`."""
    document = ledger.document
    wanted: list[tuple[int, Decimal]] = []
    for raw_id, raw in allocations.items():
        field = f"alloc-{raw_id}"
        doc_id = parse_id(str(raw_id))
        amount = _amount(raw, field, errors, required=False)
        if doc_id is None:
            validation.add_error(errors, field, ledger.no_document())
        elif amount is not None:
            wanted.append((doc_id, amount))
    result = []
    for doc_id, amount in sorted(wanted):
        found = db.session.scalar(
            select(document).where(document.id == doc_id,
                                   document.company_id == payment.company_id,
                                   getattr(document, ledger.party_key)
                                   == getattr(payment, ledger.party_key))
            .with_for_update(of=document).execution_options(populate_existing=True))
        field = f"alloc-{doc_id}"
        if found is None:
            validation.add_error(errors, field, ledger.not_of_party())
        elif found.status not in document.OPEN_STATUSES:
            validation.add_error(errors, field, _(
                "%(number)s is %(state)s: nothing is open.", number=found.number,
                state=gettext(found.status_label).lower()))
        elif amount > found.balance:
            validation.add_error(errors, field, _(
                "%(number)s asks for only %(amount)s.", number=found.number,
                amount=fmt_money(found.balance)))
        else:
            result.append((found, amount))
    total = sum((amount for _unused, amount in result), ZERO)
    if total > room:
        validation.add_error(errors, "amount", _(
            "The allocations (%(total)s) are more than the payment has (%(room)s).",
            total=fmt_money(total), room=fmt_money(room)))
    return result


def _apply(ledger: Ledger, payment, allocated: list) -> None:
    for document, amount in allocated:
        payment.allocations.append(ledger.allocation(
            company_id=payment.company_id, amount=amount, **{ledger.doc_key: document.id}))
        document.paid_total = document.paid_total + amount
        ledger.settle(document)
    payment.allocated_total = payment.allocated_total + sum(
        (amount for _unused, amount in allocated), ZERO)


def record(ledger: Ledger, *, company_id: int, user: User | None, party_id: int | None,
           amount, payment_date: date | str | None = None, method: str = "bank_transfer",
           reference: str = "", allocations: dict | None = None):
    """Record a payment of a party with its allocations ({document id: amount}); the rest
    is the party's credit. Manager (the view's role). Refuses, every problem at once
    (ValidationError: the party's field, `amount`, `payment_date`, `method`, `reference`,
    `alloc-<document id>`), a bad amount, another party's or a closed document, an
    allocation above what a document asks for or above the amount. Commits."""
    errors: dict[str, list[str]] = {}
    value = _amount(amount, "amount", errors, required=True)
    day = validation.date_value(payment_date or company_today(company_id), "payment_date",
                                errors, required=True)
    if method not in PAYMENT_METHODS:
        validation.add_error(errors, "method", _("Choose a method."))
    reference = validation.clean_text(reference, "reference", REFERENCE_MAX, errors)
    with atomic():
        party = db.session.scalar(select(ledger.party).where(
            ledger.party.id == party_id, ledger.party.company_id == company_id)) if party_id else None
        if party is None:
            validation.add_error(errors, ledger.party_field, ledger.choose_party())
        payment = ledger.payment(
            company_id=company_id, payment_date=day, amount=value, method=method,
            reference=reference, status="recorded", allocated_total=ZERO,
            created_by_id=user.id if user is not None else None,
            **{ledger.party_key: party.id if party else None})
        allocated = (_allocate(ledger, payment, allocations or {}, errors, room=value)
                     if party is not None and value is not None else [])
        if errors:
            raise ValidationError(field_errors=errors)
        payment.number = next_number(company_id, ledger.series, on=day)
        db.session.add(payment)
        _apply(ledger, payment, allocated)
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="create",
                     record_type=ledger.record_type, record_id=payment.id,
                     summary=f"Payment {payment.number} of {fmt_money(value)} "
                             f"({party.name}): " + _summary(allocated, payment))
    return payment


def record_payment(*, customer_id: int | None, **values) -> Payment:
    """A customer's payment (`record`)."""
    return record(CUSTOMERS, party_id=customer_id, **values)


def _summary(allocated: list, payment) -> str:
    parts = [f"{fmt_money(amount)} to {document.number}" for document, amount in allocated]
    parts.append(f"{fmt_money(payment.unallocated)} unallocated")
    return ", ".join(parts)


def _lock(ledger: Ledger, company_id: int, payment_id: int):
    model = ledger.payment
    payment = db.session.scalar(
        select(model).where(model.id == payment_id, model.company_id == company_id)
        .with_for_update(of=model).execution_options(populate_existing=True))
    if payment is None:
        raise NotFound(_("No such payment."))
    allocations = db.session.scalars(
        select(ledger.allocation).where(ledger.allocation.payment_id == payment.id)
        .order_by(ledger.allocation.id).execution_options(populate_existing=True)).all()
    set_committed_value(payment, "allocations", list(allocations))
    return payment


def allocate(ledger: Ledger, *, company_id: int, payment_id: int, user: User | None,
             allocations: dict):
    """Allocate what a recorded payment has left (the party's credit) to open documents of
    its party. Manager. ValidationError as for `record`, and for an empty allocation;
    InvalidTransition for a reversed payment. Commits."""
    errors: dict[str, list[str]] = {}
    with atomic():
        payment = _lock(ledger, company_id, payment_id)
        if payment.status != "recorded":
            raise InvalidTransition(_("%(number)s is reversed: it has nothing to allocate.",
                                      number=payment.number))
        allocated = _allocate(ledger, payment, allocations, errors, room=payment.unallocated)
        if errors:
            raise ValidationError(field_errors=errors)
        if not allocated:
            raise ValidationError(_("Enter an amount for at least one document."))
        _apply(ledger, payment, allocated)
        audit.record(company_id=company_id, user=user, action="update",
                     record_type=ledger.record_type, record_id=payment.id,
                     summary=f"Payment {payment.number} allocated: "
                             + _summary(allocated, payment))
    return payment


def allocate_payment(**values) -> Payment:
    """Allocate a customer payment's rest (`allocate`)."""
    return allocate(CUSTOMERS, **values)


def reverse(ledger: Ledger, *, company_id: int, payment_id: int, user: User | None):
    """recorded -> reversed: every allocation is taken off its document (which opens
    again: paid -> partly paid or open); the payment and its allocations stay as a record.
    Manager. Replay no-op. Commits."""
    document = ledger.document
    with atomic():
        payment = _lock(ledger, company_id, payment_id)
        if not payment.workflow.begin(payment, "reverse", user):
            return payment
        ids = sorted({getattr(allocation, ledger.doc_key) for allocation in payment.allocations})
        documents = {found.id: found for found in db.session.scalars(
            select(document).where(document.id.in_(ids)).order_by(document.id)
            .with_for_update(of=document).execution_options(populate_existing=True))}
        for allocation in payment.allocations:
            found = documents[getattr(allocation, ledger.doc_key)]
            found.paid_total = found.paid_total - allocation.amount
            ledger.settle(found)
        payment.status, payment.reversed_at = "reversed", utcnow()
        audit.record(company_id=company_id, user=user, action="status",
                     record_type=ledger.record_type, record_id=payment.id,
                     summary=f"Payment {payment.number} of {fmt_money(payment.amount)} "
                             f"reversed", changes={"status": ("recorded", "reversed")})
    return payment


def reverse_payment(**values) -> Payment:
    """Reverse a customer payment (`reverse`)."""
    return reverse(CUSTOMERS, **values)


def credit(ledger: Ledger, company_id: int, party_id: int) -> Decimal:
    """What the party's recorded payments hold unallocated (one aggregate query), plus the
    side's `other_credit` (one more)."""
    model = ledger.payment
    value = db.session.scalar(
        select(func.coalesce(func.sum(model.amount - model.allocated_total), 0))
        .where(model.company_id == company_id, getattr(model, ledger.party_key) == party_id,
               model.status == "recorded"))
    other = ledger.other_credit(company_id, party_id) if ledger.other_credit else ZERO
    return Decimal(str(value)).quantize(CENT) + other


def customer_credit(company_id: int, customer_id: int) -> Decimal:
    return credit(CUSTOMERS, company_id, customer_id)


def allocated_mismatches(ledger: Ledger, company_id: int) -> list[str]:
    """Recorded payments whose allocated total is not the sum of their allocations."""
    model, allocation = ledger.payment, ledger.allocation
    problems = []
    for payment_id, allocated, stored in db.session.execute(
            select(model.id, func.coalesce(func.sum(allocation.amount), 0),
                   model.allocated_total)
            .outerjoin(allocation, allocation.payment_id == model.id)
            .where(model.company_id == company_id, model.status == "recorded")
            .group_by(model.id, model.allocated_total)):
        if Decimal(str(allocated)) != stored:
            problems.append(_('%(record_type)s %(payment_id)s: allocated %(stored)s != %(allocated)s', record_type=ledger.record_type, payment_id=payment_id, stored=stored, allocated=allocated))
    return problems


def paid_per_document(ledger: Ledger, company_id: int) -> dict[int, Decimal]:
    """What recorded payments allocated to each document."""
    allocation, model = ledger.allocation, ledger.payment
    doc_column = getattr(allocation, ledger.doc_key)
    return {k: Decimal(str(v)).quantize(CENT) for k, v in db.session.execute(
        select(doc_column, func.sum(allocation.amount))
        .join(model, model.id == allocation.payment_id)
        .where(model.company_id == company_id, model.status == "recorded")
        .group_by(doc_column)).all()}
