"""Quality pages: roles, company scope, bad input, fragments, query counts."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models.production import ProductionOrder
from erp.models.quality import QualityInspection
from erp.services import production, stock
from tests.conftest import login
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.core import CompanyFactory
from tests.factories.production import (BomLineFactory, InspectionFactory, bulk_orders,
                                        make_order)

HX = {"HX-Request": "true"}


@pytest.fixture
def setup(app, company, make_user):
    staff = make_user("staff")
    manager = make_user("manager")
    part = ProductFactory(company=company, sku="PART", kind="component")
    gadget = ProductFactory(company=company, sku="GADGET")
    main = WarehouseFactory(company=company)
    BomLineFactory(company=company, product_id=gadget.id, component_id=part.id)
    order = make_order(company, staff, gadget, "1", warehouse=main)
    inspection = InspectionFactory(company=company, product_id=gadget.id,
                                   production_order_id=order.id, result="fail",
                                   notes="Cracked housing")
    return dict(staff=staff, manager=manager, part=part, gadget=gadget, order=order, inspection=inspection)


def count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(QualityInspection))


def test_roles(setup, client_as):
    i = setup["inspection"].id
    viewer, staff = client_as("viewer"), client_as("staff")
    for url in ("/quality/inspections", f"/quality/inspections/{i}"):
        assert viewer.get(url).status_code == 200
    for url in ("/quality/inspections/new", f"/quality/inspections/{i}/supersede"):
        assert viewer.get(url).status_code == 403
        assert viewer.post(url, data={"result": "pass"}).status_code == 403
        assert staff.get(url).status_code == 200
    assert count() == 1


def test_another_company_gets_404(setup, other_company_client):
    i = setup["inspection"].id
    for url in (f"/quality/inspections/{i}", f"/quality/inspections/{i}/supersede"):
        assert other_company_client.get(url).status_code == 404
    assert other_company_client.post(f"/quality/inspections/{i}/supersede",
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


def test_staff_cannot_edit_a_failed_inspection_into_a_pass(setup, client_as):
    """Issue #16: staff edited a failed inspection to "pass" and a manager completed the
    order with no override. A recorded result is read-only now."""
    order, inspection = setup["order"], setup["inspection"]
    staff, manager = client_as("staff"), client_as("manager")
    form = {"production_order": order.number, "product": "GADGET",
            "inspected_on": "2026-02-02", "result": "pass"}
    assert staff.post(f"/quality/inspections/{inspection.id}/edit", data=form).status_code == 404
    page = staff.get(f"/quality/inspections/{inspection.id}").get_data(as_text=True)
    assert f"/quality/inspections/{inspection.id}/edit" not in page
    db.session.rollback()
    assert db.session.get(QualityInspection, inspection.id).result == "fail"
    stock.receive(company_id=order.company_id, product_id=setup["part"].id,
                  warehouse_id=order.component_warehouse_id, quantity="1", user=setup["manager"])
    production.start_order(company_id=order.company_id, order_id=order.id,
                           user=setup["manager"])
    manager.post(f"/production/orders/{order.id}/complete")
    db.session.rollback()
    assert db.session.get(ProductionOrder, order.id).status == "in_progress"


def test_a_re_inspection_supersedes_and_the_trail_shows_both(setup, client_as):
    inspection = setup["inspection"]
    staff = client_as("staff")
    url = f"/quality/inspections/{inspection.id}/supersede"
    form = staff.get(url).get_data(as_text=True)
    assert setup["order"].number in form and 'name="product"' not in form
    assert staff.post(url, data={"inspected_on": "2026-02-02", "result": "maybe",
                                 "notes": "n" * 3000}).status_code == 422
    assert count() == 1
    response = staff.post(url, data={"inspected_on": "2026-02-02", "result": "pass",
                                     "notes": "Housing replaced"})
    assert response.status_code == 303
    db.session.rollback()
    new = db.session.scalar(select(QualityInspection).where(
        QualityInspection.supersedes_id == inspection.id))
    assert response.headers["Location"] == f"/quality/inspections/{new.id}"
    assert (new.result, new.production_order_id) == ("pass", setup["order"].id)
    old_page = staff.get(f"/quality/inspections/{inspection.id}").get_data(as_text=True)
    assert 'id="superseded"' in old_page and f"Inspection #{new.id}" in old_page
    assert 'id="reinspect"' not in old_page  # only the latest of a chain is re-inspected
    assert "Cracked housing" in old_page  # the earlier result and notes stay as recorded
    new_page = staff.get(f"/quality/inspections/{new.id}").get_data(as_text=True)
    assert 'id="supersedes"' in new_page and 'id="reinspect"' in new_page
    history = staff.get(f"/admin/audit/history/quality_inspection/{inspection.id}",
                        headers=HX).get_data(as_text=True)
    assert f"superseded by #{new.id}" in history
    # superseding the earlier one again is refused with a message, nothing written
    response = staff.post(url, data={"inspected_on": "2026-02-03", "result": "fail"})
    assert response.status_code == 303 and count() == 2
    order_page = staff.get(f"/production/orders/{setup['order'].id}").get_data(as_text=True)
    assert f"Superseded by #{new.id}" in order_page and 'id="quality-blocked"' not in order_page


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


@pytest.mark.dialect_dependent  # a list read: runs in both passes
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
            f"/quality/inspections/{first}", f"/quality/inspections/{first}/supersede")]
    assert counts[5] == counts[60]
