"""The audit trail (admins), record History panels (any user of the company), and CSV
import/export of master data (managers): upload -> preview with every error -> confirm."""
from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, abort, current_app, flash
from flask_login import current_user

from erp.i18n import _
from erp.auth import require_role
from erp.blueprints.audit.forms import ImportForm
from erp.csv_io import export_limited, stream_csv
from erp.extensions import db
from erp.models import AuditEntry
from erp.queries import audit as audit_queries
from erp.services import NotFound, ValidationError
from erp.services import imports as import_service
from erp.services import jobs as job_service
from erp.web import apply_field_errors, form_status, redirect_after_post, render

bp = Blueprint("audit", __name__, url_prefix="/admin")

RECORD_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,59}$")
# Record types whose history only admins may read (user accounts, logins).
ADMIN_ONLY_TYPES = {"User", "ApiToken"}  # a token's history (named by its owner): admins only
PREVIEW_ERROR_LIMIT = 1000
PREVIEW_SAMPLE = 20
# Where a finished import sends the user, when that module's list exists.
LIST_ENDPOINTS = {"products": "catalog.product_list", "suppliers": "catalog.supplier_list",
                  "customers": "sales.customer_list"}


def _record_types() -> list[str]:
    return sorted(m.class_.__name__ for m in db.Model.registry.mappers
                  if hasattr(m.class_, "company_id") and m.class_ is not AuditEntry)


@bp.route("/audit")
@require_role("admin")
@export_limited
def audit_list():
    return audit_queries.ENTRIES.response(
        "audit/list.html", actions=audit_queries.KNOWN_ACTIONS, record_types=_record_types(),
        import_kinds=_import_kinds())


@bp.route("/audit/history/<record_type>/<int:record_id>")
@require_role("viewer")
def record_history(record_type: str, record_id: int):
    """The History panel of one record (a fragment for htmx, a page otherwise).

    Entries are always filtered by the user's company; a record that exists but not in
    the user's company (or that they may not see) answers 404.
    """
    if not RECORD_TYPE.match(record_type) or record_id >= 2**31:
        abort(404)
    if record_type in ADMIN_ONLY_TYPES and not current_user.has_role("admin"):
        abort(403)
    exists = audit_queries.record_in_company(record_type, record_id, current_user.company_id)
    if exists is False and not current_user.has_role("admin"):
        abort(404)  # admins may read the history of deleted records
    if exists and record_type == "Todo":
        _check_task_visible(record_id)
    entries = audit_queries.record_history(current_user.company_id, record_type, record_id)
    return render("audit/history.html", block="panel", entries=entries,
                  record_type=record_type, record_id=record_id,
                  limit=audit_queries.HISTORY_LIMIT)


def _check_task_visible(task_id: int) -> None:
    from erp.services import tasks as task_service

    try:
        task_service.get_task(company_id=current_user.company_id, task_id=task_id,
                              user=current_user)
    except NotFound:
        abort(404)


# ---------------------------------------------------------------- CSV import and export

def _import_kinds() -> list[str]:
    return list(import_service.IMPORTERS) if current_user.has_role("manager") else []


def _importer(kind: str):
    importer = import_service.IMPORTERS.get(kind)
    if importer is None:
        abort(404)
    return importer


@bp.route("/import/<kind>", methods=["GET", "POST"])
@require_role("manager")
def import_upload(kind: str):
    importer = _importer(kind)
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        try:
            token = import_service.save_upload(
                current_app.config["IMPORT_UPLOAD_DIR"], data, kind=kind, user=current_user,
                filename=upload.filename or "",
                quota=import_service.UploadQuota.from_config(current_app.config))
        except ValidationError as error:
            apply_field_errors(form, error)
        else:
            return redirect_after_post("audit.import_preview", kind=kind, token=token)
    status = form_status(form)
    return render("audit/import_upload.html", form=form, importer=importer,
                  import_kinds=_import_kinds(), status=status)


def _load(kind: str, token: str):
    try:
        return import_service.load_upload(current_app.config["IMPORT_UPLOAD_DIR"], token,
                                          kind=kind, user=current_user)
    except NotFound:
        abort(404)


@bp.route("/import/<kind>/<token>")
@require_role("manager")
def import_preview(kind: str, token: str):
    importer = _importer(kind)
    data, meta = _load(kind, token)
    report = import_service.preview_import(kind, current_user.company_id, data)
    return _preview_page(importer, report, token, meta)


def _preview_page(importer, report, token, meta, status=200):
    return render("audit/import_preview.html", importer=importer, report=report, token=token,
                  meta=meta, import_kinds=_import_kinds(), error_limit=PREVIEW_ERROR_LIMIT,
                  sample=PREVIEW_SAMPLE, status=status)


@bp.route("/import/<kind>/<token>/confirm", methods=["POST"])
@require_role("manager")
def import_confirm(kind: str, token: str):
    importer = _importer(kind)
    data, meta = _load(kind, token)
    if data.count(b"\n") > current_app.config["IMPORT_JOB_ROWS"]:  # a big file: a job
        job = job_service.create_job(
            company_id=current_user.company_id, user=current_user, kind="import",
            title=f"CSV import of {importer.label} ({meta.get('filename') or 'file'})",
            params={"kind": kind}, data=data)
        import_service.discard_upload(current_app.config["IMPORT_UPLOAD_DIR"], token)
        return redirect_after_post("jobs.job_detail", job_id=job.id)
    try:
        report = import_service.run_import(kind, company_id=current_user.company_id,
                                           user=current_user, data=data)
    except import_service.ImportFailed as error:
        return _preview_page(importer, error.report, token, meta, status=422)
    import_service.discard_upload(current_app.config["IMPORT_UPLOAD_DIR"], token)
    flash(_("Imported %(imported)s %(label)s.", imported=report.imported, label=importer.label), "success")
    endpoint = LIST_ENDPOINTS.get(kind)
    if endpoint in current_app.view_functions:
        return redirect_after_post(endpoint)
    return redirect_after_post("audit.import_upload", kind=kind)


@bp.route("/export/<kind>")
@require_role("manager")
def data_export(kind: str):
    """Every record of `kind` as CSV in the import's format (export, edit, import back)."""
    importer = _importer(kind)
    rows = import_service.export_rows(kind, current_user.company_id)
    return stream_csv(f"{importer.kind}-{date.today().isoformat()}.csv",
                      import_service.export_header(kind), rows)
