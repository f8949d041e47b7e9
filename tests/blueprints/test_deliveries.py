"""Delivery pages: the new-delivery form (prefilled with what is left, bad input on the
lines), the list with its filters and CSV, the record and print pages, the order page's
shipped and left quantities, roles, company scope and constant query counts."""
from decimal import Decimal
from urllib.parse import quote

import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models import StockLevel
from erp.models.sales import DeliveryNote, SalesOrder
from erp.services import deliveries, sales, stock
from tests.blueprints.test_pdf import pdf_text
from tests.blueprints.test_sales import HX, env  # noqa: F401  (the fixture)
from tests.factories.catalog import ProductFactory
from tests.factories.sales import CustomerFactory

D = Decimal


@pytest.fixture(autouse=True)
def more_stock(env):
    """The sales pages' company (tests/blueprints/test_sales.py) with 100 WIDGET on hand."""
    stock.receive(company_id=env.company.id, product_id=env.product.id,
                  warehouse_id=env.warehouse.id, quantity=90, user=env.user)


def confirmed_order(env, quantity="5", customer=None):
    order = sales.create_order(customer_id=(customer or env.customer).id,
                               warehouse_id=env.warehouse.id, **env.kw)
    sales.add_line(order_id=order.id, product_id=env.product.id, quantity=quantity, **env.kw)
    sales.confirm_order(order_id=order.id, **env.kw)
    db.session.rollback()
    return db.session.get(SalesOrder, order.id)


def on_hand(env) -> Decimal:
    db.session.rollback()
    return db.session.scalar(select(StockLevel.on_hand).where(
        StockLevel.product_id == env.product.id))


def test_the_form_is_prefilled_with_what_is_left_and_posts(client_as, env):
    client = client_as("staff")
    order = confirmed_order(env, "5")
    item_id = order.items[0].id
    page = client.get(f"/sales/orders/{order.id}").get_data(as_text=True)
    assert f'href="/sales/orders/{order.id}/deliver"' in page
    form = client.get(f"/sales/orders/{order.id}/deliver").get_data(as_text=True)
    assert f'name="qty-{item_id}" value="5"' in form
    response = client.post(f"/sales/orders/{order.id}/deliver",
                           data={"delivery_date": "2026-12-01", f"qty-{item_id}": "2",
                                 "post": "1"})
    assert response.status_code == 303
    delivery = db.session.scalar(select(DeliveryNote))
    assert response.headers["Location"].endswith(f"/sales/deliveries/{delivery.id}")
    assert delivery.status == "posted" and on_hand(env) == D(98)
    page = client.get(f"/sales/orders/{order.id}").get_data(as_text=True)
    assert "Partly shipped" in page and delivery.number in page
    assert f'id="line-{item_id}-shipped">2<' in page and f'id="line-{item_id}-left">3<' in page
    form = client.get(f"/sales/orders/{order.id}/deliver").get_data(as_text=True)
    assert f'name="qty-{item_id}" value="3"' in form
    # a draft, then posted from its page
    client.post(f"/sales/orders/{order.id}/deliver",
                data={"delivery_date": "2026-12-02", f"qty-{item_id}": "3", "save": "1"})
    draft = db.session.scalar(select(DeliveryNote).where(DeliveryNote.status == "draft"))
    assert on_hand(env) == D(98)
    page = client.get(f"/sales/deliveries/{draft.id}").get_data(as_text=True)
    assert f'action="/sales/deliveries/{draft.id}/post"' in page
    assert client.post(f"/sales/deliveries/{draft.id}/post").status_code == 303
    assert on_hand(env) == D(95)
    assert db.session.get(SalesOrder, order.id).status == "shipped"
    assert stock.ledger_mismatches(env.company.id) == []


