"""The stock service: the only way stock changes.

Every on-hand change writes a StockMovement and updates the StockLevel of (product,
warehouse) in the same transaction with an atomic ``UPDATE ... SET on_hand = on_hand +
:delta WHERE <no negative stock> RETURNING``: no lost update and no negative stock under
any concurrency (a plain read-modify-write lost half of the moves on PostgreSQL).
Reservations change `reserved` the same way and write no movement (they move nothing).

A product tracked by lot or serial number (`Product.tracking`) moves one lot at a time:
`move(..., lot_id=)` also changes that lot's LotLevel in the warehouse the same atomic way
(never below zero), so the lot levels of a tracked product add up to its StockLevel and
each equals the sum of its lot's movements there. A serial number moves one unit and is in
stock in at most one warehouse. Which lots a document moves is `erp.services.lots`'s.

The primitives (`move`, `reserve`, `release`) run inside the caller's transaction and
only flush; the use cases (`receive`, `issue`, `transfer`, `adjust`) are one transaction
each, in active warehouses only. They raise InsufficientStock, ValidationError (also for
an archived warehouse) or NotFound and never half-write.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from sqlalchemy import func, select, update

from erp.database import conflict_insert
from erp.extensions import db
from erp.formatting import quantity as fmt
from erp.models import Product, StockLevel, StockMovement, User, Warehouse
from erp.models.inventory import Lot, LotLevel
from erp.models.base import ZERO
from erp.models.fields import QUANTITY
from erp.services import DomainError, NotFound, ValidationError, atomic
from erp.services import valuation, webhooks
from erp.models.base import utcnow
from erp.i18n import _

QUANTITY_STEP = QUANTITY.step  # the one quantity rule (erp/models/fields.py)
MAX_QUANTITY = QUANTITY.maximum  # fits Numeric(14, 3)
# The largest on-hand, reserved or available quantity a Numeric(14, 3) column holds: a
# movement whose result would leave the range is refused (PostgreSQL would fail with a
# numeric overflow, SQLite would store a figure no report can show).
MAX_STOCK = Decimal("99999999999.999")
T = TypeVar("T")


class InsufficientStock(DomainError):
    """Not enough stock (on hand, or available when reserving)."""

    def __init__(self, message: str, *, product_id: int | None = None,
                 warehouse_id: int | None = None, requested: Decimal | None = None,
                 available: Decimal | None = None) -> None:
        super().__init__(message)
        self.product_id = product_id
        self.warehouse_id = warehouse_id
        self.requested = requested
        self.available = available


class CountBelowReserved(InsufficientStock):
    """A count below what orders hold reserved: the orders would be stranded (available
    negative, only cancellable). `holders` are the (document number, quantity) reserving."""

    def __init__(self, message: str, *, holders: list[tuple[str, Decimal]], **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.holders = holders


class StockOutOfRange(ValidationError):
    """The stock that would result is beyond what the quantity columns can hold."""

    def __init__(self, message: str, *, product_id: int | None = None,
                 warehouse_id: int | None = None) -> None:
        super().__init__(message, field_errors={"quantity": [message]})
        self.product_id = product_id
        self.warehouse_id = warehouse_id


def _out_of_range(product: Product, where: str, *, warehouse_id: int | None = None):
    return StockOutOfRange(
        _('%(sku)s: the stock %(where)s would exceed %(value)s, the most a quantity can be. Nothing was changed.', sku=product.sku, where=where, value=fmt(MAX_STOCK)), product_id=product.id, warehouse_id=warehouse_id)


@dataclass(frozen=True)
class Source:
    """The document line behind a movement, e.g. Source("sales_order_item", 42, "SO-2026-000001")."""

    type: str | None = None
    id: int | None = None
    reference: str = ""


NO_SOURCE = Source()


def to_quantity(value, *, field: str = "quantity", allow_zero: bool = False,
                allow_negative: bool = False) -> Decimal:
    """Parse a quantity (3 decimals); raise ValidationError with a message for the field."""
    try:
        quantity = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(field_errors={field: ["Enter a number."]}) from None
    if not quantity.is_finite():
        raise ValidationError(field_errors={field: ["Enter a number."]})
    if abs(quantity) > MAX_QUANTITY:
        raise ValidationError(field_errors={field: ["The number is too large."]})
    if quantity != quantity.quantize(QUANTITY_STEP):
        raise ValidationError(field_errors={field: ["Use at most 3 decimals."]})
    if quantity < 0 and not allow_negative:
        raise ValidationError(field_errors={field: ["Enter a positive quantity."]})
    if quantity == 0 and not allow_zero:
        raise ValidationError(field_errors={field: ["Enter a quantity other than zero."]})
    return quantity.quantize(QUANTITY_STEP)


def line_quantities(quantities: Mapping, lines: Mapping[int, T], errors: dict,
                    limit: Callable[[T, Decimal], str | None]) -> list[tuple[T, Decimal]]:
    """The quantities a document form gives its lines ({line id: text}, from its
    `qty-<id>` inputs), as (line, quantity) for those above zero; blank or 0 skips a line.
    An unknown id, a quantity that does not parse, or one `limit(line, quantity)` refuses
    (its message) goes into `errors` under `qty-<id>`: every line is checked at once."""
    wanted = []
    for raw_id, raw_qty in quantities.items():
        raw, field = str(raw_id), f"qty-{raw_id}"
        # ASCII digits only: '²'.isdigit() is true but int('²') fails
        line = lines.get(int(raw)) if raw.isascii() and raw.isdigit() and len(raw) < 12 else None
        if line is None:
            errors[field] = ["No such line on this order."]
            continue
        if raw_qty is None or str(raw_qty).strip() in ("", "0"):
            continue
        try:
            qty = to_quantity(raw_qty, field=field, allow_zero=True)
        except ValidationError as error:
            errors.update(error.field_errors)
            continue
        refused = limit(line, qty) if qty else None
        if refused:
            errors[field] = [refused]
        elif qty:
            wanted.append((line, qty))
    return wanted


def _exact(expression):
    """Round SQL arithmetic to the quantity scale. PostgreSQL's numeric is exact already;
    SQLite computes in binary floating point, where 0.1 + 0.2 is not 0.3."""
    return func.round(expression, 3)


def _cents(expression):
    """A value computed in SQL, kept to cents (SQLite adds values as floats)."""
    return func.round(expression, 2)


def _product(company_id: int, product_id: int) -> Product:
    product = db.session.scalar(
        select(Product).where(Product.id == product_id, Product.company_id == company_id))
    if product is None:
        raise NotFound(_("No such product."))
    if not product.stocked:
        raise ValidationError(_('%(sku)s is a service and carries no stock.', sku=product.sku),
                              field_errors={"product_id": ["Services carry no stock."]})
    return product


def _warehouse(company_id: int, warehouse_id: int) -> Warehouse:
    warehouse = db.session.scalar(
        select(Warehouse).where(Warehouse.id == warehouse_id, Warehouse.company_id == company_id))
    if warehouse is None:
        raise NotFound(_("No such warehouse."))
    return warehouse


def open_warehouse(company_id: int, warehouse_id: int,
                    field: str = "warehouse_id") -> Warehouse:
    """A manual stock change (receipt, issue, transfer, count) names an active warehouse
    of the company: NotFound for another company's, ValidationError for an archived one."""
    return _require_active(_warehouse(company_id, warehouse_id), field)


