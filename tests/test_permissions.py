"""The permission matrix over the whole URL map (every route, every role, another company).
The JSON API's routes (`api.*`) are called the same way with a personal API token of a
user of the role instead of a logged-in session.

- Every GET route without arguments answers 200 to the roles it declares and 403 below.
- Every route with an id, called by an admin of company A with the ids of company B's
  records (a full demo data set), answers 404 (or 405 for a method it does not take),
  and no POST changes anything in the database.
"""
import re

import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models import ROLES, User, role_rank
from erp.seeds import DEMO_USERS

SKIP_GET = {"static", "auth.logout", "monitoring.metrics"}
# what these answer to an allowed role may not exist yet (the company has no logo): 404
MAY_BE_ABSENT = {"main.company_logo"}


def token_headers(user) -> dict:
    from erp.services.api_tokens import create_token

    _token, secret = create_token(company_id=user.company_id, user=user, name="matrix")
    return {"Authorization": f"Bearer {secret}"}


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        yield rule, getattr(view, "required_role", "missing")


# The roles are declared on the views: the same answer on every database (and every page
# without arguments is rendered on PostgreSQL by tests/test_list_pages.py).
@pytest.mark.dialect_independent
def test_get_routes_answer_by_role(app, client_as, make_user):
    clients = {role: client_as(role) for role in ROLES}
    tokens = {role: token_headers(make_user(role)) for role in ROLES}
    checked = 0
    for rule, required in routes(app):
        if required is None or rule.arguments or "GET" not in rule.methods:
            continue
        if rule.endpoint in SKIP_GET:
            continue
        url = rule.build({}, append_unknown=False)[1]
        # system-wide pages: a company's admin is not enough (tests/test_security_findings.py)
        install_only = getattr(app.view_functions[rule.endpoint], "install_admin_only", False)
        for role, client in clients.items():
            allowed = role_rank(role) >= role_rank(required) and not install_only
            headers = tokens[role] if rule.endpoint.startswith("api.") else {}
            status = client.get(url, headers=headers).status_code
            # allowed: the page, or a redirect (e.g. a "go to" form without its input)
            answers = (200, 302, 303) + ((404,) if rule.endpoint in MAY_BE_ABSENT else ())
            assert (status in answers) if allowed else status == 403, \
                f"{role} GET {url}: {status}"
            checked += 1
    assert checked >= 4 * 3


@pytest.fixture
def foreign_data(app, seeded_demo):
    """Company B: the demo company with its whole data set (`flask seed-demo`, built once
    per session and shared with the demo's own tests); returns its admin."""
    assert seeded_demo.exit_code == 0, seeded_demo.output
    return db.session.scalar(select(User).where(User.email == DEMO_USERS[0][0]))


def snapshot() -> dict:
    db.session.rollback()
    with db.engine.connect() as conn:
        return {table.name: conn.execute(select(table).order_by(*table.primary_key.columns)).all()
                for table in db.metadata.sorted_tables if table.name != "audit_entries"}


def test_another_companys_ids_answer_404_and_change_nothing(app, foreign_data, client_as,
                                                            make_user):
    client = client_as("admin")
    api_headers = token_headers(make_user("admin"))
    client.get("/api/v1/warehouses", headers=api_headers)  # the token's first use is noted
    before = snapshot()
    ids_b = {"user_id": foreign_data.id}
    checked = 0
    for rule, required in routes(app):
        if not rule.arguments or required is None:
            continue
        values = {}
        for argument in rule.arguments:
            converter = rule._converters[argument].__class__.__name__
            if converter == "IntegerConverter":
                values[argument] = ids_b.get(argument, 1)
            else:
                values[argument] = "product" if "type" in argument else "x"
        url = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if rule.endpoint.startswith("api."):
                response = client.open(url, method=method, json={}, headers=api_headers)
            else:
                response = client.open(url, method=method, data={})
            if rule.endpoint == "audit.record_history" and response.status_code == 200:
                # admins may open the history of deleted records: it must be empty here
                assert b"audit-entry-" not in response.data, url
                continue
            assert response.status_code in (404, 405), \
                f"{method} {url} answered {response.status_code} to another company's admin"
            checked += 1
    assert snapshot() == before
    assert checked > 0
