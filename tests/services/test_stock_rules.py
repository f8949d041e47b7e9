"""Stock rules of issue #16: counts never strand reservations, archived warehouses hold no
stock and take no documents, products are found by SKU or barcode, one "low stock" rule."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import Product, StockLevel, StockMovement
from erp.services import sales, stock
from erp.services.stock import CountBelowReserved
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.inventory_helpers import stock_shop

D = Decimal


@pytest.fixture
def shop(app, company, make_user):
    return stock_shop(company, make_user("manager"))


def confirmed_order(shop, quantity, warehouse=None):
    order = sales.create_order(customer_id=shop.customer.id,
                               warehouse_id=(warehouse or shop.main).id, **shop.kw)
    sales.add_line(order_id=order.id, product_id=shop.product.id, quantity=str(quantity),
                   **shop.kw)
    sales.confirm_order(order_id=order.id, **shop.kw)
    return order


def level(shop, warehouse=None) -> StockLevel:
    db.session.rollback()
    return db.session.scalar(select(StockLevel).where(
        StockLevel.product_id == shop.product.id,
        StockLevel.warehouse_id == (warehouse or shop.main).id))


# 4. A count below the reserved quantity

def test_a_count_below_the_reserved_quantity_is_refused_naming_the_orders(shop):
    stock.receive(product_id=shop.product.id, warehouse_id=shop.main.id, quantity=12, **shop.kw)
    first, second = confirmed_order(shop, 6), confirmed_order(shop, 4)
    with pytest.raises(CountBelowReserved) as refused:
        stock.adjust(product_id=shop.product.id, warehouse_id=shop.main.id, counted="5",
                     **shop.kw)
    message = str(refused.value)
    assert f"{first.number} (6)" in message and f"{second.number} (4)" in message
    assert "10 pcs are reserved" in message and "Release the reservations first" in message
    assert refused.value.holders == [(first.number, D("6.000")), (second.number, D("4.000"))]
    current = level(shop)
    assert (current.on_hand, current.reserved) == (D("12"), D("10"))
    assert db.session.scalar(select(func.count()).select_from(StockMovement)) == 1
    assert db.session.get(Product, shop.product.id).available == D("2")


def test_a_count_at_or_above_the_reserved_quantity_is_recorded(shop):
    stock.receive(product_id=shop.product.id, warehouse_id=shop.main.id, quantity=12, **shop.kw)
    confirmed_order(shop, 10)
    movement = stock.adjust(product_id=shop.product.id, warehouse_id=shop.main.id,
                            counted="10", **shop.kw)
    assert movement.quantity == D("-2")
    current = level(shop)
    assert current.available == 0 and stock.ledger_mismatches(shop.company.id) == []


def test_reservations_in_another_warehouse_do_not_block_a_count(shop):
    stock.receive(product_id=shop.product.id, warehouse_id=shop.spare.id, quantity=10, **shop.kw)
    confirmed_order(shop, 10, warehouse=shop.spare)
    stock.receive(product_id=shop.product.id, warehouse_id=shop.main.id, quantity=3, **shop.kw)
    stock.adjust(product_id=shop.product.id, warehouse_id=shop.main.id, counted="0", **shop.kw)
    assert level(shop).on_hand == 0
