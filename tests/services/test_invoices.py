"""Invoice rules: quantities invoiced never exceed what was shipped, a manager issues,
issued numbers are unique and gapless under concurrent issuing (PostgreSQL), and every
invoice's stored figures add up to its lines."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models.invoices import Invoice
from erp.services import InvalidTransition, PermissionDenied, ValidationError, invoices, sales
from tests.factories.core import UserFactory
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