def test_over_delivery_and_bad_input_answer_422_and_write_nothing(client_as, env):
    client = client_as("staff")
    order = confirmed_order(env, "5")
    item_id = order.items[0].id
    for value, message in (("6", "only 5 left to ship, 6 given"), ("x", "Enter a number."),
                           ("1.2345", "Use at most 3 decimals."),
                           ("-1", "Enter a positive quantity.")):
        response = client.post(f"/sales/orders/{order.id}/deliver",
                               data={"delivery_date": "2026-12-01", f"qty-{item_id}": value,
                                     "post": "1"})
        assert response.status_code == 422, value
        assert message in response.get_data(as_text=True), value
    response = client.post(f"/sales/orders/{order.id}/deliver",
                           data={"delivery_date": "", f"qty-{item_id}": "1"})
    assert response.status_code == 422 and "Enter a date." in response.get_data(as_text=True)
    response = client.post(f"/sales/orders/{order.id}/deliver",
                           data={"delivery_date": "2026-12-01", f"qty-{item_id}": "0"})
    assert response.status_code == 422
    assert "at least one line" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(select(DeliveryNote.id)) is None and on_hand(env) == D(100)


def test_a_draft_order_has_no_delivery_form(client_as, env):
    client = client_as("staff")
    order = sales.create_order(customer_id=env.customer.id, warehouse_id=env.warehouse.id,
                               **env.kw)
    response = client.get(f"/sales/orders/{order.id}/deliver")
    assert response.status_code == 303
    assert "nothing to deliver" in client.get(response.headers["Location"]).get_data(
        as_text=True)


def test_roles(client_as, env):
    order = confirmed_order(env, "5")
    item_id = order.items[0].id
    viewer, staff, manager = (client_as(role) for role in ("viewer", "staff", "manager"))
    data = {"delivery_date": "2026-12-01", f"qty-{item_id}": "1", "post": "1"}
    assert viewer.get(f"/sales/orders/{order.id}/deliver").status_code == 403
    assert viewer.post(f"/sales/orders/{order.id}/deliver", data=data).status_code == 403
    assert staff.post(f"/sales/orders/{order.id}/deliver", data=data).status_code == 303
    delivery = db.session.scalar(select(DeliveryNote))
    for url in ("/sales/deliveries", f"/sales/deliveries/{delivery.id}",
                f"/sales/deliveries/{delivery.id}/print", f"/sales/deliveries/{delivery.id}/pdf"):
        assert viewer.get(url).status_code == 200, url
    # closing short is a manager's
    assert staff.post(f"/sales/orders/{order.id}/close").status_code == 403
    assert manager.post(f"/sales/orders/{order.id}/close").status_code == 303
    db.session.rollback()
    assert db.session.get(SalesOrder, order.id).status == "closed"


def test_another_companys_deliveries_answer_404(env, other_company_client):
    order = confirmed_order(env, "5")
    delivery = deliveries.create_delivery(order_id=order.id, quantities={order.items[0].id: "1"},
                                          **env.kw)
    for url in (f"/sales/deliveries/{delivery.id}", f"/sales/deliveries/{delivery.id}/print",
                f"/sales/deliveries/{delivery.id}/pdf", f"/sales/orders/{order.id}/deliver"):
        assert other_company_client.get(url).status_code == 404, url
    for url in (f"/sales/deliveries/{delivery.id}/post", f"/sales/deliveries/{delivery.id}/cancel",
                f"/sales/orders/{order.id}/deliver", f"/sales/orders/{order.id}/close"):
        assert other_company_client.post(url, data={}).status_code == 404, url
    assert other_company_client.get("/sales/deliveries").get_data(as_text=True).count(
        delivery.number) == 0
    db.session.rollback()
    assert db.session.get(DeliveryNote, delivery.id).status == "draft"


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_the_list_filters_and_exports(client_as, env):
    client = client_as("viewer")
    other = CustomerFactory(company=env.company, name="Other Customer")
    mine = confirmed_order(env, "5")
    theirs = confirmed_order(env, "5", customer=other)
    first = deliveries.create_delivery(order_id=mine.id, quantities={mine.items[0].id: "1"},
                                       post=True, **env.kw)
    second = deliveries.create_delivery(order_id=theirs.id,
                                        quantities={theirs.items[0].id: "1"}, **env.kw)

    def shown(query: str) -> set[str]:
        html = client.get(f"/sales/deliveries?{query}").get_data(as_text=True)
        return {number for number in (first.number, second.number) if number in html}

    assert shown("") == {first.number, second.number}
    assert shown("status=posted") == {first.number}
    assert shown("status=draft") == {second.number}
    assert shown("customer=other+cust") == {second.number}
    assert shown(f"customer={quote(other.picker_label)}") == {second.number}
    assert shown("date_from=2999-01-01") == set()
    assert shown("date_to=2999-01-01&date_from=2000-01-01") == {first.number, second.number}
    assert shown("date_from=garbage&status=nonsense") == {first.number, second.number}
    fragment = client.get("/sales/deliveries?status=draft", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and second.number in fragment
    csv = client.get("/sales/deliveries?format=csv&status=posted")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).splitlines()
    assert lines[0].lstrip("\ufeff").startswith("number,delivery_date,order,customer,status")
    assert len(lines) == 2 and first.number in lines[1] and mine.number in lines[1]


