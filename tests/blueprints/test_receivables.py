"""Reports on the customer side: a customer's statement (its page, print page and PDF),
the receivables aging, the sales analysis and the dashboard's money figures; each with its
roles, company scope, bad input and constant query counts."""
from datetime import timedelta
from decimal import Decimal

import pytest

from erp.extensions import db
from erp.models.core import company_today
from erp.models.invoices import Invoice
from erp.services import credit_notes, invoice_totals, invoices, payments
from tests.blueprints.test_deliveries import confirmed_order, more_stock  # noqa: F401
from tests.blueprints.test_pdf import pdf_text
from tests.blueprints.test_sales import HX, env  # noqa: F401  (the fixture)
from tests.factories.catalog import CategoryFactory, ProductFactory
from tests.factories.sales import CustomerFactory

from erp.services import deliveries

D = Decimal


def issued_on(env, days_ago: int, customer=None, quantity="5") -> Invoice:
    """An invoice of a shipped order (`quantity` x 12.50, no tax), issued `days_ago` days
    before the company's today (no payment terms: due on its date)."""
    order = confirmed_order(env, quantity, customer=customer)
    deliveries.create_delivery(order_id=order.id, quantities={order.items[0].id: quantity},
                               post=True, **env.kw)
    draft = invoices.create_invoice_from_order(order_id=order.id, **env.kw)
    day = company_today(env.company.id) - timedelta(days=days_ago)
    invoices.issue_invoice(invoice_id=draft.id, on=day, **env.kw)
    db.session.rollback()
    return db.session.get(Invoice, draft.id)


def pay(env, customer, amount, days_ago=0, allocations=None):
    return payments.record_payment(
        customer_id=customer.id, amount=amount,
        payment_date=company_today(env.company.id) - timedelta(days=days_ago),
        allocations=allocations or {}, **env.kw)


def credit(env, invoice, quantity, days_ago=0):
    note = credit_notes.create_credit_note(invoice_id=invoice.id,
                                           quantities={invoice.items[0].id: quantity},
                                           **env.kw)
    day = company_today(env.company.id) - timedelta(days=days_ago)
    return credit_notes.issue_credit_note(credit_note_id=note.id, on=day, **env.kw)


# --- the statement ----------------------------------------------------------------------

@pytest.fixture
def history(env, more_stock):  # noqa: F811
    """An invoice before the period, and in it: an invoice, a payment, a credit note and
    a payment that was reversed."""
    old = issued_on(env, 100)                                   # 62.50
    new = issued_on(env, 10)                                    # 62.50
    paid = pay(env, env.customer, "20.00", 5, {str(old.id): "20.00"})
    note = credit(env, new, "1", 3)                             # 12.50
    undone = pay(env, env.customer, "10.00", 2)
    payments.reverse_payment(payment_id=undone.id, **env.kw)
    db.session.rollback()
    return old, new, paid, note, undone


def test_the_statement_runs_a_balance_over_the_last_90_days(client_as, env, history):
    old, new, paid, note, undone = history
    viewer = client_as("viewer")
    customer_page = viewer.get(f"/sales/customers/{env.customer.id}").get_data(as_text=True)
    assert f'href="/sales/customers/{env.customer.id}/statement"' in customer_page
    html = viewer.get(f"/sales/customers/{env.customer.id}/statement").get_data(as_text=True)
    today = company_today(env.company.id)
    assert f'value="{(today - timedelta(days=90)).isoformat()}"' in html
    assert 'id="statement-opening"' in html and old.invoice_number not in html
    order = [html.index(f'id="statement-{kind}-{id_}"') for kind, id_ in (
        ("invoice", new.id), ("payment", paid.id), ("credit_note", note.id),
        ("payment", undone.id), ("reversal", undone.id))]
    assert order == sorted(order)
    rows = html.split('<tr id="statement-')
    balances = [row.split("</tr>")[0].rsplit('text-end">', 1)[1].split("<")[0]
                for row in rows[1:7]]
    # opening 62.50; +62.50; -20; -12.50; -10; +10; the closing balance
    assert balances == ["62.50", "125.00", "105.00", "92.50", "82.50", "92.50"]
    closing = html.split('id="statement-closing"')[1]
    assert "92.50" in closing
    # the customer page's balance agrees with the closing balance
    assert 'id="customer-balance">92.50' in customer_page
    # a period before everything: no opening balance, the old invoice only
    start = (today - timedelta(days=200)).isoformat()
    end = (today - timedelta(days=50)).isoformat()
    html = viewer.get(f"/sales/customers/{env.customer.id}/statement?start={start}&end={end}"
                      ).get_data(as_text=True)
    assert old.invoice_number in html and new.invoice_number not in html
    assert html.split('id="statement-closing"')[1].count("62.50") >= 1


