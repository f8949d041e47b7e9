"""Customer payments: money received, allocated to one or several open invoices.

A manager records a payment (date, amount, method, reference) of a customer and how much
of it goes to each of the customer's open invoices (`alloc-<invoice id>` inputs, partial
allowed); what is not allocated stays as the customer's credit, allocated later from the
payment's page. Never more than an invoice still asks for, never more than the payment
holds. Each allocation raises the invoice's `paid_total`, moving it issued -> partly paid
-> paid. A payment is never deleted: reversing it (recorded in the history) takes every
allocation back and the invoices open again.

Locks: the payment first (allocating later, reversing), then the invoices it touches in
id order, each re-read under its lock before its open balance is checked, so two payments
racing for one invoice on PostgreSQL never over-pay it.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from erp.extensions import db
from erp.formatting import money as fmt_money
from erp.models import User
from erp.models.base import ZERO, utcnow
from erp.models.core import company_today
from erp.models.invoices import (OPEN_INVOICE_STATUSES, PAYMENT_METHODS, Invoice, Payment,
                                 PaymentAllocation)
from erp.models.sales import Customer
from erp.services import NotFound, ValidationError, atomic, audit, validation
from erp.services.invoices import settle
from erp.parsing import parse_id
from erp.services.sequences import next_number
from erp.i18n import _

SERIES = "PAY"
CENT = Decimal("0.01")
MAX_MONEY = Decimal("999999999999.99")
REFERENCE_MAX = 100


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


def open_invoices(company_id: int, customer_id: int, *, limit: int = 50) -> list[Invoice]:
    """The customer's open invoices, oldest due first (what a payment may be allocated to)."""
    return list(db.session.scalars(
        select(Invoice).where(Invoice.company_id == company_id,
                              Invoice.customer_id == customer_id,
                              Invoice.status.in_(OPEN_INVOICE_STATUSES))
        .order_by(Invoice.due_date, Invoice.id).limit(limit)))


def _allocate(payment: Payment, allocations: dict, errors: dict, *, room: Decimal) -> list:
    """Parse and lock: {invoice id: amount text} -> [(invoice, amount)], each invoice the
    payment's customer's and open, locked and re-read, the amount within its balance; all
    within `room` (what the payment has left). Problems go to `errors`."""
    wanted: list[tuple[int, Decimal]] = []
    for raw_id, raw in allocations.items():
        field = f"alloc-{raw_id}"
        invoice_id = parse_id(str(raw_id))
        amount = _amount(raw, field, errors, required=False)
        if invoice_id is None:
            validation.add_error(errors, field, _("No such invoice."))
        elif amount is not None:
            wanted.append((invoice_id, amount))
    result = []
    for invoice_id, amount in sorted(wanted):
        invoice = db.session.scalar(
            select(Invoice).where(Invoice.id == invoice_id,
                                  Invoice.company_id == payment.company_id,
                                  Invoice.customer_id == payment.customer_id)
            .with_for_update(of=Invoice).execution_options(populate_existing=True))
        field = f"alloc-{invoice_id}"
        if invoice is None:
            validation.add_error(errors, field, _("Choose an invoice of this customer."))
        elif invoice.status not in OPEN_INVOICE_STATUSES:
            validation.add_error(errors, field, _('%(number)s is %(value)s: nothing is open.', number=invoice.number, value=invoice.status_label.lower()))
        elif amount > invoice.balance:
            validation.add_error(errors, field, _('%(number)s asks for only %(value)s.', number=invoice.number, value=fmt_money(invoice.balance)))
        else:
            result.append((invoice, amount))
    total = sum((amount for _, amount in result), ZERO)
    if total > room:
        validation.add_error(errors, "amount", _('The allocations (%(value)s) are more than the payment has (%(value2)s).', value=fmt_money(total), value2=fmt_money(room)))
    return result


def _apply(payment: Payment, allocated: list) -> None:
    for invoice, amount in allocated:
        payment.allocations.append(PaymentAllocation(company_id=payment.company_id,
                                                     invoice_id=invoice.id, amount=amount))
        invoice.paid_total = invoice.paid_total + amount
        settle(invoice)
    payment.allocated_total = payment.allocated_total + sum(
        (amount for _, amount in allocated), ZERO)


