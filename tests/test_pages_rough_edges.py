"""The rough edges of the pages (issue #16), through HTTP: the confirmation pages a browser
without JavaScript shows before an irreversible step, the navigation, messages, pagers and
the labels of the History panel."""
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models.sales import SalesOrder, SalesOrderItem
from erp.services import purchasing, sales, stock
from tests.conftest import login
from tests.factories.catalog import ProductFactory, SupplierFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory


@pytest.fixture
def manager(make_user):
    return make_user("manager")


def sales_order(company, user, *, lines: int = 1, status: str = "draft") -> SalesOrder:
    warehouse = WarehouseFactory(company=company)
    customer = CustomerFactory(company=company)
    order = sales.create_order(company_id=company.id, user=user, customer_id=customer.id,
                               warehouse_id=warehouse.id)
    for index in range(lines):
        product = ProductFactory(company=company, sku=f"GEAR-{index}", name=f"Gear {index}",
                                 sale_price=Decimal("10.00"))
        stock.receive(company_id=company.id, product_id=product.id,
                      warehouse_id=warehouse.id, quantity=100, user=user)
        sales.add_line(company_id=company.id, order_id=order.id, user=user,
                       product_id=product.id, quantity=Decimal("10"))
    if status in ("confirmed", "shipped"):
        sales.confirm_order(company_id=company.id, order_id=order.id, user=user)
    if status == "shipped":
        sales.ship_order(company_id=company.id, order_id=order.id, user=user)
    return order


def status_of(order_id: int) -> str:
    db.session.rollback()
    return db.session.get(SalesOrder, order_id).status


# --- 17: confirmation before irreversible steps -----------------------------------------

@pytest.mark.parametrize("action, status, question", [
    ("confirm", "draft", "Confirm SO-"),
    ("ship", "confirmed", "Ship SO-"),
    ("cancel", "draft", "Cancel SO-"),
])
def test_a_step_of_a_sales_order_asks_first_without_javascript(app, company, manager, action,
                                                               status, question):
    order = sales_order(company, manager, status=status)
    client = login(app.test_client(), manager.email)
    url = f"/sales/orders/{order.id}/{action}"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert question in html and f'action="{url}"' in html and 'id="confirm-step"' in html
    assert status_of(order.id) == status  # asking changes nothing
    detail = client.get(f"/sales/orders/{order.id}").get_data(as_text=True)
    assert f'method="get" action="{url}"' in detail  # the button's plain form asks first
    assert f'hx-post="{url}"' in detail and 'hx-confirm="' + question in detail
    assert client.post(url).status_code == 303  # the question's button posts as before
    assert status_of(order.id) != status


def test_place_order_asks_first_without_javascript(app, company, manager):
    supplier = SupplierFactory(company=company)
    warehouse = WarehouseFactory(company=company)
    order = purchasing.create_order(company_id=company.id, user=manager,
                                    supplier_id=supplier.id, warehouse_id=warehouse.id)
    client = login(app.test_client(), manager.email)
    page = client.get(f"/purchasing/orders/{order.id}/place")
    assert page.status_code == 200
    assert f"Place {order.number} with the supplier?" in page.get_data(as_text=True)


def test_the_question_of_a_step_keeps_the_role_and_the_company(app, company, manager,
                                                               client_as, other_company):
    order = sales_order(company, manager)
    url = f"/sales/orders/{order.id}/confirm"
    assert client_as("staff").get(url).status_code == 403
    assert client_as("admin", company=other_company).get(url).status_code == 404
    assert app.test_client().get(url).status_code == 302  # to the login


