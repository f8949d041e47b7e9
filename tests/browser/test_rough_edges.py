"""The rough edges of the pages (issue #16): a phone, no JavaScript, confirmations, feedback."""
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from erp.extensions import db
from erp.models.sales import SalesOrder
from erp.services import production, purchasing, sales, stock
from tests.browser.conftest import ARTIFACTS, PHONE, close_contexts
from tests.factories.catalog import ProductFactory, SupplierFactory, WarehouseFactory
from tests.factories.core import PASSWORD
from tests.factories.sales import CustomerFactory


def draft_order(company, user, lines: int = 1, in_stock: int = 0):
    """A draft sales order with `lines` lines of 3 (through the service), each product with
    `in_stock` in the order's warehouse."""
    warehouse = WarehouseFactory(company=company)
    customer = CustomerFactory(company=company, name="Bright Optics")
    order = sales.create_order(company_id=company.id, user=user, customer_id=customer.id,
                               warehouse_id=warehouse.id)
    for index in range(lines):
        product = ProductFactory(company=company, sku=f"LENS-{index}", name=f"Lens {index}",
                                 sale_price=Decimal("120.00"))
        if in_stock:
            stock.receive(company_id=company.id, product_id=product.id,
                          warehouse_id=warehouse.id, quantity=in_stock, user=user)
        sales.add_line(company_id=company.id, order_id=order.id, user=user,
                       product_id=product.id, quantity=Decimal("3"))
    return order.id


@pytest.fixture
def order_page(live_server, browser_login, make_user, company):
    """`order_page(page, lines=, in_stock=)`: a manager logged in on `page` looks at a new
    draft sales order (`draft_order`); gives the order's id."""
    def open_order(page, **order) -> int:
        manager = make_user("manager")
        order_id = draft_order(company, manager, **order)
        browser_login(page, manager.email)
        page.goto(f"{live_server}/sales/orders/{order_id}")
        return order_id

    return open_order


@pytest.fixture
def phone_page(browser, request):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def test_sales_order_page_fits_a_phone_and_its_add_line_field_can_be_tapped(
        phone_page, order_page):
    order_page(phone_page, lines=2)
    expect(phone_page.locator("h1")).to_contain_text("SO-")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    phone_page.click("#product")  # no force: it must be the element under the finger
    expect(phone_page.locator("#product")).to_be_focused()


def test_a_purchase_order_and_a_bill_of_materials_fit_a_phone(phone_page, live_server,
                                                              browser_login, make_user, company):
    manager = make_user("manager")
    supplier = SupplierFactory(company=company)
    warehouse = WarehouseFactory(company=company)
    table = ProductFactory(company=company, sku="TABLE", name="Table", kind="finished_good")
    leg = ProductFactory(company=company, sku="LEG", name="Leg", kind="component")
    kw = {"company_id": company.id, "user": manager}
    order = purchasing.create_order(supplier_id=supplier.id, warehouse_id=warehouse.id, **kw)
    purchasing.add_line(order_id=order.id, product_id=leg.id, quantity=Decimal("40"), **kw)
    production.add_bom_line(product_id=table.id, component_id=leg.id, quantity=Decimal("4"),
                            **kw)
    browser_login(phone_page, manager.email)
    for url, field in ((f"/purchasing/orders/{order.id}", "#product"),
                       (f"/production/boms/{table.id}", "#component")):
        phone_page.goto(live_server + url)
        expect(phone_page.locator(field)).to_be_visible()
        assert phone_page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], url
        phone_page.click(field)
        expect(phone_page.locator(field)).to_be_focused()


@pytest.fixture
def no_js(browser, request):
    """Pages without JavaScript, at the size the test asks for (`no_js(PHONE)`)."""
    contexts = []

    def open_page(viewport):
        context = browser.new_context(viewport=viewport, java_script_enabled=False)
        contexts.append(context)
        return context.new_page()

    yield open_page
    close_contexts(contexts, request.node.name)


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
        no_js, order_page):
    page = no_js({"width": 1280, "height": 900})
    order_page(page)
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


def order_status(order_id: int) -> str:
    db.session.rollback()  # end the snapshot: see what the requests wrote
    return db.session.get(SalesOrder, order_id).status


def test_confirm_ship_and_invoice_ask_first_and_no_changes_nothing(
        page, order_page):
    order_id = order_page(page, in_stock=10)
    questions: list[str] = []

    def answer(dialog, accept: bool):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    page.click("#order-actions button:has-text('Confirm')")
    expect(page.locator("#record-status")).to_have_text("Draft")
    assert questions and questions[-1].startswith("Confirm SO-")
    assert order_status(order_id) == "draft"
    for button, status in (("Confirm", "Confirmed"), ("Ship", "Shipped")):
        page.once("dialog", lambda dialog: answer(dialog, True))
        page.click(f"#order-actions button:has-text('{button}')")
        expect(page.locator("#record-status")).to_have_text(status)
        assert questions[-1].startswith(f"{button} SO-")
    assert page.js_errors == []


def test_place_order_asks_first(page, live_server, browser_login, make_user, company):
    manager = make_user("manager")
    supplier = SupplierFactory(company=company)
    warehouse = WarehouseFactory(company=company)
    order = purchasing.create_order(company_id=company.id, user=manager,
                                    supplier_id=supplier.id, warehouse_id=warehouse.id)
    order_id = order.id
    browser_login(page, manager.email)
    page.goto(f"{live_server}/purchasing/orders/{order_id}")
    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.click("button:has-text('Place order')")
    expect(page.locator("#order-status")).to_have_text("Draft")
    assert questions and questions[0].startswith("Place PO-")


