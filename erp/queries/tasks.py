"""Reads of the task pages: the task list (mine, created by me, all) as a declaration."""
from __future__ import annotations

from flask import request
from flask_login import current_user
from sqlalchemy import Select, select
from sqlalchemy.orm import aliased, joinedload

from erp.extensions import db
from erp.lists import Csv, Filter, ListSpec, attrs, choice_filter
from erp.models import User
from erp.models.tasks import TASK_PRIORITIES, TASK_STATUSES, Todo
from erp.parsing import parse_id
from erp.services import tasks as task_service

ASSIGNEE_FILTER_CAP = 200  # the assignee filter lists at most this many users


def task_view(value: str) -> str:
    """mine (assigned to me, the default), created (by me), or all (managers and up)."""
    if value == "all" and task_service.can_see_all(current_user):
        return "all"
    return "created" if value == "created" else "mine"


def _view_filter(stmt: Select, value: str) -> Select:
    view = task_view(value)
    if view == "mine":
        return stmt.where(Todo.assignee_id == current_user.id)
    if view == "created":
        return stmt.where(Todo.created_by_id == current_user.id)
    return stmt


def _assignee_filter(stmt: Select, value: str) -> Select:
    """Whose tasks (`none`: nobody's), in the view of all tasks only."""
    if task_view(request.args.get("view", "").strip()[:100]) != "all":
        return stmt
    if value == "none":
        return stmt.where(Todo.assignee_id.is_(None))
    user_id = parse_id(value)
    return stmt if user_id is None else stmt.where(Todo.assignee_id == user_id)


_status = choice_filter("status", Todo.status, TASK_STATUSES)


def _status_filter(stmt: Select, value: str) -> Select:
    """A task status, or `not_done`."""
    return stmt.where(Todo.status != "done") if value == "not_done" else _status.apply(stmt, value)


_assignee, _creator = aliased(User), aliased(User)

TASKS = ListSpec(
    model=Todo,
    sorts={"due": Todo.due_date, "priority": task_service.priority_rank(),
           "title": Todo.title, "status": Todo.status, "created": Todo.created_at},
    default_sort="due",
    stable_desc=True,
    nulls_last=True,
    search=lambda text: Todo.title.ilike(f"%{text}%"),
    filters=[Filter("view", _view_filter, always=True), Filter("status", _status_filter),
             Filter("assignee", _assignee_filter),
             choice_filter("priority", Todo.priority, TASK_PRIORITIES),
             Filter("overdue", lambda stmt, value: stmt.where(task_service.overdue_clause())
                    if value == "1" else stmt)],
    csv=Csv("tasks", [
        *attrs(Todo, "id", "title", "status", "priority", "due_date"),
        ("assignee", _assignee.email), ("created_by", _creator.email),
        *attrs(Todo, "created_at", "completed_at", "description")],
        joins=[(_assignee, _assignee.id == Todo.assignee_id),
               (_creator, _creator.id == Todo.created_by_id)]),
    options=[joinedload(Todo.assignee)],
)


def assignee_options() -> list[tuple[str, str]]:
    users = db.session.execute(
        select(User.id, User.name, User.email).where(User.company_id == current_user.company_id)
        .order_by(User.name, User.email, User.id).limit(ASSIGNEE_FILTER_CAP)).all()
    return [("none", "Nobody")] + [(str(uid), name or email) for uid, name, email in users]
