"""Returns: goods back from a customer (sales return), goods back to a supplier (purchase
return).

A sales return is drafted against a posted delivery note, for some of its lines'
quantities (never more than delivered minus what posted returns already took back), into
an active warehouse of the company chosen by the user, with a reason. A purchase return is
drafted against a purchase order that received goods, for some of its lines (never more
than received minus already returned), out of an active warehouse of the company.

A draft moves nothing. Posting, in one transaction: locks the delivery note (purchase
order) row, re-reads its lines and checks the limits again (two postings against one
document run one after the other, and the second is refused when it would return too
much), then moves the stock through the stock service, one movement per return line
referring to it (`sales_return` in, `purchase_return` out; a purchase return never takes
stock below what is available, reservations included), and adds the quantities to the
returned lines' `returned_quantity`. Staff draft; a manager posts and cancels (the table is
`erp.models.returns`).
"""
from __future__ import annotations

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
from erp.i18n import _

SALES_SERIES = "RET"
PURCHASE_SERIES = "PRT"
NOTES_MAX = 2000
DRAFT_ROLE = "staff"


def returnable(lines) -> dict[str, str]:
    """A return form's inputs, empty on each line that still has something to return."""
    return {f"qty-{line.id}": "" for line in lines if line.returnable_quantity > 0}


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


def _wanted(quantities: dict, lines: list, errors: dict, sku: Callable, what: str) -> list:
    """(line, quantity) for each line with a quantity, at most its returnable quantity."""
    def limit(line, qty: Decimal) -> str | None:
        if qty <= line.returnable_quantity:
            return None
        return (f"Line {lines.index(line) + 1} ({sku(line)}): only "
                f"{fmt_qty(line.returnable_quantity)} can be returned ({what}), "
                f"{fmt_qty(qty)} given.")

    wanted = stock.line_quantities(quantities, {line.id: line for line in lines}, errors, limit)
    if errors:
        raise ValidationError(field_errors=errors)
    if not wanted:
        raise ValidationError(_("Enter a quantity to return on at least one line."))
    return wanted


def _check_posting(document, lines_and_qty: list, sku: Callable, what: str) -> None:
    over = [f"{sku(line)}: only {fmt_qty(line.returnable_quantity)} can be returned ({what}), "
            f"{fmt_qty(qty)} on this return." for line, qty in lines_and_qty
            if qty > line.returnable_quantity]
    if over:
        raise ValidationError(_("Cannot post %(number)s: %(problems)s Nothing was moved.",
                                number=document.number, problems=" ".join(over)))


# --- sales returns ----------------------------------------------------------------------

def _delivery_sku(line: DeliveryNoteLine) -> str:
    return line.order_item.product.sku


def _lock_delivery(company_id: int, delivery_id: int) -> DeliveryNote:
    """The delivery note row locked until the transaction ends, its lines (with their
    products) re-read."""
    delivery = db.session.scalar(
        select(DeliveryNote).where(DeliveryNote.id == delivery_id,
                                   DeliveryNote.company_id == company_id)
        .with_for_update(of=DeliveryNote).execution_options(populate_existing=True))
    if delivery is None:
        raise NotFound(_("No such delivery note."))
    db.session.scalars(
        select(DeliveryNoteLine).where(DeliveryNoteLine.delivery_id == delivery.id)
        .options(selectinload(DeliveryNoteLine.order_item).selectinload(SalesOrderItem.product))
        .order_by(DeliveryNoteLine.id).execution_options(populate_existing=True)).all()
    return delivery


