"""E-mailing documents: the form on the document's page queues a job; a real worker renders
the PDF and sends it to a real local SMTP server (aiosmtpd), which checks the message and
its attachment."""
from __future__ import annotations

import email
import email.policy
import socket
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from erp.extensions import db
from erp.models.jobs import Job
from erp.services import sales as sales_service
from tests.conftest import login
from tests.factories.catalog import SupplierFactory
from tests.factories.inventory_helpers import stock_shop
from tests.factories.purchasing import PurchaseOrderFactory
from tests.test_jobs import job_finished, running_worker, wait_for


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(
            envelope.content, policy=email.policy.default)))
        return "250 Message accepted"


@pytest.fixture
def smtp(app):
    inbox = Inbox()
    with socket.socket() as probe:  # a free port (the controller checks it by connecting)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port,
                      MAIL_DEFAULT_SENDER="ERP <erp@acme.example>")
    try:
        with running_worker(app):
            yield inbox
    finally:
        controller.stop()


def a_sales_order(company, user):
    shop = stock_shop(company, user)
    order = sales_service.create_order(company_id=company.id, user=user,
                                       customer_id=shop.customer.id, warehouse_id=shop.main.id)
    sales_service.add_line(company_id=company.id, order_id=order.id, user=user,
                           product_id=shop.product.id, quantity=Decimal("2"),
                           unit_price=Decimal("12.50"), tax_rate=Decimal("0"))
    return order, shop.customer


def sent_pdf(sent, smtp, *, to: str, number: str, text: str = ""):
    """The job a send form queued ran, and `smtp` received one message to `to` with
    `number`'s PDF: (the job's id, the message)."""
    assert sent.status_code == 303 and "/jobs/" in sent.headers["Location"]
    job_id = int(sent.headers["Location"].rsplit("/", 1)[1])
    job = wait_for(lambda: job_finished(job_id), timeout=60)
    assert job.status == "done", job.error
    wait_for(lambda: smtp.messages, what="the message")
    recipients, message = smtp.messages[0]
    assert recipients == [to]
    assert message["Subject"] == f"Acme Manufacturing: {number}"
    assert text in message.get_body(("plain",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"{number}.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF-")
    return job_id, message


def test_an_order_confirmation_goes_to_the_customer_as_a_pdf(app, company, make_user, smtp):
    staff = make_user("staff")
    client = login(app.test_client(), staff.email)
    order, customer = a_sales_order(company, staff)
    assert b'id="order-email"' in client.get(f"/sales/orders/{order.id}").data
    form = client.get(f"/sales/orders/{order.id}/email")
    assert form.status_code == 200 and customer.email.encode() in form.data
    sent = client.post(f"/sales/orders/{order.id}/email",
                       data={"to": customer.email, "message": "Thank you for your order."})
    job_id, message = sent_pdf(sent, smtp, to=customer.email, number=order.number,
                               text="Thank you for your order.")
    assert message["Reply-To"] == staff.email
    assert message["Message-ID"] == f"<erp-job-{job_id}@acme.example>"
    assert f"Sent {order.number}.pdf to {customer.email}.".encode() in client.get(
        sent.headers["Location"]).data


def test_a_purchase_order_goes_to_its_supplier(app, company, make_user, smtp):
    staff = make_user("staff")
    supplier = SupplierFactory(company=company, email="orders@supplier.example")
    order = PurchaseOrderFactory(company=company, supplier=supplier)
    client = login(app.test_client(), staff.email)
    assert b"orders@supplier.example" in client.get(f"/purchasing/orders/{order.id}/email").data
    sent = client.post(f"/purchasing/orders/{order.id}/email",
                       data={"to": "orders@supplier.example"})
    job = wait_for(lambda: job_finished(int(sent.headers["Location"].rsplit("/", 1)[1])),
                   timeout=60)
    assert job.status == "done", job.error
    wait_for(lambda: smtp.messages)
    [attachment] = list(smtp.messages[0][1].iter_attachments())
    assert attachment.get_filename() == f"{order.number}.pdf"


@pytest.mark.parametrize("to", ["", "not an address", "a@b", "x" * 300 + "@example.com"])
def test_a_bad_address_is_refused_next_to_the_field_and_nothing_is_queued(
        app, company, make_user, to):
    staff = make_user("staff")
    order, _ = a_sales_order(company, staff)
    client = login(app.test_client(), staff.email)
    response = client.post(f"/sales/orders/{order.id}/email", data={"to": to})
    assert response.status_code == 422
    assert b"invalid-feedback" in response.data
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def test_e_mailing_is_for_staff_of_the_documents_company(app, company, make_user, client_as,
                                                         other_company_client):
    order, _ = a_sales_order(company, make_user("staff"))
    po = PurchaseOrderFactory(company=company, supplier=SupplierFactory(company=company))
    for url in (f"/sales/orders/{order.id}/email", f"/purchasing/orders/{po.id}/email"):
        assert other_company_client.get(url).status_code == 404
        assert other_company_client.post(url, data={"to": "a@example.com"}).status_code == 404
        assert client_as("viewer").get(url).status_code == 403
    assert b'id="order-email"' not in client_as("viewer").get(f"/sales/orders/{order.id}").data
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def test_an_unreachable_smtp_server_is_retried_then_failed(app, company, make_user):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=9, JOBS_MAX_ATTEMPTS=2,
                      JOBS_RETRY_SECONDS=0)
    staff = make_user("staff")
    order, customer = a_sales_order(company, staff)
    client = login(app.test_client(), staff.email)
    with running_worker(app):
        sent = client.post(f"/sales/orders/{order.id}/email", data={"to": customer.email})
        job = wait_for(lambda: job_finished(int(sent.headers["Location"].rsplit("/", 1)[1])),
                       timeout=60)
    assert job.status == "failed" and job.attempts == 2
    assert "ConnectionRefusedError" in job.error


