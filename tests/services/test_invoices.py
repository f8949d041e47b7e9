"""Invoice rules: quantities invoiced never exceed what was shipped, a manager issues,
issued numbers are unique and gapless under concurrent issuing (PostgreSQL), and every
invoice's stored figures add up to its lines."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models.invoices import Invoice, Payment
from erp.services import (InvalidTransition, PermissionDenied, ValidationError, credit_notes,
                          invoices, payments, sales)
from tests.factories.core import UserFactory
from tests.factories.sales import CustomerFactory
from tests.services.test_sales import env, fresh, new_order  # noqa: F401  (the fixture)
from tests.services.test_sales_concurrency import run_threads

D = Decimal


def shipped(env, lines):
    order = new_order(env, lines)
    for step in (sales.confirm_order, sales.ship_order):
        step(order_id=order.id, **env.kw)
    return fresh(order.id)


def direct(env, quantity="1") -> Invoice:
    invoice = invoices.create_invoice(customer_id=env.customer.id, **env.kw)
    invoices.add_line(invoice_id=invoice.id, product_id=env.service.id, quantity=quantity,
                      unit_price="10.05", tax_rate="18", **env.kw)
    return invoice


def test_an_invoice_takes_the_shipped_lines_once_and_a_manager_issues_it(env):
    order = shipped(env, [(env.widget, "2", "12.50"), (env.service, "1", "80")])
    staff = UserFactory(company=env.company, role="staff")
    draft = invoices.create_invoice_from_order(company_id=env.company.id, order_id=order.id,
                                               user=staff)
    assert [(line.quantity, line.total) for line in draft.items] == [(D(2), D("25.00")),
                                                                     (D(1), D("80.00"))]
    with pytest.raises(InvalidTransition, match="invoiced already"):
        invoices.create_invoice_from_order(order_id=order.id, **env.kw)
    with pytest.raises(PermissionDenied):
        invoices.issue_invoice(company_id=env.company.id, invoice_id=draft.id, user=staff)
    with pytest.raises(InvalidTransition):  # a draft of an order's goods keeps its lines
        invoices.add_line(invoice_id=draft.id, product_id=env.widget.id, quantity="1",
                          **env.kw)
    issued = invoices.issue_invoice(invoice_id=draft.id, **env.kw)
    number = issued.invoice_number
    assert invoices.issue_invoice(invoice_id=draft.id, **env.kw).invoice_number == number
    assert fresh(order.id).status == "invoiced"
    assert invoices.mismatches(env.company.id) == []


def test_a_too_large_invoice_is_refused_and_writes_nothing(env):
    invoice = invoices.create_invoice(customer_id=env.customer.id, **env.kw)
    for _ in range(2):
        try:
            invoices.add_line(invoice_id=invoice.id, product_id=env.service.id,
                              quantity="99999999999", unit_price="9999999", **env.kw)
        except ValidationError:
            pass
    db.session.rollback()
    assert db.session.get(Invoice, invoice.id).items == []


def test_every_invoices_figures_add_up_to_its_lines(env):
    """Like the stock ledger against the levels: totals are the sums of the lines' rounded
    amounts, and what was issued says the same."""
    for quantity in ("1", "3", "7.5"):
        invoices.issue_invoice(invoice_id=direct(env, quantity).id, **env.kw)
    direct(env, "2")  # a draft
    order = shipped(env, [(env.widget, "3", "1.15")])
    sales.invoice_order(order_id=order.id, **env.kw)
    assert invoices.mismatches(env.company.id) == []
    total = sum(line.total for invoice in db.session.scalars(select(Invoice))
                for line in invoice.items)
    assert total == sum(invoice.total for invoice in db.session.scalars(select(Invoice)))
    # a broken figure is found
    invoice = db.session.scalar(select(Invoice).where(Invoice.status == "issued"))
    invoice.total += D("0.01")
    assert invoices.mismatches(env.company.id) != []
    db.session.rollback()


@pytest.mark.postgresql_only
def test_concurrent_issuing_gives_unique_gapless_numbers(app, env):
    drafts = [direct(env).id for _ in range(8)]
    empty = [invoices.create_invoice(customer_id=env.customer.id, **env.kw).id
             for _ in range(2)]  # refused at issue: their numbers are never taken
    ids = drafts[:4] + empty + drafts[4:]

    def issue(i, actor):
        try:
            return invoices.issue_invoice(company_id=env.company.id, invoice_id=ids[i],
                                          user=actor).invoice_number
        except ValidationError:
            return None

    numbers = run_threads(app, env.user.id, issue, n=len(ids))
    issued = sorted(number for number in numbers if number)
    assert len(issued) == 8 and [int(n[-6:]) for n in issued] == list(range(1, 9))


@pytest.mark.postgresql_only
def test_two_drafts_racing_for_one_order_never_invoice_twice(app, env):
    order = shipped(env, [(env.widget, "2", "12.50")])

    def draft(i, actor):
        try:
            invoices.create_invoice_from_order(company_id=env.company.id, order_id=order.id,
                                               user=actor)
            return "ok"
        except InvalidTransition:
            return "refused"

    assert sorted(run_threads(app, env.user.id, draft, n=4)) == ["ok", "refused", "refused",
                                                                 "refused"]
    assert fresh(order.id).items[0].invoiced_quantity == D(2)


# --- credit notes -------------------------------------------------------------------------

def issued_invoice(env, quantity="4") -> Invoice:
    invoice = direct(env, quantity)
    return invoices.issue_invoice(invoice_id=invoice.id, **env.kw)


def test_credit_notes_never_credit_more_than_was_invoiced(env):
    invoice = issued_invoice(env, "4")  # 4 x 10.05 + 18 % = 47.44
    line_id = invoice.items[0].id
    with pytest.raises(ValidationError) as error:
        credit_notes.create_credit_note(invoice_id=invoice.id, quantities={line_id: "5"},
                                        **env.kw)
    assert "only 4 can be credited, 5 given" in error.value.field_errors[f"qty-{line_id}"][0]
    for bad in ("-1", "x", "1e9"):
        with pytest.raises(ValidationError):
            credit_notes.create_credit_note(invoice_id=invoice.id, quantities={line_id: bad},
                                            **env.kw)
    first = credit_notes.create_credit_note(invoice_id=invoice.id, quantities={line_id: "3"},
                                            **env.kw)
    second = credit_notes.create_credit_note(invoice_id=invoice.id, quantities={line_id: "3"},
                                             **env.kw)
    staff = UserFactory(company=env.company, role="staff")
    with pytest.raises(PermissionDenied):
        credit_notes.issue_credit_note(company_id=env.company.id, credit_note_id=first.id,
                                       user=staff)
    first = credit_notes.issue_credit_note(credit_note_id=first.id, **env.kw)
    assert first.credit_number.startswith("CN-") and first.total == D("35.58")
    with pytest.raises(ValidationError, match="only 1 can be credited"):  # two drafts, one fits
        credit_notes.issue_credit_note(credit_note_id=second.id, **env.kw)
    invoice = db.session.get(Invoice, invoice.id)
    db.session.refresh(invoice)
    assert (invoice.credited_total, invoice.balance, invoice.status) == (D("35.58"),
                                                                       D("11.86"), "issued")
    last = credit_notes.create_credit_note(invoice_id=invoice.id, quantities={line_id: "1"},
                                           **env.kw)
    credit_notes.issue_credit_note(credit_note_id=last.id, **env.kw)
    db.session.refresh(invoice)
    assert invoice.balance == D(0) and invoice.status == "paid"  # nothing is owed
    with pytest.raises(InvalidTransition):
        credit_notes.create_credit_note(invoice_id=invoice.id, quantities={line_id: "1"},
                                        **env.kw)
    assert invoices.mismatches(env.company.id) == []


# --- payments -------------------------------------------------------------------------------

def pay(env, amount, allocations=None, customer=None):
    return payments.record_payment(customer_id=(customer or env.customer).id, amount=amount,
                                   method="bank_transfer", reference="TX-1",
                                   allocations=allocations or {}, **env.kw)


def test_payments_are_allocated_partly_and_reversed(env):
    a, b = issued_invoice(env, "1"), issued_invoice(env, "2")  # 11.86 and 23.72
    first = pay(env, "10.00", {a.id: "10.00"})
    assert first.number.startswith("PAY-") and first.unallocated == D(0)
    assert db.session.get(Invoice, a.id).status == "partly_paid"
    second = pay(env, "50", {a.id: "1.86", b.id: "20"})
    assert second.unallocated == D("28.14")  # the customer's credit
    assert payments.customer_credit(env.company.id, env.customer.id) == D("28.14")
    assert [db.session.get(Invoice, i).status for i in (a.id, b.id)] == ["paid", "partly_paid"]
    # over-allocation: above the invoice's balance, above the payment, a paid invoice
    for allocations, field in (({b.id: "3.73"}, f"alloc-{b.id}"), ({a.id: "1"}, f"alloc-{a.id}")):
        with pytest.raises(ValidationError) as error:
            payments.allocate_payment(payment_id=second.id, allocations=allocations, **env.kw)
        assert field in error.value.field_errors
    with pytest.raises(ValidationError) as error:
        pay(env, "2", {b.id: "3"})  # more than the payment holds
    assert "more than the payment has" in error.value.field_errors["amount"][0]
    payments.allocate_payment(payment_id=second.id, allocations={b.id: "3.72"}, **env.kw)
    assert db.session.get(Invoice, b.id).status == "paid"
    assert invoices.mismatches(env.company.id) == []
    # reversing the second payment opens both invoices again
    payments.reverse_payment(payment_id=second.id, **env.kw)
    payments.reverse_payment(payment_id=second.id, **env.kw)  # a replay does nothing
    db.session.rollback()
    a, b = db.session.get(Invoice, a.id), db.session.get(Invoice, b.id)
    assert (a.status, a.balance, b.status, b.balance) == ("partly_paid", D("1.86"), "issued",
                                                          D("23.72"))
    assert payments.customer_credit(env.company.id, env.customer.id) == D(0)
    assert invoices.mismatches(env.company.id) == []


def test_a_payment_of_another_customer_or_company_is_refused(env, other_company):
    invoice = issued_invoice(env, "1")
    other = CustomerFactory(company=env.company)
    with pytest.raises(ValidationError) as error:
        pay(env, "5", {invoice.id: "5"}, customer=other)
    assert f"alloc-{invoice.id}" in error.value.field_errors
    with pytest.raises(ValidationError) as error:
        payments.record_payment(company_id=other_company.id, user=None,
                                customer_id=env.customer.id, amount="5")
    assert "customer" in error.value.field_errors
    for amount in ("-5", "0", "abc", "1e20", "1.234"):
        with pytest.raises(ValidationError):
            pay(env, amount)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


@pytest.mark.postgresql_only
def test_two_payments_racing_for_one_invoice_never_over_pay_it(app, env):
    invoice = issued_invoice(env, "1")  # 11.86 open
    racing_payments_never_over_pay(app, env, invoice, payments.record_payment,
                                   customer_id=env.customer.id)


def racing_payments_never_over_pay(app, env, document, record_payment, **party) -> None:
    """Four payments of 10 race for a document with less than 20 open: one is recorded,
    the others are refused (customer payments, supplier payments)."""
    def record(i, actor):
        try:
            record_payment(company_id=env.company.id, user=actor, amount="10",
                           allocations={document.id: "10"}, **party)
            return "ok"
        except ValidationError:
            return "refused"

    assert sorted(run_threads(app, env.user.id, record, n=4)) == ["ok", "refused", "refused",
                                                                 "refused"]
    db.session.rollback()
    assert db.session.get(type(document), document.id).paid_total == D(10)
    assert invoices.mismatches(env.company.id) == []
