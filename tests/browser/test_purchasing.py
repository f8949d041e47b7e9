"""A buyer creates a purchase order in Chromium, adds a line in place, places it, receives
part of it and sees the stock rise and the status change."""
import re
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from erp.extensions import db
from erp.models import StockLevel
from tests.browser.conftest import ARTIFACTS
from tests.factories.catalog import ProductFactory, SupplierFactory, WarehouseFactory


def test_create_place_and_partly_receive_a_purchase_order(page, live_server, browser_login,
                                                          make_user, company):
    user = make_user("manager")
    supplier = SupplierFactory(company=company, name="Acme Supplies")
    WarehouseFactory(company=company, code="MAIN", name="Main warehouse")
    product = ProductFactory(company=company, sku="BOLT-M8", name="Bolt M8", cost_price=Decimal("0.50"))
    supplier_label = f"Acme Supplies [#{supplier.id}]"
    product_id = product.id
    browser_login(page, user.email)

    page.click("nav >> text=Purchasing")
    expect(page.locator("h1")).to_have_text("Purchase orders")
    page.click("text=New purchase order")
    page.fill("#supplier", "Acme")
    expect(page.locator("#supplier-options option")).to_have_count(1, timeout=15000)  # htmx options
    page.fill("#supplier", supplier_label)
    page.click("button:has-text('Create purchase order')")
    expect(page.locator("h1")).to_contain_text("PO-")
    expect(page.locator("#order-status")).to_have_text("Draft")

    # add a line in place (htmx): the total updates without a reload
    url = page.url
    page.fill("#product", "BOLT-M8")
    page.fill("#quantity", "10")
    page.fill("#unit_cost", "0.80")
    page.click("button:has-text('Add line')")
    expect(page.locator("#flash")).to_contain_text("Added BOLT-M8.")
    expect(page.locator("[id$='-total']")).to_contain_text("8.00")
    assert page.url == url
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "purchasing-draft-lines.png"), full_page=True)

    page.once("dialog", lambda dialog: dialog.accept())  # hx-confirm
    page.click("button:has-text('Place order')")
    expect(page.locator("#order-status")).to_have_text("Ordered")

    page.click("text=Receive goods")
    quantity = page.locator("input[name^='qty-']")
    expect(quantity).to_have_value("10")
    quantity.fill("4")
    page.screenshot(path=str(ARTIFACTS / "purchasing-receive-form.png"), full_page=True)
    page.click("button:has-text('Receive')")
    expect(page.locator("#order-status")).to_have_text("Partially received")
    expect(page.locator("#flash")).to_contain_text("received 1 line into MAIN")
    expect(page.locator("table").first).to_contain_text("6")  # still open

    db.session.rollback()  # end the snapshot: see what the requests wrote
    level = db.session.scalar(select(StockLevel).where(StockLevel.product_id == product_id))
    assert level.on_hand == Decimal("4")

    # the rest arrives: received in full
    page.click("text=Receive goods")
    expect(quantity).to_have_value("6")
    page.click("button:has-text('Receive')")
    expect(page.locator("#order-status")).to_have_text("Received")
    db.session.rollback()
    level = db.session.scalar(select(StockLevel).where(StockLevel.product_id == product_id))
    assert level.on_hand == Decimal("10")
    assert page.js_errors == []


def test_reorder_low_stock_creates_a_draft_per_supplier(page, live_server, browser_login,
                                                        make_user, company):
    user = make_user("staff")
    acme = SupplierFactory(company=company, name="Acme Supplies")
    WarehouseFactory(company=company, code="MAIN", name="Main warehouse")
    ProductFactory(company=company, sku="BOLT-M8", min_stock=Decimal("50"),
                   preferred_supplier_id=acme.id)
    ProductFactory(company=company, sku="GLUE", min_stock=Decimal("5"))
    browser_login(page, user.email)
    page.goto(f"{live_server}/purchasing/reorder")
    expect(page.locator("#reorder-no-supplier")).to_contain_text("GLUE")
    expect(page.locator("#reorder-no-supplier input[type=checkbox]")).to_be_disabled()
    page.check(f"#reorder-supplier-{acme.id} input[type=checkbox]")
    page.screenshot(path=str(ARTIFACTS / "purchasing-reorder.png"), full_page=True)
    page.click("button:has-text('Create draft purchase orders')")
    expect(page.locator("#created-orders")).to_contain_text("Acme Supplies")
    page.click("#created-orders a")
    expect(page.locator("#order-status")).to_have_text("Draft")
    expect(page.locator("[id^='order-'][id$='-lines']")).to_contain_text("BOLT-M8")
    page.goto(f"{live_server}/purchasing/orders")
    expect(page.locator("#results")).to_contain_text("Acme Supplies")
    page.screenshot(path=str(ARTIFACTS / "purchasing-order-list.png"), full_page=True)
    page.click("#results tbody a")
    expect(page.locator("#order-status")).to_have_text("Draft")
    page.click("text=Print")
    expect(page.locator("#po-print")).to_contain_text("BOLT-M8")
    page.screenshot(path=str(ARTIFACTS / "purchasing-print.png"), full_page=True)
    with page.expect_download() as download:  # the PDF beside the Print button
        page.click("#pdf-button")
    assert re.fullmatch(r"PO-\d{4}-\d{6}\.pdf", download.value.suggested_filename)
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
    assert page.js_errors == []


