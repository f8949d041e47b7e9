"""Catalog pages: roles, company scope, bad input, htmx fragments, query counts, archive
and delete rules."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import Category, Product, Supplier
from tests.factories.catalog import (CategoryFactory, ProductFactory, SupplierFactory,
                                     WarehouseFactory)
from tests.factories.inventory_helpers import put_stock

LISTS = ["/catalog/products", "/catalog/categories", "/catalog/suppliers"]


@pytest.fixture
def records(company):
    category = CategoryFactory(company=company, name="Chairs")
    supplier = SupplierFactory(company=company, name="Acme Supply")
    product = ProductFactory(company=company, sku="CH-001", name="Chair", category_id=category.id,
                             preferred_supplier_id=supplier.id, barcode="4001234567890",
                             min_stock=Decimal("5"))
    return product, category, supplier


def id_urls(product, category, supplier):
    return {
        "get": [f"/catalog/products/{product.id}", f"/catalog/products/{product.id}/edit",
                f"/catalog/products/{product.id}/delete", f"/catalog/categories/{category.id}",
                f"/catalog/categories/{category.id}/edit", f"/catalog/categories/{category.id}/delete",
                f"/catalog/suppliers/{supplier.id}", f"/catalog/suppliers/{supplier.id}/edit",
                f"/catalog/suppliers/{supplier.id}/delete"],
        "post": [f"/catalog/products/{product.id}/edit", f"/catalog/products/{product.id}/delete",
                 f"/catalog/products/{product.id}/active", f"/catalog/categories/{category.id}/edit",
                 f"/catalog/categories/{category.id}/delete",
                 f"/catalog/categories/{category.id}/active",
                 f"/catalog/suppliers/{supplier.id}/edit", f"/catalog/suppliers/{supplier.id}/delete",
                 f"/catalog/suppliers/{supplier.id}/active"],
    }


def counts():
    db.session.rollback()
    return tuple(db.session.scalar(select(func.count()).select_from(m))
                 for m in (Product, Category, Supplier))


# Roles

@pytest.mark.parametrize("role", ["viewer", "staff", "manager", "admin"])
def test_everyone_reads_the_catalog(client_as, records, role):
    client = client_as(role)
    product, category, supplier = records
    for url in LISTS + id_urls(*records)["get"][::3] + ["/catalog/suppliers/options?q=ac"]:
        assert client.get(url).status_code == 200, url


def test_viewers_cannot_write(client_as, records):
    viewer = client_as("viewer")
    for url in ["/catalog/products/new", "/catalog/categories/new", "/catalog/suppliers/new"]:
        assert viewer.get(url).status_code == 403
        assert viewer.post(url, data={"name": "x", "sku": "x"}).status_code == 403
    for url in id_urls(*records)["post"]:
        assert viewer.post(url, data={"name": "x"}).status_code == 403, url
    assert counts() == (1, 1, 1)


def test_staff_edits_but_only_managers_archive_and_delete(client_as, records):
    staff = client_as("staff")
    product, category, supplier = records
    for url in [f"/catalog/products/{product.id}/edit", f"/catalog/categories/{category.id}/edit",
                f"/catalog/suppliers/{supplier.id}/edit"]:
        assert staff.get(url).status_code == 200
    for url in id_urls(*records)["post"]:
        if "/edit" not in url:
            assert staff.post(url).status_code == 403, url
    for url in id_urls(*records)["get"]:
        if url.endswith("/delete"):
            assert staff.get(url).status_code == 403, url
    assert counts() == (1, 1, 1)


def test_another_company_gets_404_on_every_record_route(other_company_client, records):
    urls = id_urls(*records)
    for url in urls["get"]:
        assert other_company_client.get(url).status_code == 404, url
    for url in urls["post"]:
        assert other_company_client.post(url, data={"name": "Hijack", "sku": "H"}).status_code == 404, url
    assert counts() == (1, 1, 1)
    db.session.rollback()
    assert db.session.get(Product, records[0].id).name == "Chair"


def test_lists_never_show_another_companys_records(admin_client, other_company, records):
    ProductFactory(company=other_company, sku="THEIRS-1")
    SupplierFactory(company=other_company, name="Their Supplier")
    CategoryFactory(company=other_company, name="Their Category")
    assert b"THEIRS-1" not in admin_client.get("/catalog/products").data
    assert b"Their Supplier" not in admin_client.get("/catalog/suppliers").data
    assert b"Their Supplier" not in admin_client.get("/catalog/suppliers/options?q=their").data
    assert b"Their Category" not in admin_client.get("/catalog/categories").data
    assert b"Their Category" not in admin_client.get("/catalog/products/new").data


# Lists

@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_product_list_searches_sku_name_and_barcode(admin_client, company, records):
    ProductFactory(company=company, sku="TB-001", name="Table")
    for q, shown, hidden in [("ch-0", "CH-001", "TB-001"), ("tab", "TB-001", "CH-001"),
                             ("4001234", "CH-001", "TB-001")]:
        body = admin_client.get(f"/catalog/products?q={q}").data.decode()
        assert shown in body and hidden not in body, q


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_product_list_filters_category_kind_status_and_low_stock(admin_client, company, records):
    product, category, _ = records
    other = ProductFactory(company=company, sku="RM-1", kind="raw_material", min_stock=Decimal("1"))
    archived = ProductFactory(company=company, sku="OLD-1", active=False)
    warehouse = WarehouseFactory(company=company)
    put_stock(product, warehouse, 3)  # below its minimum of 5
    put_stock(other, warehouse, 10)
    get = lambda q: admin_client.get(f"/catalog/products?{q}").data.decode()  # noqa: E731
    assert "CH-001" in get(f"category={category.id}") and "RM-1" not in get(f"category={category.id}")
    assert "RM-1" in get("kind=raw_material") and "CH-001" not in get("kind=raw_material")
    assert "OLD-1" not in get("") and "OLD-1" in get("status=archived")
    assert "CH-001" not in get("status=archived") and "OLD-1" in get("status=all")
    low = get("low=1")
    assert "CH-001" in low and "RM-1" not in low
    assert archived.sku not in get("low=1")


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_product_list_sorts_and_pages(admin_client, company):
    for n in range(25):
        ProductFactory(company=company, sku=f"P-{n:02d}", sale_price=Decimal(n))
    first = admin_client.get("/catalog/products?sort=-sku&per_page=10").data.decode()
    assert first.index("P-24") < first.index("P-23") and "P-14" not in first
    assert "Rows 1–10 of 25" in first and 'rel="next"' in first
    third = admin_client.get("/catalog/products?sort=price&per_page=10&page=3").data.decode()
    assert "P-20" in third and "P-19" not in third and 'rel="next"' not in third


BAD_QUERIES = ["page=abc", "page=-4", "page=99999", "per_page=100000",
                                   "per_page=x", "sort=password_hash", "sort=-;drop table x",
                                   "category=abc", "category=-1", "category=99999999999999999999",
                                   "kind=spaceship", "status=deleted", "low=yes",
                                   "supplier=%00", "q=" + "x" * 5000, "q=%25%27%22"]


@pytest.mark.parametrize("url", LISTS)
def test_lists_survive_bad_query_parameters(admin_client, url):
    for query in BAD_QUERIES:
        expected = 400 if "%00" in query else 200  # a NUL character is a bad request
        assert admin_client.get(f"{url}?{query}").status_code == expected, query


@pytest.mark.parametrize("url", LISTS)
def test_lists_answer_htmx_with_only_the_results_block(admin_client, records, url):
    response = admin_client.get(f"{url}?q=c", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.data.lstrip().startswith(b'<div id="results">')
    assert b"<nav class=\"navbar" not in response.data
    assert "HX-Request" in response.headers["Vary"]


def test_list_pages_are_plain_links_and_forms_without_js(admin_client, records):
    body = admin_client.get("/catalog/products").data.decode()
    assert 'method="get" action="/catalog/products"' in body
    assert 'hx-push-url="true"' in body
    assert f'href="/catalog/products/{records[0].id}"' in body


def make_rows(company, n):
    warehouse = WarehouseFactory(company=company)
    for _ in range(n):
        category = CategoryFactory(company=company)
        supplier = SupplierFactory(company=company)
        product = ProductFactory(company=company, category_id=category.id,
                                 preferred_supplier_id=supplier.id)
        put_stock(product, warehouse, 2)
    return warehouse


def test_list_query_counts_do_not_grow_with_rows(admin_client, company, queries_for):
    urls = [u + "?per_page=100" for u in LISTS] + [
        "/catalog/products?per_page=100&low=1&q=SKU&sort=-price&status=all"]
    make_rows(company, 5)
    few = [queries_for(admin_client, url) for url in urls]
    make_rows(company, 55)
    assert [queries_for(admin_client, url) for url in urls] == few


def test_detail_query_counts_do_not_grow_with_rows(admin_client, company, queries_for):
    category = CategoryFactory(company=company)
    supplier = SupplierFactory(company=company)
    product = ProductFactory(company=company, category_id=category.id,
                             preferred_supplier_id=supplier.id)
    warehouses = [WarehouseFactory(company=company) for _ in range(3)]

    def grow(n):
        for i in range(n):
            put_stock(product, warehouses[i % 3], 1)
            ProductFactory(company=company, category_id=category.id,
                           preferred_supplier_id=supplier.id)
            CategoryFactory(company=company, parent_id=category.id)

    urls = [f"/catalog/products/{product.id}?per_page=100", f"/catalog/categories/{category.id}",
            f"/catalog/suppliers/{supplier.id}"]
    grow(5)
    few = [queries_for(admin_client, url) for url in urls]
    grow(55)
    assert [queries_for(admin_client, url) for url in urls] == few
    from tests.factories.inventory_helpers import unnest_categories
    unnest_categories()


# Product detail

def test_product_detail_shows_stock_per_warehouse_movements_and_supplier(admin_client, company,
                                                                          records):
    product, _, supplier = records
    main = WarehouseFactory(company=company, code="MAIN")
    spare = WarehouseFactory(company=company, code="SPARE")
    put_stock(product, main, 7)
    put_stock(product, spare, 2)
    body = admin_client.get(f"/catalog/products/{product.id}").data.decode()
    assert "MAIN" in body and "SPARE" in body and "Receipt" in body
    assert "Acme Supply" in body and 'id="stock-levels"' in body
    page2 = admin_client.get(f"/catalog/products/{product.id}?per_page=1&page=2",
                             headers={"HX-Request": "true"})
    assert page2.data.lstrip().startswith(b'<div id="movements">')
    assert page2.data.count(b'id="movement-') == 1


# Forms

def test_staff_creates_a_product(client_as, records):
    staff = client_as("staff")
    _, category, supplier = records
    response = staff.post("/catalog/products/new", data={
        "sku": "NEW-1", "name": "New thing", "kind": "component", "category_id": str(category.id),
        "unit": "kg", "sale_price": "12.50", "cost_price": "7", "min_stock": "3.5",
        "barcode": "", "preferred_supplier": f"Acme Supply [#{supplier.id}]", "description": ""})
    assert response.status_code == 303
    db.session.rollback()
    product = db.session.scalar(select(Product).where(Product.sku == "NEW-1"))
    assert (product.kind, product.unit, product.sale_price, product.min_stock,
            product.category_id, product.preferred_supplier_id) == (
        "component", "kg", Decimal("12.50"), Decimal("3.500"), category.id, supplier.id)


BAD_PRODUCTS = [
    {"sku": "CH-001", "name": "Duplicate SKU"},
    {"sku": "", "name": ""},
    {"sku": "X1", "name": "x" * 4000},
    {"sku": "s" * 4000, "name": "Long SKU"},
    {"sku": "X2", "name": "Negative", "sale_price": "-1"},
    {"sku": "X3", "name": "NaN", "sale_price": "abc", "cost_price": "NaN", "min_stock": "1e999"},
    {"sku": "X4", "name": "Huge", "sale_price": "9999999999999999"},
    {"sku": "X5", "name": "Decimals", "sale_price": "1.001"},
    {"sku": "X6", "name": "Kind", "kind": "spaceship", "unit": "parsec"},
    {"sku": "X7", "name": "Category", "category_id": "999999"},
    {"sku": "X8", "name": "Category", "category_id": "abc"},
    {"sku": "X9", "name": "Supplier", "preferred_supplier": "Nobody [#999999]"},
    {"sku": "X10", "name": "Supplier", "preferred_supplier": "x" * 4000},
]


@pytest.mark.parametrize("data", BAD_PRODUCTS)
def test_bad_product_input_gets_field_errors_and_writes_nothing(client_as, records, data):
    staff = client_as("staff")
    form = {"kind": "finished_good", "unit": "pcs", "sale_price": "1", "cost_price": "1",
            "min_stock": "0", **data}
    before = counts()
    response = staff.post("/catalog/products/new", data=form)
    assert response.status_code == 422
    assert b"invalid-feedback" in response.data
    assert counts() == before
    if data["sku"] != "CH-001":  # its own SKU is fine on edit
        assert staff.post(f"/catalog/products/{records[0].id}/edit", data=form).status_code == 422
    db.session.rollback()
    assert db.session.get(Product, records[0].id).name == "Chair"


def test_duplicate_sku_message_is_next_to_the_field(client_as, records):
    response = client_as("staff").post("/catalog/products/new", data={
        "sku": "ch-001", "name": "Dup", "kind": "finished_good", "unit": "pcs"})
    assert response.status_code == 422 and b"SKU ch-001 is taken." in response.data


def test_product_edit_prefills_and_saves(client_as, records):
    staff = client_as("staff")
    product, category, supplier = records
    body = staff.get(f"/catalog/products/{product.id}/edit").data.decode()
    assert f"Acme Supply [#{supplier.id}]" in body and 'value="CH-001"' in body
    response = staff.post(f"/catalog/products/{product.id}/edit", data={
        "sku": "CH-001", "name": "Chair v2", "kind": "finished_good", "unit": "pcs",
        "category_id": "", "sale_price": "20", "cost_price": "10", "min_stock": "1",
        "preferred_supplier": ""})
    assert response.status_code == 303
    db.session.rollback()
    product = db.session.get(Product, product.id)
    assert (product.name, product.category_id, product.preferred_supplier_id) == ("Chair v2", None, None)


@pytest.mark.parametrize("data", [{"name": ""}, {"name": "x" * 4000}, {"name": "chairs"},
                                  {"name": "Ok", "parent_id": "999999"},
                                  {"name": "Ok", "description": "d" * 6000}])
def test_bad_category_input(client_as, records, data):
    staff = client_as("staff")
    before = counts()
    assert staff.post("/catalog/categories/new", data=data).status_code == 422
    assert counts() == before


def test_category_cannot_be_its_own_parent(client_as, records):
    category = records[1]
    response = client_as("staff").post(f"/catalog/categories/{category.id}/edit",
                                       data={"name": "Chairs", "parent_id": str(category.id)})
    assert response.status_code == 422  # not even a choice


@pytest.mark.parametrize("data", [{"name": ""}, {"name": "x" * 4000}, {"name": "A", "email": "nope"},
                                  {"name": "A", "phone": "1" * 51},
                                  {"name": "A", "tax_number": "t" * 4000}])
def test_bad_supplier_input(client_as, records, data):
    before = counts()
    assert client_as("staff").post("/catalog/suppliers/new", data=data).status_code == 422
    assert counts() == before


def test_staff_creates_category_and_supplier(client_as, records):
    staff = client_as("staff")
    assert staff.post("/catalog/categories/new", data={
        "name": "Sub", "parent_id": str(records[1].id)}).status_code == 303
    assert staff.post("/catalog/suppliers/new", data={
        "name": "Beta GmbH", "email": "b@beta.example", "phone": "+49 1"}).status_code == 303
    assert counts() == (1, 2, 2)
    options = staff.get("/catalog/suppliers/options?q=beta").data.decode()
    assert "Beta GmbH [#" in options
    from tests.factories.inventory_helpers import unnest_categories
    unnest_categories()


# Archive and delete

def test_manager_deletes_an_unreferenced_product_after_confirmation(client_as, company):
    manager = client_as("manager")
    product = ProductFactory(company=company)
    page = manager.get(f"/catalog/products/{product.id}/delete").data.decode()
    assert 'id="confirm-delete"' in page
    response = manager.post(f"/catalog/products/{product.id}/delete")
    assert response.status_code == 303 and response.headers["Location"].endswith("/catalog/products")
    assert counts()[0] == 0


def test_a_product_with_movements_is_archived_not_deleted(client_as, company):
    manager = client_as("manager")
    product = ProductFactory(company=company)
    put_stock(product, WarehouseFactory(company=company), 1)
    page = manager.get(f"/catalog/products/{product.id}/delete").data.decode()
    assert 'id="delete-blocked"' in page and "Archive instead" in page
    response = manager.post(f"/catalog/products/{product.id}/delete", follow_redirects=True)
    assert b"cannot be deleted" in response.data
    assert counts()[0] == 1
    assert manager.post(f"/catalog/products/{product.id}/active", data={"active": "0"}).status_code == 303
    db.session.rollback()
    assert db.session.get(Product, product.id).active is False
    htmx = {"HX-Request": "true"}
    assert product.sku.encode() not in manager.get("/catalog/products", headers=htmx).data
    assert product.sku.encode() not in manager.get(f"/catalog/products/options?q={product.sku}").data
    manager.post(f"/catalog/products/{product.id}/active", data={"active": "1"})
    db.session.rollback()
    assert db.session.get(Product, product.id).active is True


def test_referenced_category_and_supplier_are_not_deleted(client_as, records):
    manager = client_as("manager")
    _, category, supplier = records
    r1 = manager.post(f"/catalog/categories/{category.id}/delete", follow_redirects=True)
    r2 = manager.post(f"/catalog/suppliers/{supplier.id}/delete", follow_redirects=True)
    assert b"cannot be deleted" in r1.data and b"cannot be deleted" in r2.data
    assert counts() == (1, 1, 1)
    assert manager.post(f"/catalog/categories/{category.id}/active", data={"active": "0"}).status_code == 303
    assert manager.post(f"/catalog/suppliers/{supplier.id}/active", data={"active": "0"}).status_code == 303
    db.session.rollback()
    assert not db.session.get(Category, category.id).active
    assert not db.session.get(Supplier, supplier.id).active


def test_unreferenced_category_and_supplier_are_deleted(client_as, company):
    manager = client_as("manager")
    category = CategoryFactory(company=company)
    supplier = SupplierFactory(company=company)
    assert manager.get(f"/catalog/categories/{category.id}/delete").status_code == 200
    assert manager.post(f"/catalog/categories/{category.id}/delete").status_code == 303
    assert manager.post(f"/catalog/suppliers/{supplier.id}/delete").status_code == 303
    assert counts() == (0, 0, 0)


def test_delete_through_htmx_redirects_with_hx_redirect(client_as, company):
    product = ProductFactory(company=company)
    response = client_as("manager").post(f"/catalog/products/{product.id}/delete",
                                         headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/catalog/products"


def test_supplier_detail_offers_purchase_history_when_purchasing_exists(admin_client, app, records):
    supplier = records[2]
    body = admin_client.get(f"/catalog/suppliers/{supplier.id}").data.decode()
    if "purchasing.supplier_orders" in app.view_functions:
        assert 'hx-trigger="load"' in body and "Purchase history" in body
    else:
        assert 'id="no-purchasing"' in body


def test_picker_options_answer_htmx_requests_with_options(staff_client, records):
    for url in ["/catalog/products/options?q=ch", "/catalog/products/options?product=ch&stocked=1",
                "/catalog/suppliers/options?q=acme", "/catalog/suppliers/options?preferred_supplier=ac"]:
        response = staff_client.get(url, headers={"HX-Request": "true"})
        assert response.status_code == 200 and b"<option" in response.data, url


def _product_form(product, **changes) -> dict:
    return {"sku": product.sku, "name": product.name, "kind": product.kind,
            "unit": product.unit, "category_id": "", "sale_price": "20",
            "cost_price": str(product.cost_price), "min_stock": "0",
            "preferred_supplier": ""} | changes


def test_stocked_product_cost_and_unit_are_guarded_on_the_form(client_as, company, records):
    """Issue #16: staff overwrote the cost and the unit of a product with stock."""
    product = records[0]
    put_stock(product, WarehouseFactory(company=company), 3)
    staff = client_as("staff")
    response = staff.post(f"/catalog/products/{product.id}/edit",
                          data=_product_form(product, cost_price="99", unit="kg"))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "only a manager can change its cost" in body and "its unit cannot change" in body
    db.session.rollback()
    saved = db.session.get(Product, product.id)
    assert (saved.cost_price, saved.unit) == (product.cost_price, product.unit)


def test_a_manager_revalues_and_the_product_page_shows_it(client_as, company, records,
                                                          other_company_client):
    product = records[0]
    put_stock(product, WarehouseFactory(company=company), 3)
    url = f"/catalog/products/{product.id}/revalue"
    staff, manager = client_as("staff"), client_as("manager")
    assert staff.get(url).status_code == 403
    assert staff.post(url, data={"cost_price": "1", "reason": "x"}).status_code == 403
    assert other_company_client.get(url).status_code == 404
    assert 'id="revalue"' not in staff.get(f"/catalog/products/{product.id}").get_data(
        as_text=True)
    page = manager.get(url).get_data(as_text=True)
    assert "on hand: <strong>3 pcs</strong>" in page
    assert manager.post(url, data={"cost_price": "abc", "reason": ""}).status_code == 422
    response = manager.post(url, data={"cost_price": "12.50", "reason": "Count at year end"})
    assert response.status_code == 303
    page = manager.get(f"/catalog/products/{product.id}").get_data(as_text=True)
    assert 'id="revaluations"' in page and "Count at year end" in page and "12.50" in page
    db.session.rollback()
    assert db.session.get(Product, product.id).cost_price == Decimal("12.50")
