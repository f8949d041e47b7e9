"""Inventory pages and issue #16: the count form names the orders holding reservations,
pickers take a barcode, archived warehouses, the warehouse page per unit, one low rule."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import StockLevel, StockMovement
from erp.services import sales
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.inventory_helpers import put_stock, stock_shop

D = Decimal


@pytest.fixture
def shop(app, company, make_user):
    return stock_shop(company, make_user("manager"), barcode="4006381333931", min_stock=D("10"))


def movements() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(StockMovement))


def test_the_count_form_refuses_a_count_below_the_reservations_naming_the_order(
        staff_client, shop):
    put_stock(shop.product, shop.main, 12)
    order = sales.create_order(customer_id=shop.customer.id, warehouse_id=shop.main.id, **shop.kw)
    sales.add_line(order_id=order.id, product_id=shop.product.id, quantity="10", **shop.kw)
    sales.confirm_order(order_id=order.id, **shop.kw)
    response = staff_client.post("/inventory/count", data={
        "product": "BOLT-8", "warehouse_id": shop.main.id, "counted": "5"})
    assert response.status_code == 422
    body = response.data.decode()
    assert f"{order.number} (10)" in body and "Release the reservations first" in body
    assert movements() == 1
    level = db.session.scalar(select(StockLevel).where(StockLevel.warehouse_id == shop.main.id))
    assert level.available == D("2")
