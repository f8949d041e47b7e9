"""Sales pages: roles, company scope, bad input, htmx fragments and constant query counts."""
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import StockLevel
from erp.models.invoices import Invoice
from erp.models.sales import Customer, SalesOrder, SalesOrderItem
from erp.services import sales, stock
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory, SalesOrderFactory

D = Decimal
HX = {"HX-Request": "true"}


@pytest.fixture
def env(app, company, make_user):
    user = make_user("manager")
    warehouse = WarehouseFactory(company=company, code="MAIN")
    customer = CustomerFactory(company=company, name="Zenith Retail")
    product = ProductFactory(company=company, sku="WIDGET", sale_price=D("12.50"))
    stock.receive(company_id=company.id, product_id=product.id, warehouse_id=warehouse.id,
                  quantity=10, user=user)

    class Env:
        pass

    e = Env()
    e.company, e.user, e.warehouse, e.customer, e.product = (company, user, warehouse,
                                                             customer, product)
    e.kw = {"company_id": company.id, "user": user}
    return e


def make_order(env, lines=1, status="draft"):
    order = sales.create_order(customer_id=env.customer.id, warehouse_id=env.warehouse.id,
                               **env.kw)
    for _ in range(lines):
        sales.add_line(order_id=order.id, product_id=env.product.id, quantity="1", **env.kw)
    if status in ("confirmed", "shipped", "invoiced"):
        sales.confirm_order(order_id=order.id, **env.kw)
    if status in ("shipped", "invoiced"):
        sales.ship_order(order_id=order.id, **env.kw)
    if status == "invoiced":
        sales.invoice_order(order_id=order.id, **env.kw)
    return order


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def reserved(env) -> Decimal:
    db.session.rollback()
    return db.session.scalar(select(StockLevel.reserved).where(
        StockLevel.product_id == env.product.id))


# --- roles and scope --------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/sales/customers", "/sales/orders", "/sales/customers/options"])
def test_viewers_read_the_lists(client_as, env, url):
    assert client_as("viewer").get(url).status_code == 200


@pytest.mark.parametrize("role,status", [("viewer", 403), ("staff", 200), ("manager", 200)])
def test_staff_create_customers_and_orders(client_as, env, role, status):
    client = client_as(role)
    assert client.get("/sales/customers/new").status_code == status
    assert client.get("/sales/orders/new").status_code == status
    assert client.get(f"/sales/customers/{env.customer.id}/edit").status_code == status


@pytest.mark.parametrize("action", ["confirm", "cancel"])
@pytest.mark.parametrize("role,status", [("viewer", 403), ("staff", 403), ("manager", 303),
                                         ("admin", 303)])
def test_only_managers_run_the_workflow(client_as, env, action, role, status):
    order = make_order(env)
    response = client_as(role).post(f"/sales/orders/{order.id}/{action}")
    assert response.status_code == status
    expected = {"confirm": "confirmed", "cancel": "cancelled"}[action] if status == 303 else "draft"
    db.session.rollback()
    assert db.session.get(SalesOrder, order.id).status == expected


def test_viewers_cannot_edit_lines(client_as, env):
    order = make_order(env)
    line_id = order.items[0].id if order.items else db.session.scalar(
        select(SalesOrderItem.id))
    viewer = client_as("viewer")
    assert viewer.post(f"/sales/orders/{order.id}/lines",
                       data={"product": "WIDGET", "quantity": "1"}).status_code == 403
    assert viewer.post(f"/sales/orders/{order.id}/lines/{line_id}",
                       data={"quantity": "3"}).status_code == 403
    assert viewer.post(f"/sales/orders/{order.id}/lines/{line_id}/remove").status_code == 403
    assert viewer.get(f"/sales/orders/{order.id}/edit").status_code == 403
    page = viewer.get(f"/sales/orders/{order.id}").data.decode()
    assert "Add a line" not in page and "Confirm" not in page


