"""Returns: goods back from a customer (sales return), goods back to a supplier (purchase
return), one shape with the differences declared (`Kind`: `SALES`, `PURCHASE`).

A sales return is drafted against a posted delivery note, for some of its lines'
quantities (never more than delivered minus what posted returns already took back), into
an active warehouse of the company chosen by the user, with a reason. A purchase return is
drafted against a purchase order that received goods, for some of its lines (never more
than received minus already returned), out of an active warehouse of the company. A line of
a tracked product may name the lots or serial numbers that move (`lots` {line id: text}):
for a sales return among those its delivery line shipped and no return took back yet, for
a purchase return among those its order line received that the warehouse still holds. Left
empty, posting takes them in that order (first shipped, first-expiring).

A draft moves nothing. Posting, in one transaction: locks the delivery note (purchase
order) row, re-reads its lines and checks the limits again (two postings against one
document run one after the other, and the second is refused when it would return too
much), then moves the stock through the stock service, one movement per return line (per
lot) referring to it (`sales_return` in, `purchase_return` out; a purchase return never
takes stock below what is available, reservations included), and adds the quantities to
the returned lines' `returned_quantity`; a purchase return then debits the posted bills
that billed its goods (erp.services.bills.debit_return). Staff draft; a manager posts and cancels (the
table is `erp.models.returns`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from erp.extensions import db
from erp.formatting import plural
from erp.formatting import quantity as fmt_qty
from erp.models import User, Warehouse
from erp.models.base import utcnow
from erp.models.core import company_today
from erp.models.purchasing import GoodsReceiptLine, PurchaseOrder, PurchaseOrderItem
from erp.models.returns import REASON_MAX, PurchaseReturn, PurchaseReturnLine, SalesReturn, \
    SalesReturnLine
from erp.models.sales import DeliveryNote, DeliveryNoteLine, SalesOrderItem
from erp.services import (InvalidTransition, NotFound, PermissionDenied, ValidationError, atomic,
                          audit, stock)
from erp.services import lots
from erp.services.sequences import next_number
from erp.services.validation import clean_text
from erp.i18n import N_, _

SALES_SERIES = "RET"
PURCHASE_SERIES = "PRT"
NOTES_MAX = 2000
DRAFT_ROLE = "staff"


def returnable(lines) -> dict[str, str]:
    """A return form's inputs, empty on each line that still has something to return."""
    return {f"qty-{line.id}": "" for line in lines if line.returnable_quantity > 0}


# --- what the two kinds lock, and which lots may move back --------------------------------

def _locker(model, line_model, parent_key, loads, missing: str) -> Callable:
    """(company id, document id) -> the document row locked until the transaction ends,
    its lines (with what `loads` names) re-read; NotFound (`missing`) elsewhere."""
    def lock(company_id: int, document_id: int):
        document = db.session.scalar(
            select(model).where(model.id == document_id, model.company_id == company_id)
            .with_for_update(of=model).execution_options(populate_existing=True))
        if document is None:
            raise NotFound(_(missing))
        db.session.scalars(
            select(line_model).where(parent_key == document.id).options(loads)
            .order_by(line_model.id).execution_options(populate_existing=True)).all()
        return document

    return lock


_lock_delivery = _locker(
    DeliveryNote, DeliveryNoteLine, DeliveryNoteLine.delivery_id,
    selectinload(DeliveryNoteLine.order_item).selectinload(SalesOrderItem.product),
    N_("No such delivery note."))
_lock_order = _locker(PurchaseOrder, PurchaseOrderItem, PurchaseOrderItem.order_id,
                      selectinload(PurchaseOrderItem.product), N_("No such purchase order."))


def _delivered_lots(delivered: DeliveryNoteLine, warehouse_id: int) -> dict:
    """{lot: quantity} a delivery line shipped and no return brought back yet."""
    returned = select(SalesReturnLine.id).where(SalesReturnLine.delivery_line_id == delivered.id)
    return {lot: -net for lot, net in lots.moved_by(
        delivered.company_id, ("delivery_note_line", [delivered.id]),
        ("sales_return_line", returned)).items()}


