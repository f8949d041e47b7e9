"""Returns: a sales return restocks part of a posted delivery into a chosen warehouse, a
purchase return sends received goods back; never more than delivered (received) minus
returned, never below available stock; bad input refused with nothing written; roles;
(PostgreSQL) concurrent postings that never over-return."""
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import StockLevel, StockMovement, User
from erp.models.purchasing import PurchaseOrderItem
from erp.models.returns import PurchaseReturn, SalesReturn
from erp.models.sales import DeliveryNoteLine
from erp.services import (InvalidTransition, NotFound, PermissionDenied, ValidationError,
                          deliveries, returns, sales, stock)
from erp.services import purchasing
from erp.services.stock import InsufficientStock
from tests.factories.catalog import SupplierFactory, WarehouseFactory
from tests.services.test_sales import assert_ledger, env, fresh, new_order  # noqa: F401

D = Decimal


@pytest.fixture
def ret(env, make_user):
    """The sales company, with a staff member, a second warehouse and a posted delivery
    of 4 WIDGET and 2 GADGET."""
    env.staff = make_user("staff")
    env.back = WarehouseFactory(company=env.company, code="BACK")
    order = new_order(env, [(env.widget, "4"), (env.gadget, "2")])
    sales.confirm_order(order_id=order.id, **env.kw)
    order = fresh(order.id)
    env.delivery = deliveries.create_delivery(
        order_id=order.id, quantities={item.id: item.quantity for item in order.items},
        post=True, **env.kw)
    db.session.rollback()
    env.lines = list(db.session.scalars(select(DeliveryNoteLine).where(
        DeliveryNoteLine.delivery_id == env.delivery.id).order_by(DeliveryNoteLine.id)))
    return env


def on_hand(product, warehouse) -> Decimal:
    db.session.rollback()
    return db.session.scalar(select(func.coalesce(func.sum(StockLevel.on_hand), 0)).where(
        StockLevel.product_id == product.id, StockLevel.warehouse_id == warehouse.id))


def sales_return(env, quantities, *, user=None, warehouse=None, post=False, reason="Damaged"):
    return returns.create_sales_return(
        company_id=env.company.id, user=user or env.staff, delivery_id=env.delivery.id,
        quantities=quantities, warehouse_id=(warehouse or env.back).id, reason=reason,
        post=post)


def counts() -> tuple:
    db.session.rollback()
    return (db.session.scalar(select(func.count(SalesReturn.id))),
            db.session.scalar(select(func.count(PurchaseReturn.id))),
            db.session.scalar(select(func.count(StockMovement.id))))


def test_a_posted_sales_return_restocks_the_chosen_warehouse(ret):
    widget_line, gadget_line = ret.lines
    draft = sales_return(ret, {widget_line.id: "1.5", gadget_line.id: ""})
    assert draft.number.startswith("RET-") and draft.status == "draft"
    assert on_hand(ret.widget, ret.back) == 0  # a draft moves nothing
    posted = returns.post_sales_return(company_id=ret.company.id, return_id=draft.id,
                                       user=ret.user)
    assert posted.status == "posted" and posted.posted_at is not None
    assert on_hand(ret.widget, ret.back) == D("1.5")
    assert on_hand(ret.widget, ret.warehouse) == D(6)  # shipped from MAIN, untouched
    assert db.session.get(DeliveryNoteLine, widget_line.id).returned_quantity == D("1.5")
    movement = db.session.scalar(select(StockMovement).where(StockMovement.kind == "sales_return"))
    assert (movement.quantity, movement.source_type, movement.reference) == (
        D("1.5"), "sales_return_line", draft.number)
    assert movement.source_id == db.session.get(SalesReturn, draft.id).lines[0].id
    assert_ledger(ret)
    # a replayed post is a no-op
    returns.post_sales_return(company_id=ret.company.id, return_id=draft.id, user=ret.user)
    assert on_hand(ret.widget, ret.back) == D("1.5")
    # the rest can still come back, no more
    sales_return(ret, {widget_line.id: "2.5"}, user=ret.user, post=True)
    assert on_hand(ret.widget, ret.back) == D(4)
    with pytest.raises(ValidationError) as error:
        sales_return(ret, {widget_line.id: "0.001"})
    assert "only 0 can be returned" in error.value.field_errors[f"qty-{widget_line.id}"][0]


