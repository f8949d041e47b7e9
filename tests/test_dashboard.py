"""The dashboard: every figure against hand-computed values, caching and invalidation,
empty states, another company's data, query counts."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from erp.extensions import cache, db
from erp.models import Company, User
from erp.models.catalog import Product
from erp.models.inventory import Warehouse
from erp.models.sales import Customer, SalesOrder
from erp.models.tasks import Todo
from erp.queries import dashboard as dq
from erp.services import sales as sales_service
from erp.services import sales_totals, stock
from erp.services import tasks as task_service
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.core import CompanyFactory, UserFactory
from tests.factories.inventory_helpers import put_stock
from tests.factories.production import bulk_orders
from tests.factories.purchasing import PurchaseOrderFactory
from tests.factories.sales import CustomerFactory, SalesOrderFactory
from tests.factories.tasks import TodoFactory

TODAY = date.today()


def _order(company, user, customer, warehouse, lines, *, order_date=TODAY, steps=()):
    """An order through the sales service: lines are (product, quantity, price, tax%)."""
    order = sales_service.create_order(company_id=company.id, user=user, customer_id=customer.id,
                                       warehouse_id=warehouse.id, order_date=order_date)
    for product, quantity, price, tax in lines:
        sales_service.add_line(company_id=company.id, order_id=order.id, user=user,
                               product_id=product.id, quantity=quantity, unit_price=price,
                               tax_rate=tax)
    for step in steps:
        getattr(sales_service, f"{step}_order")(company_id=company.id, order_id=order.id,
                                                user=user)
    return order


def build_env() -> dict:
    """A small business with hand-computed figures (see the asserts): the ids of its records."""
    company = CompanyFactory(name="Acme Manufacturing")
    # explicit e-mails: a test's own users (UserFactory's sequence) never meet these
    manager = UserFactory(role="manager", company=company, name="Mona Manager",
                          email="dashboard-manager@example.com")
    colleague = UserFactory(role="staff", company=company, email="dashboard-staff@example.com")
    warehouse = WarehouseFactory(company=company)
    p1 = ProductFactory(company=company, sku="P1", name="Widget", sale_price=Decimal("10"),
                        min_stock=Decimal("9"))
    p2 = ProductFactory(company=company, sku="P2", name="Gadget", sale_price=Decimal("20"),
                        min_stock=Decimal("0"))
    ProductFactory(company=company, sku="P3", name="Service", kind="service",
                   min_stock=Decimal("3"))
    ProductFactory(company=company, sku="P4", name="Old", active=False, min_stock=Decimal("10"))
    ProductFactory(company=company, sku="P5", name="Rare", min_stock=Decimal("100"))
    put_stock(p1, warehouse, 10)
    put_stock(p2, warehouse, 100)
    c1 = CustomerFactory(company=company, name="Alice Ltd")
    c2 = CustomerFactory(company=company, name="Bob GmbH")
    CustomerFactory(company=company, name="Gone Inc", active=False)

    two_months_ago = dq.month_start(TODAY, 2)
    thirteen_months_ago = dq.month_start(TODAY, 12)
    orders = {
        "o6": _order(company, manager, c2, warehouse, [(p2, 2, "20", "0")],
                     order_date=thirteen_months_ago, steps=["confirm"]),  # 40, not in chart
        "o3": _order(company, manager, c1, warehouse, [(p2, 1, "20", "0")],
                     order_date=two_months_ago, steps=["confirm", "ship", "invoice"]),  # 20
        "o1": _order(company, manager, c1, warehouse, [(p1, 2, "10", "0")],
                     steps=["confirm"]),  # 20
        "o2": _order(company, manager, c2, warehouse, [(p2, 3, "20", "10")],
                     steps=["confirm", "ship"]),  # 60 + 6 tax = 66
        "o4": _order(company, manager, c1, warehouse, [(p1, 1, "10", "0")]),  # draft 10
        "o5": _order(company, manager, c2, warehouse, [(p2, 1, "20", "0")],
                     steps=["confirm", "cancel"]),  # cancelled
    }
    for status in ("ordered", "partially_received", "draft", "received", "cancelled"):
        PurchaseOrderFactory(company=company, status=status)
    bulk_orders(company, p2, warehouse, 2, status="in_progress")
    bulk_orders(company, p2, warehouse, 1, status="planned")
    tasks = {
        "t1": TodoFactory(company=company, title="Overdue call", assignee_id=manager.id,
                          due_date=TODAY - timedelta(days=1)),
        "t2": TodoFactory(company=company, title="Soon", assignee_id=manager.id,
                          due_date=TODAY + timedelta(days=5), status="in_progress"),
        "t3": TodoFactory(company=company, title="Someday", assignee_id=manager.id),
        "t4": TodoFactory(company=company, title="Finished", assignee_id=manager.id,
                          status="done", due_date=TODAY - timedelta(days=3)),
        "t5": TodoFactory(company=company, title="Not mine", assignee_id=colleague.id,
                          due_date=TODAY),
    }
    db.session.commit()
    return {"company": company.id, "manager": manager.id, "warehouse": warehouse.id,
            "p1": p1.id, "p2": p2.id, "c1": c1.id, "c2": c2.id,
            "orders": {key: order.id for key, order in orders.items()},
            "tasks": {key: task.id for key, task in tasks.items()}}




@pytest.fixture
def env(app, scenario) -> dict:
    """`build_env`'s records, built once per session and put back for each test."""
    ids = scenario("dashboard env", build_env)
    get = db.session.get
    return {"company": get(Company, ids["company"]), "manager": get(User, ids["manager"]),
            "warehouse": get(Warehouse, ids["warehouse"]), "p1": get(Product, ids["p1"]),
            "p2": get(Product, ids["p2"]), "c1": get(Customer, ids["c1"]),
            "c2": get(Customer, ids["c2"]),
            "orders": {key: get(SalesOrder, id_) for key, id_ in ids["orders"].items()},
            "tasks": {key: get(Todo, id_) for key, id_ in ids["tasks"].items()}}


