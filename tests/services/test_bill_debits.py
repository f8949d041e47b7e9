"""A purchase return debits the supplier's bill: posting it takes the returned goods' value
(the bill line's price incl. tax, in cents per line) off the posted bill that billed them,
never more than the bill still asks for (the rest is a credit of the company with the
supplier); goods no posted bill billed are not debited and no later bill bills them; the
open amount, the aging, the supplier's position and statement follow, and every figure
adds up (`bills.mismatches`)."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models.bills import Bill
from erp.models.core import Company, company_today
from erp.models.purchasing import PurchaseOrderItem
from erp.models.returns import PurchaseReturn
from erp.queries import bills as bill_queries
from erp.queries import receivables
from erp.services import ValidationError, bills, invoices, returns
from tests.services.test_bills import env, received  # noqa: F401  (the fixture)

D = Decimal


def steel_item(order) -> PurchaseOrderItem:
    return next(item for item in order.items if item.product.sku == "STEEL")


def posted_bill(env, order) -> Bill:
    draft = bills.create_bill_from_order(order_id=order.id, **env.kw)
    return bills.post_bill(bill_id=draft.id, **env.kw)


def send_back(env, order, quantity: str) -> PurchaseReturn:
    return returns.create_purchase_return(
        order_id=order.id, quantities={steel_item(order).id: quantity},
        warehouse_id=env.warehouse.id, reason="Rusty", post=True, **env.kw)


def fresh(model, id_):
    db.session.rollback()
    return db.session.get(model, id_)


def position(env):
    return bill_queries.supplier_payables(env.company.id, env.supplier.id)


def closing(env) -> Decimal:
    today = company_today(env.company.id)
    company = db.session.get(Company, env.company.id)
    return receivables.statement(receivables.SUPPLIER_STATEMENT, company, env.supplier,
                                 today - timedelta(days=30), today).closing


def test_posting_a_return_debits_the_bill_and_what_is_owed_follows(env):
    order = received(env)  # 10 STEEL at 5.25 + 20 %, 100 BOLT at 0.12
    bill = posted_bill(env, order)
    assert bill.total == D("75.00")
    done = send_back(env, order, "2")  # 2 x 5.25 = 10.50 + 2.10 tax
    bill = fresh(Bill, bill.id)
    assert bill.debited_total == D("12.60") and bill.balance == D("62.40")
    assert bill.status == "open"
    done = db.session.get(PurchaseReturn, done.id)
    assert (done.returned_value, done.debited_total, done.supplier_credit) == (
        D("12.60"), D("12.60"), D(0))
    assert done.lines[0].bill_line.bill_id == bill.id
    assert done.lines[0].debited_quantity == D(2)
    assert position(env).open_total == D("62.40") and position(env).balance == D("62.40")
    aging = bill_queries.aging(bills.SUPPLIERS, env.company.id,
                               as_of=company_today(env.company.id))
    assert aging.totals.total == D("62.40")
    assert closing(env) == D("62.40")
    assert invoices.mismatches(env.company.id) == []
    # paid in full by payments and debits: paid
    bills.record_supplier_payment(supplier_id=env.supplier.id, amount="62.40",
                                  allocations={bill.id: "62.40"}, **env.kw)
    assert fresh(Bill, bill.id).status == "paid"
    assert bill_queries.aging(bills.SUPPLIERS, env.company.id,
                              as_of=company_today(env.company.id)).totals.total == D(0)


def test_the_debit_never_exceeds_what_the_bill_still_asks_for(env):
    order = received(env)
    bill = posted_bill(env, order)
    bills.record_supplier_payment(supplier_id=env.supplier.id, amount="70.00",
                                  allocations={bill.id: "70.00"}, **env.kw)
    done = send_back(env, order, "2")  # worth 12.60, the bill asks for 5.00 more
    bill = fresh(Bill, bill.id)
    assert bill.debited_total == D("5.00") and bill.balance == D(0) and bill.status == "paid"
    done = db.session.get(PurchaseReturn, done.id)
    assert (done.debited_total, done.supplier_credit) == (D("5.00"), D("7.60"))
    # the rest is a credit with the supplier: on its position and its statement
    assert position(env).credit == D("7.60") and position(env).balance == D("-7.60")
    assert closing(env) == D("-7.60")
    # a paid bill takes nothing more: all of the next return is a credit
    send_back(env, order, "1")
    assert fresh(Bill, bill.id).debited_total == D("5.00")
    assert position(env).balance == D("-13.90") and closing(env) == D("-13.90")
    assert invoices.mismatches(env.company.id) == []


def test_goods_no_posted_bill_billed_are_not_debited_nor_billed_later(env):
    order = received(env)
    done = send_back(env, order, "3")
    assert (fresh(PurchaseReturn, done.id).returned_value,
            db.session.get(PurchaseReturn, done.id).lines[0].bill_line_id) == (D(0), None)
    bill = posted_bill(env, fresh(type(order), order.id))
    steel = next(line for line in bill.items if line.product.sku == "STEEL")
    assert steel.quantity == D(7) and fresh(Bill, bill.id).debited_total == D(0)
    assert position(env).balance == fresh(Bill, bill.id).total
    assert invoices.mismatches(env.company.id) == []


def test_a_part_billed_line_debits_its_billed_part_and_the_next_bill_takes_what_was_kept(env):
    order = received(env)
    draft = bills.create_bill_from_order(order_id=order.id, **env.kw)
    steel = next(line for line in draft.items if line.product.sku == "STEEL")
    bills.update_line(bill_id=draft.id, line_id=steel.id, quantity="5", unit_price="5.25",
                      tax_rate="20", **env.kw)
    bill = bills.post_bill(bill_id=draft.id, **env.kw)
    assert bill.total == D("43.50")  # 5 x 6.30 + 12.00
    done = send_back(env, order, "7")  # 5 billed, 2 never were
    done = fresh(PurchaseReturn, done.id)
    assert done.lines[0].debited_quantity == D(5) and done.returned_value == D("31.50")
    assert db.session.get(Bill, bill.id).debited_total == D("31.50")
    item = db.session.get(PurchaseOrderItem, steel.order_item_id)
    assert item.billable_quantity == D(3)  # 10 received, 7 back, 5 billed and debited
    later = posted_bill(env, db.session.get(type(order), order.id))
    assert [line.quantity for line in later.items] == [D(3)]
    assert invoices.mismatches(env.company.id) == []


def test_returning_more_than_received_is_refused_and_debits_nothing(env):
    order = received(env)
    bill = posted_bill(env, order)
    with pytest.raises(ValidationError):
        send_back(env, order, "11")
    assert fresh(Bill, bill.id).debited_total == D(0)
    assert db.session.scalar(select(PurchaseReturn.id)) is None


def test_a_broken_debit_is_found(env):
    order = received(env)
    bill = posted_bill(env, order)
    send_back(env, order, "1")
    bill = fresh(Bill, bill.id)
    bill.debited_total = bill.debited_total - 1
    db.session.commit()
    assert any("debited" in problem for problem in invoices.mismatches(env.company.id))
