"""Every page without arguments, on the demo data set, read by its installation admin: the
page as it opens, with every list filter given a fixed hostile value (Turkish I's, LIKE
wildcards, quotes, integers beyond 32 and 64 bits, odd dates), and its CSV.

This is the smoke that runs each page's SQL once on PostgreSQL: it runs in both passes
(tests/conftest.py, DIALECT_DEPENDENT), while the role matrix over the URL map
(tests/test_permissions.py) and the hypothesis fuzzing of every list's query string
(tests/test_fuzz.py) run in the SQLite pass only.
"""
import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models import User
from erp.seeds import DEMO_USERS
from tests.conftest import login

SKIP = {"static", "auth.logout", "monitoring.metrics"}
SKIP_PREFIXES = ("api.", "health.")  # the API's lists: tests/api/ (both passes)
MAY_BE_ABSENT = {"main.company_logo"}  # the demo company has no logo: 404

HOSTILE = {
    "q": "İstanbul ış %_\\'\"", "page": "2", "per_page": "100", "sort": "-name",
    "status": "all", "kind": "finished", "role": "viewer", "priority": "high",
    "date_from": "2026-01-01", "date_to": "2026-12-31", "from": "2025-12-31", "to": "9999-12-31",
    "as_of": "2026-06-30", "start": "2026-01", "end": "2026-12", "by": "product",
    "warehouse": "2147483648", "category": "99999999999999999999", "customer": "-1",
    "supplier": "0", "product": "İ", "employee": "2147483647", "assignee": "ı",
    "overdue": "1", "low": "1", "stocked": "1", "zero": "1", "tracking": "lot",
    "expires_from": "2026-01-01", "expires_to": "2026-02-30", "number": "%",
    "result": "fail", "view": "all", "user": "1", "action": "update", "record_type": "product",
}


def get_pages(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP or rule.endpoint.startswith(SKIP_PREFIXES):
            continue
        if rule.arguments or "GET" not in rule.methods:
            continue
        if getattr(app.view_functions[rule.endpoint], "required_role", None) is None:
            continue
        yield rule.endpoint, rule.build({}, append_unknown=False)[1]


def test_every_page_answers_on_the_demo_with_hostile_filters(app, seeded_demo):
    assert seeded_demo.exit_code == 0, seeded_demo.output
    email, password = DEMO_USERS[0][0], DEMO_USERS[0][1]
    admin = db.session.scalar(select(User).where(User.email == email))
    admin.is_superuser = True  # the installation's pages too
    db.session.commit()
    app.config["RATELIMIT_ENABLED"] = False  # hundreds of requests
    client = login(app.test_client(), email, password)
    failed, pages = [], 0
    for endpoint, url in get_pages(app):
        pages += 1
        status = client.get(url).status_code
        if status not in (200, 302, 303) and not (endpoint in MAY_BE_ABSENT and status == 404):
            failed.append(f"GET {url}: {status}")
        for query in (HOSTILE, {**HOSTILE, "format": "csv", "page": "1"}):
            status = client.get(url, query_string=query).status_code
            if status >= 500:
                failed.append(f"GET {url} {query}: {status}")
    assert failed == []
    assert pages > 50