def _received_lots(item: PurchaseOrderItem, warehouse_id: int) -> dict:
    """{lot: quantity} the receipts of an order line brought in that the warehouse still
    holds, first-expiring first."""
    received = select(GoodsReceiptLine.id).where(GoodsReceiptLine.order_item_id == item.id)
    ours = {lot.id for lot, net in lots.moved_by(
        item.company_id, ("goods_receipt_line", received)).items() if net > 0}
    return {lot: qty for lot, qty in
            lots.in_stock(item.company_id, warehouse_id, [item.product_id]).get(item.product_id, [])
            if lot.id in ours}


def _delivery_refused(delivery: DeliveryNote) -> str | None:
    if delivery.status == "posted":
        return None
    return _('%(number)s is %(value)s: only goods of a posted delivery note can be returned.',
             number=delivery.number, value=delivery.status_label.lower())


def _debit_bills(purchase_return: PurchaseReturn, user: User | None) -> None:
    from erp.services.bills import debit_return  # bills reads this module's order lock

    debit_return(purchase_return, user)


def _order_refused(order: PurchaseOrder) -> str | None:
    if any(item.received_quantity for item in order.items):
        return None
    return _('%(number)s has received nothing: there is nothing to return.', number=order.number)


@dataclass(frozen=True)
class Kind:
    """What differs between a sales and a purchase return."""

    model: type
    line_model: type
    series: str
    record_type: str            # audit entries, stock movement sources (<record_type>_line)
    document_id: str            # the return's column naming the document returned against
    line_key: str               # a return line's column naming the document's line
    party_id: Callable          # the document -> the customer's (supplier's) id
    party_key: str              # the return's column holding it
    lock: Callable              # (company id, document id) -> the document, locked
    lines: Callable             # the document -> its lines, in order
    refused: Callable           # the document -> why nothing can be returned, or None
    lots: Callable              # (document line, warehouse id) -> {lot: what may move}
    origin: str                 # those lots, in messages ("the lots %(number)s shipped...")
    limit: str                  # "delivered minus returned"
    sign: int                   # +1: back into stock, -1: out of it
    movement: str               # the stock movement's kind
    created: str                # the audit summary of a new return
    posted: str                 # the audit summary of a posted one
    missing: str                # NotFound
    # (the posting return, user) -> what posting settles in money, in the same transaction
    settle: Callable | None = None


SALES = Kind(
    model=SalesReturn, line_model=SalesReturnLine, series=SALES_SERIES,
    record_type="sales_return", document_id="delivery_id", line_key="delivery_line_id",
    party_id=lambda delivery: delivery.customer_id, party_key="customer_id",
    lock=_lock_delivery, lines=lambda delivery: list(delivery.lines),
    refused=_delivery_refused, lots=_delivered_lots,
    origin=N_("the lots %(number)s shipped and no return took back"),
    limit=N_("delivered minus returned"), sign=1, movement="sales_return",
    created="Sales return {number} against {document}: {lines}",
    posted="Sales return {number} posted: {lines} back into {warehouse}",
    missing=N_("No such sales return."))
PURCHASE = Kind(
    model=PurchaseReturn, line_model=PurchaseReturnLine, series=PURCHASE_SERIES,
    record_type="purchase_return", document_id="order_id", line_key="order_item_id",
    party_id=lambda order: order.supplier_id, party_key="supplier_id",
    lock=_lock_order, lines=lambda order: list(order.items),
    refused=_order_refused, lots=_received_lots,
    origin=N_("the lots %(number)s received that the warehouse still holds"),
    limit=N_("received minus returned"), sign=-1, movement="purchase_return",
    created="Purchase return {number} for {document}: {lines}",
    posted="Purchase return {number} posted: {lines} out of {warehouse}",
    missing=N_("No such purchase return."), settle=_debit_bills)


# --- one shape for both -------------------------------------------------------------------

