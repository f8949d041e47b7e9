"""Demo sales: ~30 customers and orders in every state, made through the services so the
stock ledger stays right. Needs products and a warehouse from the earlier seed steps."""
from __future__ import annotations

import random
import sys
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from erp.extensions import db
from erp.models import Company, Product, StockLevel, User, Warehouse
from erp.models.sales import Customer, SalesOrderItem
from erp.services import DomainError
from erp.seeds.turkish import slug, words
from erp.services import deliveries, sales

COMPANIES = ["Acme", "Blue Harbor", "Cobalt", "Delta Works", "Evergreen", "Fjord", "Granite",
             "Helix", "Iris", "Juniper", "Kestrel", "Lumen", "Meridian", "Northwind", "Orion",
             "Pioneer", "Quartz", "Redwood", "Summit", "Tidewater", "Umbra", "Vertex",
             "Willow", "Xenon", "Yarrow", "Zephyr", "Atlas", "Beacon", "Cedar", "Dune"]
SUFFIXES = ["Ltd", "GmbH", "Inc", "Trading", "Supplies", "Retail", "& Co"]
CITIES = ["Berlin", "Lyon", "Leeds", "Porto", "Gdansk", "Turin", "Ghent", "Malmo"]
STREET = "{} Market Street"
DOCK = "Dock {}, {} Harbour Road"
PHONE = "+49 30 {}"
# (status, how many orders) — every state of the workflow is represented
# (partly shipped orders last: the earlier ones stay what they were before deliveries)
PLAN = [("draft", 8), ("confirmed", 8), ("shipped", 6), ("invoiced", 10), ("cancelled", 4),
        ("partly_shipped", 5)]


def seed(company: Company, admin: User) -> str | None:
    if db.session.scalar(select(Customer.id).where(Customer.company_id == company.id).limit(1)):
        return None
    warehouse = db.session.scalar(select(Warehouse).where(
        Warehouse.company_id == company.id, Warehouse.active.is_(True)).order_by(Warehouse.id))
    if warehouse is None:
        return None
    # finished goods with stock to sell in that warehouse, and services (no stock needed)
    in_stock = select(StockLevel.product_id).where(
        StockLevel.company_id == company.id, StockLevel.warehouse_id == warehouse.id,
        StockLevel.on_hand - StockLevel.reserved >= 50)
    products = list(db.session.scalars(select(Product).where(
        Product.company_id == company.id, Product.active.is_(True),
        ((Product.kind == "finished_good") & Product.id.in_(in_stock))
        | (Product.kind == "service")).order_by(Product.id).limit(40)))
    if not products:
        products = list(db.session.scalars(select(Product).where(
            Product.company_id == company.id, Product.active.is_(True))
            .order_by(Product.id).limit(40)))
    if not products:
        return None
    rng = random.Random(4)
    kw = {"company_id": company.id, "user": admin}
    customers = []
    w = words(company, sys.modules[__name__])
    for n, name in enumerate(w.COMPANIES):
        city = rng.choice(w.CITIES)
        customers.append(sales.create_customer(
            name=f"{name} {rng.choice(w.SUFFIXES)}",
            email=f"orders@{slug(name).replace(' ', '')}.example",
            phone=w.PHONE.format(rng.randint(1000000, 9999999)),
            billing_address=w.STREET.format(rng.randint(1, 200)) + f"\n{city}",
            shipping_address=w.DOCK.format(rng.randint(1, 9), rng.randint(1, 200)) + f"\n{city}"
            if rng.random() < 0.4 else "",
            tax_number=f"EU{rng.randint(100000000, 999999999)}",
            credit_limit=Decimal(rng.choice([0, 5000, 10000, 25000, 50000])),
            active=n < 28, **kw))
    active = [c for c in customers if c.active]
    counts: dict[str, int] = {}
    today = date.today()
    for status, how_many in PLAN:
        for _ in range(how_many):
            order = sales.create_order(
                customer_id=rng.choice(active).id, warehouse_id=warehouse.id,
                order_date=today - timedelta(days=rng.randint(0, 90)),
                requested_date=today + timedelta(days=rng.randint(3, 30)), **kw)
            for product in rng.sample(products, k=min(len(products), rng.randint(1, 4))):
                sales.add_line(order_id=order.id, product_id=product.id,
                               quantity=rng.randint(1, 3), discount_percent=rng.choice([0, 0, 5, 10]),
                               tax_rate=rng.choice([0, 7, 19]), **kw)
            reached = _advance(order.id, status, kw)
            counts[reached] = counts.get(reached, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    return f"{len(customers)} customers, sales orders: {summary}"


def _advance(order_id: int, status: str, kw: dict) -> str:
    """Take an order as far as `status`; an order short of stock stays a draft."""
    try:
        if status == "cancelled":
            sales.cancel_order(order_id=order_id, **kw)
            return "cancelled"
        if status == "draft":
            return "draft"
        sales.confirm_order(order_id=order_id, **kw)
        if status == "confirmed":
            return "confirmed"
        if status == "partly_shipped":
            # one unit of the first line goes out; the rest waits as a backorder
            item_id = db.session.scalar(select(SalesOrderItem.id).where(
                SalesOrderItem.order_id == order_id).order_by(SalesOrderItem.id).limit(1))
            delivery = deliveries.create_delivery(order_id=order_id, post=True,
                                                  quantities={item_id: "1"}, **kw)
            return delivery.order.status
        sales.ship_order(order_id=order_id, **kw)
        if status == "shipped":
            return "shipped"
        sales.invoice_order(order_id=order_id, **kw)
        return "invoiced"
    except DomainError:
        return "draft"

