"""Production pages: roles, company scope, bad input, htmx fragments and query counts."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import Product, StockLevel, StockMovement
from erp.models.production import BomLine, Employee, ProductionOrder, WorkOrder
from erp.services import production, stock
from tests.conftest import login
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.production import (BomLineFactory, EmployeeFactory, InspectionFactory,
                                        WorkOrderFactory, bulk_orders, make_order)

D = Decimal
HX = {"HX-Request": "true"}


def expected_refusal(data: dict) -> int:
    """422 with the form's messages; 400 when a value holds a NUL character."""
    return 400 if any("\x00" in str(v) for v in data.values()) else 422


@pytest.fixture
def shop(app, company, make_user):
    staff = make_user("staff")
    manager = make_user("manager")
    part = ProductFactory(company=company, sku="PART", kind="component", cost_price=D("2.00"))
    bolt = ProductFactory(company=company, sku="BOLT", kind="raw_material", cost_price=D("0.10"))
    gadget = ProductFactory(company=company, sku="GADGET", kind="finished_good")
    main = WarehouseFactory(company=company, code="MAIN")
    BomLineFactory(company=company, product_id=gadget.id, component_id=part.id,
                   quantity=D("2"))
    BomLineFactory(company=company, product_id=part.id, component_id=bolt.id, quantity=D("4"))
    order = make_order(company, staff, gadget, "3", warehouse=main)
    employee = EmployeeFactory(company=company, name="Erin Welder", user_id=staff.id)
    work_order = WorkOrderFactory(company=company, production_order_id=order.id,
                                  employee_id=employee.id, name="Assemble")
    line = db.session.scalar(select(BomLine).where(BomLine.product_id == gadget.id))
    inspection = InspectionFactory(company=company, production_order_id=order.id,
                                   product_id=gadget.id)

    class Shop:
        pass

    s = Shop()
    s.__dict__.update(company=company, staff=staff, manager=manager, part=part, bolt=bolt,
                      gadget=gadget, main=main, order=order, employee=employee,
                      work_order=work_order, line=line, inspection=inspection)
    return s


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def get_urls(s):
    return [
        "/production/employees", "/production/employees/new",
        f"/production/employees/{s.employee.id}", f"/production/employees/{s.employee.id}/edit",
        "/production/employees/options?q=er", "/production/boms",
        f"/production/boms/{s.gadget.id}", "/production/orders", "/production/orders/new",
        f"/production/orders/{s.order.id}", f"/production/orders/{s.order.id}/edit",
        f"/production/orders/{s.order.id}/availability", "/production/orders/options?q=MO",
        "/production/work-orders", "/production/work-orders/mine",
        f"/production/work-orders/{s.work_order.id}/edit", "/production/shortages",
    ]


STAFF_GETS = {"/new", "/edit"}


def test_viewers_read_every_page(shop, client_as):
    viewer = client_as("viewer")
    for url in get_urls(shop):
        expected = 403 if any(part in url for part in STAFF_GETS) else 200
        assert viewer.get(url).status_code == expected, url


def test_staff_opens_every_page(shop, client_as):
    staff = client_as("staff")
    for url in get_urls(shop):
        assert staff.get(url).status_code == 200, url


def test_another_company_gets_404_for_every_record(shop, other_company_client):
    s = shop
    gets = [u for u in get_urls(s) if any(str(i) in u.split("/") for i in
            (s.employee.id, s.gadget.id, s.order.id, s.work_order.id))]
    assert len(gets) >= 6
    for url in gets:
        assert other_company_client.get(url).status_code == 404, url
    posts = [f"/production/boms/{s.gadget.id}/lines", f"/production/boms/lines/{s.line.id}",
             f"/production/boms/lines/{s.line.id}/remove", f"/production/orders/{s.order.id}/start",
             f"/production/orders/{s.order.id}/complete",
             f"/production/orders/{s.order.id}/cancel",
             f"/production/orders/{s.order.id}/override",
             f"/production/orders/{s.order.id}/work-orders",
             f"/production/work-orders/{s.work_order.id}/status",
             f"/production/orders/{s.order.id}/edit",
             f"/production/employees/{s.employee.id}/edit",
             f"/production/work-orders/{s.work_order.id}/edit"]
    for url in posts:
        assert other_company_client.post(url, data={"quantity": "1", "status": "done",
                                                    "reason": "x", "name": "x"}).status_code \
            == 404, url
    db.session.rollback()
    assert db.session.get(ProductionOrder, s.order.id).status == "planned"
    assert db.session.scalar(select(func.count()).select_from(BomLine)) == 2