def _id_urls(env):
    order = make_order(env, status="invoiced")
    line_id = db.session.scalar(select(SalesOrderItem.id).where(
        SalesOrderItem.order_id == order.id))
    o, c = order.id, env.customer.id
    gets = [f"/sales/customers/{c}", f"/sales/customers/{c}/edit", f"/sales/orders/{o}",
            f"/sales/orders/{o}/edit", f"/sales/orders/{o}/print",
            f"/sales/orders/{o}/print/invoice", f"/sales/orders/{o}/pdf",
            f"/sales/orders/{o}/pdf/invoice"]
    posts = [f"/sales/customers/{c}/edit", f"/sales/orders/{o}/edit",
             f"/sales/orders/{o}/lines", f"/sales/orders/{o}/lines/{line_id}",
             f"/sales/orders/{o}/lines/{line_id}/remove"] + [
        f"/sales/orders/{o}/{a}" for a in ("confirm", "ship", "invoice", "cancel")]
    return gets, posts


def test_another_companys_user_gets_404_everywhere(env, other_company_client):
    gets, posts = _id_urls(env)
    for url in gets:
        assert other_company_client.get(url).status_code == 404, url
    for url in posts:
        assert other_company_client.post(url, data={"quantity": "1"}).status_code == 404, url


def test_unknown_ids_answer_404(admin_client, env):
    for url in ["/sales/customers/999999", "/sales/orders/999999", "/sales/orders/999999/print",
                "/sales/orders/999999/pdf", "/sales/orders/999999/pdf/invoice"]:
        assert admin_client.get(url).status_code == 404
    order = make_order(env)
    assert admin_client.post(f"/sales/orders/{order.id}/lines/999999",
                             data={"quantity": "1"}).status_code == 404


# --- customers --------------------------------------------------------------------------

@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_customer_list_searches_filters_sorts_and_pages(admin_client, env, company):
    for n in range(25):
        CustomerFactory(company=company, name=f"Alpha {n:02d}", credit_limit=D(n))
    CustomerFactory(company=company, name="Archived Alpha", active=False)
    page = admin_client.get("/sales/customers?q=alpha&sort=-name&per_page=10").data.decode()
    assert "Rows 1–10 of 25" in page and "Archived Alpha" not in page
    assert page.index("Alpha 24") < page.index("Alpha 23")
    archived = admin_client.get("/sales/customers?status=archived").data.decode()
    assert "Archived Alpha" in archived and "Alpha 01" not in archived
    by_limit = admin_client.get("/sales/customers?q=alpha&sort=-credit_limit").data.decode()
    assert by_limit.index("Alpha 24") < by_limit.index("Alpha 10")


@pytest.mark.parametrize("query", ["page=abc", "page=-4", "per_page=100000", "sort=password",
                                   "status=weird", "q=" + "x" * 5000, "page=99999"])
def test_customer_list_survives_bad_query_parameters(admin_client, env, query):
    assert admin_client.get(f"/sales/customers?{query}").status_code == 200


def test_customer_list_htmx_returns_the_results_block(admin_client, env):
    response = admin_client.get("/sales/customers?q=zen", headers=HX)
    assert response.data.lstrip().startswith(b'<div id="results">')
    assert b"Zenith Retail" in response.data and b"navbar" not in response.data


def test_staff_creates_and_edits_a_customer(staff_client, company):
    response = staff_client.post("/sales/customers/new", data={
        "name": "Nova GmbH", "email": "info@nova.example", "credit_limit": "2500.50",
        "billing_address": "Street 1\nBerlin", "active": "y"})
    assert response.status_code == 303
    customer = db.session.scalar(select(Customer).where(Customer.name == "Nova GmbH"))
    assert customer.company_id == company.id and customer.credit_limit == D("2500.50")
    response = staff_client.post(f"/sales/customers/{customer.id}/edit", data={
        "name": "Nova AG", "email": "", "credit_limit": "0"})
    assert response.status_code == 303
    db.session.rollback()
    customer = db.session.get(Customer, customer.id)
    assert (customer.name, customer.active) == ("Nova AG", False)


