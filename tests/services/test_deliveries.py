"""Delivery notes: shipping an order in parts, backorders, closing short, over-delivery,
and (PostgreSQL) concurrent postings that never over-ship."""
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import StockMovement, User
from erp.models.sales import DeliveryNote
from erp.services import (DomainError, InvalidTransition, NotFound, PermissionDenied,
                          ValidationError, deliveries, invoices, sales, stock)
from tests.factories.core import CompanyFactory
from tests.services.test_sales import assert_ledger, env, fresh, level, new_order  # noqa: F401

D = Decimal


def confirmed(env, lines):
    order = new_order(env, lines)
    sales.confirm_order(order_id=order.id, **env.kw)
    return fresh(order.id)


def deliver(env, order, quantities, *, post=True):
    """A delivery of {product: quantity} (by the order's lines)."""
    by_product = {item.product_id: item.id for item in order.items}
    return deliveries.create_delivery(
        order_id=order.id, quantities={by_product[p.id]: q for p, q in quantities.items()},
        post=post, **env.kw)


def test_two_partial_deliveries_ship_the_order_and_keep_the_ledger(env):
    order = confirmed(env, [(env.widget, "4"), (env.gadget, "2"), (env.service, "1")])
    first = deliver(env, order, {env.widget: "1.5", env.gadget: "2"})
    assert first.number.startswith("DN-") and first.status == "posted"
    order = fresh(order.id)
    assert order.status == "partly_shipped" and order.shipped_at is None
    assert [i.shipped_quantity for i in order.items] == [D("1.5"), D(2), D(0)]
    assert [i.left_quantity for i in order.items] == [D("2.5"), D(0), D(1)]
    # what is left stays reserved: a backorder
    assert (level(env, env.widget).on_hand, level(env, env.widget).reserved) == (D("8.5"),
                                                                               D("2.5"))
    assert (level(env, env.gadget).on_hand, level(env, env.gadget).reserved) == (D(1), D(0))
    assert_ledger(env)
    assert stock.reservation_holders(env.company.id, env.widget.id, env.warehouse.id) == [
        (order.number, D("2.5"))]
    partial = invoices.invoice_order(order_id=order.id, **env.kw)  # what was shipped so far
    assert [line.quantity for line in partial.items] == [D("1.5"), D(2)]
    assert partial.total == sum(line.total for line in partial.items) > 0
    assert fresh(order.id).status == "partly_shipped"
    with pytest.raises(InvalidTransition):
        sales.cancel_order(order_id=order.id, **env.kw)  # close it short instead

    second = deliver(env, order, {env.widget: "2.5", env.service: "1"})
    order = fresh(order.id)
    assert order.status == "shipped" and order.shipped_at is not None
    assert (level(env, env.widget).on_hand, level(env, env.widget).reserved) == (D(6), D(0))
    assert_ledger(env)
    movements = db.session.execute(select(
        StockMovement.reference, StockMovement.source_type, StockMovement.quantity)
        .where(StockMovement.kind == "sales_shipment").order_by(StockMovement.id)).all()
    assert movements == [(first.number, "delivery_note_line", D("-1.5")),
                         (first.number, "delivery_note_line", D(-2)),
                         (second.number, "delivery_note_line", D("-2.5"))]  # no service
    sales.invoice_order(order_id=order.id, **env.kw)
    assert fresh(order.id).status == "invoiced"


def test_a_draft_moves_nothing_until_posted(env):
    order = confirmed(env, [(env.widget, "4")])
    draft = deliver(env, order, {env.widget: "3"}, post=False)
    assert draft.status == "draft" and fresh(order.id).status == "confirmed"
    assert level(env, env.widget).on_hand == D(10)
    deliveries.post_delivery(delivery_id=draft.id, **env.kw)
    deliveries.post_delivery(delivery_id=draft.id, **env.kw)  # a replay does nothing
    assert level(env, env.widget).on_hand == D(7)
    assert fresh(order.id).status == "partly_shipped"
    with pytest.raises(InvalidTransition):
        deliveries.cancel_delivery(delivery_id=draft.id, **env.kw)
    assert_ledger(env)


def test_over_delivery_is_refused_naming_the_line_and_nothing_is_written(env):
    order = confirmed(env, [(env.widget, "4"), (env.gadget, "2")])
    deliver(env, order, {env.widget: "3"})
    order = fresh(order.id)
    with pytest.raises(ValidationError) as refused:
        deliver(env, order, {env.widget: "2", env.gadget: "abc"})
    errors = refused.value.field_errors
    assert errors[f"qty-{order.items[0].id}"] == [
        "Line 1 (WIDGET): only 1 left to ship, 2 given."]
    assert errors[f"qty-{order.items[1].id}"] == ["Enter a number."]
    with pytest.raises(ValidationError, match="at least one line"):
        deliver(env, order, {env.widget: "0"})
    with pytest.raises(ValidationError) as refused:
        deliveries.create_delivery(order_id=order.id, quantities={"999999": "1"}, **env.kw)
    assert refused.value.field_errors == {"qty-999999": ["No such line on this order."]}
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(DeliveryNote)) == 1
    assert level(env, env.widget).on_hand == D(7)