def record_payment(*, company_id: int, user: User | None, customer_id: int | None,
                   amount, payment_date: date | str | None = None, method: str = "bank_transfer",
                   reference: str = "", allocations: dict | None = None) -> Payment:
    """Record a payment of a customer with its allocations ({invoice id: amount}); the rest
    is the customer's credit. Manager (the view's role). Refuses, every problem at once
    (ValidationError: `customer`, `amount`, `payment_date`, `method`, `reference`,
    `alloc-<invoice id>`), a bad amount, another customer's or a closed invoice, an
    allocation above what an invoice asks for or above the amount. Commits."""
    errors: dict[str, list[str]] = {}
    value = _amount(amount, "amount", errors, required=True)
    day = validation.date_value(payment_date or company_today(company_id), "payment_date",
                                errors, required=True)
    if method not in PAYMENT_METHODS:
        validation.add_error(errors, "method", _("Choose a method."))
    reference = validation.clean_text(reference, "reference", REFERENCE_MAX, errors)
    with atomic():
        customer = db.session.scalar(select(Customer).where(
            Customer.id == customer_id, Customer.company_id == company_id)) if customer_id else None
        if customer is None:
            validation.add_error(errors, "customer", _("Choose a customer."))
        payment = Payment(company_id=company_id, customer_id=customer.id if customer else None,
                          payment_date=day, amount=value, method=method, reference=reference,
                          status="recorded", allocated_total=ZERO,
                          created_by_id=user.id if user is not None else None)
        allocated = (_allocate(payment, allocations or {}, errors, room=value)
                     if customer is not None and value is not None else [])
        if errors:
            raise ValidationError(field_errors=errors)
        payment.number = next_number(company_id, SERIES, on=day)
        db.session.add(payment)
        _apply(payment, allocated)
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="create", record_type="payment",
                     record_id=payment.id,
                     summary=f"Payment {payment.number} of {fmt_money(value)} from "
                             f"{customer.name}: " + _summary(allocated, payment))
    return payment


def _summary(allocated: list, payment: Payment) -> str:
    parts = [f"{fmt_money(amount)} to {invoice.number}" for invoice, amount in allocated]
    parts.append(f"{fmt_money(payment.unallocated)} unallocated")
    return ", ".join(parts)


def _lock(company_id: int, payment_id: int) -> Payment:
    payment = db.session.scalar(
        select(Payment).where(Payment.id == payment_id, Payment.company_id == company_id)
        .with_for_update(of=Payment).execution_options(populate_existing=True))
    if payment is None:
        raise NotFound(_("No such payment."))
    allocations = db.session.scalars(
        select(PaymentAllocation).where(PaymentAllocation.payment_id == payment.id)
        .order_by(PaymentAllocation.id).execution_options(populate_existing=True)).all()
    set_committed_value(payment, "allocations", list(allocations))
    return payment


def allocate_payment(*, company_id: int, payment_id: int, user: User | None,
                     allocations: dict) -> Payment:
    """Allocate what a recorded payment has left (the customer's credit) to open invoices
    of its customer. Manager. ValidationError as for `record_payment`, and for an empty
    allocation or a reversed payment. Commits."""
    from erp.services import InvalidTransition

    errors: dict[str, list[str]] = {}
    with atomic():
        payment = _lock(company_id, payment_id)
        if payment.status != "recorded":
            raise InvalidTransition(_('%(number)s is reversed: it has nothing to allocate.', number=payment.number))
        allocated = _allocate(payment, allocations, errors, room=payment.unallocated)
        if errors:
            raise ValidationError(field_errors=errors)
        if not allocated:
            raise ValidationError(_("Enter an amount for at least one invoice."))
        _apply(payment, allocated)
        audit.record(company_id=company_id, user=user, action="update", record_type="payment",
                     record_id=payment.id,
                     summary=f"Payment {payment.number} allocated: "
                             + _summary(allocated, payment))
    return payment


def reverse_payment(*, company_id: int, payment_id: int, user: User | None) -> Payment:
    """recorded -> reversed: every allocation is taken off its invoice (which opens again:
    paid -> partly paid or issued); the payment and its allocations stay as a record.
    Manager. Replay no-op. Commits."""
    with atomic():
        payment = _lock(company_id, payment_id)
        if not Payment.workflow.begin(payment, "reverse", user):
            return payment
        ids = sorted({allocation.invoice_id for allocation in payment.allocations})
        invoices = {invoice.id: invoice for invoice in db.session.scalars(
            select(Invoice).where(Invoice.id.in_(ids)).order_by(Invoice.id)
            .with_for_update(of=Invoice).execution_options(populate_existing=True))}
        for allocation in payment.allocations:
            invoice = invoices[allocation.invoice_id]
            invoice.paid_total = invoice.paid_total - allocation.amount
            settle(invoice)
        payment.status, payment.reversed_at = "reversed", utcnow()
        audit.record(company_id=company_id, user=user, action="status", record_type="payment",
                     record_id=payment.id,
                     summary=f"Payment {payment.number} of {fmt_money(payment.amount)} "
                             f"reversed", changes={"status": ("recorded", "reversed")})
    return payment


def customer_credit(company_id: int, customer_id: int) -> Decimal:
    """What the customer's recorded payments hold unallocated (one aggregate query)."""
    from sqlalchemy import func

    value = db.session.scalar(
        select(func.coalesce(func.sum(Payment.amount - Payment.allocated_total), 0))
        .where(Payment.company_id == company_id, Payment.customer_id == customer_id,
               Payment.status == "recorded"))
    return Decimal(str(value)).quantize(CENT)
