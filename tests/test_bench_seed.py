"""The benchmark data generator (`flask seed-bench`): consistent data the app can go on with.

The tests use the hidden size "xs" (a hundredth of m) with batches of 50 rows instead of
5,000, so that every table is inserted in several batches, an order's lines after their
order, as at the real sizes. `BENCH_TEST_SIZE=s` (or m) also checks every invariant on
that size (size s: 2,000 products, 1,000 sales orders, 20,000 movements, ~10 s of CPU on
SQLite: left out of `make test`, the same code at a hundredth of the rows).
"""
from __future__ import annotations

import os
import re
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import case, func, select

from erp.extensions import db
from erp.models import Company, DocumentSequence, StockLevel, StockMovement, User
from erp.models.bills import Bill, SupplierPayment
from erp.models.invoices import CreditNote, Invoice, Payment
from erp.models.forms import CustomForm, FormAnswer, FormLink, FormSubmission, FormVersion
from erp.models.catalog import Product
from erp.models.purchasing import PurchaseOrder, PurchaseOrderItem
from erp.models.sales import Customer, SalesOrder, SalesOrderItem
from erp.queries.search import product_matches
from erp.seeds import bench
from erp.services import forms as form_service
from erp.services import (bills, invoice_totals, invoices, sales, sales_totals, stock,
                          valuation)

BIG = os.environ.get("BENCH_TEST_SIZE", "")
SIZE = "xs"
SMALL_BATCH = 50  # rows per INSERT at size xs: each table in several batches


