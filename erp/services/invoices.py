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
from sqlalchemy.orm.attributes import set_committed_value

from erp.extensions import db
from erp.formatting import quantity as fmt_quantity
from erp.models import Company, User
from erp.models.base import ZERO, utcnow
from erp.models.core import company_today
from erp.models.invoices import (OPEN_INVOICE_STATUSES, CreditNote, CreditNoteLine, Invoice,
                                 InvoiceLine, Payment, PaymentAllocation)
from erp.models.sales import Customer, IssuedDocument, SalesOrder
from erp.services import (InvalidTransition, NotFound, ValidationError, atomic, audit,
                          invoice_totals, money, webhooks)
from erp.services.sequences import next_number
from erp.services.validation import clean_text
from erp.i18n import _

SERIES = "INV"
NOTES_MAX = 2000


def _new(company_id: int, customer: Customer, user: User | None, *, order_id=None,
         notes: str = "") -> Invoice:
    today = company_today(company_id)
    invoice = Invoice(company_id=company_id, customer_id=customer.id, order_id=order_id,
                      invoice_date=today,
                      due_date=money.due_date(money.customer_terms(company_id, customer), today),
                      status="draft", notes=notes, subtotal=ZERO, discount_total=ZERO,
                      tax_total=ZERO, total=ZERO, credited_total=ZERO, paid_total=ZERO,
                      created_by_id=user.id if user is not None else None)
    db.session.add(invoice)
    return invoice


def create_invoice(*, company_id: int, user: User | None, customer_id: int | None,
                   notes: str = "") -> Invoice:
    """A direct draft invoice for an active customer of the company (its lines are added
    next). Staff. Raises ValidationError (field `customer`, `notes`). Commits."""
    from erp.services.sales import _get_customer

    errors: dict[str, list[str]] = {}
    notes = clean_text(notes, "notes", NOTES_MAX, errors)
    with atomic():
        customer = None
        try:
            customer = _get_customer(company_id, customer_id)
        except NotFound:
            errors.setdefault("customer", []).append(_("Choose a customer."))
        if customer is not None and not customer.active:
            errors.setdefault("customer", []).append(_('%(name)s is archived.', name=customer.name))
        if errors:
            raise ValidationError(field_errors=errors)
        invoice = _new(company_id, customer, user, notes=notes)
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="create", record_type="invoice",
                     record_id=invoice.id, summary=f"{invoice.number} for {customer.name}")
    return invoice


def create_invoice_from_order(*, company_id: int, order_id: int,
                              user: User | None) -> Invoice:
    """A draft invoice of what the order shipped and no other invoice takes, at the order's
    prices, discounts and tax rates. Staff (the order's "invoice" step). Raises
    InvalidTransition for an order not (partly) shipped or closed, or with nothing left to
    invoice. Commits."""
    from erp.services.sales import _lock_order, line_amounts

    with atomic():
        order = _lock_order(company_id, order_id, with_items=True)
        SalesOrder.workflow.begin(order, "invoice", user)
        invoice = _new(company_id, order.customer, user, order_id=order.id)
        for item in order.items:
            quantity = item.uninvoiced_quantity
            if quantity <= 0:
                continue
            line = InvoiceLine(company_id=company_id, order_item_id=item.id,
                               product_id=item.product_id, quantity=quantity,
                               unit_price=item.unit_price,
                               discount_percent=item.discount_percent, tax_rate=item.tax_rate)
            _apply_amounts(line, line_amounts)
            invoice.items.append(line)
            item.invoiced_quantity = item.invoiced_quantity + quantity
        _recompute_totals(invoice)
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="create", record_type="invoice",
                     record_id=invoice.id,
                     summary=f"{invoice.number} for what {order.number} shipped")
    return invoice


def _apply_amounts(line: InvoiceLine, line_amounts) -> None:
    amounts = line_amounts(line.quantity, line.unit_price, line.discount_percent,
                           line.tax_rate)
    line.subtotal, line.discount_amount = amounts.subtotal, amounts.discount
    line.tax_amount, line.total = amounts.tax, amounts.total


