"""Purchasing use cases: purchase orders, goods receipts into stock, and reordering.

Workflow: draft -> ordered -> partially_received -> received; cancel from draft or
ordered; close short from partially_received (what was not delivered is no longer
expected, so it stops counting as on order). A manager may amend an ordered or
partially received order (the workflow's `edits`): change what is still open on a line
(never below what was received), add lines, remove lines with nothing received; each
change is audited as "amend". Each public function is one transaction (`atomic()`), allowed only from the
right state (InvalidTransition otherwise), company-checked (NotFound for another
company's records) and audited.

Receiving locks the order and its lines (`SELECT ... FOR UPDATE`), re-checks the open
quantity inside the transaction and writes one `purchase_receipt` stock movement per
line through `erp.services.stock`, so two receipts racing on one line never receive more
than was ordered. A receipt carries a one-time token: a replayed form is refused.

Moving-average cost: on every receipt line the product's cost price becomes
(max(on-hand before, 0) x old cost + received quantity x unit cost) / (on-hand before +
received quantity), where on-hand is the product's total over all warehouses just before
the receipt, rounded half-up to cents.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from erp.extensions import db
from erp.formatting import plural
from erp.formatting import quantity as fmt_qty
from erp.models import Product, StockLevel, Supplier, User, Warehouse
from erp.models.base import ZERO, utcnow
from erp.models.catalog import low_stock
from erp.models.core import company_today
from erp.models.fields import PRICE, TAX_RATE, Number
from erp.models.purchasing import (OPEN_STATUSES, plain_number, GoodsReceipt,
                                   GoodsReceiptLine, PurchaseOrder, PurchaseOrderItem)
from erp.services import (InvalidTransition, NotFound, PermissionDenied, ValidationError,
                          atomic, audit, catalog, sequences, stock, validation)
from erp.services.validation import checked, raise_errors
from erp.services import webhooks
from erp.services.catalog import moving_average_cost  # noqa: F401  (its home was here)
from erp.services.inventory import document_warehouse
from erp.services import lots as lots_service
from erp.i18n import _

CENT = Decimal("0.01")
MAX_MONEY = Decimal("999999999999.99")
NOTES_MAX = 2000
REFERENCE_MAX = 60


def round_money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# Parsing helpers: every bad value becomes a ValidationError for its field, under the
# rules every document shares (erp/models/fields.py).

def _ruled(value, field: str, rule: Number, default: Decimal | None) -> Decimal:
    errors: dict[str, list[str]] = {}
    result = validation.clean_number(value, field, rule, errors, default=default)
    if errors:
        raise ValidationError(field_errors=errors)
    return result


def to_money(value, *, field: str, default: Decimal | None = None) -> Decimal:
    return _ruled(value, field, PRICE, default)


def to_rate(value, *, field: str = "tax_rate") -> Decimal:
    return _ruled(value, field, TAX_RATE, ZERO)


def _require(user: User | None, role: str) -> None:
    if user is not None and not user.has_role(role):
        raise PermissionDenied(_("Your role does not allow this."))


def _order(company_id: int, order_id: int, *, lock: bool = False) -> PurchaseOrder:
    stmt = select(PurchaseOrder).where(PurchaseOrder.id == order_id,
                                       PurchaseOrder.company_id == company_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    order = db.session.scalar(stmt)
    if order is None:
        raise NotFound(_("No such purchase order."))
    return order


def _supplier(company_id: int, supplier_id: int | None, *, field: str = "supplier") -> Supplier:
    return validation.active_pick(Supplier, company_id, supplier_id, field=field, what="supplier")


def _warehouse(company_id: int, warehouse_id: int | None, *, field: str = "warehouse_id"
               ) -> Warehouse:
    errors: dict[str, list[str]] = {}
    warehouse = document_warehouse(company_id, warehouse_id, errors, field=field)
    if warehouse is None:
        raise ValidationError(field_errors=errors)
    return warehouse


def _product(company_id: int, product_id: int | None, *, field: str = "product") -> Product:
    return validation.active_pick(
        Product, company_id, product_id, field=field, what="product",
        refuse=lambda product: None if product.stocked else
        "Services cannot be purchased into stock.")


def _require_draft(order: PurchaseOrder) -> None:
    if not order.is_draft:
        raise InvalidTransition(
            _('%(number)s is %(value)s; only a draft can be changed.', number=order.number, value=order.status_label.lower()))


def _check_dates(order_date: date | None, expected_date: date | None) -> None:
    errors = {}
    if order_date is None:
        errors["order_date"] = ["Enter the order date."]
    elif expected_date is not None and expected_date < order_date:
        errors["expected_date"] = ["The expected date cannot be before the order date."]
    if errors:
        raise ValidationError(field_errors=errors)


def _clean_notes(notes: str | None) -> str:
    notes = (notes or "").strip()
    if len(notes) > NOTES_MAX:
        raise ValidationError(field_errors={"notes": [f"At most {NOTES_MAX} characters."]})
    return notes


def _line_amounts(item: PurchaseOrderItem) -> None:
    """Line totals, each rounded half-up to cents per line."""
    item.line_subtotal = round_money(item.quantity * item.unit_cost)
    item.line_tax = round_money(item.line_subtotal * item.tax_rate / 100)
    item.line_total = item.line_subtotal + item.line_tax


def _recompute_totals(order: PurchaseOrder) -> None:
    order.subtotal = sum((i.line_subtotal for i in order.items), ZERO)
    order.tax_total = sum((i.line_tax for i in order.items), ZERO)
    order.total = order.subtotal + order.tax_total


def _check_amounts(order: PurchaseOrder, item: PurchaseOrderItem) -> None:
    """Refuse a line whose amounts or whose order's totals would not fit Numeric(14, 2)
    (PostgreSQL would refuse the row; SQLite would store it)."""
    amounts = (item.line_subtotal, item.line_tax, item.line_total,
               order.subtotal, order.tax_total, order.total)
    if any(amount > MAX_MONEY for amount in amounts):
        message = _("The line or order total would be too large: lower the quantity or the cost.")
        raise ValidationError(message, field_errors={"quantity": [message]})


# Orders

def create_order(*, company_id: int, user: User | None, supplier_id: int | None,
                 warehouse_id: int | None, order_date: date | None = None,
                 expected_date: date | None = None, notes: str = "") -> PurchaseOrder:
    """Create a draft purchase order with the next PO number. Staff or higher. Commits.

    Raises ValidationError (all field errors at once) for an unknown or archived supplier
    or warehouse and for inconsistent dates.
    """
    _require(user, "staff")
    order_date = order_date or company_today(company_id)
    _check_header(company_id, supplier_id, warehouse_id, order_date, expected_date, notes)
    with atomic():
        order = PurchaseOrder(
            company_id=company_id, number=sequences.next_number(company_id, "PO", on=order_date),
            supplier_id=supplier_id, warehouse_id=warehouse_id, order_date=order_date,
            expected_date=expected_date, status="draft", notes=_clean_notes(notes),
            subtotal=ZERO, tax_total=ZERO, total=ZERO,
            created_by_id=user.id if user is not None else None)
        audit.created(order, company_id=company_id, user=user, record_type="purchase_order",
                      summary=f"Created purchase order {order.number}")
    return order


def _check_header(company_id: int, supplier_id, warehouse_id, order_date, expected_date,
                  notes) -> None:
    """All the header's field errors at once (ValidationError), nothing written."""
    errors: dict[str, list[str]] = {}
    for check in (lambda: _supplier(company_id, supplier_id),
                  lambda: _warehouse(company_id, warehouse_id),
                  lambda: _check_dates(order_date, expected_date),
                  lambda: _clean_notes(notes)):
        checked(errors, check)
    raise_errors(errors)


