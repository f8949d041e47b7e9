"""A keyboard-wedge scanner types a barcode and presses Enter into a product picker: the
product is picked exactly and the cursor moves to the quantity; the next Enter adds the
line (issue #19, Barcodes). An unknown code is said next to the box and submits nothing."""
from playwright.sync_api import expect

from erp.services import stock_documents
from tests.factories.catalog import ProductFactory
from tests.factories.inventory_helpers import put_stock, stock_shop


def test_a_scanned_barcode_and_enter_pick_the_product_on_a_transfer(page, live_server,
                                                                     browser_login, make_user,
                                                                     company):
    shop = stock_shop(company, make_user("staff"), barcode="4006381333931")
    ProductFactory(company=company, sku="4006381")  # a prefix of the barcode: not picked
    put_stock(shop.product, shop.main, 20)
    transfer = stock_documents.create_transfer(from_warehouse_id=shop.main.id,
                                               to_warehouse_id=shop.spare.id, **shop.kw)
    browser_login(page, shop.user.email)
    page.goto(f"{live_server}/inventory/transfers/{transfer.id}")
    box = page.locator("#product")
    box.click()
    page.keyboard.type("0000000000000")
    page.keyboard.press("Enter")
    expect(page.locator("#product-scan-error")).to_contain_text("No product with the barcode")
    expect(page.locator("#no-lines")).to_be_visible()  # nothing was submitted
    box.fill("")
    page.keyboard.type("4006381333931")  # the scanner types fast, then Enter
    page.keyboard.press("Enter")
    expect(box).to_have_value("BOLT-8")
    expect(page.locator("#quantity")).to_be_focused()
    expect(page.locator("#product-scan-error")).to_be_hidden()
    page.keyboard.type("3")
    page.keyboard.press("Enter")
    expect(page.locator("#flash")).to_contain_text("BOLT-8: 3 on the transfer.")
    expect(page.locator(f"#transfer-{transfer.id}-lines tbody tr").first).to_contain_text("BOLT-8")
    assert page.js_errors == []