def settled_status(invoice: Invoice) -> str:
    """An issued invoice's state from what is still open: paid when nothing is, partly
    paid while payments cover part of it, else issued (a credit note is no payment)."""
    if invoice.status not in OPEN_INVOICE_STATUSES + ("paid",):
        return invoice.status
    if invoice.total - invoice.credited_total - invoice.paid_total == 0:
        return "paid"
    return "partly_paid" if invoice.paid_total > 0 else "issued"


def settle(invoice: Invoice) -> None:
    """The invoice's state from its figures; turning paid is the `invoice.paid` webhook
    event (sent after the commit; a payment's reversal and a new payment send it again)."""
    old, invoice.status = invoice.status, settled_status(invoice)
    if invoice.status == "paid" and old != "paid":
        webhooks.emit(invoice.company_id, "invoice.paid", invoice, **_event_data(invoice))


def _event_data(invoice: Invoice) -> dict:
    return {"customer_id": invoice.customer_id, "total": invoice.total,
            "paid_total": invoice.paid_total, "credited_total": invoice.credited_total,
            "due_date": invoice.due_date}


def _recompute_totals(invoice) -> None:
    """The stored totals (of an invoice or a credit note) are the sums of its lines'
    rounded amounts."""
    from erp.services.sales import MAX_MONEY

    items = list(invoice.items)
    invoice.subtotal = sum((i.subtotal for i in items), ZERO)
    invoice.discount_total = sum((i.discount_amount for i in items), ZERO)
    invoice.tax_total = sum((i.tax_amount for i in items), ZERO)
    invoice.total = sum((i.total for i in items), ZERO)
    if invoice.subtotal > MAX_MONEY or invoice.total > MAX_MONEY:
        raise ValidationError(_("The total would be too large."), field_errors={
            "quantity": ["The total would be too large."]})


def lock_invoice(company_id: int, invoice_id: int) -> tuple[Invoice, SalesOrder | None]:
    """The invoice (with its lines) and its order, the order locked first, then the
    invoice, both re-read. NotFound for another company's."""
    from erp.services.sales import _lock_order

    order_id = db.session.scalar(select(Invoice.order_id).where(
        Invoice.id == invoice_id, Invoice.company_id == company_id))
    exists = order_id is not None or db.session.scalar(select(Invoice.id).where(
        Invoice.id == invoice_id, Invoice.company_id == company_id)) is not None
    if not exists:
        raise NotFound(_("No such invoice."))
    order = _lock_order(company_id, order_id, with_items=True) if order_id else None
    invoice = db.session.scalar(
        select(Invoice).where(Invoice.id == invoice_id, Invoice.company_id == company_id)
        .with_for_update(of=Invoice).execution_options(populate_existing=True))
    lines = db.session.scalars(
        select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
        .options(selectinload(InvoiceLine.product)).order_by(InvoiceLine.id)
        .execution_options(populate_existing=True)).all()
    set_committed_value(invoice, "items", list(lines))
    return invoice, order


