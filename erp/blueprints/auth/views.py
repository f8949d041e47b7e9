"""Logging in and out."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from erp import auth
from erp.extensions import limiter
from erp.security import safe_next
from erp.services import users as user_service
from erp.blueprints.auth.forms import LoginForm
from erp.web import form_status, render

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _login_account_key() -> str:
    return "login-account:" + user_service.normalize_email(request.form.get("email", ""))[:254]


@bp.route("/login", methods=["GET", "POST"])
@auth.public
@limiter.limit(_login_limit, methods=["POST"])  # per IP
@limiter.limit(_login_limit, methods=["POST"], key_func=_login_account_key)  # per account
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = user_service.authenticate(form.email.data, form.password.data,
                                         ip_address=request.remote_addr)
        if user is not None:
            auth.start_session(user)
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or url_for("main.dashboard"), 303)
        form.password.errors.append("Wrong email or password, or the account is locked.")
        return render("auth/login.html", form=form, status=422)
    status = form_status(form)
    return render("auth/login.html", form=form, status=status)


@bp.route("/logout", methods=["POST"])
@auth.require_role("viewer")
def logout():
    user_service.logout(current_user._get_current_object())
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"), 303)
