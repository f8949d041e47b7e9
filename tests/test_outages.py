"""Outages of real servers, stopped and started by the tests: Redis and PostgreSQL.

Each test runs its own private server, so stopping it disturbs nothing else.
"""
import time

import pytest
from sqlalchemy import select, text

from erp import create_app
from erp.extensions import db
from erp.models.sales import SalesOrder
from tests.conftest import IsolatedClient, app_config, create_postgres_database, login
from tests.factories.catalog import WarehouseFactory
from tests.factories.core import UserFactory
from tests.factories.sales import CustomerFactory
from tests.servers import PostgresServer, RedisServer


def cache_status(client) -> str:
    return client.get("/health/ready").get_json()["checks"]["cache"]["status"]


@pytest.fixture
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


def test_pages_answer_while_redis_is_down_and_recover(database_url, _schema, tmp_path,
                                                      redis_server):
    config = app_config(database_url, redis_server.url + "/0", tmp_path)
    config["REDIS_URL"] = redis_server.url + "/0"
    app = create_app(config)
    app.test_client_class = IsolatedClient
    with app.app_context():
        from tests.conftest import clean_database

        clean_database()
        user = UserFactory(role="admin")
        client = login(app.test_client(), user.email)
        assert cache_status(client) == "healthy"

        port = redis_server.port
        redis_server.stop()
        started = time.monotonic()
        for url in ("/", "/admin/users", "/login", "/health"):
            response = client.get(url)
            assert response.status_code < 500, url
        assert client.get("/health/ready").get_json()["status"] == "degraded"
        assert cache_status(client) != "healthy"
        assert time.monotonic() - started < 5  # short timeouts, no retries
        # logging in (rate limited through Redis) still works
        login(app.test_client(), user.email)

        redis_server.port = port
        redis_server.start()
        assert cache_status(client) == "healthy"
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def private_postgres():
    server = PostgresServer().init().start()
    yield server
    server.destroy()


def test_database_outage_gives_503_quickly_and_the_app_recovers(private_postgres, tmp_path,
                                                                  redis_url):
    import os

    saved = os.environ.get("TEST_POSTGRES_URL")
    os.environ["TEST_POSTGRES_URL"] = private_postgres.url
    try:
        url = create_postgres_database("erp_outage")
    finally:
        if saved is None:
            del os.environ["TEST_POSTGRES_URL"]
        else:
            os.environ["TEST_POSTGRES_URL"] = saved
    app = create_app(app_config(url, redis_url, tmp_path) | {"REDIS_URL": None})
    app.test_client_class = IsolatedClient
    with app.app_context():
        db.create_all()
        user = UserFactory(role="admin")
        customer = CustomerFactory(company_id=user.company_id, name="Outage Customer")
        warehouse = WarehouseFactory(company_id=user.company_id, code="MAIN")
        client = login(app.test_client(), user.email)
        assert client.get("/").status_code == 200
        order_form = {"customer": f"Outage Customer [#{customer.id}]",
                      "warehouse_id": str(warehouse.id), "order_date": "2026-11-22"}
        answered = []  # (note, status) of every order POST

        def post_order(note):
            response = client.post("/sales/orders/new", data={**order_form, "notes": note})
            answered.append((note, response.status_code))

        post_order("before")

        private_postgres.stop("fast")
        post_order("during")
        started = time.monotonic()
        page = client.get("/")
        assert page.status_code == 503 and b"Temporarily unavailable" in page.data
        assert page.headers["Retry-After"]
        assert client.get("/health/ready").status_code == 503
        assert client.get("/health").status_code == 200  # liveness touches nothing
        assert time.monotonic() - started < 10

        private_postgres.start()
        assert client.get("/").status_code == 200  # pool_pre_ping replaced dead connections
        assert client.get("/health/ready").status_code == 200
        post_order("after")
        assert dict(answered) == {"before": 303, "during": 503, "after": 303}
        db.session.rollback()
        stored = set(db.session.scalars(select(SalesOrder.notes)))
        assert stored == {note for note, status in answered if status == 303}
        db.session.remove()
        db.engine.dispose()