def test_amend_an_ordered_po_receive_with_errors_and_close_it_short(page, live_server,
                                                                    browser_login, make_user,
                                                                    company):
    """A manager amends the open lines in place; a refused change replaces the old success
    message; a bad receipt shows one banner; the rest is closed short."""
    from erp.services import purchasing as service

    user = make_user("manager")
    supplier = SupplierFactory(company=company, name="Acme Supplies")
    main = WarehouseFactory(company=company, code="MAIN", name="Main warehouse")
    bolt = ProductFactory(company=company, sku="BOLT-M8", cost_price=Decimal("0.50"))
    nut = ProductFactory(company=company, sku="NUT-M8", cost_price=Decimal("0.10"))
    kw = dict(company_id=company.id, user=user)
    order = service.create_order(supplier_id=supplier.id, warehouse_id=main.id, **kw)
    bolt_line = service.add_line(order_id=order.id, product_id=bolt.id, quantity="10", **kw)
    nut_line = service.add_line(order_id=order.id, product_id=nut.id, quantity="5", **kw)
    service.place_order(order_id=order.id, **kw)
    service.receive(order_id=order.id, quantities={bolt_line.id: "4"}, warehouse_id=main.id,
                    **kw)
    ids = dict(order=order.id, bolt=bolt_line.id, nut=nut_line.id, main=main.id)
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm
    browser_login(page, user.email)
    page.goto(f"{live_server}/purchasing/orders/{ids['order']}")
    expect(page.locator("#order-status")).to_have_text("Partially received")

    # amend the open nut line in place (htmx)
    page.fill(f"#line-{ids['nut']}-quantity", "7")
    page.click(f"#line-{ids['nut']}-form button")
    expect(page.locator("#flash")).to_contain_text("Line saved.")
    expect(page.locator(f"#order-{ids['order']}-total")).to_contain_text("5.70")  # 5 + 0.70
    # the nut arrives meanwhile: removing it is refused, and the old success goes away
    service.receive(order_id=ids["order"], quantities={ids["nut"]: "1"},
                    warehouse_id=ids["main"], **kw)
    page.click(f"#line-{ids['nut']} button:has-text('Remove')")
    expect(page.locator("#htmx-error")).to_contain_text("has received goods")
    expect(page.locator("#flash")).not_to_contain_text("Line saved.")
    expect(page.locator("#flash .alert")).to_have_count(0)

    # a bad receipt: one banner, the error under its line
    page.click("text=Receive goods")
    page.fill(f"#qty-{ids['bolt']}", "99")
    page.click("button:has-text('Receive')")
    expect(page.locator(f"#receive-line-{ids['bolt']} .invalid-feedback")).to_contain_text(
        "only 6 still open")
    expect(page.locator("#main .alert-danger:visible")).to_have_count(1)
    expect(page.locator("#main .alert-danger:visible")).to_have_text(
        "Please correct the error below.")
    expect(page.locator("#flash .alert")).to_have_count(0)
    page.click("text=Cancel")

    # close the rest short (confirmed)
    page.click("button:has-text('Close short')")
    expect(page.locator("#order-status")).to_have_text("Closed short")
    expect(page.locator("#flash")).to_contain_text("the rest is no longer expected")
    expect(page.locator("button:has-text('Close short')")).to_have_count(0)
    expect(page.locator(f"#line-{ids['bolt']}-open")).to_have_text("6")
    # the refused removal (409) and the bad receipt (422) are the only failed requests
    expected = ("status of 409", "status of 422", "Error Code 409")
    assert [e for e in page.js_errors if not any(x in e for x in expected)] == []