def test_the_other_companys_options_show_nothing_of_ours(shop, other_company_client):
    assert b"Erin" not in other_company_client.get("/production/employees/options?q=er").data
    assert shop.order.number.encode() not in other_company_client.get(
        "/production/orders/options?q=MO").data


def test_staff_cannot_start_complete_cancel_or_override(shop, staff_client):
    for action in ("start", "complete", "cancel", "override"):
        response = staff_client.post(f"/production/orders/{shop.order.id}/{action}",
                                     data={"reason": "x"})
        assert response.status_code == 403
    db.session.rollback()
    assert db.session.get(ProductionOrder, shop.order.id).status == "planned"


def test_viewers_cannot_write(shop, client_as):
    viewer = client_as("viewer")
    for url in [f"/production/boms/{shop.gadget.id}/lines",
                f"/production/boms/lines/{shop.line.id}",
                f"/production/boms/lines/{shop.line.id}/remove",
                f"/production/orders/{shop.order.id}/work-orders",
                f"/production/work-orders/{shop.work_order.id}/status",
                f"/production/work-orders/{shop.work_order.id}/edit",
                f"/production/employees/{shop.employee.id}/edit",
                f"/production/orders/{shop.order.id}/edit",
                "/production/orders/new", "/production/employees/new"]:
        assert viewer.post(url, data={"name": "x", "quantity": "1"}).status_code == 403, url
    assert count(BomLine) == 2 and count(Employee) == 1 and count(WorkOrder) == 1


def test_manager_runs_an_order_from_planned_to_done(shop, client_as):
    manager = client_as("manager")
    stock.receive(company_id=shop.company.id, product_id=shop.part.id,
                  warehouse_id=shop.main.id, quantity=10, user=shop.manager)
    response = manager.post(f"/production/orders/{shop.order.id}/start")
    assert response.status_code == 303
    page = manager.get(f"/production/orders/{shop.order.id}").get_data(as_text=True)
    assert "started: components reserved" in page and "In progress" in page
    # the failed inspection blocks; the override form records the reason
    InspectionFactory(company=shop.company, production_order_id=shop.order.id, result="fail")
    manager.post(f"/production/orders/{shop.order.id}/complete")
    page = manager.get(f"/production/orders/{shop.order.id}").get_data(as_text=True)
    assert "failed quality inspection" in page and 'id="override-form"' in page
    assert manager.post(f"/production/orders/{shop.order.id}/override",
                        data={"reason": ""}).status_code == 422
    assert manager.post(f"/production/orders/{shop.order.id}/override",
                        data={"reason": "Rework done"}).status_code == 303
    # an open work order blocks completion, named in the message
    manager.post(f"/production/orders/{shop.order.id}/complete")
    page = manager.get(f"/production/orders/{shop.order.id}").get_data(as_text=True)
    assert "work orders not done: Assemble (open)" in page
    assert manager.post(f"/production/work-orders/{shop.work_order.id}/status",
                        data={"status": "done"}).status_code == 303
    assert manager.post(f"/production/orders/{shop.order.id}/complete").status_code == 303
    db.session.rollback()
    assert db.session.get(ProductionOrder, shop.order.id).status == "done"
    levels = dict(db.session.execute(select(StockLevel.product_id, StockLevel.on_hand)).all())
    assert levels[shop.part.id] == D(4) and levels[shop.gadget.id] == D(3)
    assert stock.ledger_mismatches(shop.company.id) == []
    # valued at its components: 2 parts at 2.00 a gadget
    assert db.session.get(Product, shop.gadget.id).cost_price == D("4.00")
    page = manager.get(f"/production/orders/{shop.order.id}").get_data(as_text=True)
    assert "Rework done" in page
    # the steps of a done order show their state, no longer a control that changes it
    assert f'id="wo-status-{shop.work_order.id}"' not in page
    manager.post(f"/production/work-orders/{shop.work_order.id}/status", data={"status": "open"})
    page = manager.get(f"/production/orders/{shop.order.id}").get_data(as_text=True)
    assert "its work orders can no longer change" in page
    db.session.rollback()
    assert db.session.get(WorkOrder, shop.work_order.id).status == "done"