def test_the_statement_prints_and_downloads_as_pdf(client_as, env, history):
    old, new, paid, note, undone = history
    viewer = client_as("viewer")
    url = f"/sales/customers/{env.customer.id}/statement"
    html = viewer.get(f"{url}/print").get_data(as_text=True)
    assert "Zenith Retail" in html and new.invoice_number in html and 'id="pdf-button"' in html
    response = viewer.get(f"{url}/pdf")
    text = pdf_text(response)
    assert "STATEMENT" in text.upper() and new.invoice_number in text and note.credit_number in text
    assert "92.50" in text and "Opening balance" in text
    assert response.headers["Content-Disposition"].endswith(
        f"statement-{env.customer.id}-{company_today(env.company.id).isoformat()}.pdf")


def test_a_bad_period_is_explained_and_the_default_shown(client_as, env):
    viewer = client_as("viewer")
    url = f"/sales/customers/{env.customer.id}/statement"
    for query, words in (("start=garbage", "not understood"),
                         ("start=2026-05-01&end=2026-01-01", "after its end"),
                         ("start=1900-01-01&end=2026-01-01", "at most ten years"),
                         ("end=99999-01-01", "not understood")):
        for suffix in ("", "/print"):
            response = viewer.get(f"{url}{suffix}?{query}")
            assert response.status_code == 200, query
            assert words in response.get_data(as_text=True), query


def test_statement_roles_scope_and_query_count(client_as, env, other_company_client,
                                               queries_for, more_stock):  # noqa: F811
    url = f"/sales/customers/{env.customer.id}/statement"
    for suffix in ("", "/print", "/pdf"):
        assert other_company_client.get(url + suffix).status_code == 404
    assert client_as("viewer").get(url).status_code == 200
    anonymous = env.customer and client_as("viewer").application.test_client()
    assert anonymous.get(url).status_code in (302, 303)
    viewer = client_as("viewer")
    issued_on(env, 3)
    few = queries_for(viewer, url)
    for days in (1, 2, 4):
        invoice = issued_on(env, days)
        pay(env, env.customer, "5.00", days, {str(invoice.id): "5.00"})
    assert queries_for(viewer, url) == few


# --- the receivables aging --------------------------------------------------------------

