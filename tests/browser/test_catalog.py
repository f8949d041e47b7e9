"""Catalog and inventory in Chromium: search as you type, creating a product, a transfer."""
import re
from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy import select

from erp.extensions import db
from erp.models import Product, StockLevel
from tests.factories.catalog import ProductFactory, SupplierFactory, WarehouseFactory
from tests.factories.inventory_helpers import put_stock


# Chromium logs a form answered 422, which is by design. (An aborted picker request, e.g.
# by hx-sync="this:replace" when typing starts, is left out by the `page` fixture.)
BENIGN = ("status of 422",)


def real_errors(page) -> list[str]:
    """JS errors, less the console lines that are expected behaviour (see BENIGN)."""
    return [e for e in page.js_errors if not any(b in e for b in BENIGN)]


def test_product_search_filters_as_you_type_and_keeps_the_address(page, live_server,
                                                                  browser_login, make_user,
                                                                  company):
    user = make_user("viewer")
    ProductFactory(company=company, sku="CHAIR-1", name="Office chair")
    ProductFactory(company=company, sku="DESK-1", name="Standing desk")
    browser_login(page, user.email)
    page.click("nav >> text=Catalog")
    expect(page.locator("h1")).to_have_text("Products")
    page.evaluate("window.__marker = 'same page'")
    page.fill("input[name=q]", "desk")
    expect(page.locator("#results")).not_to_contain_text("CHAIR-1")
    expect(page.locator("#results")).to_contain_text("DESK-1")
    expect(page).to_have_url(re.compile(r"[?&]q=desk\b"))  # htmx pushes it after the swap
    assert page.evaluate("window.__marker") == "same page"  # no reload
    page.reload()
    expect(page.locator("input[name=q]")).to_have_value("desk")
    expect(page.locator("#results")).not_to_contain_text("CHAIR-1")
    assert page.js_errors == []


def test_staff_creates_a_product_with_a_supplier_picker(page, live_server, browser_login,
                                                        make_user, company):
    user = make_user("staff")
    supplier = SupplierFactory(company=company, name="Acme Supply")
    browser_login(page, user.email)
    page.goto(f"{live_server}/catalog/products/new")
    page.fill("input[name=sku]", "LAMP-9")
    page.fill("input[name=name]", "Desk lamp")
    page.select_option("select[name=kind]", "finished_good")
    page.fill("input[name=sale_price]", "-3")
    page.click("#product-form button[type=submit]")
    expect(page.locator("#product-form .invalid-feedback")).to_contain_text("Number must be between 0")
    page.fill("input[name=sale_price]", "59.90")
    page.fill("input[name=preferred_supplier]", "Acme")
    expect(page.locator("#preferred_supplier-options option")).to_have_count(1)
    page.fill("input[name=preferred_supplier]", f"Acme Supply [#{supplier.id}]")
    page.click("#product-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("LAMP-9 · Desk lamp")
    expect(page.locator("#flash")).to_contain_text("Product LAMP-9 created.")
    expect(page.locator("#preferred-supplier")).to_contain_text("Acme Supply")
    db.session.rollback()
    product = db.session.scalar(select(Product).where(Product.sku == "LAMP-9"))
    assert product.sale_price == Decimal("59.90") and product.preferred_supplier_id == supplier.id
    assert real_errors(page) == []


def test_staff_transfers_stock_between_warehouses(page, live_server, browser_login, make_user,
                                                  company):
    user = make_user("staff")
    product = ProductFactory(company=company, sku="BOLT-8", name="Bolt M8")
    main = WarehouseFactory(company=company, code="MAIN", name="Main")
    spare = WarehouseFactory(company=company, code="SPARE", name="Spare")
    put_stock(product, main, 10)
    browser_login(page, user.email)
    page.goto(f"{live_server}/inventory/transfer")
    page.fill("input[name=product]", "BOLT")
    expect(page.locator("#product-options option")).to_have_count(1)
    page.fill("input[name=product]", "BOLT-8")
    page.select_option("select[name=from_warehouse_id]", str(main.id))
    page.select_option("select[name=to_warehouse_id]", str(spare.id))
    page.fill("input[name=quantity]", "25")
    page.click("#stock-transfer-form button[type=submit]")
    expect(page.locator("#stock-transfer-form .invalid-feedback")).to_contain_text(
        "Not enough BOLT-8 in MAIN")
    page.fill("input[name=quantity]", "4")
    page.click("#stock-transfer-form button[type=submit]")
    expect(page.locator("#flash")).to_contain_text("Transferred 4 pcs of BOLT-8.")
    expect(page.locator("#stock-levels")).to_contain_text("SPARE")
    db.session.rollback()
    levels = dict(db.session.execute(select(StockLevel.warehouse_id, StockLevel.on_hand)).all())
    assert levels == {main.id: Decimal("6"), spare.id: Decimal("4")}
    assert real_errors(page) == []
