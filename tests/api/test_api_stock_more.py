"""The API does what the remaining stock pages do (#21): receipts, issues and transfers of a
tracked product name its lot as the stock forms take it (the movement list shows it), a
quick count adjusts what is on hand, a manager revalues a product's cost, and the reorder
list is read and ordered (one draft purchase order per supplier); Idempotency-Keys, every
invalid field with nothing written, roles, another company's 404, list costs."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models.inventory import Lot, StockMovement
from erp.models.purchasing import PurchaseOrder
from tests.api.test_api import (assert_foreign, assert_posted_once, bearer,
                                shop)  # noqa: F401  (the fixture)
from tests.api.test_api_stock_documents import count, on_hand
from tests.conftest import count_queries
from tests.factories.catalog import ProductFactory, SupplierFactory, WarehouseFactory

D = Decimal


@pytest.fixture
def tracked(company):
    product = ProductFactory(company=company, sku="MILK", tracking="lot")
    db.session.commit()
    return product


def test_a_tracked_product_moves_by_the_lot_named(client, shop, company, tracked, make_user):
    staff = bearer(make_user("staff"))
    side = WarehouseFactory(company=company, code="SIDE")
    db.session.commit()
    main = shop["warehouse"]
    receipt = {"kind": "receipt", "product_id": tracked.id, "warehouse_id": main.id,
               "quantity": "5", "lot": "L-1", "expiry": "2030-01-31"}
    received = assert_posted_once(client, "/api/v1/stock-movements", staff, receipt, "lot-1")
    assert count(Lot) == 1
    assert [(m["lot"], m["quantity"]) for m in received["movements"]] == [
        ("L-1", "5.000")]
    assert db.session.scalar(select(Lot.expiry)).isoformat() == "2030-01-31"
    issued = client.post("/api/v1/stock-movements", headers=staff, json={
        "kind": "issue", "product_id": tracked.id, "warehouse_id": main.id, "quantity": "2",
        "lot": "L-1"})
    assert issued.status_code == 201 and issued.get_json()["movements"][0]["lot"] == "L-1"
    moved = client.post("/api/v1/stock-movements", headers=staff, json={
        "kind": "transfer", "product_id": tracked.id, "warehouse_id": main.id,
        "to_warehouse_id": side.id, "quantity": "1", "lot": "L-1"})
    assert moved.status_code == 201, moved.get_json()
    assert [m["lot"] for m in moved.get_json()["movements"]] == ["L-1", "L-1"]
    assert (on_hand(tracked, main), on_hand(tracked, side)) == (D(2), D(1))
    listed = client.get(f"/api/v1/stock-movements?product={tracked.sku}",
                        headers=staff).get_json()
    assert {row["lot"] for row in listed["items"]} == {"L-1"}
    plain = client.get(f"/api/v1/stock-movements?product={shop['product'].sku}",
                       headers=staff).get_json()
    assert [row["lot"] for row in plain["items"]] == [None]


def test_a_lot_missing_unknown_or_not_wanted_is_a_422_and_nothing_moves(client, shop,
                                                                        tracked):
    headers = bearer(shop["manager"])
    main = shop["warehouse"]
    before = count(StockMovement)
    cases = [
        {"kind": "receipt", "product_id": tracked.id, "quantity": "1"},  # no lot
        {"kind": "issue", "product_id": tracked.id, "quantity": "1", "lot": "NOPE"},
        {"kind": "receipt", "product_id": shop["product"].id, "quantity": "1", "lot": "L-9"},
    ]
    for body in cases:
        response = client.post("/api/v1/stock-movements", headers=headers,
                               json={"warehouse_id": main.id, **body})
        assert response.status_code == 422, (body, response.get_json())
        assert response.mimetype == "application/problem+json"
        assert "lot" in response.get_json()["errors"], body
    bad_expiry = client.post("/api/v1/stock-movements", headers=headers, json={
        "kind": "receipt", "product_id": tracked.id, "warehouse_id": main.id,
        "quantity": "1", "lot": "L-2", "expiry": "31.01.2030x"})
    assert bad_expiry.status_code == 422 and "expiry" in bad_expiry.get_json()["errors"]
    assert count(StockMovement) == before and count(Lot) == 0


def test_a_quick_count_adjusts_what_is_on_hand(client, shop, tracked, make_user):
    staff, viewer = bearer(make_user("staff")), bearer(make_user("viewer"))
    main, bolt = shop["warehouse"], shop["product"]
    body = {"product_id": bolt.id, "warehouse_id": main.id, "counted": "7", "note": "Shelf"}
    assert client.post("/api/v1/stock-adjustments", headers=viewer, json=body
                       ).status_code == 403
    first = assert_posted_once(client, "/api/v1/stock-adjustments", staff, body, "count-1")
    assert [(m["kind"], m["quantity"]) for m in first["movements"]] == [
        ("adjustment", "-3.000")]
    assert on_hand(bolt, main) == D(7)
    same = client.post("/api/v1/stock-adjustments", headers=staff, json=body)
    assert same.status_code == 201 and same.get_json()["movements"] == []  # it matches
    wrong = client.post("/api/v1/stock-adjustments", headers=staff, json={
        **body, "counted": "-1"})
    assert wrong.status_code == 422 and "counted" in wrong.get_json()["errors"]
    # a tracked product is counted by its lot
    client.post("/api/v1/stock-movements", headers=staff, json={
        "kind": "receipt", "product_id": tracked.id, "warehouse_id": main.id,
        "quantity": "4", "lot": "L-1"})
    no_lot = client.post("/api/v1/stock-adjustments", headers=staff, json={
        "product_id": tracked.id, "warehouse_id": main.id, "counted": "3"})
    assert no_lot.status_code == 422 and "lot" in no_lot.get_json()["errors"]
    counted = client.post("/api/v1/stock-adjustments", headers=staff, json={
        "product_id": tracked.id, "warehouse_id": main.id, "counted": "3", "lot": "L-1"})
    assert counted.status_code == 201, counted.get_json()
    assert counted.get_json()["movements"][0]["lot"] == "L-1"
    assert on_hand(tracked, main) == D(3)


def test_a_manager_revalues_a_products_cost(client, shop, make_user):
    url = f"/api/v1/products/{shop['product'].id}/revalue"
    staff, manager = bearer(make_user("staff")), bearer(shop["manager"])
    body = {"cost_price": "7.25", "reason": "Supplier price rise"}
    assert client.post(url, headers=staff, json=body).status_code == 403
    empty = client.post(url, headers=manager, json={"cost_price": "7.25", "reason": ""})
    assert empty.status_code == 422 and "reason" in empty.get_json()["errors"]
    done = client.post(url, headers=manager, json=body)
    assert done.status_code == 200 and done.get_json()["cost_price"] == "7.25"
    same = client.post(url, headers=manager, json=body)
    assert same.status_code == 422 and "cost_price" in same.get_json()["errors"]


@pytest.fixture
def low(shop, company):
    """Three products below their minimum stock: two of one supplier, one of another."""
    acme, bolts = SupplierFactory(company=company, name="Acme"), SupplierFactory(
        company=company, name="Bolts Inc")
    products = [ProductFactory(company=company, sku=f"LOW-{index}", min_stock=D(5),
                               preferred_supplier_id=supplier.id)
                for index, supplier in enumerate((acme, acme, bolts))]
    db.session.commit()
    return products


def test_the_reorder_list_is_read_and_ordered_one_draft_per_supplier(client, shop, low,
                                                                     make_user):
    viewer, staff = bearer(make_user("viewer")), bearer(make_user("staff"))
    rows = client.get("/api/v1/reorder-suggestions", headers=viewer).get_json()
    assert [(row["sku"], row["supplier"], row["suggested"]) for row in rows["items"]] == [
        ("LOW-0", "Acme", "5.000"), ("LOW-1", "Acme", "5.000"),
        ("LOW-2", "Bolts Inc", "5.000")]
    body = {"warehouse_id": shop["warehouse"].id,
            "lines": [{"product_id": low[0].id, "quantity": "8"}, {"product_id": low[1].id},
                      {"product_id": low[2].id}]}
    url = "/api/v1/reorder-suggestions/purchase-orders"
    assert client.post(url, headers=viewer, json=body).status_code == 403
    orders = assert_posted_once(client, url, staff, body, "reorder-1")["purchase_orders"]
    assert count(PurchaseOrder) == 2
    assert sorted((order["supplier"], order["status"]) for order in orders) == [
        ("Acme", "draft"), ("Bolts Inc", "draft")]
    acme = next(order for order in orders if order["supplier"] == "Acme")
    detail = client.get(f"/api/v1/purchase-orders/{acme['id']}", headers=staff).get_json()
    assert sorted((line["sku"], line["quantity"]) for line in detail["lines"]) == [
        ("LOW-0", "8.000"), ("LOW-1", "5.000")]
    # what is ordered now counts as on order: nothing more is suggested
    after = client.get("/api/v1/reorder-suggestions", headers=viewer).get_json()["items"]
    assert {row["suggested"] for row in after} <= {"0.000"}


def test_a_product_that_cannot_be_reordered_is_a_422_on_its_line_and_nothing_is_made(
        client, shop, low, company):
    orphan = ProductFactory(company=company, sku="ORPHAN", min_stock=D(5))
    db.session.commit()
    headers = bearer(shop["manager"])
    response = client.post("/api/v1/reorder-suggestions/purchase-orders", headers=headers,
                           json={"warehouse_id": shop["warehouse"].id, "lines": [
                               {"product_id": low[0].id}, {"product_id": shop["product"].id},
                               {"product_id": orphan.id}]})
    assert response.status_code == 422, response.get_json()
    assert set(response.get_json()["errors"]) == {"lines.1.quantity", "lines.2.quantity"}
    twice = client.post("/api/v1/reorder-suggestions/purchase-orders", headers=headers,
                        json={"warehouse_id": shop["warehouse"].id, "lines": [
                            {"product_id": low[0].id}, {"product_id": low[0].id}]})
    assert twice.status_code == 422
    assert count(PurchaseOrder) == 0


def test_the_reorder_list_costs_the_same_for_more_rows(client, shop, low, company):
    headers = bearer(shop["manager"])
    client.get("/api/v1/reorder-suggestions", headers=headers)  # the token's first use
    counts = []
    for more in (0, 5):
        for index in range(more):
            ProductFactory(company=company, sku=f"MORE-{index}", min_stock=D(3),
                           preferred_supplier_id=low[0].preferred_supplier_id)
        db.session.commit()
        with count_queries() as counter:
            answer = client.get("/api/v1/reorder-suggestions", headers=headers)
        assert answer.status_code == 200 and len(answer.get_json()["items"]) == 3 + more
        counts.append(counter.count)
    assert counts[0] == counts[1] and counts[0] <= 5, counts


def test_another_companys_stock_records_are_404_or_refused(client, shop, low, tracked,
                                                          make_user, other_company):
    stranger = bearer(make_user("admin", company=other_company))
    mine = WarehouseFactory(company=other_company)
    db.session.commit()
    assert_foreign(client, stranger, (
        ("POST", f"/api/v1/products/{shop['product'].id}/revalue"),
        ("POST", "/api/v1/stock-adjustments")),
        (), {"cost_price": "1.00", "reason": "x", "product_id": shop["product"].id,
             "warehouse_id": mine.id, "counted": "1"})
    # another company's product or warehouse cannot be moved, counted or reordered
    assert client.post("/api/v1/stock-movements", headers=stranger, json={
        "kind": "receipt", "product_id": tracked.id, "warehouse_id": mine.id, "quantity": "1",
        "lot": "X"}).status_code == 404
    refused = client.post("/api/v1/reorder-suggestions/purchase-orders", headers=stranger,
                          json={"warehouse_id": mine.id,
                                "lines": [{"product_id": low[0].id}]})
    assert refused.status_code == 422
    assert client.get("/api/v1/reorder-suggestions", headers=stranger).get_json()["items"] == []
    assert count(PurchaseOrder) == 0 and count(Lot) == 0


def test_a_count_sheets_lines_are_counted_and_removed_one_by_one(client, shop, company,
                                                                  make_user):
    other = ProductFactory(company=company, sku="NUT-1")
    db.session.commit()
    staff, viewer = bearer(make_user("staff")), bearer(make_user("viewer"))
    sheet = client.post("/api/v1/stock-counts", headers=staff,
                        json={"warehouse_id": shop["warehouse"].id}).get_json()
    lines = f"/api/v1/stock-counts/{sheet['id']}/lines"
    line_id = sheet["lines"][0]["id"]
    assert client.patch(f"{lines}/{line_id}", headers=viewer, json={"counted": "8"}
                        ).status_code == 403
    counted = client.patch(f"{lines}/{line_id}", headers=staff, json={"counted": "8"})
    assert counted.status_code == 200 and counted.get_json()["lines"][0]["counted"] == "8.000"
    added = client.post(lines, headers={**staff, "Idempotency-Key": "cl-1"},
                        json={"product_id": other.id, "counted": "2"})
    assert added.status_code == 201, added.get_json()
    assert sorted(line["sku"] for line in added.get_json()["lines"]) == ["BOLT-1", "NUT-1"]
    removed = client.delete(f"{lines}/{line_id}", headers=staff)
    assert removed.status_code == 200
    assert [line["sku"] for line in removed.get_json()["lines"]] == ["NUT-1"]
    client.post(f"/api/v1/stock-counts/{sheet['id']}/cancel", headers=staff)
    late = client.post(lines, headers=staff, json={"product_id": other.id, "counted": "1"})
    assert late.status_code == 409
