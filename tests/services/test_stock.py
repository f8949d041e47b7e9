"""The stock service: the ledger always explains the level, and stock never goes negative."""
import random
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import StockLevel, StockMovement
from erp.services import ValidationError, NotFound, atomic
from erp.services import stock
from erp.services.stock import InsufficientStock
from tests.conftest import TEST_DB
from tests.factories.catalog import ProductFactory, WarehouseFactory

D = Decimal


@pytest.fixture
def setup(app, company, make_user):
    user = make_user("staff")
    product = ProductFactory(company=company)
    main = WarehouseFactory(company=company, code="MAIN")
    spare = WarehouseFactory(company=company, code="SPARE")
    return company, user, product, main, spare


def level(product, warehouse) -> StockLevel | None:
    db.session.rollback()
    return db.session.scalar(select(StockLevel).where(
        StockLevel.product_id == product.id, StockLevel.warehouse_id == warehouse.id))


def test_receive_issue_transfer_and_count_keep_the_ledger_exact(setup):
    company, user, product, main, spare = setup
    kw = dict(company_id=company.id, product_id=product.id, user=user)
    stock.receive(warehouse_id=main.id, quantity="10.5", **kw)
    stock.issue(warehouse_id=main.id, quantity="0.5", **kw)
    stock.transfer(from_warehouse_id=main.id, to_warehouse_id=spare.id, quantity="4", **kw)
    stock.adjust(warehouse_id=spare.id, counted="3.25", **kw)
    assert level(product, main).on_hand == D("6.000")
    assert level(product, spare).on_hand == D("3.250")
    kinds = db.session.scalars(select(StockMovement.kind).order_by(StockMovement.id)).all()
    assert kinds == ["receipt", "issue", "transfer_out", "transfer_in", "adjustment"]
    assert stock.ledger_mismatches(company.id) == []


def test_float_unfriendly_quantities_add_up_exactly(setup):
    company, user, product, main, _ = setup
    kw = dict(company_id=company.id, product_id=product.id, warehouse_id=main.id, user=user)
    for _ in range(3):
        stock.receive(quantity="0.1", **kw)
    stock.issue(quantity="0.3", **kw)
    assert level(product, main).on_hand == D("0")
    assert stock.ledger_mismatches(company.id) == []


def test_issue_below_zero_is_refused_and_writes_nothing(setup):
    company, user, product, main, _ = setup
    kw = dict(company_id=company.id, product_id=product.id, warehouse_id=main.id, user=user)
    stock.receive(quantity=5, **kw)
    with pytest.raises(InsufficientStock, match="5 available"):
        stock.issue(quantity=6, **kw)
    assert level(product, main).on_hand == D("5")
    assert db.session.scalar(select(func.count()).select_from(StockMovement)) == 1


def test_reserved_stock_cannot_be_issued_but_can_be_released(setup):
    company, user, product, main, _ = setup
    kw = dict(company_id=company.id, product_id=product.id, warehouse_id=main.id)
    stock.receive(quantity=10, user=user, **kw)
    with atomic():
        stock.reserve(quantity=D("8"), **kw)
    with pytest.raises(InsufficientStock):
        with atomic():
            stock.reserve(quantity=D("3"), **kw)
    with pytest.raises(InsufficientStock):
        stock.issue(quantity=3, user=user, **kw)
    with atomic():
        stock.release(quantity=D("8"), **kw)
    stock.issue(quantity=3, user=user, **kw)
    current = level(product, main)
    assert (current.on_hand, current.reserved) == (D("7"), D("0"))


def test_transfer_is_all_or_nothing(setup):
    company, user, product, main, spare = setup
    stock.receive(company_id=company.id, product_id=product.id, warehouse_id=main.id,
                  quantity=2, user=user)
    with pytest.raises(InsufficientStock):
        stock.transfer(company_id=company.id, product_id=product.id, from_warehouse_id=main.id,
                       to_warehouse_id=spare.id, quantity=3, user=user)
    assert level(product, main).on_hand == D("2")
    assert level(product, spare) is None or level(product, spare).on_hand == 0
    assert db.session.scalar(select(func.count()).select_from(StockMovement)) == 1


def test_a_failure_half_way_through_a_transaction_leaves_nothing(setup):
    company, user, product, main, spare = setup
    with pytest.raises(RuntimeError):
        with atomic():
            stock.move(company_id=company.id, product_id=product.id, warehouse_id=main.id,
                       quantity=D("5"), kind="receipt", user=user)
            raise RuntimeError("power cut")
    assert db.session.scalar(select(func.count()).select_from(StockMovement)) == 0
    assert level(product, main) is None or level(product, main).on_hand == 0


