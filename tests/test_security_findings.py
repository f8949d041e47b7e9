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


# -- 9. stock never leaves the range of its Numeric(14, 3) columns ---------------------------

@pytest.fixture
def stocked(app, company, make_user):
    from tests.factories.catalog import ProductFactory, WarehouseFactory

    return (make_user("staff"), ProductFactory(company=company),
            WarehouseFactory(company=company, code="MAIN"),
            WarehouseFactory(company=company, code="SPARE"))


def _on_hand(product, warehouse):
    from sqlalchemy import select

    from erp.extensions import db
    from erp.models import StockLevel

    db.session.rollback()
    return db.session.scalar(select(StockLevel.on_hand).where(
        StockLevel.product_id == product.id, StockLevel.warehouse_id == warehouse.id))


def test_receipts_that_would_overflow_the_level_are_refused(company, stocked):
    from decimal import Decimal

    from erp.services import stock

    user, product, main, _ = stocked
    kw = dict(company_id=company.id, product_id=product.id, warehouse_id=main.id, user=user)
    stock.receive(quantity=stock.MAX_QUANTITY, **kw)  # each receipt is in range ...
    stock.receive(quantity="0.999", **kw)
    assert _on_hand(product, main) == stock.MAX_STOCK
    with pytest.raises(stock.StockOutOfRange, match="would exceed") as refused:
        stock.receive(quantity="0.001", **kw)  # ... but not the stock that results
    assert "quantity" in refused.value.field_errors
    assert _on_hand(product, main) == stock.MAX_STOCK
    assert stock.ledger_mismatches(company.id) == []
    stock.issue(quantity="1", **kw)
    assert _on_hand(product, main) == stock.MAX_STOCK - Decimal(1)


def test_the_total_over_warehouses_stays_in_range_too(company, stocked):
    from sqlalchemy import select

    from erp.extensions import db
    from erp.models import Product
    from erp.services import stock

    user, product, main, spare = stocked
    kw = dict(company_id=company.id, product_id=product.id, user=user)
    stock.receive(warehouse_id=main.id, quantity="60000000000", **kw)
    with pytest.raises(stock.StockOutOfRange, match="over all warehouses"):
        stock.receive(warehouse_id=spare.id, quantity="60000000000", **kw)
    assert _on_hand(product, spare) in (None, 0)  # the level's change was rolled back
    assert db.session.scalar(select(Product.available).where(Product.id == product.id)) \
        == 60000000000
    assert stock.ledger_mismatches(company.id) == []


def test_an_overflowing_receipt_is_a_form_error_not_a_500(client_as, company, stocked):
    from erp.services import stock

    user, product, main, _ = stocked
    stock.receive(company_id=company.id, product_id=product.id, warehouse_id=main.id,
                  quantity=stock.MAX_QUANTITY, user=user)
    staff = client_as("staff")
    response = staff.post("/inventory/receive", data={
        "direction": "receive", "product": product.sku, "warehouse_id": main.id,
        "quantity": "5"})
    assert response.status_code == 422
    assert b"would exceed" in response.data
    assert _on_hand(product, main) == stock.MAX_QUANTITY


# -- 10. the monitoring page (every company's traffic) is for installation admins ------------

@pytest.fixture
def install_admin(app, make_user):
    return make_user("admin", is_superuser=True)


def test_a_company_admin_does_not_see_the_installations_monitoring(app, client_as,
                                                                   other_company):
    for client in (client_as("admin"), client_as("admin", company=other_company)):
        assert client.get("/admin/monitoring").status_code == 403
        assert client.get("/admin/monitoring/tiles").status_code == 403
        assert b"/admin/monitoring" not in client.get("/").data  # nor the menu entry


def test_an_installation_admin_sees_it(app, install_admin):
    client = login(app.test_client(), install_admin.email)
    assert client.get("/admin/monitoring").status_code == 200
    assert client.get("/admin/monitoring/tiles").status_code == 200
    assert b'href="/admin/monitoring"' in client.get("/").data


def test_the_flag_alone_is_not_enough_without_the_admin_role(app, make_user):
    manager = make_user("manager", is_superuser=True)
    assert login(app.test_client(), manager.email).get("/admin/monitoring").status_code == 403


