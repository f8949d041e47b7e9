"""The API documentation page draws Swagger UI from the vendored files under the CSP."""
from playwright.sync_api import expect


def test_api_docs_page_shows_the_operations_without_errors(page, live_server, browser_login,
                                                           make_user):
    admin = make_user("admin")
    browser_login(page, admin.email)
    page.goto(f"{live_server}/admin/api-docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("ERP API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    # Swagger UI draws the operations as they are scrolled to (150 of them): scroll down,
    # a frame at a time, until the sales orders' are drawn.
    sales_orders = page.locator(".opblock-summary-path", has_text="/api/v1/sales-orders").first
    for _ in range(200):
        if sales_orders.count():
            break
        page.mouse.wheel(0, 1000)
        page.evaluate("() => new Promise(done => requestAnimationFrame("
                      "() => requestAnimationFrame(done)))")
    sales_orders.scroll_into_view_if_needed()
    expect(sales_orders).to_be_visible()
    assert page.js_errors == []
