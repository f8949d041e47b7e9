"""CSV import and export of master data: products, suppliers and customers.

Each kind is one `Importer` in `IMPORTERS`: its columns, how a row is parsed and checked,
how a record is created, and the export query in the same column format, so that a file
exported here imports back unchanged. To add a kind, write a subclass and register it in
IMPORTERS; the web pages and the `import-csv` command pick it up. A list page exports its
filtered rows in the same format with `export_rows(kind, company_id, stmt=<its select>)`.

An import is all or nothing, without holding the database's write lock for its whole
length (on SQLite one write transaction of 100,000 rows blocked every company's writes):
`run_import` validates the whole file again first, with reads only, then creates the
records in batches of BATCH_SIZE rows, each batch one short write transaction (with a
pause on SQLite, so waiting writers get their turn). If a batch fails (someone created a
conflicting record meanwhile, or the database went away), the batches already committed
are undone by a compensating delete of exactly the records they created (and their
audit entries), and `ImportFailed` reports what is wrong: nothing was imported. Other
users may see the first batches' records while the import runs (seconds), never after a
failed one.
Uploaded files wait between preview and confirm in a folder (`IMPORT_UPLOAD_DIR`, by
default `instance/imports/`) under a random token, bound to the user and company that
uploaded them (`save_upload`/`load_upload`), for an hour at most, within quotas per user
and in total (`UploadQuota`), so that nobody can fill the disk with uploads.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from erp.csv_io import (Column, CsvFormatError, ImportReport, ProgressCallback, RowError,
                        RowParser, chunks, export_select, iter_rows, read_csv)
from erp.extensions import db
from erp.models import AuditEntry, Category, Product, Supplier, User
from erp.models.base import utcnow
from erp.models.catalog import (CATEGORY_TEXT, PRODUCT_KINDS, PRODUCT_TEXT, SUPPLIER_TEXT,
                                UNITS)
from erp.models.sales import CUSTOMER_TEXT, Customer
from erp.services import NotFound, ValidationError, atomic
from erp.i18n import _, ngettext

MONEY_MAX = Decimal("999999999999.99")
QUANTITY_MAX = Decimal("99999999999.999")
# Rows per write transaction of an import: a batch takes tens of milliseconds.
BATCH_SIZE = 1000
# On SQLite, after each batch the import sleeps this share of the batch's time (at most
# SQLITE_PAUSE_MAX seconds): a writer waiting in SQLite's busy handler polls every few to
# 100 ms and must find the lock free at one of its polls.
SQLITE_PAUSE_SHARE = 1.0
SQLITE_PAUSE_MAX = 0.1


class ImportFailed(ValidationError):
    """The file has errors; `report` lists every one. Nothing was imported."""

    def __init__(self, report: ImportReport) -> None:
        count = len(report.errors) + len(report.file_errors)
        super().__init__(f"The file has {count} error{'s' if count != 1 else ''}; nothing was imported.")
        self.report = report


class Importer:
    """One kind of record that can be imported and exported as CSV."""

    kind = ""
    label = ""  # plural, for pages: "products"
    record_type = ""  # the audit trail's name for the model
    columns: list[Column] = []
    key = ""  # the column that is unique within a file (checked case-insensitively)
    fields: tuple[str, ...] = ()  # the model's columns an import writes

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def parse_row(self, row: RowParser) -> dict[str, Any]:
        raise NotImplementedError

    def check(self, company_id: int, report: ImportReport) -> None:
        """Checks across rows and against the database (duplicates, references)."""

    def create(self, company_id: int, values: dict[str, Any]):
        return self.model(company_id=company_id, **self.row(values))

    def row(self, values: dict[str, Any]) -> dict[str, Any]:
        """The model's column values of a checked row (for a bulk INSERT)."""
        return {name: values[name] for name in self.fields}

    def describe_values(self, values: dict[str, Any]) -> str:
        """The audit summary's name of an imported row (as `str(record)` would say)."""
        return str(values[self.key])

    model: Any = None

    def export_columns(self) -> list[Any]:
        """The columns of an export row, in the order of `columns`."""
        raise NotImplementedError

    def export_joins(self) -> list[tuple[Any, Any]]:
        """(table, on clause) outer joins that `export_columns` need."""
        return []

    def export_order(self) -> list[Any]:
        raise NotImplementedError

    def export_select(self, company_id: int) -> Select:
        """Every record of the company, in the import's format."""
        stmt = (select(self.model).where(self.model.company_id == company_id)
                .order_by(*self.export_order()))
        return self.export_filtered(stmt)

    def export_filtered(self, stmt: Select) -> Select:
        """A list page's filtered, ordered select of the model in the import's format."""
        return export_select(stmt, self.export_columns(), joins=self.export_joins())

    def export_row(self, row) -> list[Any]:
        return list(row)

    def describe(self, record) -> str:
        return str(record)


