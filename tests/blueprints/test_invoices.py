"""Invoice pages: an invoice of what an order shipped (partly, then the rest), a direct
invoice with its line editor, issuing (a manager's, numbered from INV), cancelling a
draft, the list with its filters (overdue) and CSV, print page and PDF, roles, company
scope, bad input and constant query counts."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models.core import company_today
from erp.models.invoices import CreditNote, Invoice, Payment
from erp.models.sales import SalesOrder
from erp.services import deliveries, invoices
from tests.blueprints.test_deliveries import confirmed_order, more_stock  # noqa: F401
from tests.blueprints.test_pdf import pdf_text
from tests.blueprints.test_sales import HX, env  # noqa: F401  (the fixture)
from tests.factories.catalog import ProductFactory
from tests.factories.sales import CustomerFactory

D = Decimal


def shipped(env, quantity="5", ship="5", customer=None) -> SalesOrder:
    order = confirmed_order(env, quantity, customer=customer)
    deliveries.create_delivery(order_id=order.id, quantities={order.items[0].id: ship},
                               post=True, **env.kw)
    db.session.rollback()
    return db.session.get(SalesOrder, order.id)


def issued(env, customer=None) -> Invoice:
    order = shipped(env, customer=customer)
    invoice = invoices.invoice_order(order_id=order.id, **env.kw)
    db.session.rollback()
    return db.session.get(Invoice, invoice.id)


def test_an_order_is_invoiced_for_what_it_shipped_part_by_part(client_as, env):
    staff, manager = client_as("staff"), client_as("manager")
    order = shipped(env, "5", "2")
    page = staff.get(f"/sales/orders/{order.id}").get_data(as_text=True)
    assert f'href="/sales/orders/{order.id}/invoice"' in page
    assert "Create a draft invoice" in staff.get(f"/sales/orders/{order.id}/invoice").get_data(
        as_text=True)
    response = staff.post(f"/sales/orders/{order.id}/invoice")
    first = db.session.scalar(select(Invoice))
    assert response.headers["Location"].endswith(f"/money/invoices/{first.id}")
    assert first.status == "draft" and first.invoice_number is None
    assert [line.quantity for line in first.items] == [D(2)] and first.total == D("25.00")
    # nothing more to invoice until more is shipped: no button, and a replay is refused
    page = staff.get(f"/sales/orders/{order.id}").get_data(as_text=True)
    assert f'href="/sales/orders/{order.id}/invoice"' not in page
    staff.post(f"/sales/orders/{order.id}/invoice")
    db.session.rollback()
    assert db.session.query(Invoice).count() == 1
    # staff drafts, a manager issues
    assert staff.post(f"/money/invoices/{first.id}/issue").status_code == 403
    assert manager.post(f"/money/invoices/{first.id}/issue").status_code == 303
    db.session.rollback()
    first = db.session.get(Invoice, first.id)
    assert first.status == "issued" and first.invoice_number.startswith("INV-")
    assert first.issued["total"] == "25.00" and first.balance == D("25.00")
    assert first.due_date == company_today(env.company.id)  # no terms: due on receipt
    # the rest ships: the second invoice takes it, and the order is invoiced once issued
    deliveries.create_delivery(order_id=order.id, quantities={order.items[0].id: "3"},
                               post=True, **env.kw)
    manager.post(f"/sales/orders/{order.id}/invoice")
    second = db.session.scalar(select(Invoice).where(Invoice.id != first.id))
    assert [line.quantity for line in second.items] == [D(3)]
    manager.post(f"/money/invoices/{second.id}/issue")
    db.session.rollback()
    assert db.session.get(SalesOrder, order.id).status == "invoiced"
    page = manager.get(f"/sales/orders/{order.id}").get_data(as_text=True)
    assert f'href="/money/invoices/{first.id}"' in page and f'href="/money/invoices/{second.id}"' in page
    assert invoices.mismatches(env.company.id) == []


def test_cancelling_a_draft_gives_its_quantities_back(client_as, env):
    staff = client_as("staff")
    order = shipped(env)
    draft = invoices.create_invoice_from_order(order_id=order.id, **env.kw)
    assert staff.post(f"/money/invoices/{draft.id}/cancel").status_code == 303
    db.session.rollback()
    assert db.session.get(Invoice, draft.id).status == "cancelled"
    assert db.session.get(SalesOrder, order.id).items[0].invoiced_quantity == D(0)
    again = invoices.create_invoice_from_order(order_id=order.id, **env.kw)
    assert again.items[0].quantity == D(5)
    # an issued invoice is never cancelled
    invoices.issue_invoice(invoice_id=again.id, **env.kw)
    response = client_as("manager").post(f"/money/invoices/{again.id}/cancel",
                                         follow_redirects=True)
    assert "only a draft invoice can be cancelled" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Invoice, again.id).status == "issued"


def test_a_direct_invoice_with_the_line_editor(client_as, env):
    staff = client_as("staff")
    response = staff.post("/money/invoices/new",
                          data={"customer": env.customer.picker_label, "notes": "Consulting"})
    invoice = db.session.scalar(select(Invoice))
    assert response.headers["Location"].endswith(f"/money/invoices/{invoice.id}")
    response = staff.post(f"/money/invoices/{invoice.id}/lines", headers=HX, data={
        "product": env.product.sku, "quantity": "2", "discount_percent": "10",
        "tax_rate": "20"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "27.00" in body  # 25.00 - 2.50 + 4.50
    assert f'id="invoice-{invoice.id}-totals" class="card h-100" hx-swap-oob="true"' in body
    for value in ("-1", "x", "1e30", "99999999999"):
        response = staff.post(f"/money/invoices/{invoice.id}/lines",
                              data={"product": env.product.sku, "quantity": value})
        assert response.status_code == 422, value
        assert "is-invalid" in response.get_data(as_text=True), value
    response = staff.post(f"/money/invoices/{invoice.id}/lines",
                          data={"product": "NOPE", "quantity": "1"})
    assert response.status_code == 422 and "Choose a product." in response.get_data(as_text=True)
    db.session.rollback()
    invoice = db.session.get(Invoice, invoice.id)
    assert len(invoice.items) == 1 and invoice.total == D("27.00")
    line_id = invoice.items[0].id
    staff.post(f"/money/invoices/{invoice.id}/lines/{line_id}",
               data={"quantity": "4", "unit_price": "10", "tax_rate": "0"})
    db.session.rollback()
    assert db.session.get(Invoice, invoice.id).total == D("40.00")  # a blank discount: none
    client_as("manager").post(f"/money/invoices/{invoice.id}/issue")
    response = staff.post(f"/money/invoices/{invoice.id}/lines/{line_id}",
                          data={"quantity": "1"})
    assert response.status_code == 303  # issued: refused with a message, nothing changed
    db.session.rollback()
    invoice = db.session.get(Invoice, invoice.id)
    assert invoice.total == D("40.00") and invoice.issued["lines"][0]["quantity"] == "4.000"
    # an empty draft cannot be issued; an unknown customer is refused next to the field
    empty = invoices.create_invoice(customer_id=env.customer.id, **env.kw)
    page = client_as("manager").post(f"/money/invoices/{empty.id}/issue",
                                     follow_redirects=True).get_data(as_text=True)
    assert "has no lines" in page
    response = staff.post("/money/invoices/new", data={"customer": "Nobody [#999999]"})
    assert response.status_code == 422 and "Choose a customer." in response.get_data(
        as_text=True)
    assert invoices.mismatches(env.company.id) == []


def test_print_page_and_pdf(client_as, env):
    invoice = issued(env)
    viewer = client_as("viewer")
    html = viewer.get(f"/money/invoices/{invoice.id}/print").get_data(as_text=True)
    assert invoice.invoice_number in html and "Zenith Retail" in html and "WIDGET" in html
    assert "Due date" in html and "doc-draft" not in html
    response = viewer.get(f"/money/invoices/{invoice.id}/pdf")
    text = pdf_text(response)
    assert invoice.invoice_number in text and "62.50" in text and "Zenith Retail" in text
    assert response.headers["Content-Disposition"].endswith(f"{invoice.invoice_number}.pdf")


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_the_list_filters_overdue_and_exports(client_as, env):
    client = client_as("viewer")
    other = CustomerFactory(company=env.company, name="Other Customer")
    late, fresh = issued(env), issued(env, customer=other)
    late.due_date = company_today(env.company.id) - timedelta(days=5)
    db.session.commit()
    draft = invoices.create_invoice(customer_id=env.customer.id, **env.kw)
    numbers = {late.number, fresh.number, f"Draft invoice {draft.id}"}

    def shown(query: str) -> set[str]:
        html = client.get(f"/money/invoices?{query}").get_data(as_text=True)
        return {number for number in numbers if number in html}

    assert shown("") == numbers
    assert shown("overdue=1") == {late.number}
    assert f'id="invoice-{late.id}-overdue"' in client.get("/money/invoices").get_data(
        as_text=True)
    assert shown("status=draft") == {f"Draft invoice {draft.id}"}
    assert shown("customer=other+cust") == {fresh.number}
    assert shown("overdue=nonsense&date_from=garbage") == numbers
    fragment = client.get("/money/invoices?overdue=1", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and late.number in fragment
    lines = client.get("/money/invoices?format=csv&status=issued").get_data(
        as_text=True).splitlines()
    assert lines[0].lstrip("\ufeff").startswith("number,invoice_date,due_date,customer")
    assert len(lines) == 3


def test_roles_and_another_companys_invoices(client_as, env, other_company_client):
    invoice = issued(env)
    order_id = invoice.order_id
    viewer = client_as("viewer")
    for url in ("/money/invoices", f"/money/invoices/{invoice.id}",
                f"/money/invoices/{invoice.id}/print", f"/money/invoices/{invoice.id}/pdf"):
        assert viewer.get(url).status_code == 200, url
    assert viewer.get("/money/invoices/new").status_code == 403
    assert viewer.post(f"/sales/orders/{order_id}/invoice").status_code == 403
    for url in (f"/money/invoices/{invoice.id}", f"/money/invoices/{invoice.id}/print",
                f"/money/invoices/{invoice.id}/pdf", f"/sales/orders/{order_id}/invoice"):
        assert other_company_client.get(url).status_code == 404, url
    for url in (f"/money/invoices/{invoice.id}/issue", f"/money/invoices/{invoice.id}/cancel",
                f"/money/invoices/{invoice.id}/lines", f"/sales/orders/{order_id}/invoice"):
        assert other_company_client.post(url, data={"product": "WIDGET",
                                                    "quantity": "1"}).status_code == 404, url
    assert invoice.number not in other_company_client.get("/money/invoices").get_data(
        as_text=True)
    response = other_company_client.post("/money/invoices/new", data={
        "customer": f"x [#{env.customer.id}]"})
    assert response.status_code == 422  # another company's customer is no customer


def test_list_and_record_query_counts_are_constant(client_as, env, queries_for):
    client = client_as("viewer")
    invoice = issued(env, customer=CustomerFactory(company=env.company))
    few = queries_for(client, "/money/invoices?per_page=100")
    few_hx = queries_for(client, "/money/invoices?per_page=100&overdue=1", headers=HX)
    record = queries_for(client, f"/money/invoices/{invoice.id}")
    for _ in range(5):
        issued(env, customer=CustomerFactory(company=env.company))
    assert queries_for(client, "/money/invoices?per_page=100") == few
    assert queries_for(client, "/money/invoices?per_page=100&overdue=1", headers=HX) == few_hx
    wide = invoices.create_invoice(customer_id=env.customer.id, **env.kw)
    for product in (env.product, ProductFactory(company=env.company), env.product):
        invoices.add_line(invoice_id=wide.id, product_id=product.id, quantity="1", **env.kw)
    invoices.issue_invoice(invoice_id=wide.id, **env.kw)
    assert queries_for(client, f"/money/invoices/{wide.id}") == record
    # a deep page answers
    assert client.get("/money/invoices?page=500").status_code == 200


def test_credit_note_pages_and_pdf(client_as, env, other_company_client):
    invoice = issued(env)  # 5 x 12.50 = 62.50
    line_id = invoice.items[0].id
    staff, manager = client_as("staff"), client_as("manager")
    form = staff.get(f"/money/invoices/{invoice.id}/credit").get_data(as_text=True)
    assert f'name="qty-{line_id}" value="5"' in form  # a full credit, prefilled
    response = staff.post(f"/money/invoices/{invoice.id}/credit", data={f"qty-{line_id}": "6"})
    assert response.status_code == 422
    assert "only 5 can be credited, 6 given" in response.get_data(as_text=True)
    response = staff.post(f"/money/invoices/{invoice.id}/credit",
                          data={f"qty-{line_id}": "2", "reason": "Two came back broken"})
    note_id = db.session.scalar(select(CreditNote.id))
    assert response.headers["Location"].endswith(f"/money/credit-notes/{note_id}")
    assert staff.post(f"/money/credit-notes/{note_id}/issue").status_code == 403
    assert manager.post(f"/money/credit-notes/{note_id}/issue").status_code == 303
    db.session.rollback()
    note = db.session.get(CreditNote, note_id)
    assert note.credit_number.startswith("CN-") and note.total == D("25.00")
    assert db.session.get(Invoice, invoice.id).balance == D("37.50")
    page = client_as("viewer").get(f"/money/invoices/{invoice.id}").get_data(as_text=True)
    assert note.credit_number in page and 'id="invoice-%d-balance">37.50' % invoice.id in page
    text = pdf_text(client_as("viewer").get(f"/money/credit-notes/{note_id}/pdf"))
    assert "CREDIT NOTE" in text.upper() and note.credit_number in text and "25.00" in text
    assert note.credit_number in client_as("viewer").get("/money/credit-notes").get_data(
        as_text=True)
    for url in (f"/money/credit-notes/{note_id}", f"/money/credit-notes/{note_id}/pdf",
                f"/money/invoices/{invoice.id}/credit"):
        assert other_company_client.get(url).status_code == 404, url
    assert invoices.mismatches(env.company.id) == []


def test_payments_pages_settle_invoices_and_show_on_the_customer(client_as, env,
                                                                 other_company_client):
    first, second = issued(env), issued(env)  # 62.50 each
    manager = client_as("manager")
    assert client_as("staff").get("/money/payments/new").status_code == 403
    form = manager.get(f"/money/payments/new?customer_id={env.customer.id}"
                       f"&invoice={first.id}").get_data(as_text=True)
    assert f'name="alloc-{first.id}" value="62.50"' in form and f'name="alloc-{second.id}"' in form
    data = {"customer": env.customer.picker_label, "payment_date": "2026-12-01",
            "amount": "100", "method": "bank_transfer", "reference": "TX-9"}
    for bad in ({"amount": "-1"}, {"amount": "abc"}, {f"alloc-{first.id}": "70"},
                {f"alloc-{first.id}": "62.50", f"alloc-{second.id}": "62.50"}):
        response = manager.post("/money/payments/new", data={**data, **bad})
        assert response.status_code == 422, bad
    db.session.rollback()
    assert db.session.scalar(select(Payment.id)) is None
    response = manager.post("/money/payments/new", data={
        **data, f"alloc-{first.id}": "62.50", f"alloc-{second.id}": "20"})
    payment = db.session.scalar(select(Payment))
    assert response.headers["Location"].endswith(f"/money/payments/{payment.id}")
    assert payment.unallocated == D("17.50")
    page = client_as("viewer").get(f"/sales/customers/{env.customer.id}").get_data(as_text=True)
    assert 'id="customer-balance">25.00' in page  # 42.50 open less 17.50 credit
    assert 'id="customer-credit">17.50' in page
    manager.post(f"/money/payments/{payment.id}/allocate", data={f"alloc-{second.id}": "17.50"})
    db.session.rollback()
    assert [db.session.get(Invoice, i).status for i in (first.id, second.id)] == [
        "paid", "partly_paid"]
    assert other_company_client.get(f"/money/payments/{payment.id}").status_code == 404
    page = other_company_client.get(f"/money/payments/new?customer_id={env.customer.id}")
    assert "Zenith Retail" not in page.get_data(as_text=True)  # not their customer
    assert other_company_client.post(f"/money/payments/{payment.id}/reverse").status_code in (
        403, 404)
    assert manager.post(f"/money/payments/{payment.id}/reverse").status_code == 303
    db.session.rollback()
    assert [db.session.get(Invoice, i).status for i in (first.id, second.id)] == [
        "issued", "issued"]
    assert invoices.mismatches(env.company.id) == []
