"""Task rules: validation, who may change what, and an audit entry for every change."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import AuditEntry
from erp.models.tasks import Todo
from erp.services import NotFound, PermissionDenied, ValidationError
from erp.services import tasks as task_service
from tests.factories.core import UserFactory
from tests.factories.tasks import TodoFactory


def entries(task_id):
    db.session.rollback()
    return list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.record_type == "Todo", AuditEntry.record_id == task_id).order_by(AuditEntry.id)))


def test_create_task_writes_an_audit_entry_with_the_values(make_user):
    staff = make_user("staff")
    task = task_service.create_task(company_id=staff.company_id, user=staff,
                                    title="  Call Bob  ", assignee_id=staff.id,
                                    due_date=date(2030, 1, 2), priority="high")
    assert (task.title, task.status, task.created_by_id) == ("Call Bob", "open", staff.id)
    [entry] = entries(task.id)
    assert entry.action == "create" and entry.user_name == staff.email
    assert entry.changes["title"] == [None, "Call Bob"]
    assert entry.changes["due_date"] == [None, "2030-01-02"]


def test_update_records_only_changed_fields_and_nothing_when_unchanged(make_user):
    staff = make_user("staff")
    task = task_service.create_task(company_id=staff.company_id, user=staff,
                                    title="A", priority="low")
    task_service.update_task(company_id=staff.company_id, task_id=task.id, user=staff,
                             title="B", priority="low")
    task_service.update_task(company_id=staff.company_id, task_id=task.id, user=staff,
                             title="B", priority="low")
    create, update = entries(task.id)
    assert update.action == "update"
    assert update.changes == {"title": ["A", "B"]}


def test_status_change_sets_and_clears_completed_at_and_is_audited(make_user):
    staff = make_user("staff")
    task = task_service.create_task(company_id=staff.company_id, user=staff,
                                    title="A", assignee_id=staff.id)
    task_service.change_status(company_id=staff.company_id, task_id=task.id, user=staff,
                               status="done")
    assert db.session.get(Todo, task.id).completed_at is not None
    task_service.change_status(company_id=staff.company_id, task_id=task.id, user=staff,
                               status="in_progress")
    db.session.rollback()
    assert db.session.get(Todo, task.id).completed_at is None
    actions = [(e.action, e.changes["status"]) for e in entries(task.id)[1:]]
    assert actions == [("status", ["open", "done"]), ("status", ["done", "in_progress"])]


def test_delete_is_for_managers_and_is_audited(make_user):
    # the manager role is the route's (tests/blueprints/test_tasks.py); the service checks
    # the record's rule: a viewer assigned to the task may not change it
    staff, manager, viewer = make_user("staff"), make_user("manager"), make_user("viewer")
    task = task_service.create_task(company_id=staff.company_id, user=staff, title="A",
                                    assignee_id=viewer.id)
    with pytest.raises(PermissionDenied):
        task_service.delete_task(company_id=viewer.company_id, task_id=task.id, user=viewer)
    task_service.delete_task(company_id=manager.company_id, task_id=task.id, user=manager)
    assert db.session.get(Todo, task.id) is None
    assert [e.action for e in entries(task.id)] == ["create", "delete"]


def test_all_field_errors_at_once_and_nothing_written(make_user, other_company):
    staff = make_user("staff")
    stranger = UserFactory(company=other_company)
    with pytest.raises(ValidationError) as caught:
        task_service.create_task(company_id=staff.company_id, user=staff,
                                 title="x" * 201, description="y" * 5001,
                                 priority="urgent", assignee_id=stranger.id,
                                 due_date=date(1900, 1, 1))
    assert set(caught.value.field_errors) == {"title", "description", "priority", "assignee",
                                              "due_date"}
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Todo)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_inactive_assignee_and_blank_title_are_refused(make_user):
    staff = make_user("staff")
    gone = make_user("staff", active=False)
    with pytest.raises(ValidationError) as caught:
        task_service.create_task(company_id=staff.company_id, user=staff,
                                 title="   ", assignee_id=gone.id)
    assert set(caught.value.field_errors) == {"title", "assignee"}


def test_viewers_cannot_create_and_staff_cannot_touch_others_tasks(make_user, company):
    # creating is for staff and up: the route's role (tests/blueprints/test_tasks.py)
    staff, other = make_user("staff"), make_user("staff")
    task = TodoFactory(company=company, assignee_id=other.id, created_by_id=other.id)
    with pytest.raises(NotFound):  # staff do not even see others' tasks
        task_service.change_status(company_id=staff.company_id, task_id=task.id, user=staff,
                                   status="done")
    with pytest.raises(NotFound):
        task_service.update_task(company_id=staff.company_id, task_id=task.id, user=staff,
                                 title="Mine now")
    manager = make_user("manager")
    task_service.change_status(company_id=manager.company_id, task_id=task.id, user=manager,
                               status="done")


def test_the_assignee_and_the_creator_may_edit(make_user, company):
    creator, assignee = make_user("staff"), make_user("staff")
    task = task_service.create_task(company_id=creator.company_id, user=creator,
                                    title="A", assignee_id=assignee.id)
    task_service.change_status(company_id=assignee.company_id, task_id=task.id, user=assignee,
                               status="in_progress")
    task_service.update_task(company_id=creator.company_id, task_id=task.id, user=creator,
                             title="B", assignee_id=assignee.id)


def test_another_companys_task_is_not_found(make_user, other_company):
    manager = make_user("manager")
    theirs = TodoFactory(company=other_company)
    acting = {"company_id": manager.company_id, "task_id": theirs.id, "user": manager}
    for call in (lambda: task_service.change_status(**acting, status="done"),
                 lambda: task_service.update_task(**acting, title="x"),
                 lambda: task_service.delete_task(**acting)):
        with pytest.raises(NotFound):
            call()


def test_unknown_status_is_refused(make_user):
    staff = make_user("staff")
    task = task_service.create_task(company_id=staff.company_id, user=staff, title="A")
    with pytest.raises(ValidationError):
        task_service.change_status(company_id=staff.company_id, task_id=task.id, user=staff,
                                   status="archived")


def test_overdue_means_past_due_and_not_done(company):
    yesterday = date.today() - timedelta(days=1)
    assert TodoFactory(company=company, due_date=yesterday).is_overdue
    assert not TodoFactory(company=company, due_date=yesterday, status="done").is_overdue
    assert not TodoFactory(company=company, due_date=date.today()).is_overdue
    assert not TodoFactory(company=company).is_overdue


def test_find_assignee_by_picker_value_or_email_only_in_company(make_user, other_company):
    user = make_user("staff", email="pick@example.com")
    stranger = UserFactory(company=other_company)
    company_id = user.company_id
    assert task_service.find_assignee(company_id, f"Whoever [#{user.id}]").id == user.id
    assert task_service.find_assignee(company_id, "PICK@example.com").id == user.id
    assert task_service.find_assignee(company_id, f"X [#{stranger.id}]") is None
    assert task_service.find_assignee(company_id, "") is None


def test_seed_creates_tasks_per_user_once(company, make_user):
    from erp.seeds.tasks import seed

    users = [make_user(role) for role in ("admin", "manager", "staff", "viewer")]
    assert seed(company, users[0]) == "16 tasks"
    assert seed(company, users[0]) is None  # idempotent
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Todo)) == 16
    for user in users:
        assert db.session.scalar(select(func.count()).select_from(Todo).where(
            Todo.assignee_id == user.id)) == 4
    assert set(db.session.scalars(select(Todo.status))) == {"open", "in_progress", "done"}
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 16 + 8