def _require_active(warehouse: Warehouse, field: str) -> Warehouse:
    if not warehouse.active:
        raise ValidationError(field_errors={field: [warehouse.archived_message]})
    return warehouse


def ensure_level(company_id: int, product_id: int, warehouse_id: int) -> int:
    """The id of the (product, warehouse) level row, created empty if missing (race-safe)."""
    level_id = _level_id(company_id, product_id, warehouse_id)
    if level_id is not None:
        return level_id
    stmt = conflict_insert(StockLevel).values(
        company_id=company_id, product_id=product_id, warehouse_id=warehouse_id,
        on_hand=ZERO, reserved=ZERO, created_at=func.now(), updated_at=func.now(),
    ).on_conflict_do_nothing(index_elements=["company_id", "product_id", "warehouse_id"])
    db.session.execute(stmt)
    return _level_id(company_id, product_id, warehouse_id)


def _level_id(company_id: int, product_id: int, warehouse_id: int) -> int | None:
    return db.session.scalar(select(StockLevel.id).where(
        StockLevel.company_id == company_id, StockLevel.product_id == product_id,
        StockLevel.warehouse_id == warehouse_id))


def move(*, company_id: int, product_id: int, warehouse_id: int, quantity: Decimal, kind: str,
         user: User | None, source: Source = NO_SOURCE, note: str = "",
         protect_reserved: bool = True, lot_id: int | None = None,
         unit_cost: Decimal | None = None, value: Decimal | None = None) -> StockMovement:
    """Change on-hand stock by `quantity` (signed) and write the ledger line. Flushes only.

    A decrease is refused with InsufficientStock if it would take on-hand below zero, or
    below the reserved quantity when `protect_reserved` (stock promised to orders stays).
    A tracked product names its lot (`lot_id`, a lot of that product): refused with
    ValidationError (field `lot`) without one, with another product's, with a serial
    number moving other than one unit or coming in while it is in stock; a decrease beyond
    what the lot holds in the warehouse is InsufficientStock.

    The movement is valued at the moving-average cost of the level (its row locked first):
    an increase at `unit_cost` when known, or at exactly `value` (a transfer in, production
    output); see erp.services.valuation. The level's value, its day row and the day's
    totals change in the same transaction.
    """
    product = _product(company_id, product_id)
    warehouse = _warehouse(company_id, warehouse_id)
    if quantity == 0:
        raise ValidationError(field_errors={"quantity": ["Enter a quantity other than zero."]})
    lot = _lot(product, lot_id, quantity)
    level_id = ensure_level(company_id, product_id, warehouse_id)
    # the level's row is locked until the commit: its value is priced from what it holds
    on_hand, held_value = db.session.execute(
        select(StockLevel.on_hand, StockLevel.value)
        .where(StockLevel.id == level_id).with_for_update()).one()
    cost, change = valuation.price(on_hand=on_hand, value=held_value, quantity=quantity,
                                   cost_price=product.cost_price, unit_cost=unit_cost,
                                   change=value)
    floor = StockLevel.reserved if protect_reserved and quantity < 0 else 0
    stmt = (
        update(StockLevel)
        .where(StockLevel.id == level_id, _exact(StockLevel.on_hand + quantity) >= floor,
               _exact(StockLevel.on_hand + quantity) <= MAX_STOCK)
        .values(on_hand=_exact(StockLevel.on_hand + quantity),
                value=_cents(StockLevel.value + change), updated_at=func.now())
        .returning(StockLevel.on_hand, StockLevel.value)
        .execution_options(synchronize_session=False)
    )
    after = db.session.execute(stmt).one_or_none()
    if after is None:
        if quantity > 0:
            raise _out_of_range(product, f"in {warehouse.code}", warehouse_id=warehouse_id)
        level = db.session.get(StockLevel, level_id, populate_existing=True)
        available = level.on_hand - (level.reserved if protect_reserved else ZERO)
        raise InsufficientStock(
            _('Not enough %(sku)s in %(code)s: %(value)s needed, %(value2)s available.', sku=product.sku, code=warehouse.code, value=fmt(abs(quantity)), value2=fmt(max(available, ZERO))),
            product_id=product_id, warehouse_id=warehouse_id, requested=abs(quantity),
            available=available)
    _change_available(company_id, product_id, quantity)
    if lot is not None:
        _move_lot(product, lot, warehouse, quantity)
    return _ledger_line(product, warehouse_id, after, StockMovement(
        company_id=company_id, product_id=product_id, warehouse_id=warehouse_id,
        lot_id=lot.id if lot is not None else None,
        quantity=quantity, unit_cost=cost, value=change, kind=kind, source_type=source.type,
        source_id=source.id, reference=source.reference[:60], note=(note or "")[:300],
        user_id=user.id if user is not None else None))


