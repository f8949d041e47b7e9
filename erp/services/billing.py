"""The rules every money document that asks for payment shares (a sales invoice, a supplier
bill: `erp.models.invoices.BilledDocument`), declared once and used by both services:

- `lock_document`: the document's order first (when it has one), then the document, its
  lines re-read (the lock order of both services);
- `DraftLines`: how a draft's lines are added, changed and removed (the line editor's
  services), with `take`, the order line's share a line holds (shipped goods invoiced,
  received goods billed), kept under the order's lock;
- `new_draft`, `create_direct`: a draft of a party, dated today and due under the party's
  terms, and a direct draft of an active party (a whole use case: it commits);
- `issue` (`issue_draft`, the whole use case): the next number of its series, its date and
  due date, its snapshot frozen;
- `settled_status`, `recompute_totals`, `apply_amounts`, `document_mismatches`.

No function here commits: the caller's `atomic()` does, except `create_direct` and the
DraftLines services, which are whole use cases (one transaction each).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from erp.extensions import db
from erp.formatting import quantity as fmt_quantity
from erp.i18n import _
from erp.models import Company, User
from erp.models.base import ZERO, utcnow
from erp.models.core import company_today
from erp.services import (InvalidTransition, NotFound, ValidationError, atomic, audit, money,
                          webhooks)
from erp.services.sequences import next_number

AMOUNTS = ("subtotal", "discount_total", "tax_total", "total")


def apply_amounts(line) -> None:
    """A line's rounded amounts from its quantity, price, discount and tax rate."""
    from erp.services.sales import line_amounts

    amounts = line_amounts(line.quantity, line.unit_price, line.discount_percent,
                           line.tax_rate)
    line.subtotal, line.discount_amount = amounts.subtotal, amounts.discount
    line.tax_amount, line.total = amounts.tax, amounts.total


def recompute_totals(document) -> None:
    """The stored totals (of an invoice, a credit note, a bill) are the sums of its lines'
    rounded amounts. ValidationError when they would not fit the column."""
    from erp.services.sales import MAX_MONEY

    items = list(document.items)
    document.subtotal = sum((i.subtotal for i in items), ZERO)
    document.discount_total = sum((i.discount_amount for i in items), ZERO)
    document.tax_total = sum((i.tax_amount for i in items), ZERO)
    document.total = sum((i.total for i in items), ZERO)
    if document.subtotal > MAX_MONEY or document.total > MAX_MONEY:
        message = _("The total would be too large.")
        raise ValidationError(message, field_errors={"quantity": [message]})


def settled_status(document) -> str:
    """A posted document's state from what is still open: paid when nothing is, partly
    paid while payments cover part of it, else its first open state (issued, open)."""
    open_states = document.OPEN_STATUSES
    if document.status not in open_states + ("paid",):
        return document.status
    if document.total - document.settled_total == 0:
        return "paid"
    return "partly_paid" if document.paid_total > 0 else open_states[0]


def settle(document, paid_event: str | None = None, party: str = "") -> None:
    """The document's state from its figures; turning paid is the `paid_event` webhook
    event (sent after the commit; a reversal and a new payment send it again)."""
    old = document.status
    document.status = settled_status(document)
    if paid_event and document.status == "paid" and old != "paid":
        webhooks.emit(document.company_id, paid_event, document,
                      **event_data(document, party))


def event_data(document, party: str) -> dict:
    """A billed document's figures in its webhook events: its party (`customer`,
    `supplier`), total, what settles it (`SETTLED_BY`) and due date."""
    return {f"{party}_id": getattr(document, f"{party}_id"), "total": document.total,
            **{name: getattr(document, name) for name in document.SETTLED_BY},
            "due_date": document.due_date}


