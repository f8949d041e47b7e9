"""Sales under concurrency (PostgreSQL): no oversold stock, no duplicate numbers, and a
double-submitted confirm reserves once."""
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import StockLevel, User
from erp.models.sales import SalesOrder
from erp.services import DomainError
from erp.services import sales, stock
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory

pytestmark = pytest.mark.postgresql_only
D = Decimal


@pytest.fixture
def env(app, company, make_user):
    user = make_user("manager")
    warehouse = WarehouseFactory(company=company)
    customer = CustomerFactory(company=company)
    product = ProductFactory(company=company, sku="SCARCE")
    stock.receive(company_id=company.id, product_id=product.id, warehouse_id=warehouse.id,
                  quantity=10, user=user)
    return company, user, warehouse, customer, product


def run_threads(app, user_id, work, n=8):
    results, errors = [None] * n, []
    barrier = threading.Barrier(n)

    def target(i):
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                db.session.rollback()
                barrier.wait()
                results[i] = work(i, user)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    db.session.rollback()
    return results


def test_competing_confirms_never_oversell(app, env):
    company, user, warehouse, customer, product = env
    orders = []
    for _ in range(8):  # 8 orders of 3 each compete for 10 on hand: only 3 can win
        order = sales.create_order(company_id=company.id, user=user, customer_id=customer.id,
                                   warehouse_id=warehouse.id)
        sales.add_line(company_id=company.id, user=user, order_id=order.id,
                       product_id=product.id, quantity="3")
        orders.append(order.id)

    def confirm(i, actor):
        try:
            sales.confirm_order(company_id=company.id, order_id=orders[i], user=actor)
            return "ok"
        except DomainError:
            return "short"

    results = run_threads(app, user.id, confirm)
    assert results.count("ok") == 3 and results.count("short") == 5
    level = db.session.scalar(select(StockLevel).where(StockLevel.product_id == product.id))
    assert (level.on_hand, level.reserved) == (D(10), D(9))
    confirmed = db.session.scalar(select(func.count()).select_from(SalesOrder).where(
        SalesOrder.status == "confirmed"))
    assert confirmed == 3
    assert stock.ledger_mismatches(company.id) == []


def test_double_submitted_confirm_and_ship_act_once(app, env):
    company, user, warehouse, customer, product = env
    order = sales.create_order(company_id=company.id, user=user, customer_id=customer.id,
                               warehouse_id=warehouse.id)
    sales.add_line(company_id=company.id, user=user, order_id=order.id, product_id=product.id,
                   quantity="2")

    def confirm(i, actor):
        sales.confirm_order(company_id=company.id, order_id=order.id, user=actor)

    run_threads(app, user.id, confirm)
    level = db.session.scalar(select(StockLevel).where(StockLevel.product_id == product.id))
    assert level.reserved == D(2)

    def ship(i, actor):
        sales.ship_order(company_id=company.id, order_id=order.id, user=actor)

    run_threads(app, user.id, ship)
    level = db.session.scalar(select(StockLevel).where(StockLevel.product_id == product.id))
    assert (level.on_hand, level.reserved) == (D(8), D(0))
    assert stock.ledger_mismatches(company.id) == []


def test_concurrent_order_creation_gives_unique_numbers(app, env):
    company, user, warehouse, customer, product = env

    def create(i, actor):
        numbers = []
        for _ in range(5):
            order = sales.create_order(company_id=company.id, user=actor,
                                       customer_id=customer.id, warehouse_id=warehouse.id)
            numbers.append(order.number)
        return numbers

    results = run_threads(app, user.id, create)
    numbers = [n for chunk in results for n in chunk]
    assert len(numbers) == 40 and len(set(numbers)) == 40
    assert sorted(int(n.rsplit("-", 1)[1]) for n in numbers) == list(range(1, 41))