def create_sales_return(*, company_id: int, delivery_id: int, user: User | None,
                        quantities: dict, warehouse_id, reason: str,
                        return_date: date | None = None, notes: str = "",
                        post: bool = False) -> SalesReturn:
    """A draft return of `quantities` ({delivery line id: quantity}, blank or 0 skips the
    line) of a posted delivery note into `warehouse_id`, with a reason; `post`: posted at
    once (a manager's). Staff. Refuses, all at once, a missing reason, a warehouse that is
    not an active one of the company, a quantity that does not parse or is more than
    delivered minus returned (ValidationError, fields `qty-<delivery line id>`), and a
    return with no quantity; a delivery note not posted raises InvalidTransition. Commits."""
    errors: dict[str, list[str]] = {}
    with atomic():
        warehouse, reason, notes = _header(user, company_id, warehouse_id, reason, notes, errors)
        delivery = _lock_delivery(company_id, delivery_id)
        if delivery.status != "posted":
            raise InvalidTransition(_('%(number)s is %(value)s: only goods of a posted delivery note can be returned.', number=delivery.number, value=delivery.status_label.lower()))
        wanted = _wanted(quantities, list(delivery.lines), errors, _delivery_sku, "delivered "
                         "minus returned")
        sales_return = SalesReturn(
            company_id=company_id, number=next_number(company_id, SALES_SERIES),
            delivery_id=delivery.id, customer_id=delivery.customer_id,
            warehouse_id=warehouse.id, return_date=return_date or company_today(company_id),
            status="draft", reason=reason, notes=notes,
            created_by_id=user.id if user is not None else None,
            lines=[SalesReturnLine(company_id=company_id, delivery_line_id=line.id, quantity=qty)
                   for line, qty in wanted])
        db.session.add(sales_return)
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="create",
                     record_type="sales_return", record_id=sales_return.id,
                     summary=f"Sales return {sales_return.number} against {delivery.number}: "
                             f"{plural(len(wanted), 'line')}")
        if post:
            _post_sales_return(sales_return, delivery, user)
    return sales_return


def _post_sales_return(sales_return: SalesReturn, delivery: DeliveryNote,
                       user: User | None) -> None:
    SalesReturn.workflow.begin(sales_return, "post", user)
    stock.open_warehouse(sales_return.company_id, sales_return.warehouse_id)
    by_id = {line.id: line for line in delivery.lines}
    pairs = [(by_id[line.delivery_line_id], line.quantity) for line in sales_return.lines]
    _check_posting(sales_return, pairs, _delivery_sku, "delivered minus returned")
    for line, (delivered, qty) in zip(sales_return.lines, pairs):
        source = stock.Source("sales_return_line", line.id, sales_return.number)
        if delivered.product.tracked:  # the lots (serial numbers) that line delivered
            lots.move_picks(
                lots.take_back(_delivered_lots(delivered), qty, product=delivered.product,
                               what=f"{sales_return.number} ({delivered.product.sku})"),
                sign=1, company_id=sales_return.company_id, product_id=delivered.product.id,
                warehouse_id=sales_return.warehouse_id, kind="sales_return", user=user,
                source=source)
        elif delivered.product.stocked:  # a service carries no stock: only the quantity counts
            stock.move(company_id=sales_return.company_id, product_id=delivered.product.id,
                       warehouse_id=sales_return.warehouse_id, quantity=qty,
                       kind="sales_return", user=user, source=source)
        delivered.returned_quantity = delivered.returned_quantity + qty
    sales_return.status, sales_return.posted_at = "posted", utcnow()
    db.session.flush()
    audit.record(company_id=sales_return.company_id, user=user, action="status",
                 record_type="sales_return", record_id=sales_return.id,
                 summary=f"Sales return {sales_return.number} posted: "
                         f"{plural(len(pairs), 'line')} back into {sales_return.warehouse.code}",
                 changes={"status": ("draft", "posted")})


def _delivered_lots(delivered: DeliveryNoteLine) -> dict:
    """{lot: quantity} a delivery line shipped and no return brought back yet."""
    returned = select(SalesReturnLine.id).where(SalesReturnLine.delivery_line_id == delivered.id)
    return {lot: -net for lot, net in lots.moved_by(
        delivered.company_id, ("delivery_note_line", [delivered.id]),
        ("sales_return_line", returned)).items()}


def _received_lots(company_id: int, item: PurchaseOrderItem, warehouse_id: int) -> dict:
    """{lot: quantity} the receipts of an order line brought in that the warehouse still
    holds, first-expiring first."""
    received = select(GoodsReceiptLine.id).where(GoodsReceiptLine.order_item_id == item.id)
    ours = {lot.id for lot, net in lots.moved_by(
        company_id, ("goods_receipt_line", received)).items() if net > 0}
    return {lot: qty for lot, qty in
            lots.in_stock(company_id, warehouse_id, [item.product_id]).get(item.product_id, [])
            if lot.id in ours}