def lock_document(model, line_model, line_key: str, company_id: int, doc_id: int,
                  lock_order: Callable[[int, int], Any], missing: str) -> tuple[Any, Any]:
    """The document (with its lines and their products) and its order, the order locked
    first (`lock_order(company_id, order_id)`), then the document, both re-read; its lines
are those whose `line_key` column names it. NotFound
    (`missing`) for another company's."""
    found = db.session.execute(select(model.id, model.order_id).where(
        model.id == doc_id, model.company_id == company_id)).first()
    if found is None:
        raise NotFound(missing)
    order = lock_order(company_id, found.order_id) if found.order_id else None
    document = db.session.scalar(
        select(model).where(model.id == doc_id, model.company_id == company_id)
        .with_for_update(of=model).execution_options(populate_existing=True))
    lines = db.session.scalars(
        select(line_model).where(getattr(line_model, line_key) == document.id)
        .options(selectinload(line_model.product)).order_by(line_model.id)
        .execution_options(populate_existing=True)).all()
    set_committed_value(document, "items", list(lines))
    return document, order


def new_draft(model, company_id: int, party, user: User | None, *, party_key: str,
              dated: str, **values):
    """A new draft of `model` (added, not flushed) of the party, dated the company's today
    and due under the party's terms (else the company's default), its figures zero;
    `values` are its other columns."""
    today = company_today(company_id)
    document = model(company_id=company_id, **{party_key: party.id, dated: today},
                     due_date=money.due_date(money.customer_terms(company_id, party), today),
                     status="draft", subtotal=ZERO, discount_total=ZERO, tax_total=ZERO,
                     total=ZERO, paid_total=ZERO,
                     created_by_id=user.id if user is not None else None, **values)
    db.session.add(document)
    return document


def create_direct(party_model, *, company_id: int, user: User | None,
                  party_id: int | None, field: str, choose: str, errors: dict,
                  new: Callable[[Any], Any], summary: str):
    """A direct draft (no order) of an active party of the company: `new(party)` makes it;
    its history says `summary` ({number}, {name}). ValidationError with the problems in
    `errors` (the caller's fields) and on `field` (`choose`: no such party; an archived
    one). Commits."""
    with atomic():
        party = (db.session.scalar(select(party_model).where(
            party_model.id == party_id, party_model.company_id == company_id))
            if party_id else None)
        if party is None:
            errors.setdefault(field, []).append(choose)
        elif not party.active:
            errors.setdefault(field, []).append(_("%(name)s is archived.", name=party.name))
        if errors:
            raise ValidationError(field_errors=errors)
        document = new(party)
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="create",
                     record_type=document.workflow.noun, record_id=document.id,
                     summary=summary.format(number=document.number, name=party.name))
    return document


def issue(document, company_id: int, user: User | None, *, on: date | None, series: str,
          number: str, dated: str, stamped: str, terms, empty: str) -> date:
    """A locked draft's step to its first open state: the next number of `series` into
    column `number`, the day (`on`, default the company's today) into `dated`, the due
    date from `terms`, the time into `stamped`, what it says frozen. ValidationError
    (`empty`) for a document without lines."""
    from erp.models.sales import IssuedDocument

    if not document.items:
        raise ValidationError(empty)
    company = db.session.get(Company, company_id)
    day = on or company_today(company_id)
    setattr(document, number, next_number(company_id, series, on=day))
    setattr(document, dated, day)
    setattr(document, stamped, utcnow())
    document.due_date = money.due_date(terms, day)
    document.status = document.OPEN_STATUSES[0]
    document.issued = IssuedDocument.from_order(document, company).to_json()
    audit.record(company_id=company_id, user=user, action="status",
                 record_type=document.workflow.noun, record_id=document.id,
                 summary=f"{document.number} {document.status}: {document.total} due "
                         f"{document.due_date.isoformat()}",
                 changes={"status": ("draft", document.status)})
    return day


def issue_draft(lock: Callable[[int, int], tuple], action: str, *, company_id: int,
                doc_id: int, user: User | None, on: date | None, party: str,
                empty: Callable[[str], str], after: Callable[[Any, Any], None] | None = None,
                **columns: str):
    """A draft's issuing (posting) as one use case: `lock(company_id, doc_id)` (the
    document and its order), the workflow's `action` (a replay is a no-op), `issue` under
    the terms of the document's `party` (its relationship) with `columns` (series, number,
    dated, stamped), then `after(document, order)` in the same transaction. Commits."""
    with atomic():
        document, order = lock(company_id, doc_id)
        if not document.workflow.begin(document, action, user):
            return document
        issue(document, company_id, user, on=on,
              terms=money.customer_terms(company_id, getattr(document, party)),
              empty=empty(document.number), **columns)
        if after is not None:
            after(document, order)
    return document


