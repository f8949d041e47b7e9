"""A manager ships an order, invoices it, issues the invoice, downloads its PDF, records two
partial payments in Chromium, and sees the invoice paid and the receivables aging move."""
from decimal import Decimal

from playwright.sync_api import expect

from erp.extensions import db
from erp.models.invoices import Invoice
from erp.services import invoices, sales, stock
from tests.browser.conftest import ARTIFACTS
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory


def pay(page, live_server, invoice_id: int, amount: str) -> None:
    page.goto(f"{live_server}/money/invoices/{invoice_id}")
    page.click("#invoice-pay")
    expect(page.locator(f"#alloc-{invoice_id}")).to_be_visible()
    page.fill("#amount", amount)
    page.fill(f"#alloc-{invoice_id}", amount)
    page.click("#payment-form button[type=submit]")
    expect(page.locator("#flash")).to_contain_text("recorded")


def test_an_order_is_invoiced_paid_in_two_parts_and_leaves_the_aging(
        page, live_server, browser_login, make_user, company):
    manager = make_user("manager")
    warehouse = WarehouseFactory(company=company, code="MAIN", name="Main store")
    customer = CustomerFactory(company=company, name="Bright Optics")
    lens = ProductFactory(company=company, sku="LENS-50", name="Lens 50 mm",
                          sale_price=Decimal("100.00"))
    stock.receive(company_id=company.id, product_id=lens.id, warehouse_id=warehouse.id,
                  quantity=10, user=manager)
    order = sales.create_order(company_id=company.id, customer_id=customer.id,
                               warehouse_id=warehouse.id, user=manager)
    sales.add_line(company_id=company.id, order_id=order.id, product_id=lens.id,
                   quantity="2", user=manager)
    sales.confirm_order(company_id=company.id, order_id=order.id, user=manager)
    order_id, customer_id = order.id, customer.id
    browser_login(page, manager.email)
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm: ship, issue

    # ship it, then draft its invoice from the order page
    page.goto(f"{live_server}/sales/orders/{order_id}")
    page.click("#order-actions button:has-text('Ship all')")
    expect(page.locator("h1")).to_contain_text("Shipped")
    page.click(f"a[href$='/sales/orders/{order_id}/invoice']")
    page.click("button:has-text('Create invoice')")
    expect(page.locator("h1")).to_contain_text("Draft invoice")
    invoice_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

    # issue it: it gets its number; download its PDF
    page.click("#invoice-actions button:has-text('Issue')")
    expect(page.locator("h1")).to_contain_text("INV-")
    with page.expect_download() as download:
        page.click("#invoice-pdf")
    path = download.value.path()
    with open(path, "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert download.value.suggested_filename.startswith("INV-")

    # the aging shows what is owed (due on receipt: current)
    page.goto(f"{live_server}/money/receivables-aging")
    expect(page.locator(f"#aging-{customer_id}")).to_contain_text("Bright Optics")
    expect(page.locator("#aging-total")).to_contain_text("200.00")
    expect(page.locator("#aging-total-current")).to_contain_text("200.00")

    # two partial payments
    pay(page, live_server, invoice_id, "80.00")
    page.goto(f"{live_server}/money/invoices/{invoice_id}")
    expect(page.locator("h1")).to_contain_text("Partly paid")
    page.goto(f"{live_server}/money/receivables-aging")
    expect(page.locator("#aging-total")).to_contain_text("120.00")
    pay(page, live_server, invoice_id, "120.00")
    page.goto(f"{live_server}/money/invoices/{invoice_id}")
    expect(page.locator("h1")).to_contain_text("Paid")
    page.goto(f"{live_server}/money/receivables-aging")
    expect(page.locator("#aging-total")).to_contain_text("0.00")
    expect(page.locator(f"#aging-{customer_id}")).to_have_count(0)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "receivables_aging_paid.png"), full_page=True)

    # the statement tells the story, with the sales analysis beside it
    page.goto(f"{live_server}/sales/customers/{customer_id}/statement")
    expect(page.locator("#statement-closing")).to_contain_text("0.00")
    expect(page.locator("#statement-entries tbody tr")).to_have_count(4)  # opening + 3
    page.goto(f"{live_server}/money/sales-analysis")
    expect(page.locator("#analysis-chart")).to_have_attribute("data-drawn", "true")

    db.session.rollback()
    assert db.session.get(Invoice, invoice_id).status == "paid"
    assert invoices.mismatches(company.id) == []
    assert page.js_errors == []