@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_the_aging_buckets_open_amounts_per_customer(client_as, env, more_stock):  # noqa: F811
    other = CustomerFactory(company=env.company, name="Ajax Supplies")
    current = issued_on(env, 0)                                  # 62.50 current
    late = issued_on(env, 45)                                    # 62.50, 31-60
    pay(env, env.customer, "12.50", 0, {str(late.id): "12.50"})  # 50.00 left
    ancient = issued_on(env, 100, customer=other)               # 62.50, over 90
    viewer = client_as("viewer")
    html = viewer.get("/money/receivables-aging").get_data(as_text=True)
    zenith = html.split(f'id="aging-{env.customer.id}"')[1].split("</tr>")[0]
    cells = [cell.split("<")[0] for cell in zenith.split('text-end')[1:]]
    assert [c.split(">")[-1] for c in cells] == ["62.50", "0.00", "50.00", "0.00", "0.00",
                                                 "112.50"]
    ajax = html.split(f'id="aging-{other.id}"')[1].split("</tr>")[0]
    assert ajax.count("62.50") == 2  # over 90, and its total
    assert html.index(f'id="aging-{other.id}"') < html.index(f'id="aging-{env.customer.id}"')
    totals = html.split('id="aging-totals"')[1]
    assert 'id="aging-total-days_over_90">62.50' in totals
    assert 'id="aging-total">175.00' in totals and "3 open invoices" in totals
    # as of 40 days ago: today's invoice is not there yet, the others are younger
    as_of = (company_today(env.company.id) - timedelta(days=40)).isoformat()
    html = viewer.get(f"/money/receivables-aging?as_of={as_of}").get_data(as_text=True)
    assert 'id="aging-total-days_1_30">50.00' in html
    assert 'id="aging-total-days_31_60">62.50' in html
    assert 'id="aging-total-current">0.00' in html and 'id="aging-total">112.50' in html
    # paying an invoice in full moves it out
    pay(env, other, "62.50", 0, {str(ancient.id): "62.50"})
    html = viewer.get("/money/receivables-aging").get_data(as_text=True)
    assert f'id="aging-{other.id}"' not in html and 'id="aging-total">112.50' in html
    # the customer filter, its totals, the CSV
    html = viewer.get("/money/receivables-aging", query_string={
        "customer": current.customer.picker_label}).get_data(as_text=True)
    assert f'id="aging-{env.customer.id}"' in html and 'id="aging-total">112.50' in html
    html = viewer.get("/money/receivables-aging?customer=nobody").get_data(as_text=True)
    assert 'id="aging-total">0.00' in html
    lines = viewer.get("/money/receivables-aging?format=csv").get_data(as_text=True).splitlines()
    assert lines[0].lstrip("\ufeff") == ("customer,current,days_1_30,days_31_60,days_61_90,"
                                         "days_over_90,total,invoices,customer_id")
    assert lines[1] == f"Zenith Retail,62.50,0.00,50.00,0.00,0.00,112.50,2,{env.customer.id}"
    assert "<html" not in viewer.get("/money/receivables-aging", headers=HX).get_data(
        as_text=True)


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_aging_bad_date_roles_scope_and_query_count(client_as, env, other_company_client,
                                                    queries_for, more_stock):  # noqa: F811
    viewer = client_as("viewer")
    response = viewer.get("/money/receivables-aging?as_of=31.12.2026")
    assert response.status_code == 200 and "not understood" in response.get_data(as_text=True)
    issued_on(env, 5)
    assert "Zenith Retail" not in other_company_client.get("/money/receivables-aging"
                                                           ).get_data(as_text=True)
    assert viewer.application.test_client().get("/money/receivables-aging").status_code in (
        302, 303)
    few = queries_for(viewer, "/money/receivables-aging?per_page=100")
    for days in (10, 40, 70, 100):
        issued_on(env, days, customer=CustomerFactory(company=env.company))
    assert queries_for(viewer, "/money/receivables-aging?per_page=100") == few
    assert queries_for(viewer, "/money/receivables-aging?page=2&per_page=2") == few


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_the_aging_is_served_from_the_cache_until_an_invoice_or_a_customer_changes(
        client_as, env, other_company_client, queries_for, more_stock):  # noqa: F811
    issued_on(env, 5)
    viewer = client_as("viewer")
    first = queries_for(viewer, "/money/receivables-aging")
    assert queries_for(viewer, "/money/receivables-aging") == first - 2  # rows and totals
    assert "Zenith Retail" not in other_company_client.get("/money/receivables-aging"
                                                           ).get_data(as_text=True)
    confirmed_order(env, "1")  # an order's writes leave the report cached
    assert queries_for(viewer, "/money/receivables-aging") == first - 2
    env.customer.name = "Zenith Wholesale"
    db.session.commit()
    html = viewer.get("/money/receivables-aging").get_data(as_text=True)
    assert "Zenith Wholesale" in html and 'id="aging-total">62.50' in html
    issued_on(env, 0)
    html = viewer.get("/money/receivables-aging").get_data(as_text=True)
    assert 'id="aging-total">125.00' in html and "2 open invoices" in html
    # another page, sort or date is another entry
    html = viewer.get("/money/receivables-aging?sort=-total").get_data(as_text=True)
    assert 'id="aging-total">125.00' in html