def test_bad_customer_input_shows_all_errors_and_writes_nothing(staff_client, env):
    before = count(Customer)
    response = staff_client.post("/sales/customers/new", data={
        "name": "x" * 4000, "email": "e" * 4000, "credit_limit": "-1", "phone": "p" * 60})
    assert response.status_code == 422
    body = response.data.decode()
    assert body.count("invalid-feedback") >= 4
    response = staff_client.post("/sales/customers/new", data={
        "name": "Ok", "credit_limit": "lots"})
    assert response.status_code == 422 and b"Not a valid decimal value" in response.data
    response = staff_client.post("/sales/customers/new", data={"name": "Ok", "email": "nope"})
    assert response.status_code == 422 and b"Enter a valid email address." in response.data
    assert count(Customer) == before


def test_customer_options_for_the_picker(admin_client, env, company, other_company):
    CustomerFactory(company=other_company, name="Zenith Foreign")
    body = admin_client.get("/sales/customers/options?q=zen").data.decode()
    assert f'value="Zenith Retail [#{env.customer.id}]"' in body
    assert "Foreign" not in body
    by_field = admin_client.get("/sales/customers/options?customer=zen").data.decode()
    assert "Zenith Retail" in by_field


def test_customer_detail_shows_contact_open_orders_history_and_totals(admin_client, env):
    draft = make_order(env)
    invoiced = make_order(env, lines=2, status="invoiced")
    body = admin_client.get(f"/sales/customers/{env.customer.id}").data.decode()
    assert env.customer.email in body
    assert draft.number in body and invoiced.number in body
    assert "25.00" in body  # invoiced total
    assert "No limit" in body  # a credit limit of 0
    assert 'id="customer-credit-used">25.00 EUR</dd>' in body  # the draft owes nothing
    env.customer.credit_limit = D("1000")
    db.session.commit()
    body = admin_client.get(f"/sales/customers/{env.customer.id}").data.decode()
    assert 'id="customer-credit-used">25.00 EUR of 1,000.00</dd>' in body
    fragment = admin_client.get(f"/sales/customers/{env.customer.id}?page=1&sort=number",
                                headers=HX)
    assert fragment.data.lstrip().startswith(b'<div id="results">')


def test_customer_detail_query_count_is_constant(admin_client, env, queries_for):
    url = f"/sales/customers/{env.customer.id}?per_page=100"
    for _ in range(5):
        SalesOrderFactory(company=env.company, customer_id=env.customer.id,
                          warehouse_id=env.warehouse.id)
    few = queries_for(admin_client, url)
    for n in range(55):
        SalesOrderFactory(company=env.company, customer_id=env.customer.id,
                          warehouse_id=env.warehouse.id, status=["draft", "confirmed",
                                                                 "invoiced"][n % 3])
    assert queries_for(admin_client, url) == few


def test_customer_list_query_count_is_constant(admin_client, env, queries_for):
    for _ in range(4):
        CustomerFactory(company=env.company)
    few = queries_for(admin_client, "/sales/customers?per_page=100")
    for _ in range(55):
        CustomerFactory(company=env.company)
    assert queries_for(admin_client, "/sales/customers?per_page=100") == few


# --- order list -------------------------------------------------------------------------