def test_installation_admins_are_made_from_the_shell_only(app, runner, company, make_user):
    from erp.extensions import db
    from erp.models import User

    admin, staff = make_user("admin"), make_user("staff")
    result = runner.invoke(args=["set-install-admin", staff.email])
    assert result.exit_code == 1 and "only an admin" in result.output
    result = runner.invoke(args=["set-install-admin", "nobody@example.com"])
    assert result.exit_code == 1 and "No user" in result.output
    result = runner.invoke(args=["set-install-admin", admin.email.upper()])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    assert db.session.get(User, admin.id).is_superuser
    client = login(app.test_client(), admin.email)
    assert client.get("/admin/monitoring").status_code == 200
    assert runner.invoke(args=["set-install-admin", admin.email, "--revoke"]).exit_code == 0
    assert client.get("/admin/monitoring").status_code == 403

    result = runner.invoke(args=["create-user", "--email", "ops@example.com", "--password",
                                 "a good long password", "--role", "admin", "--company",
                                 company.name, "--install-admin"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    assert db.session.get(User, db.session.scalar(
        db.select(User.id).where(User.email == "ops@example.com"))).is_superuser
    refused = runner.invoke(args=["create-user", "--email", "ops2@example.com", "--password",
                                  "a good long password", "--role", "staff", "--company",
                                  company.name, "--install-admin"])
    assert refused.exit_code == 1


def test_no_page_lets_a_company_admin_grant_it(app, client_as, make_user):
    from erp.extensions import db
    from erp.models import User

    admin = client_as("admin")
    other = make_user("admin")
    for url, data in ((f"/admin/users/{other.id}/role", {"role": "admin", "is_superuser": "y"}),
                      ("/admin/users/new", {"email": "x@example.com", "role": "admin",
                                            "password": "a good long password",
                                            "is_superuser": "y"})):
        admin.post(url, data=data)
    db.session.rollback()
    assert db.session.scalars(db.select(User.email).where(User.is_superuser)).all() == []


def test_the_demo_admin_is_an_installation_admin(app, seeded_demo):
    assert seeded_demo.exit_code == 0
    client = login(app.test_client(), "admin@example.com", "admin")
    assert client.get("/admin/monitoring").status_code == 200
    manager = login(app.test_client(), "manager@example.com", "manager")
    assert manager.get("/admin/monitoring").status_code == 403


# -- 8. uploads waiting for confirmation have quotas -----------------------------------------

def _upload(client, size: int, kind: str = "products"):
    import io

    data = b"sku,name\n" + b"".join(b"S%07d,x\n" % n for n in range(max(1, (size - 9) // 11)))
    return client.post(f"/admin/import/{kind}", data={"file": (io.BytesIO(data), "p.csv")},
                       content_type="multipart/form-data")


def test_uploads_per_user_are_capped_in_files(app, make_user):
    app.config.update(IMPORT_UPLOAD_USER_FILES=2)
    first = login(app.test_client(), make_user("manager").email)
    assert _upload(first, 100).status_code == 303
    assert _upload(first, 100, "suppliers").status_code == 303
    refused = _upload(first, 100)
    assert refused.status_code == 422
    assert b"waiting for confirmation" in refused.data
    from pathlib import Path

    assert len(list(Path(app.config["IMPORT_UPLOAD_DIR"]).glob("*.csv"))) == 2  # nothing stored
    second = login(app.test_client(), make_user("manager").email)
    assert _upload(second, 100).status_code == 303  # the quota is per user


def test_uploads_per_user_are_capped_in_bytes(app, make_user):
    app.config.update(IMPORT_UPLOAD_USER_BYTES=10_000)
    client = login(app.test_client(), make_user("manager").email)
    assert _upload(client, 6_000).status_code == 303
    assert _upload(client, 6_000).status_code == 422
    assert _upload(client, 3_000).status_code == 303


def test_uploads_of_everyone_are_capped(app, make_user):
    app.config.update(IMPORT_UPLOAD_TOTAL_FILES=3, IMPORT_UPLOAD_TOTAL_BYTES=10**9)
    clients = [login(app.test_client(), make_user("manager").email) for _ in range(4)]
    for client in clients[:3]:
        assert _upload(client, 100).status_code == 303
    refused = _upload(clients[3], 100)
    assert refused.status_code == 422 and b"on this server" in refused.data
    app.config.update(IMPORT_UPLOAD_TOTAL_FILES=100, IMPORT_UPLOAD_TOTAL_BYTES=1_000)
    assert _upload(clients[3], 900).status_code == 422


def test_a_confirmed_or_expired_upload_frees_the_quota(app, company, make_user):
    import os
    import time
    from pathlib import Path

    app.config.update(IMPORT_UPLOAD_USER_FILES=1)
    client = login(app.test_client(), make_user("manager").email)
    preview = _upload(client, 100).headers["Location"]
    assert _upload(client, 100).status_code == 422
    assert client.post(preview + "/confirm").status_code == 303  # imported: the file goes
    assert _upload(client, 100, "suppliers").status_code == 303
    assert _upload(client, 100).status_code == 422
    folder = Path(app.config["IMPORT_UPLOAD_DIR"])
    old = time.time() - 3601
    for path in folder.glob("*.*"):
        os.utime(path, (old, old))
    assert _upload(client, 100).status_code == 303  # the expired one was removed first


def test_upload_quotas_are_read_from_the_environment(monkeypatch):
    from erp.config import from_environment

    monkeypatch.setenv("IMPORT_UPLOAD_USER_BYTES", "1234")
    monkeypatch.setenv("IMPORT_UPLOAD_TOTAL_FILES", "7")
    config = from_environment()
    assert config["IMPORT_UPLOAD_USER_BYTES"] == 1234 and config["IMPORT_UPLOAD_TOTAL_FILES"] == 7
    assert config["IMPORT_UPLOAD_USER_FILES"] == 10


# -- 3. a CSV import does not hold the write lock for its whole length -----------------------

def _products_csv(count: int) -> bytes:
    return ("sku,name,sale_price\n" + "".join(f"S{n:02d},Product {n},1.50\n"
                                            for n in range(count))).encode()


def _visible_products(company_id: int) -> int:
    """Counted on a connection of its own: what every other user sees."""
    from sqlalchemy import func, select

    from erp.extensions import db
    from erp.models import Product

    with db.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Product)
                           .where(Product.company_id == company_id))


def _write_elsewhere(name: str) -> None:
    """A write of another user that must not wait: on SQLite with no busy timeout at all."""
    import sqlite3

    from sqlalchemy import insert

    from erp.extensions import db
    from erp.models import Company

    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database, timeout=0)
        try:
            with conn:  # "database is locked" at once if the import held the lock
                conn.execute("INSERT INTO companies (name, currency, created_at, updated_at) "
                             "VALUES (?, 'EUR', datetime('now'), datetime('now'))", (name,))
        finally:
            conn.close()
    else:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL lock_timeout = '200ms'")
            conn.execute(insert(Company).values(name=name))


def test_an_import_commits_in_bounded_batches_and_lets_others_write_between(company):
    from sqlalchemy import func, select

    from erp.extensions import db
    from erp.models import AuditEntry, Company
    from erp.services import imports

    seen = []

    def progress(rows: int) -> None:
        seen.append((rows, _visible_products(company.id)))
        _write_elsewhere(f"Written meanwhile {len(seen)}")

    report = imports.run_import("products", company_id=company.id, user=None,
                                data=_products_csv(35), progress=progress, batch_size=10)
    assert report.imported == 35
    # each batch was committed on its own, before the next one began
    assert seen == [(10, 10), (10, 20), (10, 30), (5, 35)]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Company).where(
        Company.name.startswith("Written meanwhile"))) == 4
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "import", AuditEntry.company_id == company.id)) == 35


