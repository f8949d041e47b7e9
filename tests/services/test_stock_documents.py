"""Count sheet and transfer services: what a sheet lists, replays, refusals that write
nothing, and (PostgreSQL) two transfers posted at once never taking more than is there."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import StockMovement, User
from erp.models.stock_documents import StockCount, StockTransfer
from erp.services import InvalidTransition, PermissionDenied, ValidationError, inventory, stock
from erp.services import stock_documents as service
from tests.blueprints.test_stock_documents import env, make_count, make_transfer, on_hand  # noqa: F401
from tests.factories.catalog import CategoryFactory, ProductFactory

D = Decimal


def movements() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(StockMovement))


def test_the_sheet_lists_stocked_products_and_archived_ones_that_hold_stock(env):
    ProductFactory(company=env.company, sku="REPAIR", kind="service")
    ProductFactory(company=env.company, sku="OLD-EMPTY", active=False)
    held = ProductFactory(company=env.company, sku="OLD-HELD")
    stock.receive(company_id=env.company.id, product_id=held.id, warehouse_id=env.main.id,
                  quantity=2, user=env.user)
    held.active = False
    db.session.commit()
    count = make_count(env)
    assert [line.product.sku for line in count.lines] == ["GADGET", "OLD-HELD", "WIDGET"]
    assert all(line.counted is None for line in count.lines)


def test_too_many_products_ask_for_a_category(env, monkeypatch):
    monkeypatch.setattr(service, "MAX_LINES", 1)
    with pytest.raises(ValidationError) as refused:
        service.create_count(warehouse_id=env.main.id, **env.kw)
    assert "choose a category" in refused.value.field_errors["category_id"][0]
    assert db.session.scalar(select(StockCount.id)) is None
    # one category's sheet fits
    assert len(make_count(env, category_id=env.tools.id).lines) == 1


def test_an_archived_warehouse_or_another_companys_category_is_refused(env, other_company):
    spare = inventory.create_warehouse(code="OLD", name="Old", **env.kw)
    inventory.set_warehouse_active(warehouse_id=spare.id, active=False, **env.kw)
    with pytest.raises(ValidationError) as refused:
        service.create_count(warehouse_id=spare.id, **env.kw)
    assert "archived" in refused.value.field_errors["warehouse_id"][0]
    foreign = CategoryFactory(company=other_company)
    with pytest.raises(ValidationError) as refused:
        service.create_count(warehouse_id=env.main.id, category_id=str(foreign.id), **env.kw)
    assert refused.value.field_errors == {"category_id": ["Choose a category of this company."]}


def test_scanning_a_counted_product_again_sets_its_count_and_an_unlisted_one_is_added(env):
    count = make_count(env, category_id=env.tools.id)
    service.add_count_line(count_id=count.id, product_id=env.widget.id, counted="3", **env.kw)
    service.add_count_line(count_id=count.id, product_id=env.widget.id, counted="9", **env.kw)
    line = service.add_count_line(count_id=count.id, product_id=env.gadget.id, counted="0",
                                  **env.kw)
    db.session.rollback()
    count = db.session.get(StockCount, count.id)
    assert [(l.product.sku, l.expected, l.counted) for l in count.lines] == [
        ("WIDGET", D(10), D(9)), ("GADGET", D(4), D(0))]
    service.post_count(count_id=count.id, **env.kw)
    assert on_hand(env.gadget, env.main) == D(0) and on_hand(env.widget, env.main) == D(9)
    assert line.id


def test_posting_is_a_managers_and_a_replay_is_a_no_op(env, make_user):
    staff = make_user("staff")
    transfer = make_transfer(env, [(env.widget, "2")])
    with pytest.raises(PermissionDenied):
        service.post_transfer(company_id=env.company.id, transfer_id=transfer.id, user=staff)
    service.post_transfer(transfer_id=transfer.id, **env.kw)
    before = movements()
    service.post_transfer(transfer_id=transfer.id, **env.kw)  # a second click
    assert movements() == before == 4  # the two receipts, out and in
    with pytest.raises(InvalidTransition):
        service.cancel_transfer(transfer_id=transfer.id, **env.kw)
    with pytest.raises(InvalidTransition):
        service.add_transfer_line(transfer_id=transfer.id, product_id=env.gadget.id,
                                  quantity="1", **env.kw)


def test_an_archived_warehouse_stops_posting_and_nothing_moves(env):
    transfer = make_transfer(env, [(env.widget, "2")])
    db.session.get(type(env.shop), env.shop.id).active = False
    db.session.commit()
    before = movements()
    with pytest.raises(InvalidTransition, match="SHOP is archived"):
        service.post_transfer(transfer_id=transfer.id, **env.kw)
    assert movements() == before
    assert db.session.get(StockTransfer, transfer.id).status == "draft"


def test_an_empty_transfer_does_not_post(env):
    transfer = make_transfer(env)
    with pytest.raises(ValidationError, match="has no lines"):
        service.post_transfer(transfer_id=transfer.id, **env.kw)


@pytest.mark.postgresql_only
def test_two_transfers_posted_at_once_never_take_more_than_is_there(env, app):
    """10 WIDGET in MAIN, two transfers of 7 posted by two managers at once: one wins, the
    other is refused naming the line, and the ledger holds."""
    drafts = [make_transfer(env, [(env.widget, "7")]).id for _ in range(2)]
    outcomes, barrier = [], threading.Barrier(2)

    def post(transfer_id):
        with app.app_context():
            barrier.wait()
            try:
                service.post_transfer(company_id=env.company.id, transfer_id=transfer_id,
                                      user=db.session.get(User, env.user.id))
                outcomes.append("posted")
            except stock.InsufficientStock as error:
                assert "Line 1 (WIDGET)" in str(error)
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=post, args=(i,)) for i in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["posted", "refused"]
    assert (on_hand(env.widget, env.main), on_hand(env.widget, env.shop)) == (D(3), D(7))
    assert stock.ledger_mismatches(env.company.id) == []
