"""Task pages: my tasks / all tasks, filters, in-place status, forms, roles, cross-company."""
import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import AuditEntry
from erp.models.tasks import Todo
from tests.conftest import login
from tests.factories.core import UserFactory
from tests.factories.tasks import TodoFactory


@pytest.fixture
def staff(make_user):
    return make_user("staff", name="Sam Staff")


@pytest.fixture
def staff_login(app, staff):
    return login(app.test_client(), staff.email)


def count(model=Todo):
    db.session.rollback()  # end the snapshot: see what the requests wrote
    stmt = select(func.count()).select_from(model)
    if model is AuditEntry:  # logging in writes entries too
        stmt = stmt.where(AuditEntry.record_type == "Todo")
    return db.session.scalar(stmt)


# ---------------------------------------------------------------- roles

@pytest.mark.parametrize("role,status", [("viewer", 200), ("staff", 200), ("manager", 200),
                                         ("admin", 200)])
def test_everyone_sees_the_task_list(client_as, role, status):
    assert client_as(role).get("/tasks").status_code == status


@pytest.mark.parametrize("role,status", [("viewer", 403), ("staff", 200), ("manager", 200)])
def test_staff_and_up_may_create(client_as, role, status):
    client = client_as(role)
    assert client.get("/tasks/new").status_code == status
    assert client.get("/tasks/assignees/options?q=a").status_code == status
    response = client.post("/tasks/new", data={"title": "By " + role, "priority": "normal"})
    assert response.status_code == (303 if status == 200 else 403)


def test_my_tasks_shows_only_mine_and_all_is_for_managers(app, company, staff, staff_login,
                                                         make_user):
    other = make_user("staff")
    TodoFactory(company=company, title="Mine", assignee_id=staff.id)
    TodoFactory(company=company, title="Theirs", assignee_id=other.id)
    mine = staff_login.get("/tasks").data.decode()
    assert "Mine" in mine and "Theirs" not in mine
    # "all" is ignored for staff: still only their own
    assert "Theirs" not in staff_login.get("/tasks?view=all").data.decode()
    manager = login(app.test_client(), make_user("manager").email)
    page = manager.get("/tasks?view=all").data.decode()
    assert "Mine" in page and "Theirs" in page and "All tasks" in page


def test_viewer_cannot_change_status_or_edit(client_as, company, make_user):
    viewer_client = client_as("viewer")
    task = TodoFactory(company=company)
    assert viewer_client.post(f"/tasks/{task.id}/status", data={"status": "done"}).status_code == 403
    assert viewer_client.get(f"/tasks/{task.id}/edit").status_code == 403
    assert viewer_client.get(f"/tasks/{task.id}/delete").status_code == 403


def test_staff_cannot_open_someone_elses_task(staff_login, company, make_user):
    other = make_user("staff")
    task = TodoFactory(company=company, assignee_id=other.id, created_by_id=other.id)
    assert staff_login.get(f"/tasks/{task.id}").status_code == 404
    assert staff_login.post(f"/tasks/{task.id}/status", data={"status": "done"}).status_code == 404
    assert db.session.get(Todo, task.id).status == "open"


@pytest.mark.parametrize("method,path", [
    ("get", "/tasks/{id}"), ("get", "/tasks/{id}/edit"), ("post", "/tasks/{id}/edit"),
    ("post", "/tasks/{id}/status"), ("get", "/tasks/{id}/delete"), ("post", "/tasks/{id}/delete"),
])
def test_another_companys_user_gets_404(other_company_client, company, method, path):
    task = TodoFactory(company=company, title="Secret")
    response = getattr(other_company_client, method)(path.format(id=task.id),
                                                     data={"status": "done", "title": "Hacked"})
    assert response.status_code == 404
    db.session.rollback()
    assert (db.session.get(Todo, task.id).status, db.session.get(Todo, task.id).title) == ("open", "Secret")


def test_list_and_options_never_show_another_company(other_company_client, company, make_user):
    TodoFactory(company=company, title="Secret")
    make_user("staff", name="Hidden Person")
    assert b"Secret" not in other_company_client.get("/tasks?view=all").data
    assert b"Hidden Person" not in other_company_client.get("/tasks/assignees/options?q=Hidden").data
    assert b"Secret" not in other_company_client.get("/tasks?view=all&format=csv").data


# ---------------------------------------------------------------- list

