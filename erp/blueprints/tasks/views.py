"""Tasks: "my tasks" and (for managers) all tasks, create/edit, status changed in place."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, render_template, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import aliased, joinedload

from erp.auth import require_role
from erp.blueprints.tasks.forms import PRIORITY_CHOICES, STATUS_CHOICES, StatusForm, TaskForm
from erp.csv_io import export_limited, iter_rows, stream_csv, wants_csv
from erp.extensions import db
from erp.models import User
from erp.models.tasks import TASK_PRIORITIES, TASK_STATUSES, Todo
from erp.queries import paginate, scoped_get_or_404
from erp.services import DomainError, NotFound, ValidationError
from erp.services import tasks as task_service
from erp.web import (ListParams, apply_field_errors, form_status, is_htmx, picker_response,
                     redirect_after_post, render)

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

TASK_SORTS = {
    "due": lambda: Todo.due_date,
    "priority": task_service.priority_rank,
    "title": lambda: Todo.title,
    "status": lambda: Todo.status,
    "created": lambda: Todo.created_at,
}
FILTERS = ["view", "status", "assignee", "priority", "overdue"]
STATUS_FILTERS = STATUS_CHOICES + [("not_done", "Not done")]
ASSIGNEE_FILTER_CAP = 200  # the assignee filter lists at most this many users


def _list_params() -> ListParams:
    return ListParams.from_request(sort_keys=list(TASK_SORTS), default_sort="due",
                                   filters=FILTERS)


def _view(params: ListParams) -> str:
    """mine (assigned to me, the default), created (by me), or all (managers and up)."""
    view = params.filters["view"]
    if view == "all" and task_service.can_see_all(current_user):
        return "all"
    return "created" if view == "created" else "mine"


def _where(params: ListParams) -> list:
    """The list's filters as WHERE clauses (shared by the page and its CSV export)."""
    clauses = [Todo.company_id == current_user.company_id]
    view = _view(params)
    if view == "mine":
        clauses.append(Todo.assignee_id == current_user.id)
    elif view == "created":
        clauses.append(Todo.created_by_id == current_user.id)
    elif params.filters["assignee"] == "none":
        clauses.append(Todo.assignee_id.is_(None))
    elif params.filters["assignee"].isascii() and params.filters["assignee"].isdigit() and len(params.filters["assignee"]) < 12 and int(params.filters["assignee"]) < 2**31:
        clauses.append(Todo.assignee_id == int(params.filters["assignee"]))
    status = params.filters["status"]
    if status in TASK_STATUSES:
        clauses.append(Todo.status == status)
    elif status == "not_done":
        clauses.append(Todo.status != "done")
    if params.filters["priority"] in TASK_PRIORITIES:
        clauses.append(Todo.priority == params.filters["priority"])
    if params.filters["overdue"] == "1":
        clauses.append(task_service.overdue_clause())
    if params.q:
        clauses.append(Todo.title.ilike(f"%{params.q}%"))
    return clauses


def _order(params: ListParams) -> list:
    column = TASK_SORTS[params.sort_key]()
    ordered = column.desc() if params.descending else column.asc()
    return [ordered.nulls_last(), Todo.id.desc() if params.descending else Todo.id]


def _assignee_options() -> list[tuple[str, str]]:
    users = db.session.execute(
        select(User.id, User.name, User.email).where(User.company_id == current_user.company_id)
        .order_by(User.name, User.email, User.id).limit(ASSIGNEE_FILTER_CAP)).all()
    return [("none", "Nobody")] + [(str(uid), name or email) for uid, name, email in users]


@bp.route("")
@require_role("viewer")
@export_limited
def task_list():
    params = _list_params()
    if wants_csv():
        return _export(params)
    stmt = (select(Todo).where(*_where(params))
            .options(joinedload(Todo.assignee)).order_by(*_order(params)))
    page = paginate(stmt, page=params.page, per_page=params.per_page)
    view = _view(params)
    showing_all = view == "all"
    return render("tasks/list.html", block="results", page=page, params=params,
                  view=view, showing_all=showing_all, statuses=STATUS_FILTERS, priorities=PRIORITY_CHOICES,
                  assignees=_assignee_options() if showing_all else [],
                  status_choices=STATUS_CHOICES, can_edit_task=task_service.can_edit)


def _export(params: ListParams):
    assignee = aliased(User)
    creator = aliased(User)
    stmt = (select(Todo.id, Todo.title, Todo.status, Todo.priority, Todo.due_date,
                   assignee.email, creator.email, Todo.created_at, Todo.completed_at,
                   Todo.description)
            .outerjoin(assignee, assignee.id == Todo.assignee_id)
            .outerjoin(creator, creator.id == Todo.created_by_id)
            .where(*_where(params)).order_by(*_order(params)))
    header = ["id", "title", "status", "priority", "due_date", "assignee", "created_by",
              "created_at", "completed_at", "description"]
    return stream_csv(f"tasks-{date.today().isoformat()}.csv", header, iter_rows(stmt))


