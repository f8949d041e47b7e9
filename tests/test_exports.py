"""CSV export of every list: filters, roles, company scope, constant queries, rate limit;
the customers importer and its round trip."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Callable

import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models import StockMovement
from erp.models.production import ProductionOrder
from erp.models.sales import Customer
from erp.services import imports as import_service
from tests.conftest import count_queries
from tests.factories.catalog import (CategoryFactory, ProductFactory, SupplierFactory,
                                     WarehouseFactory)
from tests.factories.core import UserFactory
from tests.factories.inventory_helpers import put_stock
from tests.factories.production import (BomLineFactory, EmployeeFactory, InspectionFactory,
                                        WorkOrderFactory)
from tests.factories.purchasing import PurchaseOrderFactory
from tests.factories.sales import CustomerFactory, SalesOrderFactory


class Records:
    """Shared records of one company, made when a list's rows first need them."""

    def __init__(self, company):
        self.company = company
        self._cache: dict = {}

    def once(self, name: str, make: Callable):
        if name not in self._cache:
            self._cache[name] = make()
        return self._cache[name]

    @property
    def warehouse(self):
        return self.once("warehouse", lambda: WarehouseFactory(company=self.company, code="MAIN"))

    @property
    def other_warehouse(self):
        return self.once("other_warehouse", lambda: WarehouseFactory(company=self.company,
                                                                     code="SIDE"))

    @property
    def component(self):
        return self.once("component", lambda: ProductFactory(company=self.company, sku="COMP",
                                                             kind="raw_material"))

    @property
    def production_order(self):
        return self.once("order", lambda: _production_order(self, "MO-BASE"))


def _production_order(records: Records, number: str) -> ProductionOrder:
    product = records.once("made", lambda: ProductFactory(company=records.company, sku="MADE"))
    order = ProductionOrder(company_id=records.company.id, number=number, product_id=product.id,
                            quantity=Decimal("1"), component_warehouse_id=records.warehouse.id,
                            output_warehouse_id=records.warehouse.id, planned_start=date.today())
    db.session.add(order)
    db.session.commit()
    return order


def _movement(records: Records, tag: str, keep: bool) -> None:
    product = ProductFactory(company=records.company, sku=tag)
    warehouse = records.warehouse if keep else records.other_warehouse
    put_stock(product, warehouse, 3)


def _bom(records: Records, tag: str, keep: bool) -> None:
    product = ProductFactory(company=records.company, sku=tag)
    BomLineFactory(company=records.company, product_id=product.id,
                   component_id=records.component.id)


@dataclass
class ListSpec:
    name: str
    url: str
    make: Callable  # make(records, tag, keep): one row identified in the file by `tag`
    header: str  # the first column of the header row
    role: str = "viewer"
    # the page's filter that keeps the "keep" rows and drops the others
    filter: Callable = lambda records: "q=keep"


SPECS = [
    ListSpec("products", "/catalog/products",
             lambda r, tag, keep: ProductFactory(company=r.company, sku=tag), "sku"),
    ListSpec("categories", "/catalog/categories",
             lambda r, tag, keep: CategoryFactory(company=r.company, name=tag), "id"),
    ListSpec("suppliers", "/catalog/suppliers",
             lambda r, tag, keep: SupplierFactory(company=r.company, name=tag), "name"),
    ListSpec("warehouses", "/inventory/warehouses",
             lambda r, tag, keep: WarehouseFactory(company=r.company, code=tag[:20]), "id"),
    ListSpec("stock", "/inventory/stock",
             lambda r, tag, keep: put_stock(ProductFactory(company=r.company, sku=tag),
                                            r.warehouse, 2), "sku"),
    ListSpec("movements", "/inventory/movements", _movement, "id",
             filter=lambda r: f"warehouse={r.warehouse.id}"),
    ListSpec("customers", "/sales/customers",
             lambda r, tag, keep: CustomerFactory(company=r.company, name=tag), "name"),
    ListSpec("sales orders", "/sales/orders",
             lambda r, tag, keep: SalesOrderFactory(company=r.company, number=tag,
                                                    warehouse_id=r.warehouse.id), "number",
             filter=lambda r: "number=keep"),
    ListSpec("purchase orders", "/purchasing/orders",
             lambda r, tag, keep: PurchaseOrderFactory(company=r.company, number=tag,
                                                       warehouse_id=r.warehouse.id), "number",
             filter=lambda r: "number=keep"),
    ListSpec("boms", "/production/boms", _bom, "sku"),
    ListSpec("production orders", "/production/orders",
             lambda r, tag, keep: _production_order(r, tag), "number"),
    ListSpec("work orders", "/production/work-orders",
             lambda r, tag, keep: WorkOrderFactory(company=r.company, name=tag,
                                                   production_order_id=r.production_order.id),
             "id"),
    ListSpec("employees", "/production/employees",
             lambda r, tag, keep: EmployeeFactory(company=r.company, name=tag), "id"),
    ListSpec("inspections", "/quality/inspections",
             lambda r, tag, keep: InspectionFactory(company=r.company, inspector_name=tag), "id"),
    ListSpec("users", "/admin/users",
             lambda r, tag, keep: UserFactory(company=r.company, email=f"{tag}@example.com"),
             "id", role="admin"),
]
IDS = [spec.name for spec in SPECS]


