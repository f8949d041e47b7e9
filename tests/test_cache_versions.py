"""Per-company, per-area cache versions: which commits bump which keys, rollbacks bump
nothing, a Redis outage fails neither a request nor a commit."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import update

from erp import cache_versions, create_app
from erp.cache_versions import cache_key, version
from erp.extensions import db
from erp.models import Product, StockLevel
from erp.services import DomainError, atomic
from erp.services import sales as sales_service
from erp.services import stock
from tests.conftest import IsolatedClient, app_config, login
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.inventory_helpers import put_stock
from tests.factories.sales import CustomerFactory
from tests.factories.tasks import TodoFactory
from tests.servers import RedisServer

AREAS = ("sales", "catalog", "inventory", "purchasing", "production", "tasks")


def snapshot(company_id: int) -> dict[str, str]:
    return {area: version(company_id, area) for area in AREAS}


def changed(before: dict, company_id: int) -> set[str]:
    after = snapshot(company_id)
    return {area for area in AREAS if after[area] != before[area]}


def test_a_commit_bumps_the_areas_it_wrote_for_its_company_only(app, company, other_company):
    before, other_before = snapshot(company.id), snapshot(other_company.id)
    CustomerFactory(company=company)
    db.session.commit()
    assert changed(before, company.id) == {"sales"}
    assert changed(other_before, other_company.id) == set()

    before = snapshot(company.id)
    ProductFactory(company=company)
    db.session.commit()
    assert changed(before, company.id) == {"catalog", "inventory"}

    before = snapshot(company.id)
    TodoFactory(company=company)
    db.session.commit()
    assert changed(before, company.id) == {"tasks"}


def test_a_read_only_commit_bumps_nothing(app, company):
    ProductFactory(company=company)
    db.session.commit()
    before = snapshot(company.id)
    db.session.scalars(db.select(Product)).all()
    db.session.commit()
    assert changed(before, company.id) == set()


def test_a_rolled_back_transaction_bumps_nothing(app, company):
    before = snapshot(company.id)
    with pytest.raises(RuntimeError):
        with atomic():
            db.session.add(CustomerFactory.build(company=company))
            db.session.flush()
            db.session.execute(update(Product).where(Product.company_id == company.id)
                               .values(name="x"))
            raise RuntimeError("boom")
    db.session.commit()
    assert changed(before, company.id) == set()


def test_a_failed_confirmation_after_a_reservation_bumps_nothing(app, company, make_user):
    """The first line's reservation (a bulk UPDATE) is rolled back with the rest."""
    user = make_user("manager")
    warehouse = WarehouseFactory(company=company)
    plenty, scarce = ProductFactory(company=company), ProductFactory(company=company)
    put_stock(plenty, warehouse, 10)
    customer = CustomerFactory(company=company)
    order = sales_service.create_order(company_id=company.id, user=user,
                                       customer_id=customer.id, warehouse_id=warehouse.id)
    for product in (plenty, scarce):
        sales_service.add_line(company_id=company.id, order_id=order.id, user=user,
                               product_id=product.id, quantity="5")
    before = snapshot(company.id)
    with pytest.raises(DomainError):
        sales_service.confirm_order(company_id=company.id, order_id=order.id, user=user)
    assert changed(before, company.id) == set()


def test_a_bulk_update_with_a_company_criterion_bumps_that_company(app, company,
                                                                  other_company):
    before, other_before = snapshot(company.id), snapshot(other_company.id)
    db.session.execute(update(Product).where(Product.company_id == company.id)
                       .values(min_stock=Decimal("1")))
    db.session.commit()
    assert changed(before, company.id) == {"catalog", "inventory"}
    assert changed(other_before, other_company.id) == set()


def test_a_reservation_bumps_inventory_of_its_company(app, company, other_company):
    """stock.reserve is one UPDATE of stock_levels by id plus one of products.available
    with the company in its criterion: inventory of that company moves, catalog does not."""
    warehouse = WarehouseFactory(company=company)
    product = ProductFactory(company=company)
    put_stock(product, warehouse, 10)
    before, other_before = snapshot(company.id), snapshot(other_company.id)
    epoch = cache_versions._read(cache_versions.EPOCH_KEY)
    stock.reserve(company_id=company.id, product_id=product.id, warehouse_id=warehouse.id,
                  quantity=Decimal("2"))
    db.session.commit()
    assert changed(before, company.id) == {"inventory"}
    assert changed(other_before, other_company.id) == set()
    assert cache_versions._read(cache_versions.EPOCH_KEY) == epoch
    # a bulk UPDATE with no company in it and no ORM write: the global epoch moves
    db.session.execute(update(StockLevel).where(StockLevel.product_id == product.id)
                       .values(updated_at=StockLevel.updated_at))
    db.session.commit()
    assert cache_versions._read(cache_versions.EPOCH_KEY) != epoch
    assert changed(other_before, other_company.id) == set()
    key = cache_key(company.id, "low", ["inventory"])
    # with an ORM write of the company in the same transaction, only that company moves
    before, other_before = snapshot(company.id), snapshot(other_company.id)
    epoch = cache_versions._read(cache_versions.EPOCH_KEY)
    with atomic():
        stock.reserve(company_id=company.id, product_id=product.id,
                      warehouse_id=warehouse.id, quantity=Decimal("1"))
        TodoFactory(company=company)
    assert changed(before, company.id) == {"inventory", "tasks"}
    assert changed(other_before, other_company.id) == set()
    assert cache_versions._read(cache_versions.EPOCH_KEY) == epoch
    assert cache_key(company.id, "low", ["inventory"]) != key
    level = db.session.scalar(db.select(StockLevel).where(StockLevel.product_id == product.id))
    assert level.reserved == Decimal("3")


