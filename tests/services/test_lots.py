"""Lots and serial numbers: receipts create them, deliveries and production pick them,
returns bring back the ones delivered, the ledger invariant holds per lot (also under
concurrency on PostgreSQL), and bad picks are refused with nothing written."""
import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import Product, StockMovement, Supplier
from erp.models.inventory import Lot, LotLevel
from erp.services import (InvalidTransition, ValidationError, catalog, deliveries,
                          lots, production, purchasing, returns, sales, stock)
from erp.services.stock import InsufficientStock
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.services.test_sales import assert_ledger, env, fresh, new_order  # noqa: F401

D = Decimal


@pytest.fixture
def shop(env):
    """env with a lot-tracked PASTE (lots P1 expiring later, P2 sooner: 6 and 4 in MAIN) and
    a serial-tracked SCOPE (S1, S2, S3 in MAIN)."""
    env.paste = ProductFactory(company=env.company, sku="PASTE", tracking="lot")
    env.scope = ProductFactory(company=env.company, sku="SCOPE", tracking="serial")
    env.spare = WarehouseFactory(company=env.company, code="SPARE")
    env.supplier = db.session.get(Supplier, _supplier(env))
    receive(env, env.paste, "10", "P1: 6, P2: 4", expiry="2030-01-01")
    db.session.execute(Lot.__table__.update().where(Lot.code == "P2").values(
        expiry=date(2029, 1, 1)))
    db.session.commit()
    receive(env, env.scope, "3", "S1 S2 S3")
    return env


def _supplier(env) -> int:
    return catalog.create_supplier(name="Acme Supplies", **env.kw).id


def receive(env, product, quantity, lot_text, *, expiry="", warehouse=None):
    order = purchasing.create_order(supplier_id=_supplier(env),
                                    warehouse_id=(warehouse or env.warehouse).id, **env.kw)
    item = purchasing.add_line(order_id=order.id, product_id=product.id, quantity=quantity,
                               unit_cost="2.00", **env.kw)
    purchasing.place_order(order_id=order.id, **env.kw)
    return purchasing.receive(order_id=order.id, quantities={item.id: quantity},
                              lots={item.id: lot_text}, expiries={item.id: expiry},
                              warehouse_id=(warehouse or env.warehouse).id, **env.kw)


def lot(code) -> Lot:
    db.session.rollback()
    return db.session.scalar(select(Lot).where(Lot.code == code))


def held(code, warehouse) -> Decimal:
    db.session.rollback()
    return db.session.scalar(select(LotLevel.on_hand).join(Lot).where(
        Lot.code == code, LotLevel.warehouse_id == warehouse.id)) or D(0)


def confirmed(env, lines):
    order = new_order(env, lines)
    sales.confirm_order(order_id=order.id, **env.kw)
    return fresh(order.id)


def deliver(env, order, quantities, picks, *, post=True):
    by_product = {item.product_id: item.id for item in order.items}
    return deliveries.create_delivery(
        order_id=order.id, quantities={by_product[p.id]: q for p, q in quantities.items()},
        lots={by_product[p.id]: text for p, text in picks.items()}, post=post, **env.kw)


def said(error) -> str:
    """Everything a refusal says, its field messages included."""
    return " ".join([str(error)] + [m for ms in error.field_errors.values() for m in ms])


def counts():
    db.session.rollback()
    return (db.session.scalar(select(func.count()).select_from(StockMovement)),
            db.session.scalar(select(func.count()).select_from(Lot)))


def test_a_receipt_creates_the_lots_with_expiry_and_the_ledger_holds_per_lot(shop):
    assert (held("P1", shop.warehouse), held("P2", shop.warehouse)) == (D(6), D(4))
    assert lot("P1").expiry == date(2030, 1, 1)
    assert [held(code, shop.warehouse) for code in ("S1", "S2", "S3")] == [D(1)] * 3
    movements = db.session.scalars(select(StockMovement).where(
        StockMovement.product_id == shop.paste.id)).all()
    assert {(m.source_type, m.quantity, m.lot.code) for m in movements} == {
        ("goods_receipt_line", D(6), "P1"), ("goods_receipt_line", D(4), "P2")}
    assert_ledger(shop)


