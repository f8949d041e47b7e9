"""The monitoring page refreshes its tiles through htmx, without reloading the page."""
import pytest
from playwright.sync_api import expect


@pytest.fixture
def config_overrides():
    return {"WTF_CSRF_ENABLED": True, "MONITORING_REFRESH_SECONDS": 1}


def test_monitoring_tiles_refresh_without_a_reload(page, live_server, browser_login, make_user):
    admin = make_user("admin", is_superuser=True)
    browser_login(page, admin.email)
    page.goto(f"{live_server}/admin/monitoring")
    expect(page.locator("h1")).to_have_text("Monitoring")
    expect(page.locator("#tile-p95")).to_be_visible()
    expect(page.locator("#monitoring-chart")).to_have_attribute("data-drawn", "true")
    page.evaluate("window.__notReloaded = true")
    first = page.locator("#monitoring-updated").get_attribute("data-generated")
    # The page's own traffic is not counted; a request elsewhere is, and shows up.
    page.request.get(f"{live_server}/login")
    expect(page.locator("#monitoring-updated")).not_to_have_attribute(
        "data-generated", first, timeout=10000)
    expect(page.locator("#slowest-endpoints")).to_contain_text("auth.login", timeout=10000)
    assert page.evaluate("window.__notReloaded") is True
    assert page.evaluate("Chart.getChart(document.getElementById('monitoring-chart')) !== undefined")
    assert page.js_errors == []