def _locked_sales_return(company_id: int, return_id: int) -> tuple[SalesReturn, DeliveryNote]:
    delivery_id = db.session.scalar(select(SalesReturn.delivery_id).where(
        SalesReturn.id == return_id, SalesReturn.company_id == company_id))
    if delivery_id is None:
        raise NotFound(_("No such sales return."))
    delivery = _lock_delivery(company_id, delivery_id)
    sales_return = db.session.scalar(
        select(SalesReturn).where(SalesReturn.id == return_id)
        .options(selectinload(SalesReturn.lines))
        .execution_options(populate_existing=True))
    return sales_return, delivery


def post_sales_return(*, company_id: int, return_id: int, user: User | None) -> SalesReturn:
    """draft -> posted: restock the return's lines (see the module). Manager. Refuses a
    line more than delivered minus returned, an archived warehouse (ValidationError,
    nothing moved). Replay no-op. Commits."""
    with atomic():
        sales_return, delivery = _locked_sales_return(company_id, return_id)
        if sales_return.status == "posted":
            SalesReturn.workflow.begin(sales_return, "post", user)  # the role, then a no-op
            return sales_return
        _post_sales_return(sales_return, delivery, user)
    return sales_return


def cancel_sales_return(*, company_id: int, return_id: int, user: User | None) -> SalesReturn:
    """draft -> cancelled (a draft moved nothing). Manager. Replay no-op; a posted return
    raises InvalidTransition. Commits."""
    with atomic():
        sales_return, _unused = _locked_sales_return(company_id, return_id)
        _cancel(sales_return, user, "sales_return")
    return sales_return


def _cancel(document, user: User | None, record_type: str) -> None:
    if not document.workflow.begin(document, "cancel", user):
        return
    document.status = "cancelled"
    audit.record(company_id=document.company_id, user=user, action="status",
                 record_type=record_type, record_id=document.id,
                 summary=f"Return {document.number} cancelled",
                 changes={"status": ("draft", "cancelled")})


# --- purchase returns -------------------------------------------------------------------

def _item_sku(item: PurchaseOrderItem) -> str:
    return item.product.sku


def _lock_order(company_id: int, order_id: int) -> PurchaseOrder:
    """The purchase order row locked until the transaction ends, its lines re-read."""
    order = db.session.scalar(
        select(PurchaseOrder).where(PurchaseOrder.id == order_id,
                                    PurchaseOrder.company_id == company_id)
        .with_for_update(of=PurchaseOrder).execution_options(populate_existing=True))
    if order is None:
        raise NotFound(_("No such purchase order."))
    db.session.scalars(
        select(PurchaseOrderItem).where(PurchaseOrderItem.order_id == order.id)
        .options(selectinload(PurchaseOrderItem.product))
        .order_by(PurchaseOrderItem.id).execution_options(populate_existing=True)).all()
    return order


def create_purchase_return(*, company_id: int, order_id: int, user: User | None,
                           quantities: dict, warehouse_id, reason: str,
                           return_date: date | None = None, notes: str = "",
                           post: bool = False) -> PurchaseReturn:
    """A draft return of `quantities` ({order item id: quantity}) of a purchase order's
    received goods to its supplier, out of `warehouse_id`, with a reason; `post`: posted at
    once (a manager's). Staff. Refuses, all at once, what `create_sales_return` refuses,
    with "received minus returned" as the limit; an order that received nothing raises
    InvalidTransition. Commits."""
    errors: dict[str, list[str]] = {}
    with atomic():
        warehouse, reason, notes = _header(user, company_id, warehouse_id, reason, notes, errors)
        order = _lock_order(company_id, order_id)
        if not any(item.received_quantity for item in order.items):
            raise InvalidTransition(_('%(number)s has received nothing: there is nothing to return.', number=order.number))
        wanted = _wanted(quantities, list(order.items), errors, _item_sku,
                         "received minus returned")
        purchase_return = PurchaseReturn(
            company_id=company_id, number=next_number(company_id, PURCHASE_SERIES),
            order_id=order.id, supplier_id=order.supplier_id, warehouse_id=warehouse.id,
            return_date=return_date or company_today(company_id), status="draft",
            reason=reason, notes=notes, created_by_id=user.id if user is not None else None,
            lines=[PurchaseReturnLine(company_id=company_id, order_item_id=item.id, quantity=qty)
                   for item, qty in wanted])
        db.session.add(purchase_return)
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="create",
                     record_type="purchase_return", record_id=purchase_return.id,
                     summary=f"Purchase return {purchase_return.number} for {order.number}: "
                             f"{plural(len(wanted), 'line')}")
        if post:
            _post_purchase_return(purchase_return, order, user)
    return purchase_return