@pytest.mark.parametrize("text, message", [
    ("", "is tracked by lot"),
    ("P9: 5, P8: 4", "add up to 9"),
    ("P9, P8", "give each lot its quantity"),
    ("P9: x", "Enter a number"),
    ("X" * 61, "1 to 60 characters"),
])
def test_a_receipt_of_a_tracked_product_without_good_lots_writes_nothing(shop, text, message):
    before = counts()
    with pytest.raises(ValidationError) as refused:
        receive(shop, shop.paste, "10", text)
    assert any(message in m for ms in refused.value.field_errors.values() for m in ms)
    assert counts() == before


def test_serial_numbers_are_one_unit_each_and_never_in_stock_twice(shop):
    before = counts()
    for text, message in [("S7 S8", "2 serial numbers, the quantity is 3"),
                          ("S7: 2, S8: 1", "one unit, not 2"),
                          ("S7 S7 S8", "named twice"),
                          ("S1 S8 S9", "already in stock")]:
        with pytest.raises(ValidationError) as refused:
            receive(shop, shop.scope, "3", text)
        assert message in said(refused.value)
    assert counts()[0] == before[0]


def test_a_delivery_ships_the_lots_picked_and_the_second_one_the_rest(shop):
    order = confirmed(shop, [(shop.paste, "7"), (shop.scope, "2")])
    assert deliveries.left_to_ship(order)[f"lot-{order.items[0].id}"] == "P2: 4, P1: 3"
    assert deliveries.left_to_ship(order)[f"lot-{order.items[1].id}"] == "S1, S2"
    first = deliver(shop, order, {shop.paste: "3", shop.scope: "1"},
                    {shop.paste: "P1", shop.scope: "S2"})
    assert first.lines[0].lots == "P1" and first.lines[1].lots == "S2"
    second = deliver(shop, fresh(order.id), {shop.paste: "4", shop.scope: "1"},
                     {shop.paste: "P1: 3, P2: 1", shop.scope: "S1"})
    assert fresh(order.id).status == "shipped"
    assert (held("P1", shop.warehouse), held("P2", shop.warehouse)) == (D(0), D(3))
    assert [held(code, shop.warehouse) for code in ("S1", "S2", "S3")] == [D(0), D(0), D(1)]
    assert second.status == "posted"
    assert_ledger(shop)


@pytest.mark.parametrize("picks, message", [
    ({}, "is tracked by lot"),
    ({"paste": "S1"}, "no lot S1 of PASTE"),           # a lot of another product
    ({"paste": "P1: 7"}, "lot P1 holds 6 in MAIN"),    # more than the lot holds
    ({"paste": "SP1"}, "lot SP1 holds 0 in MAIN"),     # a lot of another warehouse
    ({"scope": "S1: 2"}, "one unit, not 2"),
    ({"scope": "S1"}, "1 serial numbers, the quantity is 2"),
])
def test_a_bad_pick_on_a_delivery_writes_nothing(shop, picks, message):
    receive(shop, shop.paste, "2", "SP1", warehouse=shop.spare)
    order = confirmed(shop, [(shop.paste, "7"), (shop.scope, "2")])
    defaults = {"paste": "P1: 6, P2: 1", "scope": "S1 S2"}
    if picks:
        defaults.update(picks)
    else:
        defaults["paste"] = ""
    before = counts()
    with pytest.raises(ValidationError) as refused:
        deliver(shop, order, {shop.paste: "7", shop.scope: "2"},
                {shop.paste: defaults["paste"], shop.scope: defaults["scope"]})
    assert any(message in m for ms in refused.value.field_errors.values() for m in ms), \
        refused.value.field_errors
    assert counts() == before and fresh(order.id).status == "confirmed"


