"""The API does what the production pages do (#21): work orders (the list with its filters,
one work order, adding one to a production order, its workflow's steps, its status and
its fields, the form it asks for), a product's bill of materials (its lines added, changed
and removed, with the service's cycle check) and a manager's override of a failed
inspection; roles as the pages, another company's records 404, list costs."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models.production import BomLine, ProductionOrder, WorkOrder
from tests.api.test_api import (assert_constant_list_queries, assert_foreign,
                                assert_posted_once, bearer, shop)  # noqa: F401  (the fixture)
from tests.api.test_api_stock_documents import count
from tests.factories.catalog import ProductFactory
from tests.factories.forms import photo_form
from tests.factories.production import (BomLineFactory, EmployeeFactory, InspectionFactory,
                                        WorkOrderFactory, make_order)


@pytest.fixture
def plant(shop, company):
    """A gadget made of two parts (its BOM), and a planned order of two gadgets."""
    gadget = ProductFactory(company=company, sku="GADGET")
    part = ProductFactory(company=company, sku="PART", kind="component")
    screw = ProductFactory(company=company, sku="SCREW", kind="component")
    BomLineFactory(company=company, product_id=gadget.id, component_id=part.id,
                   quantity=Decimal("2"))
    order = make_order(company, shop["manager"], gadget, "2", warehouse=shop["warehouse"])
    employee = EmployeeFactory(company=company, name="Ayşe")
    db.session.commit()
    return dict(gadget=gadget, part=part, screw=screw, order=order, employee=employee)


def test_a_work_order_is_added_moved_through_its_steps_and_changed(client, shop, plant,
                                                                   make_user):
    staff, viewer = bearer(make_user("staff")), bearer(make_user("viewer"))
    url = f"/api/v1/production-orders/{plant['order'].id}/work-orders"
    body = {"name": "Assemble", "employee_id": plant["employee"].id, "planned_hours": "1.5",
            "sequence": 20}
    assert client.post(url, headers=viewer, json=body).status_code == 403
    work_order = assert_posted_once(client, url, staff, body, "wo-1")
    assert count(WorkOrder) == 1
    assert (work_order["status"], work_order["employee"], work_order["production_order"],
            work_order["sku"], work_order["planned_hours"]) == (
        "open", "Ayşe", plant["order"].number, "GADGET", "1.500")
    assert work_order["actions"] == ["start", "finish"]
    record = f"/api/v1/work-orders/{work_order['id']}"
    assert client.post(f"{record}/start", headers=viewer).status_code == 403
    started = client.post(f"{record}/start", headers=staff)
    assert started.status_code == 200 and started.get_json()["status"] == "in_progress"
    assert client.post(f"{record}/start", headers=staff).status_code == 200  # a replay
    done = client.post(f"{record}/status", headers=staff, json={"status": "done"})
    assert done.status_code == 200 and done.get_json()["status"] == "done"
    bad = client.post(f"{record}/status", headers=staff, json={"status": "lost"})
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]
    reopened = client.post(f"{record}/reopen", headers=staff)
    assert reopened.status_code == 200 and reopened.get_json()["status"] == "open"
    changed = client.patch(record, headers=staff, json={"actual_hours": "2", "employee_id": None})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["actual_hours"], changed.get_json()["employee"],
            changed.get_json()["name"], changed.get_json()["sequence"]) == (
        "2.000", None, "Assemble", 20)
    wrong = client.patch(record, headers=staff, json={"name": "", "planned_hours": "-1"})
    assert wrong.status_code == 422 and {"name", "planned_hours"} <= set(
        wrong.get_json()["errors"])
    assert client.patch(record, headers=viewer, json={"name": "x"}).status_code == 403
    assert client.get(record, headers=viewer).get_json()["name"] == "Assemble"
    # a cancelled production order takes no new work orders (409)
    client.post(f"/api/v1/production-orders/{plant['order'].id}/cancel",
                headers=bearer(shop["manager"]))
    closed = client.post(url, headers=staff, json={"name": "Paint"})
    assert closed.status_code == 409 and count(WorkOrder) == 1
    assert client.post(f"{record}/finish", headers=staff).status_code == 409


def test_the_work_order_list_takes_the_pages_filters_and_costs_the_same(client, shop, plant,
                                                                        company):
    for index in range(4):
        WorkOrderFactory(company=company, production_order_id=plant["order"].id,
                         name=f"Step {index}", status="done" if index % 2 else "open",
                         employee_id=plant["employee"].id if index < 2 else None)
    db.session.commit()
    headers = bearer(shop["manager"])
    done = client.get("/api/v1/work-orders?status=done", headers=headers).get_json()
    assert sorted(row["name"] for row in done["items"]) == ["Step 1", "Step 3"]
    mine = client.get(f"/api/v1/work-orders?employee={plant['employee'].id}&sort=name",
                      headers=headers).get_json()
    assert [row["name"] for row in mine["items"]] == ["Step 0", "Step 1"]
    found = client.get("/api/v1/work-orders?q=Step 2", headers=headers).get_json()
    assert [row["name"] for row in found["items"]] == ["Step 2"]
    assert_constant_list_queries(client, headers, ("/api/v1/work-orders", "/api/v1/boms"),
                                 per_pages=(1, 50))


def test_a_work_order_asks_for_the_form_a_manager_names(client, shop, plant, company,
                                                       make_user):
    form, _keys = photo_form(shop["manager"])
    work_order = WorkOrderFactory(company=company, production_order_id=plant["order"].id,
                                  name="Check")
    db.session.commit()
    staff, manager = bearer(make_user("staff")), bearer(shop["manager"])
    url = f"/api/v1/work-orders/{work_order.id}/form"
    assert client.post(url, headers=staff, json={"form_id": form.id}).status_code == 403
    assert client.post(url, headers=manager, json={"form_id": 999999}).status_code == 422
    assert client.post(url, headers=manager, json={"form_id": form.id}).status_code == 200
    refused = client.post(f"/api/v1/work-orders/{work_order.id}/finish", headers=staff)
    assert refused.status_code == 409 and "Machine check" in refused.get_json()["detail"]
    assert client.post(url, headers=manager, json={"form_id": None}).status_code == 200
    finished = client.post(f"/api/v1/work-orders/{work_order.id}/finish", headers=staff)
    assert finished.status_code == 200 and finished.get_json()["status"] == "done"


def test_a_bill_of_materials_is_edited_line_by_line_without_a_cycle(client, shop, plant,
                                                                    make_user):
    staff, viewer = bearer(make_user("staff")), bearer(make_user("viewer"))
    gadget, part, screw = plant["gadget"], plant["part"], plant["screw"]
    bom = client.get(f"/api/v1/boms/{gadget.id}", headers=viewer).get_json()
    assert [(line["sku"], line["quantity"]) for line in bom["lines"]] == [("PART", "2.000")]
    lines = f"/api/v1/boms/{gadget.id}/lines"
    assert client.post(lines, headers=viewer, json={"component_id": screw.id,
                                                    "quantity": "4"}).status_code == 403
    added = assert_posted_once(client, lines, staff, {"component_id": screw.id,
                                                      "quantity": "4"}, "bom-1")
    assert [(line["sku"], line["quantity"]) for line in added["lines"]] == [
        ("PART", "2.000"), ("SCREW", "4.000")]
    # the service's cycle check: the gadget cannot go into its own part
    cycle = client.post(f"/api/v1/boms/{part.id}/lines", headers=staff,
                        json={"component_id": gadget.id, "quantity": "1"})
    assert cycle.status_code == 422 and "component" in cycle.get_json()["errors"]
    itself = client.post(lines, headers=staff, json={"component_id": gadget.id,
                                                     "quantity": "1"})
    assert itself.status_code == 422
    screw_line = added["lines"][1]["id"]
    changed = client.patch(f"{lines}/{screw_line}", headers=staff, json={"quantity": "6"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["lines"][1]["quantity"] == "6.000"
    zero = client.patch(f"{lines}/{screw_line}", headers=staff, json={"quantity": "0"})
    assert zero.status_code == 422 and "quantity" in zero.get_json()["errors"]
    # a line of another product's BOM is not this one's
    assert client.patch(f"/api/v1/boms/{part.id}/lines/{screw_line}", headers=staff,
                        json={"quantity": "1"}).status_code == 404
    removed = client.delete(f"{lines}/{screw_line}", headers=staff)
    assert removed.status_code == 200 and len(removed.get_json()["lines"]) == 1
    assert count(BomLine) == 1
    listed = client.get("/api/v1/boms", headers=viewer).get_json()
    assert [(row["sku"], row["lines"]) for row in listed["items"]] == [("GADGET", 1)]


def test_a_manager_overrides_a_failed_inspection_with_a_reason(client, shop, plant, company,
                                                               make_user):
    order = plant["order"]
    InspectionFactory(company=company, production_order_id=order.id, result="fail",
                      product_id=plant["gadget"].id)
    db.session.commit()
    url = f"/api/v1/production-orders/{order.id}/override"
    staff, manager = bearer(make_user("staff")), bearer(shop["manager"])
    assert client.post(url, headers=staff, json={"reason": "Cosmetic"}).status_code == 403
    empty = client.post(url, headers=manager, json={"reason": ""})
    assert empty.status_code == 422 and "reason" in empty.get_json()["errors"]
    done = client.post(url, headers=manager, json={"reason": "Cosmetic only"})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["quality_override_reason"] == "Cosmetic only"
    assert done.get_json()["quality_override_at"]
    # nothing left to override
    assert client.post(url, headers=manager, json={"reason": "Again"}).status_code == 409


def test_another_companys_production_records_are_404(client, shop, plant, company, make_user,
                                                     other_company):
    work_order = WorkOrderFactory(company=company,
                                  production_order_id=plant["order"].id)
    db.session.commit()
    line = db.session.scalar(select(BomLine.id))
    stranger = bearer(make_user("admin", company=other_company))
    order, gadget = plant["order"].id, plant["gadget"].id
    assert_foreign(client, stranger, (
        ("GET", f"/api/v1/work-orders/{work_order.id}"),
        ("PATCH", f"/api/v1/work-orders/{work_order.id}"),
        ("POST", f"/api/v1/work-orders/{work_order.id}/start"),
        ("POST", f"/api/v1/work-orders/{work_order.id}/status"),
        ("POST", f"/api/v1/work-orders/{work_order.id}/form"),
        ("POST", f"/api/v1/production-orders/{order}/work-orders"),
        ("POST", f"/api/v1/production-orders/{order}/override"),
        ("GET", f"/api/v1/boms/{gadget}"),
        ("POST", f"/api/v1/boms/{gadget}/lines"),
        ("PATCH", f"/api/v1/boms/{gadget}/lines/{line}"),
        ("DELETE", f"/api/v1/boms/{gadget}/lines/{line}")),
        ("/api/v1/work-orders", "/api/v1/boms", "/api/v1/work-orders/mine",
         "/api/v1/production-shortages"),
        {"name": "x", "status": "done", "reason": "x", "form_id": None,
         "component_id": plant["screw"].id, "quantity": "1"})
    assert count(WorkOrder) == 1 and count(BomLine) == 1
    assert db.session.get(ProductionOrder, order).quality_override_reason == ""


def test_my_work_orders_are_those_of_the_tokens_employee(client, shop, plant, company,
                                                        make_user):
    worker, idle = make_user("staff"), make_user("staff")
    mine = EmployeeFactory(company=company, name="Worker", user_id=worker.id)
    db.session.commit()
    for index in range(3):
        WorkOrderFactory(company=company, production_order_id=plant["order"].id,
                         name=f"Mine {index}", employee_id=mine.id,
                         status="done" if index == 2 else "open")
    WorkOrderFactory(company=company, production_order_id=plant["order"].id, name="Theirs",
                     employee_id=plant["employee"].id)
    db.session.commit()
    headers = bearer(worker)
    listed = client.get("/api/v1/work-orders/mine?sort=name", headers=headers).get_json()
    assert [row["name"] for row in listed["items"]] == ["Mine 0", "Mine 1", "Mine 2"]
    done = client.get("/api/v1/work-orders/mine?status=done", headers=headers).get_json()
    assert [row["name"] for row in done["items"]] == ["Mine 2"]
    assert client.get("/api/v1/work-orders/mine", headers=bearer(idle)
                      ).get_json()["items"] == []
    assert_constant_list_queries(client, headers, ("/api/v1/work-orders/mine",),
                                 per_pages=(1, 50))


def test_the_shortages_list_is_the_pages(client, shop, plant, company, make_user):
    viewer = bearer(make_user("viewer"))
    rows = client.get("/api/v1/production-shortages", headers=viewer).get_json()
    assert [(row["sku"], row["warehouse"], row["planned"], row["shortage"], row["orders"])
            for row in rows["items"]] == [("PART", "MAIN", "4.000", "4.000", 1)]
    assert rows["has_next"] is False and rows["next"] is None
    with_more = make_order(company, shop["manager"], plant["gadget"], "1",
                           warehouse=shop["warehouse"])
    BomLineFactory(company=company, product_id=plant["part"].id,
                   component_id=plant["screw"].id)
    db.session.commit()
    assert with_more.id
    more = client.get("/api/v1/production-shortages", headers=viewer).get_json()["items"]
    assert [(row["sku"], row["shortage"], row["orders"]) for row in more] == [
        ("PART", "6.000", 2)]
    assert client.get("/api/v1/production-shortages?page=0", headers=viewer
                      ).status_code == 422
    assert_constant_list_queries(client, viewer, ("/api/v1/production-shortages",),
                                 per_pages=(1, 50))