def _header(user: User | None, company_id: int, warehouse_id, reason: str, notes: str,
            errors: dict) -> tuple[Warehouse | None, str, str]:
    """The checks every new return makes before it locks anything: the role, the reason,
    the notes and the warehouse (an active one of the company; another company's reads as
    unknown)."""
    if user is not None and not user.has_role(DRAFT_ROLE):
        raise PermissionDenied(_("Your role does not allow this."))
    reason = clean_text(reason, "reason", REASON_MAX, errors,
                        required=_("Say why the goods are returned."))
    notes = clean_text(notes, "notes", NOTES_MAX, errors)
    warehouse = None
    try:
        warehouse_id = int(warehouse_id)
    except (TypeError, ValueError):
        warehouse_id = None
    if warehouse_id is not None and abs(warehouse_id) < 2**31:
        warehouse = db.session.scalar(select(Warehouse).where(
            Warehouse.id == warehouse_id, Warehouse.company_id == company_id))
    if warehouse is None:
        errors["warehouse_id"] = ["Choose a warehouse of your company."]
    elif not warehouse.active:
        errors["warehouse_id"] = [warehouse.archived_message]
    return warehouse, reason, notes


def _line_name(lines: list, line) -> str:
    return f"Line {lines.index(line) + 1} ({line.product.sku})"


def _wanted(kind: Kind, quantities: dict, lines: list, errors: dict) -> list:
    """(line, quantity) for each line with a quantity, at most its returnable quantity."""
    def limit(line, qty: Decimal) -> str | None:
        if qty <= line.returnable_quantity:
            return None
        return (f"{_line_name(lines, line)}: only {fmt_qty(line.returnable_quantity)} can be "
                f"returned ({_(kind.limit)}), {fmt_qty(qty)} given.")

    return stock.line_quantities(quantities, {line.id: line for line in lines}, errors, limit)


def _picks(kind: Kind, document, line, qty: Decimal, text: str | None, warehouse_id: int, *,
           field: str, what: str) -> list:
    """The lots a tracked line moves: those `text` names among what `kind.lots` allows, or
    all of those in order when it names none."""
    return lots.pick_from(kind.lots(line, warehouse_id), text, line.product, qty, field=field,
                          what=what, origin=_(kind.origin, number=document.number))


def _chosen(kind: Kind, document, wanted: list, texts: dict, warehouse_id: int,
            errors: dict) -> dict:
    """{document line id: lots text} of the tracked lines whose lots the user named, each
    checked now (errors on `lot-<document line id>`)."""
    lines, chosen = kind.lines(document), {}
    for line, qty in wanted:
        text = (lots.for_line(texts, line.id) or "").strip()
        if not line.product.tracked or not text:
            continue
        field = f"lot-{line.id}"
        try:
            picks = _picks(kind, document, line, qty, text, warehouse_id, field=field,
                           what=_line_name(lines, line))
        except ValidationError as error:
            errors.update(error.field_errors or {field: [str(error)]})
        else:
            chosen[line.id] = lots.picks_text(line.product, picks)
    return chosen


def _create(kind: Kind, *, company_id: int, document_id: int, user: User | None,
            quantities: dict, warehouse_id, reason: str, return_date: date | None,
            notes: str, post: bool, lots_named: dict | None):
    errors: dict[str, list[str]] = {}
    with atomic():
        warehouse, reason, notes = _header(user, company_id, warehouse_id, reason, notes, errors)
        document = kind.lock(company_id, document_id)
        refused = kind.refused(document)
        if refused:
            raise InvalidTransition(refused)
        wanted = _wanted(kind, quantities, kind.lines(document), errors)
        chosen = (_chosen(kind, document, wanted, lots_named or {}, warehouse.id, errors)
                  if warehouse is not None else {})
        if errors:
            raise ValidationError(field_errors=errors)
        if not wanted:
            raise ValidationError(_("Enter a quantity to return on at least one line."))
        created = kind.model(
            company_id=company_id, number=next_number(company_id, kind.series),
            warehouse_id=warehouse.id, return_date=return_date or company_today(company_id),
            status="draft", reason=reason, notes=notes,
            created_by_id=user.id if user is not None else None,
            lines=[kind.line_model(company_id=company_id, quantity=qty,
                                   lots=chosen.get(line.id, ""), **{kind.line_key: line.id})
                   for line, qty in wanted],
            **{kind.document_id: document.id, kind.party_key: kind.party_id(document)})
        db.session.add(created)
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="create",
                     record_type=kind.record_type, record_id=created.id,
                     summary=kind.created.format(number=created.number, document=document.number,
                                                 lines=plural(len(wanted), "line")))
        if post:
            _post(kind, created, document, user)
    return created


