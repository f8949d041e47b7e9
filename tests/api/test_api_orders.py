"""The API creates what the pages create (#21: "an integrator can do with a token what a
user does in the pages"): a draft purchase order with its lines and a planned production
order, with every invalid field at once, nothing written then, an Idempotency-Key, and
another company's records refused."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models.production import ProductionOrder
from erp.models.purchasing import PurchaseOrder
from tests.api.test_api import bearer
from tests.factories.catalog import ProductFactory, SupplierFactory, WarehouseFactory
from tests.factories.production import BomLineFactory


@pytest.fixture
def plant(company):
    warehouse = WarehouseFactory(company=company, code="MAIN")
    supplier = SupplierFactory(company=company, name="Steel Mill")
    product = ProductFactory(company=company, sku="TABLE", cost_price=Decimal("40"))
    component = ProductFactory(company=company, sku="LEG", cost_price=Decimal("3.50"))
    BomLineFactory(company=company, product_id=product.id, component_id=component.id,
                   quantity=Decimal("4"))
    db.session.commit()
    return dict(warehouse=warehouse, supplier=supplier, product=product, component=component)


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_draft_purchase_order_is_created_with_its_lines_then_placed(client, plant,
                                                                      make_user):
    staff, manager = bearer(make_user("staff")), bearer(make_user("manager"))
    body = {"supplier_id": plant["supplier"].id, "warehouse_id": plant["warehouse"].id,
            "notes": "By API", "lines": [
                {"product_id": plant["component"].id, "quantity": "8", "tax_rate": "0"},
                {"product_id": plant["product"].id, "quantity": "1", "unit_cost": "39.00",
                 "tax_rate": "0"}]}
    key = {**staff, "Idempotency-Key": "po-1"}
    first = client.post("/api/v1/purchase-orders", headers=key, json=body)
    again = client.post("/api/v1/purchase-orders", headers=key, json=body)
    assert first.status_code == again.status_code == 201, first.get_json()
    assert again.get_json() == first.get_json() and count(PurchaseOrder) == 1
    order = first.get_json()
    assert order["status"] == "draft" and order["number"].startswith("PO-")
    assert order["supplier"] == "Steel Mill" and order["total"] == "67.00"
    assert [(line["sku"], line["unit_cost"]) for line in order["lines"]] == [
        ("LEG", "3.50"), ("TABLE", "39.00")]
    assert client.post(f"/api/v1/purchase-orders/{order['id']}/place",
                       headers=manager).get_json()["status"] == "ordered"
    assert client.post("/api/v1/purchase-orders", headers=bearer(make_user("viewer")),
                       json=body).status_code == 403


def test_an_invalid_purchase_order_is_a_422_with_every_field_and_nothing_is_written(
        client, plant, make_user, other_company):
    staff = bearer(make_user("staff"))
    response = client.post("/api/v1/purchase-orders", headers=staff, json={
        "supplier_id": plant["supplier"].id, "warehouse_id": plant["warehouse"].id,
        "lines": [{"product_id": plant["component"].id, "quantity": "-1"},
                  {"product_id": 999999, "quantity": "1"}]})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    assert "lines.0.quantity" in errors and any(key.startswith("lines.1.") for key in errors)
    stranger = bearer(make_user("admin", company=other_company))
    assert client.post("/api/v1/purchase-orders", headers=stranger, json={
        "supplier_id": plant["supplier"].id,
        "warehouse_id": plant["warehouse"].id}).status_code == 422
    assert count(PurchaseOrder) == 0


def test_a_production_order_is_planned_from_the_bill_of_materials(client, plant, make_user,
                                                                  other_company):
    staff = bearer(make_user("staff"))
    body = {"product_id": plant["product"].id, "quantity": "3",
            "component_warehouse_id": plant["warehouse"].id,
            "output_warehouse_id": plant["warehouse"].id, "planned_start": "2026-12-10"}
    created = client.post("/api/v1/production-orders", headers=staff, json=body)
    assert created.status_code == 201, created.get_json()
    order = created.get_json()
    assert order["status"] == "planned" and order["sku"] == "TABLE"
    assert order["quantity"] == "3.000" and order["component_warehouse_id"] == plant["warehouse"].id
    bad = client.post("/api/v1/production-orders", headers=staff, json={
        **body, "quantity": "0", "planned_end": "2026-12-01"})
    assert bad.status_code == 422 and len(bad.get_json()["errors"]) >= 2
    stranger = bearer(make_user("admin", company=other_company))
    assert client.post("/api/v1/production-orders", headers=stranger,
                       json=body).status_code == 422
    assert client.post("/api/v1/production-orders", headers=bearer(make_user("viewer")),
                       json=body).status_code == 403
    assert count(ProductionOrder) == 1


def test_a_drafts_lines_are_added_changed_and_removed_as_on_its_page(client, plant,
                                                                     make_user, other_company):
    staff, manager = bearer(make_user("staff")), bearer(make_user("manager"))
    order = client.post("/api/v1/purchase-orders", headers=staff, json={
        "supplier_id": plant["supplier"].id, "warehouse_id": plant["warehouse"].id,
        "lines": [{"product_id": plant["component"].id, "quantity": "8", "tax_rate": "0"}]}
                        ).get_json()
    url = f"/api/v1/purchase-orders/{order['id']}/lines"
    added = client.post(url, headers={**staff, "Idempotency-Key": "line-1"}, json={
        "product_id": plant["product"].id, "quantity": "2", "tax_rate": "0"})
    assert added.status_code == 201, added.get_json()
    assert [line["sku"] for line in added.get_json()["lines"]] == ["LEG", "TABLE"]
    leg, table = (line["id"] for line in added.get_json()["lines"])
    bad = client.post(url, headers=staff, json={"product_id": 999999, "quantity": "-1"})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    changed = client.patch(f"{url}/{leg}", headers=staff, json={"quantity": "10"})
    assert changed.status_code == 200, changed.get_json()
    line = changed.get_json()["lines"][0]
    assert (line["quantity"], line["unit_cost"]) == ("10.000", "3.50")  # the cost stays
    assert changed.get_json()["total"] == "115.00"
    removed = client.delete(f"{url}/{table}", headers=staff)
    assert removed.status_code == 200 and len(removed.get_json()["lines"]) == 1
    assert client.delete(f"{url}/{table}", headers=staff).status_code == 404
    assert client.post(url, headers=bearer(make_user("viewer")), json={
        "product_id": plant["product"].id, "quantity": "1"}).status_code == 403
    # placed, its lines are a manager's amendment (the service's rule): staff get 403
    client.post(f"/api/v1/purchase-orders/{order['id']}/place", headers=manager)
    assert client.patch(f"{url}/{leg}", headers=staff,
                        json={"quantity": "9"}).status_code == 403
    assert client.patch(f"{url}/{leg}", headers=manager,
                        json={"quantity": "9"}).status_code == 200
    stranger = bearer(make_user("admin", company=other_company))
    for method in ("PATCH", "DELETE"):
        assert client.open(f"{url}/{leg}", method=method, headers=stranger,
                           json={"quantity": "1"}).status_code == 404
    assert client.post(url, headers=stranger, json={
        "product_id": plant["product"].id, "quantity": "1"}).status_code == 404


def test_a_confirmed_sales_orders_lines_no_longer_change(client, plant, make_user, company):
    from tests.factories.sales import CustomerFactory

    customer = CustomerFactory(company=company)
    db.session.commit()
    manager = bearer(make_user("manager"))
    order = client.post("/api/v1/sales-orders", headers=manager, json={
        "customer_id": customer.id, "warehouse_id": plant["warehouse"].id,
        "lines": [{"product_id": plant["product"].id, "quantity": "1"}]}).get_json()
    url = f"/api/v1/sales-orders/{order['id']}/lines"
    line_id = order["lines"][0]["id"]
    discounted = client.patch(f"{url}/{line_id}", headers=manager,
                              json={"discount_percent": "10"})
    assert discounted.status_code == 200, discounted.get_json()
    assert discounted.get_json()["lines"][0]["quantity"] == "1.000"
    assert discounted.get_json()["lines"][0]["discount_percent"] == "10.000"
    # another order's line is not this order's
    other = client.post("/api/v1/sales-orders", headers=manager, json={
        "customer_id": customer.id}).get_json()
    assert client.delete(f"/api/v1/sales-orders/{other['id']}/lines/{line_id}",
                         headers=manager).status_code == 404
    client.post(f"/api/v1/sales-orders/{order['id']}/cancel", headers=manager)
    assert client.delete(f"{url}/{line_id}", headers=manager).status_code == 409