def _ledger_line(product: Product, warehouse_id: int, level_after, movement: StockMovement
                 ) -> StockMovement:
    """Write the movement, the level's figures of the day (`level_after`: its on hand and
    value after the movement) and the day's totals to add at the commit. Flushes."""
    movement.created_at = utcnow()
    day = valuation.day_of(product.company_id, movement.created_at)
    valuation.record_day(company_id=product.company_id, product_id=product.id,
                         warehouse_id=warehouse_id, day=day, quantity=level_after[0],
                         value=level_after[1])
    valuation.defer_total(company_id=product.company_id, category_id=product.category_id,
                          warehouse_id=warehouse_id, day=day, change=movement.value)
    db.session.add(movement)
    db.session.flush()
    return movement


def revalue(*, company_id: int, product: Product, cost: Decimal, user: User | None,
            note: str) -> list[StockMovement]:
    """Value the stock of `product` on hand in every warehouse at `cost` a unit: one
    "revaluation" movement (no quantity, the value's change) per level whose value changes,
    each level locked first. Flushes only."""
    movements = []
    levels = db.session.execute(
        select(StockLevel.id, StockLevel.warehouse_id, StockLevel.on_hand, StockLevel.value)
        .where(StockLevel.company_id == company_id, StockLevel.product_id == product.id,
               StockLevel.on_hand > 0)
        .order_by(StockLevel.id).with_for_update()).all()
    for level_id, warehouse_id, on_hand, held in levels:
        change = valuation.cents(Decimal(on_hand) * cost) - Decimal(held)
        if not change:
            continue
        after = db.session.execute(
            update(StockLevel).where(StockLevel.id == level_id)
            .values(value=_cents(StockLevel.value + change), updated_at=func.now())
            .returning(StockLevel.on_hand, StockLevel.value)
            .execution_options(synchronize_session=False)).one()
        movements.append(_ledger_line(product, warehouse_id, after, StockMovement(
            company_id=company_id, product_id=product.id, warehouse_id=warehouse_id,
            quantity=ZERO, unit_cost=valuation.unit(cost), value=change, kind="revaluation",
            note=(note or "")[:300], user_id=user.id if user is not None else None)))
    return movements