def test_a_rolled_back_savepoint_keeps_the_outer_writes(app, company):
    from erp.models.sales import Customer
    from erp.models.tasks import Todo
    db.session.commit()
    before = snapshot(company.id)
    db.session.add(Customer(company_id=company.id, name="Kept"))
    db.session.flush()
    savepoint = db.session.begin_nested()
    db.session.add(Todo(company_id=company.id, title="Dropped"))
    db.session.flush()
    savepoint.rollback()
    db.session.commit()
    assert "sales" in changed(before, company.id)


def test_a_version_missing_from_the_cache_is_never_an_old_one(app, company):
    from erp.extensions import cache
    first = version(company.id, "sales")
    assert version(company.id, "sales") == first
    cache.clear()
    assert version(company.id, "sales") != first


def test_a_bump_that_failed_is_published_when_the_cache_answers_again(app, company,
                                                                       monkeypatch):
    key = cache_key(company.id, "sales", ["sales"])
    monkeypatch.setattr(cache_versions, "cache_set", lambda *a, **k: False)
    CustomerFactory(company=company)
    db.session.commit()
    assert "v:%d:sales" % company.id in cache_versions._unpublished
    monkeypatch.undo()
    assert cache_key(company.id, "sales", ["sales"]) != key
    assert not cache_versions._unpublished


# --- Redis stopped mid-test ------------------------------------------------------------

def _total(html: str) -> str:
    match = re.search(r'id="figure-sales-total".*?dashboard-value">([^<]*)<', html, re.S)
    return match.group(1).strip()


@pytest.fixture
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


def test_the_dashboard_answers_with_redis_stopped(app, database_url, redis_server, tmp_path,
                                                  company, make_user):
    config = app_config(database_url, redis_server.url, tmp_path)
    config["REDIS_URL"] = redis_server.url + "/0"
    redis_app = create_app(config)
    redis_app.test_client_class = IsolatedClient
    assert redis_app.config["CACHE_TYPE"] == "RedisCache"

    user = make_user("manager")
    warehouse = WarehouseFactory(company=company)
    product = ProductFactory(company=company, sale_price=Decimal("10"))
    put_stock(product, warehouse, 100)
    customer = CustomerFactory(company=company)
    orders = []
    for _ in range(2):
        order = sales_service.create_order(company_id=company.id, user=user,
                                           customer_id=customer.id, warehouse_id=warehouse.id)
        sales_service.add_line(company_id=company.id, order_id=order.id, user=user,
                               product_id=product.id, quantity="3")
        orders.append(order.id)
    sales_service.confirm_order(company_id=company.id, order_id=orders[0], user=user)
    db.session.commit()

    client = login(redis_app.test_client(), user.email)
    response = client.get("/")
    assert response.status_code == 200 and _total(response.get_data(as_text=True)) == "30.00 EUR"
    assert _total(client.get("/").get_data(as_text=True)) == "30.00 EUR"  # from Redis

    redis_server.stop()
    response = client.get("/")
    assert response.status_code == 200 and _total(response.get_data(as_text=True)) == "30.00 EUR"
    # a write while Redis is down commits, and the next page shows it
    response = client.post(f"/sales/orders/{orders[1]}/confirm")
    assert response.status_code in (200, 303)
    response = client.get("/")
    assert response.status_code == 200 and _total(response.get_data(as_text=True)) == "60.00 EUR"

    # Redis back (empty, as after a restart): fresh versions, right figures
    port = redis_server.port
    restarted = RedisServer()
    restarted.port = port
    restarted.start()
    try:
        for _ in range(2):
            response = client.get("/")
            assert response.status_code == 200
            assert _total(response.get_data(as_text=True)) == "60.00 EUR"
    finally:
        restarted.stop()
    with redis_app.app_context():
        db.engine.dispose()


def test_a_figure_keeps_one_entry_however_often_its_areas_change(app, company, other_company):
    """One entry per (company, name), overwritten with each new stamp: the cache does not
    fill up with one entry per write (the file cache then pruned on every set)."""
    from erp.cache import cache_get
    from erp.cache_versions import cached, storage_key
    computed = []

    def figure():
        computed.append(1)
        return len(computed)

    for _ in range(4):
        assert cached(company.id, "open-tasks", ["tasks"], figure) == len(computed)
        assert cached(company.id, "open-tasks", ["tasks"], figure) == len(computed)  # a hit
        TodoFactory(company=company)
        db.session.commit()
    assert len(computed) == 4
    stamp, value = cache_get(storage_key(company.id, "open-tasks"))
    assert value == 4 and stamp != cache_key(company.id, "open-tasks", ["tasks"])  # stale now
    assert cache_get(storage_key(other_company.id, "open-tasks")) is None
    assert cached(company.id, "open-tasks", ["tasks"], figure) == 5