def _post(kind: Kind, document_return, document, user: User | None) -> None:
    """Move the return's stock (the document locked, its lines fresh). Flushes only."""
    kind.model.workflow.begin(document_return, "post", user)
    company_id, warehouse_id = document_return.company_id, document_return.warehouse_id
    stock.open_warehouse(company_id, warehouse_id)
    lines = kind.lines(document)
    by_id = {line.id: line for line in lines}
    pairs = [(by_id[getattr(line, kind.line_key)], line.quantity)
             for line in document_return.lines]
    over = [f"{line.product.sku}: only {fmt_qty(line.returnable_quantity)} can be returned "
            f"({_(kind.limit)}), {fmt_qty(qty)} on this return." for line, qty in pairs
            if qty > line.returnable_quantity]
    if over:
        raise ValidationError(_("Cannot post %(number)s: %(problems)s Nothing was moved.",
                                number=document_return.number, problems=" ".join(over)))
    for line, (returned, qty) in zip(document_return.lines, pairs):
        product = returned.product
        source = stock.Source(f"{kind.record_type}_line", line.id, document_return.number)
        if product.tracked:  # the lots picked, checked again now, else in their order
            picks = _picks(kind, document, returned, qty, line.lots, warehouse_id,
                           field=f"lot-{returned.id}",
                           what=f"{document_return.number} ({product.sku})")
            lots.move_picks(picks, sign=kind.sign, company_id=company_id, product_id=product.id,
                            warehouse_id=warehouse_id, kind=kind.movement, user=user,
                            source=source)
            line.lots = line.lots or lots.picks_text(product, picks)
        elif product.stocked:  # a service carries no stock: only the quantity counts
            stock.move(company_id=company_id, product_id=product.id, warehouse_id=warehouse_id,
                       quantity=kind.sign * qty, kind=kind.movement, user=user, source=source)
        returned.returned_quantity = returned.returned_quantity + qty
    if kind.settle is not None:
        kind.settle(document_return, user)
    document_return.status, document_return.posted_at = "posted", utcnow()
    db.session.flush()
    audit.record(company_id=company_id, user=user, action="status",
                 record_type=kind.record_type, record_id=document_return.id,
                 summary=kind.posted.format(number=document_return.number,
                                            lines=plural(len(pairs), "line"),
                                            warehouse=document_return.warehouse.code),
                 changes={"status": ("draft", "posted")})


def _locked(kind: Kind, company_id: int, return_id: int):
    """The return and its document, the document locked first (the lock posting takes),
    then the return re-read."""
    document_id = db.session.scalar(
        select(getattr(kind.model, kind.document_id)).where(
            kind.model.id == return_id, kind.model.company_id == company_id))
    if document_id is None:
        raise NotFound(_(kind.missing))
    document = kind.lock(company_id, document_id)
    document_return = db.session.scalar(
        select(kind.model).where(kind.model.id == return_id)
        .options(selectinload(kind.model.lines))
        .execution_options(populate_existing=True))
    return document_return, document


def _post_return(kind: Kind, company_id: int, return_id: int, user: User | None):
    with atomic():
        document_return, document = _locked(kind, company_id, return_id)
        if document_return.status == "posted":
            kind.model.workflow.begin(document_return, "post", user)  # the role, then a no-op
            return document_return
        _post(kind, document_return, document, user)
    return document_return