def test_two_drafts_cannot_together_ship_more_than_was_ordered(env):
    order = confirmed(env, [(env.widget, "4")])
    one = deliver(env, order, {env.widget: "3"}, post=False)
    two = deliver(env, order, {env.widget: "3"}, post=False)
    deliveries.post_delivery(delivery_id=one.id, **env.kw)
    with pytest.raises(ValidationError, match=r"Cannot post DN-.*only 1 left to ship, 3 given"):
        deliveries.post_delivery(delivery_id=two.id, **env.kw)
    db.session.rollback()
    assert db.session.get(DeliveryNote, two.id).status == "draft"
    assert level(env, env.widget).on_hand == D(7)
    assert_ledger(env)


def test_ship_all_delivers_what_is_left_and_cancels_the_drafts(env):
    order = confirmed(env, [(env.widget, "4"), (env.gadget, "2")])
    deliver(env, order, {env.widget: "1"})
    draft = deliver(env, fresh(order.id), {env.widget: "1"}, post=False)
    sales.ship_order(order_id=order.id, **env.kw)
    order = fresh(order.id)
    assert order.status == "shipped"
    assert [d.status for d in order.deliveries] == ["posted", "cancelled", "posted"]
    assert [line.quantity for line in order.deliveries[-1].lines] == [D(3), D(2)]
    assert (level(env, env.widget).on_hand, level(env, env.widget).reserved) == (D(6), D(0))
    assert db.session.get(DeliveryNote, draft.id).status == "cancelled"
    assert_ledger(env)


def test_closing_short_releases_the_backorder(env):
    order = confirmed(env, [(env.widget, "4"), (env.gadget, "2")])
    with pytest.raises(InvalidTransition):
        sales.close_order(order_id=order.id, **env.kw)  # nothing shipped: cancel instead
    deliver(env, order, {env.widget: "1"})
    draft = deliver(env, fresh(order.id), {env.widget: "1"}, post=False)
    sales.close_order(order_id=order.id, **env.kw)
    order = fresh(order.id)
    assert order.status == "closed"
    assert (level(env, env.widget).on_hand, level(env, env.widget).reserved) == (D(9), D(0))
    assert (level(env, env.gadget).on_hand, level(env, env.gadget).reserved) == (D(3), D(0))
    assert db.session.get(DeliveryNote, draft.id).status == "cancelled"
    with pytest.raises(InvalidTransition):
        sales.close_order(order_id=order.id, **env.kw)
    with pytest.raises(InvalidTransition):
        deliveries.post_delivery(delivery_id=draft.id, **env.kw)
    sales.invoice_order(order_id=order.id, **env.kw)  # what it shipped before closing
    assert fresh(order.id).status == "invoiced"
    assert_ledger(env)


def test_roles_and_companies(env, make_user):
    order = confirmed(env, [(env.widget, "4")])
    viewer, staff = make_user("viewer"), make_user("staff")
    item_id = order.items[0].id
    with pytest.raises(PermissionDenied):
        deliveries.create_delivery(company_id=env.company.id, user=viewer, order_id=order.id,
                                   quantities={item_id: "1"})
    draft = deliveries.create_delivery(company_id=env.company.id, user=staff,
                                       order_id=order.id, quantities={item_id: "1"})
    with pytest.raises(PermissionDenied):
        deliveries.post_delivery(company_id=env.company.id, user=viewer, delivery_id=draft.id)
    deliveries.post_delivery(company_id=env.company.id, user=staff, delivery_id=draft.id)
    with pytest.raises(PermissionDenied):
        sales.close_order(company_id=env.company.id, user=staff, order_id=order.id)
    other = CompanyFactory()
    with pytest.raises(NotFound):
        deliveries.post_delivery(company_id=other.id, user=None, delivery_id=draft.id)
    with pytest.raises(NotFound):
        deliveries.create_delivery(company_id=other.id, user=None, order_id=order.id,
                                   quantities={item_id: "1"})


def test_a_draft_order_cannot_be_delivered(env):
    order = new_order(env, [(env.widget, "4")])
    with pytest.raises(InvalidTransition, match="confirmed or partly shipped"):
        deliver(env, fresh(order.id), {env.widget: "1"})


@pytest.mark.postgresql_only
def test_concurrent_postings_never_over_ship(app, env):
    """Eight drafts of 3 each against a line of 10, posted at once from eight sessions:
    three go out, the others are refused, and the ledger holds."""
    order = confirmed(env, [(env.widget, "10")])
    item_id = order.items[0].id
    drafts = [deliveries.create_delivery(order_id=order.id, quantities={item_id: "3"},
                                         **env.kw).id for _ in range(8)]
    results, errors = [None] * 8, []
    barrier = threading.Barrier(8)
    user_id, company_id = env.user.id, env.company.id

    def post(i):
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                db.session.rollback()
                barrier.wait()
                deliveries.post_delivery(company_id=company_id, delivery_id=drafts[i],
                                         user=user)
                results[i] = "ok"
            except DomainError:
                results[i] = "refused"
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results.count("ok") == 3 and results.count("refused") == 5
    order = fresh(order.id)
    assert order.items[0].shipped_quantity == D(9) and order.status == "partly_shipped"
    assert (level(env, env.widget).on_hand, level(env, env.widget).reserved) == (D(1), D(1))
    assert_ledger(env)