def test_without_javascript_confirm_cancel_and_remove_line_ask_on_a_page_first(
        no_js, order_page):
    page = no_js(PHONE)
    order_id = order_page(page, lines=2)
    detail = page.url

    # remove a line: a page asks; Back leaves the line
    page.locator("#order-%d-lines tbody tr" % order_id).first.get_by_role(
        "button", name="Remove").click()
    expect(page.locator("#confirm-question")).to_contain_text("Remove the line LENS-0")
    page.click("#confirm-back")
    expect(page).to_have_url(detail)
    expect(page.locator(f"#order-{order_id}-lines tbody tr")).to_have_count(2)
    page.locator("#order-%d-lines tbody tr" % order_id).first.get_by_role(
        "button", name="Remove").click()
    page.click("#confirm-step")
    expect(page.locator("#flash")).to_contain_text("Line removed.")
    expect(page.locator(f"#order-{order_id}-lines tbody tr")).to_have_count(1)

    # cancel: a page asks first, then the order is cancelled
    page.click("#order-actions button:has-text('Cancel order')")
    expect(page.locator("#confirm-question")).to_contain_text("Cancel SO-")
    assert order_status(order_id) == "draft"
    page.click("#confirm-step")
    expect(page.locator("#record-status")).to_have_text("Cancelled")
    assert order_status(order_id) == "cancelled"


def test_without_javascript_confirm_asks_on_a_page_and_back_changes_nothing(
        no_js, order_page):
    page = no_js({"width": 1280, "height": 900})
    order_page(page, in_stock=10)
    page.click("#order-actions button:has-text('Confirm')")
    expect(page.locator("#confirm-question")).to_contain_text("Confirm SO-")
    page.click("#confirm-back")
    expect(page.locator("#record-status")).to_have_text("Draft")
    page.click("#order-actions button:has-text('Confirm')")
    page.click("#confirm-step")
    expect(page.locator("#record-status")).to_have_text("Confirmed")
    expect(page.locator("#flash")).to_contain_text("confirmed: stock reserved")


def hold(page, pattern: str, method: str = "POST") -> list:
    """Hold the requests to `pattern` with `method` (the test lets them go with
    `.continue_()`): a deliberately slow server, without a sleep."""
    held: list = []
    page.route(pattern, lambda route: held.append(route) if route.request.method == method
               else route.continue_())
    return held


# While a page is being left, Playwright cannot look into it: the login page writes what its
# button looked like when it was left (the answer arrived) for the next page to read.
RECORD_LOGIN_BUTTON = """
window.addEventListener("pagehide", function () {
  var button = document.querySelector("form button[type=submit]");
  if (button && location.pathname === "/login") {
    sessionStorage.setItem("login-button", JSON.stringify(
      {disabled: button.disabled, busy: button.classList.contains("is-busy")}));
  }
});
"""


def test_the_login_button_is_disabled_with_a_spinner_while_the_login_runs(
        page, live_server, make_user):
    user = make_user("staff")
    page.add_init_script(RECORD_LOGIN_BUTTON)
    page.goto(f"{live_server}/login")
    held = hold(page, "**/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]", no_wait_after=True)
    while not held:  # the login is on its way (the route handler runs while Playwright waits)
        page.wait_for_timeout(50)
    page.wait_for_timeout(500)  # a slow server
    held[0].continue_()
    expect(page).to_have_url(f"{live_server}/")
    assert page.evaluate("JSON.parse(sessionStorage.getItem('login-button'))") == \
        {"disabled": True, "busy": True}
    assert page.js_errors == []


def test_an_htmx_change_disables_its_button_and_shows_the_indicator_while_it_runs(
        page, order_page):
    order_id = order_page(page, lines=1)
    held = hold(page, f"**/sales/orders/{order_id}/lines")
    page.fill("#product", "LENS-0")
    page.fill("#quantity", "2")
    add = page.locator(f"#order-{order_id}-add-line button[type=submit]")
    add.click()
    expect(add).to_be_disabled()
    expect(page.locator("#busy")).to_have_class(re.compile(r"\bhtmx-request\b"))
    assert len(held) == 1
    held[0].continue_()
    expect(page.locator("#flash")).to_contain_text("Line added.")
    expect(page.locator("#busy")).not_to_have_class(re.compile(r"\bhtmx-request\b"))
    expect(page.locator(f"#order-{order_id}-add-line button[type=submit]")).to_be_enabled()
    assert page.js_errors == []


def test_a_refused_change_replaces_the_old_success_message(page, order_page, company):
    order_id = order_page(page, lines=1, in_stock=10)
    page.fill("#product", "LENS-0")
    page.fill("#quantity", "1")
    page.click(f"#order-{order_id}-add-line button[type=submit]")
    expect(page.locator("#flash")).to_contain_text("Line added.")
    order = db.session.get(SalesOrder, order_id)
    sales.confirm_order(company_id=company.id, order_id=order_id, user=order.created_by)
    page.fill("#product", "LENS-0")  # meanwhile the order was confirmed elsewhere: 409
    page.fill("#quantity", "1")
    page.click(f"#order-{order_id}-add-line button[type=submit]")
    expect(page.locator("#htmx-error")).to_contain_text("confirmed")
    expect(page.locator("#flash")).not_to_contain_text("Line added.")
