"""User text is always escaped in pages, and every text field of every form has a length limit.

Records are created through the services with names and notes that are HTML/JS payloads;
their list, detail, options and history pages must show the escaped text and never the raw
tag. The forms are introspected: every StringField, TextAreaField, EmailField and
SearchField carries a Length(max=...) validator.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from datetime import date

import pytest
from flask import url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, SearchField, StringField, TextAreaField
from wtforms.fields.core import UnboundField
from wtforms.validators import Length

import erp.blueprints
from erp.extensions import db
from erp.services import catalog, inventory, production, purchasing, quality, sales, tasks
from tests.conftest import login
from tests.factories.inventory_helpers import put_stock

pytestmark = pytest.mark.dialect_independent  # same on every database: SQLite pass only

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
PAYLOADS = {
    SCRIPT: "&lt;script&gt;alert(1)&lt;/script&gt;",
    IMG: "&gt;&lt;img src=x onerror=alert(1)&gt;",
}
RAW_MARKERS = ["<script>alert(1)", "<img src=x"]


@pytest.fixture
def hostile_records(app, company, make_user):
    admin = make_user("admin", name=IMG + " admin")
    staff = make_user("staff", name=SCRIPT + " staff")
    category = catalog.create_category(company_id=company.id, user=admin, name=IMG + " cat",
                                       description=SCRIPT)
    supplier = catalog.create_supplier(company_id=company.id, user=admin, name=SCRIPT + " sup",
                                       contact_person=IMG, address=SCRIPT)
    product = catalog.create_product(company_id=company.id, user=admin, sku="XSS-1",
                                     name=SCRIPT + " prod", description=IMG,
                                     category_id=category.id,
                                     preferred_supplier_id=supplier.id, min_stock="100")
    part = catalog.create_product(company_id=company.id, user=admin, sku="XSS-PART",
                                  name=IMG + " part", kind="component")
    warehouse = inventory.create_warehouse(company_id=company.id, user=admin, code="XSS",
                                           name=IMG + " wh", address=SCRIPT)
    put_stock(part, warehouse, 10, user=admin)
    customer = sales.create_customer(company_id=company.id, user=staff, name=IMG + " cust",
                                     billing_address=SCRIPT)
    so = sales.create_order(company_id=company.id, user=staff, customer_id=customer.id,
                            warehouse_id=warehouse.id, order_date=date.today(), notes=SCRIPT)
    sales.add_line(company_id=company.id, order_id=so.id, user=staff, product_id=product.id,
                   quantity="1")
    po = purchasing.create_order(company_id=company.id, user=staff, supplier_id=supplier.id,
                                 warehouse_id=warehouse.id, notes=IMG)
    purchasing.add_line(company_id=company.id, user=staff, order_id=po.id, product_id=part.id,
                        quantity="5")
    production.add_bom_line(company_id=company.id, user=staff, product_id=product.id,
                            component_id=part.id, quantity="1")
    employee = production.create_employee(company_id=company.id, user=staff, name=SCRIPT + " emp",
                                          department=IMG, position=SCRIPT)
    mo = production.create_order(company_id=company.id, user=staff, product_id=product.id,
                                 quantity="2",
                                 component_warehouse_id=warehouse.id,
                                 output_warehouse_id=warehouse.id,
                                 planned_start=date.today(), notes=SCRIPT)
    production.create_work_order(company_id=company.id, order_id=mo.id, user=staff,
                                 name=IMG + " step",
                                 employee_id=employee.id)
    inspection = quality.create_inspection(company_id=company.id, user=staff, result="fail",
                                           inspected_on=date.today(), product_id=product.id,
                                           receipt_reference=SCRIPT[:60], notes=IMG)
    task = tasks.create_task(company_id=staff.company_id, user=staff,
                             title=SCRIPT + " task", description=IMG,
                             assignee_id=staff.id)
    db.session.commit()
    return dict(admin=admin, staff=staff, category=category.id, supplier=supplier.id,
                product=product.id, part=part.id, warehouse=warehouse.id, customer=customer.id,
                so=so.id, po=po.id, employee=employee.id, mo=mo.id, inspection=inspection.id,
                task=task.id)


def pages(r) -> list[tuple[str, dict]]:
    return [
        ("catalog.product_list", {}), ("catalog.product_detail", {"product_id": r["product"]}),
        ("catalog.product_edit", {"product_id": r["product"]}),
        ("catalog.product_options", {"q": "XSS"}),
        ("catalog.category_list", {}), ("catalog.category_detail",
                                        {"category_id": r["category"]}),
        ("catalog.category_edit", {"category_id": r["category"]}),
        ("catalog.supplier_list", {}), ("catalog.supplier_detail",
                                        {"supplier_id": r["supplier"]}),
        ("catalog.supplier_edit", {"supplier_id": r["supplier"]}),
        ("catalog.supplier_options", {"q": "sup"}),
        ("inventory.warehouse_list", {}), ("inventory.warehouse_detail",
                                           {"warehouse_id": r["warehouse"]}),
        ("inventory.warehouse_edit", {"warehouse_id": r["warehouse"]}),
        ("inventory.stock_list", {}), ("inventory.movement_list", {}),
        ("inventory.stock_count", {}),
        ("sales.customer_list", {}), ("sales.customer_detail", {"customer_id": r["customer"]}),
        ("sales.customer_edit", {"customer_id": r["customer"]}),
        ("sales.customer_options", {"q": "cust"}),
        ("sales.order_list", {}), ("sales.order_detail", {"order_id": r["so"]}),
        ("sales.order_edit", {"order_id": r["so"]}), ("sales.order_print", {"order_id": r["so"]}),
        ("purchasing.order_list", {}), ("purchasing.order_detail", {"order_id": r["po"]}),
        ("purchasing.order_edit", {"order_id": r["po"]}),
        ("purchasing.order_print", {"order_id": r["po"]}), ("purchasing.reorder", {}),
        ("purchasing.supplier_options", {"q": "sup"}),
        ("production.employee_list", {}), ("production.employee_detail",
                                           {"employee_id": r["employee"]}),
        ("production.employee_options", {"q": "emp"}),
        ("production.bom_list", {}), ("production.bom_detail", {"product_id": r["product"]}),
        ("production.order_list", {}), ("production.order_detail", {"order_id": r["mo"]}),
        ("production.order_edit", {"order_id": r["mo"]}),
        ("production.workorder_list", {}), ("production.shortages", {}),
        ("quality.inspection_list", {}), ("quality.inspection_detail",
                                          {"inspection_id": r["inspection"]}),
        ("quality.inspection_supersede", {"inspection_id": r["inspection"]}),
        ("tasks.task_list", {"view": "all"}), ("tasks.task_detail", {"task_id": r["task"]}),
        ("tasks.task_edit", {"task_id": r["task"]}),
        ("tasks.assignee_options", {"q": "staff"}),
        ("admin.user_list", {}), ("admin.user_detail", {"user_id": r["staff"].id}),
        ("audit.audit_list", {}),
        ("audit.record_history", {"record_type": "product", "record_id": r["product"]}),
        ("main.dashboard", {}),
    ]


def assert_escaped(url: str, body: str, *, expect_escaped: bool = True) -> None:
    for marker in RAW_MARKERS:
        assert marker not in body, f"{url} shows {marker!r} unescaped"
    if expect_escaped:
        assert any(escaped in body for escaped in PAYLOADS.values()), \
            f"{url} shows none of the hostile text (escaped)"


# pages that show the records only in part (or not at all) for this data set
MAY_NOT_SHOW = {"inventory.stock_count", "main.dashboard", "production.shortages",
                "purchasing.reorder"}


def test_user_text_is_escaped_in_every_page(app, client_as, hostile_records):
    client = login(app.test_client(), hostile_records["admin"].email)
    with app.test_request_context():
        urls = [(endpoint, url_for(endpoint, **values))
                for endpoint, values in pages(hostile_records)]
    for endpoint, url in urls:
        # lists and pickers also answer htmx with a fragment (an HX-Request GET of a whole
        # page is a known 500: tests/test_fuzz.py::test_htmx_get_of_a_whole_page)
        fragment = endpoint.endswith(("_list", "_options")) and \
            endpoint != "tasks.assignee_options"
        for headers in ({}, {"HX-Request": "true"}) if fragment else ({},):
            response = client.get(url, headers=headers)
            assert response.status_code == 200, f"{url}: {response.status_code}"
            body = response.get_data(as_text=True)
            assert_escaped(url, body, expect_escaped=endpoint not in MAY_NOT_SHOW)


def test_user_text_is_escaped_after_a_rejected_form(app, hostile_records):
    """Re-rendered forms (422) echo what was typed: escaped too."""
    client = login(app.test_client(), hostile_records["admin"].email)
    posts = [
        ("/catalog/products/new", {"sku": "", "name": SCRIPT, "description": IMG}),
        ("/sales/customers/new", {"name": "", "billing_address": SCRIPT, "email": IMG}),
        ("/tasks/new", {"title": "", "description": SCRIPT, "assignee": IMG}),
        ("/inventory/count", {"product": SCRIPT, "counted": IMG, "note": SCRIPT}),
        ("/production/employees/new", {"name": "", "department": SCRIPT, "email": IMG}),
        ("/quality/inspections/new", {"product": SCRIPT, "notes": IMG}),
    ]
    for url, data in posts:
        response = client.post(url, data=data)
        assert response.status_code == 422, f"{url}: {response.status_code}"
        assert_escaped(url, response.get_data(as_text=True))


# ------------------------------------------------------------------ length limits

TEXT_FIELDS = (StringField, TextAreaField, EmailField, SearchField)


def all_form_classes() -> list[type]:
    found = []
    for module_info in pkgutil.iter_modules(erp.blueprints.__path__):
        try:
            module = importlib.import_module(f"erp.blueprints.{module_info.name}.forms")
        except ModuleNotFoundError:
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, FlaskForm) and cls is not FlaskForm and \
                    cls.__module__ == module.__name__:
                found.append(cls)
    return found


def test_forms_are_found():
    names = {cls.__name__ for cls in all_form_classes()}
    assert {"ProductForm", "CustomerForm", "TaskForm", "InspectionForm"} <= names


def test_every_text_field_has_a_length_limit():
    missing = []
    for cls in all_form_classes():
        for name in dir(cls):
            unbound = getattr(cls, name, None)
            if not isinstance(unbound, UnboundField) or name == "csrf_token":
                continue
            if not issubclass(unbound.field_class, TEXT_FIELDS):
                continue
            validators = unbound.kwargs.get("validators") or (
                unbound.args[1] if len(unbound.args) > 1 else [])
            if not any(isinstance(v, Length) and v.max and v.max > 0 for v in validators):
                missing.append(f"{cls.__module__}.{cls.__name__}.{name}")
    assert missing == []
