"""The user picks the lots a tracked product moves where it leaves or comes back: "Ship
all", a production order's completion and both kinds of return take the lots named
(first-expiring, or the lines' own, when none is named), and refuse a lot of another
product, line or warehouse, more than a lot holds, or a serial number twice, with a clear
message and nothing written."""
from datetime import date
from decimal import Decimal

import pytest

from erp.models.production import ProductionOrder
from erp.services import ValidationError, production, returns, sales
from tests.factories.catalog import ProductFactory
from tests.services.test_lots import (confirmed, counts, deliver, held, lot, receive,  # noqa: F401
                                      said, shop)
from tests.services.test_sales import assert_ledger, env, fresh  # noqa: F401

D = Decimal


def test_ship_all_takes_the_lots_the_user_named_instead_of_the_first_expiring(shop):
    order = confirmed(shop, [(shop.paste, "5"), (shop.scope, "2")])
    paste, scope = (item.id for item in order.items)
    sales.ship_order(order_id=order.id, lots={paste: "P1: 5", scope: "S2 S3"}, **shop.kw)
    assert (held("P1", shop.warehouse), held("P2", shop.warehouse)) == (D(1), D(4))
    assert held("S1", shop.warehouse) == D(1) and held("S2", shop.warehouse) == D(0)
    assert [line.lots for line in fresh(order.id).deliveries[0].lines] == ["P1", "S2, S3"]
    assert_ledger(shop)


def test_ship_all_with_a_line_left_empty_takes_its_first_expiring_lots(shop):
    order = confirmed(shop, [(shop.paste, "5")])
    sales.ship_order(order_id=order.id, lots={order.items[0].id: "  "}, **shop.kw)
    assert fresh(order.id).deliveries[0].lines[0].lots == "P2: 4, P1: 1"


@pytest.mark.parametrize("paste, scope, message", [
    ("S1: 5", "S2 S3", "no lot S1 of PASTE"),                # a lot of another product
    ("P2: 5", "S2 S3", "lot P2 holds 4 in MAIN"),             # more than the lot holds
    ("P1: 5", "S2 S2", "serial number S2 is named twice"),   # one serial twice
    ("P1: 5", "S2 S9", "no serial number S9 of SCOPE"),
])
def test_ship_all_refuses_a_bad_pick_and_ships_nothing(shop, paste, scope, message):
    order = confirmed(shop, [(shop.paste, "5"), (shop.scope, "2")])
    ids = [item.id for item in order.items]
    before = counts()
    with pytest.raises(ValidationError) as refused:
        sales.ship_order(order_id=order.id, lots=dict(zip(ids, (paste, scope))), **shop.kw)
    assert message in said(refused.value)
    assert counts() == before and fresh(order.id).status == "confirmed"
    assert fresh(order.id).deliveries == []


def test_a_lot_of_another_warehouse_is_refused(shop):
    receive(shop, shop.paste, "3", "P7", warehouse=shop.spare)
    order = confirmed(shop, [(shop.paste, "2")])
    with pytest.raises(ValidationError) as refused:
        sales.ship_order(order_id=order.id, lots={order.items[0].id: "P7"}, **shop.kw)
    assert "lot P7 holds 0 in MAIN" in said(refused.value)


def started_kit(shop, components: dict, *, tracking="lot"):
    """A production order of 3 KIT (tracked by `tracking`) from {component: quantity per
    kit}, started (components reserved), and {component id: its line id}."""
    kit = ProductFactory(company=shop.company, sku="KIT", tracking=tracking)
    for component, quantity in components.items():
        production.add_bom_line(product_id=kit.id, component_id=component.id,
                                quantity=quantity, **shop.kw)
    order = production.create_order(product_id=kit.id, quantity="3",
                                    component_warehouse_id=shop.warehouse.id,
                                    output_warehouse_id=shop.warehouse.id,
                                    planned_start=date.today(), **shop.kw)
    production.start_order(order_id=order.id, **shop.kw)
    order = fresh_production(order.id)
    return order, {line.component_id: line.id for line in order.components}


def _started_kit(shop):
    return started_kit(shop, {shop.paste: "2", shop.scope: "1"})


def fresh_production(order_id) -> ProductionOrder:
    from erp.extensions import db
    db.session.rollback()
    return db.session.get(ProductionOrder, order_id)


def test_completing_a_production_order_consumes_the_lots_the_user_named(shop):
    order, lines = _started_kit(shop)
    production.complete_order(order_id=order.id, lots={
        lines[shop.paste.id]: "P1: 6", lines[shop.scope.id]: "S3, S2, S1"}, **shop.kw)
    assert (held("P1", shop.warehouse), held("P2", shop.warehouse)) == (D(0), D(4))
    assert fresh_production(order.id).status == "done"
    assert_ledger(shop)


def test_completing_refuses_bad_lots_naming_every_line_and_consumes_nothing(shop):
    order, lines = _started_kit(shop)
    before = counts()
    with pytest.raises(ValidationError) as refused:
        production.complete_order(order_id=order.id, lots={
            lines[shop.paste.id]: "P2: 6", lines[shop.scope.id]: "S1 S1 S2"}, **shop.kw)
    assert "lot P2 holds 4 in MAIN" in said(refused.value)
    assert "serial number S1 is named twice" in said(refused.value)
    assert set(refused.value.field_errors) == {f"lot-{lines[shop.paste.id]}",
                                               f"lot-{lines[shop.scope.id]}"}
    assert counts() == before and fresh_production(order.id).status == "in_progress"