def _check_unique(report: ImportReport, column: str, existing: set[str], what: str) -> None:
    """Flag values repeated in the file, and values already in the database (case-insensitive)."""
    seen: dict[str, int] = {}
    for values in report.rows:
        key = values.get(column, "").lower()
        if not key:
            continue
        if key in seen:
            report.errors.append(_error(values, column,
                                        f"{values[column]!r} is repeated (first on line {seen[key]})."))
        else:
            seen[key] = values["_line"]
        if key in existing:
            report.errors.append(_error(values, column, f"{what} {values[column]!r} already exists."))


def _texts(row: RowParser, fields: dict) -> dict[str, str]:
    """The declared text fields of a row (`erp.models.fields.Text`), checked as the form
    and the service check them."""
    return {name: row.text(name, max_length=spec.limit, required=bool(spec.required))
            for name, spec in fields.items()}


def _email(row: RowParser, pattern, email: str) -> str:
    if email and not pattern.match(email):
        row.error("email", f"{email[:60]!r} is not an email address.")
    return email


def _error(values: dict[str, Any], column: str, message: str) -> RowError:
    return RowError(values["_line"], column, message)


class ProductImporter(Importer):
    kind = "products"
    label = "products"
    record_type = "product"  # as erp.services.catalog writes it (the History panel's type)
    columns = [Column("sku", True), Column("name", True), Column("kind"), Column("category"),
               Column("unit"), Column("sale_price"), Column("cost_price"), Column("min_stock"),
               Column("barcode"), Column("description"), Column("active")]

    def parse_row(self, row: RowParser) -> dict[str, Any]:
        unit = row.text("unit", max_length=20, default="pcs") or "pcs"
        if unit not in UNITS:
            row.error("unit", f"{unit[:40]!r} is not one of: {', '.join(UNITS)}.")
        return _texts(row, PRODUCT_TEXT) | {
            "kind": row.choice("kind", PRODUCT_KINDS, default="finished_good"),
            "category": row.text("category", max_length=CATEGORY_TEXT["name"].limit),
            "unit": unit,
            "sale_price": row.decimal("sale_price", default=Decimal("0.00"), maximum=MONEY_MAX, places=2),
            "cost_price": row.decimal("cost_price", default=Decimal("0.00"), maximum=MONEY_MAX, places=2),
            "min_stock": row.decimal("min_stock", default=Decimal("0.000"), maximum=QUANTITY_MAX, places=3),
            "active": row.boolean("active"),
        }

    def check(self, company_id: int, report: ImportReport) -> None:
        skus = sorted({v["sku"].lower() for v in report.rows if v["sku"]})
        existing: set[str] = set()
        for chunk in chunks(skus):
            existing.update(s.lower() for s in db.session.scalars(
                select(Product.sku).where(Product.company_id == company_id,
                                          func.lower(Product.sku).in_(chunk))))
        _check_unique(report, "sku", existing, "SKU")
        barcodes = sorted({v["barcode"] for v in report.rows if v.get("barcode")})
        taken: set[str] = set()
        for chunk in chunks(barcodes):  # a barcode names one product (a scan picks it)
            taken.update(b.lower() for b in db.session.scalars(
                select(Product.barcode).where(Product.company_id == company_id,
                                              Product.barcode.in_(chunk))))
        _check_unique(report, "barcode", taken, "Barcode")
        names = sorted({v["category"].lower() for v in report.rows if v["category"]})
        categories: dict[str, int] = {}
        for chunk in chunks(names):
            for category_id, name in db.session.execute(
                    select(Category.id, Category.name).where(
                        Category.company_id == company_id, func.lower(Category.name).in_(chunk))):
                categories[name.lower()] = category_id
        for values in report.rows:
            name = values["category"]
            values["category_id"] = categories.get(name.lower()) if name else None
            if name and values["category_id"] is None:
                report.errors.append(_error(values, "category",
                                            f"Unknown category {name!r}. Create it first."))

    key = "sku"
    fields = ("sku", "name", "kind", "unit", "sale_price", "cost_price", "min_stock", "barcode",
              "description", "active", "category_id")

    def describe_values(self, values: dict[str, Any]) -> str:
        return f"{values['sku']} · {values['name']}"

    model = Product

    def export_columns(self) -> list[Any]:
        return [Product.sku, Product.name, Product.kind, Category.name, Product.unit,
                Product.sale_price, Product.cost_price, Product.min_stock, Product.barcode,
                Product.description, Product.active]

    def export_joins(self) -> list[tuple[Any, Any]]:
        return [(Category, Category.id == Product.category_id)]

    def export_order(self) -> list[Any]:
        return [Product.sku, Product.id]