def test_count_matching_the_level_writes_no_movement(setup):
    company, user, product, main, _ = setup
    kw = dict(company_id=company.id, product_id=product.id, warehouse_id=main.id, user=user)
    stock.receive(quantity=4, **kw)
    assert stock.adjust(counted="4", **kw) is None
    movement = stock.adjust(counted="1", **kw)
    assert movement.quantity == D("-3") and movement.kind == "adjustment"


@pytest.mark.parametrize("quantity,message", [("abc", "Enter a number."), ("-1", "positive"),
                                              ("0", "other than zero"), ("1.0001", "3 decimals"),
                                              ("1e30", "too large"), ("NaN", "Enter a number.")])
def test_bad_quantities_are_refused_with_a_message(setup, quantity, message):
    company, user, product, main, _ = setup
    with pytest.raises(ValidationError) as error:
        stock.receive(company_id=company.id, product_id=product.id, warehouse_id=main.id,
                      quantity=quantity, user=user)
    assert message in " ".join(error.value.field_errors["quantity"])


def test_services_and_other_companies_products_are_refused(setup, other_company):
    company, user, product, main, _ = setup
    service = ProductFactory(company=company, kind="service")
    with pytest.raises(ValidationError, match="service"):
        stock.receive(company_id=company.id, product_id=service.id, warehouse_id=main.id,
                      quantity=1, user=user)
    foreign = ProductFactory(company=other_company)
    with pytest.raises(NotFound):
        stock.receive(company_id=company.id, product_id=foreign.id, warehouse_id=main.id,
                      quantity=1, user=user)


def test_random_sequences_keep_the_invariant(setup):
    company, user, product, main, spare = setup
    rng = random.Random(7)
    products = [product] + [ProductFactory(company=company) for _ in range(2)]
    warehouses = [main, spare]
    for _ in range(80):
        p, w = rng.choice(products), rng.choice(warehouses)
        kw = dict(company_id=company.id, product_id=p.id, user=user)
        op = rng.choice(["receive", "issue", "transfer", "adjust"])
        try:
            if op == "receive":
                stock.receive(warehouse_id=w.id, quantity=rng.randint(1, 9), **kw)
            elif op == "issue":
                stock.issue(warehouse_id=w.id, quantity=rng.randint(1, 9), **kw)
            elif op == "transfer":
                other = spare if w is main else main
                stock.transfer(from_warehouse_id=w.id, to_warehouse_id=other.id,
                               quantity=rng.randint(1, 5), **kw)
            else:
                stock.adjust(warehouse_id=w.id, counted=rng.randint(0, 20), **kw)
        except InsufficientStock:
            pass
    assert stock.ledger_mismatches(company.id) == []
    assert db.session.scalar(select(func.min(StockLevel.on_hand))) >= 0


def _race(app, company_id, user_id, product_ids, warehouse_id, seed, errors):
    from erp.models import User

    rng = random.Random(seed)
    with app.app_context():
        user = db.session.get(User, user_id)
        try:
            for _ in range(200):
                product_id = rng.choice(product_ids)
                quantity = rng.randint(1, 5)
                try:
                    if rng.random() < 0.5:
                        stock.receive(company_id=company_id, product_id=product_id,
                                      warehouse_id=warehouse_id, quantity=quantity, user=user)
                    else:
                        stock.issue(company_id=company_id, product_id=product_id,
                                    warehouse_id=warehouse_id, quantity=quantity, user=user)
                except InsufficientStock:
                    pass
        except Exception as exc:  # pragma: no cover - reported by the test
            errors.append(repr(exc))
        finally:
            db.session.remove()


@pytest.mark.postgresql_only
def test_concurrent_moves_lose_nothing_and_never_go_negative(setup, app):
    company, user, product, main, _ = setup
    products = [product] + [ProductFactory(company=company) for _ in range(4)]
    ids = [p.id for p in products]
    errors: list = []
    threads = [threading.Thread(target=_race, args=(app, company.id, user.id, ids, main.id,
                                                    seed, errors)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    db.session.rollback()
    assert stock.ledger_mismatches(company.id) == []
    assert db.session.scalar(select(func.min(StockLevel.on_hand))) >= 0
    assert db.session.scalar(select(func.count()).select_from(StockMovement)) > 400


@pytest.mark.skipif(TEST_DB != "sqlite", reason="on PostgreSQL: test_concurrent_moves_lose_"
                    "nothing_and_never_go_negative, with more threads and products")
def test_concurrent_moves_on_sqlite_lose_nothing_either(setup, app):
    company, user, product, main, _ = setup
    errors: list = []
    threads = [threading.Thread(target=_race, args=(app, company.id, user.id, [product.id],
                                                    main.id, seed, errors)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    db.session.rollback()
    assert stock.ledger_mismatches(company.id) == []