@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_order_list_filters_sorts_and_pages(admin_client, env, company):
    other = CustomerFactory(company=company, name="Quasar Inc")
    cheap = make_order(env, lines=1)
    dear = make_order(env, lines=3, status="confirmed")
    theirs = sales.create_order(customer_id=other.id, warehouse_id=env.warehouse.id,
                                order_date="2025-06-01", **env.kw)
    body = admin_client.get("/sales/orders?status=confirmed").data.decode()
    assert dear.number in body and cheap.number not in body
    body = admin_client.get("/sales/orders?customer=quasar").data.decode()
    assert theirs.number in body and cheap.number not in body
    body = admin_client.get(f"/sales/orders?customer=x+[%23{other.id}]").data.decode()
    assert theirs.number in body and cheap.number not in body
    body = admin_client.get("/sales/orders?date_from=2025-01-01&date_to=2025-12-31").data.decode()
    assert theirs.number in body and cheap.number not in body
    body = admin_client.get(f"/sales/orders?number={dear.number[-3:]}").data.decode()
    assert dear.number in body and cheap.number not in body
    body = admin_client.get("/sales/orders?sort=-total").data.decode()
    assert body.index(dear.number) < body.index(cheap.number)
    body = admin_client.get("/sales/orders?sort=date").data.decode()
    assert body.index(theirs.number) < body.index(cheap.number)
    body = admin_client.get("/sales/orders?per_page=2&sort=number").data.decode()
    assert "Rows 1–2 of 3" in body and 'rel="next"' in body


@pytest.mark.parametrize("query", ["page=abc", "per_page=-1", "sort=customer_id", "status=nope",
                                   "date_from=yesterday", "date_to=2026-02-31",
                                   "customer=" + "x" * 5000, "number=%27%3B--", "page=99999"])
def test_order_list_survives_bad_query_parameters(admin_client, env, query):
    assert admin_client.get(f"/sales/orders?{query}").status_code == 200


def test_order_list_htmx_returns_the_results_block(admin_client, env):
    make_order(env)
    response = admin_client.get("/sales/orders?status=draft", headers=HX)
    assert response.data.lstrip().startswith(b'<div id="results">')
    assert b"Zenith Retail" in response.data and b"navbar" not in response.data


def test_order_list_query_count_is_constant(admin_client, env, queries_for):
    def add(n):
        for _ in range(n):  # each order with a customer of its own: no per-row loading
            SalesOrderFactory(company=env.company, warehouse_id=env.warehouse.id)

    add(5)
    few = queries_for(admin_client, "/sales/orders?per_page=100")
    add(55)
    assert queries_for(admin_client, "/sales/orders?per_page=100") == few


# --- order pages ------------------------------------------------------------------------

def test_staff_creates_a_draft_order(staff_client, env):
    response = staff_client.post("/sales/orders/new", data={
        "customer": f"Zenith Retail [#{env.customer.id}]", "warehouse_id": str(env.warehouse.id),
        "order_date": "2026-03-02", "requested_date": "2026-03-09", "notes": "Dock 4"})
    assert response.status_code == 303
    order = db.session.scalar(select(SalesOrder))
    assert response.headers["Location"].endswith(f"/sales/orders/{order.id}")
    assert (order.status, order.customer_id, order.notes) == ("draft", env.customer.id, "Dock 4")
    assert order.number.startswith("SO-2026-")


def test_order_form_preselects_and_bad_input_writes_nothing(staff_client, env, other_company):
    page = staff_client.get(f"/sales/orders/new?customer_id={env.customer.id}").data.decode()
    assert f"Zenith Retail [#{env.customer.id}]" in page
    foreign = WarehouseFactory(company=other_company)
    response = staff_client.post("/sales/orders/new", data={
        "customer": "nobody at all", "warehouse_id": str(foreign.id), "order_date": "2026-02-30",
        "notes": "n" * 4000})
    assert response.status_code == 422
    body = response.data.decode()
    assert "Not a valid date value" in body and "longer than 2000" in body
    response = staff_client.post("/sales/orders/new", data={
        "customer": "nobody at all", "warehouse_id": str(foreign.id), "order_date": "2026-02-03"})
    assert response.status_code == 422
    assert b"Choose a customer." in response.data and b"Choose a warehouse." in response.data
    assert count(SalesOrder) == 0


def test_the_new_order_form_preselects_the_default_warehouse(staff_client, env):
    WarehouseFactory(company=env.company, code="B", name="Back store")
    WarehouseFactory(company=env.company, code="A", name="Zone A")
    page = staff_client.get("/sales/orders/new").data.decode()
    back = sales.default_warehouse_of(env.company.id)
    assert back.name == "Back store"
    assert re.search(rf'<option selected value="{back.id}">|<option value="{back.id}" selected>',
                     page), page