@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_filters_sort_and_overdue_highlight(app, company, make_user):
    manager = make_user("manager")
    client = login(app.test_client(), manager.email)
    worker = make_user("staff", name="Wendy Worker")
    late = TodoFactory(company=company, title="Late one", due_date=date.today() - timedelta(days=2),
                       assignee_id=worker.id, priority="high")
    TodoFactory(company=company, title="Future one", due_date=date.today() + timedelta(days=5),
                priority="low")
    TodoFactory(company=company, title="Done one", status="done",
                due_date=date.today() - timedelta(days=9))
    page = client.get("/tasks?view=all").data.decode()
    assert f'id="task-{late.id}" class="row-overdue' in page
    assert page.index("Done one") < page.index("Late one") < page.index("Future one")  # due asc
    overdue = client.get("/tasks?view=all&overdue=1").data.decode()
    assert "Late one" in overdue and "Future one" not in overdue and "Done one" not in overdue
    by_assignee = client.get(f"/tasks?view=all&assignee={worker.id}").data.decode()
    assert "Late one" in by_assignee and "Future one" not in by_assignee
    unassigned = client.get("/tasks?view=all&assignee=none").data.decode()
    assert "Late one" not in unassigned and "Future one" in unassigned
    high_first = client.get("/tasks?view=all&sort=-priority").data.decode()
    assert high_first.index("Late one") < high_first.index("Future one")
    assert "Done one" not in client.get("/tasks?view=all&status=not_done").data.decode()
    assert "Done one" in client.get("/tasks?view=all&status=done&q=done").data.decode()


def test_pagination(app, company, staff, staff_login):
    for n in range(25):
        TodoFactory(company=company, title=f"T{n:02d}", assignee_id=staff.id)
    first = staff_login.get("/tasks?sort=title&per_page=10").data.decode()
    assert "Rows 1–10 of 25" in first and 'rel="next"' in first
    third = staff_login.get("/tasks?sort=title&per_page=10&page=3").data.decode()
    assert "T24" in third and "T00" not in third


@pytest.mark.parametrize("query", ["page=abc", "page=-1", "per_page=100000", "sort=password",
                                   "sort=-;drop table todos", "status=weird", "priority=9",
                                   "assignee=abc", "assignee=99999999999999999999", "overdue=yes",
                                   "view=everything", "q=" + "x" * 5000, "page=99999",
                                   "format=xml"])
def test_list_survives_bad_query_parameters(app, make_user, query):
    client = login(app.test_client(), make_user("manager").email)
    assert client.get(f"/tasks?view=all&{query}").status_code == 200


def test_list_htmx_returns_only_the_results_block(staff_login):
    response = staff_login.get("/tasks?q=a", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.data.lstrip().startswith(b'<div id="results">')
    assert b'class="navbar' not in response.data


def test_list_query_count_does_not_grow_with_rows(app, company, make_user, queries_for):
    manager = make_user("manager")
    client = login(app.test_client(), manager.email)
    users = [make_user("staff") for _ in range(3)]

    def add(n):
        for i in range(n):
            TodoFactory(company=company, assignee_id=users[i % 3].id, created_by_id=manager.id)

    add(5)
    few = queries_for(client, "/tasks?view=all&per_page=100")
    add(55)
    many = queries_for(client, "/tasks?view=all&per_page=100")
    assert few == many


def test_detail_query_count_is_constant(staff, staff_login, company, queries_for):
    task = TodoFactory(company=company, assignee_id=staff.id, created_by_id=staff.id)
    assert queries_for(staff_login, f"/tasks/{task.id}") <= 4


# ---------------------------------------------------------------- status in place

def test_status_change_in_place_returns_the_row_and_flash_out_of_band(staff, staff_login, company):
    task = TodoFactory(company=company, title="Ship it", assignee_id=staff.id)
    response = staff_login.post(f"/tasks/{task.id}/status", data={"status": "done"},
                                headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.data.decode()
    assert body.lstrip().startswith(f'<tr id="task-{task.id}"')
    assert 'id="flash" hx-swap-oob="true"' in body and "is done" in body
    db.session.rollback()
    task = db.session.get(Todo, task.id)
    assert task.status == "done" and task.completed_at is not None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "status"))
    assert entry.changes["status"] == ["open", "done"] and entry.user_id == staff.id


def test_status_change_on_the_detail_page_returns_its_status_box(staff, staff_login, company):
    task = TodoFactory(company=company, assignee_id=staff.id)
    response = staff_login.post(f"/tasks/{task.id}/status?in=detail", data={"status": "in_progress"},
                                headers={"HX-Request": "true"})
    assert response.data.lstrip().startswith(f'<div id="task-{task.id}-status"'.encode())


