"""Logging in and out. Login attempts are throttled per address and per account and
address in a store all workers share (erp/login_throttle.py), not by Flask-Limiter."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.exceptions import TooManyRequests

from erp import auth, login_throttle
from erp.extensions import limiter
from erp.i18n import _
from erp.security import safe_next
from erp.services import users as user_service
from erp.blueprints.auth.forms import LoginForm
from erp.web import form_status, render

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@auth.public
@limiter.exempt  # limited by the login throttle instead, in the shared store
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        throttle = login_throttle.throttle()
        email, address = form.email.data or "", request.remote_addr or ""
        wait = throttle.attempt(email, address)  # the same for known and unknown e-mails
        if wait:
            raise TooManyRequests(retry_after=wait)
        user = user_service.authenticate(email, form.password.data, ip_address=address,
                                         known_client=throttle.known(email, address))
        if user is not None:
            throttle.succeeded(email, address)
            auth.start_session(user)
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or url_for("main.dashboard"), 303)
        throttle.failed(email, address)
        form.password.errors.append(_("Wrong email or password, or the account is locked."))
        return render("auth/login.html", form=form, status=422)
    status = form_status(form)
    return render("auth/login.html", form=form, status=status)


@bp.route("/logout", methods=["POST"])
@auth.require_role("viewer")
def logout():
    user_service.logout(current_user._get_current_object())
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"), 303)