# --- the dashboard ----------------------------------------------------------------------

def test_the_dashboard_shows_receivables_and_overdue(client_as, env, more_stock):  # noqa: F811
    viewer = client_as("viewer")
    html = viewer.get("/").get_data(as_text=True)
    assert 'id="figure-receivables"' in html
    late = issued_on(env, 10)
    issued_on(env, 0)
    html = viewer.get("/").get_data(as_text=True)
    tile = html.split('id="figure-receivables"')[1].split('id="figure-overdue"')[0]
    assert "125.00" in tile
    tile = html.split('id="figure-overdue"')[1].split("</div>\n</div>")[0]
    assert "62.50" in tile and "1 invoice past its due date" in tile
    pay(env, env.customer, "62.50", 0, {str(late.id): "62.50"})  # the cache is invalidated
    html = viewer.get("/").get_data(as_text=True)
    assert "0 invoices past their due date" in html
    assert "62.50" in html.split('id="figure-receivables"')[1].split('id="figure-overdue"')[0]
    turkish = client_as("manager")
    turkish.post("/account/preferences", data={"language": "tr"})
    assert "Alacaklar" in turkish.get("/").get_data(as_text=True)
    assert 'id="figure-receivables"' in viewer.get("/").get_data(as_text=True)


# --- the sales analysis -----------------------------------------------------------------

@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_the_sales_analysis_groups_net_sales(client_as, env, more_stock):  # noqa: F811
    category = CategoryFactory(company=env.company, name="Gadgets")
    env.product.category_id = category.id
    db.session.commit()
    other = CustomerFactory(company=env.company, name="Ajax Supplies")
    first = issued_on(env, 0)                          # 62.50
    issued_on(env, 0, customer=other, quantity="2")    # 25.00
    credit(env, first, "1")                            # -12.50
    viewer = client_as("viewer")
    html = viewer.get("/money/sales-analysis").get_data(as_text=True)
    assert html.index("Zenith Retail") < html.index("Ajax Supplies")  # by net, largest first
    assert "50.00" in html and "25.00" in html and 'id="analysis-chart"' in html
    assert "75.00" in html.split('id="analysis-total"')[1].split("</p>")[0]
    html = viewer.get("/money/sales-analysis?by=product").get_data(as_text=True)
    assert "WIDGET" in html and "75.00" in html and ">6<" in html.replace(" ", "")
    html = viewer.get("/money/sales-analysis?by=category").get_data(as_text=True)
    assert "Gadgets" in html and "75.00" in html
    month = company_today(env.company.id).strftime("%Y-%m")
    lines = viewer.get("/money/sales-analysis?by=month&format=csv").get_data(
        as_text=True).splitlines()
    assert lines[0].lstrip("\ufeff") == "month,net_sales" and lines[1] == f"{month},75.00"
    lines = viewer.get("/money/sales-analysis?by=product&format=csv").get_data(
        as_text=True).splitlines()
    assert lines[1].startswith(f"{env.product.name},WIDGET,6.000,75.00")
    # a period without sales, a bad one
    html = viewer.get("/money/sales-analysis?start=2001-01&end=2001-12").get_data(as_text=True)
    assert "Zenith Retail" not in html
    for query in ("start=nonsense", "start=2026-12&end=2026-01", "start=1900-01&end=2026-01"):
        response = viewer.get(f"/money/sales-analysis?{query}&by=everything")
        assert response.status_code == 200 and 'id="analysis-problem"' in response.get_data(
            as_text=True), query
    assert invoice_totals.mismatches(env.company.id) == []
    db.session.rollback()
    invoice_totals.rebuild(env.company.id)
    assert invoice_totals.mismatches(env.company.id) == []


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_sales_analysis_scope_roles_and_query_count(client_as, env, other_company_client,
                                                    queries_for, more_stock):  # noqa: F811
    viewer = client_as("viewer")
    issued_on(env, 0)
    assert "Zenith Retail" not in other_company_client.get("/money/sales-analysis"
                                                           ).get_data(as_text=True)
    assert viewer.application.test_client().get("/money/sales-analysis").status_code in (
        302, 303)
    counts = {by: queries_for(viewer, f"/money/sales-analysis?by={by}&per_page=100")
              for by in ("customer", "product", "category", "month")}
    for days in (0, 40, 80):
        customer = CustomerFactory(company=env.company)
        issued_on(env, days, customer=customer)
    ProductFactory(company=env.company)
    for by, count in counts.items():
        assert queries_for(viewer, f"/money/sales-analysis?by={by}&per_page=100") == count, by
    assert viewer.get("/money/sales-analysis?by=customer", headers=HX).status_code == 200


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_the_sales_analysis_is_served_from_the_cache_until_a_sale_or_a_name_changes(
        client_as, env, queries_for, more_stock):  # noqa: F811
    issued_on(env, 0)
    viewer = client_as("viewer")
    first = queries_for(viewer, "/money/sales-analysis?by=product")
    assert queries_for(viewer, "/money/sales-analysis?by=product") == first - 2
    env.product.name = "Widget Deluxe"
    db.session.commit()
    html = viewer.get("/money/sales-analysis?by=product").get_data(as_text=True)
    assert "Widget Deluxe" in html
    issued_on(env, 0)
    html = viewer.get("/money/sales-analysis?by=product").get_data(as_text=True)
    assert "125.00" in html.split('id="analysis-total"')[1].split("</p>")[0]


