"""Return pages: the form from a delivery note and from a purchase order (bad input on the
lines, nothing written), the lists with filters and CSV, the record, print and PDF pages,
the links from the documents, roles, company scope and constant query counts."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import StockLevel, StockMovement
from erp.models.purchasing import PurchaseOrder
from erp.models.returns import PurchaseReturn, SalesReturn
from erp.services import deliveries, purchasing, returns, sales, stock
from tests.blueprints.test_pdf import pdf_text
from tests.blueprints.test_sales import HX, env  # noqa: F401  (the fixture)
from tests.factories.catalog import ProductFactory, SupplierFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory

D = Decimal


@pytest.fixture(autouse=True)
def more_stock(env):
    """The sales pages' company (tests/blueprints/test_sales.py) with 100 WIDGET in MAIN
    and a second warehouse BACK."""
    stock.receive(company_id=env.company.id, product_id=env.product.id,
                  warehouse_id=env.warehouse.id, quantity=90, user=env.user)
    env.back = WarehouseFactory(company=env.company, code="BACK")


def delivered(env, quantity="5", customer=None, products=None):
    """A posted delivery of a confirmed order (one line of `quantity` per product)."""
    order = sales.create_order(customer_id=(customer or env.customer).id,
                               warehouse_id=env.warehouse.id, **env.kw)
    for product in products or [env.product]:
        sales.add_line(order_id=order.id, product_id=product.id, quantity=quantity, **env.kw)
    sales.confirm_order(order_id=order.id, **env.kw)
    db.session.rollback()
    items = {item.id: item.quantity for item in sales_order(order.id).items}
    delivery = deliveries.create_delivery(order_id=order.id, quantities=items, post=True,
                                          **env.kw)
    db.session.rollback()
    return deliveries_page(delivery.id)


def sales_order(order_id):
    from erp.models.sales import SalesOrder
    return db.session.get(SalesOrder, order_id)


def deliveries_page(delivery_id):
    from erp.models.sales import DeliveryNote
    return db.session.get(DeliveryNote, delivery_id)


def returned(env, delivery, qty="1", post=True):
    return returns.create_sales_return(
        company_id=env.company.id, user=env.user, delivery_id=delivery.id,
        quantities={delivery.lines[0].id: qty}, warehouse_id=env.back.id, reason="Damaged",
        post=post)


def on_hand(env, warehouse) -> Decimal:
    db.session.rollback()
    return db.session.scalar(select(StockLevel.on_hand).where(
        StockLevel.product_id == env.product.id, StockLevel.warehouse_id == warehouse.id)) or 0


def test_a_return_from_the_delivery_page_restocks_the_chosen_warehouse(client_as, env):
    client = client_as("manager")
    delivery = delivered(env, "5")
    line_id = delivery.lines[0].id
    page = client.get(f"/sales/deliveries/{delivery.id}").get_data(as_text=True)
    assert f'href="/sales/deliveries/{delivery.id}/return"' in page and "No returns." in page
    form = client.get(f"/sales/deliveries/{delivery.id}/return").get_data(as_text=True)
    assert f'name="qty-{line_id}"' in form and f'id="returnable-{line_id}">5<' in form
    response = client.post(f"/sales/deliveries/{delivery.id}/return",
                           data={"return_date": "2026-12-02", "warehouse_id": env.back.id,
                                 "reason": "Scratched", f"qty-{line_id}": "2", "post": "1"})
    assert response.status_code == 303
    made = db.session.scalar(select(SalesReturn))
    assert response.headers["Location"].endswith(f"/sales/returns/{made.id}")
    assert made.status == "posted" and on_hand(env, env.back) == D(2)
    page = client.get(f"/sales/returns/{made.id}").get_data(as_text=True)
    assert "Scratched" in page and delivery.number in page and "Zenith Retail" in page
    page = client.get(f"/sales/deliveries/{delivery.id}").get_data(as_text=True)
    assert made.number in page
    form = client.get(f"/sales/deliveries/{delivery.id}/return").get_data(as_text=True)
    assert f'id="returnable-{line_id}">3<' in form
    # a draft, posted from its page by a manager
    client.post(f"/sales/deliveries/{delivery.id}/return",
                data={"return_date": "2026-12-02", "warehouse_id": env.back.id,
                      "reason": "Too many", f"qty-{line_id}": "3", "save": "1"})
    draft = db.session.scalar(select(SalesReturn).where(SalesReturn.status == "draft"))
    page = client.get(f"/sales/returns/{draft.id}").get_data(as_text=True)
    assert f'action="/sales/returns/{draft.id}/post"' in page
    assert client.get(f"/sales/returns/{draft.id}/post").status_code == 200  # the question
    assert client.post(f"/sales/returns/{draft.id}/post").status_code == 303
    assert on_hand(env, env.back) == D(5)
    assert stock.ledger_mismatches(env.company.id) == []


def test_bad_input_answers_422_with_every_message_and_writes_nothing(client_as, env,
                                                                    other_company):
    client = client_as("staff")
    delivery = delivered(env, "5")
    line_id = delivery.lines[0].id
    foreign = WarehouseFactory(company=other_company)
    url = f"/sales/deliveries/{delivery.id}/return"
    base = {"return_date": "2026-12-02", "warehouse_id": env.back.id, "reason": "Damaged"}
    for data, message in (
            ({f"qty-{line_id}": "6"}, "only 5 can be returned"),
            ({f"qty-{line_id}": "-1"}, "Enter a positive quantity."),
            ({f"qty-{line_id}": "x"}, "Enter a number."),
            ({f"qty-{line_id}": "0"}, "at least one line"),
            ({f"qty-{line_id}": "1", "warehouse_id": foreign.id},
             "Choose a warehouse of your company."),
            ({f"qty-{line_id}": "1", "warehouse_id": "abc"}, "Choose a warehouse of your company."),
            ({f"qty-{line_id}": "1", "reason": ""}, "Say why the goods are returned."),
            ({f"qty-{line_id}": "1", "return_date": "nope"}, "Enter a date.")):
        response = client.post(url, data={**base, **data, "save": "1"})
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), data
    db.session.rollback()
    assert db.session.scalar(select(func.count(SalesReturn.id))) == 0
    assert db.session.scalar(select(func.count(StockMovement.id)).where(
        StockMovement.kind == "sales_return")) == 0


def test_roles(client_as, env):
    delivery = delivered(env, "5")
    viewer, staff, manager = (client_as(role) for role in ("viewer", "staff", "manager"))
    url = f"/sales/deliveries/{delivery.id}/return"
    data = {"return_date": "2026-12-02", "warehouse_id": env.back.id, "reason": "Damaged",
            f"qty-{delivery.lines[0].id}": "1", "save": "1"}
    assert viewer.get(url).status_code == 403
    assert viewer.post(url, data=data).status_code == 403
    assert "Post now" not in staff.get(url).get_data(as_text=True)
    assert staff.post(url, data=data).status_code == 303
    made = db.session.scalar(select(SalesReturn))
    for page in ("/sales/returns", f"/sales/returns/{made.id}",
                 f"/sales/returns/{made.id}/print", f"/sales/returns/{made.id}/pdf"):
        assert viewer.get(page).status_code == 200, page
    assert 'action="/sales/returns' not in staff.get(f"/sales/returns/{made.id}").get_data(
        as_text=True)
    for action in ("post", "cancel"):
        assert staff.post(f"/sales/returns/{made.id}/{action}").status_code == 403
    assert manager.post(f"/sales/returns/{made.id}/cancel").status_code == 303
    db.session.rollback()
    assert db.session.get(SalesReturn, made.id).status == "cancelled"


def test_a_draft_delivery_has_no_return_form(client_as, env):
    client = client_as("staff")
    order = sales.create_order(customer_id=env.customer.id, warehouse_id=env.warehouse.id,
                               **env.kw)
    sales.add_line(order_id=order.id, product_id=env.product.id, quantity="1", **env.kw)
    sales.confirm_order(order_id=order.id, **env.kw)
    db.session.rollback()
    draft = deliveries.create_delivery(order_id=order.id,
                                       quantities={sales_order(order.id).items[0].id: "1"},
                                       **env.kw)
    assert f"/sales/deliveries/{draft.id}/return" not in client.get(
        f"/sales/deliveries/{draft.id}").get_data(as_text=True)
    response = client.get(f"/sales/deliveries/{draft.id}/return")
    assert response.status_code == 303
    assert "only goods of a posted" in client.get(response.headers["Location"]).get_data(
        as_text=True)


def test_another_companys_returns_answer_404(env, other_company_client):
    delivery = delivered(env, "5")
    made = returned(env, delivery, post=False)
    order = purchase_order(env)
    for url in (f"/sales/returns/{made.id}", f"/sales/returns/{made.id}/print",
                f"/sales/returns/{made.id}/pdf", f"/sales/deliveries/{delivery.id}/return",
                f"/purchasing/orders/{order.id}/return"):
        assert other_company_client.get(url).status_code == 404, url
    for url in (f"/sales/returns/{made.id}/post", f"/sales/returns/{made.id}/cancel",
                f"/sales/deliveries/{delivery.id}/return",
                f"/purchasing/orders/{order.id}/return"):
        assert other_company_client.post(url, data={}).status_code == 404, url
    assert made.number not in other_company_client.get("/sales/returns").get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(SalesReturn, made.id).status == "draft"


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_the_list_filters_and_exports(client_as, env):
    client = client_as("viewer")
    other = CustomerFactory(company=env.company, name="Other Customer")
    first = returned(env, delivered(env))
    second = returned(env, delivered(env, customer=other), post=False)

    def shown(query: str) -> set[str]:
        html = client.get(f"/sales/returns?{query}").get_data(as_text=True)
        return {number for number in (first.number, second.number) if number in html}

    assert shown("") == {first.number, second.number}
    assert shown("status=posted") == {first.number}
    assert shown("customer=other+cust") == {second.number}
    assert shown(f"number={second.number}") == {second.number}
    assert shown("date_from=2999-01-01") == set()
    assert shown("date_from=garbage&status=nonsense") == {first.number, second.number}
    fragment = client.get("/sales/returns?status=draft", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and second.number in fragment
    csv = client.get("/sales/returns?format=csv&status=posted")
    lines = csv.get_data(as_text=True).splitlines()
    assert csv.mimetype == "text/csv" and lines[0].lstrip("\ufeff").startswith(
        "number,return_date,against,party,warehouse,status,reason")
    assert len(lines) == 2 and first.number in lines[1] and "BACK" in lines[1]


def test_the_print_page_and_pdf(client_as, env):
    delivery = delivered(env)
    made = returned(env, delivery, "2")
    client = client_as("viewer")
    html = client.get(f"/sales/returns/{made.id}/print").get_data(as_text=True)
    assert "Sales return" in html and made.number in html and delivery.number in html
    assert "WIDGET" in html and "Zenith Retail" in html and "Damaged" in html
    assert f'href="/sales/returns/{made.id}/pdf"' in html
    response = client.get(f"/sales/returns/{made.id}/pdf")
    text = pdf_text(response)
    assert made.number in text and "WIDGET" in text and "Damaged" in text
    assert response.headers["Content-Disposition"].endswith(f'{made.number}.pdf')


def test_list_and_record_query_counts_are_constant(client_as, env, queries_for):
    client = client_as("viewer")

    def add(n: int):
        made = None
        for _ in range(n):
            made = returned(env, delivered(env, "3", customer=CustomerFactory(company=env.company)))
        return made

    made = add(2)
    few = queries_for(client, "/sales/returns?per_page=100")
    few_hx = queries_for(client, "/sales/returns?per_page=100&status=posted", headers=HX)
    record = queries_for(client, f"/sales/returns/{made.id}")
    delivery_page = queries_for(client, f"/sales/deliveries/{made.delivery_id}")
    add(5)
    assert queries_for(client, "/sales/returns?per_page=100") == few
    assert queries_for(client, "/sales/returns?per_page=100&status=posted", headers=HX) == few_hx
    # a return of more lines, a delivery with more returns: the same cost
    gadget = ProductFactory(company=env.company, sku="GADGET")
    stock.receive(company_id=env.company.id, product_id=gadget.id,
                  warehouse_id=env.warehouse.id, quantity=50, user=env.user)
    wide_delivery = delivered(env, "4", products=[env.product, gadget, env.product])
    for _ in range(3):
        wide = returns.create_sales_return(
            company_id=env.company.id, user=env.user, delivery_id=wide_delivery.id,
            quantities={line.id: "1" for line in wide_delivery.lines},
            warehouse_id=env.back.id, reason="Damaged", post=True)
    assert queries_for(client, f"/sales/returns/{wide.id}") == record
    assert queries_for(client, f"/sales/deliveries/{wide_delivery.id}") == delivery_page


# --- purchase returns -------------------------------------------------------------------

def purchase_order(env, received="6", products=None):
    supplier = SupplierFactory(company=env.company, name="Acme Supplies")
    order = purchasing.create_order(company_id=env.company.id, user=env.user,
                                    supplier_id=supplier.id, warehouse_id=env.warehouse.id)
    for product in products or [env.product]:
        purchasing.add_line(company_id=env.company.id, user=env.user, order_id=order.id,
                            product_id=product.id, quantity="10", unit_cost="2.00",
                            tax_rate="0")
    purchasing.place_order(company_id=env.company.id, user=env.user, order_id=order.id)
    db.session.rollback()
    order = db.session.get(PurchaseOrder, order.id)
    purchasing.receive(company_id=env.company.id, user=env.user, order_id=order.id,
                       quantities={item.id: received for item in order.items},
                       warehouse_id=env.warehouse.id)
    db.session.rollback()
    return db.session.get(PurchaseOrder, order.id)


def test_a_purchase_return_from_the_order_page(client_as, env):
    client = client_as("manager")
    order = purchase_order(env)
    item_id = order.items[0].id
    page = client.get(f"/purchasing/orders/{order.id}").get_data(as_text=True)
    assert f'href="/purchasing/orders/{order.id}/return"' in page
    response = client.post(f"/purchasing/orders/{order.id}/return",
                           data={"return_date": "2026-12-02", "warehouse_id": env.warehouse.id,
                                 "reason": "Wrong size", f"qty-{item_id}": "7", "post": "1"})
    assert response.status_code == 422
    assert "only 6 can be returned (received minus returned)" in response.get_data(as_text=True)
    response = client.post(f"/purchasing/orders/{order.id}/return",
                           data={"return_date": "2026-12-02", "warehouse_id": env.warehouse.id,
                                 "reason": "Wrong size", f"qty-{item_id}": "2", "post": "1"})
    assert response.status_code == 303
    made = db.session.scalar(select(PurchaseReturn))
    assert made.status == "posted" and on_hand(env, env.warehouse) == D(104)
    for url in ("/purchasing/returns", f"/purchasing/returns/{made.id}",
                f"/purchasing/orders/{order.id}", f"/purchasing/returns/{made.id}/print"):
        assert made.number in client.get(url).get_data(as_text=True), url
    assert "Acme Supplies" in pdf_text(client.get(f"/purchasing/returns/{made.id}/pdf"))
    # more than available (100 reserved by a sales order) is refused, nothing moves
    order_b = sales.create_order(customer_id=env.customer.id, warehouse_id=env.warehouse.id,
                                 **env.kw)
    sales.add_line(order_id=order_b.id, product_id=env.product.id, quantity="103", **env.kw)
    sales.confirm_order(order_id=order_b.id, **env.kw)
    response = client.post(f"/purchasing/orders/{order.id}/return",
                           data={"return_date": "2026-12-02", "warehouse_id": env.warehouse.id,
                                 "reason": "Wrong size", f"qty-{item_id}": "2", "post": "1"})
    assert response.status_code == 303
    assert "Not enough WIDGET in MAIN" in client.get(response.headers["Location"]).get_data(
        as_text=True)
    assert on_hand(env, env.warehouse) == D(104)
    assert db.session.scalar(select(func.count(PurchaseReturn.id))) == 1


def test_purchase_return_roles_and_an_order_with_nothing_received(client_as, env):
    order = purchase_order(env)
    viewer, staff = client_as("viewer"), client_as("staff")
    assert viewer.get(f"/purchasing/orders/{order.id}/return").status_code == 403
    response = staff.post(f"/purchasing/orders/{order.id}/return",
                          data={"return_date": "2026-12-02", "warehouse_id": env.warehouse.id,
                                "reason": "x", f"qty-{order.items[0].id}": "1", "save": "1"})
    assert response.status_code == 303
    made = db.session.scalar(select(PurchaseReturn))
    assert staff.post(f"/purchasing/returns/{made.id}/post").status_code == 403
    assert viewer.get(f"/purchasing/returns/{made.id}").status_code == 200
    supplier = SupplierFactory(company=env.company)
    fresh_order = purchasing.create_order(company_id=env.company.id, user=env.user,
                                          supplier_id=supplier.id, warehouse_id=env.warehouse.id)
    response = staff.get(f"/purchasing/orders/{fresh_order.id}/return")
    assert response.status_code == 303
    assert "received nothing" in staff.get(response.headers["Location"]).get_data(as_text=True)


def test_purchase_return_pages_query_counts_are_constant(client_as, env, queries_for):
    client = client_as("viewer")

    def add(n):
        made = None
        for _ in range(n):
            order = purchase_order(env)
            made = returns.create_purchase_return(
                company_id=env.company.id, user=env.user, order_id=order.id,
                quantities={order.items[0].id: "1"}, warehouse_id=env.warehouse.id,
                reason="x", post=True)
        return made

    made = add(2)
    few = queries_for(client, "/purchasing/returns?per_page=100")
    record = queries_for(client, f"/purchasing/returns/{made.id}")
    order_page = queries_for(client, f"/purchasing/orders/{made.order_id}")
    add(4)
    assert queries_for(client, "/purchasing/returns?per_page=100") == few
    gadget = ProductFactory(company=env.company, sku="GADGET")
    order = purchase_order(env, products=[env.product, gadget])
    for _ in range(3):
        wide = returns.create_purchase_return(
            company_id=env.company.id, user=env.user, order_id=order.id,
            quantities={item.id: "1" for item in order.items}, warehouse_id=env.warehouse.id,
            reason="x", post=True)
    assert queries_for(client, f"/purchasing/returns/{wide.id}") == record
    assert queries_for(client, f"/purchasing/orders/{order.id}") == order_page
