"""Quality pages: roles, company scope, bad input, fragments, query counts."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models.quality import QualityInspection
from tests.conftest import login
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.core import CompanyFactory
from tests.factories.production import (BomLineFactory, InspectionFactory, bulk_orders,
                                        make_order)

HX = {"HX-Request": "true"}


@pytest.fixture
def setup(app, company, make_user):
    staff = make_user("staff")
    part = ProductFactory(company=company, sku="PART", kind="component")
    gadget = ProductFactory(company=company, sku="GADGET")
    main = WarehouseFactory(company=company)
    BomLineFactory(company=company, product_id=gadget.id, component_id=part.id)
    order = make_order(company, staff, gadget, "1", warehouse=main)
    inspection = InspectionFactory(company=company, product_id=gadget.id,
                                   production_order_id=order.id, result="fail",
                                   notes="Cracked housing")
    return dict(staff=staff, part=part, gadget=gadget, order=order, inspection=inspection)


def count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(QualityInspection))


def test_roles(setup, client_as):
    i = setup["inspection"].id
    viewer, staff = client_as("viewer"), client_as("staff")
    for url in ("/quality/inspections", f"/quality/inspections/{i}"):
        assert viewer.get(url).status_code == 200
    for url in ("/quality/inspections/new", f"/quality/inspections/{i}/edit"):
        assert viewer.get(url).status_code == 403
        assert viewer.post(url, data={"result": "pass"}).status_code == 403
        assert staff.get(url).status_code == 200
    assert count() == 1


def test_another_company_gets_404(setup, other_company_client):
    i = setup["inspection"].id
    for url in (f"/quality/inspections/{i}", f"/quality/inspections/{i}/edit"):
        assert other_company_client.get(url).status_code == 404
    assert other_company_client.post(f"/quality/inspections/{i}/edit",
                                     data={"result": "pass"}).status_code == 404
    # naming our order from the other company is refused, not linked
    response = other_company_client.post("/quality/inspections/new", data={
        "production_order": setup["order"].number, "inspected_on": "2026-01-01",
        "result": "pass"})
    assert response.status_code == 422
    assert count() == 1


def test_preselected_production_order_and_back_to_the_order(setup, staff_client):
    order = setup["order"]
    page = staff_client.get(f"/quality/inspections/new?production_order={order.id}")
    body = page.get_data(as_text=True)
    assert f'value="{order.number}"' in body and 'value="GADGET"' in body
    response = staff_client.post(f"/quality/inspections/new?production_order={order.id}", data={
        "production_order": order.number, "inspected_on": "2026-02-01", "result": "pass"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/production/orders/{order.id}"
    assert count() == 2


def test_receipt_inspection_and_edit(setup, staff_client):
    response = staff_client.post("/quality/inspections/new", data={
        "receipt_reference": "GR-2026-7", "inspected_on": "2026-02-01", "result": "pass"})
    assert response.status_code == 303
    db.session.rollback()
    inspection = db.session.scalar(select(QualityInspection).where(
        QualityInspection.receipt_reference == "GR-2026-7"))
    response = staff_client.post(f"/quality/inspections/{inspection.id}/edit", data={
        "receipt_reference": "GR-2026-7", "product": "PART", "inspected_on": "2026-02-02",
        "result": "fail", "notes": "wet boxes"})
    assert response.status_code == 303
    db.session.rollback()
    inspection = db.session.get(QualityInspection, inspection.id)
    assert (inspection.result, inspection.product_id) == ("fail", setup["part"].id)


@pytest.mark.parametrize("data", [
    {"result": "pass", "inspected_on": "2026-01-01"},
    {"product": "GADGET", "result": "maybe", "inspected_on": "2026-01-01"},
    {"product": "GADGET", "result": "pass", "inspected_on": "yesterday"},
    {"product": "x" * 4000, "result": "pass", "inspected_on": "2026-01-01"},
    {"product": "GADGET", "result": "pass", "inspected_on": "2026-01-01", "notes": "n" * 4000},
    {"production_order": "MO-0000", "result": "pass", "inspected_on": "2026-01-01"},
    {"receipt_reference": "r" * 4000, "result": "pass", "inspected_on": "2026-01-01"},
    {"product": "\x00", "production_order": "\x00", "result": "pass",
     "inspected_on": "2026-01-01"},
    {}])
def test_bad_input_is_refused_without_writing(setup, staff_client, data):
    expected = 400 if any("\x00" in v for v in data.values()) else 422  # NUL: bad request
    assert staff_client.post("/quality/inspections/new", data=data).status_code == expected
    assert count() == 1


@pytest.mark.parametrize("query", ["?page=x", "?sort=drop", "?result=maybe&from=x&to=2026-99-1",
                                   "?product=" + "p" * 300, "?production_order=abc",
                                   "?production_order=99999999999999", "?q=%00&product=%00",
                                   "?product=%00"])
def test_bad_query_params_never_fail(setup, staff_client, query):
    ok = 400 if "%00" in query else 200  # a NUL character is a bad request
    assert staff_client.get("/quality/inspections" + query).status_code == ok
    assert staff_client.get("/quality/inspections/new" + query).status_code == ok


def test_filters_and_fragment(setup, client_as):
    viewer = client_as("viewer")
    body = viewer.get("/quality/inspections?result=fail&product=GADGET",
                      headers=HX).get_data(as_text=True)
    assert body.lstrip().startswith("<div id=\"results\">")
    assert setup["order"].number in body and "<html" not in body
    assert setup["order"].number not in viewer.get(
        "/quality/inspections?result=pass").get_data(as_text=True)
    future = (date.today() + timedelta(days=30)).isoformat()
    assert setup["order"].number not in viewer.get(
        f"/quality/inspections?from={future}").get_data(as_text=True)


def test_query_counts_do_not_grow_with_rows(app, make_user, queries_for):
    counts = {}
    for size in (5, 60):
        own = CompanyFactory()
        user = make_user("staff", company=own)
        product = ProductFactory(company=own)
        orders = bulk_orders(own, product, WarehouseFactory(company=own), size)
        for order in orders:
            InspectionFactory(company=own, product_id=product.id, production_order_id=order.id)
        first = db.session.scalar(select(QualityInspection.id).where(
            QualityInspection.company_id == own.id).order_by(QualityInspection.id))
        web = login(app.test_client(), user.email)
        counts[size] = [queries_for(web, url) for url in (
            "/quality/inspections", "/quality/inspections?per_page=100",
            f"/quality/inspections/{first}", f"/quality/inspections/{first}/edit")]
    assert counts[5] == counts[60]
