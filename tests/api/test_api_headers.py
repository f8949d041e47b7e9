"""The API edits a draft's header as the documents' edit pages do (#21): PATCH on a sales
order, a purchase order, a production order and a stock transfer changes the fields sent
(the rest stays) through the page's service; a document past its draft (planned) state is
a 409, a bad field a 422 with the fields, nothing written either way; staff, not viewers;
another company's document is a 404."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from erp.extensions import db
from erp.models.production import ProductionOrder
from erp.models.purchasing import PurchaseOrder
from erp.models.sales import SalesOrder
from erp.models.stock_documents import StockTransfer
from tests.api.test_api import assert_foreign, bearer, shop  # noqa: F401  (the fixture)
from tests.factories.catalog import ProductFactory, SupplierFactory, WarehouseFactory
from tests.factories.production import BomLineFactory
from tests.factories.sales import CustomerFactory


def fresh(model, record_id: int):
    db.session.rollback()
    return db.session.get(model, record_id)


@pytest.fixture
def drafts(client, shop, company):
    """A draft of each document whose page has a header edit, made through the API."""
    side = WarehouseFactory(company=company, code="SIDE")
    supplier = SupplierFactory(company=company)
    part = ProductFactory(company=company, sku="PART-1", kind="component")
    BomLineFactory(company=company, product_id=shop["product"].id, component_id=part.id)
    db.session.commit()
    manager = bearer(shop["manager"])
    made = {
        "sales-orders": client.post("/api/v1/sales-orders", headers=manager, json={
            "customer_id": shop["customer"].id, "notes": "first"}),
        "purchase-orders": client.post("/api/v1/purchase-orders", headers=manager, json={
            "supplier_id": supplier.id, "warehouse_id": shop["warehouse"].id,
            "notes": "first", "lines": [{"product_id": part.id, "quantity": "2"}]}),
        "production-orders": client.post("/api/v1/production-orders", headers=manager, json={
            "product_id": shop["product"].id, "quantity": "2",
            "component_warehouse_id": shop["warehouse"].id,
            "output_warehouse_id": shop["warehouse"].id,
            "planned_start": date.today().isoformat(), "notes": "first"}),
        "stock-transfers": client.post("/api/v1/stock-transfers", headers=manager, json={
            "from_warehouse_id": shop["warehouse"].id, "to_warehouse_id": side.id,
            "notes": "first",
            "lines": [{"product_id": shop["product"].id, "quantity": "1"}]}),
    }
    for kind, response in made.items():
        assert response.status_code == 201, (kind, response.get_json())
    return {kind: response.get_json() for kind, response in made.items()} | {"side": side}


MODELS = {"sales-orders": SalesOrder, "purchase-orders": PurchaseOrder,
          "production-orders": ProductionOrder, "stock-transfers": StockTransfer}
# a step that takes each past the state its header may change in
CLOSING = {"sales-orders": "cancel", "purchase-orders": "place",
           "production-orders": "cancel", "stock-transfers": "cancel"}


def test_a_drafts_header_changes_the_fields_sent_and_keeps_the_rest(client, shop, drafts,
                                                                    make_user):
    staff = bearer(make_user("staff"))
    later = (date.today() + timedelta(days=9)).isoformat()
    changes = {"sales-orders": {"requested_date": later},
               "purchase-orders": {"expected_date": later},
               "production-orders": {"quantity": "5", "planned_end": later},
               "stock-transfers": {"to_warehouse_id": drafts["side"].id}}
    for kind, change in changes.items():
        before = drafts[kind]
        response = client.patch(f"/api/v1/{kind}/{before['id']}", headers=staff,
                                json={"notes": "By API", **change})
        assert response.status_code == 200, (kind, response.get_json())
        after = response.get_json()
        assert after["notes"] == "By API" and after["number"] == before["number"], kind
        for key, value in change.items():
            assert after[key] == (value if key != "quantity" else "5.000"), kind
        kept = set(before) - set(change) - {"notes", "actions", "components", "lines"}
        assert {key: after[key] for key in kept} == {key: before[key] for key in kept}, kind
    # a date the edit form may empty is cleared with null
    cleared = client.patch(f"/api/v1/purchase-orders/{drafts['purchase-orders']['id']}",
                           headers=staff, json={"expected_date": None})
    assert cleared.status_code == 200 and cleared.get_json()["expected_date"] is None
    # the production order's components are its BOM again, for the new quantity
    order = client.get(f"/api/v1/production-orders/{drafts['production-orders']['id']}",
                       headers=staff).get_json()
    assert [line["quantity"] for line in order["components"]] == ["5.000"]


def test_a_bad_header_is_a_422_with_its_fields_and_nothing_is_written(client, shop, drafts,
                                                                      company, other_company):
    manager = bearer(shop["manager"])
    archived = CustomerFactory(company=company, active=False)
    stranger = WarehouseFactory(company=other_company)
    db.session.commit()
    bad = {"sales-orders": {"customer_id": archived.id, "notes": "changed",
                            "requested_date": "2000-01-01"},
           "purchase-orders": {"warehouse_id": stranger.id, "notes": "changed",
                               "expected_date": "2000-01-01"},
           "production-orders": {"quantity": "-1", "notes": "changed"},
           "stock-transfers": {"to_warehouse_id": shop["warehouse"].id, "notes": "changed"}}
    for kind, body in bad.items():
        response = client.patch(f"/api/v1/{kind}/{drafts[kind]['id']}", headers=manager,
                                json=body)
        assert response.status_code == 422, (kind, response.get_json())
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["errors"], kind
        assert fresh(MODELS[kind], drafts[kind]["id"]).notes == "first", kind
    sales = client.patch(f"/api/v1/sales-orders/{drafts['sales-orders']['id']}",
                         headers=manager, json=bad["sales-orders"]).get_json()["errors"]
    assert {"customer", "requested_date"} <= set(sales)  # every field at once
    # the schema's own checks: a field of the wrong type
    typed = client.patch(f"/api/v1/sales-orders/{drafts['sales-orders']['id']}",
                         headers=manager, json={"order_date": "soon"})
    assert typed.status_code == 422 and "order_date" in typed.get_json()["errors"]


def test_a_header_past_its_draft_is_a_409_and_stays(client, shop, drafts):
    manager = bearer(shop["manager"])
    for kind, step in CLOSING.items():
        record_id = drafts[kind]["id"]
        moved = client.post(f"/api/v1/{kind}/{record_id}/{step}", headers=manager)
        assert moved.status_code == 200, (kind, moved.get_json())
        response = client.patch(f"/api/v1/{kind}/{record_id}", headers=manager,
                                json={"notes": "too late"})
        assert response.status_code == 409, (kind, response.get_json())
        assert response.mimetype == "application/problem+json"
        assert fresh(MODELS[kind], record_id).notes == "first", kind


def test_viewers_may_not_change_a_header_and_another_companys_is_404(client, shop, drafts,
                                                                     make_user, other_company):
    viewer = bearer(make_user("viewer"))
    for kind in MODELS:
        url = f"/api/v1/{kind}/{drafts[kind]['id']}"
        assert client.patch(url, headers=viewer, json={"notes": "x"}).status_code == 403, kind
        assert client.get(url, headers=viewer).status_code == 200, kind
    stranger = bearer(make_user("admin", company=other_company))
    assert_foreign(client, stranger, [("PATCH", f"/api/v1/{kind}/{drafts[kind]['id']}")
                                      for kind in MODELS], (), {"notes": "x"})
    for kind, model in MODELS.items():
        assert fresh(model, drafts[kind]["id"]).notes == "first", kind