def test_without_a_mail_server_the_message_is_written_to_the_mail_folder(
        app, company, make_user, tmp_path):
    """`make run` sets no MAIL_SERVER: the demo's e-mails land in instance/mail/."""
    folder = tmp_path / "mail"
    app.config.update(MAIL_FILE_PATH=str(folder), MAIL_SERVER="127.0.0.1", MAIL_PORT=9)
    staff = make_user("staff")
    order, customer = a_sales_order(company, staff)
    client = login(app.test_client(), staff.email)
    to = "x" * 60 + "@" + ("d" * 60 + ".") * 3 + "example"  # 251 characters: a long result
    with running_worker(app):
        sent = client.post(f"/sales/orders/{order.id}/email", data={"to": to})
        job = wait_for(lambda: job_finished(int(sent.headers["Location"].rsplit("/", 1)[1])),
                       timeout=60)
    assert job.status == "done", job.error
    [written] = list(folder.iterdir())
    message = email.message_from_bytes(
        written.read_bytes().split(b"\n" + b"-" * 79 + b"\n")[0], policy=email.policy.default)
    assert message["To"] == to
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"{order.number}.pdf"
    assert attachment.get_content().startswith(b"%PDF-")
    assert job.result_name == f"Wrote {order.number}.pdf for {to}"[:200]  # the column's size
    assert f"Wrote {order.number}.pdf".encode() in client.get(sent.headers["Location"]).data


# --- invoices and credit notes -------------------------------------------------------------

def an_issued_invoice(company, manager, quantity="3"):
    """An issued direct invoice of BOLT-8 (3 x 10.00, no tax) for a customer with an
    address, and the customer."""
    from erp.services import invoices

    shop = stock_shop(company, manager)
    invoice = invoices.create_invoice(company_id=company.id, user=manager,
                                      customer_id=shop.customer.id)
    invoices.add_line(company_id=company.id, invoice_id=invoice.id, user=manager,
                      product_id=shop.product.id, quantity=quantity, unit_price="10",
                      tax_rate="0")
    return invoices.issue_invoice(company_id=company.id, invoice_id=invoice.id,
                                  user=manager), shop.customer


def test_an_issued_invoice_goes_to_the_customer_as_a_pdf(app, company, make_user, smtp):
    manager = make_user("manager")
    invoice, customer = an_issued_invoice(company, manager)
    client = login(app.test_client(), make_user("staff").email)
    assert b'id="invoice-email"' in client.get(f"/money/invoices/{invoice.id}").data
    form = client.get(f"/money/invoices/{invoice.id}/email")
    assert form.status_code == 200 and customer.email.encode() in form.data
    sent = client.post(f"/money/invoices/{invoice.id}/email",
                       data={"to": customer.email, "message": "Our invoice, thank you."})
    sent_pdf(sent, smtp, to=customer.email, number=invoice.invoice_number,
             text="Our invoice, thank you.")


def test_an_issued_credit_note_goes_to_the_customer_as_a_pdf(app, company, make_user, smtp):
    from erp.services import credit_notes

    manager = make_user("manager")
    invoice, customer = an_issued_invoice(company, manager)
    note = credit_notes.create_credit_note(company_id=company.id, invoice_id=invoice.id,
                                           user=manager, quantities={invoice.items[0].id: "1"})
    client = login(app.test_client(), make_user("staff").email)
    assert b'id="credit-note-email"' not in client.get(f"/money/credit-notes/{note.id}").data
    note = credit_notes.issue_credit_note(company_id=company.id, credit_note_id=note.id,
                                          user=manager)
    assert b'id="credit-note-email"' in client.get(f"/money/credit-notes/{note.id}").data
    sent = client.post(f"/money/credit-notes/{note.id}/email", data={"to": customer.email})
    sent_pdf(sent, smtp, to=customer.email, number=note.credit_number)


def test_a_draft_invoice_is_not_e_mailed_and_nothing_is_queued(app, company, make_user):
    from erp.services import invoices

    staff = make_user("staff")
    shop = stock_shop(company, staff)
    draft = invoices.create_invoice(company_id=company.id, user=staff,
                                    customer_id=shop.customer.id)
    client = login(app.test_client(), staff.email)
    assert b'id="invoice-email"' not in client.get(f"/money/invoices/{draft.id}").data
    refused = client.post(f"/money/invoices/{draft.id}/email",
                          data={"to": "a@example.com"}, follow_redirects=True)
    assert refused.status_code == 200 and b"only an issued document is e-mailed" in refused.data
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def test_e_mailing_an_invoice_is_for_staff_of_its_company(app, company, make_user, client_as,
                                                         other_company_client):
    invoice, _ = an_issued_invoice(company, make_user("manager"))
    url = f"/money/invoices/{invoice.id}/email"
    assert other_company_client.get(url).status_code == 404
    assert other_company_client.post(url, data={"to": "a@example.com"}).status_code == 404
    assert client_as("viewer").get(url).status_code == 403
    assert client_as("viewer").post(url, data={"to": "a@example.com"}).status_code == 403
    assert b'id="invoice-email"' not in client_as("viewer").get(
        f"/money/invoices/{invoice.id}").data
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0
