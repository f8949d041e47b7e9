"""The API does what the task pages do (#21): create, read, patch, move and delete tasks
with the pages' rules: staff and viewers see and change their own tasks (assigned or
created), a manager every task and deletes; bad values are a 422 with every field;
another company's task is a 404; the list costs the same for more rows."""
from __future__ import annotations

from sqlalchemy import func, select

from erp.extensions import db
from erp.models.tasks import Todo
from tests.api.test_api import assert_constant_list_queries, assert_foreign, bearer


def count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Todo))


def test_a_task_is_created_changed_moved_and_deleted_by_the_pages_roles(client, make_user):
    staff, other, manager = make_user("staff"), make_user("staff"), make_user("manager")
    mine, theirs, boss = bearer(staff), bearer(other), bearer(manager)
    key = {**mine, "Idempotency-Key": "task-1"}
    body = {"title": "Count the bolts", "assignee_id": staff.id, "due_date": "2026-12-20",
            "priority": "high"}
    first = client.post("/api/v1/tasks", headers=key, json=body)
    again = client.post("/api/v1/tasks", headers=key, json=body)
    assert first.status_code == again.status_code == 201, first.get_json()
    assert again.get_json() == first.get_json() and count() == 1
    task = first.get_json()
    assert (task["status"], task["priority"], task["assignee_id"]) == ("open", "high", staff.id)
    url = f"/api/v1/tasks/{task['id']}"
    # another staff member neither sees nor changes it; a manager does
    assert client.get(url, headers=theirs).status_code == 404
    assert client.patch(url, headers=theirs, json={"title": "Mine now"}).status_code == 404
    assert client.get("/api/v1/tasks", headers=theirs).get_json()["items"] == []
    assert client.get(url, headers=boss).get_json()["title"] == "Count the bolts"
    patched = client.patch(url, headers=mine, json={"priority": "low"})
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["priority"] == "low"
    assert patched.get_json()["due_date"] == "2026-12-20"  # what the PATCH does not name stays
    done = client.post(f"{url}/status", headers=mine, json={"status": "done"})
    assert done.status_code == 200 and done.get_json()["completed_at"]
    listed = client.get("/api/v1/tasks?status=done", headers=mine).get_json()
    assert [row["id"] for row in listed["items"]] == [task["id"]]
    assert client.delete(url, headers=mine).status_code == 403  # deleting is a manager's
    assert client.delete(url, headers=boss).status_code == 204
    assert client.get(url, headers=boss).status_code == 404 and count() == 0


def test_bad_task_values_are_a_422_with_every_field_and_nothing_is_written(
        client, make_user, other_company):
    headers = bearer(make_user("staff"))
    stranger = make_user("staff", company=other_company)
    response = client.post("/api/v1/tasks", headers=headers, json={
        "title": " ", "assignee_id": stranger.id, "due_date": "1999-01-01"})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert {"title", "assignee", "due_date"} <= set(response.get_json()["errors"])
    assert client.post("/api/v1/tasks", headers=headers,
                       json={"title": "x", "priority": "urgent"}).status_code == 422
    assert client.post("/api/v1/tasks", headers=bearer(make_user("viewer")),
                       json={"title": "x"}).status_code == 403
    assert count() == 0


def test_another_companys_task_is_404(client, make_user, other_company):
    manager = bearer(make_user("manager"))
    task = client.post("/api/v1/tasks", headers=manager, json={"title": "Ours"}).get_json()
    stranger = bearer(make_user("admin", company=other_company))
    assert_foreign(client, stranger, (
        ("GET", f"/api/v1/tasks/{task['id']}"), ("PATCH", f"/api/v1/tasks/{task['id']}"),
        ("DELETE", f"/api/v1/tasks/{task['id']}"),
        ("POST", f"/api/v1/tasks/{task['id']}/status")),
        ("/api/v1/tasks", "/api/v1/tasks?view=all"), {"status": "done", "title": "Theirs"})
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=manager).get_json()["title"] == "Ours"


def test_the_task_list_costs_the_same_for_more_rows(client, make_user):
    manager = make_user("manager")
    headers = bearer(manager)
    for i in range(4):
        client.post("/api/v1/tasks", headers=headers,
                    json={"title": f"Task {i}", "assignee_id": manager.id})
    assert count() == 4
    assert_constant_list_queries(client, headers, ("/api/v1/tasks",), per_pages=(1, 50))
