"""The API's e-mailing of documents and its job status: a token queues a document's PDF as a
job exactly as the page's form does (a real worker, a real local SMTP server), and reads the
job's state, progress, error and result; roles, read-only tokens, another company."""
from __future__ import annotations

from sqlalchemy import func, select

from erp.extensions import db
from erp.models.jobs import Job
from tests.api.test_api import assert_constant_list_queries, bearer
from tests.factories.catalog import SupplierFactory
from tests.factories.purchasing import PurchaseOrderFactory
from tests.test_jobs import job_finished, wait_for
from tests.test_mail import a_sales_order, an_issued_invoice, smtp  # noqa: F401 (fixture)


def jobs() -> int:
    return db.session.scalar(select(func.count()).select_from(Job))


def test_an_order_confirmation_is_e_mailed_by_a_job_whose_status_the_token_reads(
        client, company, make_user, smtp):  # noqa: F811
    staff = make_user("staff")
    headers = bearer(staff)
    order, customer = a_sales_order(company, staff)
    sent = client.post(f"/api/v1/sales-orders/{order.id}/email", headers=headers,
                       json={"message": "Thank you for your order."})
    assert sent.status_code == 202, sent.get_json()
    job = sent.get_json()
    assert job["kind"] == "email" and job["status"] in ("queued", "running", "done")
    assert job["url"].endswith(f"/api/v1/jobs/{job['id']}")
    wait_for(lambda: job_finished(job["id"]), timeout=60)
    status = client.get(f"/api/v1/jobs/{job['id']}", headers=headers)
    assert status.status_code == 200 and status.headers["Cache-Control"] == "no-store"
    done = status.get_json()
    assert done["status"] == "done", done["error"]
    assert done["percent"] == 100 and done["finished_at"]
    assert done["result"]["message"] == f"Sent {order.number}.pdf to {customer.email}."
    assert done["result"]["download"] is None
    wait_for(lambda: smtp.messages, what="the message")
    recipients, message = smtp.messages[0]
    assert recipients == [customer.email]  # the customer's address: none was given
    assert "Thank you for your order." in message.get_body(("plain",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"{order.number}.pdf"
    assert attachment.get_content().startswith(b"%PDF-")


def test_an_issued_invoice_and_a_purchase_order_are_e_mailed_once_per_idempotency_key(
        client, company, make_user):
    manager = make_user("manager")
    invoice, customer = an_issued_invoice(company, manager)
    po = PurchaseOrderFactory(company=company, supplier=SupplierFactory(
        company=company, email="orders@supplier.example"))
    headers = bearer(make_user("staff")) | {"Idempotency-Key": "mail-1"}
    first = client.post(f"/api/v1/invoices/{invoice.id}/email", headers=headers, json={})
    again = client.post(f"/api/v1/invoices/{invoice.id}/email", headers=headers, json={})
    assert first.status_code == again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["id"] == again.get_json()["id"] and jobs() == 1
    job = db.session.get(Job, first.get_json()["id"])
    assert job.params["to"] == customer.email and job.params["document"] == "invoice"
    sent = client.post(f"/api/v1/purchase-orders/{po.id}/email", headers=bearer(manager),
                       json={"to": "buyer@supplier.example"})
    assert sent.status_code == 202
    assert db.session.get(Job, sent.get_json()["id"]).params["to"] == "buyer@supplier.example"


def test_a_bad_address_is_a_422_and_a_draft_invoice_a_409_with_nothing_queued(
        client, company, make_user):
    staff = make_user("staff")
    order, _ = a_sales_order(company, staff)
    headers = bearer(staff)
    bad = client.post(f"/api/v1/sales-orders/{order.id}/email", headers=headers,
                      json={"to": "not an address"})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert "to" in bad.get_json()["errors"]
    draft = client.post("/api/v1/invoices", headers=headers, json={
        "customer_id": order.customer_id,
        "lines": [{"product_id": order.items[0].product_id, "quantity": "1"}]}).get_json()
    refused = client.post(f"/api/v1/invoices/{draft['id']}/email", headers=headers, json={})
    assert refused.status_code == 409 and "issued" in refused.get_json()["detail"]
    assert jobs() == 0


def test_e_mailing_is_for_staff_tokens_that_write_in_the_documents_company(
        client, company, other_company, make_user):
    order, _ = a_sales_order(company, make_user("staff"))
    url = f"/api/v1/sales-orders/{order.id}/email"
    assert client.post(url, headers=bearer(make_user("viewer")), json={}).status_code == 403
    read_only = client.post(url, headers=bearer(make_user("manager"), read_only=True), json={})
    assert read_only.status_code == 403 and "read-only" in read_only.get_json()["detail"]
    stranger = bearer(make_user("admin", company=other_company))
    assert client.post(url, headers=stranger, json={"to": "a@example.com"}).status_code == 404
    assert jobs() == 0


def test_a_job_is_read_by_its_user_or_an_admin_of_its_company(client, company, other_company,
                                                              make_user):
    staff = make_user("staff")
    order, _ = a_sales_order(company, staff)
    job = client.post(f"/api/v1/sales-orders/{order.id}/email", headers=bearer(staff),
                      json={}).get_json()
    url = f"/api/v1/jobs/{job['id']}"
    assert client.get(url, headers=bearer(staff)).get_json()["status"] == "queued"
    assert client.get(url, headers=bearer(make_user("admin"))).status_code == 200
    assert client.get(url, headers=bearer(make_user("staff"))).status_code == 404  # another's
    assert client.get(url, headers=bearer(make_user("admin", company=other_company))
                      ).status_code == 404
    assert client.get(f"{url}/download", headers=bearer(staff)).status_code == 404  # no file


def test_the_admins_job_list_and_retry_follow_the_jobs_page(client, company, make_user):
    admin = bearer(make_user("admin"))
    staff = make_user("staff")
    for number in range(3):
        db.session.add(Job(company_id=company.id, user_id=staff.id, kind="import",
                           title=f"CSV import {number}", status="failed", error="bad row",
                           attempts=3, params={"kind": "products"}))
    db.session.commit()
    assert client.get("/api/v1/jobs", headers=bearer(make_user("manager"))).status_code == 403
    listed = client.get("/api/v1/jobs?status=failed&sort=-created", headers=admin).get_json()
    assert [item["title"] for item in listed["items"]] == [
        "CSV import 2", "CSV import 1", "CSV import 0"]
    assert listed["items"][0]["user"] == staff.email
    assert listed["items"][0]["result"] == {"message": "", "download": None, "imported": None,
                                            "errors": [], "file_errors": []}
    assert_constant_list_queries(client, admin, ("/api/v1/jobs",), per_pages=(1, 3))
    job_id = listed["items"][0]["id"]
    staff_token = bearer(staff)
    assert client.post(f"/api/v1/jobs/{job_id}/retry", headers=staff_token).status_code == 403
    retried = client.post(f"/api/v1/jobs/{job_id}/retry", headers=admin)
    assert retried.status_code == 200
    assert retried.get_json()["status"] == "queued" and retried.get_json()["error"] == ""
    again = client.post(f"/api/v1/jobs/{job_id}/retry", headers=admin)
    assert again.status_code == 409 and again.mimetype == "application/problem+json"


def test_a_finished_exports_file_is_downloaded_with_the_token(client, company, make_user):
    manager = make_user("manager")
    job = Job(company_id=company.id, user_id=manager.id, kind="export", title="Export",
              status="done", result=b"sku,name\r\nA,B\r\n", result_name="products.csv",
              total=1, done=1, attempts=1)
    db.session.add(job)
    db.session.commit()
    headers = bearer(manager)
    status = client.get(f"/api/v1/jobs/{job.id}", headers=headers).get_json()
    assert status["result"]["download"].endswith(f"/api/v1/jobs/{job.id}/download")
    download = client.get(f"/api/v1/jobs/{job.id}/download", headers=headers)
    assert download.status_code == 200 and download.data == b"sku,name\r\nA,B\r\n"
    assert download.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="products.csv"' in download.headers["Content-Disposition"]