def _tracking_noun(product: Product) -> str:
    return "serial number" if product.serial else "lot"


def _lot(product: Product, lot_id: int | None, quantity: Decimal) -> Lot | None:
    """The lot a movement of `product` names, checked (see `move`); None when untracked."""
    if not product.tracked:
        if lot_id is not None:
            message = _('%(sku)s is not tracked by lot or serial number.', sku=product.sku)
            raise ValidationError(message, field_errors={"lot": [message]})
        return None
    noun = _tracking_noun(product)
    if lot_id is None:
        message = _('%(sku)s is tracked by %(noun)s: name the %(noun)s moved.', sku=product.sku, noun=noun)
        raise ValidationError(message, field_errors={"lot": [message]})
    lot = db.session.scalar(select(Lot).where(Lot.id == lot_id,
                                              Lot.company_id == product.company_id))
    if lot is None:
        raise NotFound(_('No such %(noun)s.', noun=noun))
    if lot.product_id != product.id:
        message = _('%(value)s %(code)s is not one of %(sku)s.', value=noun.capitalize(), code=lot.code, sku=product.sku)
        raise ValidationError(message, field_errors={"lot": [message]})
    if product.serial and abs(quantity) != 1:
        message = (_('Serial number %(code)s is one unit: %(value)s cannot move under it.', code=lot.code, value=fmt(abs(quantity))))
        raise ValidationError(message, field_errors={"lot": [message]})
    return lot


def _move_lot(product: Product, lot: Lot, warehouse: Warehouse, quantity: Decimal) -> None:
    """Change the lot's level in the warehouse by `quantity`, atomically, never below zero;
    a serial number comes in only while it is in stock nowhere (its row locked meanwhile)."""
    if product.serial and quantity > 0:
        db.session.execute(select(Lot.id).where(Lot.id == lot.id).with_for_update())
        where = db.session.scalar(
            select(Warehouse.code).join(LotLevel, LotLevel.warehouse_id == Warehouse.id)
            .where(LotLevel.lot_id == lot.id, LotLevel.on_hand > 0).limit(1))
        if where is not None:
            message = (_('Serial number %(code)s of %(sku)s is already in stock (in %(where)s): a serial number is one unit.', code=lot.code, sku=product.sku, where=where))
            raise ValidationError(message, field_errors={"lot": [message]})
    level_id = _lot_level_id(lot, warehouse.id)
    if level_id is None:
        db.session.execute(conflict_insert(LotLevel).values(
            company_id=lot.company_id, lot_id=lot.id, product_id=lot.product_id,
            warehouse_id=warehouse.id, on_hand=ZERO, created_at=func.now(),
            updated_at=func.now()).on_conflict_do_nothing(
                index_elements=["lot_id", "warehouse_id"]))
        level_id = _lot_level_id(lot, warehouse.id)
    changed = db.session.execute(
        update(LotLevel)
        .where(LotLevel.id == level_id, _exact(LotLevel.on_hand + quantity) >= 0,
               _exact(LotLevel.on_hand + quantity) <= MAX_STOCK)
        .values(on_hand=_exact(LotLevel.on_hand + quantity), updated_at=func.now())
        .returning(LotLevel.on_hand)
        .execution_options(synchronize_session=False)).scalar_one_or_none()
    if changed is not None:
        return
    if quantity > 0:
        raise _out_of_range(product, f"of {lot.code} in {warehouse.code}",
                            warehouse_id=warehouse.id)
    held = db.session.scalar(select(LotLevel.on_hand).where(LotLevel.id == level_id))
    if product.serial:
        message = (_('Serial number %(code)s of %(sku)s is not in stock in %(code2)s (shipped already, or elsewhere).', code=lot.code, sku=product.sku, code2=warehouse.code))
    else:
        message = (_('Lot %(code)s of %(sku)s holds %(value)s in %(code2)s: %(value2)s needed.', code=lot.code, sku=product.sku, value=fmt(held), code2=warehouse.code, value2=fmt(abs(quantity))))
    raise InsufficientStock(message, product_id=product.id, warehouse_id=warehouse.id,
                            requested=abs(quantity), available=held)


