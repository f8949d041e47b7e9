"""A gunicorn worker killed in the middle of confirming an order leaves it untouched.

The worker's transaction is held inside the confirmation (a test connection locks the
stock level the confirmation must update), the worker is killed with SIGKILL, and the
order must be exactly as before: still a draft, nothing reserved. A new worker then
confirms it normally.
"""
import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import psutil
import psycopg2
import pytest

from erp import create_app
from erp.extensions import db
from erp.models import StockLevel
from erp.models.sales import SalesOrder
from erp.services import sales, stock
from tests.conftest import app_config, create_postgres_database
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.core import PASSWORD, CompanyFactory, UserFactory
from tests.http_client import Browser
from tests.servers import _wait_for_port, free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.postgresql_only
def test_a_worker_killed_while_confirming_leaves_the_order_untouched(tmp_path, redis_url):
    url = create_postgres_database("erp_kill")
    app = create_app(app_config(url, redis_url, tmp_path) | {"REDIS_URL": None})
    with app.app_context():
        db.create_all()
        company = CompanyFactory()
        manager = UserFactory(company=company, role="manager")
        warehouse = WarehouseFactory(company=company, code="MAIN")
        product = ProductFactory(company=company)
        stock.receive(company_id=company.id, product_id=product.id, warehouse_id=warehouse.id,
                      quantity=10, user=manager)
        customer = sales.create_customer(company_id=company.id, user=manager, name="Kill Test")
        order = sales.create_order(company_id=company.id, user=manager, customer_id=customer.id,
                                   warehouse_id=warehouse.id)
        sales.add_line(company_id=company.id, order_id=order.id, user=manager,
                       product_id=product.id, quantity=Decimal("3"))
        ids = dict(company=company.id, order=order.id, email=manager.email,
                   level=db.session.query(StockLevel.id).scalar())
        db.session.remove()
        db.engine.dispose()

    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "kill-test-" + "k" * 40,
           "ERP_ENV": "development", "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "4",
           "REDIS_URL": "", "INSTANCE_DIR": str(tmp_path / "instance")}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
         "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lock = psycopg2.connect(url)
    try:
        _wait_for_port(port)
        browser = Browser(f"http://127.0.0.1:{port}")
        browser.get("/login")
        assert browser.post("/login", {"email": ids["email"], "password": PASSWORD}) == 200
        browser.get(f"/sales/orders/{ids['order']}")

        # Hold the stock level: the confirmation will wait inside its transaction.
        with lock.cursor() as cur:
            cur.execute("SELECT id FROM stock_levels WHERE id = %s FOR UPDATE", (ids["level"],))
        statuses = []
        confirm = threading.Thread(target=lambda: statuses.append(
            browser.post(f"/sales/orders/{ids['order']}/confirm", {}, timeout=30)))
        confirm.start()
        with lock.cursor() as cur:  # wait until the worker is blocked on our lock
            for _ in range(200):
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                            " AND datname = current_database()")
                if cur.fetchone()[0]:
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the confirmation never reached the stock update")
        worker = psutil.Process(server.pid).children()[0]
        os.kill(worker.pid, signal.SIGKILL)
        confirm.join(30)
        assert statuses == [0]  # the client saw the connection drop, not a success
        lock.rollback()  # release the level

        with lock.cursor() as cur:
            cur.execute("SELECT status FROM sales_orders WHERE id = %s", (ids["order"],))
            assert cur.fetchone()[0] == "draft"
            cur.execute("SELECT reserved FROM stock_levels WHERE id = %s", (ids["level"],))
            assert cur.fetchone()[0] == 0
        lock.rollback()

        # gunicorn starts a new worker; the same confirmation now goes through, once.
        for _ in range(100):
            children = psutil.Process(server.pid).children()
            if children and children[0].pid != worker.pid:
                break
            time.sleep(0.1)
        _wait_for_port(port)
        browser.get(f"/sales/orders/{ids['order']}")
        assert browser.post(f"/sales/orders/{ids['order']}/confirm", {}) == 200
        with lock.cursor() as cur:
            cur.execute("SELECT status FROM sales_orders WHERE id = %s", (ids["order"],))
            assert cur.fetchone()[0] == "confirmed"
            cur.execute("SELECT reserved FROM stock_levels WHERE id = %s", (ids["level"],))
            assert cur.fetchone()[0] == 3
        lock.rollback()
    finally:
        lock.close()
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    with app.app_context():
        assert stock.ledger_mismatches(ids["company"]) == []
        assert db.session.get(SalesOrder, ids["order"]).status == "confirmed"
        db.session.remove()
        db.engine.dispose()