def test_header_edit_only_while_draft(staff_client, env):
    order = make_order(env)
    response = staff_client.post(f"/sales/orders/{order.id}/edit", data={
        "customer": env.customer.name, "warehouse_id": str(env.warehouse.id),
        "order_date": "2026-01-02", "notes": "Changed"})
    assert response.status_code == 303
    db.session.rollback()
    assert db.session.get(SalesOrder, order.id).notes == "Changed"
    sales.confirm_order(order_id=order.id, **env.kw)
    response = staff_client.get(f"/sales/orders/{order.id}/edit")
    assert response.status_code == 303


def test_order_detail_query_count_is_constant(admin_client, env, queries_for):
    few = make_order(env, lines=5)
    many = make_order(env, lines=60)
    assert queries_for(admin_client, f"/sales/orders/{few.id}") == queries_for(
        admin_client, f"/sales/orders/{many.id}")
    assert queries_for(admin_client, f"/sales/orders/{few.id}/print") == queries_for(
        admin_client, f"/sales/orders/{many.id}/print")


def test_add_change_remove_lines_with_htmx_update_the_totals(staff_client, env):
    order = make_order(env, lines=0)
    response = staff_client.post(f"/sales/orders/{order.id}/lines", headers=HX, data={
        "product": "widget", "quantity": "2", "unit_price": "", "discount_percent": "10",
        "tax_rate": "20"})
    assert response.status_code == 200
    body = response.data.decode()
    assert body.lstrip().startswith(f'<section id="order-{order.id}-lines"')
    assert f'id="order-{order.id}-totals" class="card h-100" hx-swap-oob="true"' in body
    assert "27.00" in body  # 25.00 - 2.50 + 4.50
    assert 'id="flash" hx-swap-oob="true"' in body and "Line added." in body
    line_id = db.session.scalar(select(SalesOrderItem.id))
    response = staff_client.post(f"/sales/orders/{order.id}/lines/{line_id}", headers=HX,
                                 data={"quantity": "4", "unit_price": "10", "tax_rate": "0"})
    assert response.status_code == 200 and "40.00" in response.data.decode()
    response = staff_client.post(f"/sales/orders/{order.id}/lines/{line_id}/remove", headers=HX)
    assert response.status_code == 200 and "No lines yet." in response.data.decode()
    db.session.rollback()
    assert db.session.get(SalesOrder, order.id).total == D("0")


def test_line_editor_works_as_plain_form_posts(staff_client, env):
    order = make_order(env, lines=0)
    response = staff_client.post(f"/sales/orders/{order.id}/lines", data={
        "product": f"anything [#{env.product.id}]", "quantity": "3"})
    assert response.status_code == 303
    page = staff_client.get(f"/sales/orders/{order.id}").data.decode()
    assert "Line added." in page and "37.50" in page
    line_id = db.session.scalar(select(SalesOrderItem.id))
    response = staff_client.post(f"/sales/orders/{order.id}/lines/{line_id}",
                                 data={"quantity": "1", "discount_percent": "100"})
    assert response.status_code == 303
    db.session.rollback()
    assert db.session.get(SalesOrder, order.id).total == D("0")