def test_status_change_without_js_redirects(staff, staff_login, company):
    task = TodoFactory(company=company, assignee_id=staff.id)
    response = staff_login.post(f"/tasks/{task.id}/status", data={"status": "in_progress"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/tasks/{task.id}")


@pytest.mark.parametrize("status", ["", "finished", "x" * 4000])
def test_bad_status_is_refused_and_changes_nothing(staff, staff_login, company, status):
    task = TodoFactory(company=company, assignee_id=staff.id)
    response = staff_login.post(f"/tasks/{task.id}/status", data={"status": status},
                                headers={"HX-Request": "true"})
    assert response.status_code == 200 and b"Choose a valid status." in response.data
    assert count(AuditEntry) == 0
    assert db.session.get(Todo, task.id).status == "open"


def test_unknown_task_ids_answer_404(staff_login):
    assert staff_login.get("/tasks/999999").status_code == 404
    assert staff_login.post("/tasks/999999/status", data={"status": "done"}).status_code == 404
    assert staff_login.get("/tasks/abc").status_code == 404


# ---------------------------------------------------------------- forms

def test_create_with_the_picker_value_and_see_it(staff, staff_login, make_user):
    helper = make_user("staff", name="Hal Helper")
    options = staff_login.get("/tasks/assignees/options?q=hal").data.decode()
    assert f'value="Hal Helper [#{helper.id}]"' in options
    response = staff_login.post("/tasks/new", data={
        "title": "Fix the door", "description": "Back door", "assignee": f"Hal Helper [#{helper.id}]",
        "due_date": "2030-05-01", "priority": "high"})
    assert response.status_code == 303
    db.session.rollback()
    task = db.session.scalar(select(Todo))
    assert (task.assignee_id, task.created_by_id, task.due_date, task.priority) == (
        helper.id, staff.id, date(2030, 5, 1), "high")
    detail = staff_login.get(response.headers["Location"]).data.decode()
    assert "Fix the door" in detail and "Hal Helper" in detail and "history-Todo-" in detail


def test_new_form_defaults_the_assignee_to_me(staff, staff_login):
    assert f"Sam Staff [#{staff.id}]" in staff_login.get("/tasks/new").data.decode()


def test_create_shows_every_error_at_once_and_writes_nothing(staff_login, other_company):
    stranger = UserFactory(company=other_company)
    response = staff_login.post("/tasks/new", data={
        "title": "x" * 4000, "description": "d" * 6000, "assignee": f"S [#{stranger.id}]",
        "due_date": "not a date", "priority": "urgent"})
    assert response.status_code == 422
    body = response.data.decode()
    assert "Field cannot be longer than 200 characters" in body
    assert "Field cannot be longer than 5000 characters" in body
    assert "Not a valid date value" in body
    assert "Not a valid choice" in body
    assert count() == 0 and count(AuditEntry) == 0


def test_unknown_assignee_text_is_a_field_error(staff_login):
    response = staff_login.post("/tasks/new", data={"title": "A", "assignee": "nobody at all",
                                                    "priority": "normal"})
    assert response.status_code == 422 and b"Choose a user from the list." in response.data
    assert count() == 0


def test_edit_a_task_and_the_change_is_audited(staff, staff_login, company):
    task = TodoFactory(company=company, title="Old", assignee_id=staff.id, created_by_id=staff.id)
    form = staff_login.get(f"/tasks/{task.id}/edit").data.decode()
    assert 'value="Old"' in form
    response = staff_login.post(f"/tasks/{task.id}/edit", data={
        "title": "New", "assignee": "", "priority": "low"})
    assert response.status_code == 303
    db.session.rollback()
    task = db.session.get(Todo, task.id)
    assert (task.title, task.assignee_id, task.priority) == ("New", None, "low")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "update"))
    assert entry.changes["title"] == ["Old", "New"]
    assert entry.changes["assignee_id"] == [staff.id, None]


def test_manager_deletes_with_a_confirmation_page(app, company, make_user):
    client = login(app.test_client(), make_user("manager").email)
    task = TodoFactory(company=company, title="Drop me")
    page = client.get(f"/tasks/{task.id}/delete")
    assert page.status_code == 200 and b"Delete task" in page.data
    assert client.post(f"/tasks/{task.id}/delete").status_code == 303
    assert count() == 0
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.record_type == "Todo")) == "delete"


# ---------------------------------------------------------------- CSV

@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_export_csv_uses_the_current_filters(app, company, make_user):
    client = login(app.test_client(), make_user("manager").email)
    TodoFactory(company=company, title="=HYPERLINK(evil)", priority="high")
    TodoFactory(company=company, title="Low one", priority="low")
    response = client.get("/tasks?view=all&priority=high&format=csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.is_streamed
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "title", "status"]
    assert [r[1] for r in rows[1:]] == ["'=HYPERLINK(evil)"]


def test_created_by_me_lists_tasks_i_gave_to_others(staff, staff_login, company, make_user):
    other = make_user("staff")
    TodoFactory(company=company, title="Given away", assignee_id=other.id, created_by_id=staff.id)
    TodoFactory(company=company, title="Not mine at all", assignee_id=other.id)
    assert "Given away" not in staff_login.get("/tasks").data.decode()
    page = staff_login.get("/tasks?view=created").data.decode()
    assert "Given away" in page and "Not mine at all" not in page
