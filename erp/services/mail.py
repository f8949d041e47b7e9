"""E-mailing documents: a sales order (quotation or order confirmation) to its customer,
a purchase order to its supplier, an issued invoice or credit note to its customer, as a
PDF attachment, sent by a background job over SMTP
(Flask-Mailman; MAIL_* settings, read when each message is sent).

The PDF is made by the document's own PDF view (erp/pdf.py renders its print page), called
in the job as the user who asked, so the attachment is exactly what that user downloads.
The message's Message-ID names the job: a job that runs again after its worker was killed
between sending and recording it sends the same message, which mail clients show once.
"""
from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_mailman import EmailMessage
from werkzeug.exceptions import HTTPException

from erp.extensions import db, mail
from erp.i18n import _
from erp.models.core import Company, User
from erp.models.invoices import CreditNote, Invoice
from erp.models.jobs import Job
from erp.models.purchasing import PurchaseOrder
from erp.models.sales import SalesOrder
from erp.services import DomainError, InvalidTransition, NotFound, ValidationError, atomic
from erp.services import jobs as job_service


@dataclass(frozen=True)
class Document:
    """A kind of document that can be e-mailed: its model, its PDF view (endpoint and id
    argument), whom it goes to, its page (the e-mail form is `<url>/email`, endpoint
    `jobs.<kind>_email`, back to `detail`) and the states it may be sent in (None: any)."""

    model: type
    pdf_endpoint: str
    id_arg: str
    party: str       # the relationship that holds the recipient's `email`
    noun: str
    url: str
    detail: str
    states: tuple[str, ...] | None = None

    def sendable(self, record) -> bool:
        return self.states is None or record.status in self.states


# an invoice or a credit note goes out once issued (a draft has no number yet); paid and
# partly paid invoices may be sent again (a copy for the customer's books)
ISSUED_INVOICE = ("issued", "partly_paid", "paid")

DOCUMENTS = {
    "sales_order": Document(SalesOrder, "sales.order_pdf", "order_id", "customer", "order",
                            "/sales/orders/<int:order_id>", "sales.order_detail"),
    "purchase_order": Document(PurchaseOrder, "purchasing.order_pdf", "order_id", "supplier",
                               "purchase order", "/purchasing/orders/<int:order_id>",
                               "purchasing.order_detail"),
    "invoice": Document(Invoice, "money.invoice_pdf", "invoice_id", "customer", "invoice",
                        "/money/invoices/<int:invoice_id>", "money.invoice_detail",
                        ISSUED_INVOICE),
    "credit_note": Document(CreditNote, "money.credit_note_pdf", "credit_note_id", "customer",
                            "credit note", "/money/credit-notes/<int:credit_note_id>",
                            "money.credit_note_detail", ("issued",)),
}


def load_document(kind: str, company_id: int, document_id: int):
    document = DOCUMENTS.get(kind)
    record = db.session.get(document.model, document_id) if document else None
    if record is None or record.company_id != company_id:
        raise NotFound(_("No such document."))
    return record


def can_send(kind: str, record) -> bool:
    """Whether the document may be e-mailed in its state (the page shows the button)."""
    return DOCUMENTS[kind].sendable(record)


def default_recipient(kind: str, record) -> str:
    party = getattr(record, DOCUMENTS[kind].party, None)
    return (getattr(party, "email", "") or "") if party is not None else ""


