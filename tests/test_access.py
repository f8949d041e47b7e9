"""Every route declares who may use it; login is required everywhere else."""
import pytest

from erp.auth import require_role  # noqa: F401  (the decorator under test)

PUBLIC = {"auth.login", "health.liveness", "health.readiness", "metrics.metrics", "static"}


@pytest.mark.dialect_independent
def test_every_route_declares_a_permission(app):
    undeclared = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint == "static":
            continue
        if not hasattr(view, "required_role"):
            undeclared.append(rule.endpoint)
    assert undeclared == [], f"routes without @require_role or @public: {undeclared}"


@pytest.mark.dialect_independent
def test_only_the_known_public_routes_are_public(app):
    public = {rule.endpoint for rule in app.url_map.iter_rules()
              if rule.endpoint != "static"
              and getattr(app.view_functions[rule.endpoint], "required_role", "x") is None}
    assert public <= PUBLIC


@pytest.mark.dialect_independent
def test_every_protected_get_route_redirects_anonymous_users_to_login(app, client):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(view, "required_role", None) is None or "GET" not in rule.methods:
            continue
        url = rule.build({arg: 1 for arg in rule.arguments}, append_unknown=False)[1]
        response = client.get(url)
        if rule.endpoint.startswith("api."):  # the JSON API: a token, never a login page
            assert response.status_code == 401, url
            assert response.mimetype == "application/problem+json", url
            continue
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login"), url


@pytest.mark.dialect_independent
def test_every_api_route_refuses_a_session_without_a_token(app, make_user):
    from tests.conftest import login

    browser = login(app.test_client(), make_user("admin").email)
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        url = rule.build({arg: 1 for arg in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = browser.open(url, method=method, json={})
            assert response.status_code == 401, f"{method} {url}: {response.status_code}"
            checked += 1
    assert checked > 10


def test_health_needs_no_login(client):
    assert client.get("/health").get_json() == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["status"] in {"healthy", "degraded"}  # create_all schema: no alembic_version
    assert set(body) == {"status"}  # the checks' figures are for a token or an admin (#24)
