"""Delivery notes: shipping a confirmed sales order in parts.

A delivery note is created from a confirmed (or partly shipped) order for all or part of
each line's quantity left to ship, from the order's warehouse. A draft moves nothing;
posting it, in one transaction, releases that much of the order's reservation and issues
the stock through the stock service (one `sales_shipment` movement per stocked line,
referring to the delivery line), adds the quantities to the order lines'
`shipped_quantity`, and moves the order to partly_shipped, or shipped once every line is
delivered. What is left stays reserved (a backorder) until another delivery takes it or a
manager closes the order short (`erp.services.sales.close_order`).

Posting locks the order row first, then re-reads its lines and the delivery: two
postings against one order run one after the other, and the second is refused when it
would ship more than is left (never an over-delivery, under any concurrency). The one-click
"Ship all" of an order (`erp.services.sales.ship_order`) is a delivery of everything left,
posted at once through the same `_post`, from the lots the user picked on the order's page
(first-expiring ones where none were named).
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from erp.extensions import db
from erp.formatting import plural
from erp.formatting import quantity as fmt_qty
from erp.models import User
from erp.models.base import utcnow
from erp.models.core import company_today
from erp.models.sales import DeliveryNote, DeliveryNoteLine, SalesOrder, SalesOrderItem
from erp.services import InvalidTransition, NotFound, ValidationError, atomic, audit, stock
from erp.services import lots as lots_service
from erp.services import webhooks
from erp.services.sequences import next_number
from erp.services.validation import clean_text
from erp.i18n import _

SERIES = "DN"
NOTES_MAX = 2000


def left_to_ship(order: SalesOrder) -> dict[str, str]:
    """The delivery form's inputs, prefilled with what is left on each line, and for a
    tracked product the first-expiring lots of the order's warehouse that cover it."""
    left = [item for item in order.items if item.left_quantity > 0]
    values = {f"qty-{item.id}": format(item.left_quantity.normalize(), "f") for item in left}
    values.update({f"lot-{line_id}": text for line_id, text in lots_service.suggest(
        order.company_id, order.warehouse_id,
        [(item.id, item.product, item.left_quantity) for item in left]).items()})
    return values


def create_delivery(*, company_id: int, order_id: int, user: User | None,
                    quantities: dict, delivery_date: date | None = None, notes: str = "",
                    post: bool = False, lots: dict | None = None) -> DeliveryNote:
    """A delivery note for `quantities` ({order item id: quantity}, blank or 0 skips the
    line) of a confirmed or partly shipped order, from the order's warehouse; `post`:
    posted at once. Staff (the order's "deliver" step). Refuses, all at once and naming
    the line, a quantity that does not parse or is more than is left to ship
    (ValidationError, fields `qty-<item id>`), a tracked product's lots or serial numbers
    (`lots` {item id: text}) missing, of another product, or not holding the quantity in
    the order's warehouse (fields `lot-<item id>`), and a delivery with no quantity; an
    order in another state raises InvalidTransition. Commits."""
    from erp.services.sales import _lock_order

    errors: dict[str, list[str]] = {}
    notes = clean_text(notes, "notes", NOTES_MAX, errors)
    with atomic():
        order = _lock_order(company_id, order_id, with_items=True)
        SalesOrder.workflow.begin(order, "deliver", user)
        wanted = stock.line_quantities(
            quantities, {item.id: item for item in order.items}, errors,
            lambda item, qty: _over(order, item, qty) if qty > item.left_quantity else None)
        picked = _picked(order, wanted, lots or {}, errors)
        if errors:
            raise ValidationError(field_errors=errors)
        if not wanted:
            raise ValidationError(_("Enter a quantity to deliver on at least one line."))
        delivery = _new_delivery(order, user, wanted, delivery_date, notes, picked)
        if post:
            _post(delivery, order, user)
    return delivery


def _picked(order: SalesOrder, wanted: list[tuple[SalesOrderItem, Decimal]], lots: dict,
            errors: dict) -> dict[int, str]:
    """{item id: lots text} of the tracked lines, each checked against the warehouse's
    stock (errors on `lot-<item id>`)."""
    picked = {}
    for item, qty in wanted:
        if not item.product.tracked:
            continue
        field = f"lot-{item.id}"
        try:
            picks = lots_service.resolve(
                order.company_id, item.product, lots_service.parse_picks(
                    lots_service.for_line(lots, item.id), item.product, qty, field=field,
                    what=_line_name(order, item)),
                field=field, what=_line_name(order, item), warehouse=order.warehouse)
        except ValidationError as error:
            errors.update(error.field_errors)
        else:
            picked[item.id] = lots_service.picks_text(item.product, picks)
    return picked