def update_order(*, company_id: int, user: User | None, order_id: int, supplier_id: int | None,
                 warehouse_id: int | None, order_date: date | None,
                 expected_date: date | None = None, notes: str = "") -> PurchaseOrder:
    """Change a draft's header (supplier, warehouse, dates, notes). Staff. Commits."""
    _require(user, "staff")
    with atomic():
        order = _order(company_id, order_id, lock=True)
        _require_draft(order)
        _check_header(company_id, supplier_id, warehouse_id, order_date, expected_date, notes)
        changes = audit.diff(order, {
            "supplier_id": supplier_id, "warehouse_id": warehouse_id, "order_date": order_date,
            "expected_date": expected_date, "notes": _clean_notes(notes)})
        if changes:
            audit.record(company_id=company_id, user=user, action="update",
                         record_type="purchase_order", record_id=order.id,
                         summary=f"Changed purchase order {order.number}", changes=changes)
    return order


def add_line(*, company_id: int, user: User | None, order_id: int, product_id: int | None,
             quantity, unit_cost=None, tax_rate=None) -> PurchaseOrderItem:
    """Add a line; the unit cost defaults to the product's cost price. Staff on a draft, a
    manager on an ordered or partially received order (an amendment). Commits.

    Raises PermissionDenied, InvalidTransition (another state), ValidationError.
    """
    with atomic():
        order = _order(company_id, order_id, lock=True)
        PurchaseOrder.workflow.begin_edit(order, user)
        errors: dict[str, list[str]] = {}
        product = checked(errors, _product, company_id, product_id)
        qty = checked(errors, stock.to_quantity, quantity)
        cost = checked(errors, to_money, unit_cost, field="unit_cost",
                       default=product.cost_price if product is not None else ZERO)
        rate = checked(errors, to_rate, tax_rate)
        raise_errors(errors)
        item = PurchaseOrderItem(company_id=company_id, product_id=product.id, quantity=qty,
                                 received_quantity=ZERO, unit_cost=cost, tax_rate=rate)
        order.items.append(item)
        _line_amounts(item)
        _recompute_totals(order)
        _check_amounts(order, item)
        db.session.flush()
        _amended(order, user, f"added {fmt_qty(qty)} x {product.sku}")
    return item


