"""The API's payables: supplier bills (a direct draft with its lines, the bill of what a
purchase order received, the workflow's post and cancel by role), supplier payments with
an Idempotency-Key and their allocation to bills (and a customer payment's allocation),
their lists (filters, sorts, constant query counts) and company scope."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models.bills import Bill, SupplierPayment
from erp.models.purchasing import PurchaseOrderItem
from tests.api.test_api import (assert_constant_list_queries, assert_foreign, bearer,
                                shop)  # noqa: F401  (the fixture)
from tests.api.test_api_money import an_invoice
from tests.factories.catalog import SupplierFactory
from tests.services.test_returns import po  # noqa: F401  (the fixture)
from tests.services.test_sales import env  # noqa: F401  (the fixture)


@pytest.fixture
def supplier(company):
    found = SupplierFactory(company=company, name="Bolt Works")
    db.session.commit()
    return found


def a_bill(client, shop, supplier, headers, quantity="4", price="1.50") -> dict:
    created = client.post("/api/v1/bills", headers=headers, json={
        "supplier_id": supplier.id, "supplier_reference": "BW-881", "notes": "By API",
        "lines": [{"product_id": shop["product"].id, "quantity": quantity,
                   "unit_price": price, "tax_rate": "0"}]})
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_draft_bill_is_created_and_posted_by_the_roles_of_its_workflow(client, shop,
                                                                         supplier, make_user):
    staff, manager = bearer(make_user("staff")), bearer(shop["manager"])
    bill = a_bill(client, shop, supplier, staff)
    assert bill["status"] == "draft" and bill["bill_number"] is None
    assert bill["supplier"] == "Bolt Works" and bill["supplier_reference"] == "BW-881"
    assert bill["lines"][0]["sku"] == "BOLT-1" and bill["total"] == "6.00"
    assert bill["actions"] == ["cancel"]  # staff may cancel a draft, not post it
    refused = client.post(f"/api/v1/bills/{bill['id']}/post", headers=staff)
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    posted = client.post(f"/api/v1/bills/{bill['id']}/post", headers=manager)
    assert posted.status_code == 200, posted.get_json()
    body = posted.get_json()
    assert body["status"] == "open" and body["number"].startswith("BILL-")
    assert body["balance"] == "6.00" and body["posted_at"] and body["actions"] == []
    # a posted bill is never cancelled: 409 with the workflow's message
    assert client.post(f"/api/v1/bills/{bill['id']}/cancel", headers=manager).status_code == 409
    viewer = bearer(make_user("viewer"))
    assert client.get(f"/api/v1/bills/{bill['id']}", headers=viewer).get_json()["number"] == \
        body["number"]
    assert client.post("/api/v1/bills", headers=viewer, json={
        "supplier_id": supplier.id}).status_code == 403
    draft = a_bill(client, shop, supplier, staff)
    cancelled = client.post(f"/api/v1/bills/{draft['id']}/cancel", headers=staff)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"


def test_an_invalid_bill_is_a_422_with_every_field_and_nothing_is_written(client, shop,
                                                                          supplier):
    headers = bearer(shop["manager"])
    response = client.post("/api/v1/bills", headers=headers, json={
        "supplier_id": supplier.id,
        "lines": [{"product_id": shop["product"].id, "quantity": "-1"},
                  {"product_id": 999999, "quantity": "1"}]})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    assert "lines.0.quantity" in errors and any(key.startswith("lines.1.") for key in errors)
    assert client.post("/api/v1/bills", headers=headers,
                       json={"supplier_id": 999999}).status_code == 422
    assert count(Bill) == 0


def test_a_purchase_order_bills_what_it_received_once(client, po, make_user):
    staff = bearer(make_user("staff", company=po.company))
    key = {**staff, "Idempotency-Key": "bill-po-1"}
    first = client.post(f"/api/v1/purchase-orders/{po.order.id}/bills", headers=key)
    again = client.post(f"/api/v1/purchase-orders/{po.order.id}/bills", headers=key)
    assert first.status_code == again.status_code == 201, first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true" and first.get_json() == again.get_json()
    bill = first.get_json()
    assert bill["order_id"] == po.order.id and bill["lines"][0]["quantity"] == "6.000"
    assert bill["lines"][0]["unit_price"] == "2.00" and bill["total"] == "12.00"
    assert count(Bill) == 1
    # everything received is billed now: the document's state refuses another (409)
    nothing = client.post(f"/api/v1/purchase-orders/{po.order.id}/bills", headers=staff)
    assert nothing.status_code == 409 and nothing.mimetype == "application/problem+json"
    item = db.session.get(PurchaseOrderItem, po.item.id)
    assert item.billed_quantity == Decimal("6")
    viewer = bearer(make_user("viewer", company=po.company))
    assert client.post(f"/api/v1/purchase-orders/{po.order.id}/bills",
                       headers=viewer).status_code == 403


def test_supplier_payments_are_recorded_allocated_and_reversed(client, shop, supplier,
                                                               make_user):
    manager, staff = bearer(shop["manager"]), bearer(make_user("staff"))
    bill = a_bill(client, shop, supplier, staff)
    client.post(f"/api/v1/bills/{bill['id']}/post", headers=manager)
    body = {"supplier_id": supplier.id, "amount": "10.00", "method": "bank_transfer",
            "reference": "Wire 7", "allocations": [{"bill_id": bill["id"], "amount": "4.00"}]}
    assert client.post("/api/v1/supplier-payments", headers=staff, json=body).status_code == 403
    key = {**manager, "Idempotency-Key": "spay-1"}
    first = client.post("/api/v1/supplier-payments", headers=key, json=body)
    again = client.post("/api/v1/supplier-payments", headers=key, json=body)
    assert first.status_code == again.status_code == 201, first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true" and first.get_json() == again.get_json()
    payment = first.get_json()
    assert payment["number"].startswith("SPAY-") and payment["supplier"] == "Bolt Works"
    assert payment["unallocated"] == "6.00" and payment["actions"] == ["reverse"]
    assert payment["allocations"] == [{"id": payment["allocations"][0]["id"],
                                       "bill_id": bill["id"], "amount": "4.00"}]
    assert count(SupplierPayment) == 1
    partly = client.get(f"/api/v1/bills/{bill['id']}", headers=manager).get_json()
    assert partly["status"] == "partly_paid" and partly["balance"] == "2.00"
    # the rest of the payment (our credit) settles the bill: the allocation refuses more
    # than the bill asks for, and a staff member
    url = f"/api/v1/supplier-payments/{payment['id']}/allocate"
    assert client.post(url, headers=staff, json={"allocations": [
        {"bill_id": bill["id"], "amount": "2.00"}]}).status_code == 403
    too_much = client.post(url, headers=manager, json={"allocations": [
        {"bill_id": bill["id"], "amount": "3.00"}]})
    assert too_much.status_code == 422 and too_much.get_json()["errors"]
    allocated = client.post(url, headers=manager, json={"allocations": [
        {"bill_id": bill["id"], "amount": "2.00"}]})
    assert allocated.status_code == 200, allocated.get_json()
    assert allocated.get_json()["unallocated"] == "4.00"
    paid = client.get(f"/api/v1/bills/{bill['id']}", headers=manager).get_json()
    assert paid["status"] == "paid" and paid["balance"] == "0.00"
    reversed_ = client.post(f"/api/v1/supplier-payments/{payment['id']}/reverse",
                            headers=manager)
    assert reversed_.status_code == 200 and reversed_.get_json()["status"] == "reversed"
    assert client.get(f"/api/v1/bills/{bill['id']}",
                      headers=manager).get_json()["status"] == "open"
    # a reversed payment has nothing to allocate (409)
    assert client.post(url, headers=manager, json={"allocations": [
        {"bill_id": bill["id"], "amount": "1.00"}]}).status_code == 409


def test_a_customer_payments_credit_is_allocated_to_an_invoice(client, shop, make_user):
    manager = bearer(shop["manager"])
    invoice = an_invoice(client, shop, manager)
    client.post(f"/api/v1/invoices/{invoice['id']}/issue", headers=manager)
    payment = client.post("/api/v1/payments", headers=manager, json={
        "customer_id": shop["customer"].id, "amount": "25.00"}).get_json()
    url = f"/api/v1/payments/{payment['id']}/allocate"
    assert client.post(url, headers=bearer(make_user("staff")), json={"allocations": [
        {"invoice_id": invoice["id"], "amount": "1.00"}]}).status_code == 403
    answer = client.post(url, headers=manager, json={"allocations": [
        {"invoice_id": invoice["id"], "amount": "10.00"}]})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["unallocated"] == "15.00"
    assert client.get(f"/api/v1/invoices/{invoice['id']}",
                      headers=manager).get_json()["status"] == "paid"
    assert client.post(url, headers=manager, json={"allocations": []}).status_code == 422


def test_another_companys_payables_are_404(client, shop, supplier, make_user, other_company):
    manager = bearer(shop["manager"])
    bill = a_bill(client, shop, supplier, manager)
    posted = a_bill(client, shop, supplier, manager)
    client.post(f"/api/v1/bills/{posted['id']}/post", headers=manager)
    payment = client.post("/api/v1/supplier-payments", headers=manager, json={
        "supplier_id": supplier.id, "amount": "1"}).get_json()
    stranger = bearer(make_user("admin", company=other_company))
    assert_foreign(
        client, stranger, (
            ("GET", f"/api/v1/bills/{bill['id']}"),
            ("POST", f"/api/v1/bills/{bill['id']}/post"),
            ("POST", f"/api/v1/bills/{bill['id']}/cancel"),
            ("GET", f"/api/v1/supplier-payments/{payment['id']}"),
            ("POST", f"/api/v1/supplier-payments/{payment['id']}/reverse"),
            ("POST", f"/api/v1/supplier-payments/{payment['id']}/allocate")),
        ("/api/v1/bills", "/api/v1/supplier-payments"),
        {"allocations": [{"bill_id": posted["id"], "amount": "1"}]})
    # another company's supplier or bill cannot be used
    assert client.post("/api/v1/bills", headers=stranger,
                       json={"supplier_id": supplier.id}).status_code == 422
    assert client.post("/api/v1/supplier-payments", headers=stranger, json={
        "supplier_id": supplier.id, "amount": "1"}).status_code == 422
    assert count(Bill) == 2 and count(SupplierPayment) == 1
    assert client.get(f"/api/v1/bills/{posted['id']}",
                      headers=manager).get_json()["status"] == "open"


def test_another_companys_purchase_order_is_not_billed(client, po, make_user, other_company):
    stranger = bearer(make_user("admin", company=other_company))
    assert client.post(f"/api/v1/purchase-orders/{po.order.id}/bills",
                       headers=stranger).status_code == 404
    assert count(Bill) == 0


def test_payables_lists_filter_sort_and_cost_a_constant_number_of_queries(client, shop,
                                                                          supplier, company):
    from erp.services import bills

    manager = shop["manager"]
    headers = bearer(manager)
    for i in range(12):
        bill = bills.create_bill(company_id=company.id, user=manager, supplier_id=supplier.id)
        bills.add_line(company_id=company.id, bill_id=bill.id, user=manager,
                       product_id=shop["product"].id, quantity=str(i + 1), unit_price="1",
                       tax_rate="0")
        if i % 2:
            bills.post_bill(company_id=company.id, bill_id=bill.id, user=manager)
    for i in range(3):
        bills.record_supplier_payment(company_id=company.id, user=manager,
                                      supplier_id=supplier.id, amount=str(i + 1))
    posted = client.get("/api/v1/bills?status=open&sort=-total&per_page=4",
                        headers=headers).get_json()
    assert [row["total"] for row in posted["items"]] == ["12.00", "10.00", "8.00", "6.00"]
    assert posted["total"] == 6 and posted["has_next"]
    assert client.get("/api/v1/bills?sort=nope", headers=headers).status_code == 422
    payments = client.get("/api/v1/supplier-payments", headers=headers).get_json()
    assert len(payments["items"]) == 3 and payments["items"][0]["supplier"] == "Bolt Works"
    assert_constant_list_queries(client, headers, (
        "/api/v1/bills", "/api/v1/supplier-payments"), per_pages=(3, 50))