def test_a_serial_shipped_twice_is_refused_when_the_second_draft_is_posted(shop):
    order = confirmed(shop, [(shop.scope, "2")])
    first = deliver(shop, order, {shop.scope: "1"}, {shop.scope: "S3"}, post=False)
    second = deliver(shop, fresh(order.id), {shop.scope: "1"}, {shop.scope: "S3"},
                     post=False)
    deliveries.post_delivery(delivery_id=first.id, **shop.kw)
    before = counts()
    with pytest.raises(ValidationError, match="S3 not in stock in MAIN"):
        deliveries.post_delivery(delivery_id=second.id, **shop.kw)
    assert counts() == before
    # and straight at the stock service: the serial has left
    with pytest.raises(InsufficientStock, match="not in stock"):
        stock.issue(company_id=shop.company.id, product_id=shop.scope.id,
                    warehouse_id=shop.warehouse.id, quantity="1", user=shop.user,
                    lot_id=lot("S3").id)
    assert_ledger(shop)


def test_the_stock_service_refuses_a_tracked_move_without_its_lot_or_with_another(shop):
    kw = {"company_id": shop.company.id, "warehouse_id": shop.warehouse.id, "user": shop.user}
    with pytest.raises(ValidationError, match="tracked by lot: name the lot"):
        stock.issue(product_id=shop.paste.id, quantity="1", **kw)
    with pytest.raises(ValidationError, match="is not one of PASTE"):
        stock.issue(product_id=shop.paste.id, quantity="1", lot_id=lot("S1").id, **kw)
    with pytest.raises(ValidationError, match="not tracked"):
        stock.issue(product_id=shop.widget.id, quantity="1", lot_id=lot("P1").id, **kw)
    assert_ledger(shop)


def test_one_click_shipping_takes_the_first_expiring_lots(shop):
    order = confirmed(shop, [(shop.paste, "5")])
    sales.ship_order(order_id=order.id, **shop.kw)
    assert (held("P2", shop.warehouse), held("P1", shop.warehouse)) == (D(0), D(5))
    assert fresh(order.id).deliveries[0].lines[0].lots == "P2: 4, P1: 1"
    assert_ledger(shop)


def test_a_sales_return_brings_back_the_lots_that_delivery_shipped(shop):
    order = confirmed(shop, [(shop.paste, "5"), (shop.scope, "2")])
    delivery = deliver(shop, order, {shop.paste: "5", shop.scope: "2"},
                       {shop.paste: "P1: 2, P2: 3", shop.scope: "S3, S1"})
    lines = {line.order_item.product_id: line.id for line in delivery.lines}
    returns.create_sales_return(
        delivery_id=delivery.id, quantities={lines[shop.paste.id]: "4", lines[shop.scope.id]: "1"},
        warehouse_id=shop.spare.id, reason="Damaged", post=True, **shop.kw)
    assert (held("P1", shop.spare), held("P2", shop.spare)) == (D(2), D(2))
    assert held("S3", shop.spare) == D(1) and held("S1", shop.spare) == D(0)
    returns.create_sales_return(
        delivery_id=delivery.id, quantities={lines[shop.paste.id]: "1", lines[shop.scope.id]: "1"},
        warehouse_id=shop.spare.id, reason="Damaged", post=True, **shop.kw)
    assert held("P2", shop.spare) == D(3) and held("S1", shop.spare) == D(1)
    assert_ledger(shop)


def test_a_purchase_return_sends_back_lots_that_order_received(shop):
    receipt = receive(shop, shop.paste, "5", "PX", expiry="2028-05-01")
    returns.create_purchase_return(
        order_id=receipt.order_id, quantities={receipt.lines[0].order_item_id: "2"},
        warehouse_id=shop.warehouse.id, reason="Wrong batch", post=True, **shop.kw)
    assert (held("PX", shop.warehouse), held("P1", shop.warehouse),
            held("P2", shop.warehouse)) == (D(3), D(6), D(4))
    assert_ledger(shop)


def test_production_consumes_first_expiring_lots_and_makes_a_lot_of_its_own(shop):
    kit = ProductFactory(company=shop.company, sku="KIT", tracking="lot")
    production.add_bom_line(product_id=kit.id, component_id=shop.paste.id, quantity="2",
                            **shop.kw)
    order = production.create_order(product_id=kit.id, quantity="3",
                                    component_warehouse_id=shop.warehouse.id,
                                    output_warehouse_id=shop.warehouse.id,
                                    planned_start=date.today(), **shop.kw)
    production.start_order(order_id=order.id, **shop.kw)
    production.complete_order(order_id=order.id, **shop.kw)
    assert (held("P2", shop.warehouse), held("P1", shop.warehouse)) == (D(0), D(4))
    assert held(order.number, shop.warehouse) == D(3)
    assert_ledger(shop)


