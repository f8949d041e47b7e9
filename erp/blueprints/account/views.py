"""The logged-in user's own account: changing the password, personal API tokens."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_login import current_user, login_user

from erp import auth
from erp.blueprints.account.forms import ApiTokenForm, PasswordChangeForm, PreferencesForm
from erp.i18n import _, refresh_language
from erp.extensions import limiter
from erp.services import NotFound, ValidationError
from erp.services import api_tokens as token_service
from erp.services import users as user_service
from erp.web import (apply_field_errors, confirmation, form_status, redirect_after_post,
                     render, submit_form)

bp = Blueprint("account", __name__, url_prefix="/account")


def _password_limit() -> str:
    return current_app.config["RATELIMIT_PASSWORD"]


@bp.route("/password", methods=["GET", "POST"])
@auth.require_role("viewer")
@limiter.limit(_password_limit, methods=["POST"], key_func=lambda: f"password:{current_user.id}",
               override_defaults=False)
def password_change():
    form = PasswordChangeForm()

    def changed(user):
        # Other sessions end (the version changed); this one is renewed.
        auth.start_session(user)
        login_user(user)
        flash(_("Your password has been changed. Other sessions have been logged out."), "success")
        return redirect_after_post("main.dashboard")

    done = submit_form(form, lambda: user_service.change_password(
        current_user._get_current_object(), form.current_password.data,
        form.new_password.data), changed)
    return done or render("account/password.html", form=form, status=form_status(form))


@bp.route("/preferences", methods=["GET", "POST"])
@auth.require_role("viewer")
def preferences():
    """The user's language (blank: the company's default)."""
    user = current_user._get_current_object()
    form = PreferencesForm(company_language=user.company.default_language,
                           data={"language": user.language or ""})

    def saved(_user):
        refresh_language()
        flash(_("Your preferences have been saved."), "success")
        return redirect_after_post("account.preferences")

    done = submit_form(form, lambda: user_service.set_language(user, form.language.data), saved)
    return done or render("account/preferences.html", form=form, status=form_status(form))


@bp.route("/tokens", methods=["GET", "POST"])
@auth.require_role("viewer")
def token_list():
    """Your API tokens; a new one's secret is shown on this answer only (never flashed:
    the flash travels in the cookie)."""
    form = ApiTokenForm()
    secret = None
    if form.validate_on_submit():
        try:
            _token, secret = token_service.create_token(
                company_id=current_user.company_id, user=current_user._get_current_object(),
                name=form.name.data, read_only=form.read_only.data,
                expires_on=form.expires_on.data)
        except ValidationError as error:
            apply_field_errors(form, error)
        else:
            form = ApiTokenForm(formdata=None)
    tokens = token_service.user_tokens(current_user.company_id, current_user.id)
    response = render("account/tokens.html", form=form, tokens=tokens, secret=secret,
                      status=form_status(form))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@auth.require_role("viewer")
def token_revoke(token_id: int):
    """Revoke one of your tokens (GET: the question, for a browser without JavaScript)."""
    tokens = {t.id: t for t in token_service.user_tokens(current_user.company_id,
                                                          current_user.id)}
    if token_id not in tokens:
        abort(404)
    if request.method == "GET":
        return confirmation(_('Revoke the token %(value)s? Programs using it stop working at once.', value=tokens[token_id].name), url=url_for("account.token_revoke",
                                                                  token_id=token_id),
                            button=_("Revoke"), back=url_for("account.token_list"),
                            style="btn btn-danger")
    try:
        token = token_service.revoke_token(company_id=current_user.company_id,
                                           token_id=token_id, user=current_user._get_current_object())
    except NotFound:
        abort(404)
    flash(_("Token %(name)s revoked.", name=token.name), "success")
    return redirect_after_post("account.token_list")
