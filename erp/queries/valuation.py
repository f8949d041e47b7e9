"""Reads of the stock valuation page (`/inventory/valuation`): the value of the stock as of
a day, per product and warehouse, per category or per warehouse, with the total.

Every figure is one index seek into the tables the stock service keeps in the same
transaction as the ledger (erp.services.valuation): a level's latest StockValueDay on or
before the day, or a category's / warehouse's latest StockValueTotal. A page costs the
same as of any day and whatever the size of the ledger.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import request
from flask_login import current_user
from sqlalchemy import Select, false, or_, select, true
from sqlalchemy.orm import contains_eager, joinedload, raiseload

from erp.csv_io import export_csv
from erp.extensions import db
from erp.i18n import _
from erp.lists import Csv, ListSpec, id_filter
from erp.models import Category, Product, StockLevel, StockValueDay, StockValueTotal, Warehouse
from erp.models.base import ZERO
from erp.models.inventory import ALL, NO_CATEGORY
from erp.parsing import parse_date, parse_id
from erp.services.valuation import company_today

GROUPS = ("product", "category", "warehouse")


@dataclass(frozen=True)
class AsOf:
    """The day asked for (`day`, today when none or a bad one) and what was wrong with it."""

    day: date
    today: date
    problem: str = ""


def as_of() -> AsOf:
    """The `date` parameter: a past day or today (YYYY-MM-DD). Malformed or in the future:
    today, with a message saying so."""
    today = company_today(current_user.company_id)
    text = request.args.get("date", "").strip()[:40]
    if not text:
        return AsOf(today, today)
    day = parse_date(text)
    if day is None:
        return AsOf(today, today, _("%(value)s is not a date (YYYY-MM-DD): showing today.",
                                    value=text))
    if day > today:
        return AsOf(today, today, _("%(value)s is in the future: showing today, the latest "
                                    "day with figures.", value=text))
    return AsOf(day, today)


def group() -> str:
    value = request.args.get("group", "").strip()
    return value if value in GROUPS else "product"


def _key(name: str) -> int:
    """The category or warehouse a filter names, as a StockValueTotal key (ALL: none)."""
    value = parse_id(request.args.get(name, "").strip()[:100])
    return value if value is not None else ALL


def _level_figure(column, day: date):
    """A level's quantity or value as of `day`: its latest day row on or before it."""
    return (select(column).where(StockValueDay.company_id == StockLevel.company_id,
                                 StockValueDay.product_id == StockLevel.product_id,
                                 StockValueDay.warehouse_id == StockLevel.warehouse_id,
                                 StockValueDay.day <= day)
            .order_by(StockValueDay.day.desc()).limit(1).correlate(StockLevel)
            .scalar_subquery())


def total_value(category_key, warehouse_key, day: date):
    """The value of a category (key) in a warehouse (key) as of `day`, as SQL."""
    return (select(StockValueTotal.value)
            .where(StockValueTotal.company_id == current_user.company_id,
                   StockValueTotal.category_key == category_key,
                   StockValueTotal.warehouse_key == warehouse_key, StockValueTotal.day <= day)
            .order_by(StockValueTotal.day.desc()).limit(1).scalar_subquery())


def totals(day: date, category_key: int, warehouse_key: int) -> dict:
    """The total of the page's filters and, grouping by category, that of the products
    without one: one query."""
    total, uncategorized = db.session.execute(select(
        total_value(category_key, warehouse_key, day),
        total_value(NO_CATEGORY, warehouse_key, day))).one()
    return {"total": Decimal(str(total or 0)).quantize(Decimal("0.01")),
            "uncategorized": Decimal(str(uncategorized or 0)).quantize(Decimal("0.01"))}


def _before_any_stock(day: date) -> bool:
    """No value had been booked under the filters by `day` (e.g. a day before the first
    receipt): the page has no rows, found by one seek instead of trying every level."""
    return db.session.scalar(
        select(StockValueTotal.id).where(
            StockValueTotal.company_id == current_user.company_id,
            StockValueTotal.category_key == _key("category"),
            StockValueTotal.warehouse_key == _key("warehouse"),
            StockValueTotal.day <= day).limit(1)) is None


# Per product and warehouse