def test_returning_more_than_delivered_or_bad_input_is_refused_with_nothing_written(ret,
                                                                                   other_company):
    widget_line, gadget_line = ret.lines
    before = counts()
    with pytest.raises(ValidationError) as error:
        sales_return(ret, {widget_line.id: "5", gadget_line.id: "-1"}, reason="  ")
    fields = error.value.field_errors
    assert "only 4 can be returned" in fields[f"qty-{widget_line.id}"][0]
    assert fields[f"qty-{gadget_line.id}"] == ["Enter a positive quantity."]
    assert fields["reason"] == ["Say why the goods are returned."]
    foreign = WarehouseFactory(company=other_company, code="FOREIGN")
    with pytest.raises(ValidationError) as error:
        sales_return(ret, {widget_line.id: "1"}, warehouse=foreign)
    assert error.value.field_errors["warehouse_id"] == ["Choose a warehouse of your company."]
    with pytest.raises(ValidationError, match="at least one line"):
        sales_return(ret, {widget_line.id: "0"})
    with pytest.raises(ValidationError):
        sales_return(ret, {999999: "1"})
    assert counts() == before


def test_posting_rechecks_what_is_left_and_moves_nothing_when_too_much(ret):
    widget_line = ret.lines[0]
    first = sales_return(ret, {widget_line.id: "3"})
    second = sales_return(ret, {widget_line.id: "3"})
    returns.post_sales_return(company_id=ret.company.id, return_id=first.id, user=ret.user)
    before = counts()
    with pytest.raises(ValidationError, match="only 1 can be returned.*Nothing was moved"):
        returns.post_sales_return(company_id=ret.company.id, return_id=second.id,
                                  user=ret.user)
    assert counts() == before and on_hand(ret.widget, ret.back) == D(3)
    assert db.session.get(SalesReturn, second.id).status == "draft"
    returns.cancel_sales_return(company_id=ret.company.id, return_id=second.id, user=ret.user)
    assert db.session.get(SalesReturn, second.id).status == "cancelled"
    with pytest.raises(InvalidTransition):
        returns.cancel_sales_return(company_id=ret.company.id, return_id=first.id,
                                    user=ret.user)
    with pytest.raises(InvalidTransition):
        returns.post_sales_return(company_id=ret.company.id, return_id=second.id,
                                  user=ret.user)


def test_only_a_posted_delivery_takes_returns(ret):
    order = new_order(ret, [(ret.widget, "1")])
    sales.confirm_order(order_id=order.id, **ret.kw)
    order = fresh(order.id)
    draft = deliveries.create_delivery(order_id=order.id, quantities={order.items[0].id: "1"},
                                       **ret.kw)
    db.session.rollback()
    line_id = db.session.scalar(select(DeliveryNoteLine.id).where(
        DeliveryNoteLine.delivery_id == draft.id))
    with pytest.raises(InvalidTransition, match="posted delivery"):
        returns.create_sales_return(company_id=ret.company.id, user=ret.staff,
                                    delivery_id=draft.id, quantities={line_id: "1"},
                                    warehouse_id=ret.back.id, reason="Wrong item")


def test_roles_staff_drafts_and_a_manager_posts_and_cancels(ret, make_user):
    viewer = make_user("viewer")
    line = ret.lines[0]
    with pytest.raises(PermissionDenied):
        sales_return(ret, {line.id: "1"}, user=viewer)
    draft = sales_return(ret, {line.id: "1"})
    for service in (returns.post_sales_return, returns.cancel_sales_return):
        with pytest.raises(PermissionDenied):
            service(company_id=ret.company.id, return_id=draft.id, user=ret.staff)
    with pytest.raises(PermissionDenied):  # "post now" is a manager's too
        sales_return(ret, {line.id: "1"}, post=True)
    assert on_hand(ret.widget, ret.back) == 0


def test_another_companys_return_or_delivery_is_not_found(ret, other_company):
    draft = sales_return(ret, {ret.lines[0].id: "1"})
    stranger = User(company_id=other_company.id, role="admin")
    with pytest.raises(NotFound):
        returns.post_sales_return(company_id=other_company.id, return_id=draft.id,
                                  user=stranger)
    with pytest.raises(NotFound):
        returns.create_sales_return(company_id=other_company.id, user=stranger,
                                    delivery_id=ret.delivery.id,
                                    quantities={ret.lines[0].id: "1"},
                                    warehouse_id=WarehouseFactory(company=other_company).id,
                                    reason="x")


# --- purchase returns -------------------------------------------------------------------

@pytest.fixture
def po(env, make_user):
    """An order of 10 WIDGET from a supplier, 6 received into MAIN (16 on hand there)."""
    env.staff = make_user("staff")
    supplier = SupplierFactory(company=env.company)
    order = purchasing.create_order(company_id=env.company.id, user=env.user,
                                    supplier_id=supplier.id, warehouse_id=env.warehouse.id)
    purchasing.add_line(company_id=env.company.id, user=env.user, order_id=order.id,
                        product_id=env.widget.id, quantity="10", unit_cost="2.00",
                        tax_rate="0")
    purchasing.place_order(company_id=env.company.id, user=env.user, order_id=order.id)
    db.session.rollback()
    env.item = db.session.scalar(select(PurchaseOrderItem).where(
        PurchaseOrderItem.order_id == order.id))
    purchasing.receive(company_id=env.company.id, user=env.user, order_id=order.id,
                       quantities={env.item.id: "6"}, warehouse_id=env.warehouse.id)
    env.order = order
    return env


