"""A user logs in with Chromium, sees the dashboard shell, and changes a role through htmx."""
import re

from playwright.sync_api import expect

from erp.extensions import db
from erp.models import User


def test_login_shows_the_dashboard_shell(page, live_server, browser_login, make_user):
    user = make_user("manager", name="Mona Manager")
    browser_login(page, user.email)
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("nav.navbar")).to_contain_text("Catalog")
    expect(page.locator("#user-menu")).to_have_text("Mona Manager")
    assert page.js_errors == []


def test_wrong_password_shows_a_message(page, live_server, make_user):
    user = make_user()
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    expect(page.locator(".invalid-feedback")).to_contain_text("Wrong email or password")


def test_role_change_in_place_through_htmx_with_csrf_header(page, live_server, browser_login,
                                                            make_user):
    admin = make_user("admin")
    other = make_user("viewer", email="zed@example.com")
    other_id = other.id
    browser_login(page, admin.email)
    page.click("nav summary:has-text('Admin')")  # the Admin menu opens without a script
    page.click("nav .dropdown-menu >> text=Users")
    expect(page.locator("h1")).to_have_text("Users")
    url_before = page.url
    page.select_option(f"#role-{other_id}", "manager")
    expect(page.locator("#flash")).to_contain_text("zed@example.com is now manager.")
    assert page.url == url_before  # no reload, no navigation
    db.session.rollback()  # end the snapshot: see what the requests wrote
    assert db.session.get(User, other_id).role == "manager"
    assert page.js_errors == []


def test_search_as_you_type_filters_users_and_keeps_the_address(page, live_server,
                                                                 browser_login, make_user):
    admin = make_user("admin")
    make_user(email="alpha@example.com")
    make_user(email="beta@example.com")
    browser_login(page, admin.email)
    page.goto(f"{live_server}/admin/users")
    page.fill("input[name=q]", "alpha")
    expect(page.locator("#results")).not_to_contain_text("beta@example.com")
    expect(page.locator("#results")).to_contain_text("alpha@example.com")
    expect(page).to_have_url(re.compile(r"[?&]q=alpha\b"))  # htmx pushes it after the swap
    page.reload()
    expect(page.locator("input[name=q]")).to_have_value("alpha")
    expect(page.locator("#results")).not_to_contain_text("beta@example.com")