@bp.route("/assignees/options")
@require_role("staff")
def assignee_options():
    """The company's active users by name or email."""
    return picker_response(User, User.name, User.email, hint=lambda user: user.email)


def _values(form: TaskForm) -> dict:
    """The form's values for the service; an assignee that names nobody is a field error."""
    assignee = task_service.find_assignee(current_user.company_id, form.assignee.data)
    if form.assignee.data and form.assignee.data.strip() and assignee is None:
        raise ValidationError(field_errors={"assignee": ["Choose a user from the list."]})
    return {"title": form.title.data, "description": form.description.data or "",
            "assignee_id": assignee.id if assignee else None, "due_date": form.due_date.data,
            "priority": form.priority.data}


@bp.route("/new", methods=["GET", "POST"])
@require_role("staff")
def task_create():
    form = TaskForm()
    if request.method == "GET":
        form.assignee.data = task_service.picker_value(current_user)
    if form.validate_on_submit():
        try:
            task = task_service.create_task(company_id=current_user.company_id,
                                            user=current_user, **_values(form))
        except ValidationError as error:
            apply_field_errors(form, error)
        except DomainError as error:
            form.form_errors.append(str(error))
        else:
            flash(f"Task “{task.title}” created.", "success")
            return redirect_after_post("tasks.task_detail", task_id=task.id)
    status = form_status(form)
    return render("tasks/form.html", form=form, task=None, status=status)


def _visible_or_404(task_id: int, *options) -> Todo:
    task = scoped_get_or_404(Todo, task_id, *options)
    if not task_service.can_view(task, current_user):
        abort(404)
    return task


@bp.route("/<int:task_id>")
@require_role("viewer")
def task_detail(task_id: int):
    task = _visible_or_404(task_id, joinedload(Todo.assignee), joinedload(Todo.created_by))
    return render("tasks/detail.html", task=task, status_choices=STATUS_CHOICES,
                  can_edit=task_service.can_edit(task, current_user),
                  can_edit_task=task_service.can_edit)


@bp.route("/<int:task_id>/edit", methods=["GET", "POST"])
@require_role("staff")
def task_edit(task_id: int):
    task = _visible_or_404(task_id, joinedload(Todo.assignee))
    if not task_service.can_edit(task, current_user):
        abort(403)
    form = TaskForm(obj=task)
    if request.method == "GET":
        form.assignee.data = task_service.picker_value(task.assignee)
    if form.validate_on_submit():
        try:
            task_service.update_task(company_id=task.company_id, task_id=task.id,
                                     user=current_user, **_values(form))
        except ValidationError as error:
            apply_field_errors(form, error)
        except DomainError as error:
            form.form_errors.append(str(error))
        else:
            flash("Task saved.", "success")
            return redirect_after_post("tasks.task_detail", task_id=task.id)
    status = form_status(form)
    return render("tasks/form.html", form=form, task=task, status=status)


@bp.route("/<int:task_id>/status", methods=["POST"])
@require_role("staff")
def task_status(task_id: int):
    task = _visible_or_404(task_id)
    form = StatusForm()
    message, category = None, "success"
    if form.validate_on_submit():
        try:
            task = task_service.change_status(company_id=task.company_id, task_id=task.id,
                                              user=current_user, status=form.status.data)
            message = f"“{task.title}” is {task.status_label.lower()}."
        except NotFound:
            abort(404)
        except DomainError as error:
            message, category = str(error), "danger"
    else:
        message, category = "Choose a valid status.", "danger"
    if is_htmx():  # the row (or the detail's status box) swapped in place, message out of band
        template = ("tasks/_task_status.html" if request.args.get("in") == "detail"
                    else "tasks/_task_row.html")
        return render_template(template, task=task, status_choices=STATUS_CHOICES,
                               can_edit_task=task_service.can_edit,
                               message=message, category=category)
    flash(message, category)
    return redirect_after_post("tasks.task_detail", task_id=task.id)


@bp.route("/<int:task_id>/delete", methods=["GET", "POST"])
@require_role("manager")
def task_delete(task_id: int):
    task = _visible_or_404(task_id)
    if request.method == "POST":
        title = task.title
        try:
            task_service.delete_task(company_id=task.company_id, task_id=task.id,
                                     user=current_user)
        except DomainError as error:
            flash(str(error), "danger")
            return redirect_after_post("tasks.task_detail", task_id=task.id)
        flash(f"Task “{title}” deleted.", "success")
        return redirect_after_post("tasks.task_list")
    return render("tasks/delete.html", task=task)