def take_lines(document, line_model, rows, taken: str) -> None:
    """The lines of a draft made from an order: `rows` of (order line, quantity, unit
    price, discount %, tax rate), each order line's `taken` column (invoiced, billed)
    raised by its quantity (under the order's lock), the totals recomputed."""
    for item, quantity, unit_price, discount, tax_rate in rows:
        if quantity <= 0:
            continue
        line = line_model(company_id=document.company_id, order_item_id=item.id,
                          product_id=item.product_id, quantity=quantity, unit_price=unit_price,
                          discount_percent=discount, tax_rate=tax_rate)
        apply_amounts(line)
        document.items.append(line)
        setattr(item, taken, getattr(item, taken) + quantity)
    recompute_totals(document)


def cancel(document, order, company_id: int, user: User | None, taken: str) -> None:
    """A locked draft -> cancelled: what its lines took of its order's lines (their
    `taken` column) can be taken again."""
    if order is not None:
        by_id = {item.id: item for item in order.items}
        for line in document.items:
            item = by_id[line.order_item_id]
            setattr(item, taken, max(getattr(item, taken) - line.quantity, ZERO))
    audit.cancelled(document, company_id=company_id, user=user,
                    record_type=document.workflow.noun)


def cancel_draft(lock: Callable[[int, int], tuple], *, company_id: int, doc_id: int,
                 user: User | None, taken: str):
    """A draft's cancelling as one use case: `lock(company_id, doc_id)` (the document and
    its order), the workflow's "cancel" (a replay is a no-op; an issued document is
    refused: InvalidTransition), then `cancel`. Commits."""
    with atomic():
        document, order = lock(company_id, doc_id)
        if document.workflow.begin(document, "cancel", user):
            cancel(document, order, company_id, user, taken)
    return document


# --- the lines of a draft -------------------------------------------------------------------

@dataclass(frozen=True)
class DraftLines:
    """How the lines of one kind of draft change: `lock(company_id, id)` gives the
    document and its order (locked); `fixed(document, adding)` says why its lines may not
    change that way (None: they may), beyond the workflow's `edits`; `take(order, line,
    quantity, errors)` moves what the line holds of its order line to `quantity` (0: gives
    it all back), adding a message to `errors` when the order line has not that much;
    new lines default to the product's `price` ("sale_price", "cost_price")."""

    line_model: type
    lock: Callable[[int, int], tuple[Any, Any]]
    doc_key: str
    price: str = "sale_price"
    fixed: Callable[[Any, bool], str | None] = lambda document, adding: None
    take: Callable[[Any, Any, Decimal, dict], None] | None = None

    @staticmethod
    def check(document, user: User | None, refused: str | None) -> None:
        document.workflow.begin_edit(document, user)
        if refused:
            raise InvalidTransition(refused)

    @staticmethod
    def line(document, line_id: int):
        line = next((i for i in document.items if i.id == line_id), None)
        if line is None:
            raise NotFound(_("No such line."))
        return line


def add_draft_line(book: DraftLines, *, company_id: int, user: User | None,
                   product_id: int | None, quantity, unit_price=None, discount_percent=None,
                   tax_rate=None, **ids) -> Any:
    """Add a line to a draft; the price and tax rate default as on an order (the product's
    `book.price` and tax code). Raises ValidationError (every field at once),
    InvalidTransition (its lines may not change). Commits."""
    from erp.services.sales import new_line_values

    with atomic():
        document, _order = book.lock(company_id, ids[book.doc_key])
        book.check(document, user, book.fixed(document, True))
        product, values = new_line_values(company_id, product_id, quantity, unit_price,
                                          discount_percent, tax_rate, price=book.price)
        line = book.line_model(company_id=company_id, product_id=product.id, **values)
        apply_amounts(line)
        document.items.append(line)
        recompute_totals(document)
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="update",
                     record_type=document.workflow.noun, record_id=document.id,
                     summary=f"{document.number}: line {product.sku} x "
                             f"{fmt_quantity(values['quantity'])} added")
    return line


