"""The API does what the inspection pages do (#21): record an inspection of a product, a
production order or a receipt, a re-inspection that supersedes one (once), a product
inspected on a custom form refused as on the page; roles, another company's 404, the
list's cost."""
from __future__ import annotations

from sqlalchemy import func, select

from erp.extensions import db
from erp.models.quality import QualityInspection
from erp.services import forms as form_service
from tests.api.test_api import (assert_constant_list_queries, assert_foreign, bearer,
                                shop)  # noqa: F401  (the fixture)
from tests.factories.catalog import ProductFactory
from tests.factories.forms import checklist


def count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(QualityInspection))


def test_an_inspection_is_recorded_and_superseded_once(client, shop, make_user):
    staff = make_user("staff")
    headers = bearer(staff)
    body = {"product_id": shop["product"].id, "result": "fail", "receipt_reference": "DN-7",
            "notes": "Scratched"}
    key = {**headers, "Idempotency-Key": "qi-1"}
    first = client.post("/api/v1/quality-inspections", headers=key, json=body)
    again = client.post("/api/v1/quality-inspections", headers=key, json=body)
    assert first.status_code == again.status_code == 201, first.get_json()
    assert again.get_json() == first.get_json() and count() == 1
    failed = first.get_json()
    assert (failed["sku"], failed["result"], failed["inspector_id"]) == ("BOLT-1", "fail",
                                                                         staff.id)
    assert failed["inspected_on"] and failed["superseded_by_id"] is None
    url = f"/api/v1/quality-inspections/{failed['id']}/supersede"
    assert client.post(url, headers=bearer(make_user("viewer")),
                       json={"result": "pass"}).status_code == 403
    passed = client.post(url, headers=headers, json={"result": "pass", "notes": "Polished"})
    assert passed.status_code == 201, passed.get_json()
    assert passed.get_json()["supersedes_id"] == failed["id"]
    assert passed.get_json()["receipt_reference"] == "DN-7"
    earlier = client.get(f"/api/v1/quality-inspections/{failed['id']}", headers=headers)
    assert earlier.get_json()["superseded_by_id"] == passed.get_json()["id"]
    twice = client.post(url, headers=headers, json={"result": "pass"})
    assert twice.status_code == 409 and twice.mimetype == "application/problem+json"
    listed = client.get("/api/v1/quality-inspections?result=fail", headers=headers).get_json()
    assert [row["id"] for row in listed["items"]] == [failed["id"]]


def test_a_bad_inspection_is_a_422_with_every_field_and_nothing_is_written(client, shop,
                                                                          company):
    headers = bearer(shop["manager"])
    nothing = client.post("/api/v1/quality-inspections", headers=headers,
                          json={"result": "pass"})
    assert nothing.status_code == 422 and "product" in nothing.get_json()["errors"]
    wrong = client.post("/api/v1/quality-inspections", headers=headers,
                        json={"result": "maybe", "product_id": 999999})
    assert wrong.status_code == 422 and "result" in wrong.get_json()["errors"]
    egg = ProductFactory(company=company, sku="EGG-1")
    form, _keys = checklist(shop["manager"])
    form_service.link_form(company_id=company.id, form_id=form.id, user=shop["manager"],
                           product_id=egg.id)
    custom = client.post("/api/v1/quality-inspections", headers=headers,
                         json={"result": "pass", "product_id": egg.id})
    assert custom.status_code == 422
    assert "Incoming goods" in custom.get_json()["errors"]["product_id"][0]
    assert count() == 0


def test_another_companys_inspections_are_404(client, shop, make_user, other_company):
    manager = bearer(shop["manager"])
    inspection = client.post("/api/v1/quality-inspections", headers=manager, json={
        "product_id": shop["product"].id, "result": "pass"}).get_json()
    stranger = bearer(make_user("admin", company=other_company))
    assert_foreign(client, stranger, (
        ("GET", f"/api/v1/quality-inspections/{inspection['id']}"),
        ("POST", f"/api/v1/quality-inspections/{inspection['id']}/supersede")),
        ("/api/v1/quality-inspections",), {"result": "fail"})
    # another company's product is not inspected
    assert client.post("/api/v1/quality-inspections", headers=stranger, json={
        "product_id": shop["product"].id, "result": "pass"}).status_code == 422
    assert count() == 1


def test_the_inspection_list_costs_the_same_for_more_rows(client, shop):
    manager = bearer(shop["manager"])
    for result in ("pass", "fail", "pass"):
        client.post("/api/v1/quality-inspections", headers=manager, json={
            "product_id": shop["product"].id, "result": result})
    assert count() == 3
    assert_constant_list_queries(client, manager, ("/api/v1/quality-inspections",),
                                 per_pages=(1, 50))