@pytest.fixture
def company(request, app):
    """The env's company in the tests that use it, else a new one (as tests/conftest.py's)."""
    if "env" in request.fixturenames:
        return request.getfixturevalue("env")["company"]
    return CompanyFactory(name="Acme Manufacturing")


def _client(app, user):
    from tests.conftest import login
    return login(app.test_client(), user.email)


def tile(html: str, name: str) -> str:
    match = re.search(rf'id="figure-{name}".*?dashboard-value">([^<]*)<', html, re.S)
    assert match, f"no tile {name}"
    return match.group(1).strip()


def test_every_figure_matches_the_hand_computed_values(env, company):
    data = dq.dashboard(company.id, env["manager"].id)
    assert data.catalog == {"products": 4, "low_stock": 2}  # P1 (8 available < 9), P5
    sales = data.sales
    assert sales["customers"] == 2
    assert sales["open_orders"] == 2  # o1, o6
    assert sales["draft_orders"] == 1  # o4
    assert sales["sold_orders"] == 4  # o1, o2, o3, o6
    # sales are net of tax: o2's 6.00 of tax is kept apart
    assert sales["sales_total"] == Decimal("140.00")
    assert sales["sales_tax"] == Decimal("6.00")
    assert sales["average_order"] == Decimal("35.00")
    assert sales["sales_month"] == Decimal("80.00")  # o1 + o2
    assert sales["sales_month_tax"] == Decimal("6.00")
    chart = sales["chart"]
    assert len(chart) == 12
    assert chart[-1]["month"] == TODAY.strftime("%Y-%m")
    assert chart[-1]["total"] == Decimal("80.00")
    assert chart[-3]["total"] == Decimal("20.00")  # o3, two months ago
    assert sum(m["total"] for m in chart) == Decimal("100.00")  # o6 is 12 months back
    assert data.purchasing == {"open_purchase_orders": 2}
    assert data.production == {"production_in_progress": 2}
    assert [(p["sku"], p["revenue"], p["quantity"]) for p in data.top_products] == [
        ("P2", Decimal("120.00"), Decimal("6")), ("P1", Decimal("20.00"), Decimal("2"))]
    orders = env["orders"]
    assert [o["number"] for o in data.recent_orders] == [
        orders[k].number for k in ("o5", "o4", "o2", "o1", "o3", "o6")]
    assert data.recent_orders[0]["customer"] == "Bob GmbH"
    tasks = data.my_tasks
    assert tasks["count"] == 3
    assert [t["title"] for t in tasks["items"]] == ["Overdue call", "Soon", "Someday"]
    assert [t["overdue"] for t in tasks["items"]] == [True, False, False]
    assert not data.empty
    # the running totals the figures come from agree with the orders and the levels
    assert sales_totals.mismatches(company.id) == []
    assert stock.available_mismatches(company.id) == []