def update_draft_line(book: DraftLines, *, company_id: int, line_id: int, user: User | None,
                      quantity, unit_price=None, discount_percent=None, tax_rate=None,
                      **ids) -> Any:
    """Change a line of a draft (a blank price keeps the line's); a line of an order line
    holds no more of it than `book.take` allows. Commits."""
    from erp.services.sales import changed_line_values

    with atomic():
        document, order = book.lock(company_id, ids[book.doc_key])
        line = book.line(document, line_id)
        book.check(document, user, book.fixed(document, False))
        errors: dict[str, list[str]] = {}
        values = changed_line_values(line, quantity, unit_price, discount_percent, tax_rate,
                                     errors)
        if not errors and book.take is not None and order is not None:
            book.take(order, line, values["quantity"], errors)
        if errors:
            raise ValidationError(field_errors=errors)
        changes = audit.diff(line, values)
        apply_amounts(line)
        recompute_totals(document)
        if changes:
            audit.record(company_id=company_id, user=user, action="update",
                         record_type=document.workflow.noun, record_id=document.id,
                         summary=f"{document.number}: line {line.product.sku} changed",
                         changes=changes)
    return line


def remove_draft_line(book: DraftLines, *, company_id: int, line_id: int, user: User | None,
                      **ids) -> None:
    """Remove a line of a draft (what it held of its order line is given back); a line
    already gone is a replay. Commits."""
    with atomic():
        document, order = book.lock(company_id, ids[book.doc_key])
        line = next((i for i in document.items if i.id == line_id), None)
        if line is None:
            return
        book.check(document, user, book.fixed(document, False))
        if book.take is not None and order is not None:
            book.take(order, line, ZERO, {})
        document.items.remove(line)
        recompute_totals(document)
        audit.record(company_id=company_id, user=user, action="update",
                     record_type=document.workflow.noun, record_id=document.id,
                     summary=f"{document.number}: line {line.product.sku} removed")


# --- checks -------------------------------------------------------------------------------

def document_mismatches(document, paid: Decimal) -> list[str]:
    """A document's stored figures against its lines (each line's amounts recomputed), its
    snapshot, the payments allocated to it (`paid`) and its state."""
    from erp.services.sales import line_amounts

    problems = []
    sums = {name: ZERO for name in AMOUNTS}
    for line in document.items:
        amounts = line_amounts(line.quantity, line.unit_price, line.discount_percent,
                               line.tax_rate)
        stored = (line.subtotal, line.discount_amount, line.tax_amount, line.total)
        if stored != (amounts.subtotal, amounts.discount, amounts.tax, amounts.total):
            problems.append(_('%(number)s line %(id)s: amounts %(stored)s', number=document.number, id=line.id, stored=stored))
        sums["subtotal"] += line.subtotal
        sums["discount_total"] += line.discount_amount
        sums["tax_total"] += line.tax_amount
        sums["total"] += line.total
    for name, value in sums.items():
        if getattr(document, name) != value:
            problems.append(f"{document.number}: {name} {getattr(document, name)} != {value}")
    if document.issued and Decimal(document.issued["total"]) != document.total:
        problems.append(_('%(number)s: issued total %(value)s', number=document.number, value=document.issued['total']))
    if document.paid_total != paid:
        problems.append(_('%(number)s: paid %(paid_total)s != %(paid)s', number=document.number, paid_total=document.paid_total, paid=paid))
    if document.balance < 0:
        problems.append(_('%(number)s: over-paid', number=document.number))
    if settled_status(document) != document.status:
        problems.append(_('%(number)s: %(status)s by its state, %(value)s by its figures', number=document.number, status=document.status, value=settled_status(document)))
    return problems
