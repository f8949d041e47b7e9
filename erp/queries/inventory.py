"""Reads of the inventory pages: the warehouse, stock level and movement lists as
declarations, a warehouse's page, and the warehouse choices of the stock forms."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from flask import g, request
from flask_login import current_user
from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased, contains_eager, joinedload, raiseload

from erp.extensions import db
from erp.lists import (Csv, Filter, ListSpec, archive_filter, attrs, choice_filter, contains,
                       date_range, id_filter, newest_first)
from erp.models import (MOVEMENT_KINDS, Category, Product, StockLevel, StockMovement, User,
                        Warehouse)
from erp.models.base import ZERO
from erp.models.catalog import low_stock
from erp.parsing import parse_date
from erp.queries.search import product_matches
from erp.i18n import _

CHOICE_LIMIT = 200  # warehouses in a select; a company has a handful


def warehouse_choices(*, active_only: bool = False) -> list[tuple[str, str]]:
    """(id, "CODE · Name") of the company's warehouses for a select, by code."""
    stmt = (select(Warehouse.id, Warehouse.code, Warehouse.name)
            .where(Warehouse.company_id == current_user.company_id)
            .order_by(Warehouse.code).limit(CHOICE_LIMIT))
    if active_only:
        stmt = stmt.where(Warehouse.active.is_(True))
    return [(str(wid), f"{code} · {name}") for wid, code, name in db.session.execute(stmt)]


def chosen_default_warehouse_id() -> int | None:
    """The warehouse the company settings made the default, if any."""
    return db.session.scalar(select(Warehouse.id).where(
        Warehouse.company_id == current_user.company_id, Warehouse.is_default.is_(True)))


# Warehouses

WAREHOUSES = ListSpec(
    model=Warehouse,
    sorts={"code": Warehouse.code, "name": Warehouse.name, "created": Warehouse.created_at},
    default_sort="code",
    collated=("code", "name"),
    search=contains(Warehouse.code, Warehouse.name, Warehouse.address),
    filters=[archive_filter(Warehouse)],
    csv=Csv("warehouses", [*attrs(Warehouse, "id", "code", "name", "address", "active")]),
    options=[raiseload("*")],
)


UNITS_SHOWN = 20  # units of measure in a warehouse's summary; a company has a handful


def warehouse_page(warehouse: Warehouse) -> dict:
    """A warehouse's stock summary and its last movements. Quantities of different units
    are never added: `per_unit` is (unit, products, on hand, reserved) for each unit."""
    company_id = current_user.company_id
    per_unit = [(unit, products, Decimal(str(on_hand)), Decimal(str(reserved)))
                for unit, products, on_hand, reserved in db.session.execute(
        select(Product.unit, func.count(StockLevel.id), func.sum(StockLevel.on_hand),
               func.sum(StockLevel.reserved))
        .join(Product, Product.id == StockLevel.product_id)
        .where(StockLevel.company_id == company_id, StockLevel.warehouse_id == warehouse.id,
               StockLevel.on_hand != 0)
        .group_by(Product.unit).order_by(Product.unit).limit(UNITS_SHOWN))]
    movements = list(db.session.scalars(
        select(StockMovement)
        .where(StockMovement.company_id == company_id, StockMovement.warehouse_id == warehouse.id)
        .options(joinedload(StockMovement.product), joinedload(StockMovement.user),
                 raiseload("*"))
        .order_by(StockMovement.created_at.desc(), StockMovement.id.desc()).limit(10)))
    return {"products": sum(row[1] for row in per_unit), "per_unit": per_unit,
            "movements": movements}


# Available stock beside a document's lines (a draft sales order)

@dataclass(frozen=True)
class Availability:
    """A product's available stock in the document's warehouse, and what the document's
    lines of the product need together: `short` when they need more."""

    available: Decimal
    needed: Decimal

    @property
    def short(self) -> bool:
        return self.needed > self.available


def available_in(warehouse_id: int, product_ids) -> dict[int, Decimal]:
    """Available (on hand - reserved) of each product in one warehouse: one query."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(StockLevel.product_id, StockLevel.on_hand, StockLevel.reserved)
        .where(StockLevel.company_id == current_user.company_id,
               StockLevel.warehouse_id == warehouse_id, StockLevel.product_id.in_(ids)))
    return {product_id: on_hand - reserved for product_id, on_hand, reserved in rows}


def line_availability(warehouse_id: int, lines) -> dict[int, Availability]:
    """{product id: Availability} for the stocked products of `lines` (each with a loaded
    `product` and a `quantity`) in the warehouse: one query, whatever the number of lines."""
    needed: dict[int, Decimal] = defaultdict(Decimal)
    for line in lines:
        if line.product.stocked:
            needed[line.product_id] += line.quantity
    have = available_in(warehouse_id, needed)
    return {product_id: Availability(have.get(product_id, ZERO), quantity)
            for product_id, quantity in needed.items()}


def availability_hint(warehouse_id: int | None, product_text: str, quantity_text: str) -> dict:
    """What the add-line form shows beside the picked product: its availability in the
    document's warehouse (nothing while no product is named, or for a service)."""
    from erp.services import stock, validation
    from erp.services.catalog import find_product

    warehouse = db.session.scalar(select(Warehouse).where(
        Warehouse.company_id == current_user.company_id,
        Warehouse.id == warehouse_id)) if warehouse_id is not None else None
    product = find_product(current_user.company_id, product_text[:300]) \
        if warehouse is not None else None
    if product is None or not product.stocked:
        return {"product": None}
    try:  # what the line form would accept; anything else is no quantity yet
        quantity = validation.number(quantity_text[:40], step=stock.QUANTITY_STEP,
                                     maximum=stock.MAX_QUANTITY)
    except validation.BadValue:
        quantity = ZERO
    available = available_in(warehouse.id, [product.id]).get(product.id, ZERO)
    return {"product": product, "warehouse": warehouse,
            "availability": Availability(available, quantity)}


