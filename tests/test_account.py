"""Passwords: users change their own, admins reset; both end the other sessions."""
import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models import User
from tests.conftest import login
from tests.factories.core import PASSWORD

NEW = "a brand new passphrase"


def test_user_changes_own_password_and_other_sessions_end(app, make_user):
    user = make_user("viewer")
    other_session = login(app.test_client(), user.email)
    client = login(app.test_client(), user.email)
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW, "confirm": NEW})
    assert response.status_code == 303
    assert client.get("/").status_code == 200  # this session was renewed
    assert other_session.get("/").status_code == 302  # the other one ended
    login(app.test_client(), user.email, NEW)


def test_password_change_shows_every_problem(app, make_user):
    user = make_user()
    client = login(app.test_client(), user.email)
    response = client.post("/account/password", data={
        "current_password": "wrong one!!", "new_password": "short", "confirm": "different"})
    assert response.status_code == 422
    body = response.data.decode()
    assert "The passwords differ." in body
    response = client.post("/account/password", data={
        "current_password": "wrong one!!", "new_password": "1234567890", "confirm": "1234567890"})
    body = response.data.decode()
    assert "This is not your current password." in body and "too common" in body
    db.session.rollback()
    assert login(app.test_client(), user.email)  # the old password still works


def test_admin_resets_a_password(app, admin_client, make_user):
    user = make_user()
    session = login(app.test_client(), user.email)
    response = admin_client.post(f"/admin/users/{user.id}/password", data={"password": NEW})
    assert response.status_code == 303
    assert session.get("/").status_code == 302
    login(app.test_client(), user.email, NEW)
    weak = admin_client.post(f"/admin/users/{user.id}/password", data={"password": "abc"})
    assert weak.status_code == 422 and b"at least 10 characters" in weak.data


def test_password_reset_is_admin_only_and_company_scoped(client_as, other_company_client, make_user):
    user = make_user()
    assert client_as("manager").post(f"/admin/users/{user.id}/password",
                                     data={"password": NEW}).status_code == 403
    assert other_company_client.post(f"/admin/users/{user.id}/password",
                                     data={"password": NEW}).status_code == 404
    db.session.rollback()
    assert db.session.scalar(select(User.password_hash).where(User.id == user.id)).startswith("pbkdf2")


@pytest.mark.dialect_independent
def test_check_deploy_lists_insecure_settings_and_fails(app, runner):
    app.config.update(SECRET_KEY="dev-insecure-secret-key", RATELIMIT_STORAGE_URI="erp-memory://",
                      SQLALCHEMY_DATABASE_URI="sqlite:///x.sqlite3", REDIS_URL=None)
    result = runner.invoke(args=["check-deploy", "--workers", "4"])
    assert result.exit_code == 1
    for fragment in ("SECRET_KEY", "ERP_ENV", "SESSION_COOKIE_SECURE", "FORCE_HTTPS",
                     "memory with 4 workers", "SQLite with 4 workers"):
        assert fragment in result.output


@pytest.mark.dialect_independent
def test_check_deploy_passes_a_secure_configuration(app, runner):
    app.config.update(SECRET_KEY="s" * 64, ERP_ENV="production", SESSION_COOKIE_SECURE=True,
                      FORCE_HTTPS=True, TRUSTED_HOSTS=["erp.example.com"],
                      RATELIMIT_STORAGE_URI="redis://localhost:6379/0",
                      SQLALCHEMY_DATABASE_URI="postgresql://erp@localhost/erp",
                      REDIS_URL="redis://localhost:6379/0", WTF_CSRF_ENABLED=True)
    result = runner.invoke(args=["check-deploy", "--workers", "4"])
    assert result.exit_code == 0, result.output
    assert "No insecure setting found." in result.output


@pytest.mark.parametrize("config_overrides", [{"RATELIMIT_DEFAULT": "3 per minute"}])
@pytest.mark.parametrize("path", ["/", "/sales/orders", "/sales/customers"])
def test_the_default_rate_limit_counts_every_page_per_user(app, make_user, path):
    """List pages too: their export limit adds to the default one, never replaces it."""
    client = login(app.test_client(), make_user().email)
    assert [client.get(path).status_code for _ in range(4)] == [200, 200, 200, 429]
    refused = client.get(path)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 61  # the minute, rounded up
    assert "X-RateLimit-Limit" not in refused.headers  # no extra store reads on each page
    other = login(app.test_client(), make_user().email)
    assert other.get(path).status_code == 200  # per user, not per address


@pytest.mark.dialect_independent
def test_the_in_memory_limits_count_without_a_thread_per_request_and_expire():
    """erp-memory:// (no Redis) drops expired counters inline, not from a timer thread."""
    import threading

    from limits import parse
    from limits.strategies import FixedWindowRateLimiter

    from erp.extensions import MemoryLimits

    storage = MemoryLimits("erp-memory://")
    limiter = FixedWindowRateLimiter(storage)
    two_a_second = parse("2 per second")
    threads = threading.active_count()
    assert [limiter.hit(two_a_second, "user:1") for _ in range(3)] == [True, True, False]
    assert threading.active_count() <= threads  # no timer thread started by the hits
    storage.expirations["user:1/old"] = 0.0  # a counter whose window ended long ago
    storage.storage["user:1/old"] = 5
    storage._next_purge = 0.0
    limiter.hit(two_a_second, "user:2")
    assert "user:1/old" not in storage.storage  # purged inline
