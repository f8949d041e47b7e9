"""The API's background work (issue #21): a job's status (what the job page shows: state,
progress, error, result), the admin's list of the company's jobs and their retry, e-mailing
a document as a PDF (the document pages' e-mail form) and CSV imports (the import page),
both queued as jobs exactly as the pages queue them (erp/services/mail.py,
erp/services/imports.py, erp/services/jobs.py). No rule lives here.

| operation                                         | role    |
| GET /jobs, POST /jobs/<id>/retry                  | admin   |
| GET /jobs/<id>, GET /jobs/<id>/download           | viewer: one's own (admin: any) |
| POST /sales-orders/<id>/email (and purchase orders, invoices, credit notes) | staff |
| POST /imports/<products, suppliers, customers>    | manager |
"""
from __future__ import annotations

from flask import url_for
from flask_login import current_user
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from erp.api import problem
from erp.api import schemas as s
from erp.api.views import _json, bp, guarded, idempotent, idempotent_post, page_body
from erp.auth import require_role
from erp.blueprints.jobs.views import job_file
from erp.i18n import _
from erp.models.jobs import JOB_KINDS, JOB_STATUSES, Job
from erp.queries import scoped_get_or_404
from erp.queries.jobs import JOBS
from erp.services import ValidationError
from erp.services import imports as import_service
from erp.services import jobs as job_service
from erp.services import mail as mail_service


# --- what a job answers -------------------------------------------------------------------

class RowErrorOut(s.Base):
    line = fields.Integer(metadata={"description": "The file's line (the header is line 1)."})
    column = fields.String()
    message = fields.String()


class JobResult(s.Base):
    """What a finished job made."""

    message = fields.String(metadata={"description": "What it did (\"Imported 120 products.\", "
                                                     "\"Sent SO-2026-000012.pdf to ...\")."})
    download = fields.String(allow_none=True, metadata={
        "description": "The file it made (an export), GET with the token."})
    imported = fields.Integer(allow_none=True, metadata={
        "description": "An import: the rows imported (all or nothing)."})
    errors = fields.List(fields.Nested(RowErrorOut), metadata={
        "description": "An import that failed: every row's errors (nothing was imported)."})
    file_errors = fields.List(fields.String(), metadata={
        "description": "An import that failed: what is wrong with the file as a whole."})


def _result(job: Job) -> dict | None:
    if not job.finished:
        return None
    params = job.params or {}
    report = params.get("report") or {}
    return {"message": job.result_name,
            "download": (url_for("api.job_download", record_id=job.id, _external=True)
                         if job.kind == "export" and job.status == "done" else None),
            "imported": params.get("imported") if job.kind == "import" else None,
            "errors": report.get("errors", []), "file_errors": report.get("file_errors", [])}


