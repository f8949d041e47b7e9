"""Demo count sheets and transfers: a posted count sheet (a few differences adjusted) and
a draft one half counted, a posted transfer and a draft one, all through the services."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from erp.extensions import db
from erp.models import Category, Company, Product, StockLevel, User, Warehouse
from erp.models.stock_documents import StockCount
from erp.services import ValidationError, atomic
from erp.services import stock_documents as service


def seed(company: Company, admin: User | None) -> str | None:
    if db.session.scalar(select(StockCount.id).where(StockCount.company_id == company.id)
                         .limit(1)) is not None:
        return None
    warehouses = {w.code: w for w in db.session.scalars(
        select(Warehouse).where(Warehouse.company_id == company.id))}
    categories = list(db.session.scalars(
        select(Category).where(Category.company_id == company.id).order_by(Category.name)))
    if not {"MAIN", "EAST", "WEST"} <= set(warehouses) or len(categories) < 2:
        return None
    with atomic():
        return _seed(company, admin, warehouses, categories)


def _count(company: Company, admin, warehouse: Warehouse, category: Category, every: int):
    """A count sheet with every `every`-th line counted: most as expected, some a little off
    (never below what is reserved)."""
    kw = {"company_id": company.id, "user": admin}
    try:
        count = service.create_count(warehouse_id=warehouse.id, category_id=category.id, **kw)
    except ValidationError:
        return None
    reserved = dict(db.session.execute(select(StockLevel.product_id, StockLevel.reserved).where(
        StockLevel.company_id == company.id, StockLevel.warehouse_id == warehouse.id)).all())
    for n, line in enumerate(count.lines):
        if n % every:
            continue
        off = Decimal((-1, 0, 0, 2)[n % 4])
        counted = max(line.expected + off, reserved.get(line.product_id, Decimal(0)), Decimal(0))
        service.update_count_line(count_id=count.id, line_id=line.id, counted=counted, **kw)
    return count


def _seed(company: Company, admin, warehouses: dict, categories: list) -> str:
    kw = {"company_id": company.id, "user": admin}
    posted = _count(company, admin, warehouses["EAST"], categories[0], 1)
    if posted is not None:
        service.post_count(count_id=posted.id, **kw)
    _count(company, admin, warehouses["MAIN"], categories[1], 2)
    in_main = list(db.session.execute(
        select(Product.id, StockLevel.on_hand - StockLevel.reserved)
        .join(StockLevel, StockLevel.product_id == Product.id)
        .where(Product.company_id == company.id, StockLevel.warehouse_id == warehouses["MAIN"].id,
               StockLevel.on_hand - StockLevel.reserved >= 10)
        .order_by(Product.sku).limit(5)))
    transfer = service.create_transfer(from_warehouse_id=warehouses["MAIN"].id,
                                       to_warehouse_id=warehouses["WEST"].id,
                                       notes="Restocking the west depot", **kw)
    for product_id, _available in in_main[:3]:
        service.add_transfer_line(transfer_id=transfer.id, product_id=product_id, quantity=3, **kw)
    if transfer.lines:
        service.post_transfer(transfer_id=transfer.id, **kw)
    draft = service.create_transfer(from_warehouse_id=warehouses["MAIN"].id,
                                    to_warehouse_id=warehouses["EAST"].id, **kw)
    for product_id, _available in in_main[3:]:
        service.add_transfer_line(transfer_id=draft.id, product_id=product_id, quantity=2, **kw)
    return "2 count sheets (one posted), 2 transfers (one posted)."
