"""The logged-in user's own account: changing the password."""
from __future__ import annotations

from flask import Blueprint, current_app, flash
from flask_login import current_user, login_user

from erp import auth
from erp.blueprints.account.forms import PasswordChangeForm
from erp.extensions import limiter
from erp.services import ValidationError
from erp.services import users as user_service
from erp.web import apply_field_errors, form_status, redirect_after_post, render

bp = Blueprint("account", __name__, url_prefix="/account")


def _password_limit() -> str:
    return current_app.config["RATELIMIT_PASSWORD"]


@bp.route("/password", methods=["GET", "POST"])
@auth.require_role("viewer")
@limiter.limit(_password_limit, methods=["POST"], key_func=lambda: f"password:{current_user.id}",
               override_defaults=False)
def password_change():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            user = user_service.change_password(current_user._get_current_object(),
                                                form.current_password.data, form.new_password.data)
        except ValidationError as error:
            apply_field_errors(form, error)
        else:
            # Other sessions end (the version changed); this one is renewed.
            auth.start_session(user)
            login_user(user)
            flash("Your password has been changed. Other sessions have been logged out.", "success")
            return redirect_after_post("main.dashboard")
    return render("account/password.html", form=form, status=form_status(form))