def _lot_level_id(lot: Lot, warehouse_id: int) -> int | None:
    return db.session.scalar(select(LotLevel.id).where(LotLevel.lot_id == lot.id,
                                                       LotLevel.warehouse_id == warehouse_id))


def reserve(*, company_id: int, product_id: int, warehouse_id: int, quantity: Decimal) -> None:
    """Promise `quantity` of available stock to a document; InsufficientStock if short. Flushes."""
    product = _product(company_id, product_id)
    warehouse = _warehouse(company_id, warehouse_id)
    level_id = ensure_level(company_id, product_id, warehouse_id)
    stmt = (
        update(StockLevel)
        .where(StockLevel.id == level_id,
               _exact(StockLevel.on_hand - StockLevel.reserved) >= quantity)
        .values(reserved=_exact(StockLevel.reserved + quantity), updated_at=func.now())
        .returning(StockLevel.reserved)
        .execution_options(synchronize_session=False)
    )
    if db.session.execute(stmt).scalar_one_or_none() is None:
        level = db.session.get(StockLevel, level_id, populate_existing=True)
        raise InsufficientStock(
            _('Not enough %(sku)s available in %(code)s: %(value)s needed, %(value2)s available.', sku=product.sku, code=warehouse.code, value=fmt(quantity), value2=fmt(max(level.available, ZERO))),
            product_id=product_id, warehouse_id=warehouse_id, requested=quantity,
            available=level.available)
    _change_available(company_id, product_id, -quantity)


def release(*, company_id: int, product_id: int, warehouse_id: int, quantity: Decimal) -> None:
    """Give back a reservation (cancel, or before issuing the reserved stock). Flushes."""
    level_id = _level_id(company_id, product_id, warehouse_id)
    stmt = (
        update(StockLevel)
        .where(StockLevel.id == level_id, _exact(StockLevel.reserved - quantity) >= 0)
        .values(reserved=_exact(StockLevel.reserved - quantity), updated_at=func.now())
        .returning(StockLevel.reserved)
        .execution_options(synchronize_session=False)
    )
    if level_id is None or db.session.execute(stmt).scalar_one_or_none() is None:
        raise DomainError(_("Cannot release more than is reserved."))
    _change_available(company_id, product_id, quantity)


def _change_available(company_id: int, product_id: int, delta: Decimal) -> None:
    """Keep Product.available (on hand - reserved over all warehouses) in step, atomically.

    StockOutOfRange when the total over the warehouses would leave the column's range
    (each level may be in range while their sum is not); the caller's transaction, and
    with it the level's change, is then rolled back."""
    changed = db.session.execute(
        update(Product)
        .where(Product.id == product_id, Product.company_id == company_id,
               _exact(Product.available + delta).between(-MAX_STOCK, MAX_STOCK))
        .values(available=_exact(Product.available + delta))
        .returning(Product.id, Product.available, Product.min_stock, Product.sku)
        .execution_options(synchronize_session=False)).one_or_none()
    if changed is not None:
        _unused, available, minimum, sku = changed
        if delta < 0 and available < minimum <= available - delta:  # it just went below
            webhooks.emit(company_id, "stock.below_minimum", None, product_id=product_id,
                          sku=sku, available=available, min_stock=minimum)
    if changed is None:
        product = db.session.get(Product, product_id)
        if product is not None and product.company_id == company_id:
            raise _out_of_range(product, "over all warehouses")