def _line_name(order: SalesOrder, item: SalesOrderItem) -> str:
    return f"Line {order.items.index(item) + 1} ({item.product.sku})"


def _new_delivery(order: SalesOrder, user: User | None,
                  wanted: list[tuple[SalesOrderItem, Decimal]], delivery_date: date | None,
                  notes: str = "", picked: dict[int, str] | None = None) -> DeliveryNote:
    delivery = DeliveryNote(
        company_id=order.company_id, number=next_number(order.company_id, SERIES),
        order_id=order.id, customer_id=order.customer_id, warehouse_id=order.warehouse_id,
        delivery_date=delivery_date or company_today(order.company_id), status="draft",
        notes=notes, created_by_id=user.id if user is not None else None,
        lines=[DeliveryNoteLine(company_id=order.company_id, order_item_id=item.id,
                                quantity=qty, lots=(picked or {}).get(item.id, ""))
               for item, qty in wanted])
    db.session.add(delivery)
    db.session.flush()
    audit.record(company_id=order.company_id, user=user, action="create",
                 record_type="delivery_note", record_id=delivery.id,
                 summary=f"Delivery note {delivery.number} for {order.number}: "
                         f"{plural(len(wanted), 'line')}")
    return delivery


def _over(order: SalesOrder, item: SalesOrderItem, qty: Decimal) -> str:
    return (f"{_line_name(order, item)}: only {fmt_qty(item.left_quantity)} left to "
            f"ship, {fmt_qty(qty)} given.")


def deliver_rest(order: SalesOrder, user: User | None,
                 lots: dict | None = None) -> DeliveryNote | None:
    """A posted delivery of everything left on the order (locked, with its lines, by the
    caller), in the caller's transaction; None when nothing is left. A tracked line ships
    the lots `lots` ({item id: text}) names for it, checked as the delivery form's (one
    ValidationError naming every bad line, nothing shipped), else its first-expiring lots."""
    wanted = [(item, item.left_quantity) for item in order.items if item.left_quantity > 0]
    if not wanted:
        return None
    errors: dict[str, list[str]] = {}
    picked = _picked(order, [(item, qty) for item, qty in wanted if (
        lots_service.for_line(lots or {}, item.id) or "").strip()], lots or {}, errors)
    if errors:
        raise ValidationError(" ".join(m for messages in errors.values() for m in messages),
                              field_errors=errors)
    delivery = _new_delivery(order, user, wanted, None, picked=picked)
    _post(delivery, order, user)
    return delivery


def _post(delivery: DeliveryNote, order: SalesOrder, user: User | None) -> None:
    """Issue the delivery's lines (the order locked, its lines fresh). Flushes only."""
    by_id = {item.id: item for item in order.items}
    over = [_over(order, by_id[line.order_item_id], line.quantity) for line in delivery.lines
            if line.quantity > by_id[line.order_item_id].left_quantity]
    if over:
        raise ValidationError(_("Cannot post %(number)s: %(problems)s Nothing was shipped.",
                                number=delivery.number, problems=" ".join(over)))
    for line in delivery.lines:
        item = by_id[line.order_item_id]
        if item.product.stocked:
            stock.release(company_id=order.company_id, product_id=item.product_id,
                          warehouse_id=order.warehouse_id, quantity=line.quantity)
            source = stock.Source("delivery_note_line", line.id, delivery.number)
            if item.product.tracked:
                lots_service.move_picks(
                    _line_lots(order, item, line), sign=-1, company_id=order.company_id,
                    product_id=item.product_id, warehouse_id=order.warehouse_id,
                    kind="sales_shipment", user=user, source=source)
            else:
                stock.move(company_id=order.company_id, product_id=item.product_id,
                           warehouse_id=order.warehouse_id, quantity=-line.quantity,
                           kind="sales_shipment", user=user, source=source)
        item.shipped_quantity = item.shipped_quantity + line.quantity
    old = order.status
    if all(item.left_quantity == 0 for item in order.items):
        order.status, order.shipped_at = "shipped", utcnow()
        webhooks.emit(order.company_id, "sales_order.shipped", order)
    else:
        order.status = "partly_shipped"
    delivery.status, delivery.posted_at = "posted", utcnow()
    db.session.flush()
    audit.record(company_id=order.company_id, user=user, action="status",
                 record_type="delivery_note", record_id=delivery.id,
                 summary=f"Delivery note {delivery.number} posted",
                 changes={"status": ("draft", "posted")})
    shipped = f"{plural(len(delivery.lines), 'line')} shipped from {order.warehouse.code}"
    if old != order.status:
        audit.record(company_id=order.company_id, user=user, action="status",
                     record_type="sales_order", record_id=order.id,
                     summary=f"Sales order {order.number} {order.status_label.lower()} "
                             f"({delivery.number}: {shipped})",
                     changes={"status": (old, order.status)})
    else:
        audit.record(company_id=order.company_id, user=user, action="ship",
                     record_type="sales_order", record_id=order.id,
                     summary=f"{delivery.number}: {shipped} for {order.number}")