class SupplierImporter(Importer):
    kind = "suppliers"
    label = "suppliers"
    record_type = "supplier"
    columns = [Column("name", True), Column("contact_person"), Column("email"), Column("phone"),
               Column("address"), Column("tax_number"), Column("active")]
    EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

    def parse_row(self, row: RowParser) -> dict[str, Any]:
        values = _texts(row, SUPPLIER_TEXT)
        _email(row, self.EMAIL, values["email"])
        return values | {"active": row.boolean("active")}

    def check(self, company_id: int, report: ImportReport) -> None:
        names = sorted({v["name"].lower() for v in report.rows if v["name"]})
        existing: set[str] = set()
        for chunk in chunks(names):
            existing.update(n.lower() for n in db.session.scalars(
                select(Supplier.name).where(Supplier.company_id == company_id,
                                            func.lower(Supplier.name).in_(chunk))))
        _check_unique(report, "name", existing, "Supplier")

    key = "name"
    fields = ("name", "contact_person", "email", "phone", "address", "tax_number", "active")
    model = Supplier

    def export_columns(self) -> list[Any]:
        return [Supplier.name, Supplier.contact_person, Supplier.email, Supplier.phone,
                Supplier.address, Supplier.tax_number, Supplier.active]

    def export_order(self) -> list[Any]:
        return [Supplier.name, Supplier.id]


class CustomerImporter(Importer):
    kind = "customers"
    label = "customers"
    record_type = "customer"  # as erp.services.sales writes it (the History panel's type)
    model = Customer
    columns = [Column("name", True), Column("email"), Column("phone"), Column("billing_address"),
               Column("shipping_address"), Column("tax_number"), Column("credit_limit"),
               Column("active")]
    EMAIL = SupplierImporter.EMAIL

    def parse_row(self, row: RowParser) -> dict[str, Any]:
        values = _texts(row, CUSTOMER_TEXT)
        _email(row, self.EMAIL, values["email"])
        return values | {
            "credit_limit": row.decimal("credit_limit", default=Decimal("0.00"),
                                        maximum=MONEY_MAX, places=2),
            "active": row.boolean("active"),
        }

    def check(self, company_id: int, report: ImportReport) -> None:
        names = sorted({v["name"].lower() for v in report.rows if v["name"]})
        existing: set[str] = set()
        for chunk in chunks(names):
            existing.update(n.lower() for n in db.session.scalars(
                select(Customer.name).where(Customer.company_id == company_id,
                                            func.lower(Customer.name).in_(chunk))))
        _check_unique(report, "name", existing, "Customer")

    key = "name"
    fields = ("name", "email", "phone", "billing_address", "shipping_address", "tax_number",
              "credit_limit", "active")

    def export_columns(self) -> list[Any]:
        return [Customer.name, Customer.email, Customer.phone, Customer.billing_address,
                Customer.shipping_address, Customer.tax_number, Customer.credit_limit,
                Customer.active]

    def export_order(self) -> list[Any]:
        return [Customer.name, Customer.id]


# The kinds that can be imported and exported.
IMPORTERS: dict[str, Importer] = {importer.kind: importer
                                  for importer in (ProductImporter(), SupplierImporter(),
                                                   CustomerImporter())}


def get_importer(kind: str) -> Importer:
    try:
        return IMPORTERS[kind]
    except KeyError:
        raise NotFound(_('Nothing to import as %(value)s.', value=repr(kind))) from None


def preview_import(kind: str, company_id: int, data: bytes) -> ImportReport:
    """Parse and check a file without writing anything: every row's errors at once."""
    importer = get_importer(kind)
    report = ImportReport(kind=kind, columns=importer.column_names)
    try:
        header, rows = read_csv(data, importer.columns)
    except CsvFormatError as error:
        report.file_errors = error.messages
        return report
    for line, values in rows:
        parser = RowParser(line, values, report.errors, len(header))
        parsed = importer.parse_row(parser)
        parsed["_line"] = line
        report.rows.append(parsed)
    if not report.rows:
        report.file_errors.append(_("The file has a header but no rows."))
        return report
    importer.check(company_id, report)
    report.errors.sort(key=lambda e: e.line)
    return report


