"""Stock rules of issue #16: counts never strand reservations, archived warehouses hold no
stock and take no documents, products are found by SKU or barcode, one "low stock" rule."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import Product, StockLevel, StockMovement
from erp.services import ValidationError, inventory, sales, stock
from erp.services.catalog import InUse
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


# 11. Archived warehouses hold no stock and take no documents

def refusal(call) -> dict[str, list[str]]:
    """The field errors of the ValidationError `call()` raises."""
    with pytest.raises(ValidationError) as refused:
        call()
    return refused.value.field_errors

def test_a_warehouse_holding_stock_is_not_archived(shop):
    from erp.services import inventory
    from erp.services.catalog import InUse

    stock.receive(product_id=shop.product.id, warehouse_id=shop.main.id, quantity=12, **shop.kw)
    confirmed_order(shop, 4)
    archive = dict(company_id=shop.company.id, warehouse_id=shop.main.id, active=False,
                   user=shop.user)
    with pytest.raises(InUse, match=r"MAIN still holds stock of 1 product \(some of it "
                                    r"reserved.*Move the stock first"):
        inventory.set_warehouse_active(**archive)
    db.session.rollback()
    assert db.session.get(type(shop.main), shop.main.id).active is True
    stock.transfer(company_id=shop.company.id, product_id=shop.product.id,
                   from_warehouse_id=shop.main.id, to_warehouse_id=shop.spare.id, quantity=8,
                   user=shop.user)  # the 4 reserved stay
    with pytest.raises(InUse):
        inventory.set_warehouse_active(**archive)
    inventory.set_warehouse_active(company_id=shop.company.id, warehouse_id=shop.spare.id,
                                   active=True, user=shop.user)  # reactivating: no check
    order = db.session.scalar(select(sales.SalesOrder))
    sales.cancel_order(order_id=order.id, **shop.kw)
    stock.issue(product_id=shop.product.id, warehouse_id=shop.main.id, quantity=4, **shop.kw)
    inventory.set_warehouse_active(**archive)
    db.session.rollback()
    assert db.session.get(type(shop.main), shop.main.id).active is False


@pytest.fixture
def archived(shop):
    from erp.services import inventory

    inventory.set_warehouse_active(company_id=shop.company.id, warehouse_id=shop.spare.id,
                                   active=False, user=shop.user)
    return shop.spare


def test_no_order_is_created_or_changed_to_an_archived_warehouse(shop, archived):
    from erp.models.production import ProductionOrder
    from erp.models.purchasing import PurchaseOrder
    from erp.services import production, purchasing
    from tests.factories.catalog import SupplierFactory

    archived_message = ["SPARE is archived: choose an active warehouse."]
    header = dict(customer_id=shop.customer.id, **shop.kw)
    assert refusal(lambda: sales.create_order(warehouse_id=archived.id, **header)) == {
        "warehouse_id": archived_message}
    order = sales.create_order(warehouse_id=shop.main.id, **header)
    assert refusal(lambda: sales.update_order(order_id=order.id, warehouse_id=str(archived.id),
                                              **header)) == {"warehouse_id": archived_message}

    header = dict(supplier_id=SupplierFactory(company=shop.company).id, **shop.kw)
    assert refusal(lambda: purchasing.create_order(warehouse_id=archived.id, **header)) == {
        "warehouse_id": archived_message}
    po = purchasing.create_order(warehouse_id=shop.main.id, **header)
    assert refusal(lambda: purchasing.update_order(
        order_id=po.id, warehouse_id=archived.id, order_date=po.order_date, **header)) == {
        "warehouse_id": archived_message}

    part = ProductFactory(company=shop.company, kind="component")
    production.add_bom_line(product_id=shop.product.id, component_id=part.id, quantity="1",
                            **shop.kw)
    plan = dict(product_id=shop.product.id, quantity="1", planned_start=date(2026, 3, 2),
                **shop.kw)
    assert refusal(lambda: production.create_order(
        component_warehouse_id=archived.id, output_warehouse_id=archived.id, **plan)) == {
        "component_warehouse_id": archived_message, "output_warehouse_id": archived_message}
    mo = production.create_order(component_warehouse_id=shop.main.id,
                                 output_warehouse_id=shop.main.id, **plan)
    assert refusal(lambda: production.update_order(
        order_id=mo.id, component_warehouse_id=shop.main.id, output_warehouse_id=archived.id,
        **plan)) == {"output_warehouse_id": archived_message}

    db.session.rollback()
    assert [o.warehouse_id for o in db.session.scalars(select(sales.SalesOrder))] == [shop.main.id]
    assert [o.warehouse_id for o in db.session.scalars(select(PurchaseOrder))] == [shop.main.id]
    assert [o.output_warehouse_id for o in db.session.scalars(select(ProductionOrder))] == [
        shop.main.id]


def test_no_stock_moves_into_or_is_counted_in_an_archived_warehouse(shop, archived):
    kw = dict(product_id=shop.product.id, **shop.kw)
    stock.receive(warehouse_id=shop.main.id, quantity=5, **kw)
    for attempt in (lambda: stock.receive(warehouse_id=archived.id, quantity=1, **kw),
                    lambda: stock.adjust(warehouse_id=archived.id, counted="3", **kw),
                    lambda: stock.transfer(from_warehouse_id=shop.main.id,
                                           to_warehouse_id=archived.id, quantity=1, **kw)):
        assert "SPARE is archived" in str(refusal(attempt))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(StockMovement)) == 1
    assert level(shop, archived) is None or level(shop, archived).on_hand == 0


def test_a_warehouse_named_by_open_orders_is_not_archived(company):
    """#16 item 11: an archived warehouse takes no documents, so open orders that ship from,
    receive into or produce in it would be stranded: archiving is refused naming them."""
    from erp.models import Warehouse
    from tests.factories.purchasing import PurchaseOrderFactory
    from tests.factories.sales import SalesOrderFactory

    busy = WarehouseFactory(company=company, code="BUSY")
    order = SalesOrderFactory(company=company, warehouse_id=busy.id, status="confirmed")
    purchase = PurchaseOrderFactory(company=company, warehouse_id=busy.id, status="ordered")
    with pytest.raises(InUse) as refused:
        inventory.set_warehouse_active(company_id=company.id, warehouse_id=busy.id,
                                       active=False, user=None)
    assert order.number in str(refused.value) and purchase.number in str(refused.value)
    db.session.rollback()
    assert db.session.get(Warehouse, busy.id).active is True
    for document in (order, purchase):
        document.status = "cancelled"
    db.session.commit()
    inventory.set_warehouse_active(company_id=company.id, warehouse_id=busy.id, active=False,
                                   user=None)
    db.session.expire_all()
    assert db.session.get(Warehouse, busy.id).active is False
