"""Inventory pages: warehouses, stock levels, the ledger and the stock forms."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import StockLevel, StockMovement, Warehouse
from erp.services import stock
from tests.factories.catalog import CategoryFactory, ProductFactory, WarehouseFactory
from tests.factories.inventory_helpers import put_stock

LISTS = ["/inventory/warehouses", "/inventory/stock", "/inventory/movements"]
FORMS = ["/inventory/count", "/inventory/transfer", "/inventory/receive"]


@pytest.fixture
def setup(company):
    product = ProductFactory(company=company, sku="BOLT-8", name="Bolt M8", min_stock=Decimal("10"))
    main = WarehouseFactory(company=company, code="MAIN")
    spare = WarehouseFactory(company=company, code="SPARE")
    put_stock(product, main, 8)
    return product, main, spare


def ledger():
    db.session.rollback()
    return (db.session.scalar(select(func.count()).select_from(StockMovement)),
            db.session.scalar(select(func.count()).select_from(Warehouse)))


def on_hand(product, warehouse):
    db.session.rollback()
    return db.session.scalar(select(StockLevel.on_hand).where(
        StockLevel.product_id == product.id, StockLevel.warehouse_id == warehouse.id))


# Roles and scope

@pytest.mark.parametrize("role", ["viewer", "staff", "manager", "admin"])
def test_everyone_reads_inventory(client_as, setup, role):
    client = client_as(role)
    _, main, _ = setup
    for url in LISTS + [f"/inventory/warehouses/{main.id}"]:
        assert client.get(url).status_code == 200, url
    expected = 403 if role == "viewer" else 200
    for url in FORMS + ["/inventory/warehouses/new", f"/inventory/warehouses/{main.id}/edit"]:
        assert client.get(url).status_code == expected, url
    expected = 200 if role in ("manager", "admin") else 403
    assert client.get(f"/inventory/warehouses/{main.id}/delete").status_code == expected


def test_viewers_cannot_move_stock_and_staff_cannot_delete(client_as, setup):
    product, main, spare = setup
    viewer, staff = client_as("viewer"), client_as("staff")
    data = {"product": product.sku, "warehouse_id": main.id, "from_warehouse_id": main.id,
            "to_warehouse_id": spare.id, "quantity": "1", "counted": "1"}
    for url in FORMS:
        assert viewer.post(url, data=data).status_code == 403
    for url in [f"/inventory/warehouses/{spare.id}/delete", f"/inventory/warehouses/{spare.id}/active"]:
        assert staff.post(url).status_code == 403
    assert ledger() == (1, 2)


def test_another_company_gets_404_on_every_warehouse_route(other_company_client, setup):
    _, main, _ = setup
    for url in [f"/inventory/warehouses/{main.id}", f"/inventory/warehouses/{main.id}/edit",
                f"/inventory/warehouses/{main.id}/delete"]:
        assert other_company_client.get(url).status_code == 404, url
    for url in [f"/inventory/warehouses/{main.id}/edit", f"/inventory/warehouses/{main.id}/delete",
                f"/inventory/warehouses/{main.id}/active"]:
        assert other_company_client.post(url, data={"code": "X", "name": "X"}).status_code == 404
    assert ledger() == (1, 2)


def test_another_company_cannot_move_or_see_our_stock(other_company_client, setup):
    product, main, spare = setup
    response = other_company_client.post("/inventory/transfer", data={
        "product": product.sku, "from_warehouse_id": main.id, "to_warehouse_id": spare.id,
        "quantity": "1"})
    assert response.status_code == 422  # neither the product nor the warehouses are theirs
    response = other_company_client.post("/inventory/receive", data={
        "direction": "receive", "product": f"x [#{product.id}]", "warehouse_id": main.id,
        "quantity": "1"})
    assert response.status_code == 422
    assert b"BOLT-8" not in other_company_client.get("/inventory/stock").data
    assert b"BOLT-8" not in other_company_client.get("/inventory/movements").data
    theirs = other_company_client.get("/inventory/movements?product=BOLT-8").data
    assert b'<tr id="movement-' not in theirs and b"No product" in theirs
    assert ledger() == (1, 2)


# Warehouses

def test_staff_creates_and_edits_a_warehouse(client_as):
    staff = client_as("staff")
    assert staff.post("/inventory/warehouses/new", data={"code": "north", "name": "North"}).status_code == 303
    db.session.rollback()
    warehouse = db.session.scalar(select(Warehouse))
    assert warehouse.code == "NORTH"
    assert staff.post(f"/inventory/warehouses/{warehouse.id}/edit",
                      data={"code": "N1", "name": "North 1"}).status_code == 303
    db.session.rollback()
    assert db.session.get(Warehouse, warehouse.id).code == "N1"


@pytest.mark.parametrize("data", [{"code": "", "name": ""}, {"code": "MAIN", "name": "Dup"},
                                  {"code": "x" * 4000, "name": "Long"},
                                  {"code": "OK", "name": "n" * 4000},
                                  {"code": "OK", "name": "A", "address": "a" * 6000}])
def test_bad_warehouse_input(client_as, setup, data):
    assert client_as("staff").post("/inventory/warehouses/new", data=data).status_code == 422
    assert ledger() == (1, 2)


def test_warehouse_delete_rules(client_as, setup):
    manager = client_as("manager")
    _, main, spare = setup
    response = manager.post(f"/inventory/warehouses/{main.id}/delete", follow_redirects=True)
    assert b"cannot be deleted" in response.data
    assert manager.post(f"/inventory/warehouses/{spare.id}/delete").status_code == 303
    assert ledger() == (1, 1)
    response = manager.post(f"/inventory/warehouses/{main.id}/active", data={"active": "0"},
                            follow_redirects=True)
    assert b"MAIN still holds stock of 1 product. Move the stock first" in response.data
    db.session.rollback()
    assert db.session.get(Warehouse, main.id).active is True
    product = db.session.scalar(select(StockLevel.product_id))
    stock.issue(company_id=main.company_id, product_id=product, warehouse_id=main.id,
                quantity=8, user=None)
    assert manager.post(f"/inventory/warehouses/{main.id}/active", data={"active": "0"}).status_code == 303
    db.session.rollback()
    assert db.session.get(Warehouse, main.id).active is False
    assert b">MAIN \xc2\xb7" not in manager.get("/inventory/transfer").data  # archived: not offered
    assert b">SPARE" not in manager.get("/inventory/transfer").data


# Lists

@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_stock_list_filters_warehouse_category_low_and_search(admin_client, company, setup):
    product, main, spare = setup
    category = CategoryFactory(company=company)
    nut = ProductFactory(company=company, sku="NUT-8", category_id=category.id,
                         min_stock=Decimal("1"))
    put_stock(nut, spare, 5)
    get = lambda q: admin_client.get(f"/inventory/stock?{q}", headers={"HX-Request": "true"}).data.decode()  # noqa: E731
    assert "BOLT-8" in get("") and "NUT-8" in get("")
    assert "NUT-8" not in get(f"warehouse={main.id}") and "BOLT-8" in get(f"warehouse={main.id}")
    assert "BOLT-8" not in get(f"category={category.id}") and "NUT-8" in get(f"category={category.id}")
    low = get("low=1")
    assert "BOLT-8" in low and "NUT-8" not in low  # 8 available < 10 minimum
    assert "NUT-8" in get("q=nut") and "BOLT-8" not in get("q=nut")
    body = get("sort=-available")
    assert body.index("BOLT-8") < body.index("NUT-8")


def test_low_stock_view_links_to_reorder_and_shortages_when_they_exist(admin_client, app, setup):
    body = admin_client.get("/inventory/stock?low=1").data.decode()
    assert ("Create purchase orders" in body) == ("purchasing.reorder" in app.view_functions)
    assert ("Shortages for production" in body) == ("production.shortages" in app.view_functions)


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_movement_list_filters(admin_client, company, setup):
    product, main, spare = setup
    other = ProductFactory(company=company, sku="NUT-8")
    put_stock(other, spare, 3)
    stock.transfer(company_id=company.id, product_id=product.id, from_warehouse_id=main.id,
                   to_warehouse_id=spare.id, quantity="2", user=None)
    get = lambda q: admin_client.get(f"/inventory/movements?{q}", headers={"HX-Request": "true"}).data.decode()  # noqa: E731
    assert get("").count('<tr id="movement-') == 4
    assert get("product=NUT-8").count('<tr id="movement-') == 1
    assert get(f"product=x [%23{product.id}]").count('<tr id="movement-') == 3
    assert get(f"warehouse={spare.id}").count('<tr id="movement-') == 2
    assert get("kind=transfer_out").count('<tr id="movement-') == 1
    assert get("date_from=2000-01-01&date_to=2999-12-31").count('<tr id="movement-') == 4
    assert get("date_to=2000-01-01").count('<tr id="movement-') == 0
    assert "not a date" in get("date_from=yesterday")
    assert "No product" in get("product=NOPE")


BAD_QUERIES = ["page=abc", "page=-1", "page=99999", "per_page=0", "per_page=100000",
               "sort=password", "sort=-;drop", "warehouse=abc", "warehouse=-1",
               "warehouse=999999999999999999999", "category=x", "low=2", "kind=nope",
               "product=" + "p" * 4000, "date_from=2024-13-45", "date_to=%00",
               "q=" + "x" * 5000, "q=%25%27"]


@pytest.mark.parametrize("url", LISTS)
def test_lists_survive_bad_query_parameters(admin_client, setup, url):
    for query in BAD_QUERIES:
        expected = 400 if "%00" in query else 200  # a NUL character is a bad request
        assert admin_client.get(f"{url}?{query}").status_code == expected, query


@pytest.mark.parametrize("url", LISTS)
def test_lists_answer_htmx_with_only_the_results_block(admin_client, setup, url):
    response = admin_client.get(url, headers={"HX-Request": "true"})
    assert response.data.lstrip().startswith(b'<div id="results">')
    assert b'class="navbar' not in response.data and "HX-Request" in response.headers["Vary"]


def test_list_and_detail_query_counts_do_not_grow_with_rows(admin_client, company, queries_for):
    category = CategoryFactory(company=company)
    main = WarehouseFactory(company=company)
    urls = [u + "?per_page=100" for u in LISTS] + [
        "/inventory/stock?per_page=100&low=1&sort=-available", f"/inventory/warehouses/{main.id}",
        "/inventory/movements?per_page=100&product=P-0000"]

    def grow(start, n):
        for i in range(start, start + n):
            product = ProductFactory(company=company, sku=f"P-{i:04d}", category_id=category.id,
                                     min_stock=Decimal("5"))
            put_stock(product, main, 1)
            WarehouseFactory(company=company)

    grow(0, 5)
    few = [queries_for(admin_client, url) for url in urls]
    grow(5, 55)
    assert [queries_for(admin_client, url) for url in urls] == few


# Stock forms

def test_transfer_moves_stock_and_writes_two_movements(client_as, setup, company):
    product, main, spare = setup
    response = client_as("staff").post("/inventory/transfer", data={
        "product": "bolt-8", "from_warehouse_id": main.id, "to_warehouse_id": spare.id,
        "quantity": "3.5", "note": "rebalance"})
    assert response.status_code == 303
    assert (on_hand(product, main), on_hand(product, spare)) == (Decimal("4.5"), Decimal("3.5"))
    assert stock.ledger_mismatches(company.id) == []


def test_insufficient_stock_is_shown_next_to_the_quantity(client_as, setup):
    product, main, spare = setup
    response = client_as("staff").post("/inventory/transfer", data={
        "product": product.sku, "from_warehouse_id": main.id, "to_warehouse_id": spare.id,
        "quantity": "9"})
    assert response.status_code == 422
    body = response.data.decode()
    assert "Not enough BOLT-8 in MAIN" in body and "invalid-feedback" in body
    issue = client_as("staff").post("/inventory/receive", data={
        "direction": "issue", "product": product.sku, "warehouse_id": spare.id, "quantity": "1"})
    assert issue.status_code == 422 and b"Not enough BOLT-8 in SPARE" in issue.data
    assert ledger() == (1, 2)


def test_count_sets_on_hand_and_receive_issue_work(client_as, setup, company):
    product, main, _ = setup
    staff = client_as("staff")
    response = staff.post("/inventory/count", data={"product": product.sku, "warehouse_id": main.id,
                                                     "counted": "6"})
    assert response.status_code == 303 and f"warehouse={main.id}" in response.headers["Location"]
    assert on_hand(product, main) == Decimal("6")
    same = staff.post("/inventory/count", data={"product": product.sku, "warehouse_id": main.id,
                                                "counted": "6"}, follow_redirects=True)
    assert b"nothing changed" in same.data
    assert staff.post("/inventory/receive", data={"direction": "receive", "product": product.sku,
                                                  "warehouse_id": main.id, "quantity": "4"}).status_code == 303
    assert staff.post("/inventory/receive", data={"direction": "issue", "product": product.sku,
                                                  "warehouse_id": main.id, "quantity": "1"}).status_code == 303
    assert on_hand(product, main) == Decimal("9")
    assert stock.ledger_mismatches(company.id) == []


BAD_STOCK = [
    {"product": "", "quantity": ""},
    {"product": "NOPE", "quantity": "1"},
    {"product": "BOLT-8", "quantity": "abc"},
    {"product": "BOLT-8", "quantity": "-5"},
    {"product": "BOLT-8", "quantity": "0"},
    {"product": "BOLT-8", "quantity": "1.0001"},
    {"product": "BOLT-8", "quantity": "1e30"},
    {"product": "BOLT-8", "quantity": "NaN"},
    {"product": "x" * 4000, "quantity": "1"},
    {"product": "BOLT-8", "quantity": "1", "warehouse_id": "999999", "from_warehouse_id": "abc"},
    {"product": "BOLT-8", "quantity": "1", "note": "n" * 4000},
    {"product": "BOLT-8", "quantity": "1", "direction": "steal"},
    {"product": "BOLT-8", "quantity": "1", "to_warehouse_id": "same"},
]


def test_bad_input_on_every_stock_form_is_refused_with_errors(client_as, setup, company):
    product, main, spare = setup
    service = ProductFactory(company=company, sku="SVC-1", kind="service")
    staff = client_as("staff")
    for data in BAD_STOCK + [{"product": service.sku, "quantity": "1"}]:
        base = {"warehouse_id": main.id, "from_warehouse_id": main.id,
                "to_warehouse_id": spare.id, "direction": "receive", "counted": data.get("quantity")}
        form = {**base, **data}
        if form.get("to_warehouse_id") == "same":
            form["to_warehouse_id"] = main.id
        for url in FORMS:
            if url == "/inventory/count" and data.get("quantity") in ("0", "-5") and len(data) == 2:
                continue  # counting zero is fine; -5 is checked below
            if ("direction" in data and url != "/inventory/receive") or (
                    "to_warehouse_id" in data and url != "/inventory/transfer"):
                continue  # a field the form does not have
            response = staff.post(url, data=form)
            assert response.status_code == 422, (url, data)
            assert b"invalid-feedback" in response.data or b"alert-danger" in response.data
    negative = staff.post("/inventory/count", data={"product": product.sku, "warehouse_id": main.id,
                                                    "counted": "-5"})
    assert negative.status_code == 422
    assert ledger() == (1, 2)
    assert stock.ledger_mismatches(company.id) == []


def test_stock_forms_prefill_the_product_from_the_address(client_as, setup):
    body = client_as("staff").get("/inventory/transfer?product=BOLT-8").data.decode()
    assert 'value="BOLT-8"' in body
