"""Stock valuation at moving-average cost, per product and warehouse, kept as stock moves.

Each StockLevel holds `value`, what its stock on hand is worth; the moving-average cost of
the product in that warehouse is value / on_hand. `erp.services.stock.move` prices every
movement here (`price`) while it holds the level's row lock, stores the unit cost and the
value on the movement and adds the value to the level in the same UPDATE as the quantity:

- a movement that brings stock in at a known cost (a purchase receipt at its line's cost,
  production output at the value its components left with, a transfer at the value that
  left the other warehouse) adds quantity x cost, rounded to cents;
- any other increase (a manual receipt, a count above the books, a return) comes in at
  the level's average, or at the product's cost price while the level is empty;
- a decrease (an issue, a delivery, a transfer out, a count below the books, a
  consumption) takes its share of the level's value at the average: the level keeps
  value x (on hand after / on hand before), rounded to cents, so an empty level is worth
  exactly 0 and no rounding is left behind.

So a level's value is always the sum of its movements' values. The value as of a past day
comes from two tables written in the same transaction: StockValueDay (per product and
warehouse: quantity and value after the day's last movement, written under the level's
lock) and StockValueTotal (per category and warehouse, and their "all" keys: the value
at the end of each day). The totals are added at the commit (`apply_totals`), in key
order, after every level lock is held: two transactions never wait on each other's
total rows in opposite orders.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from erp.database import conflict_insert
from erp.extensions import db
from erp.models.base import ZERO
from erp.models.core import Company, zone_of
from erp.models.inventory import ALL, NO_CATEGORY, StockValueDay, StockValueTotal

CENT = Decimal("0.01")
COST_STEP = Decimal("0.0001")
PENDING = "stock_value_pending"


def cents(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def unit(value: Decimal) -> Decimal:
    return Decimal(value).quantize(COST_STEP, rounding=ROUND_HALF_UP)


def price(*, on_hand: Decimal, value: Decimal, quantity: Decimal, cost_price: Decimal,
          unit_cost: Decimal | None = None,
          change: Decimal | None = None) -> tuple[Decimal, Decimal]:
    """(unit cost, value change) of moving `quantity` (signed) of a level holding `on_hand`
    worth `value` (read under its lock). `unit_cost` is the known cost of an increase,
    `change` its known value (a transfer in, production output); see the module's rules."""
    on_hand, value = Decimal(on_hand), Decimal(value)
    if change is not None:
        return unit(unit_cost if unit_cost is not None else change / quantity), cents(change)
    if quantity > 0:
        if unit_cost is None:
            unit_cost = value / on_hand if on_hand > 0 else Decimal(cost_price)
        return unit(unit_cost), cents(quantity * Decimal(unit_cost))
    if on_hand <= 0:  # refused by the caller (not enough stock); priced for its message
        return unit(cost_price), cents(quantity * Decimal(cost_price))
    after = on_hand + quantity
    return unit(value / on_hand), cents(value * after / on_hand) - value


def day_of(company_id: int, moment: datetime) -> date:
    """The company's calendar day of `moment` (its time zone)."""
    company = db.session.get(Company, company_id)
    return moment.astimezone(company.zone if company is not None else zone_of(None)).date()


def company_today(company_id: int) -> date:
    from erp.models.base import utcnow

    return day_of(company_id, utcnow())


def record_day(*, company_id: int, product_id: int, warehouse_id: int, day: date,
               quantity: Decimal, value: Decimal) -> None:
    """The level's quantity and value after its latest movement of `day` (the caller holds
    the level's lock, so the figures are the last ones of the day when it commits)."""
    stmt = conflict_insert(StockValueDay).values(
        company_id=company_id, product_id=product_id, warehouse_id=warehouse_id, day=day,
        quantity=quantity, value=value)
    db.session.execute(stmt.on_conflict_do_update(
        index_elements=["company_id", "product_id", "warehouse_id", "day"],
        set_={"quantity": stmt.excluded.quantity, "value": stmt.excluded.value}))


def defer_total(*, company_id: int, category_id: int | None, warehouse_id: int, day: date,
                change: Decimal) -> None:
    """Add `change` to the totals of the product's category and the warehouse (and their
    "all" keys) at the commit (`apply_totals`)."""
    if not change:
        return
    category = category_id if category_id is not None else NO_CATEGORY
    pending = db.session().info.setdefault(PENDING, defaultdict(Decimal))
    for key in ((category, warehouse_id), (category, ALL), (ALL, warehouse_id), (ALL, ALL)):
        pending[(company_id, *key, day)] += change


def recategorize(*, company_id: int, product_id: int, old: int | None,
                 new: int | None) -> None:
    """A product moves to another category: its value today moves from the old category's
    totals to the new one's (earlier days keep the category it had then), at the commit."""
    from erp.models import StockLevel

    day = company_today(company_id)
    for warehouse_id, value in db.session.execute(
            select(StockLevel.warehouse_id, StockLevel.value).where(
                StockLevel.company_id == company_id, StockLevel.product_id == product_id,
                StockLevel.value != 0)):
        for category, change in ((old, -Decimal(value)), (new, Decimal(value))):
            defer_total(company_id=company_id, category_id=category,
                        warehouse_id=warehouse_id, day=day, change=change)


