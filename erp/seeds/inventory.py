"""Demo inventory: three warehouses and opening stock, put in through the stock service
(so the ledger explains every level). Some products are left below their minimum stock."""
from __future__ import annotations

import random
import sys
from decimal import Decimal

from sqlalchemy import select

from erp.extensions import db
from erp.models import Company, Product, User, Warehouse
from erp.seeds.turkish import words
from erp.services import atomic, inventory, stock

WAREHOUSES = [("MAIN", "Main warehouse", "Hafenstraße 1, Hamburg"),
              ("EAST", "East depot", "Oststraße 40, Berlin"),
              ("WEST", "West depot", "Rheinufer 8, Cologne")]


def seed(company: Company, admin: User | None) -> str | None:
    if db.session.scalar(select(Warehouse.id).where(Warehouse.company_id == company.id).limit(1)):
        return None
    with atomic():  # one transaction: the stock use cases nest inside it and only flush
        return _seed(company, admin)


def _seed(company: Company, admin: User | None) -> str:
    rng = random.Random(20260302)
    cid = company.id
    warehouses = [inventory.create_warehouse(company_id=cid, user=admin, code=code, name=name,
                                             address=address).id
                  for code, name, address in words(company, sys.modules[__name__]).WAREHOUSES]
    products = list(db.session.execute(
        select(Product.id, Product.kind, Product.min_stock)
        .where(Product.company_id == cid, Product.kind != "service").order_by(Product.sku)))
    moves = low = 0
    for product_id, kind, min_stock in products:
        below = rng.random() < 0.12  # leave about one in eight short
        target = min_stock * Decimal(rng.choice(["1.5", "2", "3", "4"])) if not below \
            else (min_stock * Decimal("0.4")).quantize(Decimal("1"))
        low += below
        if target <= 0:
            continue
        # finished goods are spread over the depots too; one receipt each keeps the seed quick
        split = kind == "finished_good" and rng.random() < 0.6
        main_share = (target * Decimal("0.7")).quantize(Decimal("1")) if split else target
        stock.receive(company_id=cid, product_id=product_id, warehouse_id=warehouses[0],
                      quantity=main_share, user=admin, note="Opening stock")
        moves += 1
        rest = target - main_share
        if rest > 0:
            stock.receive(company_id=cid, product_id=product_id,
                          warehouse_id=warehouses[1 + rng.randrange(2)], quantity=rest,
                          user=admin, note="Opening stock")
            moves += 1
    return (f"{len(warehouses)} warehouses, opening stock for {len(products)} products "
            f"({moves} movements, {low} below minimum).")
