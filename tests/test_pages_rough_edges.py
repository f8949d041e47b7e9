"""The rough edges of the pages (issue #16), through HTTP: the confirmation pages a browser
without JavaScript shows before an irreversible step, the navigation, messages, pagers and
the labels of the History panel."""
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
    ("invoice", "shipped", "Invoice SO-"),
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