def send_document(*, company_id: int, document_id: int, user: User, kind: str, to: str,
                  message: str = "") -> Job:
    """Queue the document's PDF to `to` as a job. ValidationError for a bad address or
    message, NotFound for another company's document, InvalidTransition for a document not
    to be sent in its state (a draft invoice); nothing is written then. Commits."""
    record = load_document(kind, company_id, document_id)
    if not can_send(kind, record):
        raise InvalidTransition(_("%(number)s is not issued: only an issued document is "
                                  "e-mailed.", number=record.number))
    errors: dict[str, list[str]] = {}
    try:
        to = validate_email((to or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        errors["to"] = [str(error)]
    if len(message or "") > 2000:
        errors["message"] = ["At most 2,000 characters."]
    if errors:
        raise ValidationError(field_errors=errors)
    spec = DOCUMENTS[kind]
    with current_app.test_request_context():
        from flask import url_for
        path = url_for(spec.pdf_endpoint, **{spec.id_arg: record.id})
    return job_service.create_job(
        company_id=company_id, user=user, kind="email",
        title=f"E-mail {record.number} to {to}",
        params={"document": kind, "id": record.id, "to": to, "message": message or "",
                "path": path})


def smtp():
    """The connection the MAIL_* settings name (read now): files in MAIL_FILE_PATH when it
    is set (development without a mail server), else the SMTP server."""
    config = current_app.config
    if config.get("MAIL_FILE_PATH"):
        return mail.get_connection(backend="file", file_path=config["MAIL_FILE_PATH"])
    return mail.get_connection(
        backend="smtp", host=config["MAIL_SERVER"], port=config["MAIL_PORT"],
        username=config.get("MAIL_USERNAME"), password=config.get("MAIL_PASSWORD"),
        use_tls=config["MAIL_USE_TLS"], use_ssl=config["MAIL_USE_SSL"],
        timeout=config["MAIL_TIMEOUT"])


def run_email_job(job: Job, progress) -> None:
    """The runner: render the PDF as the job's user, send it, record it."""
    params = job.params
    spec = DOCUMENTS[params["document"]]
    try:
        response = current_app.view_functions[spec.pdf_endpoint](**{spec.id_arg: params["id"]})
    except HTTPException as error:
        raise DomainError(_('The document cannot be made any more (%(code)s).', code=error.code)) from None
    response.direct_passthrough = False
    pdf = response.get_data()
    filename = response.headers["Content-Disposition"].partition("filename=")[2].strip('"')
    record = load_document(params["document"], job.company_id, params["id"])
    sender_name = db.session.get(Company, job.company_id).name
    user = db.session.get(User, job.user_id)
    body = ((params.get("message") or "").strip() + "\n\n" if params.get("message") else "")
    body += f"Please find {record.number} attached.\n\n{sender_name}\n"
    config = current_app.config
    domain = config["MAIL_DEFAULT_SENDER"].rpartition("@")[2].strip("> ") or "erp"
    message = EmailMessage(
        subject=f"{sender_name}: {record.number}", body=body,
        from_email=config["MAIL_DEFAULT_SENDER"], to=[params["to"]],
        reply_to=[user.email] if user is not None else None,
        headers={"Message-ID": f"<erp-job-{job.id}@{domain}>"}, connection=smtp())
    message.attach(filename, pdf, "application/pdf")
    message.send()
    with atomic():
        saved = db.session.get(Job, job.id, populate_existing=True)
        result = (f"Sent {filename} to {params['to']}." if not config.get("MAIL_FILE_PATH")
                  else f"Wrote {filename} for {params['to']} to the mail folder "
                       f"(MAIL_FILE_PATH: no mail server is set).")
        saved.result_name = result[:Job.result_name.type.length]  # a long address


# --- monitoring alerts -------------------------------------------------------------------

INSTALL_ADMINS = "install-admins"


def alert_recipients() -> list[str]:
    """ALERT_EMAIL_TO: comma-separated addresses, or `install-admins` for the active
    installation administrators (the only users who see the monitoring page); unset:
    nobody."""
    setting = (current_app.config.get("ALERT_EMAIL_TO") or "").strip()
    if setting != INSTALL_ADMINS:
        return [address.strip() for address in setting.split(",") if address.strip()]
    from sqlalchemy import select

    return list(db.session.scalars(select(User.email).where(
        User.is_superuser.is_(True), User.active.is_(True)).order_by(User.id)))


def send_alerts(alerts: list[dict], recipients: list[str]) -> None:
    """One message listing the alerts fired together (the worker's periodic check). A
    failure to send is logged: the alerts are in the history and the log already."""
    import logging

    lines = [alert["message"] for alert in alerts]
    body = ("The ERP's monitoring found critical figures:\n\n" + "\n".join(
        f"- {line}" for line in lines) + "\n\nSee /admin/monitoring.\n")
    config = current_app.config
    try:
        EmailMessage(subject=f"ERP alert: {lines[0]}"[:200]
                     + (f" (+{len(lines) - 1} more)" if len(lines) > 1 else ""),
                     body=body, from_email=config["MAIL_DEFAULT_SENDER"], to=recipients,
                     connection=smtp()).send()
    except Exception as error:  # noqa: BLE001 (SMTP down: the log has the alert)
        logging.getLogger("erp.monitoring.alerts").error("alert e-mail failed: %s", error)