def _levels_base() -> Select:
    day = as_of().day
    quantity, value = (_level_figure(StockValueDay.quantity, day),
                       _level_figure(StockValueDay.value, day))
    # from the products in SKU order into their levels (the stock list's plan): a page
    # reads its 20 rows and their day rows, never the whole ledger
    return (select(StockLevel, quantity.label("as_of_quantity"), value.label("as_of_value"))
            .select_from(Product)
            .join(StockLevel, (StockLevel.product_id == Product.id)
                  & (StockLevel.company_id == Product.company_id))
            .where(Product.company_id == current_user.company_id,
                   or_(quantity != 0, value != 0),
                   false() if _before_any_stock(day) else true())
            .options(contains_eager(StockLevel.product).joinedload(Product.category),
                     joinedload(StockLevel.warehouse), raiseload("*")))


def _levels_order(stmt: Select, params) -> Select:
    keys = {"sku": (Product.sku, StockLevel.warehouse_id),
            "name": (Product.name, Product.id, StockLevel.warehouse_id)}[params.sort_key]
    return stmt.order_by(*(key.desc() if params.descending else key.asc() for key in keys))


def average(quantity, value) -> Decimal | None:
    """The moving-average cost of a unit: value / quantity (None without stock)."""
    return ((Decimal(str(value)) / Decimal(str(quantity))).quantize(Decimal("0.0001"))
            if quantity else None)


def _levels_csv(stmt: Select):
    columns = stmt.selected_columns
    return export_csv("stock-valuation", stmt, [
        ("sku", Product.sku), ("product", Product.name), ("category", Category.name),
        ("warehouse", Warehouse.code), ("unit", Product.unit),
        ("product_id", Product.id), ("warehouse_id", Warehouse.id),
        ("quantity", columns.as_of_quantity), ("value", columns.as_of_value),
        ("average_cost", Product.id)],  # the id, replaced by value / quantity below
        joins=[(Warehouse, Warehouse.id == StockLevel.warehouse_id),
               (Category, Category.id == Product.category_id)],
        row=lambda r: [*r[:-1], average(r[-3], r[-2])])


FILTERS = ("date", "group")

PRODUCTS = ListSpec(
    model=StockLevel,
    sorts={"sku": Product.sku, "name": Product.name},
    default_sort="sku",
    base=_levels_base,
    filters=[id_filter("warehouse", StockLevel.warehouse_id),
             id_filter("category", Product.category_id)],
    extra_filters=FILTERS,
    order=_levels_order,
    csv=Csv(response=_levels_csv),
    rows=True,
)


# Per category, per warehouse: a row per record with its total of the other filter

def _totals_spec(model, sort: str, name: str, value, csv_columns) -> ListSpec:
    """The list of the company's `model` rows whose total (`value(model, day)`: the SQL of its
    StockValueTotal as of the day) is not 0, with that total (`as_of_value`)."""
    def base() -> Select:
        day = as_of().day
        total = value(model, day).label("as_of_value")
        return (select(model, total)
                .where(model.company_id == current_user.company_id, total != 0,
                       false() if _before_any_stock(day) else true()))

    other = "warehouse" if name == "category" else "category"
    return ListSpec(
        model=model, sorts={sort: getattr(model, sort)}, default_sort=sort, base=base,
        filters=[id_filter(name, model.id)], extra_filters=(*FILTERS, other),
        csv=Csv(response=lambda stmt: export_csv(
            f"stock-valuation-{name}s", stmt,
            [*csv_columns, (f"{name}_id", model.id),
             ("value", stmt.selected_columns.as_of_value)])),
        rows=True)


CATEGORIES = _totals_spec(
    Category, "name", "category",
    lambda model, day: total_value(model.id, _key("warehouse"), day),
    [("category", Category.name)])
WAREHOUSES = _totals_spec(
    Warehouse, "code", "warehouse",
    lambda model, day: total_value(_key("category"), model.id, day),
    [("warehouse", Warehouse.code), ("name", Warehouse.name)])

SPECS = {"product": PRODUCTS, "category": CATEGORIES, "warehouse": WAREHOUSES}


def page_context(page, params) -> dict:
    """What the page shows besides its rows: the day, its problem, the total."""
    day = as_of()
    return {"as_of": day, "group": group(),
            **totals(day.day, _key("category"), _key("warehouse")),
            "show_uncategorized": group() == "category" and not page.has_next
            and _key("category") == ALL}
