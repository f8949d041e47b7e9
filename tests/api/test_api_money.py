"""The API's receivables: invoices (a draft with its lines, the workflow's issue and cancel
by role), credit notes of an issued invoice, customer payments with an Idempotency-Key,
their lists (filters, sorts, constant query counts, cursors) and company scope."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models.invoices import CreditNote, Invoice, Payment
from tests.api.test_api import (assert_constant_list_queries, assert_cursor_pages,
                                assert_foreign, bearer, shop)  # noqa: F401  (the fixture)
from tests.services.test_returns import po, ret  # noqa: F401  (the fixtures)
from tests.services.test_sales import env  # noqa: F401  (the fixture)


def an_invoice(client, shop, headers, quantity="4") -> dict:
    created = client.post("/api/v1/invoices", headers=headers, json={
        "customer_id": shop["customer"].id, "notes": "By API",
        "lines": [{"product_id": shop["product"].id, "quantity": quantity,
                   "tax_rate": "0"}]})
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def test_a_draft_invoice_is_created_and_issued_by_the_roles_of_its_workflow(client, shop,
                                                                            make_user):
    staff, manager = bearer(make_user("staff")), bearer(shop["manager"])
    invoice = an_invoice(client, shop, staff)
    assert invoice["status"] == "draft" and invoice["invoice_number"] is None
    assert invoice["lines"][0]["unit_price"] == "2.50" and invoice["total"] == "10.00"
    assert invoice["actions"] == ["cancel"]  # staff may cancel a draft, not issue it
    refused = client.post(f"/api/v1/invoices/{invoice['id']}/issue", headers=staff)
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    issued = client.post(f"/api/v1/invoices/{invoice['id']}/issue", headers=manager)
    assert issued.status_code == 200, issued.get_json()
    body = issued.get_json()
    assert body["status"] == "issued" and body["number"].startswith("INV-")
    assert body["balance"] == "10.00" and body["actions"] == []
    # an issued invoice is never cancelled: 409 with the workflow's message
    assert client.post(f"/api/v1/invoices/{invoice['id']}/cancel",
                       headers=manager).status_code == 409
    one = client.get(f"/api/v1/invoices/{invoice['id']}", headers=bearer(make_user("viewer")))
    assert one.status_code == 200 and one.get_json()["lines"][0]["sku"] == "BOLT-1"
    draft = an_invoice(client, shop, staff)
    cancelled = client.post(f"/api/v1/invoices/{draft['id']}/cancel", headers=staff)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"


def test_an_invalid_invoice_is_a_422_with_every_field_and_nothing_is_written(client, shop):
    headers = bearer(shop["manager"])
    response = client.post("/api/v1/invoices", headers=headers, json={
        "customer_id": shop["customer"].id,
        "lines": [{"product_id": shop["product"].id, "quantity": "-1"},
                  {"product_id": 999999, "quantity": "1"}]})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    assert "lines.0.quantity" in errors and any(key.startswith("lines.1.") for key in errors)
    assert client.post("/api/v1/invoices", headers=headers,
                       json={"customer_id": 999999}).status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Invoice)) == 0


def test_credit_notes_and_payments_settle_an_invoice(client, shop, make_user):
    manager = bearer(shop["manager"])
    staff = bearer(make_user("staff"))
    invoice = an_invoice(client, shop, staff)
    client.post(f"/api/v1/invoices/{invoice['id']}/issue", headers=manager)
    line_id = invoice["lines"][0]["id"]
    too_much = client.post(f"/api/v1/invoices/{invoice['id']}/credit-notes", headers=staff,
                           json={"lines": [{"line_id": line_id, "quantity": "5"}]})
    assert too_much.status_code == 422 and f"qty-{line_id}" in too_much.get_json()["errors"]
    note = client.post(f"/api/v1/invoices/{invoice['id']}/credit-notes", headers=staff,
                       json={"lines": [{"line_id": line_id, "quantity": "1"}],
                             "reason": "One was broken"})
    assert note.status_code == 201, note.get_json()
    note = note.get_json()
    assert note["status"] == "draft" and note["total"] == "2.50"
    assert client.post(f"/api/v1/credit-notes/{note['id']}/issue",
                       headers=staff).status_code == 403
    issued = client.post(f"/api/v1/credit-notes/{note['id']}/issue", headers=manager)
    assert issued.status_code == 200 and issued.get_json()["number"].startswith("CN-")
    assert client.get(f"/api/v1/invoices/{invoice['id']}",
                      headers=manager).get_json()["balance"] == "7.50"
    # a payment: a manager's, with an idempotency key
    body = {"customer_id": shop["customer"].id, "amount": "10.00", "method": "cash",
            "reference": "Till 4", "allocations": [{"invoice_id": invoice["id"],
                                                    "amount": "7.50"}]}
    assert client.post("/api/v1/payments", headers=staff, json=body).status_code == 403
    key = {**manager, "Idempotency-Key": "pay-1"}
    first = client.post("/api/v1/payments", headers=key, json=body)
    again = client.post("/api/v1/payments", headers=key, json=body)
    assert first.status_code == again.status_code == 201, first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true" and first.get_json() == again.get_json()
    payment = first.get_json()
    assert payment["number"].startswith("PAY-") and payment["unallocated"] == "2.50"
    assert payment["allocations"][0]["amount"] == "7.50" and payment["actions"] == ["reverse"]
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    paid = client.get(f"/api/v1/invoices/{invoice['id']}", headers=manager).get_json()
    assert paid["status"] == "paid" and paid["balance"] == "0.00"
    over = client.post("/api/v1/payments", headers=manager, json={
        **body, "allocations": [{"invoice_id": invoice["id"], "amount": "1.00"}]})
    assert over.status_code == 422  # nothing is open on it any more
    reversed_ = client.post(f"/api/v1/payments/{payment['id']}/reverse", headers=manager)
    assert reversed_.status_code == 200 and reversed_.get_json()["status"] == "reversed"
    assert client.get(f"/api/v1/invoices/{invoice['id']}",
                      headers=manager).get_json()["status"] == "issued"


def test_another_companys_receivables_are_404(client, shop, make_user, other_company):
    manager = bearer(shop["manager"])
    invoice = an_invoice(client, shop, manager)
    client.post(f"/api/v1/invoices/{invoice['id']}/issue", headers=manager)
    note = client.post(f"/api/v1/invoices/{invoice['id']}/credit-notes", headers=manager,
                       json={"lines": [{"line_id": invoice["lines"][0]["id"],
                                        "quantity": "1"}]}).get_json()
    payment = client.post("/api/v1/payments", headers=manager, json={
        "customer_id": shop["customer"].id, "amount": "1"}).get_json()
    stranger = bearer(make_user("admin", company=other_company))
    assert_foreign(
        client, stranger, (
            ("GET", f"/api/v1/invoices/{invoice['id']}"),
            ("POST", f"/api/v1/invoices/{invoice['id']}/issue"),
            ("POST", f"/api/v1/invoices/{invoice['id']}/cancel"),
            ("POST", f"/api/v1/invoices/{invoice['id']}/credit-notes"),
            ("GET", f"/api/v1/credit-notes/{note['id']}"),
            ("POST", f"/api/v1/credit-notes/{note['id']}/issue"),
            ("POST", f"/api/v1/credit-notes/{note['id']}/cancel"),
            ("GET", f"/api/v1/payments/{payment['id']}"),
            ("POST", f"/api/v1/payments/{payment['id']}/reverse"),
            ("POST", f"/api/v1/payments/{payment['id']}/allocate")),
        ("/api/v1/invoices", "/api/v1/credit-notes", "/api/v1/payments"),
        {"lines": [{"line_id": 1, "quantity": "1"}],
         "allocations": [{"invoice_id": invoice["id"], "amount": "1"}]})
    # another company's customer or invoice cannot be used
    assert client.post("/api/v1/invoices", headers=stranger,
                       json={"customer_id": shop["customer"].id}).status_code == 422
    assert client.post("/api/v1/payments", headers=stranger, json={
        "customer_id": shop["customer"].id, "amount": "1"}).status_code == 422
    assert db.session.scalar(select(func.count()).select_from(CreditNote)) == 1
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


def test_receivables_lists_filter_sort_and_cost_a_constant_number_of_queries(client, shop,
                                                                            company):
    from erp.services import invoices

    manager = shop["manager"]
    headers = bearer(manager)
    for i in range(12):
        invoice = invoices.create_invoice(company_id=company.id, user=manager,
                                          customer_id=shop["customer"].id)
        invoices.add_line(company_id=company.id, invoice_id=invoice.id, user=manager,
                          product_id=shop["product"].id, quantity=str(i + 1), tax_rate="0")
        if i % 2:
            invoices.issue_invoice(company_id=company.id, invoice_id=invoice.id, user=manager)
    issued = client.get("/api/v1/invoices?status=issued&sort=-total&per_page=4",
                        headers=headers).get_json()
    assert [row["total"] for row in issued["items"]] == ["30.00", "25.00", "20.00", "15.00"]
    assert issued["total"] == 6 and issued["has_next"]
    assert client.get("/api/v1/invoices?sort=nope", headers=headers).status_code == 422
    assert_constant_list_queries(client, headers, (
        "/api/v1/invoices", "/api/v1/credit-notes", "/api/v1/payments"), per_pages=(3, 50))


def test_deep_invoice_pages_follow_cursor_links(client, shop, company):
    from erp.models.base import ZERO

    headers = bearer(shop["manager"])
    start = date(2026, 1, 1)
    db.session.add_all(Invoice(company_id=company.id, customer_id=shop["customer"].id,
                               invoice_date=start + timedelta(days=i % 3), due_date=start,
                               status="draft", notes="", subtotal=ZERO, discount_total=ZERO,
                               tax_total=ZERO, total=Decimal(i % 5), credited_total=ZERO,
                               paid_total=ZERO) for i in range(110))
    db.session.commit()
    for sort in ("-date", "total"):
        assert_cursor_pages(client, headers, "/api/v1/invoices", sort, rows=110)


# --- delivery notes and returns (read-only) ------------------------------------------------

def test_delivery_notes_and_returns_are_read_with_their_lines_and_scoped(
        client, ret, make_user, other_company):
    from tests.services.test_returns import sales_return

    returned = sales_return(ret, {ret.lines[0].id: "1"})
    viewer = bearer(make_user("viewer"))
    deliveries = client.get("/api/v1/delivery-notes", headers=viewer).get_json()
    assert [row["number"] for row in deliveries["items"]] == [ret.delivery.number]
    one = client.get(f"/api/v1/delivery-notes/{ret.delivery.id}", headers=viewer).get_json()
    assert [(line["sku"], line["quantity"]) for line in one["lines"]] == [
        ("WIDGET", "4.000"), ("GADGET", "2.000")]
    listed = client.get("/api/v1/sales-returns?status=draft", headers=viewer).get_json()
    assert [row["id"] for row in listed["items"]] == [returned.id]
    detail = client.get(f"/api/v1/sales-returns/{returned.id}", headers=viewer).get_json()
    assert detail["lines"][0]["sku"] == "WIDGET" and detail["reason"] == "Damaged"
    assert client.get("/api/v1/purchase-returns", headers=viewer).get_json()["items"] == []
    stranger = bearer(make_user("admin", company=other_company))
    for url in (f"/api/v1/delivery-notes/{ret.delivery.id}",
                f"/api/v1/sales-returns/{returned.id}"):
        assert client.get(url, headers=stranger).status_code == 404
    assert client.get("/api/v1/delivery-notes", headers=stranger).get_json()["items"] == []
    assert_constant_list_queries(client, viewer, (
        "/api/v1/delivery-notes", "/api/v1/sales-returns", "/api/v1/purchase-returns"),
        per_pages=(1, 50))


def test_a_purchase_return_is_read_with_its_lines(client, po, make_user):
    from tests.services.test_returns import purchase_return

    sent_back = purchase_return(po, "2")
    viewer = bearer(make_user("viewer"))
    detail = client.get(f"/api/v1/purchase-returns/{sent_back.id}", headers=viewer)
    assert detail.status_code == 200
    assert [(line["sku"], line["quantity"]) for line in detail.get_json()["lines"]] == [
        ("WIDGET", "2.000")]