def test_start_with_shortages_shows_them_and_changes_nothing(shop, client_as):
    manager = client_as("manager")
    response = manager.post(f"/production/orders/{shop.order.id}/start", follow_redirects=True)
    assert "PART needs 6, 0 available" in response.get_data(as_text=True)
    assert count(StockMovement) == 0
    db.session.rollback()
    assert db.session.get(ProductionOrder, shop.order.id).status == "planned"


def test_cancel_with_htmx_redirects(shop, client_as):
    response = client_as("manager").post(f"/production/orders/{shop.order.id}/cancel",
                                         headers=HX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/production/orders/{shop.order.id}"


# ---------------------------------------------------------------- BOM pages

def test_bom_line_added_with_htmx_returns_the_lines_fragment(shop, staff_client):
    response = staff_client.post(f"/production/boms/{shop.gadget.id}/lines",
                                 data={"component": "BOLT", "quantity": "1.5"}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<section id="bom-{shop.gadget.id}-lines">')
    assert "<html" not in body and "BOLT" in body and 'hx-swap-oob="true"' in body
    # 2 x (4 x 0.10) + 1.5 x 0.10 = 0.95
    assert ">0.95<" in body


def test_a_cycle_is_shown_next_to_the_component_field(shop, staff_client):
    response = staff_client.post(f"/production/boms/{shop.part.id}/lines",
                                 data={"component": "GADGET", "quantity": "1"}, headers=HX)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "would make a cycle" in body and "invalid-feedback" in body
    response = staff_client.post(f"/production/boms/{shop.part.id}/lines",
                                 data={"component": "GADGET", "quantity": "1"})
    assert response.status_code == 422 and "<html" in response.get_data(as_text=True)
    assert count(BomLine) == 2


@pytest.mark.parametrize("data", [
    {"component": "BOLT", "quantity": "abc"}, {"component": "BOLT", "quantity": "-1"},
    {"component": "BOLT", "quantity": "NaN"}, {"component": "BOLT", "quantity": "1e40"},
    {"component": "BOLT", "quantity": "0.0001"}, {"component": "x" * 4000, "quantity": "1"},
    {"component": "NOPE", "quantity": "1"}, {"component": "[#999999]", "quantity": "1"},
    {"component": "BO\x00LT'", "quantity": "1"},
    {}])
def test_bad_bom_input_is_refused_without_writing(shop, staff_client, data):
    response = staff_client.post(f"/production/boms/{shop.gadget.id}/lines", data=data)
    assert response.status_code == expected_refusal(data)
    assert count(BomLine) == 2


def test_change_and_remove_a_line_in_place(shop, staff_client):
    response = staff_client.post(f"/production/boms/lines/{shop.line.id}",
                                 data={"quantity": "5"}, headers=HX)
    assert response.status_code == 200 and "Quantity changed" in response.get_data(as_text=True)
    response = staff_client.post(f"/production/boms/lines/{shop.line.id}",
                                 data={"quantity": "-5"}, headers=HX)
    assert "Not changed" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(BomLine, shop.line.id).quantity == D(5)
    response = staff_client.post(f"/production/boms/lines/{shop.line.id}/remove")
    assert response.status_code == 303
    assert count(BomLine) == 1


def test_bom_open_goes_to_the_product_or_back_with_a_message(shop, client_as):
    viewer = client_as("viewer")
    response = viewer.get("/production/boms/open?product=bolt")
    assert response.headers["Location"] == f"/production/boms/{shop.bolt.id}"
    response = viewer.get("/production/boms/open?product=" + "z" * 4000)
    assert response.status_code == 303 and response.headers["Location"] == "/production/boms"


# ---------------------------------------------------------------- order forms

def order_form(shop, **changes):
    data = {"product": "GADGET", "quantity": "2", "component_warehouse_id": str(shop.main.id),
            "output_warehouse_id": str(shop.main.id), "planned_start": "2026-03-01",
            "planned_end": "2026-03-05", "notes": ""}
    data.update(changes)
    return data


def test_staff_plans_an_order(shop, staff_client):
    response = staff_client.post("/production/orders/new", data=order_form(shop))
    assert response.status_code == 303
    db.session.rollback()
    order = db.session.scalar(select(ProductionOrder).order_by(ProductionOrder.id.desc()))
    assert response.headers["Location"] == f"/production/orders/{order.id}"
    assert [c.quantity for c in order.components] == [D(4)]


@pytest.mark.parametrize("changes", [
    {"quantity": "abc"}, {"quantity": "-3"}, {"quantity": "0"}, {"quantity": "NaN"},
    {"product": "x" * 4000}, {"product": "NOPE"}, {"product": "BOLT"},  # BOLT has no BOM
    {"component_warehouse_id": "999999"}, {"output_warehouse_id": "abc"},
    {"planned_start": "not a date"}, {"planned_start": "2026-03-10", "planned_end": "2026-03-01"},
    {"notes": "n" * 4000}, {"product": "\x00"}])
def test_bad_order_input_is_refused_without_writing(shop, staff_client, changes):
    data = order_form(shop, **changes)
    response = staff_client.post("/production/orders/new", data=data)
    assert response.status_code == expected_refusal(data)
    assert count(ProductionOrder) == 1


def test_all_errors_are_shown_at_once(shop, staff_client):
    response = staff_client.post("/production/orders/new", data=order_form(
        shop, quantity="-1", planned_start="", product=""))
    body = response.get_data(as_text=True)
    assert body.count("invalid-feedback") >= 3


def test_edit_only_while_planned(shop, staff_client, client_as):
    response = staff_client.post(f"/production/orders/{shop.order.id}/edit",
                                 data=order_form(shop, quantity="7"))
    assert response.status_code == 303
    db.session.rollback()
    assert db.session.get(ProductionOrder, shop.order.id).quantity == D(7)
    client_as("manager").post(f"/production/orders/{shop.order.id}/cancel")
    response = staff_client.get(f"/production/orders/{shop.order.id}/edit")
    assert response.status_code == 303


def test_availability_fragment(shop, client_as):
    response = client_as("viewer").get(f"/production/orders/{shop.order.id}/availability",
                                       headers=HX)
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith(f'<section id="order-{shop.order.id}-availability">')
    assert "PART (6 missing)" in body and "<html" not in body


# ---------------------------------------------------------------- work orders, employees

def test_work_order_added_and_status_changed_in_place(shop, staff_client):
    response = staff_client.post(f"/production/orders/{shop.order.id}/work-orders",
                                 data={"name": "Paint", "employee": "Erin Welder",
                                       "planned_hours": "1.5", "sequence": "20"}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<section id="order-{shop.order.id}-work-orders"')
    assert "Paint" in body
    response = staff_client.post(f"/production/orders/{shop.order.id}/work-orders",
                                 data={"name": "", "employee": "Nobody", "planned_hours": "-1"},
                                 headers=HX)
    assert response.status_code == 422
    assert "Choose an employee from the list" in response.get_data(as_text=True)
    assert count(WorkOrder) == 2
    response = staff_client.post(f"/production/work-orders/{shop.work_order.id}/status",
                                 data={"status": "done"}, headers=HX)
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith(f'<tr id="work-order-{shop.work_order.id}">')
    assert 'value="done" selected' in body and 'hx-swap-oob="true"' in body
    response = staff_client.post(f"/production/work-orders/{shop.work_order.id}/status",
                                 data={"status": "bogus"}, headers=HX)
    assert "Choose a valid status" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(WorkOrder, shop.work_order.id).status == "done"


def test_work_order_edit(shop, staff_client):
    url = f"/production/work-orders/{shop.work_order.id}/edit"
    assert staff_client.post(url, data={"name": "Weld", "employee": "",
                                        "planned_hours": "abc"}).status_code == 422
    assert staff_client.post(url, data={"name": "Weld", "employee": "",
                                        "actual_hours": "3.25"}).status_code == 303
    db.session.rollback()
    work_order = db.session.get(WorkOrder, shop.work_order.id)
    assert (work_order.name, work_order.employee_id, work_order.actual_hours) == \
        ("Weld", None, D("3.25"))


def test_my_work_orders_and_the_empty_state(shop, client, client_as):
    mine = login(client, shop.staff.email).get("/production/work-orders/mine")
    assert "Assemble" in mine.get_data(as_text=True)
    other = client_as("staff").get("/production/work-orders/mine").get_data(as_text=True)
    assert "You have no employee record" in other and "Assemble" not in other


def test_employee_create_and_edit(shop, staff_client, make_user):
    user = make_user("viewer")
    response = staff_client.post("/production/employees/new", data={
        "name": "Fay", "user_id": str(user.id), "department": "QA", "active": "y"})
    assert response.status_code == 303
    response = staff_client.post("/production/employees/new", data={
        "name": "Dup", "user_id": str(user.id)})
    assert response.status_code == 422 and "already linked" in response.get_data(as_text=True)
    for bad in ({"name": ""}, {"name": "x" * 4000}, {"name": "a", "user_id": "999999"},
                {"name": "\x00"}, {"name": "a", "user_id": "abc"},
                {"name": "a", "email": "nope"}):
        assert staff_client.post("/production/employees/new", data=bad).status_code == \
            expected_refusal(bad)
    assert count(Employee) == 2
    response = staff_client.post(f"/production/employees/{shop.employee.id}/edit",
                                 data={"name": "Erin W.", "user_id": ""})
    assert response.status_code == 303
    db.session.rollback()
    assert db.session.get(Employee, shop.employee.id).user_id is None


@pytest.mark.parametrize("query", ["?page=abc", "?page=-5&per_page=9999", "?sort=evil",
                                   "?status=bogus&from=notadate&to=2026-13-45",
                                   "?product=" + "x" * 300, "?employee=abc", "?q=%00%27",
                                   "?product=%00&status=%00"])
def test_bad_query_params_never_fail(shop, client_as, query):
    viewer = client_as("viewer")
    ok = 400 if "%00" in query else 200  # a NUL character is a bad request
    for url in ("/production/orders", "/production/work-orders", "/production/employees",
                "/production/boms", "/production/shortages", "/production/work-orders/mine"):
        assert viewer.get(url + query).status_code == ok, url + query
    assert viewer.get("/production/employees/options" + query).status_code == ok
    assert viewer.get("/production/orders/options" + query).status_code == ok
    assert viewer.get("/production/boms/open" + query).status_code == (303 if ok == 200 else 400)


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_list_filters(shop, client_as):
    viewer = client_as("viewer")
    body = viewer.get("/production/orders?status=planned&product=GADGET").get_data(as_text=True)
    assert shop.order.number in body
    body = viewer.get("/production/orders?status=done").get_data(as_text=True)
    assert shop.order.number not in body
    body = viewer.get("/production/orders?from=2999-01-01").get_data(as_text=True)
    assert shop.order.number not in body
    body = viewer.get(f"/production/work-orders?employee={shop.employee.id}&status=open")
    assert "Assemble" in body.get_data(as_text=True)


def test_list_fragments_for_htmx(shop, client_as):
    viewer = client_as("viewer")
    for url in ("/production/orders", "/production/work-orders", "/production/employees",
                "/production/boms", "/production/shortages"):
        body = viewer.get(url, headers=HX).get_data(as_text=True)
        assert body.lstrip().startswith('<div id="results">'), url
        assert "<html" not in body


def test_shortages_page_lists_short_components(shop, client_as):
    body = client_as("viewer").get("/production/shortages").get_data(as_text=True)
    assert f'id="shortage-{shop.part.id}-{shop.main.id}"' in body


# ---------------------------------------------------------------- query counts

def _company_with(n, make_user):
    """A company with n of everything the production pages list."""
    from tests.factories.core import CompanyFactory

    own = CompanyFactory()
    staff = make_user("staff", company=own)
    part = ProductFactory(company=own, kind="component")
    bolt = ProductFactory(company=own, kind="raw_material")
    gadget = ProductFactory(company=own)
    main = WarehouseFactory(company=own)
    employee = EmployeeFactory(company=own, user_id=staff.id)
    parts = [ProductFactory(company=own, kind="component") for _ in range(n)]
    for product in parts:
        BomLineFactory(company=own, product_id=product.id, component_id=bolt.id)
        BomLineFactory(company=own, product_id=gadget.id, component_id=product.id)
        EmployeeFactory(company=own)
    bulk_orders(own, gadget, main, n, components=[(part, "2")])
    big = bulk_orders(own, part, main, 1, components=[(p, "1") for p in parts])[0]
    for _ in range(n):
        WorkOrderFactory(company=own, production_order_id=big.id, employee_id=employee.id)
        InspectionFactory(company=own, production_order_id=big.id, product_id=part.id)
    urls = LIST_URLS + [f"/production/orders/{big.id}", f"/production/boms/{gadget.id}",
                        f"/production/employees/{employee.id}",
                        f"/production/orders/{big.id}/availability"]
    return staff, urls


LIST_URLS = ["/production/orders", "/production/work-orders", "/production/employees",
             "/production/boms", "/production/shortages", "/production/work-orders/mine",
             "/production/orders?per_page=100", "/production/boms?per_page=100",
             "/production/work-orders?per_page=100"]


def test_query_counts_do_not_grow_with_rows(app, make_user, queries_for):
    counts = {}
    for size in (5, 60):
        staff, urls = _company_with(size, make_user)
        web = login(app.test_client(), staff.email)
        counts[size] = [queries_for(web, url) for url in urls]
    assert counts[5] == counts[60]


def test_work_order_record_page(shop, client_as, other_company_client, queries_for):
    """A work order's page: for viewers, linked from the lists and the production order,
    its steps as buttons for staff, 404 for another company, a fixed number of queries."""
    url = f"/production/work-orders/{shop.work_order.id}"
    viewer, staff = client_as("viewer"), client_as("staff")
    page = viewer.get(url).get_data(as_text=True)
    assert "Assemble" in page and shop.order.number in page and "Erin Welder" in page
    assert f'action="{url}/start"' not in page
    page = staff.get(url).get_data(as_text=True)
    assert f'action="{url}/start"' in page and f'action="{url}/finish"' in page
    assert f'action="{url}/reopen"' not in page
    for listing in ("/production/work-orders", f"/production/orders/{shop.order.id}",
                    f"/production/employees/{shop.employee.id}"):
        assert f'href="{url}"' in viewer.get(listing).get_data(as_text=True), listing
    assert other_company_client.get(url).status_code == 404
    assert other_company_client.post(f"{url}/start").status_code == 404
    first = queries_for(staff, url)
    WorkOrderFactory(company=shop.company, production_order_id=shop.order.id, name="Paint")
    assert queries_for(staff, url) == first
    assert staff.post(f"{url}/start").status_code in (302, 303)
    db.session.rollback()
    assert db.session.get(WorkOrder, shop.work_order.id).status == "in_progress"