def apply_totals(session: Session) -> None:
    """Add the transaction's pending value changes to StockValueTotal, in key order: the
    row of the day (created from the day before's value) and every later day's row. The
    latest row on or before the day is locked first (PostgreSQL), so a transaction that
    started yesterday and one of today add up in turn."""
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    locking = session.get_bind().dialect.name == "postgresql"
    for (company_id, category_key, warehouse_key, day), change in sorted(pending.items()):
        if not change:
            continue
        key = (StockValueTotal.company_id == company_id,
               StockValueTotal.category_key == category_key,
               StockValueTotal.warehouse_key == warehouse_key)
        latest = select(StockValueTotal.day, StockValueTotal.value).where(
            *key, StockValueTotal.day <= day).order_by(StockValueTotal.day.desc()).limit(1)
        found = session.execute(latest.with_for_update() if locking else latest).one_or_none()
        if found is not None and found[0] == day:
            later = StockValueTotal.day >= day  # the day's row and every later one
        else:
            stmt = conflict_insert(StockValueTotal).values(
                company_id=company_id, category_key=category_key, warehouse_key=warehouse_key,
                day=day, value=(found[1] if found is not None else ZERO) + change)
            session.execute(stmt.on_conflict_do_update(
                index_elements=["company_id", "category_key", "warehouse_key", "day"],
                set_={"value": StockValueTotal.value + change}))
            later = StockValueTotal.day > day
        session.execute(update(StockValueTotal).where(*key, later)
                        .values(value=StockValueTotal.value + change)
                        .execution_options(synchronize_session=False))


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.info.get(PENDING):
        apply_totals(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)


# Rebuilding from the ledger (the migration that added valuation, a bulk load)

def _day(dialect: str, column: str) -> str:
    """SQL for the company's day of a stored UTC time: PostgreSQL converts with the zone's
    rules (:zone), SQLite shifts by the zone's offset now (:shift, e.g. '+180 minutes')."""
    if dialect == "postgresql":
        return f"CAST({column} AT TIME ZONE :zone AS DATE)"
    return f"date({column}, :shift)"


_RUNNING = ("PARTITION BY m.product_id, m.warehouse_id ORDER BY m.created_at, m.id "
            "ROWS UNBOUNDED PRECEDING")