def _delivered(shop):
    order = confirmed(shop, [(shop.paste, "5"), (shop.scope, "2")])
    delivery = deliver(shop, order, {shop.paste: "5", shop.scope: "2"},
                       {shop.paste: "P1: 2, P2: 3", shop.scope: "S3, S1"})
    return delivery, {line.order_item.product_id: line.id for line in delivery.lines}


def test_a_sales_return_brings_back_the_lots_and_serials_the_user_names(shop):
    delivery, lines = _delivered(shop)
    draft = returns.create_sales_return(
        delivery_id=delivery.id, quantities={lines[shop.paste.id]: "2", lines[shop.scope.id]: "1"},
        lots={lines[shop.paste.id]: "P2: 2", lines[shop.scope.id]: "S1"},
        warehouse_id=shop.spare.id, reason="Damaged", **shop.kw)
    assert [line.lots for line in draft.lines] == ["P2", "S1"]
    returns.post_sales_return(return_id=draft.id, **shop.kw)
    assert (held("P2", shop.spare), held("P1", shop.spare)) == (D(2), D(0))
    assert (held("S1", shop.spare), held("S3", shop.spare)) == (D(1), D(0))
    assert_ledger(shop)


@pytest.mark.parametrize("paste, scope, message", [
    ("P1: 3", "", "P1: only 2 of the lots"),           # more than that line shipped of it
    ("S2: 3", "", "S2 is not among the lots"),         # another product's, not shipped
    ("", "S2", "S2 is not among the lots"),            # a serial that line did not ship
])
def test_a_sales_return_refuses_lots_its_delivery_did_not_ship(shop, paste, scope, message):
    delivery, lines = _delivered(shop)
    before = counts()
    with pytest.raises(ValidationError) as refused:
        returns.create_sales_return(
            delivery_id=delivery.id,
            quantities={lines[shop.paste.id]: "3", lines[shop.scope.id]: "1"},
            lots={lines[shop.paste.id]: paste, lines[shop.scope.id]: scope},
            warehouse_id=shop.spare.id, reason="Damaged", **shop.kw)
    assert message in said(refused.value)
    assert counts() == before


def test_a_serial_number_comes_back_only_once(shop):
    delivery, lines = _delivered(shop)
    kw = {"delivery_id": delivery.id, "quantities": {lines[shop.scope.id]: "1"},
          "lots": {lines[shop.scope.id]: "S3"}, "warehouse_id": shop.spare.id,
          "reason": "Broken", **shop.kw}
    returns.create_sales_return(post=True, **kw)
    before = counts()
    with pytest.raises(ValidationError) as refused:
        returns.create_sales_return(**kw)
    assert "S3 is not among the lots" in said(refused.value) and "(S1)" in said(refused.value)
    draft = returns.create_sales_return(**kw | {"lots": {lines[shop.scope.id]: "S1"}})
    returns.post_sales_return(return_id=draft.id, **shop.kw)
    assert counts()[0] == before[0] + 1 and held("S1", shop.spare) == D(1)
    assert_ledger(shop)


def test_a_draft_whose_lot_came_back_meanwhile_is_refused_on_posting(shop):
    delivery, lines = _delivered(shop)
    kw = {"delivery_id": delivery.id, "quantities": {lines[shop.scope.id]: "1"},
          "lots": {lines[shop.scope.id]: "S3"}, "warehouse_id": shop.spare.id,
          "reason": "Broken", **shop.kw}
    draft = returns.create_sales_return(**kw)
    returns.create_sales_return(post=True, **kw)
    before = counts()
    with pytest.raises(ValidationError) as refused:
        returns.post_sales_return(return_id=draft.id, **shop.kw)
    assert "S3 is not among the lots" in said(refused.value)
    assert counts() == before


def test_a_purchase_return_sends_back_the_lots_named_from_that_order_and_warehouse(shop):
    receipt = receive(shop, shop.paste, "5", "PX: 3, PY: 2")
    item_id = receipt.lines[0].order_item_id
    kw = {"order_id": receipt.order_id, "quantities": {item_id: "2"}, "reason": "Wrong batch",
          **shop.kw}
    before = counts()
    for picked, warehouse, message in [
            ("P1", shop.warehouse, "P1 is not among the lots"),   # another order's lot
            ("PY: 2", shop.spare, "PY is not among the lots"),   # not in that warehouse
            ("PY: 3", shop.warehouse, "add up to 3")]:
        with pytest.raises(ValidationError) as refused:
            returns.create_purchase_return(lots={item_id: picked}, warehouse_id=warehouse.id,
                                           **kw)
        assert message in said(refused.value), picked
    assert counts() == before
    returns.create_purchase_return(lots={item_id: "PY"}, warehouse_id=shop.warehouse.id,
                                   post=True, **kw)
    assert (held("PX", shop.warehouse), held("PY", shop.warehouse)) == (D(3), D(0))
    assert_ledger(shop)
