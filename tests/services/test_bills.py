"""Supplier bill rules: a bill takes what a purchase order received once (never more than
received and not billed, also when its quantities are edited), a manager posts it with a
gapless BILL number, supplier payments settle bills without over-paying them (also when
they race on PostgreSQL), and every bill's figures add up to its lines and payments."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models.bills import Bill, SupplierPayment
from erp.models.purchasing import PurchaseOrder, PurchaseOrderItem
from erp.services import (InvalidTransition, PermissionDenied, ValidationError, bills,
                          invoices, purchasing)
from tests.factories.catalog import ProductFactory, SupplierFactory, WarehouseFactory
from tests.factories.core import UserFactory
from tests.services.test_invoices import racing_payments_never_over_pay
from tests.services.test_sales_concurrency import run_threads

D = Decimal


class Env:
    pass


@pytest.fixture
def env(app, company, make_user):
    e = Env()
    e.company, e.user = company, make_user("manager")
    e.kw = {"company_id": company.id, "user": e.user}
    e.supplier = SupplierFactory(company=company, name="Acme Steel")
    e.warehouse = WarehouseFactory(company=company, code="MAIN")
    e.steel = ProductFactory(company=company, sku="STEEL", cost_price=D("4.00"))
    e.bolt = ProductFactory(company=company, sku="BOLT", cost_price=D("0.10"))
    return e


def received(env, lines=(("steel", "10", "5.25", "20"), ("bolt", "100", "0.12", "0")),
             receive=None) -> PurchaseOrder:
    """A placed purchase order of `lines` (product, quantity, cost, tax %) that received
    `receive` of each (default: everything)."""
    order = purchasing.create_order(supplier_id=env.supplier.id, warehouse_id=env.warehouse.id,
                                    **env.kw)
    items = [purchasing.add_line(order_id=order.id, product_id=getattr(env, name).id,
                                 quantity=qty, unit_cost=cost, tax_rate=tax, **env.kw)
             for name, qty, cost, tax in lines]
    purchasing.place_order(order_id=order.id, **env.kw)
    quantities = {item.id: (receive or {}).get(i, lines[i][1]) for i, item in enumerate(items)}
    purchasing.receive(order_id=order.id, quantities=quantities, warehouse_id=env.warehouse.id,
                       **env.kw)
    db.session.rollback()
    return db.session.get(PurchaseOrder, order.id)


def posted(env, quantity="2", cost="10.00") -> Bill:
    bill = bills.create_bill(supplier_id=env.supplier.id, **env.kw)
    bills.add_line(bill_id=bill.id, product_id=env.steel.id, quantity=quantity,
                   unit_price=cost, tax_rate="18", **env.kw)
    return bills.post_bill(bill_id=bill.id, **env.kw)


def test_a_bill_takes_the_received_goods_once_and_a_manager_posts_it(env):
    order = received(env, receive={0: "6", 1: "100"})
    staff = UserFactory(company=env.company, role="staff")
    draft = bills.create_bill_from_order(company_id=env.company.id, order_id=order.id,
                                         user=staff)
    assert [(line.quantity, line.unit_price, line.tax_rate, line.total) for line in draft.items] == [
        (D(6), D("5.25"), D(20), D("37.80")), (D(100), D("0.12"), D(0), D("12.00"))]
    assert draft.total == D("49.80") and draft.bill_number is None
    with pytest.raises(InvalidTransition, match="billed already"):
        bills.create_bill_from_order(order_id=order.id, **env.kw)
    with pytest.raises(PermissionDenied):
        bills.post_bill(company_id=env.company.id, bill_id=draft.id, user=staff)
    with pytest.raises(InvalidTransition):  # the lines are what the order received
        bills.add_line(bill_id=draft.id, product_id=env.steel.id, quantity="1", **env.kw)
    bill = bills.post_bill(bill_id=draft.id, **env.kw)
    assert bill.bill_number.startswith("BILL-") and bill.bill_number.endswith("-000001")
    assert bill.status == "open" and bill.issued["customer"]["name"] == "Acme Steel"
    assert bills.post_bill(bill_id=draft.id, **env.kw).bill_number == bill.bill_number
    with pytest.raises(InvalidTransition):
        bills.cancel_bill(bill_id=draft.id, **env.kw)
    with pytest.raises(InvalidTransition):  # posted: frozen
        bills.update_line(bill_id=draft.id, line_id=bill.items[0].id, quantity="1", **env.kw)
    assert invoices.mismatches(env.company.id) == []


def test_billing_more_than_received_is_refused_and_writes_nothing(env):
    order = received(env, receive={0: "6", 1: "0"})
    draft = bills.create_bill_from_order(order_id=order.id, **env.kw)
    line = draft.items[0]
    assert len(draft.items) == 1  # nothing of the bolts was received
    with pytest.raises(ValidationError) as refused:
        bills.update_line(bill_id=draft.id, line_id=line.id, quantity="7", **env.kw)
    assert "Only 6 received and not billed" in refused.value.field_errors["quantity"][0]
    db.session.rollback()
    assert db.session.get(Bill, draft.id).items[0].quantity == D(6)
    # less now, and the rest can be billed by another bill
    bills.update_line(bill_id=draft.id, line_id=line.id, quantity="4", unit_price="5.00",
                      **env.kw)
    second = bills.create_bill_from_order(order_id=order.id, **env.kw)
    assert [line.quantity for line in second.items] == [D(2)]
    # cancelling gives the quantity back; removing a line too
    bills.cancel_bill(bill_id=second.id, **env.kw)
    bills.remove_line(bill_id=draft.id, line_id=line.id, **env.kw)
    db.session.rollback()
    item = db.session.scalar(select(PurchaseOrderItem).where(
        PurchaseOrderItem.order_id == order.id, PurchaseOrderItem.product_id == env.steel.id))
    assert item.billed_quantity == D(0)
    for bad in ("-1", "abc", "1e400", "99999999999999"):
        with pytest.raises(ValidationError):
            bills.add_line(bill_id=bills.create_bill(supplier_id=env.supplier.id, **env.kw).id,
                           product_id=env.steel.id, quantity=bad, **env.kw)
    assert invoices.mismatches(env.company.id) == []


def test_a_direct_bill_defaults_to_the_cost_price_and_needs_lines(env):
    bill = bills.create_bill(supplier_id=env.supplier.id, supplier_reference="ACME-77",
                             **env.kw)
    with pytest.raises(ValidationError, match="no lines"):
        bills.post_bill(bill_id=bill.id, **env.kw)
    line = bills.add_line(bill_id=bill.id, product_id=env.steel.id, quantity="3", **env.kw)
    assert line.unit_price == D("4.00")
    with pytest.raises(ValidationError):
        bills.create_bill(supplier_id=None, **env.kw)
    env.supplier.active = False
    db.session.commit()
    with pytest.raises(ValidationError) as refused:
        bills.create_bill(supplier_id=env.supplier.id, **env.kw)
    assert refused.value.field_errors["supplier"] == ["Acme Steel is archived."]


def test_supplier_payments_are_allocated_partly_kept_as_credit_and_reversed(env):
    first, second = posted(env), posted(env)  # 23.60 each
    payment = bills.record_supplier_payment(
        supplier_id=env.supplier.id, amount="30", allocations={first.id: "23.60",
                                                                second.id: "5"}, **env.kw)
    assert payment.number.startswith("SPAY-") and payment.unallocated == D("1.40")
    db.session.rollback()
    assert [db.session.get(Bill, b).status for b in (first.id, second.id)] == [
        "paid", "partly_paid"]
    assert bills.supplier_credit(env.company.id, env.supplier.id) == D("1.40")
    bills.allocate_supplier_payment(payment_id=payment.id, allocations={second.id: "1.40"},
                                    **env.kw)
    assert bills.supplier_credit(env.company.id, env.supplier.id) == D(0)
    assert invoices.mismatches(env.company.id) == []
    bills.reverse_supplier_payment(payment_id=payment.id, **env.kw)
    db.session.rollback()
    assert [db.session.get(Bill, b).status for b in (first.id, second.id)] == ["open", "open"]
    assert db.session.get(SupplierPayment, payment.id).status == "reversed"
    assert invoices.mismatches(env.company.id) == []


def test_bad_payments_are_refused_and_write_nothing(env, other_company):
    bill = posted(env)
    other_supplier = SupplierFactory(company=env.company)
    foreign = SupplierFactory(company=other_company)
    cases = [
        dict(supplier_id=env.supplier.id, amount="-5"),
        dict(supplier_id=env.supplier.id, amount="abc"),
        dict(supplier_id=env.supplier.id, amount="1e400"),
        dict(supplier_id=env.supplier.id, amount="9999999999999999"),
        dict(supplier_id=env.supplier.id, amount="30", allocations={bill.id: "30"}),  # > open
        dict(supplier_id=env.supplier.id, amount="5", allocations={bill.id: "10"}),  # > amount
        dict(supplier_id=other_supplier.id, amount="5", allocations={bill.id: "5"}),
        dict(supplier_id=foreign.id, amount="5"),  # another company's supplier
    ]
    for case in cases:
        with pytest.raises(ValidationError):
            bills.record_supplier_payment(**case, **env.kw)
        db.session.rollback()
    assert db.session.scalar(select(SupplierPayment.id)) is None
    assert db.session.get(Bill, bill.id).paid_total == D(0)
    # a draft bill cannot be paid
    draft = bills.create_bill(supplier_id=env.supplier.id, **env.kw)
    with pytest.raises(ValidationError) as refused:
        bills.record_supplier_payment(supplier_id=env.supplier.id, amount="5",
                                      allocations={draft.id: "5"}, **env.kw)
    assert "nothing is open" in refused.value.field_errors[f"alloc-{draft.id}"][0]


def test_every_bills_figures_add_up_and_a_broken_one_is_found(env):
    for quantity in ("1", "3", "7.5"):
        posted(env, quantity)
    bills.create_bill_from_order(order_id=received(env).id, **env.kw)
    assert invoices.mismatches(env.company.id) == []
    bill = db.session.scalar(select(Bill).where(Bill.status == "open"))
    bill.total = bill.total + 1
    db.session.commit()
    assert any("total" in problem for problem in invoices.mismatches(env.company.id))


@pytest.mark.postgresql_only
def test_two_supplier_payments_racing_for_one_bill_never_over_pay_it(app, env):
    bill = posted(env, "1")  # 11.80 open
    racing_payments_never_over_pay(app, env, bill, bills.record_supplier_payment,
                                   supplier_id=env.supplier.id)


@pytest.mark.postgresql_only
def test_concurrent_posting_gives_unique_gapless_numbers_and_drafts_never_bill_twice(app, env):
    drafts = [bills.create_bill(supplier_id=env.supplier.id, **env.kw).id for _ in range(6)]
    for bill_id in drafts:
        bills.add_line(bill_id=bill_id, product_id=env.steel.id, quantity="1", **env.kw)

    def post(i, actor):
        return bills.post_bill(company_id=env.company.id, bill_id=drafts[i],
                               user=actor).bill_number

    numbers = sorted(run_threads(app, env.user.id, post, n=len(drafts)))
    assert [int(n[-6:]) for n in numbers] == list(range(1, 7))
    order = received(env)

    def draft(i, actor):
        try:
            bills.create_bill_from_order(company_id=env.company.id, order_id=order.id,
                                         user=actor)
            return "ok"
        except InvalidTransition:
            return "refused"

    assert sorted(run_threads(app, env.user.id, draft, n=4)) == ["ok", "refused", "refused",
                                                                "refused"]
    assert invoices.mismatches(env.company.id) == []