def issue_invoice(*, company_id: int, invoice_id: int, user: User | None,
                  on: date | None = None) -> Invoice:
    """draft -> issued: the next "INV" number, the invoice date (`on`, default the
    company's today) and the due date from the customer's payment terms; what it says is
    frozen (`issued`). An order all of whose shipped goods are now on issued invoices, and
    that will ship nothing more, becomes invoiced. Manager. Raises ValidationError for an
    invoice without lines; replay no-op. Commits."""
    with atomic():
        invoice, order = lock_invoice(company_id, invoice_id)
        if not Invoice.workflow.begin(invoice, "issue", user):
            return invoice
        if not invoice.items:
            raise ValidationError(_('%(number)s has no lines: add one before issuing it.', number=invoice.number))
        company = db.session.get(Company, company_id)
        day = on or company_today(company_id)
        invoice.invoice_number = next_number(company_id, SERIES, on=day)
        invoice.invoice_date = day
        invoice.due_date = money.due_date(money.customer_terms(company_id, invoice.customer),
                                          day)
        invoice.status, invoice.issued_at = "issued", utcnow()
        invoice.issued = IssuedDocument.from_order(invoice, company).to_json()
        invoice_totals.count(invoice, +1)  # the sales analysis' running totals
        audit.record(company_id=company_id, user=user, action="status", record_type="invoice",
                     record_id=invoice.id,
                     summary=f"Invoice {invoice.invoice_number} issued: {invoice.total} "
                             f"due {invoice.due_date.isoformat()}",
                     changes={"status": ("draft", "issued")})
        if order is not None:
            _mark_order_invoiced(order, invoice, user)
        webhooks.emit(company_id, "invoice.issued", invoice, **_event_data(invoice))
    return invoice


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
    with atomic():
        invoice, order = lock_invoice(company_id, invoice_id)
        if not Invoice.workflow.begin(invoice, "cancel", user):
            return invoice
        if order is not None:
            by_id = {item.id: item for item in order.items}
            for line in invoice.items:
                item = by_id[line.order_item_id]
                item.invoiced_quantity = max(item.invoiced_quantity - line.quantity, ZERO)
        invoice.status = "cancelled"
        audit.record(company_id=company_id, user=user, action="status", record_type="invoice",
                     record_id=invoice.id, summary=f"{invoice.number} cancelled",
                     changes={"status": ("draft", "cancelled")})
    return invoice


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

def _editable(invoice: Invoice, user: User | None) -> None:
    Invoice.workflow.begin_edit(invoice, user)
    if invoice.order_id is not None:
        raise InvalidTransition(_('The lines of %(number)s are what its order shipped: cancel it to invoice differently.', number=invoice.number))


def add_line(*, company_id: int, invoice_id: int, user: User | None, product_id: int | None,
             quantity, unit_price=None, discount_percent=None, tax_rate=None) -> InvoiceLine:
    """Add a line to a direct draft invoice; the price and tax rate default as on an order
    (the product's sale price and tax code). Raises ValidationError (every field at once),
    InvalidTransition (not a direct draft). Commits."""
    from erp.services.sales import line_amounts, new_line_values

    with atomic():
        invoice, _unused = lock_invoice(company_id, invoice_id)
        _editable(invoice, user)
        product, values = new_line_values(company_id, product_id, quantity, unit_price,
                                          discount_percent, tax_rate)
        line = InvoiceLine(company_id=company_id, product_id=product.id, **values)
        _apply_amounts(line, line_amounts)
        invoice.items.append(line)
        _recompute_totals(invoice)
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="update", record_type="invoice",
                     record_id=invoice.id, summary=f"{invoice.number}: line {product.sku} x "
                                                   f"{fmt_quantity(values['quantity'])} added")
    return line


def update_line(*, company_id: int, invoice_id: int, line_id: int, user: User | None,
                quantity, unit_price=None, discount_percent=None,
                tax_rate=None) -> InvoiceLine:
    """Change a line of a direct draft (a blank price keeps the line's). Commits."""
    from erp.services.sales import _line_values, line_amounts

    with atomic():
        invoice, _unused = lock_invoice(company_id, invoice_id)
        line = next((i for i in invoice.items if i.id == line_id), None)
        if line is None:
            raise NotFound(_("No such line."))
        _editable(invoice, user)
        errors: dict[str, list[str]] = {}
        values = _line_values({"quantity": quantity,
                               "unit_price": line.unit_price if unit_price in (None, "")
                               else unit_price,
                               "discount_percent": discount_percent, "tax_rate": tax_rate},
                              line.product, errors)
        if errors:
            raise ValidationError(field_errors=errors)
        changes = audit.diff(line, values)
        _apply_amounts(line, line_amounts)
        _recompute_totals(invoice)
        if changes:
            audit.record(company_id=company_id, user=user, action="update",
                         record_type="invoice", record_id=invoice.id,
                         summary=f"{invoice.number}: line {line.product.sku} changed",
                         changes=changes)
    return line


