"""The dashboard in Chromium: the sales chart is drawn by Chart.js, without JS errors."""
from decimal import Decimal

from playwright.sync_api import expect

from erp.extensions import db
from erp.services import sales as sales_service
from tests.browser.conftest import ARTIFACTS
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.inventory_helpers import put_stock
from tests.factories.sales import CustomerFactory

DRAWN_PIXELS = """() => {
  const canvas = document.getElementById("sales-chart");
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0;
  for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) { drawn += 1; } }
  return drawn;
}"""


def test_the_sales_chart_renders(page, live_server, browser_login, make_user, company):
    user = make_user("manager")
    warehouse = WarehouseFactory(company=company)
    product = ProductFactory(company=company, sku="CHART-1", sale_price=Decimal("25"))
    put_stock(product, warehouse, 50)
    customer = CustomerFactory(company=company)
    order = sales_service.create_order(company_id=company.id, user=user,
                                       customer_id=customer.id, warehouse_id=warehouse.id)
    sales_service.add_line(company_id=company.id, order_id=order.id, user=user,
                           product_id=product.id, quantity="4")
    sales_service.confirm_order(company_id=company.id, order_id=order.id, user=user)
    db.session.commit()

    browser_login(page, user.email)
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("#sales-chart")).to_have_attribute("data-drawn", "true")
    assert page.evaluate("() => !!Chart.getChart(document.getElementById('sales-chart'))")
    page.wait_for_function(f"({DRAWN_PIXELS})() > 500")
    expect(page.locator("#figure-sales-total")).to_contain_text("100.00")
    expect(page.locator("#top-products")).to_contain_text("CHART-1")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    page.click(f"#recent-orders >> text={order.number}")
    page.wait_for_url(f"{live_server}/sales/orders/{order.id}")
    assert page.js_errors == []
