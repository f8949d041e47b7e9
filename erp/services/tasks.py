"""Task use cases: create, edit and move a task through open / in progress / done.

Rules: a task belongs to one company and its assignee is an active user of that company.
Staff may edit and move the tasks they created or that are assigned to them; managers
and admins may do so for every task of their company (`can_edit`: the one role rule
here, because it is about the record; who may create or delete at all is the routes'
`require_role`). Every change writes an audit entry in the same transaction.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import case, or_, select

from erp.i18n import _
from erp.extensions import db
from erp.models import User
from erp.models.tasks import PRIORITY_RANK, TASK_PRIORITIES, TASK_STATUSES, Todo
from erp.services import NotFound, PermissionDenied, ValidationError, atomic
from erp.services import audit, pickers

TITLE_MAX = 200
DESCRIPTION_MAX = 5000
RECORD_TYPE = "Todo"


def can_see_all(user: User) -> bool:
    """Managers and admins see every task of the company; others see their own."""
    return user.has_role("manager")


def can_edit(task: Todo, user: User) -> bool:
    if task.company_id != user.company_id or not user.has_role("staff"):
        return False
    return can_see_all(user) or user.id in (task.assignee_id, task.created_by_id)


def can_view(task: Todo, user: User) -> bool:
    if task.company_id != user.company_id:
        return False
    return can_see_all(user) or user.id in (task.assignee_id, task.created_by_id)


def visible_tasks(user: User):
    """The tasks `user` may see, as a select (company scoped; own tasks unless manager)."""
    stmt = select(Todo).where(Todo.company_id == user.company_id)
    if not can_see_all(user):
        stmt = stmt.where(or_(Todo.assignee_id == user.id, Todo.created_by_id == user.id))
    return stmt


def priority_rank():
    """A sortable expression for priority (low < normal < high)."""
    return case(PRIORITY_RANK, value=Todo.priority, else_=0)


def overdue_clause(today: date | None = None):
    return (Todo.status != "done") & (Todo.due_date < (today or date.today()))


def company_user(company_id: int, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    return db.session.scalar(select(User).where(User.id == user_id, User.company_id == company_id))


def find_assignee(company_id: int, text: str | None) -> User | None:
    """The user a picker value names: 'Name [#id]' or an exact email, in the company."""
    return pickers.resolve(User, company_id, text, User.email)


def picker_value(user: User | None) -> str:
    return user.picker_label if user is not None else ""


def _clean(company_id: int, *, title: Any, description: Any, assignee_id: int | None,
           due_date: date | None, priority: Any) -> dict[str, Any]:
    """Check every field at once; raise one ValidationError naming each bad field."""
    errors: dict[str, list[str]] = {}
    title = (title or "").strip() if isinstance(title, str) else ""
    description = (description or "").strip() if isinstance(description, str) else ""
    if not title:
        errors["title"] = ["Enter a title."]
    elif len(title) > TITLE_MAX:
        errors["title"] = [f"Use at most {TITLE_MAX} characters."]
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = [f"Use at most {DESCRIPTION_MAX} characters."]
    if priority not in TASK_PRIORITIES:
        errors["priority"] = [f"Priority must be one of: {', '.join(TASK_PRIORITIES)}."]
    if due_date is not None and not isinstance(due_date, date):
        errors["due_date"] = ["Enter a date as YYYY-MM-DD."]
    elif due_date is not None and not (date(2000, 1, 1) <= due_date <= date(2100, 12, 31)):
        errors["due_date"] = ["Enter a date between 2000 and 2100."]
    if assignee_id is not None:
        assignee = company_user(company_id, assignee_id)
        if assignee is None or not assignee.active:
            errors["assignee"] = ["Choose an active user of your company."]
    if errors:
        raise ValidationError(field_errors=errors)
    return {"title": title, "description": description, "assignee_id": assignee_id,
            "due_date": due_date, "priority": priority}


def get_task(*, company_id: int, task_id: int, user: User) -> Todo:
    """The task, if `user` may see it; NotFound otherwise (also for other companies)."""
    task = db.session.scalar(select(Todo).where(Todo.id == task_id,
                                                Todo.company_id == company_id))
    if task is None or not can_view(task, user):
        raise NotFound(_("No such task."))
    return task


def _editable(company_id: int, task_id: int, user: User, refusal: str) -> Todo:
    """The task, if `user` may change it (its ownership rule); raises NotFound, PermissionDenied."""
    task = get_task(company_id=company_id, task_id=task_id, user=user)
    if not can_edit(task, user):
        raise PermissionDenied(refusal)
    return task


def create_task(*, company_id: int, user: User, title: str, description: str = "",
                assignee_id: int | None = None, due_date: date | None = None,
                priority: str = "normal") -> Todo:
    """Create a task in the company, created by `user`. Raises ValidationError. Commits."""
    values = _clean(company_id, title=title, description=description,
                    assignee_id=assignee_id, due_date=due_date, priority=priority)
    with atomic():
        task = Todo(company_id=company_id, created_by_id=user.id, status="open", **values)
        db.session.add(task)
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="create",
                     record_type=RECORD_TYPE, record_id=task.id, summary=task.title,
                     changes={k: (None, v) for k, v in values.items() if v not in (None, "")})
    return task


def update_task(*, company_id: int, task_id: int, user: User, title: str,
                description: str = "", assignee_id: int | None = None,
                due_date: date | None = None, priority: str = "normal") -> Todo:
    """Edit a task's fields (not its status). Raises NotFound, PermissionDenied,
    ValidationError. Writes an audit entry only when something changed. Commits."""
    values = _clean(company_id, title=title, description=description,
                    assignee_id=assignee_id, due_date=due_date, priority=priority)
    with atomic():
        task = _editable(company_id, task_id, user, "You may edit only your own tasks.")
        changes = audit.diff(task, values)
        if changes:
            audit.record(company_id=task.company_id, user=user, action="update",
                         record_type=RECORD_TYPE, record_id=task.id, summary=task.title,
                         changes=changes)
    return task


def change_status(*, company_id: int, task_id: int, user: User, status: str) -> Todo:
    """Move a task to `status`; done sets completed_at, reopening clears it.

    Raises ValidationError (unknown status), NotFound, PermissionDenied. Commits.
    """
    if status not in TASK_STATUSES:
        raise ValidationError(_("Status must be one of: %(join)s.", join=', '.join(TASK_STATUSES)),
                              field_errors={"status": ["Choose a valid status."]})
    with atomic():
        task = _editable(company_id, task_id, user, "You may change only your own tasks.")
        if task.status == status:
            return task
        completed_at = datetime.now(timezone.utc) if status == "done" else None
        changes = audit.diff(task, {"status": status, "completed_at": completed_at})
        audit.record(company_id=task.company_id, user=user, action="status",
                     record_type=RECORD_TYPE, record_id=task.id,
                     summary=f"{task.title}: {TASK_STATUSES[status]}", changes=changes)
    return task


def delete_task(*, company_id: int, task_id: int, user: User) -> None:
    """Delete a task (the route is for managers, who may change every task of the company).
    Raises NotFound, PermissionDenied. Commits."""
    with atomic():
        task = _editable(company_id, task_id, user, "You may delete only your own tasks.")
        audit.record(company_id=task.company_id, user=user, action="delete",
                     record_type=RECORD_TYPE, record_id=task.id, summary=task.title)
        db.session.delete(task)
