"""Credit notes: full or partial credits of an issued invoice's lines.

Staff draft a credit note of some quantities of an invoice's lines at the invoice's
prices, discounts and tax rates; a manager issues it: the next "CN" number (gapless, as
invoices), the lines' `credited_quantity` and the invoice's `credited_total` go up, so the
customer owes that much less. Never more than was invoiced minus what issued credit notes
took already, and never more than the invoice still asks for (a paid invoice: reverse a
payment first). Issuing locks the invoice (and its order, the invoices' lock order) and
rechecks both limits, so two credit notes issued at once never over-credit.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from erp.extensions import db
from erp.formatting import money as fmt_money
from erp.formatting import plural
from erp.formatting import quantity as fmt_qty
from erp.models import Company, User
from erp.models.base import ZERO, utcnow
from erp.models.core import company_today
from erp.models.invoices import OPEN_INVOICE_STATUSES, CreditNote, CreditNoteLine, Invoice, InvoiceLine
from erp.models.sales import IssuedDocument
from erp.services import (InvalidTransition, NotFound, ValidationError, atomic, audit,
                          invoice_totals, stock)
from erp.services.invoices import lock_invoice, settle
from erp.services.sequences import next_number
from erp.services.validation import clean_text
from erp.i18n import _

SERIES = "CN"
REASON_MAX = 2000


def creditable(line: InvoiceLine) -> Decimal:
    return line.creditable_quantity


def prefill(invoice: Invoice) -> dict[str, str]:
    """The credit form's inputs: each line's creditable quantity (a full credit)."""
    return {f"qty-{line.id}": format(creditable(line).normalize(), "f")
            for line in invoice.items if creditable(line) > 0}


def _check(invoice: Invoice, quantities: dict, errors: dict) -> list[tuple[InvoiceLine, Decimal]]:
    def over(line: InvoiceLine, qty: Decimal) -> str | None:
        if qty > creditable(line):
            number = invoice.items.index(line) + 1
            return (f"Line {number} ({line.product.sku}): only {fmt_qty(creditable(line))} "
                    f"can be credited, {fmt_qty(qty)} given.")
        return None

    return stock.line_quantities(quantities, {line.id: line for line in invoice.items},
                                 errors, over)


def _lines(invoice: Invoice, wanted) -> list[CreditNoteLine]:
    from erp.services.invoices import _apply_amounts
    from erp.services.sales import line_amounts

    lines = []
    for line, qty in wanted:
        credit = CreditNoteLine(company_id=invoice.company_id, invoice_line_id=line.id,
                                product_id=line.product_id, quantity=qty,
                                unit_price=line.unit_price,
                                discount_percent=line.discount_percent, tax_rate=line.tax_rate)
        _apply_amounts(credit, line_amounts)
        lines.append(credit)
    return lines


def _over_balance(invoice: Invoice, total: Decimal) -> str | None:
    if total > invoice.balance:
        return (f"The credit note's total {fmt_money(total)} is more than {invoice.number} "
                f"still asks for ({fmt_money(invoice.balance)}): reverse a payment first.")
    return None


def create_credit_note(*, company_id: int, invoice_id: int, user: User | None,
                       quantities: dict, reason: str = "") -> CreditNote:
    """A draft credit note of `quantities` ({invoice line id: quantity}; blank or 0 skips
    the line) of an issued, not fully paid invoice. Staff. Refuses at once, naming the
    line (ValidationError, fields `qty-<line id>`), a quantity that does not parse or is
    more than can be credited, a credit above the open balance, and an empty credit; an
    invoice in another state raises InvalidTransition. Commits."""
    from erp.services.invoices import _recompute_totals

    errors: dict[str, list[str]] = {}
    reason = clean_text(reason, "reason", REASON_MAX, errors)
    with atomic():
        invoice, _unused = lock_invoice(company_id, invoice_id)
        if invoice.status not in OPEN_INVOICE_STATUSES:
            raise InvalidTransition(_('%(number)s is %(value)s: only an issued invoice with something still open can be credited.', number=invoice.number, value=invoice.status_label.lower()))
        wanted = _check(invoice, quantities, errors)
        if errors:
            raise ValidationError(field_errors=errors)
        if not wanted:
            raise ValidationError(_("Enter a quantity to credit on at least one line."))
        note = CreditNote(company_id=company_id, invoice_id=invoice.id,
                          customer_id=invoice.customer_id, credit_date=company_today(company_id),
                          status="draft", reason=reason, items=_lines(invoice, wanted),
                          created_by_id=user.id if user is not None else None)
        _recompute_totals(note)
        refused = _over_balance(invoice, note.total)
        if refused:
            raise ValidationError(refused)
        db.session.add(note)
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="create",
                     record_type="credit_note", record_id=note.id,
                     summary=f"{note.number} for {invoice.number}: "
                             f"{plural(len(wanted), 'line')}, {note.total}")
    return note


def _lock(company_id: int, credit_note_id: int) -> tuple[CreditNote, Invoice]:
    invoice_id = db.session.scalar(select(CreditNote.invoice_id).where(
        CreditNote.id == credit_note_id, CreditNote.company_id == company_id))
    if invoice_id is None:
        raise NotFound(_("No such credit note."))
    invoice, _unused = lock_invoice(company_id, invoice_id)
    note = db.session.scalar(
        select(CreditNote).where(CreditNote.id == credit_note_id).with_for_update(of=CreditNote)
        .execution_options(populate_existing=True))
    lines = db.session.scalars(
        select(CreditNoteLine).where(CreditNoteLine.credit_note_id == note.id)
        .options(selectinload(CreditNoteLine.product)).order_by(CreditNoteLine.id)
        .execution_options(populate_existing=True)).all()
    set_committed_value(note, "items", list(lines))
    return note, invoice


def issue_credit_note(*, company_id: int, credit_note_id: int, user: User | None,
                      on: date | None = None) -> CreditNote:
    """draft -> issued: the next "CN" number, what it says frozen, its quantities and
    total taken off the invoice (rechecked under the invoice's lock: ValidationError, and
    nothing changes, when another credit note took them meanwhile or the invoice was paid).
    Manager. Replay no-op. Commits."""
    with atomic():
        note, invoice = _lock(company_id, credit_note_id)
        if not CreditNote.workflow.begin(note, "issue", user):
            return note
        if invoice.status not in OPEN_INVOICE_STATUSES:
            raise InvalidTransition(_('%(number)s is %(value)s: %(number2)s can no longer be issued. Cancel it.', number=invoice.number, value=invoice.status_label.lower(), number2=note.number))
        by_id = {line.id: line for line in invoice.items}
        over = [f"{line.product.sku}: only {fmt_qty(creditable(by_id[line.invoice_line_id]))} "
                f"can be credited" for line in note.items
                if line.quantity > creditable(by_id[line.invoice_line_id])]
        refused = _over_balance(invoice, note.total)
        if over or refused:
            raise ValidationError(_("Cannot issue %(number)s: %(problems)s. Nothing was credited.",
                                    number=note.number,
                                    problems="; ".join(over + [refused or ""]).strip("; ")))
        for line in note.items:
            credited = by_id[line.invoice_line_id]
            credited.credited_quantity = credited.credited_quantity + line.quantity
        invoice.credited_total = invoice.credited_total + note.total
        settle(invoice)
        day = on or company_today(company_id)
        note.credit_number = next_number(company_id, SERIES, on=day)
        note.credit_date, note.status, note.issued_at = day, "issued", utcnow()
        note.issued = IssuedDocument.from_order(note, db.session.get(Company, company_id)).to_json()
        invoice_totals.count(note, -1)  # the sales analysis' running totals
        audit.record(company_id=company_id, user=user, action="status",
                     record_type="credit_note", record_id=note.id,
                     summary=f"Credit note {note.credit_number} issued: {note.total} off "
                             f"{invoice.number}", changes={"status": ("draft", "issued")})
    return note


def cancel_credit_note(*, company_id: int, credit_note_id: int,
                       user: User | None) -> CreditNote:
    """draft -> cancelled (a draft credited nothing). Staff. Replay no-op. Commits."""
    with atomic():
        note, _unused = _lock(company_id, credit_note_id)
        if not CreditNote.workflow.begin(note, "cancel", user):
            return note
        audit.cancelled(note, company_id=company_id, user=user, record_type="credit_note")
    return note
