"""Sales invoices (erp.models.invoices): drafted by staff from a sales order's shipped and
not yet invoiced quantities, or directly for a customer; issued by a manager.

Every public function is one transaction (`atomic()`). Locks, always in this order: the
sales order (when the invoice has one), then the invoice. A draft made from an order
takes its quantities at once (`SalesOrderItem.invoiced_quantity`, under the order's lock),
so two drafts never invoice the same shipped goods; cancelling the draft gives them back.
Issuing takes the next "INV" number in the issuing transaction, so issued numbers are
unique and gapless under any concurrency (the counter row stays locked until commit).
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from erp.extensions import db
from erp.models import User
from erp.models.base import ZERO, utcnow
from erp.models.invoices import CreditNote, CreditNoteLine, Invoice, InvoiceLine
from erp.models.sales import Customer, SalesOrder
from erp.services import atomic, audit, billing, invoice_totals, payments, webhooks
from erp.services.validation import clean_text
from erp.i18n import _

SERIES = "INV"
NOTES_MAX = 2000


def _new(company_id: int, customer: Customer, user: User | None, *, order_id=None,
         notes: str = "") -> Invoice:
    return billing.new_draft(Invoice, company_id, customer, user, party_key="customer_id",
                             dated="invoice_date", order_id=order_id, notes=notes,
                             credited_total=ZERO)


def create_invoice(*, company_id: int, user: User | None, customer_id: int | None,
                   notes: str = "") -> Invoice:
    """A direct draft invoice for an active customer of the company (its lines are added
    next). Staff. Raises ValidationError (field `customer`, `notes`). Commits."""
    errors: dict[str, list[str]] = {}
    notes = clean_text(notes, "notes", NOTES_MAX, errors)
    return billing.create_direct(
        Customer, company_id=company_id, user=user, party_id=customer_id, field="customer",
        choose=_("Choose a customer."), errors=errors, summary="{number} for {name}",
        new=lambda customer: _new(company_id, customer, user, notes=notes))


def create_invoice_from_order(*, company_id: int, order_id: int,
                              user: User | None) -> Invoice:
    """A draft invoice of what the order shipped and no other invoice takes, at the order's
    prices, discounts and tax rates. Staff (the order's "invoice" step). Raises
    InvalidTransition for an order not (partly) shipped or closed, or with nothing left to
    invoice. Commits."""
    from erp.services.sales import _lock_order

    with atomic():
        order = _lock_order(company_id, order_id, with_items=True)
        SalesOrder.workflow.begin(order, "invoice", user)
        invoice = _new(company_id, order.customer, user, order_id=order.id)
        billing.take_lines(invoice, InvoiceLine, [
            (item, item.uninvoiced_quantity, item.unit_price, item.discount_percent,
             item.tax_rate) for item in order.items], "invoiced_quantity")
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="create", record_type="invoice",
                     record_id=invoice.id,
                     summary=f"{invoice.number} for what {order.number} shipped")
    return invoice


def _apply_amounts(line, line_amounts=None) -> None:
    billing.apply_amounts(line)


settled_status = billing.settled_status


def settle(invoice: Invoice) -> None:
    """billing.settle with the `invoice.paid` event."""
    billing.settle(invoice, "invoice.paid", "customer")


_recompute_totals = billing.recompute_totals


def lock_invoice(company_id: int, invoice_id: int) -> tuple[Invoice, SalesOrder | None]:
    """The invoice (with its lines) and its order, the order locked first, then the
    invoice, both re-read. NotFound for another company's."""
    from erp.services.sales import _lock_order

    return billing.lock_document(
        Invoice, InvoiceLine, "invoice_id", company_id, invoice_id,
        lambda company, order_id: _lock_order(company, order_id, with_items=True),
        "No such invoice.")


def issue_invoice(*, company_id: int, invoice_id: int, user: User | None,
                  on: date | None = None) -> Invoice:
    """draft -> issued: the next "INV" number, the invoice date (`on`, default the
    company's today) and the due date from the customer's payment terms; what it says is
    frozen (`issued`). An order all of whose shipped goods are now on issued invoices, and
    that will ship nothing more, becomes invoiced. Manager. Raises ValidationError for an
    invoice without lines; replay no-op. Commits."""
    def after(invoice: Invoice, order: SalesOrder | None) -> None:
        invoice_totals.count(invoice, +1)  # the sales analysis' running totals
        if order is not None:
            _mark_order_invoiced(order, invoice, user)
        webhooks.emit(company_id, "invoice.issued", invoice,
                      **billing.event_data(invoice, "customer"))

    return billing.issue_draft(
        lock_invoice, "issue", company_id=company_id, doc_id=invoice_id, user=user, on=on,
        party="customer", after=after, series=SERIES, number="invoice_number",
        dated="invoice_date", stamped="issued_at",
        empty=lambda number: _("%(number)s has no lines: add one before issuing it.",
                               number=number))


def _mark_order_invoiced(order: SalesOrder, invoice: Invoice, user: User | None) -> None:
    """The order (locked) is invoiced once it ships nothing more and every shipped
    quantity is on an issued invoice (no draft of it is left)."""
    from erp.services.sales import _audit_status

    if order.invoice_number is None:
        order.invoice_number = invoice.invoice_number  # its first invoice, as before
    if order.status not in ("shipped", "closed") or any(
            item.uninvoiced_quantity > 0 for item in order.items):
        return
    drafts = db.session.scalar(select(Invoice.id).where(
        Invoice.company_id == order.company_id, Invoice.order_id == order.id,
        Invoice.status == "draft").limit(1))
    if drafts is None:
        old = order.status
        order.status, order.invoiced_at = "invoiced", utcnow()
        _audit_status(order, user, old,
                      f"Sales order {order.number} invoiced ({invoice.invoice_number})")


def cancel_invoice(*, company_id: int, invoice_id: int, user: User | None) -> Invoice:
    """draft -> cancelled; what it took of its order's shipped goods can be invoiced
    again. Staff. An issued invoice is refused (InvalidTransition: credit it instead).
    Replay no-op. Commits."""
    return billing.cancel_draft(lock_invoice, company_id=company_id, doc_id=invoice_id,
                                user=user, taken="invoiced_quantity")


def invoice_order(*, company_id: int, order_id: int, user: User | None) -> Invoice | None:
    """The invoice of what the order shipped, drafted and issued at once (a manager's one
    step); None for an order invoiced already (a replay). Commits."""
    from erp.services.sales import _lock_order

    with atomic():
        if _lock_order(company_id, order_id).status == "invoiced":
            return None
        invoice = create_invoice_from_order(company_id=company_id, order_id=order_id,
                                            user=user)
        return issue_invoice(company_id=company_id, invoice_id=invoice.id, user=user)


# --- the lines of a direct draft ----------------------------------------------------------

def _fixed(invoice: Invoice, adding: bool) -> str | None:
    if invoice.order_id is not None:
        return (f"The lines of {invoice.number} are what its order shipped: cancel it to "
                "invoice differently.")
    return None


LINES = billing.DraftLines(line_model=InvoiceLine, lock=lock_invoice, doc_key="invoice_id",
                           fixed=_fixed)


def add_line(**values) -> InvoiceLine:
    """Add a line to a direct draft invoice (billing.add_draft_line). Commits."""
    return billing.add_draft_line(LINES, **values)


def update_line(**values) -> InvoiceLine:
    """Change a line of a direct draft (billing.update_draft_line). Commits."""
    return billing.update_draft_line(LINES, **values)


def remove_line(**values) -> None:
    """Remove a line of a direct draft (billing.remove_draft_line). Commits."""
    billing.remove_draft_line(LINES, **values)


# --- checks -------------------------------------------------------------------------------

def mismatches(company_id: int) -> list[str]:
    """Invoices and supplier bills whose stored figures disagree with their lines, their
    issued credit notes and the allocations of recorded payments (and their state with
    those figures), and payments whose allocated total is not the sum of their
    allocations: like the stock ledger's check against the levels. Reads every invoice
    and bill of the company: for tests and the command line, not for pages."""
    from erp.services import bills

    problems = []
    credits, credited_lines = _issued_credits(company_id)
    paid = payments.paid_per_document(payments.CUSTOMERS, company_id)
    invoices = db.session.scalars(
        select(Invoice).where(Invoice.company_id == company_id)
        .options(selectinload(Invoice.items))).all()
    for invoice in invoices:
        problems += billing.document_mismatches(invoice, paid.get(invoice.id, ZERO))
        credited = credits.get(invoice.id, ZERO)
        if invoice.credited_total != credited:
            problems.append(_('%(number)s: credited %(credited_total)s != %(credited)s', number=invoice.number, credited_total=invoice.credited_total, credited=credited))
        for line in invoice.items:
            if line.credited_quantity != credited_lines.get(line.id, ZERO):
                problems.append(_('%(number)s line %(id)s: credited quantity', number=invoice.number, id=line.id))
    problems += payments.allocated_mismatches(payments.CUSTOMERS, company_id)
    return problems + bills.mismatches(company_id)


def _issued_credits(company_id: int) -> tuple[dict, dict]:
    """Issued credit notes' totals per invoice and quantities per invoice line."""
    totals = dict(db.session.execute(
        select(CreditNote.invoice_id, func.sum(CreditNote.total))
        .where(CreditNote.company_id == company_id, CreditNote.status == "issued")
        .group_by(CreditNote.invoice_id)).all())
    lines = dict(db.session.execute(
        select(CreditNoteLine.invoice_line_id, func.sum(CreditNoteLine.quantity))
        .join(CreditNote, CreditNote.id == CreditNoteLine.credit_note_id)
        .where(CreditNote.company_id == company_id, CreditNote.status == "issued")
        .group_by(CreditNoteLine.invoice_line_id)).all())
    return ({k: Decimal(str(v)).quantize(Decimal("0.01")) for k, v in totals.items()},
            {k: Decimal(str(v)).quantize(Decimal("0.001")) for k, v in lines.items()})