def test_tracking_changes_only_while_the_product_has_no_stock(shop):
    with pytest.raises(ValidationError) as refused:
        catalog.update_product(product_id=shop.paste.id, **_product_values(shop.paste),
                               tracking="none", **shop.kw)
    assert "tracking changes only once it has no stock" in refused.value.field_errors[
        "tracking"][0]
    empty = ProductFactory(company=shop.company, sku="EMPTY")
    catalog.update_product(product_id=empty.id, **_product_values(empty), tracking="serial",
                           **shop.kw)
    assert db.session.get(Product, empty.id).tracking == "serial"
    with pytest.raises(ValidationError) as refused:
        catalog.update_product(product_id=empty.id, **_product_values(empty),
                               tracking="bogus", **shop.kw)
    assert refused.value.field_errors["tracking"] == ["Choose how the product is tracked."]


def _product_values(product) -> dict:
    return {name: getattr(product, name) for name in catalog.PRODUCT_FIELDS}


def test_a_manual_receipt_and_count_name_their_lot(shop):
    lots.with_lot(stock.receive, company_id=shop.company.id, product_id=shop.paste.id,
                  lot="M1", expiry="2031-02-03", create=True, warehouse_id=shop.warehouse.id,
                  quantity="2", user=shop.user)
    assert lot("M1").expiry == date(2031, 2, 3) and held("M1", shop.warehouse) == D(2)
    lots.with_lot(stock.adjust, company_id=shop.company.id, product_id=shop.paste.id,
                  lot="M1", warehouse_id=shop.warehouse.id, counted="5", user=shop.user)
    assert held("M1", shop.warehouse) == D(5)
    before = counts()
    with pytest.raises(ValidationError, match="enter the lot"):
        lots.with_lot(stock.issue, company_id=shop.company.id, product_id=shop.paste.id,
                      lot="", warehouse_id=shop.warehouse.id, quantity="1", user=shop.user)
    with pytest.raises(ValidationError, match="leave the lot empty"):
        lots.with_lot(stock.issue, company_id=shop.company.id, product_id=shop.widget.id,
                      lot="M1", warehouse_id=shop.warehouse.id, quantity="1", user=shop.user)
    with pytest.raises(ValidationError) as refused:  # the new lot is not kept
        lots.with_lot(stock.receive, company_id=shop.company.id, product_id=shop.paste.id,
                      lot="NEW", create=True, warehouse_id=shop.warehouse.id, quantity="x",
                      user=shop.user)
    assert "Enter a number" in said(refused.value)
    assert counts() == before
    assert_ledger(shop)


@pytest.mark.postgresql_only
def test_concurrent_moves_of_lots_never_overdraw_them_and_keep_the_ledger(shop, app):
    """16 threads each issue 1 from lot P1 (6 held) and put 1 into P2 then take it out:
    six issues succeed, the rest are refused, and every lot level is the sum of its ledger."""
    company_id, product_id, warehouse_id = shop.company.id, shop.paste.id, shop.warehouse.id
    p1, p2 = lot("P1").id, lot("P2").id
    db.session.rollback()
    results, errors, barrier = [], [], threading.Barrier(16)

    def work():
        with app.app_context():
            kw = {"company_id": company_id, "product_id": product_id,
                  "warehouse_id": warehouse_id, "quantity": "1", "user": None}
            try:
                barrier.wait()
                try:
                    stock.issue(lot_id=p1, **kw)
                    results.append("ok")
                except InsufficientStock:
                    results.append("short")
                stock.receive(lot_id=p2, **kw)
                stock.issue(lot_id=p2, **kw)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results.count("ok") == 6 and results.count("short") == 10
    assert held("P1", shop.warehouse) == D(0) and held("P2", shop.warehouse) == D(4)
    assert_ledger(shop)