# Use cases: one transaction each.

def receive(*, company_id: int, product_id: int, warehouse_id: int, quantity, user: User | None,
            note: str = "", source: Source = NO_SOURCE, kind: str = "receipt",
            lot_id: int | None = None) -> StockMovement:
    """Put stock in (into lot `lot_id` for a tracked product). Commits."""
    quantity = to_quantity(quantity)
    with atomic():
        open_warehouse(company_id, warehouse_id)
        return move(company_id=company_id, product_id=product_id, warehouse_id=warehouse_id,
                    quantity=quantity, kind=kind, user=user, source=source, note=note,
                    lot_id=lot_id)


def issue(*, company_id: int, product_id: int, warehouse_id: int, quantity, user: User | None,
          note: str = "", source: Source = NO_SOURCE, kind: str = "issue",
          lot_id: int | None = None) -> StockMovement:
    """Take stock out (not what is reserved; from lot `lot_id` for a tracked product).
    Commits."""
    quantity = to_quantity(quantity)
    with atomic():
        open_warehouse(company_id, warehouse_id)
        return move(company_id=company_id, product_id=product_id, warehouse_id=warehouse_id,
                    quantity=-quantity, kind=kind, user=user, source=source, note=note,
                    lot_id=lot_id)


def transfer(*, company_id: int, product_id: int, from_warehouse_id: int, to_warehouse_id: int,
             quantity, user: User | None, note: str = "",
             lot_id: int | None = None) -> tuple[StockMovement, StockMovement]:
    """Move stock between warehouses: two movements, one transaction, all or nothing (a
    tracked product's lot `lot_id` moves with it)."""
    quantity = to_quantity(quantity)
    if from_warehouse_id == to_warehouse_id:
        raise ValidationError(field_errors={"to_warehouse_id": ["Choose another warehouse."]})
    with atomic():
        to_warehouse = _warehouse(company_id, to_warehouse_id)
        from_warehouse = _require_active(_warehouse(company_id, from_warehouse_id),
                                         "from_warehouse_id")
        _require_active(to_warehouse, "to_warehouse_id")
        out = move(company_id=company_id, product_id=product_id, warehouse_id=from_warehouse_id,
                   quantity=-quantity, kind="transfer_out", user=user, note=note,
                   source=Source("transfer", None, f"to {to_warehouse.code}"), lot_id=lot_id)
        into = move(company_id=company_id, product_id=product_id, warehouse_id=to_warehouse_id,
                    quantity=quantity, kind="transfer_in", user=user, note=note, lot_id=lot_id,
                    source=Source("transfer", out.id, f"from {from_warehouse.code}"),
                    unit_cost=out.unit_cost, value=-out.value)
        out.source_id = into.id
    return out, into


def adjust(*, company_id: int, product_id: int, warehouse_id: int, counted, user: User | None,
           note: str = "", lot_id: int | None = None) -> StockMovement | None:
    """A stock count: set on-hand to `counted`; the difference is the movement. Commits.
    A tracked product is counted one lot at a time: `counted` is what lot `lot_id` holds.

    Returns None when the count matches. The level row is locked while counting, so a
    concurrent move is not overwritten. A count below the reserved quantity is refused
    with CountBelowReserved naming the orders that hold the reservations (nothing written):
    they must be released first, or available stock would go negative.
    """
    counted = to_quantity(counted, field="counted", allow_zero=True)
    with atomic():
        _product(company_id, product_id)
        open_warehouse(company_id, warehouse_id)
        level_id = ensure_level(company_id, product_id, warehouse_id)
        on_hand, reserved = db.session.execute(
            select(StockLevel.on_hand, StockLevel.reserved)
            .where(StockLevel.id == level_id).with_for_update()).one()
        delta = counted - on_hand
        if lot_id is not None:  # the lot's count replaces the lot's stock, not the product's
            lot = _lot(_product(company_id, product_id), lot_id, Decimal(1))
            held = db.session.scalar(select(LotLevel.on_hand).where(
                LotLevel.lot_id == lot.id, LotLevel.warehouse_id == warehouse_id))
            delta = counted - (held or ZERO)
            counted = on_hand + delta
        if counted < reserved:
            raise _count_below_reserved(company_id, product_id, warehouse_id, counted, reserved)
        if delta == 0:
            return None
        return move(company_id=company_id, product_id=product_id, warehouse_id=warehouse_id,
                    quantity=delta, kind="adjustment", user=user, note=note or "Stock count",
                    protect_reserved=False, lot_id=lot_id)