def remove_line(*, company_id: int, invoice_id: int, line_id: int, user: User | None) -> None:
    """Remove a line of a direct draft; a line already gone is a replay. Commits."""
    with atomic():
        invoice, _unused = lock_invoice(company_id, invoice_id)
        line = next((i for i in invoice.items if i.id == line_id), None)
        if line is None:
            return
        _editable(invoice, user)
        invoice.items.remove(line)
        _recompute_totals(invoice)
        audit.record(company_id=company_id, user=user, action="update", record_type="invoice",
                     record_id=invoice.id,
                     summary=f"{invoice.number}: line {line.product.sku} removed")


# --- checks -------------------------------------------------------------------------------

def mismatches(company_id: int) -> list[str]:
    """Invoices whose stored figures disagree with their lines, their issued credit notes
    and the allocations of recorded payments (and their state with those figures), and
    payments whose allocated total is not the sum of their allocations: like the stock
    ledger's check against the levels. Reads every invoice of the
    company: for tests and the command line, not for pages."""
    from erp.services.sales import line_amounts

    problems = []
    credits, credited_lines = _issued_credits(company_id)
    payments = {k: Decimal(str(v)).quantize(Decimal("0.01")) for k, v in db.session.execute(
        select(PaymentAllocation.invoice_id, func.sum(PaymentAllocation.amount))
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(Payment.company_id == company_id, Payment.status == "recorded")
        .group_by(PaymentAllocation.invoice_id)).all()}
    invoices = db.session.scalars(
        select(Invoice).where(Invoice.company_id == company_id)
        .options(selectinload(Invoice.items))).all()
    for invoice in invoices:
        sums = {name: ZERO for name in ("subtotal", "discount_total", "tax_total", "total")}
        for line in invoice.items:
            amounts = line_amounts(line.quantity, line.unit_price, line.discount_percent,
                                   line.tax_rate)
            stored = (line.subtotal, line.discount_amount, line.tax_amount, line.total)
            if stored != (amounts.subtotal, amounts.discount, amounts.tax, amounts.total):
                problems.append(_('%(number)s line %(id)s: amounts %(stored)s', number=invoice.number, id=line.id, stored=stored))
            sums["subtotal"] += line.subtotal
            sums["discount_total"] += line.discount_amount
            sums["tax_total"] += line.tax_amount
            sums["total"] += line.total
        for name, value in sums.items():
            if getattr(invoice, name) != value:
                problems.append(f"{invoice.number}: {name} {getattr(invoice, name)} != {value}")
        if invoice.issued and Decimal(invoice.issued["total"]) != invoice.total:
            problems.append(_('%(number)s: issued total %(value)s', number=invoice.number, value=invoice.issued['total']))
        credited = credits.get(invoice.id, ZERO)
        if invoice.credited_total != credited:
            problems.append(_('%(number)s: credited %(credited_total)s != %(credited)s', number=invoice.number, credited_total=invoice.credited_total, credited=credited))
        for line in invoice.items:
            if line.credited_quantity != credited_lines.get(line.id, ZERO):
                problems.append(_('%(number)s line %(id)s: credited quantity', number=invoice.number, id=line.id))
        paid = payments.get(invoice.id, ZERO)
        if invoice.paid_total != paid:
            problems.append(_('%(number)s: paid %(paid_total)s != %(paid)s', number=invoice.number, paid_total=invoice.paid_total, paid=paid))
        if invoice.balance < 0:
            problems.append(_('%(number)s: over-paid', number=invoice.number))
        if settled_status(invoice) != invoice.status:
            problems.append(_('%(number)s: %(status)s by its state, %(value)s by its figures', number=invoice.number, status=invoice.status, value=settled_status(invoice)))
    for payment_id, allocated, stored in db.session.execute(
            select(Payment.id, func.coalesce(func.sum(PaymentAllocation.amount), 0),
                   Payment.allocated_total)
            .outerjoin(PaymentAllocation, PaymentAllocation.payment_id == Payment.id)
            .where(Payment.company_id == company_id, Payment.status == "recorded")
            .group_by(Payment.id, Payment.allocated_total)):
        if Decimal(str(allocated)) != stored:
            problems.append(_('payment %(payment_id)s: allocated %(stored)s != %(allocated)s', payment_id=payment_id, stored=stored, allocated=allocated))
    return problems


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