def test_a_failure_in_a_late_batch_leaves_nothing_behind(company, make_user):
    from sqlalchemy import func, insert, select

    from erp.extensions import db
    from erp.models import AuditEntry, Product
    from erp.services import imports

    user = make_user("manager")

    def someone_else_creates_s31(rows: int) -> None:
        if _visible_products(company.id) == 20:  # after the second of four batches
            with db.engine.begin() as conn:
                conn.execute(insert(Product).values(company_id=company.id, sku="S31",
                                                    name="Created meanwhile"))

    with pytest.raises(imports.ImportFailed) as failed:
        imports.run_import("products", company_id=company.id, user=user, data=_products_csv(35),
                           progress=someone_else_creates_s31, batch_size=10)
    messages = [e.message for e in failed.value.report.errors]
    assert any("'S31' already exists" in m for m in messages), messages
    db.session.rollback()
    assert db.session.scalars(select(Product.sku).where(
        Product.company_id == company.id)).all() == ["S31"]  # the import's 30 rows are gone
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "import")) == 0


def test_records_used_meanwhile_are_kept_and_reported(company, make_user):
    from sqlalchemy import insert, select

    from erp.extensions import db
    from erp.models import Product
    from erp.services import imports
    from tests.factories.catalog import WarehouseFactory
    from tests.factories.inventory_helpers import put_stock

    warehouse = WarehouseFactory(company=company)

    def use_s00_then_conflict(rows: int) -> None:
        if _visible_products(company.id) == 10:
            put_stock(db.session.scalar(select(Product).where(Product.sku == "S00")), warehouse, 1)
            with db.engine.begin() as conn:
                conn.execute(insert(Product).values(company_id=company.id, sku="S25",
                                                    name="Created meanwhile"))

    with pytest.raises(imports.ImportFailed) as failed:
        imports.run_import("products", company_id=company.id, user=None, data=_products_csv(35),
                           progress=use_s00_then_conflict, batch_size=10)
    assert any("were kept: S00" in message for message in failed.value.report.file_errors)
    db.session.rollback()
    assert sorted(db.session.scalars(select(Product.sku).where(
        Product.company_id == company.id))) == ["S00", "S25"]