@pytest.mark.parametrize("data,message", [
    ({"product": "NOPE", "quantity": "1"}, "Choose a product."),
    ({"product": "WIDGET", "quantity": "abc"}, "Not a valid decimal value"),
    ({"product": "WIDGET", "quantity": "-3"}, "Enter a quantity from 0.001 to"),
    ({"product": "WIDGET", "quantity": "1", "unit_price": "-1"}, "Enter an amount from 0 to"),
    ({"product": "WIDGET", "quantity": "1", "discount_percent": "150"},
     "Enter a discount from 0 to 100 %."),
    ({"product": "WIDGET", "quantity": "1", "tax_rate": "NaN"}, "Enter a number."),
    ({"product": "W" * 4000, "quantity": "1"}, "longer than 300"),
    ({"product": "WIDGET", "quantity": "1.0001"}, "3 decimals"),
    ({"product": "WIDGET", "quantity": "99999999999", "unit_price": "99999999"}, "too large"),
])
def test_bad_line_input_is_shown_next_to_the_fields_and_writes_nothing(staff_client, env, data,
                                                                      message):
    order = make_order(env, lines=0)
    for headers in ({}, HX):
        response = staff_client.post(f"/sales/orders/{order.id}/lines", data=data,
                                     headers=headers)
        assert response.status_code == 422
        assert message in response.data.decode()
    assert count(SalesOrderItem) == 0


def test_bad_line_change_is_shown_in_the_row(staff_client, env):
    order = make_order(env, lines=1)
    line_id = db.session.scalar(select(SalesOrderItem.id))
    response = staff_client.post(f"/sales/orders/{order.id}/lines/{line_id}", headers=HX,
                                 data={"quantity": "-1", "unit_price": "x" * 4000})
    assert response.status_code == 422
    body = response.data.decode()
    assert "is-invalid" in body and "Enter a quantity from 0.001" in body
    assert "Not a valid decimal value." in body
    db.session.rollback()
    assert db.session.get(SalesOrderItem, line_id).quantity == D("1")


def test_lines_of_a_confirmed_order_cannot_change(staff_client, env):
    order = make_order(env, lines=1, status="confirmed")
    line_id = db.session.scalar(select(SalesOrderItem.id))
    response = staff_client.post(f"/sales/orders/{order.id}/lines",
                                 data={"product": "WIDGET", "quantity": "1"},
                                 follow_redirects=True)
    assert b"only a draft can be changed" in response.data
    response = staff_client.post(f"/sales/orders/{order.id}/lines/{line_id}/remove",
                                 headers=HX)
    assert response.status_code == 409 and b"only a draft" in response.data
    assert count(SalesOrderItem) == 1


def test_workflow_through_the_buttons_and_replays(client_as, env):
    manager = client_as("manager")
    order = make_order(env, lines=2)
    for _ in range(2):  # a double submit reserves once
        assert manager.post(f"/sales/orders/{order.id}/confirm").status_code == 303
    assert reserved(env) == D(2)
    page = manager.get(f"/sales/orders/{order.id}").data.decode()
    assert "Ship" in page and "Cancel order" in page and "hx-confirm" in page
    for _ in range(2):
        manager.post(f"/sales/orders/{order.id}/ship")
    db.session.rollback()
    level = db.session.scalar(select(StockLevel))
    assert (level.on_hand, level.reserved) == (D(8), D(0))
    response = manager.post(f"/sales/orders/{order.id}/invoice")  # a draft invoice, opened
    invoice_id = db.session.scalar(select(Invoice.id).where(Invoice.order_id == order.id))
    assert response.headers["Location"].endswith(f"/money/invoices/{invoice_id}")
    assert manager.post(f"/money/invoices/{invoice_id}/issue").status_code == 303
    response = manager.post(f"/sales/orders/{order.id}/cancel", follow_redirects=True)
    assert b"only a draft or confirmed order can be cancelled" in response.data
    db.session.rollback()
    order = db.session.get(SalesOrder, order.id)
    assert order.status == "invoiced"
    invoice = manager.get(f"/money/invoices/{invoice_id}/print").data.decode()
    assert order.invoice_number in invoice and "css/print.css" in invoice
    assert stock.ledger_mismatches(env.company.id) == []