def run_import(kind: str, *, company_id: int, user: User | None, data: bytes,
               progress: ProgressCallback | None = None,
               batch_size: int = BATCH_SIZE,
               on_batch: Callable[[list[int]], None] | None = None) -> ImportReport:
    """Import a whole file, all or nothing, in write transactions of `batch_size` rows.

    The file is checked again first, reading only (the database may have changed since the
    preview): ImportFailed with the report when any row has an error, nothing written.
    Then each batch commits its records and one audit entry per record; `progress(n)` is
    called after each, `on_batch(ids)` inside each batch's transaction (a job records
    what it created with the records themselves). When a batch fails, the committed batches are deleted again and
    ImportFailed (or the database's error, when the data is not the cause) is raised:
    nothing stays imported. Commits; not to be called inside another transaction.
    """
    importer = get_importer(kind)
    session = db.session()
    if session.info.get("atomic_depth", 0):
        raise RuntimeError("run_import commits batch by batch: call it outside atomic()")
    report = preview_import(kind, company_id, data)
    session.rollback()  # end the read; each batch below is its own write transaction
    if not report.ok:
        raise ImportFailed(report)
    actor = (user.id, user.email) if user is not None else (None, "")
    sqlite = session.get_bind().dialect.name == "sqlite"
    created: list[int] = []
    try:
        for batch in chunks(report.rows, batch_size):
            started = time.perf_counter()
            with atomic():
                ids = _insert_batch(importer, company_id, actor, batch)
                if on_batch:
                    on_batch(ids)
                created.extend(ids)
            if progress:
                progress(len(batch))
            if sqlite:  # let the writers that waited for this batch go first
                time.sleep(min(SQLITE_PAUSE_MAX,
                               (time.perf_counter() - started) * SQLITE_PAUSE_SHARE))
    except Exception as error:
        session.rollback()
        kept = _undo_import(importer, company_id, created, batch_size) if created else []
        if isinstance(error, IntegrityError):  # a conflicting record appeared meanwhile
            again = preview_import(kind, company_id, data)
            session.rollback()
            if again.ok:
                again.file_errors.append(
                    _("A record was created or changed by someone else while the file was "
                    "being imported. Try again."))
            _report_kept(again, importer, kept)
            raise ImportFailed(again) from error
        if kept:
            _report_kept(report, importer, kept)
            raise ImportFailed(report) from error
        raise
    report.imported = len(report.rows)
    return report


def _insert_batch(importer: Importer, company_id: int, actor: tuple[int | None, str],
                  batch) -> list[int]:
    """Insert one batch of checked rows and their audit entries (inside the caller's
    transaction); returns the new records' ids. Bulk INSERTs: no ORM object per row."""
    model = importer.model
    key_column = getattr(model, importer.key)
    rows = [{**importer.row(values), "company_id": company_id} for values in batch]
    # RETURNING the key with the id: the rows may come back in any order
    ids = {key: record_id for record_id, key in db.session.execute(
        insert(model).returning(model.id, key_column), rows)}
    user_id, user_name = actor
    now = utcnow()
    db.session.execute(insert(AuditEntry), [
        {"company_id": company_id, "user_id": user_id, "user_name": user_name,
         "created_at": now, "action": "import", "record_type": importer.record_type,
         "record_id": ids[values[importer.key]], "changes": {}, "ip_address": None,
         "summary": f"Imported from CSV: {importer.describe_values(values)}"[:300]}
        for values in batch])
    return [ids[values[importer.key]] for values in batch]


def _undo_import(importer: Importer, company_id: int, ids: list[int],
                 batch_size: int) -> list[int]:
    """Delete the records an import created (the compensating step), batch by batch.

    Returns the ids that could not be deleted because another document refers to them
    by now (RESTRICT): they are kept, and reported.
    """
    model = importer.model
    kept: list[int] = []

    def remove(chunk) -> None:
        db.session.execute(delete(AuditEntry).where(
            AuditEntry.company_id == company_id, AuditEntry.action == "import",
            AuditEntry.record_type == importer.record_type, AuditEntry.record_id.in_(chunk)))
        db.session.execute(delete(model).where(model.company_id == company_id,
                                               model.id.in_(chunk)))

    for chunk in chunks(ids, batch_size):
        try:
            with atomic():
                remove(chunk)
        except IntegrityError:
            for record_id in chunk:  # one by one: keep only those in use
                try:
                    with atomic():
                        remove([record_id])
                except IntegrityError:
                    kept.append(record_id)
    return kept