def test_the_question_of_a_step_the_order_is_past_goes_back_with_the_reason(app, company,
                                                                          manager):
    order = sales_order(company, manager, status="shipped")
    client = login(app.test_client(), manager.email)
    response = client.get(f"/sales/orders/{order.id}/confirm")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/sales/orders/{order.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "only a draft order can be confirmed" in page


def test_a_step_without_a_question_has_no_page(app, company, manager):
    order = sales_order(company, manager)
    client = login(app.test_client(), manager.email)
    # every step of a sales order asks; the work orders' steps do not
    from erp.models.production import WORK_ORDER_FLOW
    assert all(action.confirm is None for action in WORK_ORDER_FLOW.actions.values())
    assert client.get(f"/production/work-orders/{order.id}/start").status_code == 405


def test_removing_a_line_asks_first_without_javascript(app, company, manager, client_as,
                                                      other_company):
    order = sales_order(company, manager, lines=2)
    line_id = order.items[0].id
    client = login(app.test_client(), manager.email)
    url = f"/sales/orders/{order.id}/lines/{line_id}/remove"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"Remove the line GEAR-0 · Gear 0 from {order.number}?" in html
    assert f'action="{url}"' in html
    db.session.rollback()
    assert db.session.scalar(select(SalesOrderItem.id).where(SalesOrderItem.id == line_id))
    detail = client.get(f"/sales/orders/{order.id}").get_data(as_text=True)
    assert f'method="get" action="{url}"' in detail
    assert client_as("viewer").get(url).status_code == 403
    assert client_as("admin", company=other_company).get(url).status_code == 404
    assert client.post(url).status_code == 303
    db.session.rollback()
    assert db.session.scalar(select(SalesOrderItem.id).where(SalesOrderItem.id == line_id)) \
        is None


def test_the_question_of_a_removal_from_a_confirmed_order_goes_back(app, company, manager):
    order = sales_order(company, manager, status="confirmed")
    client = login(app.test_client(), manager.email)
    response = client.get(f"/sales/orders/{order.id}/lines/{order.items[0].id}/remove")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "can no longer be changed" in page


# --- 19: the audit trail and the CSV import in the navigation ---------------------------

@pytest.mark.parametrize("role, shown", [
    ("viewer", set()), ("staff", set()), ("manager", {"Import"}),
    ("admin", {"Import", "Audit trail"}),
])
def test_the_navigation_links_the_import_and_the_audit_trail_for_the_roles_allowed(
        client_as, role, shown):
    client = client_as(role)
    page = client.get("/").get_data(as_text=True)
    nav = page[page.index('id="main-nav"'):page.index("</nav>")]
    links = {"Import": "/admin/import/products", "Audit trail": "/admin/audit"}
    for label, url in links.items():
        assert (f'href="{url}">{label}</a>' in nav) == (label in shown), (role, label)
        assert client.get(url).status_code == (200 if label in shown else 403), (role, url)


def test_the_current_page_is_marked_in_the_navigation(admin_client):
    page = admin_client.get("/admin/import/products").get_data(as_text=True)
    nav = page[page.index('id="main-nav"'):page.index("</nav>")]
    current = re.findall(r'aria-current="page"\s+href="([^"]+)"', nav)
    assert current == ["/admin/import/products"]


# --- 20: the remaining rough edges ----------------------------------------------------------

HX = {"HX-Request": "true"}


def test_an_htmx_answer_without_a_message_clears_the_old_one(app, company, manager):
    product = ProductFactory(company=company, sku="TABLE")
    client = login(app.test_client(), manager.email)
    response = client.post(f"/production/boms/{product.id}/lines", headers=HX,
                           data={"component": "TABLE", "quantity": "many"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    oob = html[html.index('<div id="flash" hx-swap-oob="true">'):]
    assert oob.split("</div>", 1)[0].strip().endswith('hx-swap-oob="true">')  # empty: cleared


def test_a_bom_line_removal_asks_first_without_javascript(app, company, manager):
    from erp.services import production
    table = ProductFactory(company=company, sku="TABLE", name="Table")
    leg = ProductFactory(company=company, sku="LEG", name="Leg", kind="component")
    line = production.add_bom_line(company_id=company.id, user=manager, product_id=table.id,
                                   component_id=leg.id, quantity=Decimal("4"))
    client = login(app.test_client(), manager.email)
    page = client.get(f"/production/boms/lines/{line.id}/remove")
    assert page.status_code == 200
    assert "Remove the line LEG · Leg from TABLE · Table?" in page.get_data(as_text=True)
    detail = client.get(f"/production/boms/{table.id}").get_data(as_text=True)
    assert f'method="get" action="/production/boms/lines/{line.id}/remove"' in detail


def test_a_list_of_one_page_has_no_pager_and_a_longer_one_has(app, company, manager):
    client = login(app.test_client(), manager.email)
    sales_order(company, manager, lines=0)
    one = client.get("/sales/orders").get_data(as_text=True)
    assert "Rows 1–1 of 1" in one
    assert "Previous" not in one and "Page 1" not in one and "Next" not in one
    sales_order(company, manager, lines=0)
    two = client.get("/sales/orders?per_page=1").get_data(as_text=True)
    assert 'rel="next"' in two and "Page 1" in two


def test_the_history_shows_state_labels_quantities_and_plurals(app, company, manager):
    supplier = SupplierFactory(company=company)
    warehouse = WarehouseFactory(company=company)
    product = ProductFactory(company=company, sku="BOLT")
    kw = {"company_id": company.id, "user": manager}
    order = purchasing.create_order(supplier_id=supplier.id, warehouse_id=warehouse.id, **kw)
    line = purchasing.add_line(order_id=order.id, product_id=product.id,
                               quantity=Decimal("10.000"), **kw)
    purchasing.place_order(order_id=order.id, **kw)
    purchasing.receive(order_id=order.id, quantities={line.id: Decimal("4")},
                       warehouse_id=warehouse.id, **kw)
    client = login(app.test_client(), manager.email)
    history = client.get(f"/admin/audit/history/purchase_order/{order.id}").get_data(
        as_text=True)
    assert "added 10 x BOLT" in history and "10.000" not in history
    assert "received 1 line of" in history and "line(s)" not in history
    assert "Partially received" in history and "partially_received" not in history


def test_a_sales_order_without_a_discount_shows_none(app, company, manager):
    order = sales_order(company, manager)
    client = login(app.test_client(), manager.email)
    page = client.get(f"/sales/orders/{order.id}").get_data(as_text=True)
    assert f'id="order-{order.id}-discount"' not in page and "−0.00" not in page
    sales.update_line(company_id=company.id, order_id=order.id, line_id=order.items[0].id,
                      user=manager, quantity=Decimal("10"), unit_price=Decimal("10.00"),
                      discount_percent=Decimal("10"), tax_rate=Decimal("0"))
    page = client.get(f"/sales/orders/{order.id}").get_data(as_text=True)
    assert f'id="order-{order.id}-discount">−10.00' in page