def test_the_rest_of_a_credited_invoice_can_be_paid(env, client_as):
    """12.10 + 50.20 is more than 62.30 in SQLite's floating point: the "not overpaid"
    check compares whole cents, so paying what a credit note left is accepted."""
    cheap = ProductFactory(company=env.company, sale_price=D("12.10"))
    dear = ProductFactory(company=env.company, sale_price=D("50.20"))
    invoice = invoices.create_invoice(customer_id=env.customer.id, **env.kw)
    for product in (cheap, dear):
        invoices.add_line(invoice_id=invoice.id, product_id=product.id, quantity="1", **env.kw)
    invoices.issue_invoice(invoice_id=invoice.id, **env.kw)
    db.session.rollback()
    credit(env, db.session.get(Invoice, invoice.id), "1")
    response = client_as("manager").post("/money/payments/new", data={
        "customer": env.customer.picker_label, "amount": "50.20", "method": "cash",
        "payment_date": company_today(env.company.id).isoformat(),
        f"alloc-{invoice.id}": "50.20"})
    assert response.status_code == 303
    db.session.rollback()
    invoice = db.session.get(Invoice, invoice.id)
    assert invoice.status == "paid" and invoice.balance == D("0.00")
    assert invoices.mismatches(env.company.id) == []


def test_a_statement_too_long_asks_for_a_shorter_period(client_as, env, history, monkeypatch):
    from erp.queries import receivables

    monkeypatch.setattr(receivables, "STATEMENT_MAX_ROWS", 2)
    old, new, paid, note, undone = history
    html = client_as("viewer").get(f"/sales/customers/{env.customer.id}/statement").get_data(
        as_text=True)
    assert 'id="statement-truncated"' in html
    assert f'id="statement-payment-{paid.id}"' in html
    assert f'id="statement-credit_note-{note.id}"' not in html
    assert f'id="statement-reversal-{undone.id}"' not in html
