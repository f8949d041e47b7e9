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


def test_the_demo_admin_is_an_installation_admin(app, runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
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
