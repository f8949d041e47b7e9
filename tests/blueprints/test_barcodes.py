"""Barcodes: one product per barcode in a company (the form's message, the import's, the
database's index), the scan endpoint a picker's Enter asks, and every stock form taking a
scanned barcode as its product (a plain POST: what a scanner's Enter sends without
JavaScript)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from erp.extensions import db
from erp.models import Product, StockLevel
from erp.services import catalog, imports, sales
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory

BARCODE = "4006381333931"


@pytest.fixture
def shop(app, company, make_user):
    class Shop:
        pass

    s = Shop()
    s.user = make_user("manager")
    s.product = ProductFactory(company=company, sku="BOLT-8", barcode=BARCODE)
    s.other = ProductFactory(company=company, sku="NUT-8", barcode="")
    s.main = WarehouseFactory(company=company, code="MAIN")
    s.spare = WarehouseFactory(company=company, code="SPARE")
    return s


def product_form(**values):
    return {"sku": "NEW-1", "name": "New", "kind": "finished_good", "unit": "pcs",
            "sale_price": "1", "cost_price": "1", "min_stock": "0", **values}


def test_a_taken_barcode_is_refused_next_to_the_field(client_as, shop):
    staff = client_as("staff")
    response = staff.post("/catalog/products/new", data=product_form(barcode=BARCODE))
    assert response.status_code == 422
    assert f"Barcode {BARCODE} is taken by BOLT-8." in response.get_data(as_text=True)
    response = staff.post(f"/catalog/products/{shop.other.id}/edit",
                          data=product_form(sku="NUT-8", barcode=BARCODE))
    assert response.status_code == 422 and "is taken by BOLT-8" in response.get_data(as_text=True)
    # another product's SKU as a barcode: a scan would pick that product
    response = staff.post("/catalog/products/new", data=product_form(barcode="bolt-8"))
    assert response.status_code == 422
    assert "bolt-8 is the SKU of BOLT-8" in response.get_data(as_text=True)
    # its own barcode again, and blank barcodes on many products, are fine
    assert staff.post(f"/catalog/products/{shop.product.id}/edit", data=product_form(
        sku="BOLT-8", barcode=BARCODE)).status_code == 303
    assert staff.post("/catalog/products/new", data=product_form(barcode="")).status_code == 303
    db.session.rollback()
    assert db.session.get(Product, shop.other.id).barcode == ""


def test_the_database_keeps_a_barcode_unique_per_company(shop, company, other_company):
    ProductFactory(company=other_company, sku="THEIRS", barcode=BARCODE)  # another company
    db.session.commit()
    with pytest.raises(IntegrityError):
        ProductFactory(company=company, sku="TWIN", barcode=BARCODE)
        db.session.flush()
    db.session.rollback()


def test_the_import_refuses_a_taken_or_repeated_barcode(shop, company):
    data = ("sku,name,barcode\nA-1,First,%s\nA-2,Second,777\nA-3,Third,777\n" % BARCODE).encode()
    report = imports.preview_import("products", company.id, data)
    messages = [(error.line, error.column, error.message) for error in report.errors]
    assert (2, "barcode", f"Barcode {BARCODE!r} already exists.") in messages
    assert any(line == 4 and column == "barcode" and "repeated" in message
               for line, column, message in messages)


def test_the_scan_endpoint_names_the_product_exactly(client_as, shop, other_company):
    ProductFactory(company=other_company, sku="THEIRS", barcode="999")
    viewer = client_as("viewer")
    for code in (BARCODE, " bolt-8 ", "BOLT-8"):
        response = viewer.get("/catalog/products/scan", query_string={"code": code})
        assert response.status_code == 200 and response.json["label"] == "BOLT-8", code
    for code in ("4006381", "999", "THEIRS", "", "x" * 5000, "' OR 1=1 --"):
        response = viewer.get("/catalog/products/scan", query_string={"code": code})
        assert response.status_code == 200 and "No product" in response.json["error"], code
        assert "label" not in response.json


def test_every_product_picker_scans(client_as, shop, company):
    """Every product picker's box carries the scan URL its Enter asks."""
    staff = client_as("staff")
    order = sales.create_order(customer_id=CustomerFactory(company=company).id,
                               warehouse_id=shop.main.id, company_id=company.id, user=shop.user)
    for url in ("/inventory/receive", "/inventory/count", "/inventory/transfer",
                f"/sales/orders/{order.id}", "/production/orders/new", "/quality/inspections/new",
                f"/production/boms/{shop.product.id}"):
        html = staff.get(url).get_data(as_text=True)
        assert 'data-scan-url="/catalog/products/scan"' in html, url


def test_the_stock_forms_take_a_scanned_barcode(client_as, shop):
    staff = client_as("staff")
    response = staff.post("/inventory/receive", data={
        "direction": "receive", "product": BARCODE, "warehouse_id": str(shop.main.id),
        "quantity": "7"})
    assert response.status_code == 303
    response = staff.post("/inventory/transfer", data={
        "product": BARCODE, "from_warehouse_id": str(shop.main.id),
        "to_warehouse_id": str(shop.spare.id), "quantity": "2"})
    assert response.status_code == 303
    response = staff.post("/inventory/count", data={
        "product": BARCODE, "warehouse_id": str(shop.spare.id), "counted": "1"})
    assert response.status_code == 303
    db.session.rollback()
    levels = dict(db.session.execute(select(StockLevel.warehouse_id, StockLevel.on_hand).where(
        StockLevel.product_id == shop.product.id)).all())
    assert levels == {shop.main.id: Decimal(5), shop.spare.id: Decimal(1)}
    # an unknown code: the message next to the product, nothing moved
    response = staff.post("/inventory/receive", data={
        "direction": "receive", "product": "0000000000000", "warehouse_id": str(shop.main.id),
        "quantity": "7"})
    assert response.status_code == 422 and "No such product" in response.get_data(as_text=True)


def test_catalog_find_product_prefers_the_sku_and_refuses_another_company(shop, other_company):
    ProductFactory(company=other_company, sku="FOREIGN", barcode="123")
    company_id = shop.product.company_id
    assert catalog.find_product(company_id, BARCODE).id == shop.product.id
    assert catalog.find_product(company_id, "123") is None