def _line_lots(order: SalesOrder, item: SalesOrderItem, line: DeliveryNoteLine) -> list:
    """The lots a line ships: those picked on it (checked again now), else first-expiring."""
    what = _line_name(order, item)
    picks = lots_service.chosen(order.company_id, item.product, order.warehouse, line.quantity,
                                line.lots, field=f"lot-{item.id}", what=what)
    if not line.lots:
        line.lots = lots_service.picks_text(item.product, picks)
    return picks


def _lock_delivery(company_id: int, delivery_id: int) -> tuple[DeliveryNote, SalesOrder]:
    """The delivery and its order, the order locked first (the lock every change of the
    order takes), then both re-read."""
    from erp.services.sales import _lock_order

    order_id = db.session.scalar(select(DeliveryNote.order_id).where(
        DeliveryNote.id == delivery_id, DeliveryNote.company_id == company_id))
    if order_id is None:
        raise NotFound(_("No such delivery note."))
    order = _lock_order(company_id, order_id, with_items=True)
    delivery = db.session.scalar(
        select(DeliveryNote).where(DeliveryNote.id == delivery_id)
        .options(selectinload(DeliveryNote.lines))
        .execution_options(populate_existing=True))
    return delivery, order


def post_delivery(*, company_id: int, delivery_id: int, user: User | None) -> DeliveryNote:
    """draft -> posted: issue the delivery's stock (see the module). Staff. Refuses a line
    more than is left to ship (ValidationError naming it, nothing shipped) and an order no
    longer confirmed or partly shipped (InvalidTransition). Replay no-op. Commits."""
    with atomic():
        delivery, order = _lock_delivery(company_id, delivery_id)
        if not DeliveryNote.workflow.begin(delivery, "post", user):
            return delivery
        if order.status not in SalesOrder.workflow.actions["deliver"].sources:
            raise InvalidTransition(
                _('%(number)s is %(value)s: %(number2)s can no longer be posted. Cancel it.', number=order.number, value=order.status_label.lower(), number2=delivery.number))
        _post(delivery, order, user)
    return delivery


def cancel_delivery(*, company_id: int, delivery_id: int, user: User | None) -> DeliveryNote:
    """draft -> cancelled (a draft moved nothing, so nothing is undone). Staff. Replay
    no-op; a posted delivery raises InvalidTransition. Commits."""
    with atomic():
        delivery, _unused = _lock_delivery(company_id, delivery_id)
        if not DeliveryNote.workflow.begin(delivery, "cancel", user):
            return delivery
        audit.cancelled(delivery, company_id=company_id, user=user, record_type="delivery_note",
                        summary=f"Delivery note {delivery.number} cancelled")
    return delivery


def cancel_drafts(order: SalesOrder, user: User | None) -> None:
    """Cancel the order's draft deliveries (the order is cancelled, closed or shipped
    whole: nothing more will go out). In the caller's transaction."""
    db.session.execute(
        update(DeliveryNote)
        .where(DeliveryNote.company_id == order.company_id, DeliveryNote.order_id == order.id,
               DeliveryNote.status == "draft")
        .values(status="cancelled", updated_at=utcnow())
        .execution_options(synchronize_session=False))
