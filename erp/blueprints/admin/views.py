"""User administration (admins only)."""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request
from flask_login import current_user

from erp.auth import require_role
from erp.blueprints.admin.forms import (ROLE_CHOICES, CompanyForm, PasswordResetForm, RoleForm,
                                       UserCreateForm)
from erp.csv_io import export_limited
from erp.models import User
from erp.queries import admin as queries
from erp.queries import scoped_get_or_404
from erp.queries.inventory import chosen_default_warehouse_id, warehouse_choices
from erp.services import DomainError, ValidationError
from erp.services import users as user_service
from erp.web import (apply_field_errors, form_status, is_htmx, redirect_after_post,
                     render, submit_form)

bp = Blueprint("admin", __name__, url_prefix="/admin")

@bp.route("/users")
@require_role("admin")
@export_limited
def user_list():
    return queries.USERS.response("admin/users.html", roles=ROLE_CHOICES,
                                  statuses=queries.USER_STATUSES)


@bp.route("/users/new", methods=["GET", "POST"])
@require_role("admin")
def user_create():
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = user_service.create_user(
                company=current_user.company, email=form.email.data, password=form.password.data,
                role=form.role.data, name=form.name.data, actor=current_user)
        except ValidationError as error:
            apply_field_errors(form, error)
        else:
            flash(f"User {user.email} created.", "success")
            return redirect_after_post("admin.user_detail", user_id=user.id)
    status = form_status(form)
    return render("admin/user_form.html", form=form, status=status)


@bp.route("/users/<int:user_id>")
@require_role("admin")
def user_detail(user_id: int):
    user = scoped_get_or_404(User, user_id)
    return render("admin/user_detail.html", user=user, role_form=RoleForm(role=user.role),
                  password_form=PasswordResetForm())


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@require_role("admin")
def user_role(user_id: int):
    user = scoped_get_or_404(User, user_id)
    form = RoleForm()
    message, category = None, "success"
    if form.validate_on_submit():
        try:
            user_service.change_role(user.id, form.role.data, actor=current_user)
            message = f"{user.email} is now {user.role}."
        except DomainError as error:
            message, category = str(error), "danger"
    else:
        message, category = "Choose a valid role.", "danger"
    if is_htmx():  # the row in the list, changed in place, with the message out of band
        return render_template("admin/_user_row.html", user=user, roles=ROLE_CHOICES,
                               message=message, category=category)
    flash(message, category)
    return redirect_after_post("admin.user_detail", user_id=user.id)


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@require_role("admin")
def user_active(user_id: int):
    user = scoped_get_or_404(User, user_id)
    active = request.form.get("active") == "1"
    try:
        user_service.set_active(user.id, active, actor=current_user)
        flash(f"{user.email} {'reactivated' if active else 'deactivated'}.", "success")
    except DomainError as error:
        flash(str(error), "danger")
    return redirect_after_post("admin.user_detail", user_id=user.id)


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@require_role("admin")
def user_unlock(user_id: int):
    user = scoped_get_or_404(User, user_id)
    user_service.unlock(user.id, actor=current_user)
    flash(f"{user.email} unlocked.", "success")
    return redirect_after_post("admin.user_detail", user_id=user.id)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@require_role("admin")
def user_password(user_id: int):
    user = scoped_get_or_404(User, user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            user_service.reset_password(user.id, form.password.data, actor=current_user)
        except ValidationError as error:
            apply_field_errors(form, error)
        else:
            flash(f"New password set for {user.email}; their sessions have ended.", "success")
            return redirect_after_post("admin.user_detail", user_id=user.id)
    return render("admin/user_detail.html", user=user, role_form=RoleForm(role=user.role),
                  password_form=form, status=422)


@bp.route("/company", methods=["GET", "POST"])
@require_role("admin")
def company_settings():
    company = current_user.company
    form = CompanyForm(obj=company, warehouses=warehouse_choices(active_only=True),
                       default_warehouse_id=chosen_default_warehouse_id())
    done = submit_form(
        form, lambda: user_service.update_company(
            company_id=company.id, user=current_user, name=form.name.data,
            currency=form.currency.data, timezone=form.timezone.data,
            default_warehouse_id=form.default_warehouse_id.data),
        lambda _company: _company_saved())
    if done is not None:
        return done
    return render("admin/company.html", form=form, status=form_status(form))


def _company_saved():
    flash("Company settings saved.", "success")
    return redirect_after_post("admin.company_settings")


@bp.route("/api-docs")
@require_role("admin")
def api_docs():
    """The interactive API documentation (Swagger UI, served from erp/static/vendor)."""
    return render("admin/api_docs.html")


@bp.route("/api-docs/openapi.json")
@require_role("admin")
def api_openapi():
    """The API's OpenAPI document for the docs page (it has the session, not a token)."""
    from erp.api import current_api

    return current_api().spec.to_dict()
