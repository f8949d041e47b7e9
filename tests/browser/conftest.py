"""Browser fixtures: the app served on a loopback port, Debian's Chromium via Playwright."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.factories.core import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def pytest_collection_modifyitems(items):
    # the hook sees every test of the session, not only this directory's
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(autouse=True)
def patient_expect():
    """The suite shares its cores with other runs: `expect` waits up to 15 s (not 5 s) for
    what it asserts. A test fails on a wrong page, not on a slow one."""
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture
def config_overrides():
    return {"WTF_CSRF_ENABLED": True}  # the browser sends real tokens


PHONE = {"width": 390, "height": 844}  # CSS pixels of a common phone


def close_contexts(contexts, name: str) -> None:
    """Keep a screenshot of every page of these browser contexts, then close them."""
    ARTIFACTS.mkdir(exist_ok=True)
    for index, context in enumerate(contexts):
        for page in context.pages:
            page.screenshot(path=str(ARTIFACTS / f"{name}-{index}.png"), full_page=True)
        context.close()


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# htmx reports an aborted request as two console errors, "htmx:afterRequest, <target>" then
# "htmx:sendAbort, <target>". A request is aborted when the page it belongs to is left (a
# suggestion list still loading when the form is submitted) or replaced by a newer one
# (hx-sync="this:replace" on the pickers): expected, not a JavaScript error. A request that
# failed (htmx:sendError, htmx:timeout, htmx:responseError...) still counts.
ABORT = "htmx:sendAbort"
ABORTED_AFTER_REQUEST = "htmx:afterRequest"


def record_console_error(errors: list[str], text: str) -> None:
    if text.startswith(ABORT):
        target = text[len(ABORT):]
        if errors and errors[-1] == ABORTED_AFTER_REQUEST + target:
            errors.pop()  # the afterRequest "error" of this same abort
        return
    errors.append(text)


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []  # uncaught exceptions and console errors, less aborted requests
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: record_console_error(errors, msg.text)
            if msg.type == "error" else None)
    page.js_errors = errors
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def browser_login(live_server):
    def login(page, email: str, password: str = PASSWORD):
        page.goto(f"{live_server}/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/")
        return page

    return login
