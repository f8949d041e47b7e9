"""User administration (admins only)."""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request, url_for
from flask_login import current_user

from erp.i18n import _
from erp.auth import require_install_admin, require_role
from erp.blueprints.admin.forms import (ROLE_CHOICES, CompanyForm, LogoForm, NewCompanyForm,
                                       PasswordResetForm, RoleForm, UserCreateForm)
from erp.csv_io import export_limited
from erp.models import User
from erp.models.core import COMPANY_TEXT
from erp.models.money import LOGO_MAX_BYTES, PaymentTerms, TaxCode
from erp.queries import admin as queries
from erp.queries import money as money_queries
from erp.queries import scoped_get_or_404
from erp.queries.inventory import chosen_default_warehouse_id, warehouse_choices
from erp.services import DomainError, ValidationError
from erp.services import money as money_service
from erp.services import users as user_service
from erp.web import (apply_field_errors, confirmation, form_status, is_htmx,
                     redirect_after_post, render, submit_form)

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
            flash(_("User %(email)s created.", email=user.email), "success")
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
            message = _('%(email)s is now %(role)s.', email=user.email, role=user.role)
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
        flash(_("%(email)s reactivated.", email=user.email) if active
              else _("%(email)s deactivated.", email=user.email), "success")
    except DomainError as error:
        flash(str(error), "danger")
    return redirect_after_post("admin.user_detail", user_id=user.id)


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@require_role("admin")
def user_unlock(user_id: int):
    user = scoped_get_or_404(User, user_id)
    user_service.unlock(user.id, actor=current_user)
    flash(_("%(email)s unlocked.", email=user.email), "success")
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
            flash(_("New password set for %(email)s; their sessions have ended.", email=user.email), "success")
            return redirect_after_post("admin.user_detail", user_id=user.id)
    return render("admin/user_detail.html", user=user, role_form=RoleForm(role=user.role),
                  password_form=form, status=422)


@bp.route("/company", methods=["GET", "POST"])
@require_role("admin")
def company_settings():
    company = current_user.company
    form = _company_form()
    done = submit_form(
        form, lambda: user_service.update_company(
            company_id=company.id, user=current_user, name=form.name.data,
            currency=form.currency.data, timezone=form.timezone.data,
            default_language=form.default_language.data,
            default_warehouse_id=form.default_warehouse_id.data,
            default_tax_code_id=form.default_tax_code_id.data,
            default_payment_terms_id=form.default_payment_terms_id.data,
            auto_reorder=form.auto_reorder.data,
            **{name: getattr(form, name).data for name in COMPANY_TEXT}),
        lambda _company: _company_saved("Company settings saved."))
    if done is not None:
        return done
    return _company_page(form, LogoForm(), form_status(form))


def _company_form(*, posted: bool = True) -> CompanyForm:
    """The settings form with the company's values and its choices (`posted=False`: not
    filled from this request's POST, which was another form's)."""
    extra = {} if posted else {"formdata": None}
    return CompanyForm(obj=current_user.company, **extra,
                       warehouses=warehouse_choices(active_only=True),
                       default_warehouse_id=chosen_default_warehouse_id(),
                       tax_codes=money_queries.tax_code_choices(),
                       default_tax_code_id=money_queries.chosen_default_id(TaxCode),
                       payment_terms=money_queries.payment_terms_choices(),
                       default_payment_terms_id=money_queries.chosen_default_id(PaymentTerms))


def _company_page(form, logo_form, status: int):
    return render("admin/company.html", form=form, logo_form=logo_form, status=status,
                  has_logo=money_service.has_logo(current_user.company_id),
                  is_install_admin=current_user.is_install_admin)


def _company_saved(message: str):
    flash(message, "success")
    return redirect_after_post("admin.company_settings")


@bp.route("/company/logo", methods=["POST"])
@require_role("admin")
def company_logo_upload():
    """Upload the company's logo (multipart form); a bad file is answered on the page."""
    logo_form = LogoForm()
    done = submit_form(
        logo_form, lambda: money_service.set_logo(
            company_id=current_user.company_id, user=current_user,
            data=logo_form.logo.data.read(LOGO_MAX_BYTES + 1)),
        lambda _logo: _company_saved("Logo saved."))
    if done is not None:
        return done
    return _company_page(_company_form(posted=False), logo_form, form_status(logo_form))


@bp.route("/company/logo/delete", methods=["GET", "POST"])
@require_role("admin")
def company_logo_delete():
    """Remove the logo (GET asks first when JavaScript is off)."""
    if request.method == "GET":
        return confirmation(_("Remove the company's logo from its documents?"),
                            url=url_for("admin.company_logo_delete"), button=_("Remove logo"),
                            back=url_for("admin.company_settings"),
                            style="btn btn-outline-danger")
    money_service.remove_logo(company_id=current_user.company_id, user=current_user)
    return _company_saved("Logo removed.")


@bp.route("/companies/new", methods=["GET", "POST"])
@require_install_admin
def company_create():
    """A new company (a tenant) with its first admin: for installation administrators only,
    since a company's admin administers their own company and sees no other. The new
    company's data is its own: its admin logs in to it; the creator stays in theirs."""
    form = NewCompanyForm()
    done = submit_form(
        form, lambda: user_service.create_company_with_admin(
            name=form.name.data, timezone=form.timezone.data, currency=form.currency.data,
            admin_email=form.admin_email.data, admin_password=form.admin_password.data,
            admin_name=form.admin_name.data, user=current_user),
        lambda created: _company_saved(
            f"Company {created[0].name} created; its admin {created[1].email} can log in."))
    if done is not None:
        return done
    return render("admin/company_new.html", form=form, status=form_status(form))


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
