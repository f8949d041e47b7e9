"""A manager receives a batch in Chromium, ships an order in two deliveries from it, takes
part of the first back, and traces the batch from the supplier's receipt to the customer."""
import re
from decimal import Decimal

from playwright.sync_api import expect

from erp.extensions import db
from erp.services import catalog, purchasing, sales, stock
from tests.browser.conftest import ARTIFACTS
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory


def test_receive_a_lot_ship_it_in_two_deliveries_return_some_and_trace_it(page, live_server, browser_login,
                                                             make_user, company):
    manager = make_user("manager")
    kw = {"company_id": company.id, "user": manager}
    warehouse = WarehouseFactory(company=company, code="MAIN", name="Main store")
    paste = ProductFactory(company=company, sku="PASTE-5G", name="Thermal paste",
                           tracking="lot", sale_price=Decimal("4.00"))
    supplier = catalog.create_supplier(name="Acme Chemicals", **kw)
    customer = CustomerFactory(company=company, name="Bright Optics")
    po = purchasing.create_order(supplier_id=supplier.id, warehouse_id=warehouse.id, **kw)
    po_line = purchasing.add_line(order_id=po.id, product_id=paste.id, quantity="10", **kw)
    purchasing.place_order(order_id=po.id, **kw)
    so = sales.create_order(customer_id=customer.id, warehouse_id=warehouse.id, **kw)
    so_line = sales.add_line(order_id=so.id, product_id=paste.id, quantity="5", **kw)
    ids = {"po": po.id, "po_line": po_line.id, "so": so.id, "so_line": so_line.id}
    db.session.commit()
    browser_login(page, manager.email)

    # receive the batch with its expiry
    page.goto(f"{live_server}/purchasing/orders/{ids['po']}/receive")
    page.fill(f"#lot-{ids['po_line']}", "B-7781")
    page.fill(f"#expiry-{ids['po_line']}", "2031-03-31")
    page.click("#receive-form button[type=submit]")
    expect(page.locator("#flash")).to_contain_text("received 1 line")

    # confirm the order (its stock is there now), then two deliveries from the batch
    sales.confirm_order(order_id=ids["so"], **kw)
    delivered = []
    for quantity in ("2", "3"):
        page.goto(f"{live_server}/sales/orders/{ids['so']}/deliver")
        lot_input = page.locator(f"#lot-{ids['so_line']}")
        expect(lot_input).to_have_value("B-7781")  # the suggestion: the only batch in stock
        page.fill(f"#qty-{ids['so_line']}", quantity)
        page.click("#delivery-form button[name=post]")
        expect(page.locator("#flash")).to_contain_text("posted: stock issued")
        delivered.append(page.url)
    expect(page.locator("body")).to_contain_text("B-7781")  # the delivery's lots

    # the customer sends back one of the first delivery's two, naming the batch
    page.goto(delivered[0])
    page.click("#new-return")
    expect(page.locator("h1")).to_contain_text("Sales return of DN-")
    line = page.locator("#return-form input[name^=qty-]")
    line_id = line.get_attribute("name").removeprefix("qty-")
    expect(page.locator(f"#lot-{line_id}")).to_have_value("")  # empty: what the line shipped
    page.fill("#reason", "Tube leaking")
    line.fill("1")
    page.fill(f"#lot-{line_id}", "B-9999")  # not what it shipped: refused next to the line
    page.click("#return-form button[name=post]")
    expect(page.locator(f"#return-source-{line_id} .invalid-feedback")).to_contain_text(
        "B-9999 is not among the lots")
    page.fill(f"#lot-{line_id}", "B-7781")
    page.click("#return-form button[name=post]")
    expect(page.locator("#flash")).to_contain_text("posted: stock moved")
    expect(page.locator("h1")).to_contain_text("RET-")
    expect(page.locator(".return-lots")).to_have_text("B-7781")

    # a bad pick is refused next to the line, nothing shipped (the order is shipped now,
    # so try it on a fresh order)
    other = sales.create_order(customer_id=customer.id, warehouse_id=warehouse.id, **kw)
    other_line = sales.add_line(order_id=other.id, product_id=paste.id, quantity="1", **kw)
    sales.confirm_order(order_id=other.id, **kw)
    page.goto(f"{live_server}/sales/orders/{other.id}/deliver")
    page.fill(f"#lot-{other_line.id}", "NO-SUCH")
    page.click("#delivery-form button[name=post]")
    expect(page.locator(f"#deliver-line-{other_line.id} .invalid-feedback")).to_contain_text(
        "no lot NO-SUCH of PASTE-5G")

    # trace it: the lot list, filtered by the product, then the lot's page
    page.goto(f"{live_server}/inventory/lots")
    page.fill("#filter-product", "PASTE-5G")
    page.press("#filter-product", "Enter")
    expect(page.locator("#lot-table")).to_contain_text("B-7781")
    # the filter is in the address bar (the picker's options request never is)
    expect(page).to_have_url(re.compile(r"/inventory/lots\?.*product=PASTE-5G"))
    page.click("#lot-table a:has-text('B-7781')")
    expect(page.locator("h1")).to_contain_text("Lot B-7781")
    came, went = page.locator("#lot-came"), page.locator("#lot-went")
    expect(came).to_contain_text("GR-")
    expect(came).to_contain_text("Acme Chemicals")
    expect(went.locator("tbody tr")).to_have_count(2)
    expect(went).to_contain_text("Bright Optics")
    expect(came).to_contain_text("RET-")  # the one that came back
    expect(page.locator("#lot-stock")).to_contain_text("MAIN: 6")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "lot_trace.png"), full_page=True)
    went.locator("a:has-text('Bright Optics')").first.click()
    expect(page.locator("h1")).to_contain_text("Bright Optics")

    db.session.rollback()  # end the snapshot: see what the requests wrote
    assert stock.ledger_mismatches(company.id) == []
    assert [e for e in page.js_errors if "status of 422" not in e] == []  # the bad pick
