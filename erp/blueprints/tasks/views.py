"""Tasks: "my tasks" and (for managers) all tasks, create/edit, status changed in place."""
from __future__ import annotations

from flask import Blueprint, abort, flash, render_template, request
from flask_login import current_user
from sqlalchemy.orm import joinedload

from erp.i18n import N_, _, translated
from erp.auth import require_role
from erp.blueprints.tasks.forms import PRIORITY_CHOICES, STATUS_CHOICES, StatusForm, TaskForm
from erp.csv_io import export_limited
from erp.models import User
from erp.models.tasks import Todo
from erp.queries import scoped_get_or_404
from erp.queries import tasks as queries
from erp.services import DomainError, NotFound, ValidationError
from erp.services import tasks as task_service
from erp.web import (form_status, submit_form, is_htmx, picker_response,
                     redirect_after_post, render)

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

STATUS_FILTERS = STATUS_CHOICES + translated([("not_done", N_("Not done"))])


@bp.route("")
@require_role("viewer")
@export_limited
def task_list():
    return queries.TASKS.response("tasks/list.html", context=_list_context,
                                  statuses=STATUS_FILTERS, priorities=PRIORITY_CHOICES,
                                  status_choices=STATUS_CHOICES,
                                  can_edit_task=task_service.can_edit)


def _list_context(page, params) -> dict:
    view = queries.task_view(params.filters["view"])
    return {"view": view, "showing_all": view == "all",
            "assignees": queries.assignee_options() if view == "all" else []}


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
    done = submit_form(
        form, lambda: task_service.create_task(company_id=current_user.company_id,
                                               user=current_user, **_values(form)),
        lambda task: _saved(task, f"Task “{task.title}” created."), form_errors=(DomainError,))
    if done is not None:
        return done
    return render("tasks/form.html", form=form, task=None, status=form_status(form))


def _saved(task: Todo, message: str):
    flash(message, "success")
    return redirect_after_post("tasks.task_detail", task_id=task.id)


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
    done = submit_form(
        form, lambda: task_service.update_task(company_id=task.company_id, task_id=task.id,
                                               user=current_user, **_values(form)),
        lambda _: _saved(task, "Task saved."), form_errors=(DomainError,))
    if done is not None:
        return done
    return render("tasks/form.html", form=form, task=task, status=form_status(form))


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
            message = _('“%(title)s” is %(value)s.', title=task.title, value=task.status_label.lower())
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
        flash(_("Task “%(title)s” deleted.", title=title), "success")
        return redirect_after_post("tasks.task_list")
    return render("tasks/delete.html", task=task)