# Stock levels

STOCK_SORTS = {"sku": Product.sku, "name": Product.name, "warehouse": Warehouse.code,
               "on_hand": StockLevel.on_hand, "reserved": StockLevel.reserved,
               "available": StockLevel.on_hand - StockLevel.reserved}


def _stock_base() -> Select:
    # From the products in SKU order into their levels by the unique (company, product,
    # warehouse) index: the default order needs no sort of all levels, and the ids of a deep
    # page need no other table. Warehouse and category are loaded with the page's rows.
    return (select(StockLevel).select_from(Product)
            .join(StockLevel, (StockLevel.product_id == Product.id)
                  & (StockLevel.company_id == Product.company_id))
            .where(Product.company_id == current_user.company_id))


def _stock_order(stmt: Select, params) -> Select:
    if params.sort_key == "warehouse":
        stmt = stmt.join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
    # ties broken in the order the indexes give (a SKU is unique, a name is not)
    ties = {"sku": (StockLevel.warehouse_id,),
            "name": (Product.id, StockLevel.warehouse_id)}.get(params.sort_key, (StockLevel.id,))
    keys = (STOCK_SORTS[params.sort_key], *ties)
    return stmt.order_by(*(key.desc() if params.descending else key.asc() for key in keys))


def stock_low() -> bool:
    return request.args.get("low", "").strip() == "1"


def _stock_low(stmt: Select, value: str) -> Select:
    """The levels of the products that are low over all warehouses (`low_stock`)."""
    return stmt.where(low_stock()) if value == "1" else stmt


def _stock_nonzero(stmt: Select, value: str) -> Select:
    """Empty levels are left out unless asked for (`zero=1`) or the low filter is on."""
    if value == "1" or stock_low():
        return stmt
    return stmt.where((StockLevel.on_hand != 0) | (StockLevel.reserved != 0))


def _stock_csv(stmt: Select):
    warehouse = aliased(Warehouse)
    return Csv("stock", [
        ("sku", Product.sku), ("product", Product.name), ("category", Category.name),
        ("warehouse", warehouse.code), ("unit", Product.unit),
        *attrs(StockLevel, "on_hand", "reserved"),
        ("available", StockLevel.on_hand - StockLevel.reserved),
        ("min_stock", Product.min_stock), ("product_id", Product.id),
        ("warehouse_id", warehouse.id)],
    ).export(stmt.join(warehouse, warehouse.id == StockLevel.warehouse_id)
             .outerjoin(Product.category))


STOCK = ListSpec(
    model=StockLevel,
    sorts=STOCK_SORTS,
    default_sort="sku",
    base=_stock_base,
    search=product_matches,
    filters=[id_filter("warehouse", StockLevel.warehouse_id),
             id_filter("category", Product.category_id),
             Filter("low", _stock_low), Filter("zero", _stock_nonzero, always=True)],
    order=_stock_order,
    csv=Csv(response=_stock_csv),
    options=[contains_eager(StockLevel.product).joinedload(Product.category),
             joinedload(StockLevel.warehouse), raiseload("*")],
    # a search shows no total, as the product list (counting a rare term reads everything)
    count_search=False,
)


# The ledger

def movement_product(text: str) -> Product | None:
    """The product a movement filter names (looked up once per request)."""
    from erp.services.catalog import find_product

    found = g.setdefault("movement_products", {})
    if text not in found:
        found[text] = find_product(current_user.company_id, text)
    return found[text]


def _movement_product(stmt: Select, value: str) -> Select:
    product = movement_product(value)
    return stmt if product is None else stmt.where(StockMovement.product_id == product.id)


MOVEMENTS = newest_first(
    StockMovement,
    filters=[Filter("product", _movement_product),
             id_filter("warehouse", StockMovement.warehouse_id),
             choice_filter("kind", StockMovement.kind, MOVEMENT_KINDS),
             *date_range(StockMovement.created_at, day=True)],
    csv=Csv("movements", [
        *attrs(StockMovement, "id", "created_at"),
        ("sku", Product.sku), ("product", Product.name), ("warehouse", Warehouse.code),
        *attrs(StockMovement, "kind", "quantity", "reference", "note"),
        ("user", User.email), *attrs(StockMovement, "source_type", "source_id", "unit_cost",
                                     "value")],
        joins=[(Product, Product.id == StockMovement.product_id),
               (Warehouse, Warehouse.id == StockMovement.warehouse_id),
               (User, User.id == StockMovement.user_id)]),
    options=[joinedload(StockMovement.product), joinedload(StockMovement.warehouse),
             joinedload(StockMovement.user), joinedload(StockMovement.lot), raiseload("*")],
)


def movement_problems(params) -> list[str]:
    """What the movement list ignored of its filters, said above the rows."""
    problems = []
    text = params.filters.get("product", "")
    if text and movement_product(text) is None:
        problems.append(_('No product %(value)s: showing all products.', value=repr(text)))
    for name, label in (("date_from", "From"), ("date_to", "To")):
        value = params.filters.get(name, "")
        if value and parse_date(value) is None:
            problems.append(_('%(label)s date %(value)s is not a date (YYYY-MM-DD): ignored.', label=label, value=repr(value)))
    return problems