def _item(order: PurchaseOrder, item_id: int) -> PurchaseOrderItem:
    for item in order.items:
        if item.id == item_id:
            return item
    raise NotFound(_("No such line on this order."))


def update_line(*, company_id: int, user: User | None, order_id: int, item_id: int,
                quantity, unit_cost, tax_rate) -> PurchaseOrderItem:
    """Change a line's quantity, unit cost and tax rate. Staff on a draft; a manager on an
    ordered or partially received order, for a line not fully received and never below what
    was received (a partially received order whose lines are all received then is
    received). Commits. Raises PermissionDenied, InvalidTransition, ValidationError.
    """
    with atomic():
        order = _order(company_id, order_id, lock=True)
        PurchaseOrder.workflow.begin_edit(order, user)
        item = _item(order, item_id)
        if not item.amendable:
            raise InvalidTransition(_('%(number)s: %(value)s is fully received; it cannot be changed.', number=order.number, value=_line_name(order, item)))
        errors: dict[str, list[str]] = {}
        values = {}
        for name, parse in (("quantity", lambda: stock.to_quantity(quantity)),
                            ("unit_cost", lambda: to_money(unit_cost, field="unit_cost")),
                            ("tax_rate", lambda: to_rate(tax_rate))):
            try:
                values[name] = parse()
            except ValidationError as error:
                errors.update(error.field_errors)
        if "quantity" in values and values["quantity"] < item.received_quantity:
            errors["quantity"] = [f"At least {fmt_qty(item.received_quantity)}: that much was "
                                  "received already."]
        if errors:
            raise ValidationError(field_errors=errors)
        changes = audit.diff(item, values)
        _line_amounts(item)
        _recompute_totals(order)
        _check_amounts(order, item)
        if changes:
            _amended(order, user, f"changed {_line_name(order, item)}", changes)
    return item


def remove_line(*, company_id: int, user: User | None, order_id: int, item_id: int) -> None:
    """Remove a line. Staff on a draft; a manager on an ordered or partially received order,
    for a line with nothing received, as long as a line stays. Commits. Raises
    PermissionDenied, InvalidTransition, ValidationError.
    """
    with atomic():
        order = _order(company_id, order_id, lock=True)
        PurchaseOrder.workflow.begin_edit(order, user)
        item = _item(order, item_id)
        name = _line_name(order, item)
        if not item.removable:
            raise InvalidTransition(_('%(number)s: %(name)s has received goods; lower its quantity to what was received instead.', number=order.number, name=name))
        if not order.is_draft and len(order.items) == 1:
            raise ValidationError(_('%(number)s keeps at least one line; cancel the order instead.', number=order.number))
        order.items.remove(item)
        _recompute_totals(order)
        _amended(order, user, f"removed {name}")


