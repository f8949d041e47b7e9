"""The API does what the transfer and count sheet pages do (#21): a draft transfer with its
lines, posted by a manager (the stock moves) or cancelled; a count sheet of a warehouse,
its counts entered, posted by a manager (the differences adjusted); every invalid line at
once with nothing written, an Idempotency-Key, roles, another company's 404, list costs."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from erp.extensions import db
from erp.models.inventory import StockLevel, StockMovement
from erp.models.stock_documents import StockCount, StockTransfer
from tests.api.test_api import (assert_constant_list_queries, assert_foreign, bearer,
                                shop)  # noqa: F401  (the fixture)
from tests.factories.catalog import ProductFactory, WarehouseFactory

D = Decimal


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def on_hand(product, warehouse) -> Decimal:
    db.session.rollback()
    return db.session.scalar(select(StockLevel.on_hand).where(
        StockLevel.product_id == product.id, StockLevel.warehouse_id == warehouse.id)) or D(0)


def test_a_transfer_is_drafted_with_its_lines_and_posted_by_a_manager(client, shop, company,
                                                                     make_user):
    side = WarehouseFactory(company=company, code="SIDE")
    db.session.commit()
    staff, manager = bearer(make_user("staff")), bearer(shop["manager"])
    body = {"from_warehouse_id": shop["warehouse"].id, "to_warehouse_id": side.id,
            "notes": "By API", "lines": [{"product_id": shop["product"].id, "quantity": "3"}]}
    key = {**staff, "Idempotency-Key": "tr-1"}
    first = client.post("/api/v1/stock-transfers", headers=key, json=body)
    again = client.post("/api/v1/stock-transfers", headers=key, json=body)
    assert first.status_code == again.status_code == 201, first.get_json()
    assert again.get_json() == first.get_json() and count(StockTransfer) == 1
    transfer = first.get_json()
    assert transfer["status"] == "draft" and transfer["number"].startswith("TR-")
    assert (transfer["from_warehouse"], transfer["to_warehouse"]) == ("MAIN", "SIDE")
    assert [(line["sku"], line["quantity"]) for line in transfer["lines"]] == [
        ("BOLT-1", "3.000")]
    assert transfer["actions"] == ["cancel"]  # staff: posting is a manager's
    url = f"/api/v1/stock-transfers/{transfer['id']}/post"
    assert client.post(url, headers=staff).status_code == 403
    assert count(StockMovement) == 1  # the fixture's receipt only
    posted = client.post(url, headers=manager)
    assert posted.status_code == 200 and posted.get_json()["status"] == "posted"
    assert (on_hand(shop["product"], shop["warehouse"]), on_hand(shop["product"], side)) == (
        D(7), D(3))
    assert client.post(url, headers=manager).status_code == 200  # a replay moves nothing
    assert count(StockMovement) == 3
    draft = client.post("/api/v1/stock-transfers", headers=staff, json=body).get_json()
    cancelled = client.post(f"/api/v1/stock-transfers/{draft['id']}/cancel", headers=staff)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    listed = client.get("/api/v1/stock-transfers?status=posted", headers=staff).get_json()
    assert [row["id"] for row in listed["items"]] == [transfer["id"]]


def test_an_invalid_transfer_is_a_422_with_every_field_and_nothing_is_written(client, shop,
                                                                             company):
    service = ProductFactory(company=company, sku="FIT", kind="service")
    db.session.commit()
    headers = bearer(shop["manager"])
    same = client.post("/api/v1/stock-transfers", headers=headers, json={
        "from_warehouse_id": shop["warehouse"].id, "to_warehouse_id": shop["warehouse"].id})
    assert same.status_code == 422 and "to_warehouse_id" in same.get_json()["errors"]
    lines = client.post("/api/v1/stock-transfers", headers=headers, json={
        "from_warehouse_id": shop["warehouse"].id,
        "to_warehouse_id": WarehouseFactory(company=company).id,
        "lines": [{"product_id": shop["product"].id, "quantity": "-1"},
                  {"product_id": service.id, "quantity": "1"}]})
    assert lines.status_code == 422 and lines.mimetype == "application/problem+json"
    errors = lines.get_json()["errors"]
    assert any(key.startswith("lines.0.") for key in errors)
    assert any(key.startswith("lines.1.") for key in errors)
    assert count(StockTransfer) == 0


def test_a_count_sheet_is_made_counted_and_posted_by_a_manager(client, shop, make_user):
    staff, manager = bearer(make_user("staff")), bearer(shop["manager"])
    created = client.post("/api/v1/stock-counts", headers={**staff, "Idempotency-Key": "sc-1"},
                          json={"warehouse_id": shop["warehouse"].id, "notes": "Year end"})
    assert created.status_code == 201, created.get_json()
    sheet = created.get_json()
    assert sheet["status"] == "draft" and sheet["warehouse"] == "MAIN"
    assert [(line["sku"], line["expected"], line["counted"]) for line in sheet["lines"]] == [
        ("BOLT-1", "10.000", None)]
    url = f"/api/v1/stock-counts/{sheet['id']}/counts"
    bad = client.post(url, headers=staff, json={"lines": [
        {"product_id": shop["product"].id, "counted": "7"},
        {"product_id": 999999, "counted": "1"}]})
    assert bad.status_code == 422 and list(bad.get_json()["errors"]) == ["lines.1.product"]
    counted = client.post(url, headers=staff, json={"lines": [
        {"product_id": shop["product"].id, "counted": "7"}]})
    assert counted.status_code == 200, counted.get_json()
    assert counted.get_json()["lines"][0]["counted"] == "7.000"
    assert client.post(f"/api/v1/stock-counts/{sheet['id']}/post", headers=staff
                       ).status_code == 403
    posted = client.post(f"/api/v1/stock-counts/{sheet['id']}/post", headers=manager)
    assert posted.status_code == 200 and posted.get_json()["status"] == "posted"
    assert posted.get_json()["lines"][0]["adjusted"] == "-3.000"
    assert on_hand(shop["product"], shop["warehouse"]) == D(7)
    # a posted sheet takes no more counts (409: the workflow's message)
    assert client.post(url, headers=staff, json={"lines": [
        {"product_id": shop["product"].id, "counted": "1"}]}).status_code == 409


def test_another_companys_stock_documents_are_404(client, shop, company, make_user,
                                                  other_company):
    side = WarehouseFactory(company=company, code="SIDE")
    db.session.commit()
    manager = bearer(shop["manager"])
    transfer = client.post("/api/v1/stock-transfers", headers=manager, json={
        "from_warehouse_id": shop["warehouse"].id, "to_warehouse_id": side.id}).get_json()
    sheet = client.post("/api/v1/stock-counts", headers=manager,
                        json={"warehouse_id": shop["warehouse"].id}).get_json()
    stranger = bearer(make_user("admin", company=other_company))
    assert_foreign(client, stranger, (
        ("GET", f"/api/v1/stock-transfers/{transfer['id']}"),
        ("POST", f"/api/v1/stock-transfers/{transfer['id']}/post"),
        ("POST", f"/api/v1/stock-transfers/{transfer['id']}/cancel"),
        ("GET", f"/api/v1/stock-counts/{sheet['id']}"),
        ("POST", f"/api/v1/stock-counts/{sheet['id']}/counts"),
        ("POST", f"/api/v1/stock-counts/{sheet['id']}/refresh"),
        ("POST", f"/api/v1/stock-counts/{sheet['id']}/post"),
        ("POST", f"/api/v1/stock-counts/{sheet['id']}/cancel")),
        ("/api/v1/stock-transfers", "/api/v1/stock-counts"),
        {"lines": [{"product_id": shop["product"].id, "counted": "1"}]})
    # another company's warehouses cannot be used
    assert client.post("/api/v1/stock-counts", headers=stranger, json={
        "warehouse_id": shop["warehouse"].id}).status_code == 422
    assert count(StockCount) == 1 and count(StockTransfer) == 1


def test_stock_document_lists_cost_the_same_for_more_rows(client, shop, company):
    side = WarehouseFactory(company=company, code="SIDE")
    db.session.commit()
    manager = bearer(shop["manager"])
    for _ in range(3):
        client.post("/api/v1/stock-transfers", headers=manager, json={
            "from_warehouse_id": shop["warehouse"].id, "to_warehouse_id": side.id,
            "lines": [{"product_id": shop["product"].id, "quantity": "1"}]})
        client.post("/api/v1/stock-counts", headers=manager,
                    json={"warehouse_id": shop["warehouse"].id})
    assert count(StockTransfer) == 3 and count(StockCount) == 3
    assert_constant_list_queries(client, manager, (
        "/api/v1/stock-transfers", "/api/v1/stock-counts"), per_pages=(1, 50))
