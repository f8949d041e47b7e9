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


@pytest.fixture
def no_js(browser, request):
    """Pages without JavaScript, at the size the test asks for (`no_js(PHONE)`)."""
    contexts = []

    def open_page(viewport):
        context = browser.new_context(viewport=viewport, java_script_enabled=False)
        contexts.append(context)
        return context.new_page()

    yield open_page
    ARTIFACTS.mkdir(exist_ok=True)
    for index, context in enumerate(contexts):
        for page in context.pages:
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{index}.png"),
                            full_page=True)
        context.close()


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1280, "height": 900}],
                         ids=["phone", "desktop"])
def test_without_javascript_the_navigation_works_and_one_can_log_out(
        no_js, viewport, live_server, browser_login, make_user):
    user = make_user("staff", name="Sam Staff")
    page = no_js(viewport)
    browser_login(page, user.email)
    sales = page.get_by_role("link", name="Sales", exact=True)
    if viewport is PHONE:
        expect(sales).to_be_hidden()  # collapsed until the menu button is tapped
        page.click("label.navbar-toggler")
    sales.click()
    expect(page.locator("h1")).to_have_text("Sales orders")
    if viewport is PHONE:
        page.click("label.navbar-toggler")
    page.click("#user-menu")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"no-js-menu-{viewport['width']}.png"))
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server}/login")
    page.goto(f"{live_server}/sales/orders")
    expect(page).to_have_url(f"{live_server}/login?next=%2Fsales%2Forders")


def test_without_javascript_the_history_panel_links_to_the_history(
        no_js, live_server, browser_login, make_user, company):
    manager = make_user("manager")
    order_id = draft_order(company, manager)
    page = no_js({"width": 1280, "height": 900})
    browser_login(page, manager.email)
    page.goto(f"{live_server}/sales/orders/{order_id}")
    panel = page.locator(".history-panel")
    expect(panel.get_by_text("Loading the history")).to_be_hidden()
    panel.get_by_role("link", name="Show the history").click()
    expect(page.locator(".history-entries")).to_contain_text("created")


def test_with_javascript_the_user_menu_opens_and_closes(page, live_server, browser_login,
                                                        make_user):
    user = make_user("staff")
    browser_login(page, user.email)
    log_out = page.get_by_role("button", name="Log out")
    expect(log_out).to_be_hidden()
    page.click("#user-menu")
    expect(log_out).to_be_visible()
    page.click("h1")  # elsewhere: the menu closes
    expect(log_out).to_be_hidden()
    page.click("#user-menu")
    log_out.click()
    expect(page).to_have_url(f"{live_server}/login")
    assert page.js_errors == []
