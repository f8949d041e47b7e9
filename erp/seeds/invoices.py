"""Demo invoices in every state, beside the issued ones of the invoiced orders (the sales
step): a draft of a shipped order's goods, a direct draft, a cancelled draft, issued
invoices dated weeks back so that some are overdue, one paid, one partly paid (the rest of
its payment the customer's credit), credit notes issued and draft."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from erp.extensions import db
from erp.models import Company, Product, User
from erp.models.core import company_today
from erp.models.invoices import Invoice
from erp.models.sales import Customer, SalesOrder
from erp.services import DomainError, credit_notes, invoices, payments

CENT = Decimal("0.01")


def seed(company: Company, admin: User) -> str | None:
    if db.session.scalar(select(Invoice.id).where(Invoice.company_id == company.id,
                                                  Invoice.order_id.is_(None)).limit(1)):
        return None
    customers = list(db.session.scalars(select(Customer).where(
        Customer.company_id == company.id).order_by(Customer.id).limit(4)))
    service = db.session.scalar(select(Product).where(
        Product.company_id == company.id, Product.kind == "service",
        Product.active.is_(True)).order_by(Product.id))
    if not customers or service is None:
        return None
    kw = {"company_id": company.id, "user": admin}
    today = company_today(company.id)
    made, issued = 0, []
    for n, (days_ago, state) in enumerate([(75, "issued"), (40, "issued"), (5, "issued"),
                                           (0, "draft"), (0, "cancelled")]):
        invoice = invoices.create_invoice(customer_id=customers[n % len(customers)].id,
                                          notes="Installation and training", **kw)
        invoices.add_line(invoice_id=invoice.id, product_id=service.id, quantity=str(n + 1),
                          **kw)
        if state == "issued":
            issued.append(invoices.issue_invoice(
                invoice_id=invoice.id, on=today - timedelta(days=days_ago), **kw))
        elif state == "cancelled":
            invoices.cancel_invoice(invoice_id=invoice.id, **kw)
        made += 1
    # paid, partly paid (and the rest overdue), credited, and a customer's credit
    paid, partly, credited = issued
    payments.record_payment(customer_id=paid.customer_id, amount=str(paid.total),
                            payment_date=today - timedelta(days=50), reference="EFT 1001",
                            allocations={paid.id: str(paid.total)}, **kw)
    payments.record_payment(customer_id=partly.customer_id, amount=str(partly.total),
                            method="cheque", reference="CHQ 77",
                            allocations={partly.id: str((partly.total / 2).quantize(CENT))},
                            **kw)
    line = credited.items[0]
    note = credit_notes.create_credit_note(invoice_id=credited.id, quantities={line.id: "1"},
                                           reason="One session not held", **kw)
    credit_notes.issue_credit_note(credit_note_id=note.id, **kw)
    credit_notes.create_credit_note(invoice_id=credited.id, quantities={line.id: "1"},
                                    reason="Draft: to check", **kw)
    # a draft of what a shipped order sent, waiting for a manager
    made += drafts_of_orders(SalesOrder, ("shipped", "partly_shipped"),
                             invoices.create_invoice_from_order, **kw)
    return (f"{made} invoices (drafts, cancelled, issued, overdue, partly paid, paid), credit "
            "notes and payments besides the invoiced orders' invoices")


def drafts_of_orders(order_model, statuses: tuple[str, ...], create, *, company_id: int,
                     user: User, count: int = 2) -> int:
    """Drafts (invoices, bills) by `create` of the first `count` orders in `statuses`
    that have something left to take; how many were made."""
    made = 0
    for order_id in db.session.scalars(select(order_model.id).where(
            order_model.company_id == company_id, order_model.status.in_(statuses))
            .order_by(order_model.id).limit(count)).all():
        try:
            create(order_id=order_id, company_id=company_id, user=user)
            made += 1
        except DomainError:
            pass
    return made