def test_cancelling_a_confirmed_order_takes_it_out_of_the_totals(env, company):
    manager = env["manager"]
    sales_service.cancel_order(company_id=company.id, order_id=env["orders"]["o1"].id,
                               user=manager)  # o1: P1 2 x 10 = 20, this month
    sales_service.cancel_order(company_id=company.id, order_id=env["orders"]["o4"].id,
                               user=manager)  # a draft: never counted
    assert sales_totals.mismatches(company.id) == []
    data = dq.dashboard(company.id, manager.id)
    assert data.sales["sold_orders"] == 3
    assert data.sales["sales_total"] == Decimal("120.00")
    assert data.sales["sales_month"] == Decimal("60.00")
    assert [(p["sku"], p["revenue"]) for p in data.top_products] == [("P2", Decimal("120.00"))]


def test_rebuilding_the_totals_gives_what_the_services_kept(env, company):
    before = dq.sales_figures(company.id, TODAY), dq.top_products(company.id)
    sales_totals.rebuild(company.id)
    stock.rebuild_available(company.id)
    db.session.commit()
    assert (dq.sales_figures(company.id, TODAY), dq.top_products(company.id)) == before
    assert stock.available_mismatches(company.id) == []


def test_the_page_shows_the_figures_with_links(app, env):
    html = _client(app, env["manager"]).get("/").get_data(as_text=True)
    assert tile(html, "products") == "4"
    assert tile(html, "low-stock") == "2"
    assert tile(html, "customers") == "2"
    assert tile(html, "open-orders") == "2"
    assert tile(html, "open-purchase-orders") == "2"
    assert tile(html, "production") == "2"
    assert tile(html, "sales-month") == "80.00 EUR"  # net, in the company's currency
    assert tile(html, "sales-total") == "140.00 EUR"
    assert tile(html, "average-order") == "35.00 EUR"
    assert "net of tax · tax 6.00 EUR" in html
    assert "Revenue <span class=\"fw-normal text-muted\">(net, EUR)</span>" in html
    assert ">66.00 EUR</td>" in html  # o2's order total in the recent orders
    assert "/catalog/products?low=1" in html
    assert "/sales/orders?status=confirmed" in html
    assert "/production/orders?status=in_progress" in html
    for order in env["orders"].values():
        assert f'href="/sales/orders/{order.id}"' in html
    for key in ("t1", "t2", "t3"):
        assert f'href="/tasks/{env["tasks"][key].id}"' in html
    assert "Finished" not in html and "Not mine" not in html
    assert 'href="/catalog/products/%d"' % env["p2"].id in html
    assert 'id="sales-chart"' in html and "data-values='[" in html
    assert "<script>" not in html and "style=" not in html


def test_the_amounts_are_in_the_companys_currency(app, env, company):
    client = _client(app, env["manager"])
    assert tile(client.get("/").get_data(as_text=True), "sales-total") == "140.00 EUR"
    company.currency = "CHF"
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert tile(html, "sales-total") == "140.00 CHF"
    assert tile(html, "sales-month") == "80.00 CHF" and "(net, CHF)" in html
    assert 'data-currency="CHF"' in html and "EUR" not in html


def test_sales_figures_cached_before_they_were_net_are_not_read(app, env, company):
    """After the upgrade, the cache may still hold the sales groups as they were: with the
    tax in and no tax figures. The page neither shows them nor fails on them."""
    from erp.cache_versions import cached
    day = TODAY.isoformat()
    old = {"sold_orders": 4, "sales_total": Decimal("146.00"), "sales_month": Decimal("86.00"),
           "average_order": Decimal("36.50"), "chart": []}
    cached(company.id, f"sales:{day}", dq.GROUP_AREAS["sales"], lambda: old)
    cached(company.id, "top-products", dq.GROUP_AREAS["top-products"], lambda: [])
    response = _client(app, env["manager"]).get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert tile(html, "sales-total") == "140.00 EUR" and 'id="top-products"' in html
    assert "120.00" in html.split('id="top-products"')[1]


def test_the_links_of_the_cards_and_rows_answer(app, env):
    client = _client(app, env["manager"])
    html = client.get("/").get_data(as_text=True)
    hrefs = set(re.findall(r'href="(/[^"]*)"', html))
    for href in sorted(h for h in hrefs if not h.startswith("/static")):
        assert client.get(href.replace("&amp;", "&")).status_code == 200, href


@pytest.mark.parametrize("role", ["viewer", "staff", "manager", "admin"])
def test_every_role_sees_the_dashboard(client_as, role):
    assert client_as(role).get("/").status_code == 200


def test_anonymous_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"]