def _line_name(order: PurchaseOrder, item: PurchaseOrderItem) -> str:
    return f"line {order.items.index(item) + 1} ({_sku(item)})"


def _amended(order: PurchaseOrder, user: User | None, what: str,
             changes: dict | None = None) -> None:
    """Audit a line change ("amend" once the order went to the supplier) and settle the
    status: a partially received order whose open lines are all gone is received."""
    changes = dict(changes or {})
    if order.status == "partially_received" and all(
            item.received_quantity >= item.quantity for item in order.items):
        order.status = "received"
        changes["status"] = ("partially_received", "received")
    draft = order.is_draft
    audit.record(company_id=order.company_id, user=user, action="update" if draft else "amend",
                 record_type="purchase_order", record_id=order.id,
                 summary=f"{order.number}{'' if draft else ' amended'}: {what}",
                 changes=changes or None)


def place_order(*, company_id: int, user: User | None, order_id: int) -> PurchaseOrder:
    """draft -> ordered. Needs at least one line. Manager. Commits.

    Raises InvalidTransition from any other state, ValidationError without lines.
    """
    with atomic():
        order = _order(company_id, order_id, lock=True)
        PurchaseOrder.workflow.begin(order, "place", user)
        if not order.items:
            raise ValidationError(_("Add at least one line before ordering."))
        order.status = "ordered"
        order.ordered_at = utcnow()
        audit.record(company_id=company_id, user=user, action="status",
                     record_type="purchase_order", record_id=order.id,
                     summary=f"Ordered {order.number}", changes={"status": ("draft", "ordered")})
    return order


def cancel_order(*, company_id: int, user: User | None, order_id: int) -> PurchaseOrder:
    """draft or ordered -> cancelled (nothing was received, so no stock changes). Manager."""
    with atomic():
        order = _order(company_id, order_id, lock=True)
        PurchaseOrder.workflow.begin(order, "cancel", user)
        old = order.status
        order.status = "cancelled"
        audit.record(company_id=company_id, user=user, action="status",
                     record_type="purchase_order", record_id=order.id,
                     summary=f"Cancelled {order.number}", changes={"status": (old, "cancelled")})
    return order


def close_order(*, company_id: int, user: User | None, order_id: int) -> PurchaseOrder:
    """partially_received -> closed: the supplier will not deliver the rest. The lines keep
    what was ordered and received; their open quantity no longer counts as on order
    (reorder suggestions). Manager. Raises InvalidTransition from any other state. Commits.
    """
    with atomic():
        order = _order(company_id, order_id, lock=True)
        PurchaseOrder.workflow.begin(order, "close", user)
        short = ", ".join(f"{fmt_qty(item.open_quantity)} x {_sku(item)}"
                          for item in order.items if item.open_quantity > 0)
        old = order.status
        order.status = "closed"
        audit.record(company_id=company_id, user=user, action="status",
                     record_type="purchase_order", record_id=order.id,
                     summary=f"Closed {order.number} short; no longer expected: {short or 'nothing'}",
                     changes={"status": (old, "closed")})
    return order


# Receiving

class ReceiptReplayed(ValidationError):
    """The receipt form was sent again (its one-time token is used): nothing is received."""


REPLAYED = ("This receipt was already recorded (the form was sent twice). "
            "Nothing was received again.")


def new_receipt_token() -> str:
    return uuid.uuid4().hex