def rebuild(connection, company_id: int, zone_name: str) -> None:
    """Value company `company_id`'s ledger at each product's cost price, in bulk SQL: each
    movement's unit cost is the cost price and its value the change of round(running
    quantity x cost, 2), so a level is worth round(on hand x cost, 2) (0 when empty) and is
    the sum of its movements; then the levels' values, the day rows and the day totals.
    For a ledger written without values (the migration that added them, `seed-bench`);
    run inside the caller's transaction."""
    from sqlalchemy import text

    dialect = connection.dialect.name
    offset = datetime.now(zone_of(zone_name)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    params = {"cid": company_id, "zone": zone_name, "shift": f"{minutes:+d} minutes"}
    day = _day(dialect, "m.created_at")
    run = lambda sql: connection.execute(text(sql), params)  # noqa: E731
    run(f"""
        UPDATE stock_movements SET unit_cost = v.cost, value = v.value
        FROM (SELECT m.id AS id, p.cost_price AS cost,
                     ROUND(ROUND(ROUND(SUM(m.quantity) OVER ({_RUNNING}), 3) * p.cost_price, 2)
                           - ROUND(ROUND(SUM(m.quantity) OVER ({_RUNNING}) - m.quantity, 3)
                                   * p.cost_price, 2), 2) AS value
              FROM stock_movements m JOIN products p ON p.id = m.product_id
              WHERE m.company_id = :cid) v
        WHERE stock_movements.id = v.id""")
    run("""
        UPDATE stock_levels SET value = ROUND(on_hand * (
            SELECT p.cost_price FROM products p WHERE p.id = stock_levels.product_id), 2)
        WHERE company_id = :cid""")
    run("DELETE FROM stock_value_days WHERE company_id = :cid")
    run(f"""
        INSERT INTO stock_value_days (company_id, product_id, warehouse_id, day, quantity, value)
        SELECT company_id, product_id, warehouse_id, day, quantity, ROUND(quantity * cost, 2)
        FROM (SELECT m.company_id AS company_id, m.product_id AS product_id,
                     m.warehouse_id AS warehouse_id, {day} AS day, p.cost_price AS cost,
                     ROUND(SUM(m.quantity) OVER ({_RUNNING}), 3) AS quantity,
                     ROW_NUMBER() OVER (PARTITION BY m.product_id, m.warehouse_id, {day}
                                        ORDER BY m.created_at DESC, m.id DESC) AS latest
              FROM stock_movements m JOIN products p ON p.id = m.product_id
              WHERE m.company_id = :cid) x
        WHERE latest = 1""")
    run("DELETE FROM stock_value_totals WHERE company_id = :cid")
    by_category, by_warehouse = "COALESCE(p.category_id, 0)", "m.warehouse_id"
    for keys in ((by_category, by_warehouse), (by_category, None), (None, by_warehouse),
                 (None, None)):
        # a key of ALL is a constant: kept out of GROUP BY (where a number is a position)
        grouped = ", ".join(key for key in keys if key is not None)
        category, warehouse = (key if key is not None else str(ALL) for key in keys)
        run(f"""
            INSERT INTO stock_value_totals (company_id, category_key, warehouse_key, day, value)
            SELECT m.company_id, {category}, {warehouse}, {day},
                   ROUND(SUM(SUM(m.value)) OVER (
                       {f"PARTITION BY {grouped}" if grouped else ""} ORDER BY {day}), 2)
            FROM stock_movements m JOIN products p ON p.id = m.product_id
            WHERE m.company_id = :cid
            GROUP BY m.company_id, {grouped + ", " if grouped else ""}{day}""")


def mismatches(company_id: int) -> list[tuple[str, object, Decimal, Decimal]]:
    """The valuation invariants, as (what, key, kept, recomputed) for each that fails:
    a level's value is the sum of its movements' values, and 0 when it is empty; its
    latest day row holds its quantity and value; the latest "all categories, all
    warehouses" total is the sum of the levels' values, and so is the latest total of each category (by the
product's category now). Empty when they hold (tests and
    `seed-bench`'s check use it)."""
    from sqlalchemy import func

    from erp.models import Product, StockLevel, StockMovement

    bad: list[tuple[str, object, Decimal, Decimal]] = []
    sums = (select(StockMovement.product_id, StockMovement.warehouse_id,
                   func.sum(StockMovement.value).label("total"))
            .where(StockMovement.company_id == company_id)
            .group_by(StockMovement.product_id, StockMovement.warehouse_id).subquery())
    latest = (select(StockValueDay.quantity).where(
        StockValueDay.company_id == StockLevel.company_id,
        StockValueDay.product_id == StockLevel.product_id,
        StockValueDay.warehouse_id == StockLevel.warehouse_id)
        .order_by(StockValueDay.day.desc()).limit(1).scalar_subquery())
    latest_value = latest.element.with_only_columns(StockValueDay.value).scalar_subquery()
    rows = db.session.execute(
        select(StockLevel.id, StockLevel.on_hand, StockLevel.value,
               func.coalesce(sums.c.total, 0), latest, latest_value)
        .outerjoin(sums, (sums.c.product_id == StockLevel.product_id)
                   & (sums.c.warehouse_id == StockLevel.warehouse_id))
        .where(StockLevel.company_id == company_id))
    total = ZERO
    for level_id, on_hand, value, summed, day_quantity, day_value in rows:
        value = cents(value)
        total += value
        if value != cents(summed):
            bad.append(("level value", level_id, value, cents(summed)))
        if not on_hand and value:
            bad.append(("empty level value", level_id, value, ZERO))
        if day_quantity is not None and (Decimal(str(day_quantity)) != Decimal(on_hand)
                                         or cents(day_value) != value):
            bad.append(("day row", level_id, value, cents(day_value)))
    kept = session_total = db.session.scalar(
        select(StockValueTotal.value).where(
            StockValueTotal.company_id == company_id, StockValueTotal.category_key == ALL,
            StockValueTotal.warehouse_key == ALL)
        .order_by(StockValueTotal.day.desc()).limit(1))
    kept = cents(session_total) if kept is not None else ZERO
    if kept != total:
        bad.append(("total", company_id, kept, total))
    per_category = dict(db.session.execute(
        select(func.coalesce(Product.category_id, NO_CATEGORY), func.sum(StockLevel.value))
        .join(Product, Product.id == StockLevel.product_id)
        .where(StockLevel.company_id == company_id)
        .group_by(func.coalesce(Product.category_id, NO_CATEGORY))).all())
    keys = db.session.scalars(select(StockValueTotal.category_key).where(
        StockValueTotal.company_id == company_id, StockValueTotal.warehouse_key == ALL,
        StockValueTotal.category_key != ALL).distinct()).all()
    for key in set(keys) | set(per_category):
        latest = db.session.scalar(select(StockValueTotal.value).where(
            StockValueTotal.company_id == company_id, StockValueTotal.category_key == key,
            StockValueTotal.warehouse_key == ALL)
            .order_by(StockValueTotal.day.desc()).limit(1))
        have, want = cents(latest or 0), cents(per_category.get(key) or 0)
        if have != want:
            bad.append(("category total", key, have, want))
    return bad
