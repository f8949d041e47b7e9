"""Issue #24, security findings from a probe of the running app: one test (or a few) per
finding, each failing before its fix."""
from __future__ import annotations

import pytest

from erp.security import IntegerConverter
from tests.conftest import login
from tests.factories.core import PASSWORD


# -- 5. ids beyond 64 bits and control characters in `next` ----------------------------------

def _int_routes(app):
    from werkzeug.routing import IntegerConverter as AnyIntegerConverter

    for rule in app.url_map.iter_rules():
        ints = [name for name, converter in rule._converters.items()
                if isinstance(converter, AnyIntegerConverter)]
        if ints:
            yield rule, ints


def test_every_int_route_uses_the_bounded_converter(app):
    from werkzeug.routing import IntegerConverter as Plain

    plain = [rule.rule for rule in app.url_map.iter_rules()
             for converter in rule._converters.values()
             if isinstance(converter, Plain) and not isinstance(converter, IntegerConverter)]
    assert plain == []


@pytest.mark.parametrize("huge", [2**63, 2**64])
def test_every_route_answers_404_to_an_id_beyond_64_bits(app, client_as, huge):
    client = client_as("admin")
    failures = []
    routes = list(_int_routes(app))
    assert len(routes) > 20
    for rule, ints in routes:
        values = {name: huge if name in ints else ("product" if "type" in name else "x")
                  for name in rule.arguments}
        url = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            status = client.open(url, method=method, data={}).status_code
            if status != 404:
                failures.append(f"{method} {url}: {status}")
    assert failures == []


def test_the_largest_64_bit_id_is_still_a_plain_404(client_as):
    client = client_as("admin")
    assert client.get(f"/catalog/products/{2**63 - 1}").status_code == 404


@pytest.mark.parametrize("target", [
    "/admin/users\r\nSet-Cookie: evil=1",
    "/\nhttps://evil.example.com",
    "/catalog\x7f",
    "/\tadmin",
])
def test_next_with_control_characters_falls_back_to_the_dashboard(client, make_user, target):
    user = make_user("admin")
    response = client.post("/login", query_string={"next": target},
                           data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    again = client.get("/login", query_string={"next": target})  # already logged in
    assert again.status_code == 302
    assert again.headers["Location"] == "/"


# -- 6. no fixed development secret key -------------------------------------------------------

def _app_without_secret_key(monkeypatch, database_url, redis_url, tmp_path, key_file):
    from erp import create_app
    from tests.conftest import app_config

    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = app_config(database_url, redis_url, tmp_path)
    del config["SECRET_KEY"]
    config["SECRET_KEY_FILE"] = str(key_file)
    return create_app(config)


def test_development_generates_a_random_secret_key_once(monkeypatch, database_url, redis_url,
                                                        tmp_path, app):
    import os
    import stat

    from erp.config import KNOWN_DEFAULT_SECRETS

    key_file = tmp_path / "instance" / "secret_key"
    first = _app_without_secret_key(monkeypatch, database_url, redis_url, tmp_path, key_file)
    key = first.config["SECRET_KEY"]
    assert key not in KNOWN_DEFAULT_SECRETS and len(key) == 64
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert key_file.read_text().strip() == key
    second = _app_without_secret_key(monkeypatch, database_url, redis_url, tmp_path, key_file)
    assert second.config["SECRET_KEY"] == key  # every worker and restart signs alike
    other = _app_without_secret_key(monkeypatch, database_url, redis_url, tmp_path,
                                    tmp_path / "elsewhere" / "secret_key")
    assert other.config["SECRET_KEY"] != key  # another installation, another key
    assert [p.name for p in key_file.parent.iterdir()] == ["secret_key"]  # no temporary left


def test_a_cookie_forged_with_the_old_development_key_is_refused(monkeypatch, database_url,
                                                                 redis_url, tmp_path, make_user):
    import time

    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    from erp.extensions import db

    admin = make_user("admin")
    db.session.commit()
    dev = _app_without_secret_key(monkeypatch, database_url, redis_url, tmp_path,
                                  tmp_path / "instance" / "secret_key")
    forger = Flask("forger")
    forger.secret_key = "dev-insecure-secret-key"
    now = int(time.time())
    cookie = SecureCookieSessionInterface().get_signing_serializer(forger).dumps(
        {"_user_id": admin.get_id(), "_fresh": True, "login_at": now, "last_seen": now})
    client = dev.test_client()
    client.set_cookie("session", cookie)
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    with dev.app_context():
        db.engine.dispose()


def test_production_still_requires_a_secret_key(monkeypatch, tmp_path):
    from erp import create_app
    from erp.config import ConfigError

    monkeypatch.setenv("ERP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"SECRET_KEY_FILE": str(tmp_path / "secret_key")})
    assert not (tmp_path / "secret_key").exists()