def load(runner, size: str):
    result = runner.invoke(args=["seed-bench", "--size", size, "--seed", "7"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    company = db.session.scalar(select(Company).where(Company.name == bench.BENCH_COMPANY))
    assert company is not None
    return company, result.output


@pytest.fixture
def seeded(app, runner, monkeypatch):
    monkeypatch.setattr(bench, "BATCH", SMALL_BATCH)
    return load(runner, SIZE)


@pytest.mark.dialect_independent  # the scale; the PostgreSQL branches (sequences, VACUUM) run at size xs in both passes
@pytest.mark.skipif(not BIG, reason="BENCH_TEST_SIZE=s (or m) checks a real size")
def test_size_s_is_consistent(app, runner):
    seeded = load(runner, BIG)
    check_counts(seeded, BIG)
    check_ledger_and_reservations(seeded)
    check_totals_and_numbers(seeded)
    check_forms(seeded, BIG)
    check_receivables(seeded, BIG)


def test_xs_is_consistent(seeded):
    check_counts(seeded, SIZE)
    check_ledger_and_reservations(seeded)
    check_totals_and_numbers(seeded)
    check_forms(seeded, SIZE)
    check_receivables(seeded, SIZE)


def check_counts(seeded, size):
    company, output = seeded
    plan = bench.plan_for(size)
    cid = company.id

    def count(model):
        return db.session.scalar(select(func.count()).select_from(model)
                                 .where(model.company_id == cid))

    assert count(SalesOrder) == plan.sales_orders
    assert count(PurchaseOrder) == plan.purchase_orders
    assert count(StockLevel) == plan.stock_levels
    assert count(StockMovement) == plan.movements
    assert count(SalesOrderItem) >= plan.sales_orders * 4
    assert count(User) == len(bench.ROLE_USERS) + bench.VIRTUAL_USERS
    statuses = set(db.session.scalars(select(SalesOrder.status).where(
        SalesOrder.company_id == cid).distinct()))
    assert statuses == {"draft", "confirmed", "shipped", "invoiced", "cancelled"}
    oldest = db.session.scalar(select(func.min(SalesOrder.order_date)).where(
        SalesOrder.company_id == cid))
    assert (date.today() - oldest).days > 300  # spread over the last two years
    assert "Loaded size" in output


def check_ledger_and_reservations(seeded):
    company, _ = seeded
    assert stock.ledger_mismatches(company.id) == []
    assert sales_totals.mismatches(company.id) == []
    assert valuation.mismatches(company.id) == []
    # reserved = the confirmed orders' quantities per (product, warehouse), never above on hand
    expected = defaultdict(Decimal)
    rows = db.session.execute(
        select(SalesOrderItem.product_id, SalesOrder.warehouse_id, SalesOrderItem.quantity)
        .join(SalesOrder, SalesOrder.id == SalesOrderItem.order_id)
        .where(SalesOrder.company_id == company.id, SalesOrder.status == "confirmed"))
    for product_id, warehouse_id, quantity in rows:
        expected[(product_id, warehouse_id)] += Decimal(quantity)
    for level in db.session.scalars(select(StockLevel).where(
            StockLevel.company_id == company.id)):
        assert level.reserved == expected.get((level.product_id, level.warehouse_id), 0)
        assert 0 <= level.reserved <= level.on_hand
    # every shipped or invoiced line left stock with a movement pointing at it
    shipped_lines = db.session.scalar(
        select(func.count()).select_from(SalesOrderItem)
        .join(SalesOrder, SalesOrder.id == SalesOrderItem.order_id)
        .where(SalesOrder.company_id == company.id,
               SalesOrder.status.in_(["shipped", "invoiced"])))
    shipments = db.session.scalar(select(func.count()).select_from(StockMovement).where(
        StockMovement.company_id == company.id, StockMovement.kind == "sales_shipment",
        StockMovement.source_type == "sales_order_item"))
    assert shipments == shipped_lines > 0
    # their lines are shipped whole, the others' not at all (no backorders in the bench)
    whole = case((SalesOrder.status.in_(["shipped", "invoiced"]), SalesOrderItem.quantity),
                 else_=0)
    assert db.session.scalar(
        select(func.count()).select_from(SalesOrderItem)
        .join(SalesOrder, SalesOrder.id == SalesOrderItem.order_id)
        .where(SalesOrder.company_id == company.id,
               SalesOrderItem.shipped_quantity != whole)) == 0


def check_totals_and_numbers(seeded):
    company, _ = seeded
    for order in db.session.scalars(select(SalesOrder).where(
            SalesOrder.company_id == company.id)):
        items = order.items
        assert items
        for item in items:
            amounts = sales.line_amounts(item.quantity, item.unit_price,
                                         item.discount_percent, item.tax_rate)
            assert (item.subtotal, item.discount_amount, item.tax_amount, item.total) == (
                amounts.subtotal, amounts.discount, amounts.tax, amounts.total)
        assert order.subtotal == sum(i.subtotal for i in items)
        assert order.discount_total == sum(i.discount_amount for i in items)
        assert order.tax_total == sum(i.tax_amount for i in items)
        assert order.total == sum(i.total for i in items)
        assert (order.invoice_number is not None) == (order.status == "invoiced")
    for order in db.session.scalars(select(PurchaseOrder).where(
            PurchaseOrder.company_id == company.id)):
        assert order.total == sum(i.line_total for i in order.items)
        assert order.subtotal + order.tax_total == order.total
        for item in order.items:
            assert 0 <= item.received_quantity <= item.quantity
    for column in (SalesOrder.number, SalesOrder.invoice_number):
        values = [v for v in db.session.scalars(select(column).where(
            SalesOrder.company_id == company.id)) if v]
        assert len(values) == len(set(values))
    # the counters hold the last number used, per series and year
    for seq in db.session.scalars(select(DocumentSequence).where(
            DocumentSequence.company_id == company.id)):
        columns = {"SO": [SalesOrder.number], "PO": [PurchaseOrder.number],
                   "INV": [SalesOrder.invoice_number, Invoice.invoice_number],
                   "CN": [CreditNote.credit_number], "PAY": [Payment.number],
                   "BILL": [Bill.bill_number], "SPAY": [SupplierPayment.number]}[seq.series]
        last = max(filter(None, (db.session.scalar(select(func.max(column)).where(
            column.class_.company_id == company.id,
            column.like(f"{seq.series}-{seq.year}-%"))) for column in columns)))
        assert last == f"{seq.series}-{seq.year}-{seq.last_value:06d}"


def check_receivables(seeded, size):
    """Invoices, credit notes and payments in every state, their figures as the services
    keep them (the same check as after every service test) and the sales analysis' totals."""
    company, _ = seeded
    plan = bench.plan_for(size)
    count = lambda model: db.session.scalar(select(func.count()).select_from(model).where(  # noqa: E731
        model.company_id == company.id))
    assert count(Invoice) == plan.invoices and count(Payment) == plan.payments
    states = set(db.session.scalars(select(Invoice.status).where(
        Invoice.company_id == company.id).distinct()))
    assert states == {"draft", "cancelled", "issued", "partly_paid", "paid"}
    assert set(db.session.scalars(select(Payment.status).where(
        Payment.company_id == company.id).distinct())) == {"recorded", "reversed"}
    assert set(db.session.scalars(select(CreditNote.status).where(
        CreditNote.company_id == company.id).distinct())) <= {"issued", "draft"}
    assert count(CreditNote) > 0
    assert invoices.mismatches(company.id) == []
    assert invoice_totals.mismatches(company.id) == []
    # the payables: bills and supplier payments in every state, as the services keep them
    assert count(Bill) == plan.bills and count(SupplierPayment) == plan.supplier_payments
    assert set(db.session.scalars(select(Bill.status).where(
        Bill.company_id == company.id).distinct())) == {
        "draft", "cancelled", "open", "partly_paid", "paid"}
    assert set(db.session.scalars(select(SupplierPayment.status).where(
        SupplierPayment.company_id == company.id).distinct())) == {"recorded", "reversed"}
    assert bills.mismatches(company.id) == []


def check_forms(seeded, size):
    """The checklist's submissions hold what the service would have stored: their answers,
    read back into the fill form's values, parse to the same answers (a hidden field has
    none, a submitted one has its required fields)."""
    company, _ = seeded
    cid = company.id
    form = db.session.scalar(select(CustomForm).where(CustomForm.company_id == cid))
    assert form.latest_number == 2
    assert db.session.scalar(select(FormLink.category_id).where(
        FormLink.company_id == cid, FormLink.form_id == form.id)) is not None
    submissions = list(db.session.scalars(select(FormSubmission).where(
        FormSubmission.company_id == cid).order_by(FormSubmission.id)))
    assert len(submissions) == bench.plan_for(size).form_submissions
    assert {s.status for s in submissions} == {"draft", "submitted"}
    assert [s.created_at for s in submissions] == sorted(s.created_at for s in submissions)
    versions = {v.id: v for v in db.session.scalars(select(FormVersion).where(
        FormVersion.form_id == form.id))}
    assert sorted(v.number for v in versions.values()) == [1, 2]
    for submission in submissions:
        version = versions[submission.version_id]
        answers = {answer.field_id: answer for answer in submission.answers}
        assert answers
        raw = {field.key: form_service.raw_value(field, answers.get(field.id))
               for field in version.fields if field.answers}
        parsed = form_service.parse_answers(version, raw, cid,
                                            submit=submission.status == "submitted")
        stored = {field.key for field in version.fields if field.id in answers}
        assert {key for key, value in parsed.items() if value is not None} == stored
        assert (submission.submitted_at is None) == (submission.status == "draft")
    no_answers = db.session.scalar(select(func.count()).select_from(FormAnswer).where(
        FormAnswer.company_id == cid, FormAnswer.field_key == "f2",
        FormAnswer.value_bool.is_(False)))
    assert no_answers > 0


def test_every_product_is_found_by_search_and_so_are_new_ones(seeded):
    """On SQLite the search table is filled once after the load, with its trigger off
    during it: it must hold every bench product, folded, and the trigger be back."""
    company, _ = seeded
    ids = set(db.session.scalars(select(Product.id).where(Product.company_id == company.id)))
    assert len(ids) == bench.plan_for(SIZE).products
    in_company = Product.company_id == company.id
    assert set(db.session.scalars(select(Product.id).where(
        in_company, product_matches("bp-0")))) == ids
    first = db.session.scalar(select(Product).where(in_company).order_by(Product.id))
    assert db.session.scalars(select(Product.id).where(
        in_company, product_matches(first.name.upper()))).all() == [first.id]
    new = Product(company_id=company.id, sku="NEW-IZMIR-1", name="Işık lamp")
    db.session.add(new)
    db.session.flush()
    assert db.session.scalars(select(Product.id).where(
        in_company, product_matches("ışık"))).all() == [new.id]
    db.session.rollback()


def test_the_app_goes_on_numbering_and_confirming(seeded, client):
    company, _ = seeded
    admin = db.session.scalar(select(User).where(User.email == f"admin@{bench.BENCH_DOMAIN}"))
    level = db.session.scalar(select(StockLevel).where(
        StockLevel.company_id == company.id, StockLevel.on_hand - StockLevel.reserved >= 5)
        .order_by(StockLevel.id).limit(1))
    # a customer without a credit limit: the generated orders ignore the limits
    customer_id = db.session.scalar(
        select(SalesOrder.customer_id).join(SalesOrder.customer)
        .where(SalesOrder.company_id == company.id, Customer.credit_limit == 0).limit(1))
    year = date.today().year
    last = db.session.scalar(select(DocumentSequence.last_value).where(
        DocumentSequence.company_id == company.id, DocumentSequence.series == "SO",
        DocumentSequence.year == year))
    order = sales.create_order(company_id=company.id, user=admin, customer_id=customer_id,
                               warehouse_id=level.warehouse_id, order_date=date.today())
    assert order.number == f"SO-{year}-{last + 1:06d}"
    sales.add_line(company_id=company.id, user=admin, order_id=order.id,
                   product_id=level.product_id, quantity=Decimal(5))
    confirmed = sales.confirm_order(company_id=company.id, order_id=order.id, user=admin)
    assert confirmed.status == "confirmed"
    shipped = sales.ship_order(company_id=company.id, order_id=order.id, user=admin)
    invoiced = sales.invoice_order(company_id=company.id, order_id=shipped.id, user=admin)
    assert invoiced.invoice_number.startswith(f"INV-{year}-")
    assert stock.ledger_mismatches(company.id) == []
    assert sales_totals.mismatches(company.id) == []
    assert valuation.mismatches(company.id) == []
    # a bench user logs in with the documented password and sees the orders
    response = client.post("/login", data={"email": f"user001@{bench.BENCH_DOMAIN}",
                                           "password": bench.BENCH_PASSWORD})
    assert response.status_code == 303
    assert client.get("/sales/orders?page=2").status_code == 200


def test_the_checklist_is_filtered_and_filled_on(seeded, client):
    """The generated submissions answer the list's field filters, and the form takes a new
    submission and a new field (version 3, key f9) like one made in the app."""
    company, _ = seeded
    form = db.session.scalar(select(CustomForm).where(CustomForm.company_id == company.id))
    failed = set(db.session.scalars(select(FormAnswer.submission_id).where(
        FormAnswer.form_id == form.id, FormAnswer.field_key == "f2",
        FormAnswer.value_bool.is_(False))))
    response = client.post("/login", data={"email": f"user001@{bench.BENCH_DOMAIN}",
                                           "password": bench.BENCH_PASSWORD})
    assert response.status_code == 303
    page = client.get(f"/forms/{form.id}/submissions?f2=no&per_page=100").get_data(as_text=True)
    shown = {int(n) for n in re.findall(r'id="submission-(\d+)"', page)}
    assert shown and shown <= failed and len(shown) == min(len(failed), 100)
    admin = db.session.scalar(select(User).where(User.email == f"admin@{bench.BENCH_DOMAIN}"))
    field = form_service.add_field(company_id=company.id, form_id=form.id, user=admin,
                                   label="Seal number", kind="text")
    assert field.key == "f9"
    submitted = form_service.save_submission(
        company_id=company.id, form_id=form.id, user=admin, submit=True,
        answers={"f2": "yes", "f3": "4.5", "f9": "S-1"})
    assert submitted.status == "submitted"
    assert db.session.get(FormVersion, submitted.version_id).number == 3


def test_refuses_a_database_that_has_a_bench_company(seeded, runner):
    result = runner.invoke(args=["seed-bench", "--size", SIZE])
    assert result.exit_code != 0
    assert "already has a company named 'Bench Co'" in result.output
    assert db.session.scalar(select(func.count()).select_from(Company).where(
        Company.name == bench.BENCH_COMPANY)) == 1


@pytest.mark.dialect_independent  # argument checking
def test_unknown_size_is_refused(runner):
    result = runner.invoke(args=["seed-bench", "--size", "xxl"])
    assert result.exit_code != 0
    assert "xxl" in result.output