def test_a_new_company_shows_empty_states(client_as):
    html = client_as("viewer").get("/").get_data(as_text=True)
    assert 'id="dashboard-empty"' in html
    assert "No sales yet." in html and "No sales orders yet." in html
    assert "No open tasks assigned to you." in html
    assert tile(html, "sales-total") == "0.00 EUR" and tile(html, "average-order") == "0.00 EUR"


def test_another_companys_data_never_appears(app, env, other_company, make_user):
    outsider = make_user("admin", company=other_company)
    warehouse = WarehouseFactory(company=other_company)
    product = ProductFactory(company=other_company, sku="XP", name="Foreign thing",
                             sale_price=Decimal("999"))
    put_stock(product, warehouse, 50)
    customer = CustomerFactory(company=other_company, name="Foreign customer")
    foreign = _order(other_company, outsider, customer, warehouse, [(product, 5, "999", "0")],
                     steps=["confirm"])
    TodoFactory(company=other_company, title="Foreign task", assignee_id=outsider.id)
    db.session.commit()

    html = _client(app, env["manager"]).get("/").get_data(as_text=True)
    assert tile(html, "sales-total") == "140.00 EUR"
    assert tile(html, "products") == "4" and tile(html, "customers") == "2"
    assert f'href="/sales/orders/{foreign.id}"' not in html and "Foreign" not in html

    other = _client(app, outsider).get("/").get_data(as_text=True)
    assert tile(other, "sales-total") == "4,995.00 EUR"
    assert tile(other, "products") == "1" and tile(other, "open-orders") == "1"
    assert f'href="/sales/orders/{env["orders"]["o1"].id}"' not in other
    assert "Alice Ltd" not in other and "Widget" not in other
    assert "Foreign task" in other and "Overdue call" not in other


