"""Adding a sales line shows the product's available stock in the order's warehouse as it
is typed (issue #16, 20d), and each draft line shows it, in red when the lines need more."""
from decimal import Decimal

from playwright.sync_api import expect

from erp.services import sales
from tests.factories.catalog import ProductFactory
from tests.factories.inventory_helpers import put_stock, stock_shop


def test_the_add_line_form_and_the_lines_show_the_available_stock(page, live_server,
                                                                  browser_login, make_user,
                                                                  company):
    shop = stock_shop(company, make_user("manager"), barcode="4006381333931",
                      sale_price=Decimal("2.00"))
    put_stock(shop.product, shop.main, 5)
    put_stock(shop.product, shop.spare, 40)  # not the order's warehouse
    put_stock(ProductFactory(company=company, sku="NUT-8"), shop.main, 9)
    order = sales.create_order(customer_id=shop.customer.id, warehouse_id=shop.main.id,
                               **shop.kw)
    browser_login(page, shop.user.email)
    page.goto(f"{live_server}/sales/orders/{order.id}")
    hint = page.locator(f"#order-{order.id}-add-available")
    page.fill("#product", "4006381333931")  # a barcode names the product too
    expect(hint).to_contain_text("5 pcs of BOLT-8 available in MAIN")
    page.fill("#quantity", "8")
    expect(hint.locator(".text-danger")).to_contain_text("fewer than the 8 asked")
    page.click(f"#order-{order.id}-add-line button[type=submit]")
    expect(page.locator("#flash")).to_contain_text("Line added.")
    line = page.locator(f"#order-{order.id}-lines tbody tr").first
    expect(line.locator("td[id$='-available']")).to_contain_text("5 short")
    line.locator("input[name=quantity]").fill("4")
    line.locator("button:has-text('Save')").click()
    expect(page.locator("#flash")).to_contain_text("Line saved.")
    expect(line.locator("td[id$='-available']")).to_have_text("5")
    assert page.js_errors == []