HOLDERS_SHOWN = 10


def reservation_holders(company_id: int, product_id: int, warehouse_id: int, *,
                        limit: int = HOLDERS_SHOWN) -> list[tuple[str, Decimal]]:
    """The documents holding a reservation of the product in the warehouse, as (number,
    quantity), by number: confirmed or partly shipped sales orders (what is left to ship)
    and production orders in progress (their components). Two bounded grouped queries."""
    from erp.models.production import ProductionOrder, ProductionOrderComponent
    from erp.models.sales import DELIVERABLE_STATUSES, SalesOrder, SalesOrderItem

    # an order partly shipped holds what is left on its lines
    sales = (select(SalesOrder.number,
                    func.sum(SalesOrderItem.quantity - SalesOrderItem.shipped_quantity))
             .join(SalesOrderItem, SalesOrderItem.order_id == SalesOrder.id)
             .where(SalesOrder.company_id == company_id,
                    SalesOrder.status.in_(DELIVERABLE_STATUSES),
                    SalesOrder.warehouse_id == warehouse_id,
                    SalesOrderItem.product_id == product_id)
             .group_by(SalesOrder.id, SalesOrder.number)
             .order_by(SalesOrder.number).limit(limit))
    production = (select(ProductionOrder.number, func.sum(ProductionOrderComponent.quantity))
                  .join(ProductionOrderComponent,
                        ProductionOrderComponent.production_order_id == ProductionOrder.id)
                  .where(ProductionOrder.company_id == company_id,
                         ProductionOrder.status == "in_progress",
                         ProductionOrder.component_warehouse_id == warehouse_id,
                         ProductionOrderComponent.component_id == product_id)
                  .group_by(ProductionOrder.id, ProductionOrder.number)
                  .order_by(ProductionOrder.number).limit(limit))
    rows = [(number, Decimal(str(quantity)).quantize(QUANTITY_STEP))
            for stmt in (sales, production) for number, quantity in db.session.execute(stmt)]
    return sorted(rows)[:limit]


def _count_below_reserved(company_id: int, product_id: int, warehouse_id: int,
                          counted: Decimal, reserved: Decimal) -> CountBelowReserved:
    product = _product(company_id, product_id)
    warehouse = _warehouse(company_id, warehouse_id)
    holders = reservation_holders(company_id, product_id, warehouse_id)
    held = ", ".join(f"{number} ({fmt(quantity)})" for number, quantity in holders)
    return CountBelowReserved(
        f"{product.sku} in {warehouse.code}: {fmt(reserved)} {product.unit} are reserved"
        + (f" by {held}" if held else "")
        + f", more than the {fmt(counted)} counted. Release the reservations first (cancel "
        "the order, or ship it), then record the count. Nothing was changed.",
        holders=holders, product_id=product_id, warehouse_id=warehouse_id,
        requested=reserved, available=counted)


def ledger_mismatches(company_id: int | None = None) -> list[tuple[int, Decimal, Decimal]]:
    """Levels whose on-hand differs from the sum of their movements: (level id, on hand, sum);
    movements without a level: (0, 0, sum); and products whose `available` differs from
    their levels' on hand - reserved: (-product id, available, sum).

    Empty when the ledger invariant holds; tests and `flask check-stock` use it.
    """
    sums = (
        select(StockMovement.company_id, StockMovement.product_id, StockMovement.warehouse_id,
               func.sum(StockMovement.quantity).label("total"))
        .group_by(StockMovement.company_id, StockMovement.product_id, StockMovement.warehouse_id)
        .subquery()
    )
    stmt = (
        select(StockLevel.id, StockLevel.on_hand, func.coalesce(sums.c.total, 0))
        .outerjoin(sums, (sums.c.company_id == StockLevel.company_id)
                   & (sums.c.product_id == StockLevel.product_id)
                   & (sums.c.warehouse_id == StockLevel.warehouse_id))
    )
    if company_id is not None:
        stmt = stmt.where(StockLevel.company_id == company_id)
    bad = []
    for level_id, on_hand, total in db.session.execute(stmt):
        if Decimal(on_hand) != Decimal(total):
            bad.append((level_id, Decimal(on_hand), Decimal(total)))
    # movements whose level row is missing
    orphan = (
        select(sums.c.total).select_from(sums)
        .outerjoin(StockLevel, (sums.c.company_id == StockLevel.company_id)
                   & (sums.c.product_id == StockLevel.product_id)
                   & (sums.c.warehouse_id == StockLevel.warehouse_id))
        .where(StockLevel.id.is_(None))
    )
    if company_id is not None:
        orphan = orphan.where(sums.c.company_id == company_id)
    for (total,) in db.session.execute(orphan):
        bad.append((0, ZERO, Decimal(total)))
    return bad + available_mismatches(company_id) + lot_mismatches(company_id)