def test_the_import_refuses_to_run_inside_a_transaction(company):
    from erp.services import atomic, imports

    with pytest.raises(RuntimeError), atomic():
        imports.run_import("products", company_id=company.id, user=None, data=_products_csv(2))


# -- 1. nobody can keep an account locked; the attacker is slowed, not the owner -------------

def _client(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _throttled(app, **settings):
    """The app's login throttle rebuilt with these settings (it reads them at start)."""
    from erp import login_throttle

    app.config.update(settings)
    login_throttle.init_app(app)


@pytest.fixture
def clock(monkeypatch):
    """The login throttle's clock, moved forward by the test."""
    import time

    from erp import login_throttle

    now = [time.time()]
    monkeypatch.setattr(login_throttle, "clock", lambda: now[0])
    return now


def test_the_failure_count_starts_again_when_the_lock_expires(app, make_user):
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import update

    from erp.extensions import db
    from erp.models import User
    from erp.services import users as user_service

    user = make_user("admin")
    for _ in range(user_service.LOCKOUT_THRESHOLD):
        user_service.authenticate(user.email, "wrong password!")
    assert user_service.authenticate(user.email, PASSWORD) is None  # locked
    db.session.execute(update(User).where(User.id == user.id).values(
        locked_until=datetime.now(timezone.utc) - timedelta(seconds=1)))  # the lock expires
    db.session.commit()
    user_service.authenticate(user.email, "wrong password!")  # one try every 15 minutes ...
    db.session.rollback()
    state = db.session.get(User, user.id)
    assert (state.failed_logins, state.locked_until) == (1, None)  # ... locks nothing
    assert user_service.authenticate(user.email, PASSWORD) is not None


def test_failures_make_that_address_wait_longer_and_longer(app, make_user, clock):
    _throttled(app, LOGIN_FREE_FAILURES=3, RATELIMIT_LOGIN="1000 per minute")
    user = make_user()
    attacker = _client(app, "192.0.2.7")
    wrong = {"email": user.email, "password": "wrong password!"}
    for _ in range(3):
        assert attacker.post("/login", data=wrong).status_code == 422
    waits = []
    for _ in range(4):
        refused = attacker.post("/login", data={"email": user.email, "password": PASSWORD})
        assert refused.status_code == 429  # not even the right password is looked at
        waits.append(int(refused.headers["Retry-After"]))
        clock[0] += waits[-1]  # wait as told ...
        assert attacker.post("/login", data=wrong).status_code == 422  # ... and fail again
    assert waits == [1, 2, 4, 8]
    clock[0] += 3600 * 24
    for _ in range(8):  # the delay is capped
        clock[0] += app.config["LOGIN_MAX_DELAY_SECONDS"]
        attacker.post("/login", data=wrong)
    refused = attacker.post("/login", data=wrong)
    assert int(refused.headers["Retry-After"]) <= app.config["LOGIN_MAX_DELAY_SECONDS"]


def test_the_owner_logs_in_from_elsewhere_while_an_attacker_is_held_back(app, make_user):
    user = make_user("admin")
    attacker = _client(app, "198.51.100.1")
    for _ in range(30):
        attacker.post("/login", data={"email": user.email, "password": "wrong password!"})
    assert attacker.post("/login", data={"email": user.email,
                                         "password": PASSWORD}).status_code == 429
    owner = _client(app, "203.0.113.9")  # never seen before
    assert owner.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 303


def test_a_success_clears_the_addresss_failures(app, make_user):
    _throttled(app, LOGIN_FREE_FAILURES=3)
    user = make_user()
    client = _client(app, "192.0.2.8")
    for _ in range(2):
        client.post("/login", data={"email": user.email, "password": "wrong password!"})
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 303
    client.post("/logout")
    for _ in range(2):  # two more are free again
        assert client.post("/login", data={"email": user.email,
                                           "password": "wrong password!"}).status_code == 422


def test_the_account_wide_lock_does_not_hold_back_addresses_the_owner_used(app, make_user,
                                                                          monkeypatch):
    """Guessing from very many addresses locks the account, but not for the owner's usual
    address; and the lock is the same generic answer as a wrong password."""
    from erp.services import users as user_service

    monkeypatch.setattr(user_service, "LOCKOUT_THRESHOLD", 4)
    user = make_user()
    office = _client(app, "203.0.113.10")
    assert office.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 303
    office.post("/logout")
    for n in range(4):  # a botnet: one try per address
        _client(app, f"198.51.100.{n + 10}").post(
            "/login", data={"email": user.email, "password": "wrong password!"})
    stranger = _client(app, "198.51.100.200")
    refused = stranger.post("/login", data={"email": user.email, "password": PASSWORD})
    assert refused.status_code == 422 and b"Wrong email or password" in refused.data
    assert office.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 303


# -- 2. no account enumeration through the login's statements, headers or hash cost ----------

@pytest.fixture
def outcomes(app, make_user):
    """A failed login of each kind: (email, password) for a fresh address each."""
    from datetime import datetime, timedelta, timezone

    from erp.extensions import db

    known = make_user("staff")
    inactive = make_user("staff", active=False)
    locked = make_user("staff")
    locked.failed_logins = 50
    locked.locked_until = datetime.now(timezone.utc) + timedelta(minutes=10)
    db.session.commit()
    return {"unknown e-mail": ("nobody@example.com", "wrong password!"),
            "wrong password": (known.email, "wrong password!"),
            "inactive account": (inactive.email, PASSWORD),
            "locked account": (locked.email, PASSWORD)}


def test_every_failed_login_runs_the_same_statements_and_headers(app, outcomes):
    from tests.conftest import count_queries

    seen = {}
    for n, (name, (email, password)) in enumerate(outcomes.items()):
        client = _client(app, f"192.0.2.{n + 50}")
        client.get("/login")  # the session cookie, as a browser has it
        with count_queries() as counter:
            response = client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 422, name
        assert "Server-Timing" not in response.headers, name
        assert "X-Response-Time" not in response.headers, name
        statements = [" ".join(s.split()[:3]) for s in counter.statements]
        seen[name] = (statements, sorted(response.headers.keys()))
    first = next(iter(seen.values()))
    assert all(value == first for value in seen.values()), seen
    assert any(s.startswith("UPDATE users") for s in first[0])
    assert any(s.startswith("INSERT INTO audit_entries") for s in first[0])


def test_every_failed_login_costs_one_password_hash(app, outcomes, monkeypatch):
    import hashlib

    calls = []
    real = hashlib.pbkdf2_hmac

    def counted(name, password, salt, iterations, *args):
        calls.append(iterations)
        return real(name, password, salt, iterations, *args)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", counted)
    for n, (name, (email, password)) in enumerate(outcomes.items()):
        calls.clear()
        _client(app, f"192.0.2.{n + 60}").post("/login", data={"email": email,
                                                              "password": password})
        assert calls == [1000], name  # the tests' PASSWORD_HASH_METHOD: pbkdf2:sha256:1000


def test_a_successful_login_has_no_timing_headers_either(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 303
    assert "Server-Timing" not in response.headers
    assert "Server-Timing" in client.get("/").headers  # other pages keep them


# -- 4. the login throttle is shared by every worker, also without Redis ---------------------

WORKER = """
import json, sys
from erp import create_app
app = create_app(json.loads(sys.argv[1]))
client = app.test_client()
client.environ_base["REMOTE_ADDR"] = "192.0.2.99"
print(json.dumps([client.post("/login", data={"email": f"w{n}@example.com",
                                              "password": "wrong password!"}).status_code
                  for n in range(int(sys.argv[2]))]))
"""


@pytest.mark.dialect_dependent  # the throttle / rate limits on Redis: both passes
def test_two_workers_share_the_login_throttle(app, database_url, redis_url, tmp_path):
    """This process and a second one stand for two gunicorn workers: the embedded default
    (no Redis) on the SQLite pass, Redis on the PostgreSQL pass."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import app_config

    from erp import create_app
    from erp.extensions import db
    from tests.conftest import IsolatedClient

    config = {**app_config(database_url, redis_url, tmp_path), "RATELIMIT_LOGIN": "4 per day"}
    worker = create_app(config)
    worker.test_client_class = IsolatedClient
    here = [_client(worker, "192.0.2.99").post("/login", data={
        "email": f"h{n}@example.com", "password": "wrong password!"}).status_code for n in range(2)]
    with worker.app_context():
        db.engine.dispose()
    other = subprocess.run([sys.executable, "-c", WORKER, json.dumps(config), "3"],
                           cwd=Path(__file__).resolve().parent.parent, check=True,
                           capture_output=True, text=True)
    assert here + json.loads(other.stdout.strip().splitlines()[-1]) == [422, 422, 422, 422, 429]


@pytest.mark.dialect_dependent  # the throttle / rate limits on Redis: both passes
def test_the_throttle_file_is_configurable_and_beside_the_cache_by_default(app, tmp_path,
                                                                          monkeypatch):
    from pathlib import Path

    from erp import login_throttle

    store = login_throttle.throttle().store
    if app.config.get("REDIS_URL"):
        assert store.kind == "redis"
        return
    assert store.kind == "sqlite"
    assert Path(store.path) == Path(app.config["CACHE_DIR"]).parent / "login-throttle.sqlite3"
    monkeypatch.setenv("LOGIN_THROTTLE_DB", str(tmp_path / "elsewhere.sqlite3"))
    app.config["LOGIN_THROTTLE_DB"] = None
    login_throttle.init_app(app)
    assert login_throttle.throttle().store.path == str(tmp_path / "elsewhere.sqlite3")


def test_a_broken_throttle_store_never_breaks_a_login(app, make_user, tmp_path, clock):
    (tmp_path / "a-file").write_text("")
    _throttled(app, REDIS_URL=None, LOGIN_THROTTLE_DB=str(tmp_path / "a-file" / "t.sqlite3"),
               RATELIMIT_LOGIN="3 per day")
    user = make_user()
    client = _client(app, "192.0.2.77")
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 303
    client.post("/logout")
    for _ in range(2):
        client.post("/login", data={"email": user.email, "password": "wrong password!"})
    assert client.post("/login", data={"email": user.email,
                                       "password": "wrong password!"}).status_code == 429
