"""Demo purchasing: purchase orders in every state, made and received through the services
(so numbers, totals, stock and the ledger are all real). Deterministic and idempotent."""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from erp.extensions import db
from erp.models import Company, Product, Supplier, User, Warehouse
from erp.models.purchasing import PurchaseOrder
from erp.services import atomic
from erp.services import purchasing as service

# (status to reach, how many)
PLAN = [("draft", 3), ("ordered", 3), ("partially_received", 3), ("received", 4),
        ("cancelled", 2)]


def seed(company: Company, admin: User | None) -> str | None:
    cid = company.id
    if db.session.scalar(select(PurchaseOrder.id).where(PurchaseOrder.company_id == cid).limit(1)):
        return None
    suppliers = list(db.session.scalars(select(Supplier).where(
        Supplier.company_id == cid, Supplier.active.is_(True)).order_by(Supplier.id)))
    warehouse = db.session.scalar(select(Warehouse).where(
        Warehouse.company_id == cid, Warehouse.active.is_(True)).order_by(Warehouse.code,
                                                                            Warehouse.id))
    if not suppliers or warehouse is None:
        return None
    products = list(db.session.scalars(select(Product).where(
        Product.company_id == cid, Product.active.is_(True), Product.kind != "service")
        .order_by(Product.sku)))
    if not products:
        return None
    by_supplier: dict[int, list[Product]] = {}
    for product in products:
        by_supplier.setdefault(product.preferred_supplier_id or suppliers[0].id, []).append(product)
    with atomic():  # one transaction; the use cases nest inside it and only flush
        return _seed(cid, admin, suppliers, warehouse, by_supplier, products)


def _seed(cid, admin, suppliers, warehouse, by_supplier, products) -> str:
    rng = random.Random(20260305)
    today = date.today()
    made = 0
    for status, how_many in PLAN:
        for _ in range(how_many):
            supplier = rng.choice(suppliers)
            candidates = by_supplier.get(supplier.id) or products
            order_date = today - timedelta(days=rng.randint(1, 60))
            order = service.create_order(
                company_id=cid, user=admin, supplier_id=supplier.id, warehouse_id=warehouse.id,
                order_date=order_date, expected_date=order_date + timedelta(days=14),
                notes="Demo order")
            for product in rng.sample(candidates, min(len(candidates), rng.randint(1, 4))):
                cost = (product.cost_price * Decimal(rng.choice(["0.95", "1", "1.05"]))
                        ).quantize(Decimal("0.01"))
                service.add_line(company_id=cid, user=admin, order_id=order.id,
                                 product_id=product.id, quantity=Decimal(rng.choice([10, 20, 50, 100])),
                                 unit_cost=cost, tax_rate=rng.choice(["0", "7", "19"]))
            made += 1
            if status == "draft":
                continue
            if status == "cancelled" and rng.random() < 0.5:
                service.cancel_order(company_id=cid, user=admin, order_id=order.id)
                continue
            service.place_order(company_id=cid, user=admin, order_id=order.id)
            if status == "cancelled":
                service.cancel_order(company_id=cid, user=admin, order_id=order.id)
            elif status == "partially_received":
                first = order.items[0]
                service.receive(company_id=cid, user=admin, order_id=order.id,
                                quantities={first.id: (first.quantity / 2).quantize(Decimal("1"))},
                                warehouse_id=warehouse.id, reference="DN-DEMO")
            elif status == "received":
                service.receive(company_id=cid, user=admin, order_id=order.id,
                                quantities={i.id: i.quantity for i in order.items},
                                warehouse_id=warehouse.id, reference="DN-DEMO")
    return f"{made} purchase orders in every state"
