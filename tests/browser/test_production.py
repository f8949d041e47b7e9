"""In Chromium: build a BOM with htmx, plan an order, run it from planned to done, and see
the component stock fall and the product stock rise."""
from decimal import Decimal

from playwright.sync_api import expect

from erp.extensions import db
from erp.services import stock
from tests.browser.conftest import ARTIFACTS
from tests.factories.catalog import ProductFactory, WarehouseFactory


def test_build_a_bom_and_run_a_production_order(page, live_server, browser_login, make_user,
                                                company):
    manager = make_user("manager", name="Mia Manager")
    board = ProductFactory(company=company, sku="BOARD", name="Oak board", kind="raw_material",
                           cost_price=Decimal("4.00"))
    screw = ProductFactory(company=company, sku="SCREW", name="Wood screw", kind="raw_material",
                           cost_price=Decimal("0.05"))
    shelf = ProductFactory(company=company, sku="SHELF", name="Oak shelf", kind="finished_good")
    main = WarehouseFactory(company=company, code="MAIN", name="Main")
    for product, quantity in ((board, 10), (screw, 100)):
        stock.receive(company_id=company.id, product_id=product.id, warehouse_id=main.id,
                      quantity=quantity, user=manager)
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 500 else None)
    browser_login(page, manager.email)

    # build the BOM
    page.goto(f"{live_server}/production/boms")
    page.fill("#bom-open-product", "SHELF")
    page.click("#bom-open-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("SHELF")
    url = page.url
    page.fill("#component", "BOARD")
    page.fill("#quantity", "2")
    page.click("#bom-add-form button[type=submit]")
    expect(page.locator("#bom-lines")).to_contain_text("BOARD")
    page.fill("#component", "SCREW")
    page.fill("#quantity", "8")
    page.click("#bom-add-form button[type=submit]")
    expect(page.locator("#bom-lines")).to_contain_text("SCREW")
    expect(page.locator("#bom-rolled-cost")).to_have_text("8.40")  # 2 x 4.00 + 8 x 0.05
    assert page.url == url  # in place
    # a cycle is explained next to the field
    page.fill("#component", "SHELF")
    page.fill("#quantity", "1")
    page.click("#bom-add-form button[type=submit]")
    expect(page.locator("#bom-add-form .invalid-feedback")).to_contain_text("itself")
    expect(page.locator(f"#stock-{board.id}")).to_have_text("10")
    page.screenshot(path=str(ARTIFACTS / "production_bom_built.png"), full_page=True)

    # plan an order for 3 shelves
    page.click("text=Plan production")
    expect(page.locator("#order-form")).to_be_visible()  # the BOM page has a #quantity too
    page.fill("#quantity", "3")
    page.click("#order-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("MO-")
    expect(page.locator("h1")).to_contain_text("Planned")
    page.click("text=Check availability")
    expect(page.locator("#shortage-alert")).to_contain_text("All components are available")

    page.click("#order-actions button:has-text('Start')")
    expect(page.locator("h1")).to_contain_text("In progress")
    expect(page.locator("#flash")).to_contain_text("components reserved")
    page.click("#order-actions button:has-text('Complete')")
    expect(page.locator("h1")).to_contain_text("Done")
    expect(page.locator("#flash")).to_contain_text("product in stock")
    page.screenshot(path=str(ARTIFACTS / "production_order_done.png"), full_page=True)

    # the BOM page shows the stock: components fell, the product rose
    page.goto(url)
    expect(page.locator(f"#stock-{board.id}")).to_have_text("4")
    expect(page.locator(f"#stock-{screw.id}")).to_have_text("76")
    expect(page.locator(f"#stock-{shelf.id}")).to_have_text("3")
    db.session.rollback()  # end the snapshot: see what the requests wrote
    assert stock.ledger_mismatches(company.id) == []
    page.goto(f"{live_server}/production/orders")
    expect(page.locator("#results")).to_contain_text("Done")
    assert failed == []
    assert [e for e in page.js_errors if "status of 422" not in e] == []  # the cycle answers 422