def test_htmx_request_gets_the_content_block(app, env):
    response = _client(app, env["manager"]).get("/", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert 'id="dashboard-figures"' in body


# --- caching ---------------------------------------------------------------------------

def test_confirming_an_order_shows_at_once(app, env):
    client = _client(app, env["manager"])
    html = client.get("/").get_data(as_text=True)
    assert tile(html, "open-orders") == "2" and tile(html, "sales-total") == "140.00 EUR"
    assert tile(html, "low-stock") == "2"
    # warm: the same figures from the cache
    assert tile(client.get("/").get_data(as_text=True), "sales-total") == "140.00 EUR"

    draft = env["orders"]["o4"]
    response = client.post(f"/sales/orders/{draft.id}/confirm")
    assert response.status_code in (200, 303)
    db.session.rollback()
    assert db.session.get(SalesOrder, draft.id).status == "confirmed"

    html = client.get("/").get_data(as_text=True)
    assert tile(html, "open-orders") == "3"
    assert tile(html, "sales-total") == "150.00 EUR"
    assert tile(html, "sales-month") == "90.00 EUR"
    assert tile(html, "average-order") == "30.00 EUR"
    assert tile(html, "low-stock") == "2"


def test_a_reservation_alone_invalidates_the_low_stock_figure(app, env, company):
    """Confirming reserves with a bulk UPDATE of stock_levels (no ORM object changes)."""
    manager, p1 = env["manager"], env["p1"]
    client = _client(app, manager)
    assert tile(client.get("/").get_data(as_text=True), "low-stock") == "2"
    from erp.cache_versions import cache_key
    catalog_key = cache_key(company.id, "catalog", ["catalog"])
    sales_service.cancel_order(company_id=company.id, order_id=env["orders"]["o1"].id,
                               user=manager)  # releases 2 of P1: 10 available >= 9
    assert tile(client.get("/").get_data(as_text=True), "low-stock") == "1"
    from erp.services import stock
    stock.reserve(company_id=company.id, product_id=p1.id,
                  warehouse_id=env["warehouse"].id, quantity=Decimal("5"))
    db.session.commit()
    assert tile(client.get("/").get_data(as_text=True), "low-stock") == "2"
    # products.available changed with every reservation, the catalog figures did not
    assert cache_key(company.id, "catalog", ["catalog"]) == catalog_key


def test_completing_a_task_updates_my_tasks_but_not_the_sales_key(app, env, company):
    from erp.cache_versions import cache_key
    manager = env["manager"]
    client = _client(app, manager)
    assert "Overdue call" in client.get("/").get_data(as_text=True)
    sales_key = cache_key(company.id, "sales", ["sales"])
    catalog_key = cache_key(company.id, "catalog", ["catalog", "inventory"])
    tasks_key = cache_key(company.id, "tasks", ["tasks"])

    task_service.change_status(company_id=manager.company_id, task_id=env["tasks"]["t1"].id,
                               user=manager, status="done")

    assert cache_key(company.id, "sales", ["sales"]) == sales_key
    assert cache_key(company.id, "catalog", ["catalog", "inventory"]) == catalog_key
    assert cache_key(company.id, "tasks", ["tasks"]) != tasks_key
    html = client.get("/").get_data(as_text=True)
    assert "Overdue call" not in html and "Soon" in html


def test_the_warm_dashboard_reads_no_figures_from_the_database(app, env, queries_for):
    client = _client(app, env["manager"])
    cold = queries_for(client, "/")
    warm = queries_for(client, "/")
    assert warm < cold
    # the user and the company (for the navigation bar); nothing else
    assert warm <= 2, warm


def test_query_count_is_the_same_with_5_and_60_orders(app, company, make_user, queries_for):
    user = make_user("viewer")
    client = _client(app, user)
    warehouse = WarehouseFactory(company=company)

    def add_orders(n):
        for i in range(n):
            SalesOrderFactory(company=company, warehouse_id=warehouse.id,
                              status=("draft", "confirmed", "shipped")[i % 3],
                              subtotal=Decimal("12.50"), total=Decimal("12.50"))
        TodoFactory.create_batch(n, company=company, assignee_id=user.id)
        sales_totals.rebuild(company.id)  # factories bypass the sales service's totals
        db.session.commit()

    add_orders(5)
    cache.clear()
    few = queries_for(client, "/")
    add_orders(55)
    cache.clear()
    many = queries_for(client, "/")
    assert few == many
    html = client.get("/").get_data(as_text=True)
    assert tile(html, "open-orders") == "20"
    assert tile(html, "sales-total") == "487.50 EUR"  # 3 + 36 confirmed or shipped x 12.50


def test_a_draft_leaves_the_sales_sums_cached_and_its_confirmation_moves_them(app, env,
                                                                             company):
    from erp.cache_versions import cache_key
    manager = env["manager"]
    client = _client(app, manager)
    before = Decimal(tile(client.get("/").get_data(as_text=True), "sales-total")
                     .removesuffix(" EUR").replace(",", ""))
    sums, counts = (cache_key(company.id, "sums", ["sales_totals"]),
                    cache_key(company.id, "counts", ["sales"]))
    order = _order(company, manager, env["c1"], env["warehouse"],
                   [(env["p2"], Decimal("1"), Decimal("20"), Decimal("0"))])
    assert cache_key(company.id, "sums", ["sales_totals"]) == sums  # a draft: no sale yet
    assert cache_key(company.id, "counts", ["sales"]) != counts  # one more draft
    assert order.number in client.get("/").get_data(as_text=True)  # in the recent orders
    sales_service.confirm_order(company_id=company.id, order_id=order.id, user=manager)
    assert cache_key(company.id, "sums", ["sales_totals"]) != sums
    after = (tile(client.get("/").get_data(as_text=True), "sales-total")
             .removesuffix(" EUR").replace(",", ""))
    assert Decimal(after) == before + Decimal("20.00")


def test_the_parts_are_cached_as_html_and_my_tasks_per_user(app, env, company, make_user):
    from erp.blueprints.main.views import PARTS
    from erp.cache import cache_get
    from erp.cache_versions import cache_key, storage_key
    manager = env["manager"]
    html = _client(app, manager).get("/").get_data(as_text=True)
    assert "Overdue call" in html
    # the currency and the language are shown
    part = f"html:figures:{TODAY.isoformat()}:{company.currency}:en"
    figures_key = cache_key(company.id, part, dq.areas_of(*PARTS["figures"][1]))
    stamp, html_part = cache_get(storage_key(company.id, part))
    assert stamp == figures_key and 'id="figure-products"' in html_part
    # another user of the company: the company's parts from the cache, their own tasks
    other = make_user("viewer")
    other_html = _client(app, other).get("/").get_data(as_text=True)
    assert "Overdue call" not in other_html
    assert tile(other_html, "products") == tile(html, "products")
    # a task write re-renders "my tasks" and leaves the figures' HTML where it was
    task_service.change_status(company_id=manager.company_id, task_id=env["tasks"]["t1"].id,
                               user=manager, status="done")
    assert cache_key(company.id, part, dq.areas_of(*PARTS["figures"][1])) == figures_key
    assert "Overdue call" not in _client(app, manager).get("/").get_data(as_text=True)
