"""Error pages in the normal layout (a fragment for htmx), and the 503 for a lost database."""
from __future__ import annotations

from flask import Flask, g
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from erp.extensions import db, login_manager
from erp.i18n import N_, gettext
from erp.web import render

MESSAGES = {
    400: (N_("Bad request"), N_("The request could not be understood.")),
    403: (N_("Not allowed"), N_("Your role does not allow this. Ask an administrator if you need it.")),
    404: (N_("Not found"), N_("There is nothing here. It may have been removed, or the address is wrong.")),
    405: (N_("Not allowed"), N_("This address does not accept that kind of request.")),
    413: (N_("Too large"), N_("The upload is larger than allowed.")),
    429: (N_("Too many requests"), N_("Slow down a little and try again shortly.")),
    500: (N_("Something went wrong"), N_("The error has been logged. Please try again.")),
    503: (N_("Temporarily unavailable"), N_("The service is busy or restarting. Please try again in a moment.")),
}


def _page(code: int, detail: str | None = None):
    from erp.api import is_api_request, problem

    if is_api_request():  # the JSON API answers application/problem+json
        return problem(code, detail or MESSAGES.get(code, ("", None))[1])
    title, message = MESSAGES.get(code, (N_("Error"), N_("Something went wrong.")))
    response = render("errors/error.html", block="content", status=code, code=code,
                      title=gettext(title), message=detail or gettext(message))
    return response


def _limit_resets_in() -> int | None:
    """Seconds until the breached rate limit's window resets (Flask-Limiter only says so in
    its headers, which are off: see RATELIMIT_HEADERS_ENABLED)."""
    import math
    import time

    from erp.extensions import limiter

    try:
        breached = limiter.current_limit
        return max(1, math.ceil(breached.reset_at - time.time())) if breached else None
    except Exception:  # the limiter's store is down: no figure, the 429 still stands
        return None


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _page(400, "The form expired or was sent from elsewhere. Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if request_ctx.url_adapter is None:  # an untrusted Host header: no URLs for a page
            return error
        from erp.api import http_problem, is_api_request

        response = http_problem(error) if is_api_request() else _page(error.code)
        if error.code == 429:
            retry = getattr(error, "retry_after", None) or _limit_resets_in()
            if retry and "Retry-After" not in response.headers:
                response.headers["Retry-After"] = str(retry)
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    def unavailable(retry_after: str):
        db.session.rollback()
        # The page must render without the database: show it as to a logged-out visitor
        # (the session cookie is untouched, so the user is back once the database is).
        g._login_user = login_manager.anonymous_user()
        response = _page(503)
        response.headers["Retry-After"] = retry_after
        return response

    @app.errorhandler(OperationalError)
    def database_unavailable(error):
        app.logger.error("database unavailable: %s", error)
        return unavailable("5")

    @app.errorhandler(PoolTimeout)
    def pool_exhausted(error):
        # every pooled connection stayed busy for DB_POOL_TIMEOUT_MS: answer at once and
        # say when to come back, rather than queue the request longer (#17)
        app.logger.warning("database pool exhausted: %s", error)
        return unavailable("2")

    @app.errorhandler(Exception)
    def unexpected(error):
        if isinstance(error, HTTPException):
            return http_error(error)
        app.logger.exception("unhandled error")
        try:
            db.session.rollback()
        except Exception:  # pragma: no cover - the session may itself be broken
            pass
        return _page(500)

