"""A manager takes an order from draft to shipped in Chromium and sees the stock fall."""
from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy import select

from erp.extensions import db
from erp.models import StockLevel
from erp.models.sales import SalesOrder
from erp.services import stock
from tests.browser.conftest import ARTIFACTS
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory


def test_order_from_draft_to_shipped_with_the_htmx_line_editor(page, live_server, browser_login,
                                                               make_user, company):
    manager = make_user("manager")
    warehouse = WarehouseFactory(company=company, code="MAIN", name="Main store")
    customer = CustomerFactory(company=company, name="Bright Optics")
    lens = ProductFactory(company=company, sku="LENS-50", name="Lens 50 mm",
                          sale_price=Decimal("120.00"))
    cap = ProductFactory(company=company, sku="CAP-52", name="Lens cap",
                         sale_price=Decimal("4.50"))
    for product in (lens, cap):
        stock.receive(company_id=company.id, product_id=product.id, warehouse_id=warehouse.id,
                      quantity=20, user=manager)
    ids = {"lens": lens.id, "customer": customer.id}
    browser_login(page, manager.email)
    page.goto(f"{live_server}/sales/orders/new")
    page.fill("#customer", f"Bright Optics [#{ids['customer']}]")
    page.fill("#requested_date", "2030-01-15")
    page.click("#order-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("SO-")
    order_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    totals = page.locator(f"#order-{order_id}-total")
    expect(totals).to_contain_text("0.00")

    url_before = page.url
    page.fill("#product", "LENS-50")
    page.fill("#quantity", "3")
    page.fill("#tax_rate", "10")
    page.click(f"#order-{order_id}-add-line button[type=submit]")
    expect(totals).to_contain_text("396.00")  # 3 x 120 + 10 % tax
    expect(page.locator("#flash")).to_contain_text("Line added.")
    page.fill("#product", "CAP-52")
    page.fill("#quantity", "2")
    page.click(f"#order-{order_id}-add-line button[type=submit]")
    expect(totals).to_contain_text("405.00")
    assert page.url == url_before  # edited in place

    # change the first line in place: 5 lenses with 20 % discount
    first = page.locator(f"#order-{order_id}-lines tbody tr").first
    first.locator("input[name=quantity]").fill("5")
    first.locator("input[name=discount_percent]").fill("20")
    first.locator("button:has-text('Save')").click()
    expect(totals).to_contain_text("537.00")  # 600 - 120 + 48 tax + 9.00
    page.screenshot(path=str(ARTIFACTS / "sales_order_draft_lines.png"), full_page=True)

    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm: confirm, ship
    page.click("#order-actions button:has-text('Confirm')")
    expect(page.locator("h1")).to_contain_text("Confirmed")
    expect(page.locator("#flash")).to_contain_text("confirmed: stock reserved")
    page.click("#order-actions button:has-text('Ship')")
    expect(page.locator("h1")).to_contain_text("Shipped")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sales_order_shipped.png"), full_page=True)

    db.session.rollback()  # end the snapshot: see what the requests wrote
    level = db.session.scalar(select(StockLevel).where(StockLevel.product_id == ids["lens"]))
    assert (level.on_hand, level.reserved) == (Decimal("15"), Decimal("0"))
    assert db.session.get(SalesOrder, order_id).total == Decimal("537.00")
    assert stock.ledger_mismatches(company.id) == []
    page.goto(f"{live_server}/sales/orders/{order_id}/print")
    expect(page.locator("h1")).to_have_text("Order confirmation")
    assert page.js_errors == []


def test_a_manager_confirms_over_the_credit_limit_after_the_warning(page, live_server,
                                                                   browser_login, make_user,
                                                                   company):
    from erp.services import sales
    manager = make_user("manager")
    warehouse = WarehouseFactory(company=company)
    customer = CustomerFactory(company=company, name="Tight Budget", credit_limit=Decimal("100"))
    ProductFactory(company=company, sku="SETUP", kind="service", sale_price=Decimal("120.00"))
    order = sales.create_order(company_id=company.id, user=manager, customer_id=customer.id,
                               warehouse_id=warehouse.id)
    db.session.commit()
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm
    browser_login(page, manager.email)
    page.goto(f"{live_server}/sales/orders/{order.id}")
    credit = page.locator(f"#order-{order.id}-credit")
    expect(credit).to_be_empty()
    page.fill("#product", "SETUP")
    page.fill("#quantity", "1")
    page.click(f"#order-{order.id}-add-line button[type=submit]")
    # the line is in: the warning comes with it, before anyone confirms
    expect(credit).to_contain_text("limit 100.00 EUR; open orders 0.00 EUR + this order "
                                   "120.00 EUR = 120.00 EUR")
    page.click("#order-actions button:has-text('Confirm')")
    expect(page.locator("#flash")).to_contain_text(f"Cannot confirm {order.number}")
    expect(page.locator("h1")).to_contain_text("Draft")
    page.click(f"#order-{order.id}-credit button:has-text('Confirm over the credit limit')")
    expect(page.locator("h1")).to_contain_text("Confirmed")
    expect(page.locator("#flash")).to_contain_text("confirmed over the credit limit")
    expect(credit).to_be_empty()
    assert page.js_errors == []
