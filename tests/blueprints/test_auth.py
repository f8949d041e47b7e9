"""Logging in and out, sessions, rate limits, CSRF and redirects."""
import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models import AuditEntry, User
from erp.services import users as user_service
from tests.conftest import login
from tests.factories.core import PASSWORD


def test_pages_redirect_to_login_when_logged_out(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b'name="email"' in response.data and b'name="password"' in response.data


def test_login_then_dashboard_then_logout(client, make_user):
    user = make_user("viewer")
    response = client.post("/login", data={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert b"Dashboard" in page.data and user.company.name.encode() in page.data
    response = client.post("/logout")
    assert response.status_code == 303
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("email,password", [
    ("nobody@example.com", PASSWORD),
    (None, "wrong password"),
    (None, ""),
])
def test_wrong_email_or_password_gets_one_generic_message(client, make_user, email, password):
    user = make_user()
    response = client.post("/login", data={"email": email or user.email, "password": password})
    assert response.status_code == 422
    if password:
        assert b"Wrong email or password" in response.data
    assert client.get("/").status_code == 302


def test_inactive_user_cannot_log_in(client, make_user):
    user = make_user(active=False)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 422
    assert b"Wrong email or password" in response.data


def test_deactivating_a_user_ends_their_session(client, make_user):
    user = make_user()
    login(client, user.email)
    admin = make_user("admin")
    user_service.set_active(user.id, False, actor=admin)
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("target,expected", [
    ("/admin/users", "/admin/users"),
    ("https://evil.example.com/", "/"),
    ("//evil.example.com/", "/"),
    ("/\\evil.example.com", "/"),
    ("javascript:alert(1)", "/"),
])
def test_login_follows_only_local_next(client, make_user, target, expected):
    user = make_user("admin")
    response = client.post("/login", query_string={"next": target},
                           data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == expected


def test_a_session_cookie_copied_before_logout_no_longer_works(app, make_user):
    user = make_user()
    client = login(app.test_client(), user.email)
    stolen = client.get_cookie("session").value
    client.post("/logout")
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/").status_code == 302


def test_login_and_failure_are_audited_with_ip(client, make_user):
    user = make_user()
    client.post("/login", data={"email": user.email, "password": "nope nope nope"})
    login(client, user.email)
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.record_id == user.id).order_by(AuditEntry.id)).all()
    assert actions == ["login_failed", "login"]
    assert db.session.scalar(select(AuditEntry.ip_address).limit(1)) == "127.0.0.1"


def test_account_locks_after_repeated_failures(app, make_user):
    user = make_user()
    for _ in range(user_service.LOCKOUT_THRESHOLD):
        user_service.authenticate(user.email, "wrong password!")
    # the right password is refused while locked
    assert user_service.authenticate(user.email, PASSWORD) is None
    db.session.rollback()  # end the snapshot: see what the requests wrote
    assert db.session.get(User, user.id).locked_until is not None


def test_post_without_csrf_token_is_refused(app, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user()
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert b"form expired" in response.data


def test_htmx_post_with_csrf_header_is_accepted(app, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    admin = make_user("admin")
    other = make_user("staff")
    client = app.test_client()
    page = client.get("/login")
    token = page.data.split(b'name="csrf_token" type="hidden" value="')[1].split(b'"')[0].decode()
    response = client.post("/login", data={"email": admin.email, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 303
    headers = {"HX-Request": "true"}
    refused = client.post(f"/admin/users/{other.id}/role", data={"role": "manager"}, headers=headers)
    assert refused.status_code == 400
    dashboard = client.get("/")
    token = dashboard.data.split(b'"X-CSRFToken": "')[1].split(b'"')[0].decode()
    accepted = client.post(f"/admin/users/{other.id}/role", data={"role": "manager"},
                           headers={**headers, "X-CSRFToken": token})
    assert accepted.status_code == 200
    assert f'id="user-{other.id}"'.encode() in accepted.data


@pytest.fixture
def config_overrides():
    return {"RATELIMIT_LOGIN": "3 per day", "LOGIN_FREE_FAILURES": 2}  # a day: no window edge mid-test


def test_login_failures_slow_down_the_address_not_the_owner(app, make_user):
    """Failures are throttled per account *and* address (issue #24: an account-wide limit
    let anyone keep the owner out from everywhere)."""
    user = make_user()
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "10.0.0.1"
    for _ in range(app.config["LOGIN_FREE_FAILURES"]):
        response = attacker.post("/login", data={"email": user.email, "password": "wrong password!"})
        assert response.status_code == 422
    response = attacker.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert b"Too many requests" in response.data
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "10.0.0.99"
    assert owner.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 303


@pytest.mark.dialect_dependent  # the throttle / rate limits on Redis: both passes
def test_login_posts_are_rate_limited_per_ip(client, make_user):
    for n in range(3):
        client.post("/login", data={"email": f"someone{n}@example.com", "password": "x"})
    response = client.post("/login", data={"email": "other@example.com", "password": "x"})
    assert response.status_code == 429
    assert client.get("/login").status_code == 200  # GETs are not limited by it


def test_idle_session_is_logged_out(app, make_user):
    user = make_user()
    client = login(app.test_client(), user.email)
    with client.session_transaction() as session:
        session["last_seen"] -= app.config["SESSION_IDLE_TIMEOUT"] + 10
    assert client.get("/").status_code == 302


def test_session_older_than_its_lifetime_is_logged_out(app, make_user):
    user = make_user()
    client = login(app.test_client(), user.email)
    with client.session_transaction() as session:
        session["login_at"] -= app.config["PERMANENT_SESSION_LIFETIME"] + 10
    assert client.get("/").status_code == 302


def test_htmx_request_gets_a_fragment_of_the_error_page(client_as):
    client = client_as("viewer")
    response = client.get("/admin/users", headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert b"<html" not in response.data and b"error-page" in response.data
    full = client.get("/admin/users")
    assert full.status_code == 403 and b"<html" in full.data


def test_unknown_page_is_404_in_the_layout(client_as):
    response = client_as("viewer").get("/no/such/page")
    assert response.status_code == 404
    assert b"Not found" in response.data and b"navbar" in response.data
