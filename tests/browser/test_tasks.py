"""A task is marked done in place, through htmx, with the CSRF header; its history loads."""
from datetime import date, timedelta

from playwright.sync_api import expect

from erp.extensions import db
from erp.models.tasks import Todo
from tests.browser.conftest import ARTIFACTS
from tests.factories.tasks import TodoFactory


def test_a_task_is_marked_done_in_place(page, live_server, browser_login, make_user, company):
    user = make_user("staff", name="Sam Staff")
    task = TodoFactory(company=company, title="Send the invoices", assignee_id=user.id,
                       created_by_id=user.id, due_date=date.today() - timedelta(days=1))
    TodoFactory(company=company, title="Order pallets", assignee_id=user.id,
                due_date=date.today() + timedelta(days=3), priority="high")
    task_id = task.id
    browser_login(page, user.email)
    page.click("nav >> text=Tasks")
    expect(page.locator("h1")).to_have_text("Tasks")
    row = page.locator(f"#task-{task_id}")
    expect(row).to_have_class("row-overdue")
    url_before = page.url
    page.select_option(f"#status-row-{task_id}", "done")
    expect(page.locator("#flash")).to_contain_text("“Send the invoices” is done.")
    expect(page.locator(f"#task-{task_id}")).not_to_have_class("row-overdue")
    expect(page.locator(f"#status-row-{task_id}")).to_have_value("done")
    assert page.url == url_before  # no reload, no navigation
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tasks-list-after-done.png"), full_page=True)
    db.session.rollback()  # end the snapshot: see what the requests wrote
    assert db.session.get(Todo, task_id).status == "done"

    page.click(f"#task-{task_id} a")
    expect(page.locator(f"#history-Todo-{task_id}")).to_contain_text("Open → Done")
    assert page.js_errors == []