def lot_mismatches(company_id: int | None = None) -> list[tuple[str, int, Decimal, Decimal]]:
    """The ledger invariant per lot: ("lot level", id, on hand, sum of the lot's movements
    in that warehouse) for a lot level that differs, ("lot movements", lot id, 0, sum) for
    movements with no level, and ("tracked level", stock level id, on hand, sum of its
    product's lot levels there) for a tracked product whose lots do not add up."""
    sums = (select(StockMovement.lot_id, StockMovement.warehouse_id,
                   func.sum(StockMovement.quantity).label("total"))
            .where(StockMovement.lot_id.is_not(None))
            .group_by(StockMovement.lot_id, StockMovement.warehouse_id).subquery())
    on = (sums.c.lot_id == LotLevel.lot_id) & (sums.c.warehouse_id == LotLevel.warehouse_id)
    levels = select(LotLevel.id, LotLevel.on_hand, func.coalesce(sums.c.total, 0)) \
        .outerjoin(sums, on)
    orphans = (select(sums.c.lot_id, sums.c.total).select_from(sums)
               .outerjoin(LotLevel, on).where(LotLevel.id.is_(None)))
    lot_sums = (select(LotLevel.product_id, LotLevel.warehouse_id,
                       func.sum(LotLevel.on_hand).label("total"))
                .group_by(LotLevel.product_id, LotLevel.warehouse_id).subquery())
    tracked = (select(StockLevel.id, StockLevel.on_hand, func.coalesce(lot_sums.c.total, 0))
               .join(Product, Product.id == StockLevel.product_id)
               .outerjoin(lot_sums, (lot_sums.c.product_id == StockLevel.product_id)
                          & (lot_sums.c.warehouse_id == StockLevel.warehouse_id))
               .where(Product.tracking != "none"))
    if company_id is not None:
        levels = levels.where(LotLevel.company_id == company_id)
        orphans = orphans.where(sums.c.lot_id.in_(
            select(Lot.id).where(Lot.company_id == company_id)))
        tracked = tracked.where(StockLevel.company_id == company_id)
    def exact(value) -> Decimal:
        return Decimal(str(value)).quantize(QUANTITY_STEP)
    bad = [(name, row_id, exact(have), exact(total))
           for name, stmt in (("lot level", levels), ("tracked level", tracked))
           for row_id, have, total in db.session.execute(stmt) if exact(have) != exact(total)]
    return bad + [("lot movements", lot_id, ZERO, exact(total))
                  for lot_id, total in db.session.execute(orphans)]


def rebuild_available(company_id: int) -> None:
    """Set every product's `available` from its levels (after a bulk load). Flushes only."""
    levels = (select(func.coalesce(_exact(func.sum(StockLevel.on_hand - StockLevel.reserved)), 0))
              .where(StockLevel.product_id == Product.id).scalar_subquery())
    db.session.execute(update(Product).where(Product.company_id == company_id)
                       .values(available=levels).execution_options(synchronize_session=False))


def available_mismatches(company_id: int | None = None) -> list[tuple[int, Decimal, Decimal]]:
    """Products whose `available` is not the sum of on hand - reserved of their levels:
    (-product id, available, sum)."""
    levels = (select(StockLevel.product_id,
                     func.sum(StockLevel.on_hand - StockLevel.reserved).label("total"))
              .group_by(StockLevel.product_id).subquery())
    stmt = (select(Product.id, Product.available, func.coalesce(levels.c.total, 0))
            .outerjoin(levels, levels.c.product_id == Product.id))
    if company_id is not None:
        stmt = stmt.where(Product.company_id == company_id)
    step = Decimal("0.001")
    return [(-product_id, Decimal(available), Decimal(str(total)).quantize(step))
            for product_id, available, total in db.session.execute(stmt)
            if Decimal(available).quantize(step) != Decimal(str(total)).quantize(step)]
