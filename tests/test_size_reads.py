"""Reads whose cost must not grow with the size of their tables (#17): the plans of the
pages' statements on the benchmark's data (`seed-bench --size xs`, its planner statistics
gathered as after every bench load), checked on both databases."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models.sales import SalesOrder
from erp.queries import invoices as invoice_queries
from tests.test_bench_seed import SIZE, SMALL_BATCH, load

pytestmark = pytest.mark.dialect_dependent


@pytest.fixture
def bench_data(app, runner, monkeypatch):
    from erp.seeds import bench

    monkeypatch.setattr(bench, "BATCH", SMALL_BATCH)
    company, _output = load(runner, SIZE)
    return company


def statements_of(read) -> list[tuple[str, object]]:
    """The SELECTs `read()` sends, with their parameters."""
    from sqlalchemy import event

    sent: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        read()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return [(sql, params) for sql, params in sent if sql.lstrip().upper().startswith("SELECT")]


def plan(sql: str, params) -> str:
    """SQLite's plan as its statistics choose it; PostgreSQL's with sequential scans priced
    out (the bench's xs tables are a few pages: reading them whole is cheapest there), so
    it shows whether an index serves the statement."""
    connection = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        return " | ".join(row[-1] for row in connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + sql, params))
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    try:
        return " | ".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + sql,
                                                                        params))
    finally:
        db.session.rollback()


def test_an_orders_invoices_are_read_by_its_index_when_most_invoices_bill_no_order(
        bench_data):
    """The bench's invoices are direct (no order): SQLite's statistics of a full index on
    order_id counted them all as one order's and read the whole table for an order's page
    (`SCAN invoices`); the index of the documents that name an order has none of them."""
    order = db.session.scalar(select(SalesOrder).where(
        SalesOrder.company_id == bench_data.id,
        SalesOrder.status.in_(("shipped", "invoiced"))).limit(1))
    [(sql, params)] = statements_of(lambda: invoice_queries.order_invoices(order))
    found = plan(sql, params)
    assert "ix_invoices_order_id" in found, found
    assert "SCAN invoices" not in found and "Seq Scan" not in found, found


def test_a_filtered_submission_list_probes_each_submission_it_reads(bench_data, app):
    """A number filter ("Temperature at least 8") used to read every matching answer into
    a list before the page's first row (29,000 at size l, twice a request: the page and
    its count); each submission the list reads is probed for its answer instead. The rows
    are those the answers say."""
    from erp.models.forms import CustomForm, FormAnswer, FormSubmission
    from tests.conftest import login

    form = db.session.scalar(select(CustomForm).where(CustomForm.company_id == bench_data.id))
    client = login(app.test_client(), "viewer@bench.example", "bench-password-1")
    url = f"/forms/{form.id}/submissions?f3_min=8&sort=-created&per_page=100"
    sent = statements_of(lambda: client.get(url))
    page = [(sql, params) for sql, params in sent
            if "ORDER BY form_submissions.created_at DESC" in sql]
    assert len(page) == 1
    found = plan(*page[0])
    if db.engine.dialect.name == "sqlite":
        assert "LIST SUBQUERY" not in found and "CORRELATED" in found, found
    expected = list(db.session.scalars(
        select(FormSubmission.id).where(
            FormSubmission.company_id == bench_data.id, FormSubmission.form_id == form.id,
            FormSubmission.id.in_(select(FormAnswer.submission_id).where(
                FormAnswer.field_key == "f3", FormAnswer.value_number >= 8)))
        .order_by(FormSubmission.created_at.desc(), FormSubmission.id.desc()).limit(100)))
    body = client.get(url).get_data(as_text=True)
    assert expected
    for submission_id in expected:
        assert f"/forms/{form.id}/submissions/{submission_id}\"" in body


def test_a_forms_csv_reads_plain_rows_not_objects_nor_file_bytes(bench_data, app):
    """The export of a form's submissions built an ORM object of every submission and
    answer (most of its time at size l, #17) and read the files' bytes with the answers."""
    from sqlalchemy import event

    from erp.models.forms import CustomForm, FormAnswer, FormSubmission
    from tests.conftest import login

    form = db.session.scalar(select(CustomForm).where(CustomForm.company_id == bench_data.id))
    client = login(app.test_client(), "viewer@bench.example", "bench-password-1")
    loaded = []

    def count(target, context):
        loaded.append(type(target).__name__)

    for model in (FormSubmission, FormAnswer):
        event.listen(model, "load", count)
    try:
        sent = statements_of(lambda: client.get(f"/forms/{form.id}/submissions?format=csv")
                             .get_data())
    finally:
        for model in (FormSubmission, FormAnswer):
            event.remove(model, "load", count)
    assert loaded == []
    assert not [sql for sql, _ in sent if "file_data" in sql]
    assert any("form_answers.value_number" in sql for sql, _ in sent)
