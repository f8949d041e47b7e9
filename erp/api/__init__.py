"""The JSON API at /api/v1 (issue #21): flask-smorest writes its OpenAPI 3 document from
the routes and their marshmallow schemas.

- Authentication: `Authorization: Bearer <token>` with a personal API token (account page);
  the token acts as its user, so `current_user`, `require_role`, the company scope and
  the list specifications work as on the pages. No session cookie is read and no CSRF
  token is asked for under /api/ (erp.auth `load_user`, `load_api_user`).
- Errors: application/problem+json (RFC 9457) with `errors` per field (erp.errors).
- Rate limits: RATELIMIT_API per token, with RateLimit-* headers on API responses only.
"""
from __future__ import annotations

import http
import math
import time

from flask import Flask, Response, current_app, g, json, request
from flask_login import current_user
from flask_smorest import Api
from marshmallow import Schema, fields

API_PREFIX = "/api/"
PROBLEM = "application/problem+json"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


class ProblemSchema(Schema):
    """application/problem+json (RFC 9457), plus the messages of each invalid field."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.Raw())


class ErpApi(Api):
    """flask-smorest's Api, minus its app-wide HTTPException handler (the pages keep
    theirs; erp.errors answers problem+json under /api/), with problems documented."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        pass

    def _register_responses(self):
        from flask_smorest.spec import prepare_response as prepare

        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare(response, self.spec, PROBLEM)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "A problem (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare(response, self.spec, PROBLEM)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def current_api() -> ErpApi:
    return current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"]


def problem(status: int, detail: str | None = None, *, errors: dict | None = None,
            title: str | None = None, headers: dict | None = None) -> Response:
    """A problem+json response."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body = {"type": "about:blank", "title": title or phrase, "status": status,
            "detail": detail or phrase}
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def http_problem(error) -> Response:
    """An HTTPException as a problem: webargs' validation errors (422) carry the fields."""
    data = getattr(error, "data", None) or {}
    errors = data.get("messages") or data.get("errors")
    if isinstance(errors, dict) and len(errors) == 1 and next(iter(errors)) in (
            "json", "query", "form", "headers", "path", "files"):
        errors = next(iter(errors.values()))  # {"json": {...}}: the fields alone
    detail = data.get("message") or getattr(error, "description", None)
    if error.code == 422 and errors:
        detail = "The request has invalid values: see errors."
    headers = dict(data.get("headers") or {})
    if error.code == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    if error.code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    return problem(error.code or 500, detail, errors=errors if isinstance(errors, dict) else None,
                   headers=headers)


# --- authentication ---------------------------------------------------------------------

def load_api_user(_request=None):
    """Flask-Login's request loader: under /api/ the user of the bearer token (g.api_token),
    else nobody. Pages never take a token; the API never takes the session cookie."""
    if not is_api_request():
        return None
    from erp.monitoring.metrics import bearer_token
    from erp.services.api_tokens import authenticate

    secret = bearer_token()
    token = authenticate(secret) if secret else None
    g.api_token = token
    return token.user if token is not None else None


def require_token() -> Response | None:
    """The API blueprint's before_request: 401 without a usable token, 403 for a write with
    a read-only token."""
    if not current_user.is_authenticated:
        return problem(401, "Send a personal API token: 'Authorization: Bearer <token>'. "
                            "Create one on your account page.",
                       headers={"WWW-Authenticate": 'Bearer realm="api"'})
    token = g.get("api_token")
    if token is not None and token.read_only and request.method not in SAFE_METHODS:
        return problem(403, "This token is read-only.")
    return None


def api_limit() -> str:
    return current_app.config["RATELIMIT_API"]


def token_key() -> str:
    """Rate-limit key of an API request: its token (each token has its own budget)."""
    current_user.is_authenticated  # loads the token (load_api_user)
    token = g.get("api_token")
    if token is not None:
        return f"api-token:{token.id}"
    from flask_limiter.util import get_remote_address

    return f"api-ip:{get_remote_address()}"


def rate_limit_headers(response: Response) -> Response:
    """RateLimit-Limit, -Remaining and -Reset (seconds) on every API answer."""
    from erp.extensions import limiter

    try:
        current = limiter.current_limit
    except Exception:  # the limiter's store is down: no figures
        current = None
    if current is not None:
        response.headers["RateLimit-Limit"] = str(current.limit.amount)
        response.headers["RateLimit-Remaining"] = str(max(0, current.remaining))
        response.headers["RateLimit-Reset"] = str(max(0, math.ceil(current.reset_at - time.time())))
    return response


def init_app(app: Flask) -> None:
    from erp.api import views
    from erp.api import jobs, webhooks, forms  # noqa: F401  (their routes, on views.bp)
    from erp.extensions import csrf, limiter

    app.config.setdefault("API_TITLE", "ERP API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config["OPENAPI_URL_PREFIX"] = None  # the document is served by erp.api.views
    app.config.setdefault("API_SPEC_OPTIONS", {
        "components": {"securitySchemes": {
            "token": {"type": "http", "scheme": "bearer",
                      "description": "A personal API token from the account page."}}},
        "security": [{"token": []}],
    })
    api = ErpApi(app)  # one per app: its spec is the app's (app.extensions["flask-smorest"])
    bp = views.bp
    if not getattr(bp, "_erp_hooks", False):  # the blueprint object outlives one app
        bp.before_request(require_token)
        bp.after_request(rate_limit_headers)
        limiter.limit(api_limit, key_func=token_key)(bp)
        bp._erp_hooks = True
    csrf.exempt(bp)
    api.register_blueprint(bp)