def run_import_job(job, progress) -> None:
    """The background job of a big import (erp/services/jobs.py): `run_import` of the file
    kept in the job, as its user. Each batch records its records' ids in the job in its
    own transaction, so an attempt that was killed mid-way is undone first and the file
    imported again whole: all or nothing, also across a killed worker."""
    from erp.models.jobs import Job

    kind = job.params["kind"]
    importer = get_importer(kind)
    left = list((job.params or {}).get("created") or [])
    if left:
        _undo_import(importer, job.company_id, left, BATCH_SIZE)
        _record_created(job.id, None)
    data = job.data or b""
    user = db.session.get(User, job.user_id)
    try:
        report = run_import(kind, company_id=job.company_id, user=user, data=data,
                            progress=progress.add,
                            batch_size=int(job.params.get("batch_size") or BATCH_SIZE),
                            on_batch=lambda ids: _record_created(job.id, ids))
    except ImportFailed as error:
        _record_created(job.id, None, report=error.report)
        raise ValidationError(f"{error} {error.report.text()}") from error
    with atomic():
        job = db.session.get(Job, job.id, populate_existing=True)
        job.params = {key: value for key, value in job.params.items() if key != "report"} | {
            "created": [], "imported": report.imported}
        job.result_name = f"Imported {report.imported} {importer.label}."


# the row errors a failed import job keeps for its status (the API's job result)
REPORT_ERRORS_KEPT = 1000


def _record_created(job_id: int, ids: list[int] | None,
                    report: ImportReport | None = None) -> None:
    """Add `ids` to the records the job's import created (None: forget them), in the
    caller's transaction if there is one; with the `report` of a failed import, keep its
    errors (the first REPORT_ERRORS_KEPT rows') for the job's result."""
    from erp.models.jobs import Job

    with atomic():
        job = db.session.get(Job, job_id, populate_existing=True)
        created = [] if ids is None else list(job.params.get("created") or []) + ids
        job.params = {**job.params, "created": created}
        if report is not None:
            job.params = {**job.params, "report": {
                "errors": [{"line": error.line, "column": error.column,
                            "message": error.message}
                           for error in report.errors[:REPORT_ERRORS_KEPT]],
                "file_errors": list(report.file_errors)}}


def _report_kept(report: ImportReport, importer: Importer, kept: list[int]) -> None:
    if not kept:
        return
    names = db.session.scalars(select(getattr(importer.model, importer.key)).where(
        importer.model.id.in_(kept[:20]))).all()
    report.file_errors.append(
        _('%(value)s %(label)s created by this import were used by other documents before it was undone, so they were kept: %(value2)s%(value3)s.', value=len(kept), label=importer.label, value2=', '.join(map(str, names)), value3=' ...' if len(kept) > 20 else ''))


def export_header(kind: str) -> list[str]:
    return get_importer(kind).column_names


def export_rows(kind: str, company_id: int, *, stmt: Select | None = None) -> Iterator[list[Any]]:
    """Records of the kind in the import's column format, streamed from the database.

    Every record of the company, or those of `stmt`: a list page's filtered and ordered
    select of the kind's model (already scoped to the company), exported as the page
    shows them.
    """
    importer = get_importer(kind)
    if stmt is None:
        query = importer.export_select(company_id)
    else:
        query = importer.export_filtered(stmt.where(importer.model.company_id == company_id))
    for row in iter_rows(query):
        yield importer.export_row(row)


# ---------------------------------------------------------------- uploads between preview and confirm

UPLOAD_TTL_SECONDS = 3600
TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
GONE = "This upload does not exist or has expired. Upload the file again."


@dataclass(frozen=True)
class UploadQuota:
    """How much may wait for confirmation: per user and over everyone (bytes and files)."""

    user_bytes: int = 64 * 1024 * 1024
    user_files: int = 10
    total_bytes: int = 1024 * 1024 * 1024
    total_files: int = 500

    @classmethod
    def from_config(cls, config) -> "UploadQuota":
        return cls(user_bytes=config["IMPORT_UPLOAD_USER_BYTES"],
                   user_files=config["IMPORT_UPLOAD_USER_FILES"],
                   total_bytes=config["IMPORT_UPLOAD_TOTAL_BYTES"],
                   total_files=config["IMPORT_UPLOAD_TOTAL_FILES"])