def receive(*, company_id: int, user: User | None, order_id: int,
            quantities: dict[int, object], warehouse_id: int | None,
            token: str | None = None, reference: str = "", lots: dict | None = None,
            expiries: dict | None = None) -> GoodsReceipt:
    """Receive `quantities` ({order item id: quantity}) of an ordered PO into a warehouse.

    One transaction: locks the order and its lines, refuses more than each line's open
    quantity (ValidationError naming the line, field `qty-<item id>`), writes a
    `purchase_receipt` movement per line (per lot or serial number of a tracked product:
    `lots` {item id: text}, created when new, with `expiries` {item id: date text};
    refused on `lot-<item id>` / `expiry-<item id>`, see `erp.services.lots`), updates the cost price by moving average and
    sets the status to partially_received or received. A token already used by an
    earlier receipt is refused (a replayed form). Staff. Commits.
    """
    _require(user, PurchaseOrder.workflow.actions["receive"].role)
    token = (token or "").strip() or new_receipt_token()
    if len(token) > 64:
        raise ValidationError(_("The receipt form is invalid. Reload the page and try again."))
    reference = (reference or "").strip()
    if len(reference) > REFERENCE_MAX:
        raise ValidationError(field_errors={"reference": [f"At most {REFERENCE_MAX} characters."]})
    try:
        with atomic():
            order = _order(company_id, order_id, lock=True)
            # Checked after the lock: a concurrent submit of the same form waits for the
            # first one to commit, then sees its token here.
            if db.session.scalar(select(GoodsReceipt.id).where(
                    GoodsReceipt.company_id == company_id,
                    GoodsReceipt.receipt_token == token)) is not None:
                raise ReceiptReplayed(REPLAYED)
            PurchaseOrder.workflow.begin(order, "receive", user)
            warehouse = _warehouse(company_id, warehouse_id)
            items = list(db.session.scalars(
                select(PurchaseOrderItem).where(PurchaseOrderItem.order_id == order.id)
                .order_by(PurchaseOrderItem.id).with_for_update()
                .execution_options(populate_existing=True)))
            errors: dict[str, list[str]] = {}
            wanted = stock.line_quantities(
                quantities, {item.id: item for item in items}, errors,
                lambda item, qty: (
                    f"Line {items.index(item) + 1} ({_sku(item)}): only "
                    f"{fmt_qty(item.open_quantity)} still open, {fmt_qty(qty)} given."
                    if qty > item.open_quantity else None))
            picks = _lot_picks(items, wanted, lots or {}, expiries or {}, errors)
            if errors:
                raise ValidationError(field_errors=errors)
            if not wanted:
                raise ValidationError(_("Enter a quantity to receive on at least one line."))
            receipt = GoodsReceipt(
                company_id=company_id, number=sequences.next_number(company_id, "GR"),
                order_id=order.id, warehouse_id=warehouse.id,
                user_id=user.id if user is not None else None, received_at=utcnow(),
                reference=reference, receipt_token=token)
            db.session.add(receipt)
            for item, qty in wanted:
                line = GoodsReceiptLine(company_id=company_id, order_item_id=item.id,
                                        quantity=qty)
                receipt.lines.append(line)
                db.session.flush()
                _receive_line(company_id, user, order, line, item, qty, warehouse,
                              picks.get(item.id))
            old = order.status
            order.status = ("received" if all(i.received_quantity >= i.quantity for i in items)
                            else "partially_received")
            db.session.flush()
            webhooks.emit(company_id, "purchase_order.received", order, receipt_id=receipt.id)
            audit.record(company_id=company_id, user=user, action="receive",
                         record_type="purchase_order", record_id=order.id,
                         summary=f"{receipt.number}: received {plural(len(wanted), 'line')} of "
                                 f"{order.number} into {warehouse.code}",
                         changes={"status": (old, order.status)} if old != order.status else None)
    except IntegrityError:
        # The unique token lost a race we did not see (no lock on another backend).
        db.session.rollback()
        raise ReceiptReplayed(REPLAYED) from None
    return receipt


def _sku(item: PurchaseOrderItem) -> str:
    return item.product.sku if item.product is not None else f"line {item.id}"


def _lot_picks(items: list[PurchaseOrderItem], wanted: list, lots: dict, expiries: dict,
               errors: dict) -> dict[int, tuple]:
    """{item id: (picks, expiry)} of the tracked lines received; errors per line."""
    picks = {}
    for item, qty in wanted:
        if item.product is None or not item.product.tracked:
            continue
        try:
            expiry = lots_service.parse_expiry(lots_service.for_line(expiries, item.id),
                                               field=f"expiry-{item.id}")
            picks[item.id] = (lots_service.parse_picks(
                lots_service.for_line(lots, item.id), item.product, qty, field=f"lot-{item.id}",
                what=f"Line {items.index(item) + 1} ({_sku(item)})"), expiry)
        except ValidationError as error:
            errors.update(error.field_errors)
    return picks