def test_htmx_transition_redirects_with_hx_redirect(client_as, env):
    order = make_order(env, lines=1)
    response = client_as("manager").post(f"/sales/orders/{order.id}/cancel", headers=HX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/sales/orders/{order.id}"


def test_short_stock_on_confirm_is_a_clear_message(client_as, env, company):
    scarce = ProductFactory(company=company, sku="SCARCE")
    order = make_order(env, lines=0)
    sales.add_line(order_id=order.id, product_id=env.product.id, quantity="11", **env.kw)
    sales.add_line(order_id=order.id, product_id=scarce.id, quantity="2", **env.kw)
    response = client_as("manager").post(f"/sales/orders/{order.id}/confirm",
                                         follow_redirects=True)
    assert response.status_code == 200
    body = response.data.decode()
    assert "line 1, WIDGET: 11 needed, 10 available" in body
    assert "line 2, SCARCE: 2 needed, 0 available" in body
    assert reserved(env) == D(0)


def test_over_the_credit_limit_a_manager_confirms_only_through_the_override(client_as, env):
    env.customer.credit_limit = D("20")
    db.session.commit()
    order = make_order(env, lines=2)  # 25.00
    manager, staff = client_as("manager"), client_as("staff")
    body = manager.post(f"/sales/orders/{order.id}/confirm",
                        follow_redirects=True).data.decode()
    figures = "limit 20.00 EUR; open orders 0.00 EUR + this order 25.00 EUR = 25.00 EUR"
    assert f"Cannot confirm {order.number}: it takes Zenith Retail over its credit limit " \
           f"({figures})." in body
    assert db.session.get(SalesOrder, order.id).status == "draft" and reserved(env) == D(0)
    override = f'action="/sales/orders/{order.id}/confirm_over_limit"'
    # the page says so before anyone clicks; only a manager is offered the override
    assert override in body and "Confirm over the credit limit</button>" in body
    assert "hx-confirm=" in body.split(override)[1].split(">")[0]
    page = staff.get(f"/sales/orders/{order.id}").data.decode()
    assert figures in page and override not in page
    assert "A manager can confirm it over the credit limit." in page
    assert staff.post(f"/sales/orders/{order.id}/confirm_over_limit").status_code == 403
    question = manager.get(f"/sales/orders/{order.id}/confirm_over_limit")  # without JS
    assert question.status_code == 200
    assert "although it takes the customer over the credit limit" in question.data.decode()
    assert db.session.get(SalesOrder, order.id).status == "draft"
    response = manager.post(f"/sales/orders/{order.id}/confirm_over_limit")
    assert response.status_code == 303
    db.session.rollback()
    assert db.session.get(SalesOrder, order.id).status == "confirmed"
    assert reserved(env) == D(2)
    assert override not in manager.get(f"/sales/orders/{order.id}").data.decode()
    history = re.search(rf'id="history-sales_order-{order.id}" hx-get="([^"]+)"',
                        manager.get(f"/sales/orders/{order.id}").data.decode()).group(1)
    assert "confirmed over the credit limit (" + figures in manager.get(
        history.replace("&amp;", "&")).data.decode()


def test_a_line_that_goes_over_the_credit_limit_shows_the_warning_at_once(staff_client, env):
    env.customer.credit_limit = D("20")
    db.session.commit()
    order = make_order(env, lines=1)  # 12.50
    assert "over its credit limit" not in staff_client.get(
        f"/sales/orders/{order.id}").data.decode()
    response = staff_client.post(f"/sales/orders/{order.id}/lines", headers=HX, data={
        "product": "WIDGET", "quantity": "1"})
    body = response.data.decode()
    assert f'id="order-{order.id}-credit" hx-swap-oob="true"' in body
    assert "over its credit limit (limit 20.00 EUR; open orders 0.00 EUR + this order " \
           "25.00 EUR = 25.00 EUR)" in body


def test_print_pages(admin_client, env):
    order = make_order(env, lines=2, status="confirmed")
    body = admin_client.get(f"/sales/orders/{order.id}/print").data.decode()
    assert "Order confirmation" in body and order.number in body and "navbar" not in body
    assert "css/print.css" in body and "25.00" in body


def test_an_issued_invoice_keeps_what_it_said_when_it_was_issued(admin_client, env):
    customer = env.customer
    customer.billing_address, customer.shipping_address = "1 Old Road\nOldtown", "Dock 7"
    customer.tax_number = "OLD-TAX-1"
    db.session.commit()
    order = make_order(env, lines=2, status="invoiced")
    product_name = env.product.name
    invoice_id = db.session.scalar(select(Invoice.id).where(Invoice.order_id == order.id))
    before = admin_client.get(f"/money/invoices/{invoice_id}/print").data.decode()
    # everything the invoice names changes afterwards
    customer = db.session.get(Customer, env.customer.id)
    sales.update_customer(company_id=env.company.id, customer_id=customer.id, user=env.user,
                          name="Renamed Retail", billing_address="9 New Street\nNewtown",
                          shipping_address="", tax_number="NEW-TAX-9", credit_limit="0")
    product = db.session.get(type(env.product), env.product.id)
    product.name, product.sku, product.sale_price = "Renamed widget", "WIDGET-2", D("99")
    env.company.name = "Renamed Company"
    db.session.commit()

    after = admin_client.get(f"/money/invoices/{invoice_id}/print").data.decode()
    assert after == before
    for said in ("Zenith Retail", "1 Old Road", "Dock 7", "OLD-TAX-1", product_name,
                 "WIDGET", "12.50", "25.00", order.invoice_number):
        assert said in after
    for new in ("Renamed", "New Street", "Newtown", "NEW-TAX-9", "WIDGET-2", "99.00"):
        assert new not in after
    # the order's page shows the customer as it is now
    assert "Renamed Retail" in admin_client.get(f"/sales/orders/{order.id}").data.decode()


def test_a_confirmation_prints_the_customer_as_it_is_until_invoiced(admin_client, env):
    order = make_order(env, status="confirmed")
    customer = db.session.get(Customer, env.customer.id)
    customer.name, customer.shipping_address = "Renamed Retail", "New dock"
    db.session.commit()
    body = admin_client.get(f"/sales/orders/{order.id}/print").data.decode()
    assert "Renamed Retail" in body and "New dock" in body


@pytest.mark.parametrize("status,title", [
    ("draft", "Quotation"), ("confirmed", "Order confirmation"),
    ("shipped", "Order confirmation"), ("cancelled", "Cancelled order")])
def test_the_print_says_what_the_order_is_by_its_status(admin_client, env, status, title):
    order = make_order(env, status="confirmed" if status == "cancelled" else status)
    if status == "cancelled":
        sales.cancel_order(order_id=order.id, **env.kw)
    body = admin_client.get(f"/sales/orders/{order.id}/print").data.decode()
    assert f"<title>{title} {order.number}" in body
    assert f'<h1 class="doc-title">{title}</h1>' in body
    assert ('id="doc-cancelled"' in body) == (status == "cancelled")
    if title != "Order confirmation":
        assert "Order confirmation" not in body
    page = admin_client.get(f"/sales/orders/{order.id}").data.decode()
    assert f"Print {title.lower()}</a>" in page


def test_seed_demo_adds_customers_and_orders_in_every_state(runner, app, seeded_demo):
    result = seeded_demo
    assert result.exit_code == 0, result.output
    db.session.rollback()
    statuses = set(db.session.scalars(select(SalesOrder.status)))
    if count(Customer) == 0:
        pytest.skip("no catalog seed yet: the sales seed needs products")
    assert statuses == {"draft", "confirmed", "partly_shipped", "shipped", "invoiced",
                        "cancelled"}
    partly = db.session.scalars(select(SalesOrder).where(
        SalesOrder.status == "partly_shipped")).all()
    assert all(order.deliveries and any(item.left_quantity for item in order.items)
               for order in partly)
    assert count(Customer) >= 30
    orders = count(SalesOrder)
    runner.invoke(args=["seed-demo"])
    assert count(SalesOrder) == orders
    assert stock.ledger_mismatches() == []
