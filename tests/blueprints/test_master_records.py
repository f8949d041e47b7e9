"""Customers, employees and warehouses as declared master records: archive and delete by
role, company scope, and delete refused while documents refer to the record."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import Warehouse
from erp.models.production import Employee
from erp.models.sales import Customer
from erp.services import stock
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.production import BomLineFactory, EmployeeFactory, WorkOrderFactory, make_order
from tests.factories.sales import CustomerFactory, SalesOrderFactory


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def records(app, company):
    return {"/sales/customers": CustomerFactory(company=company, name="Zenith Retail"),
            "/production/employees": EmployeeFactory(company=company, name="Erin Welder"),
            "/inventory/warehouses": WarehouseFactory(company=company, code="SIDE")}


def record_urls(records):
    for base, record in records.items():
        yield f"{base}/{record.id}/active", f"{base}/{record.id}/delete"


def test_viewer_and_staff_may_not_archive_or_delete(client_as, records):
    viewer, staff = client_as("viewer"), client_as("staff")
    for active, delete in record_urls(records):
        for client in (viewer, staff):
            assert client.post(active, data={"active": "0"}).status_code == 403, active
            assert client.post(delete).status_code == 403, delete
            assert client.get(delete).status_code == 403, delete
    for base, record in records.items():
        assert viewer.post(f"{base}/{record.id}/edit", data={"name": "X"}).status_code == 403
        assert viewer.post(f"{base}/new", data={"name": "X"}).status_code == 403
    assert (count(Customer), count(Employee), count(Warehouse)) == (1, 1, 1)


def test_another_company_gets_404(other_company_client, records):
    for base, record in records.items():
        for url in (f"{base}/{record.id}", f"{base}/{record.id}/edit",
                    f"{base}/{record.id}/delete"):
            assert other_company_client.get(url).status_code == 404, url
        for url in (f"{base}/{record.id}/active", f"{base}/{record.id}/delete",
                    f"{base}/{record.id}/edit"):
            assert other_company_client.post(url, data={"name": "Hijack"}).status_code == 404
    assert (count(Customer), count(Employee), count(Warehouse)) == (1, 1, 1)
    db.session.rollback()
    assert records["/sales/customers"].active is True


def test_manager_archives_restores_and_deletes_unreferenced_records(client_as, records):
    manager = client_as("manager")
    for base, record in records.items():
        url = f"{base}/{record.id}"
        assert manager.post(f"{url}/active", data={"active": "0"}).status_code == 303
        db.session.rollback()
        assert db.session.get(type(record), record.id).active is False
        assert manager.post(f"{url}/active", data={"active": "1"}).status_code == 303
        db.session.rollback()
        assert db.session.get(type(record), record.id).active is True
        assert 'id="confirm-delete"' in manager.get(f"{url}/delete").data.decode()
        response = manager.post(f"{url}/delete")
        assert response.status_code == 303 and response.headers["Location"].endswith(base)
    assert (count(Customer), count(Employee), count(Warehouse)) == (0, 0, 0)


def test_customer_with_orders_is_not_deleted(client_as, company):
    manager = client_as("manager")
    warehouse = WarehouseFactory(company=company)
    customer = CustomerFactory(company=company)
    SalesOrderFactory(company=company, customer_id=customer.id, warehouse_id=warehouse.id)
    url = f"/sales/customers/{customer.id}"
    page = manager.get(f"{url}/delete").data.decode()
    assert 'id="delete-blocked"' in page and "Archive instead" in page
    response = manager.post(f"{url}/delete", follow_redirects=True)
    assert b"cannot be deleted" in response.data
    assert count(Customer) == 1


def test_employee_with_work_orders_is_not_deleted(client_as, company, make_user):
    manager = client_as("manager")
    staff = make_user("staff")
    product = ProductFactory(company=company, kind="finished_good")
    part = ProductFactory(company=company, kind="component")
    BomLineFactory(company=company, product_id=product.id, component_id=part.id)
    order = make_order(company, staff, product, "1", warehouse=WarehouseFactory(company=company))
    employee = EmployeeFactory(company=company)
    WorkOrderFactory(company=company, production_order_id=order.id, employee_id=employee.id)
    url = f"/production/employees/{employee.id}"
    assert 'id="delete-blocked"' in manager.get(f"{url}/delete").data.decode()
    response = manager.post(f"{url}/delete", follow_redirects=True)
    assert b"cannot be deleted" in response.data
    assert count(Employee) == 1


def test_warehouse_with_movements_is_not_deleted(client_as, company, make_user):
    manager = client_as("manager")
    warehouse = WarehouseFactory(company=company)
    product = ProductFactory(company=company)
    stock.receive(company_id=company.id, product_id=product.id, warehouse_id=warehouse.id,
                  quantity=Decimal("1"), user=make_user("manager"))
    response = manager.post(f"/inventory/warehouses/{warehouse.id}/delete",
                            follow_redirects=True)
    assert b"cannot be deleted" in response.data
    assert count(Warehouse) == 1


def test_field_limits_are_the_declared_ones(client_as):
    staff = client_as("staff")
    response = staff.post("/sales/customers/new", data={"name": "x" * 201})
    assert response.status_code == 422 and count(Customer) == 0
    response = staff.post("/production/employees/new",
                          data={"name": "Ann", "department": "d" * 121})
    assert response.status_code == 422 and count(Employee) == 0
