"""The History panel on every record page: the page loads it lazily for the record type
its service writes to the audit trail, and a change made through the service shows up."""
from __future__ import annotations

from datetime import date
from typing import Callable

import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models import AuditEntry
from erp.services import catalog as catalog_service
from erp.services import inventory as inventory_service
from erp.services import production as production_service
from erp.services import purchasing as purchasing_service
from erp.services import quality as quality_service
from erp.services import sales as sales_service
from erp.services import users as user_service
from tests.factories.catalog import (CategoryFactory, ProductFactory, SupplierFactory,
                                     WarehouseFactory)
from tests.factories.production import EmployeeFactory
from tests.factories.sales import CustomerFactory


# Each change: (company, acting manager) -> (record page URL, record type, record id).
def product(company, user):
    record = ProductFactory(company=company)
    catalog_service.set_product_active(company_id=company.id, product_id=record.id,
                                       active=False, user=user)
    return f"/catalog/products/{record.id}", "product", record.id


def category(company, user):
    record = CategoryFactory(company=company)
    catalog_service.update_category(company_id=company.id, category_id=record.id, user=user,
                                    name="Renamed category", description="", parent_id=None)
    return f"/catalog/categories/{record.id}", "category", record.id


def supplier(company, user):
    record = SupplierFactory(company=company)
    catalog_service.set_supplier_active(company_id=company.id, supplier_id=record.id,
                                        active=False, user=user)
    return f"/catalog/suppliers/{record.id}", "supplier", record.id


def warehouse(company, user):
    record = inventory_service.create_warehouse(company_id=company.id, user=user, code="HIST",
                                                name="History store")
    return f"/inventory/warehouses/{record.id}", "warehouse", record.id


def customer(company, user):
    record = CustomerFactory(company=company)
    sales_service.update_customer(company_id=company.id, customer_id=record.id, user=user,
                                  name="Renamed customer", credit_limit="10")
    return f"/sales/customers/{record.id}", "customer", record.id


def sales_order(company, user):
    order = sales_service.create_order(company_id=company.id, user=user,
                                       customer_id=CustomerFactory(company=company).id,
                                       warehouse_id=WarehouseFactory(company=company).id,
                                       order_date=date.today())
    return f"/sales/orders/{order.id}", "sales_order", order.id


def purchase_order(company, user):
    order = purchasing_service.create_order(company_id=company.id, user=user,
                                            supplier_id=SupplierFactory(company=company).id,
                                            warehouse_id=WarehouseFactory(company=company).id)
    return f"/purchasing/orders/{order.id}", "purchase_order", order.id


def _bom_product(company, user):
    made = ProductFactory(company=company)
    part = ProductFactory(company=company, kind="raw_material")
    line = production_service.add_bom_line(company_id=company.id, user=user, product_id=made.id,
                                           component_id=part.id, quantity="2")
    return made, line


def bom(company, user):
    made, line = _bom_product(company, user)
    production_service.update_bom_line(company_id=company.id, line_id=line.id, user=user,
                                       quantity="3")
    return f"/production/boms/{made.id}", "bom_line", line.id


def production_order(company, user):
    made, _ = _bom_product(company, user)
    store = WarehouseFactory(company=company)
    order = production_service.create_order(company_id=company.id, user=user, product_id=made.id,
                                            quantity="1", component_warehouse_id=store.id,
                                            output_warehouse_id=store.id,
                                            planned_start=date.today())
    return f"/production/orders/{order.id}", "production_order", order.id


def employee(company, user):
    record = EmployeeFactory(company=company)
    production_service.update_employee(company_id=company.id, employee_id=record.id, user=user,
                                       name="Renamed worker")
    return f"/production/employees/{record.id}", "employee", record.id


def inspection(company, user):
    record = quality_service.create_inspection(company_id=company.id, user=user, result="fail",
                                               inspected_on=date.today(),
                                               product_id=ProductFactory(company=company).id,
                                               notes="Scratched")
    return f"/quality/inspections/{record.id}", "quality_inspection", record.id


def admin_user(company, user):
    record = user_service.create_user(company=company, email="history@example.com",
                                      password="a long enough password 1", role="viewer",
                                      actor=user)
    user_service.change_role(record.id, "staff", actor=user)
    return f"/admin/users/{record.id}", "User", record.id


CHANGES: list[Callable] = [product, category, supplier, warehouse, customer, sales_order,
                           purchase_order, bom, production_order, employee, inspection,
                           admin_user]


@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__ for c in CHANGES])
def test_record_page_history_panel_shows_the_change(change, app, company, other_company,
                                                    make_user, client_as):
    manager = make_user("admin")
    url, record_type, record_id = change(company, manager)
    db.session.rollback()
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.company_id == company.id, AuditEntry.record_type == record_type,
        AuditEntry.record_id == record_id)).all()
    assert entries, f"the service wrote no {record_type} entry"

    reader = client_as("admin" if record_type == "User" else "viewer")
    page = reader.get(url)
    assert page.status_code == 200
    history_url = f"/admin/audit/history/{record_type}/{record_id}"
    assert f'hx-get="{history_url}" hx-trigger="load"' in page.get_data(as_text=True)

    panel = reader.get(history_url, headers={"HX-Request": "true"})
    assert panel.status_code == 200
    text = panel.get_data(as_text=True)
    for entry in entries:
        assert f'id="audit-entry-{entry.id}"' in text
    assert "No changes recorded" not in text

    # another company's admin sees none of these entries
    stranger = client_as("admin", company=other_company).get(
        history_url, headers={"HX-Request": "true"})
    assert stranger.status_code in (200, 404)
    assert "audit-entry-" not in stranger.get_data(as_text=True)