def purchase_return(env, qty, *, user=None, post=False, warehouse=None):
    return returns.create_purchase_return(
        company_id=env.company.id, user=user or env.user, order_id=env.order.id,
        quantities={env.item.id: qty}, warehouse_id=(warehouse or env.warehouse).id,
        reason="Wrong size", post=post)


def test_a_purchase_return_sends_received_goods_back(po):
    done = purchase_return(po, "2", post=True)
    assert done.number.startswith("PRT-") and done.status == "posted"
    assert on_hand(po.widget, po.warehouse) == D(14)
    assert db.session.get(PurchaseOrderItem, po.item.id).returned_quantity == D(2)
    movement = db.session.scalar(select(StockMovement).where(
        StockMovement.kind == "purchase_return"))
    assert (movement.quantity, movement.source_type) == (D(-2), "purchase_return_line")
    assert_ledger(po)
    with pytest.raises(ValidationError) as error:
        purchase_return(po, "4.001")
    assert "only 4 can be returned (received minus returned)" in \
        error.value.field_errors[f"qty-{po.item.id}"][0]


def test_a_purchase_return_never_takes_stock_below_what_is_available(po):
    # 16 on hand in MAIN, 15 promised to a confirmed order: 1 available
    order = new_order(po, [(po.widget, "15")])
    sales.confirm_order(order_id=order.id, **po.kw)
    draft = purchase_return(po, "2")
    before = counts()
    with pytest.raises(InsufficientStock, match="2 needed, 1 available"):
        returns.post_purchase_return(company_id=po.company.id, return_id=draft.id,
                                     user=po.user)
    assert counts() == before and on_hand(po.widget, po.warehouse) == D(16)
    assert db.session.get(PurchaseOrderItem, po.item.id).returned_quantity == 0
    # nor from a warehouse that does not hold the goods
    with pytest.raises(InsufficientStock):
        purchase_return(po, "1", post=True, warehouse=WarehouseFactory(company=po.company))


def test_an_order_that_received_nothing_has_nothing_to_return(po):
    supplier = SupplierFactory(company=po.company)
    order = purchasing.create_order(company_id=po.company.id, user=po.user,
                                    supplier_id=supplier.id, warehouse_id=po.warehouse.id)
    with pytest.raises(InvalidTransition, match="received nothing"):
        returns.create_purchase_return(company_id=po.company.id, user=po.user,
                                       order_id=order.id, quantities={}, reason="x",
                                       warehouse_id=po.warehouse.id)


def test_purchase_return_roles(po):
    draft = purchase_return(po, "1", user=po.staff)
    with pytest.raises(PermissionDenied):
        returns.post_purchase_return(company_id=po.company.id, return_id=draft.id,
                                     user=po.staff)
    returns.cancel_purchase_return(company_id=po.company.id, return_id=draft.id, user=po.user)
    assert db.session.get(PurchaseReturn, draft.id).status == "cancelled"


@pytest.mark.postgresql_only
def test_concurrent_postings_never_return_more_than_delivered(ret, app):
    """Two managers post a return of 3 of the 4 delivered at once: one wins."""
    line = ret.lines[0]
    drafts = [sales_return(ret, {line.id: "3"}).id for _ in range(2)]
    outcomes, barrier = [], threading.Barrier(2)

    def post(return_id):
        with app.app_context():
            barrier.wait()
            try:
                returns.post_sales_return(company_id=ret.company.id, return_id=return_id,
                                          user=db.session.get(User, ret.user.id))
                outcomes.append("posted")
            except ValidationError:
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=post, args=(i,)) for i in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["posted", "refused"]
    assert on_hand(ret.widget, ret.back) == D(3)
    assert_ledger(ret)


def test_a_returned_service_counts_but_moves_no_stock(env, make_user):
    env.staff = make_user("staff")
    order = new_order(env, [(env.service, "2")])
    sales.confirm_order(order_id=order.id, **env.kw)
    order = fresh(order.id)
    delivery = deliveries.create_delivery(order_id=order.id,
                                          quantities={order.items[0].id: "2"}, post=True,
                                          **env.kw)
    db.session.rollback()
    line = db.session.scalar(select(DeliveryNoteLine).where(
        DeliveryNoteLine.delivery_id == delivery.id))
    before = counts()
    returns.create_sales_return(company_id=env.company.id, user=env.user,
                                delivery_id=delivery.id, quantities={line.id: "2"},
                                warehouse_id=env.warehouse.id, reason="Not needed", post=True)
    assert counts()[2] == before[2]  # no movement
    assert db.session.get(DeliveryNoteLine, line.id).returned_quantity == D(2)
