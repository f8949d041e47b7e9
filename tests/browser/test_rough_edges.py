"""The rough edges of the pages (issue #16): a phone, no JavaScript, confirmations, feedback."""
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from erp.services import sales
from tests.browser.conftest import ARTIFACTS
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory

PHONE = {"width": 390, "height": 844}


def draft_order(company, user, lines: int = 1):
    """A draft sales order with `lines` lines (through the service)."""
    warehouse = WarehouseFactory(company=company)
    customer = CustomerFactory(company=company, name="Bright Optics")
    order = sales.create_order(company_id=company.id, user=user, customer_id=customer.id,
                               warehouse_id=warehouse.id)
    for index in range(lines):
        product = ProductFactory(company=company, sku=f"LENS-{index}", name=f"Lens {index}",
                                 sale_price=Decimal("120.00"))
        sales.add_line(company_id=company.id, order_id=order.id, user=user,
                       product_id=product.id, quantity=Decimal("3"))
    return order.id


@pytest.fixture
def phone_page(browser, request):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def test_sales_order_page_fits_a_phone_and_its_add_line_field_can_be_tapped(
        phone_page, live_server, browser_login, make_user, company):
    manager = make_user("manager")
    order_id = draft_order(company, manager, lines=2)
    browser_login(phone_page, manager.email)
    phone_page.goto(f"{live_server}/sales/orders/{order_id}")
    expect(phone_page.locator("h1")).to_contain_text("SO-")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    phone_page.click("#product")  # no force: it must be the element under the finger
    expect(phone_page.locator("#product")).to_be_focused()