def _receive_line(company_id: int, user: User | None, order: PurchaseOrder,
                  line: GoodsReceiptLine, item: PurchaseOrderItem, qty: Decimal,
                  warehouse: Warehouse, picks: tuple | None) -> None:
    """The line's movement (one per lot of a tracked product), from the receipt line."""
    source = stock.Source("goods_receipt_line", line.id, order.number)
    moves = [(None, qty)]
    if picks is not None:
        moves = [(lot.id, lot_qty) for lot, lot_qty in lots_service.resolve(
            company_id, item.product, picks[0], field=f"lot-{item.id}", create=True,
            expiry=picks[1])]
    for lot_id, lot_qty in moves:
        catalog.receive_at_cost(company_id=company_id, user=user, product_id=item.product_id,
                                warehouse_id=warehouse.id, quantity=lot_qty,
                                unit_cost=item.unit_cost, kind="purchase_receipt",
                                source=source, lot_id=lot_id)
    item.received_quantity = item.received_quantity + qty


# Reordering

@dataclass
class ReorderRow:
    product: Product
    on_hand: Decimal
    reserved: Decimal
    available: Decimal
    on_order: Decimal
    suggested: Decimal

    @property
    def suggested_text(self) -> str:
        return plain_number(self.suggested)

    @property
    def supplier(self) -> Supplier | None:
        return self.product.preferred_supplier


REORDER_LIMIT = 500


def suggested_quantity(*, min_stock: Decimal, on_hand: Decimal, reserved: Decimal,
                       on_order: Decimal) -> Decimal:
    """What to order to get back up to the minimum stock plus the open demand.

    target = min_stock + reserved (open demand); we have on_hand + on_order; so
    suggested = min_stock + reserved - on_hand - on_order = min_stock - available - on_order,
    never below zero.
    """
    return max(min_stock + reserved - on_hand - on_order, ZERO)


def reorder_rows(company_id: int, *, product_ids: list[int] | None = None,
                 limit: int = REORDER_LIMIT) -> list[ReorderRow]:
    """Active stocked products whose available stock (on hand - reserved, summed over
    warehouses) is below their minimum stock (`low_stock`, the one rule of every page),
    with what is already on open POs.

    One query (aggregate subqueries), whatever the number of products.
    """
    levels = (
        select(StockLevel.product_id.label("product_id"),
               func.sum(StockLevel.on_hand).label("on_hand"),
               func.sum(StockLevel.reserved).label("reserved"))
        .where(StockLevel.company_id == company_id)
        .group_by(StockLevel.product_id).subquery())
    on_order = (
        select(PurchaseOrderItem.product_id.label("product_id"),
               func.sum(PurchaseOrderItem.quantity - PurchaseOrderItem.received_quantity)
               .label("on_order"))
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderItem.order_id)
        .where(PurchaseOrder.company_id == company_id,
               PurchaseOrder.status.in_(OPEN_STATUSES))
        .group_by(PurchaseOrderItem.product_id).subquery())
    on_hand = func.coalesce(levels.c.on_hand, 0)
    reserved = func.coalesce(levels.c.reserved, 0)
    stmt = (
        select(Product, on_hand, reserved, func.coalesce(on_order.c.on_order, 0))
        .outerjoin(levels, levels.c.product_id == Product.id)
        .outerjoin(on_order, on_order.c.product_id == Product.id)
        .options(joinedload(Product.preferred_supplier))
        .where(Product.company_id == company_id, low_stock())
        .order_by(Product.preferred_supplier_id, Product.sku, Product.id)
        .limit(limit))
    if product_ids is not None:
        stmt = stmt.where(Product.id.in_(product_ids))
    rows = []
    for product, hand, res, ordered in db.session.execute(stmt):
        hand, res, ordered = (Decimal(str(v)).quantize(Decimal("0.001")) for v in (hand, res, ordered))
        rows.append(ReorderRow(product=product, on_hand=hand, reserved=res,
                               available=hand - res, on_order=ordered,
                               suggested=suggested_quantity(min_stock=product.min_stock,
                                                            on_hand=hand, reserved=res,
                                                            on_order=ordered)))
    return rows