def test_the_print_page(client_as, env):
    order = confirmed_order(env, "5")
    delivery = deliveries.create_delivery(order_id=order.id, quantities={order.items[0].id: "2"},
                                          post=True, **env.kw)
    html = client_as("viewer").get(f"/sales/deliveries/{delivery.id}/print").get_data(
        as_text=True)
    assert "Delivery note" in html and delivery.number in html and order.number in html
    assert "WIDGET" in html and "Zenith Retail" in html and "doc-cancelled" not in html
    assert f'href="/sales/deliveries/{delivery.id}/pdf"' in html
    response = client_as("viewer").get(f"/sales/deliveries/{delivery.id}/pdf")
    text = pdf_text(response)  # the same template, read back from the PDF
    assert delivery.number in text and order.number in text and "WIDGET" in text
    assert "Zenith Retail" in text and response.headers["Content-Disposition"].endswith(
        f'{delivery.number}.pdf')


def test_list_and_record_query_counts_are_constant(client_as, env, queries_for):
    client = client_as("viewer")

    def add(n: int) -> DeliveryNote:
        delivery = None
        for _ in range(n):
            customer = CustomerFactory(company=env.company)
            order = confirmed_order(env, "3", customer=customer)
            delivery = deliveries.create_delivery(
                order_id=order.id, quantities={order.items[0].id: "1"}, post=True, **env.kw)
        return delivery

    delivery = add(2)
    few = queries_for(client, "/sales/deliveries?per_page=100")
    few_hx = queries_for(client, "/sales/deliveries?per_page=100&status=posted", headers=HX)
    record = queries_for(client, f"/sales/deliveries/{delivery.id}")
    order_page = queries_for(client, f"/sales/orders/{delivery.order_id}")
    add(6)
    assert queries_for(client, "/sales/deliveries?per_page=100") == few
    assert queries_for(client, "/sales/deliveries?per_page=100&status=posted",
                       headers=HX) == few_hx
    # a delivery of more lines, an order with more deliveries: the same cost
    product = ProductFactory(company=env.company, sku="GADGET")
    stock.receive(company_id=env.company.id, product_id=product.id,
                  warehouse_id=env.warehouse.id, quantity=50, user=env.user)
    order = sales.create_order(customer_id=env.customer.id, warehouse_id=env.warehouse.id,
                               **env.kw)
    for item in (env.product, product, env.product):
        sales.add_line(order_id=order.id, product_id=item.id, quantity="4", **env.kw)
    sales.confirm_order(order_id=order.id, **env.kw)
    db.session.rollback()
    order = db.session.get(SalesOrder, order.id)
    for _ in range(3):
        wide = deliveries.create_delivery(
            order_id=order.id, quantities={item.id: "1" for item in order.items}, post=True,
            **env.kw)
    assert queries_for(client, f"/sales/deliveries/{wide.id}") == record
    assert queries_for(client, f"/sales/orders/{order.id}") == order_page