def _post_purchase_return(purchase_return: PurchaseReturn, order: PurchaseOrder,
                          user: User | None) -> None:
    PurchaseReturn.workflow.begin(purchase_return, "post", user)
    stock.open_warehouse(purchase_return.company_id, purchase_return.warehouse_id)
    by_id = {item.id: item for item in order.items}
    pairs = [(by_id[line.order_item_id], line.quantity) for line in purchase_return.lines]
    _check_posting(purchase_return, pairs, _item_sku, "received minus returned")
    for line, (item, qty) in zip(purchase_return.lines, pairs):
        source = stock.Source("purchase_return_line", line.id, purchase_return.number)
        if item.product.tracked:  # lots this order line received, first-expiring first
            lots.move_picks(
                lots.take_back(_received_lots(purchase_return.company_id, item,
                                              purchase_return.warehouse_id), qty,
                               product=item.product,
                               what=f"{purchase_return.number} ({item.product.sku})"),
                sign=-1, company_id=purchase_return.company_id, product_id=item.product_id,
                warehouse_id=purchase_return.warehouse_id, kind="purchase_return", user=user,
                source=source)
        elif item.product.stocked:  # never below what is available: promised stock stays
            stock.move(company_id=purchase_return.company_id, product_id=item.product_id,
                       warehouse_id=purchase_return.warehouse_id, quantity=-qty,
                       kind="purchase_return", user=user, source=source)
        item.returned_quantity = item.returned_quantity + qty
    purchase_return.status, purchase_return.posted_at = "posted", utcnow()
    db.session.flush()
    audit.record(company_id=purchase_return.company_id, user=user, action="status",
                 record_type="purchase_return", record_id=purchase_return.id,
                 summary=f"Purchase return {purchase_return.number} posted: "
                         f"{plural(len(pairs), 'line')} out of {purchase_return.warehouse.code}",
                 changes={"status": ("draft", "posted")})


def _locked_purchase_return(company_id: int,
                            return_id: int) -> tuple[PurchaseReturn, PurchaseOrder]:
    order_id = db.session.scalar(select(PurchaseReturn.order_id).where(
        PurchaseReturn.id == return_id, PurchaseReturn.company_id == company_id))
    if order_id is None:
        raise NotFound(_("No such purchase return."))
    order = _lock_order(company_id, order_id)
    purchase_return = db.session.scalar(
        select(PurchaseReturn).where(PurchaseReturn.id == return_id)
        .options(selectinload(PurchaseReturn.lines))
        .execution_options(populate_existing=True))
    return purchase_return, order


def post_purchase_return(*, company_id: int, return_id: int,
                         user: User | None) -> PurchaseReturn:
    """draft -> posted: the return's goods leave the warehouse (see the module). Manager.
    Refuses a line more than received minus returned, an archived warehouse
    (ValidationError) and stock below what is available (InsufficientStock); nothing moves
    then. Replay no-op. Commits."""
    with atomic():
        purchase_return, order = _locked_purchase_return(company_id, return_id)
        if purchase_return.status == "posted":
            PurchaseReturn.workflow.begin(purchase_return, "post", user)
            return purchase_return
        _post_purchase_return(purchase_return, order, user)
    return purchase_return


def cancel_purchase_return(*, company_id: int, return_id: int,
                           user: User | None) -> PurchaseReturn:
    """draft -> cancelled (a draft moved nothing). Manager. Replay no-op; a posted return
    raises InvalidTransition. Commits."""
    with atomic():
        purchase_return, _unused = _locked_purchase_return(company_id, return_id)
        _cancel(purchase_return, user, "purchase_return")
    return purchase_return