def make_rows(spec: ListSpec, records: Records, n: int, prefix: str = "keep") -> None:
    for i in range(n):
        spec.make(records, f"{prefix}-{i:03d}", True)


def read(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def export_url(spec: ListSpec, query: str = "") -> str:
    return f"{spec.url}?format=csv" + (f"&{query}" if query else "")


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_export_is_filtered_scoped_and_needs_the_role(spec, app, company, other_company,
                                                      client, client_as):
    records = Records(company)
    spec.make(records, "keep-row", True)
    spec.make(records, "drop-row", False)
    spec.make(Records(other_company), "keep-other", True)
    user = client_as(spec.role)

    page = user.get(f"{spec.url}?{spec.filter(records)}").get_data(as_text=True)
    assert 'id="export-csv"' in page and "format=csv" in page
    response = user.get(export_url(spec, spec.filter(records)))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read(response)
    assert rows[0][0] == spec.header
    body = "\n".join(",".join(row) for row in rows[1:])
    assert "keep-row" in body
    assert "drop-row" not in body  # filtered out on the page: not in the file
    assert "keep-other" not in body  # another company's rows: never

    # unfiltered, the dropped row is there (the filter, not the export, removed it)
    assert "drop-row" in user.get(export_url(spec)).get_data(as_text=True)
    assert client.get(export_url(spec)).status_code == 302  # anonymous: to the login page
    if spec.role == "admin":
        assert client_as("manager").get(export_url(spec)).status_code == 403


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_export_queries_do_not_grow_with_rows(spec, app, company, client_as):
    records = Records(company)
    user = client_as(spec.role)

    def queries() -> tuple[int, int]:
        with count_queries() as counter:
            response = user.get(export_url(spec))
            rows = read(response)  # the body is produced (and queried) while it is read
        assert response.status_code == 200
        return counter.count, len(rows)

    make_rows(spec, records, 5, "a")
    few, few_rows = queries()
    make_rows(spec, records, 55, "b")
    many, many_rows = queries()
    assert many_rows - few_rows == 55
    assert few == many, f"{spec.name}: {few} queries with 5 rows, {many} with 60"


def test_a_large_export_streams_in_batches(app, company, client_as, monkeypatch):
    from erp import csv_io

    monkeypatch.setattr(csv_io, "BATCH", 10)
    monkeypatch.setattr(csv_io, "CHUNK", 300)
    ProductFactory.create_batch(25, company=company)
    response = client_as("viewer").get("/catalog/products?format=csv")
    assert response.is_streamed
    chunks = list(response.iter_encoded())
    # rows as they are read, sent in pieces of CHUNK characters (not a piece per row)
    assert b"".join(chunks).count(b"\r\n") == 26
    assert 1 < len(chunks) < 26
    assert all(len(chunk) >= 300 for chunk in chunks[:-1])


@pytest.mark.parametrize("config_overrides", [{"RATELIMIT_EXPORT": "2 per minute"}])
def test_exports_are_rate_limited_but_pages_are_not(app, company, client_as):
    viewer = client_as("viewer")
    assert viewer.get("/sales/customers?format=csv").status_code == 200
    assert viewer.get("/sales/customers?format=csv&q=x").status_code == 200
    assert viewer.get("/sales/customers?format=csv").status_code == 429
    for _ in range(3):
        assert viewer.get("/sales/customers").status_code == 200
    assert client_as("viewer").get("/sales/customers?format=csv").status_code == 200  # per user


def test_export_link_keeps_filters_and_sort_also_in_htmx_fragment(app, company, client_as):
    viewer = client_as("viewer")
    fragment = viewer.get("/sales/customers?q=acme&sort=-name&status=all",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="export-csv"' in fragment
    assert "/sales/customers?q=acme&amp;sort=-name&amp;status=all&amp;format=csv" in fragment


# ---------------------------------------------------------------- customers import

def csv_bytes(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode()


def test_customers_round_trip(app, company, other_company, client_as, make_user):
    CustomerFactory(company=company, name="Acme", email="buy@acme.example", phone="+1 555",
                    billing_address="1 Road\nTown", shipping_address="=HYPERLINK(\"x\")",
                    tax_number="-12", credit_limit=Decimal("1234.50"), active=True)
    CustomerFactory(company=company, name="Old Co", email="", phone="", billing_address="",
                    shipping_address="", tax_number="", credit_limit=Decimal("0"), active=False)
    data = client_as("viewer").get("/sales/customers?format=csv&status=all").get_data()
    assert data.decode("utf-8-sig").splitlines()[0] == ",".join(
        import_service.export_header("customers"))

    manager = make_user("manager", company=other_company)
    report = import_service.run_import("customers", company_id=other_company.id, user=manager,
                                       data=data)
    assert report.imported == 2
    db.session.rollback()
    fields = ("name", "email", "phone", "billing_address", "shipping_address", "tax_number",
              "credit_limit", "active")

    def snapshot(company_id):
        return [tuple(getattr(c, f) for f in fields) for c in db.session.scalars(
            select(Customer).where(Customer.company_id == company_id).order_by(Customer.name))]

    assert snapshot(other_company.id) == snapshot(company.id)
    again = client_as("viewer", company=other_company).get(
        "/sales/customers?format=csv&status=all").get_data()
    assert again == data


def test_customers_import_reports_every_error_and_writes_nothing(app, company):
    CustomerFactory(company=company, name="Existing")
    data = csv_bytes("name,email,credit_limit,active",
                     "Fresh,a@b.example,10,yes",
                     "fresh,,5,",
                     "existing,,,",
                     ",c@d.example,1,",
                     "Bad,not-an-email,ten,maybe",
                     "Neg,,-1,")
    report = import_service.preview_import("customers", company.id, data)
    messages = [str(e) for e in report.errors]
    assert any("line 3" in m and "repeated" in m for m in messages)
    assert any("line 4" in m and "already exists" in m for m in messages)
    assert any("line 5" in m and "name" in m for m in messages)
    assert any("line 6" in m and "not a number" in m for m in messages)
    assert any("line 6" in m and "email" in m for m in messages)
    assert any("line 6" in m and "yes or no" in m for m in messages)
    assert any("line 7" in m and "negative" in m for m in messages)
    with pytest.raises(import_service.ImportFailed):
        import_service.run_import("customers", company_id=company.id, user=None, data=data)
    db.session.rollback()
    assert db.session.scalar(select(db.func.count(Customer.id)).where(
        Customer.company_id == company.id)) == 1


def test_customers_import_wrong_columns_is_a_file_error(app, company):
    report = import_service.preview_import("customers", company.id,
                                           csv_bytes("name,credit,zip", "A,1,2"))
    assert report.file_errors and "Unknown columns" in report.file_errors[0]


def test_customers_import_through_the_pages_and_the_cli(app, company, client_as, runner,
                                                        tmp_path):
    manager = client_as("manager")
    assert manager.get("/admin/import/customers").status_code == 200
    path = tmp_path / "customers.csv"
    path.write_bytes(csv_bytes("name,credit_limit", "From CLI,99.5"))
    result = runner.invoke(args=["import-csv", "customers", str(path),
                                 "--company", company.name])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    customer = db.session.scalar(select(Customer).where(Customer.company_id == company.id))
    assert customer.name == "From CLI" and customer.credit_limit == Decimal("99.50")
    entries = manager.get(f"/admin/audit/history/customer/{customer.id}").get_data(as_text=True)
    assert "Imported from CSV" in entries


def test_movement_export_names_the_product_and_user(app, company, client_as, make_user):
    records = Records(company)
    user = make_user("staff")
    product = ProductFactory(company=company, sku="MOVE-1")
    put_stock(product, records.warehouse, 4, user=user)
    rows = read(client_as("viewer").get("/inventory/movements?format=csv"))
    header, row = rows[0], rows[1]
    values = dict(zip(header, row))
    assert values["sku"] == "MOVE-1" and values["warehouse"] == "MAIN"
    assert Decimal(values["quantity"]) == 4 and values["user"] == user.email
    db.session.rollback()
    assert db.session.scalar(select(db.func.count(StockMovement.id))) == 1