class UploadQuotaExceeded(ValidationError):
    """Too much is waiting for confirmation; nothing was stored."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field_errors={"file": [message]})


def _upload_dir(folder: str | os.PathLike) -> Path:
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """One upload at a time over all processes (the quota check and the write are one step)."""
    with open(folder / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pending(folder: Path) -> list[tuple[int | None, int]]:
    """(user id, bytes) of every upload waiting in `folder`."""
    waiting = []
    for meta_path in folder.glob("*.json"):
        try:
            meta = json.loads(meta_path.read_text())
            size = (folder / f"{meta_path.stem}.csv").stat().st_size
        except (OSError, ValueError):
            continue
        waiting.append((meta.get("user_id"), size))
    return waiting


def _check_quota(folder: Path, user: User, size: int, quota: UploadQuota) -> None:
    waiting = _pending(folder)
    mine = [s for owner, s in waiting if owner == user.id]
    if len(mine) + 1 > quota.user_files or sum(mine) + size > quota.user_bytes:
        raise UploadQuotaExceeded(
            ngettext("You have %(num)d upload waiting for confirmation, which is as much as one "
                     "person may keep. Confirm or leave it (it is removed %(minutes)s minutes "
                     "after the upload), then upload again.",
                     "You have %(num)d uploads waiting for confirmation, which is as much as one "
                     "person may keep. Confirm or leave them (they are removed %(minutes)s minutes "
                     "after the upload), then upload again.", len(mine),
                     minutes=UPLOAD_TTL_SECONDS // 60))
    if (len(waiting) + 1 > quota.total_files
            or sum(s for _, s in waiting) + size > quota.total_bytes):
        raise UploadQuotaExceeded(
            _("Too many uploads are waiting for confirmation on this server right now. "
            "Try again in a few minutes."))


def save_upload(folder: str | os.PathLike, data: bytes, *, kind: str, user: User,
                filename: str = "", quota: UploadQuota | None = None) -> str:
    """Keep an uploaded file for its confirmation; returns a random token naming it.

    The file name is ours (the token), never the client's; the owner (user, company,
    kind) is stored next to it and checked by `load_upload`. Expired uploads are removed
    first; then UploadQuotaExceeded when the user's waiting uploads, or everyone's, would
    go over `quota` (nothing is stored).
    """
    folder = _upload_dir(folder)
    quota = quota or UploadQuota()
    with _folder_lock(folder):
        purge_uploads(folder)
        _check_quota(folder, user, len(data), quota)
        token = secrets.token_urlsafe(24)
        (folder / f"{token}.csv").write_bytes(data)
        meta = {"user_id": user.id, "company_id": user.company_id, "kind": kind,
                "created": time.time(), "filename": os.path.basename(filename or "")[:200]}
        (folder / f"{token}.json").write_text(json.dumps(meta))
    return token


def load_upload(folder: str | os.PathLike, token: str, *, kind: str,
                user: User) -> tuple[bytes, dict]:
    """The stored file of `token` if `user` uploaded it for `kind` and it has not expired."""
    if not TOKEN.match(token or ""):
        raise NotFound(GONE)
    folder = _upload_dir(folder)
    try:
        meta = json.loads((folder / f"{token}.json").read_text())
        data = (folder / f"{token}.csv").read_bytes()
    except (OSError, ValueError):
        raise NotFound(GONE) from None
    if (meta.get("user_id") != user.id or meta.get("company_id") != user.company_id
            or meta.get("kind") != kind
            or time.time() - meta.get("created", 0) > UPLOAD_TTL_SECONDS):
        raise NotFound(GONE)
    return data, meta


def discard_upload(folder: str | os.PathLike, token: str) -> None:
    if not TOKEN.match(token or ""):
        return
    folder = _upload_dir(folder)
    for suffix in (".csv", ".json"):
        try:
            (folder / f"{token}{suffix}").unlink()
        except FileNotFoundError:
            pass


def purge_uploads(folder: str | os.PathLike, *, max_age: int = UPLOAD_TTL_SECONDS) -> None:
    """Remove uploads older than `max_age` seconds (never confirmed)."""
    folder = _upload_dir(folder)
    limit = time.time() - max_age
    for path in folder.glob("*"):
        if path.name == ".lock":
            continue
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except FileNotFoundError:
            pass