def group_by_supplier(rows: list[ReorderRow]) -> list[tuple[Supplier | None, list[ReorderRow]]]:
    """Rows grouped by preferred supplier (by name), products without one last."""
    groups: dict[int | None, list[ReorderRow]] = defaultdict(list)
    for row in rows:
        groups[row.product.preferred_supplier_id].append(row)
    ordered = sorted((k for k in groups if k is not None),
                     key=lambda k: (groups[k][0].supplier.name.lower(), k))
    result = [(groups[k][0].supplier, groups[k]) for k in ordered]
    if None in groups:
        result.append((None, groups[None]))
    return result


REORDER_NOTE = "Created from the reorder list."


def create_reorder_drafts(*, company_id: int, user: User | None, product_ids: list[int],
                          warehouse_id: int | None,
                          quantities: dict[int, object] | None = None,
                          notes: str = REORDER_NOTE) -> list[PurchaseOrder]:
    """One draft PO per preferred supplier for the selected low-stock products. Staff. Commits.

    A product's quantity is the given one, or the suggestion; products that are not low,
    have no preferred supplier or a zero suggestion are refused (ValidationError), so
    nothing is created unless everything selected can be ordered.
    """
    _require(user, "staff")
    quantities = quantities or {}
    product_ids = sorted({int(p) for p in product_ids})
    if not product_ids:
        raise ValidationError(_("Select at least one product."))
    with atomic():
        warehouse = _warehouse(company_id, warehouse_id)
        rows = {row.product.id: row for row in reorder_rows(company_id, product_ids=product_ids)}
        errors: dict[str, list[str]] = {}
        per_supplier: dict[int, list[tuple[ReorderRow, Decimal]]] = defaultdict(list)
        for product_id in product_ids:
            row = rows.get(product_id)
            field = f"qty-{product_id}"
            if row is None:
                errors[field] = ["This product is not below its minimum stock (or not yours)."]
                continue
            if row.product.preferred_supplier_id is None:
                errors[field] = [f"{row.product.sku} has no preferred supplier."]
                continue
            if row.supplier is not None and not row.supplier.active:
                errors[field] = [f"The preferred supplier of {row.product.sku} is archived."]
                continue
            raw = quantities.get(product_id)
            try:
                qty = (stock.to_quantity(raw, field=field)
                       if raw not in (None, "") else stock.to_quantity(row.suggested, field=field))
            except ValidationError as error:
                errors.update(error.field_errors)
                continue
            per_supplier[row.product.preferred_supplier_id].append((row, qty))
        if errors:
            raise ValidationError(field_errors=errors)
        created = []
        for supplier_id in sorted(per_supplier):
            order = create_order(company_id=company_id, user=user, supplier_id=supplier_id,
                                 warehouse_id=warehouse.id, notes=notes)
            for row, qty in per_supplier[supplier_id]:
                add_line(company_id=company_id, user=user, order_id=order.id,
                         product_id=row.product.id, quantity=qty)
            created.append(order)
    return created


def orderable(row: ReorderRow) -> bool:
    """A suggestion that can be drafted as it is: something to order, from an active
    preferred supplier."""
    return row.suggested > 0 and row.supplier is not None and row.supplier.active


def draft_reorders(*, company_id: int, user: User | None = None,
                   notes: str = REORDER_NOTE) -> tuple[list[ReorderRow], list[PurchaseOrder]]:
    """The company's reorder suggestions (the /purchasing/reorder page's rows) and the draft
    orders made of the orderable ones into its default warehouse, one per supplier. Running
    it again makes nothing new: open drafts count as on order, so their products suggest
    nothing more. All or nothing. Commits."""
    from erp.services.inventory import default_warehouse_of

    rows = reorder_rows(company_id)
    wanted = [row.product.id for row in rows if orderable(row)]
    warehouse = default_warehouse_of(company_id)
    if not wanted or warehouse is None:
        return rows, []
    return rows, create_reorder_drafts(company_id=company_id, user=user, product_ids=wanted,
                                       warehouse_id=warehouse.id, notes=notes)