class JobOut(s.Base):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(JOB_KINDS)})
    title = fields.String()
    status = fields.String(metadata={"enum": list(JOB_STATUSES), "description":
                                     "queued, running, retrying (another attempt later), "
                                     "done or failed: poll until done or failed."})
    done = fields.Integer(metadata={"description": "Progress: rows so far."})
    total = fields.Integer(allow_none=True, metadata={"description": "Rows in all, once known."})
    percent = fields.Integer()
    attempts = fields.Integer()
    error = fields.String(metadata={"description": "Why it failed (or why the last attempt "
                                                   "did)."})
    user = fields.String(attribute="user.email", allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    url = fields.Function(lambda job: url_for("api.job_detail", record_id=job.id,
                                              _external=True),
                          metadata={"type": "string", "description": "This status (GET)."})
    result = fields.Nested(JobResult, allow_none=True, metadata={
        "description": "Once finished: what it made (null before)."})

    def get_attribute(self, obj, attr, default):
        if attr == "result":  # made from the job's record (never its file's bytes)
            return _result(obj)
        return super().get_attribute(obj, attr, default)


def job_body(job: Job) -> dict:
    return JobOut().dump(job)


def _job(record_id: int) -> Job:
    """The job, for the user who started it or an admin of its company (NotFound: 404)."""
    return job_service.get_job(company_id=current_user.company_id, job_id=record_id,
                               user=current_user)


JobPage = s.page_schema(JobOut)


@bp.route("/jobs", methods=["GET"])
@bp.arguments(s.list_query_schema("Job", JOBS), location="query")
@bp.response(200, JobPage)
@require_role("admin")
def job_list(_args):
    """The company's background jobs (the admin's jobs page): its filters (`status`, `kind`,
    `q`), sorts and pagination."""
    return page_body(JOBS)


@bp.route("/jobs/<int:record_id>", methods=["GET"])
@bp.response(200, JobOut)
@require_role("viewer")
def job_detail(record_id: int):
    """A job's state, progress, error and, once finished, its result: poll it until its
    `status` is done or failed. One's own jobs; an admin reads every job of the company."""
    response = _json(job_body(_job(record_id)), 200)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/jobs/<int:record_id>/download", methods=["GET"])
@bp.doc(responses={"200": {"description": "The file the job made (CSV).",
                           "content": {"text/csv": {"schema": {"type": "string"}}}}})
@require_role("viewer")
def job_download(record_id: int):
    """The file a finished export job made (404 before it is done)."""
    response = job_file(_job(record_id))
    return problem(404, _("The job has no file (yet).")) if response is None else response


@bp.route("/jobs/<int:record_id>/retry", methods=["POST"])
@guarded("admin", Job)
@bp.response(200, JobOut)
def job_retry(record_id: int):
    """Run a failed job again from the start (an admin's, as on the jobs page); 409 unless
    it failed."""
    job = job_service.retry_job(company_id=current_user.company_id, job_id=record_id,
                                user=current_user)
    return _json(job_body(job), 200)


# --- e-mailing documents -----------------------------------------------------------------

class EmailIn(s.Base):
    to = fields.String(validate=validate.Length(max=254), metadata={
        "description": "The address the PDF goes to; default: the customer's (supplier's) "
                       "e-mail address."})
    message = fields.String(validate=validate.Length(max=2000), metadata={
        "description": "Printed above the greeting."})


# each e-mailable document (erp.services.mail.DOCUMENTS) at the API's address of its kind
EMAIL_PATHS = {"sales_order": "/sales-orders", "purchase_order": "/purchase-orders",
               "invoice": "/invoices", "credit_note": "/credit-notes"}


def email_route(kind: str, path: str) -> None:
    """POST `<path>/<id>/email`: the document's PDF queued to its party as a job (staff,
    as the page's e-mail form); 202 with the job."""
    spec = mail_service.DOCUMENTS[kind]

    def view(data: dict, record_id: int):
        record = scoped_get_or_404(spec.model, record_id)

        def run():
            job = mail_service.send_document(
                company_id=current_user.company_id, document_id=record.id, user=current_user,
                kind=kind, message=data.get("message", ""),
                to=data.get("to") or mail_service.default_recipient(kind, record))
            return 202, job_body(job)
        return idempotent(run)

    view.__name__ = f"{kind}_email"
    view.__doc__ = (f"Send the {spec.noun} as a PDF to its {spec.party} (or `to`), by a "
                    "background job: 202 with the job (GET its `url` for its state). "
                    + ("Only once issued (409 before). " if spec.states else "")
                    + "A bad address is a 422 on `to`.")
    idempotent_post(f"{path}/<int:record_id>/email", "staff", EmailIn, JobOut, spec.model,
                    status=202)(view)


for _kind, _path in EMAIL_PATHS.items():
    email_route(_kind, _path)


# --- CSV imports --------------------------------------------------------------------------

class ImportIn(s.Base):
    file = Upload(required=True, metadata={
        "description": "The CSV file: UTF-8, comma separated, with a header line (the "
                       "columns of the kind's export)."})


IMPORT_ROLE = "manager"  # as the import pages (/admin/import/<kind>)


def import_route(kind: str) -> None:
    """POST `/imports/<kind>`: the file imported by a background job, all or nothing."""
    importer = import_service.get_importer(kind)

    def view(files: dict):
        upload = files["file"]
        data = upload.read()
        if not data.strip():
            raise ValidationError(field_errors={"file": [_("The file is empty.")]})

        def run():
            job = job_service.create_job(
                company_id=current_user.company_id, user=current_user, kind="import",
                title=f"CSV import of {importer.label} ({upload.filename or 'file'})",
                params={"kind": kind}, data=data)
            return 202, job_body(job)
        return idempotent(run, content=data)

    view.__name__ = f"import_{kind}"
    view.__doc__ = (
        f"Import {importer.label} from a CSV file (multipart/form-data, field `file`; the "
        f"columns: {', '.join(importer.column_names)}) by a background job: 202 with the "
        "job. Poll the job: its progress counts the rows imported; once done its `result` "
        "says how many were imported, or, failed, every row's errors (nothing imported).")
    bp.route(f"/imports/{kind}", methods=["POST"])(guarded(IMPORT_ROLE)(
        bp.doc(parameters=[_idempotency_header()])(bp.arguments(ImportIn, location="files")(
            bp.response(202, JobOut)(view)))))


def _idempotency_header() -> dict:
    from erp.api.views import IDEMPOTENCY_HEADER

    return IDEMPOTENCY_HEADER


for _kind in import_service.IMPORTERS:
    import_route(_kind)