def _cancel(kind: Kind, company_id: int, return_id: int, user: User | None):
    with atomic():
        document, _unused = _locked(kind, company_id, return_id)
        if document.workflow.begin(document, "cancel", user):
            audit.cancelled(document, company_id=company_id, user=user,
                            record_type=kind.record_type,
                            summary=f"Return {document.number} cancelled")
    return document


# --- the services -------------------------------------------------------------------------

def create_sales_return(*, company_id: int, delivery_id: int, user: User | None,
                        quantities: dict, warehouse_id, reason: str,
                        return_date: date | None = None, notes: str = "",
                        post: bool = False, lots: dict | None = None) -> SalesReturn:
    """A draft return of `quantities` ({delivery line id: quantity}, blank or 0 skips the
    line) of a posted delivery note into `warehouse_id`, with a reason; `post`: posted at
    once (a manager's). `lots` ({delivery line id: text}) names the lots or serial numbers
    coming back. Staff. Refuses, all at once, a missing reason, a warehouse that is
    not an active one of the company, a quantity that does not parse or is more than
    delivered minus returned (ValidationError, fields `qty-<delivery line id>`), lots that
    line did not ship or that came back already (`lot-<delivery line id>`), and a
    return with no quantity; a delivery note not posted raises InvalidTransition. Commits."""
    return _create(SALES, company_id=company_id, document_id=delivery_id, user=user,
                   quantities=quantities, warehouse_id=warehouse_id, reason=reason,
                   return_date=return_date, notes=notes, post=post, lots_named=lots)


def post_sales_return(*, company_id: int, return_id: int, user: User | None) -> SalesReturn:
    """draft -> posted: restock the return's lines (see the module). Manager. Refuses a
    line more than delivered minus returned, an archived warehouse, lots no longer
    returnable (ValidationError, nothing moved). Replay no-op. Commits."""
    return _post_return(SALES, company_id, return_id, user)


def cancel_sales_return(*, company_id: int, return_id: int, user: User | None) -> SalesReturn:
    """draft -> cancelled (a draft moved nothing). Manager. Replay no-op; a posted return
    raises InvalidTransition. Commits."""
    return _cancel(SALES, company_id, return_id, user)


def create_purchase_return(*, company_id: int, order_id: int, user: User | None,
                           quantities: dict, warehouse_id, reason: str,
                           return_date: date | None = None, notes: str = "",
                           post: bool = False, lots: dict | None = None) -> PurchaseReturn:
    """A draft return of `quantities` ({order item id: quantity}) of a purchase order's
    received goods to its supplier, out of `warehouse_id`, with a reason; `post`: posted at
    once (a manager's); `lots` ({order item id: text}) names the lots or serial numbers
    going back. Staff. Refuses, all at once, what `create_sales_return` refuses, with
    "received minus returned" as the limit and lots the order line received that the
    warehouse still holds as the choice; an order that received nothing raises
    InvalidTransition. Commits."""
    return _create(PURCHASE, company_id=company_id, document_id=order_id, user=user,
                   quantities=quantities, warehouse_id=warehouse_id, reason=reason,
                   return_date=return_date, notes=notes, post=post, lots_named=lots)


def post_purchase_return(*, company_id: int, return_id: int,
                         user: User | None) -> PurchaseReturn:
    """draft -> posted: the return's goods leave the warehouse (see the module). Manager.
    Refuses a line more than received minus returned, an archived warehouse, lots no longer
    there (ValidationError) and stock below what is available (InsufficientStock); nothing
    moves then. Replay no-op. Commits."""
    return _post_return(PURCHASE, company_id, return_id, user)


def cancel_purchase_return(*, company_id: int, return_id: int,
                           user: User | None) -> PurchaseReturn:
    """draft -> cancelled (a draft moved nothing). Manager. Replay no-op; a posted return
    raises InvalidTransition. Commits."""
    return _cancel(PURCHASE, company_id, return_id, user)
