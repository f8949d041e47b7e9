"""Money settings: tax codes, payment terms, due dates, the rate a sales line takes, and
the company's logo.

Tax codes and payment terms are master records (create, edit, archive, and delete while
no product or customer names them). Archiving the company's default
leaves it without one. Every public function is one transaction (`atomic()`), audited.
"""
from __future__ import annotations

import base64
import calendar
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from erp.collation import same_text
from erp.extensions import db
from erp.models import Product, Supplier, User
from erp.models.sales import Customer
from erp.models.base import ZERO
from erp.models.fields import TAX_RATE
from erp.models.money import (LOGO_MAX_BYTES, LOGO_TYPES, MAX_TERM_DAYS, PAYMENT_TERMS_TEXT,
                              TAX_CODE_TEXT, TERMS_KINDS, CompanyLogo, PaymentTerms, TaxCode)
from erp.services import NotFound, ValidationError, atomic, audit, validation
from erp.services.catalog import _delete, _get, _named_by, _record_active
from erp.services.defaults import default_of
from erp.services.validation import clean_number, clean_texts
from erp.i18n import _


def _unique_name(model, company_id: int, name: str, record_id: int | None, errors: dict,
                 what: str) -> None:
    if not name or "name" in errors:
        return
    stmt = select(model.id).where(model.company_id == company_id,
                                  same_text(model.name, name))
    if record_id is not None:
        stmt = stmt.where(model.id != record_id)
    if db.session.scalar(stmt) is not None:
        validation.add_error(errors, "name", _('A %(what)s named %(name)s exists.', what=what, name=name))


def _save(model, company_id: int, record_id: int | None, user: User | None, clean: dict,
          record_type: str):
    """Create (`record_id` None) or update a tax code or payment terms with checked values;
    a name taken meanwhile (the unique constraint) is a ValidationError. Commits."""
    try:
        with atomic():
            if record_id is None:
                record = model(company_id=company_id, **clean)
                db.session.add(record)
                db.session.flush()
                audit.record(company_id=company_id, user=user, action="create",
                             record_type=record_type, record_id=record.id,
                             summary=f"Created {record_type.replace('_', ' ')} {record.name}")
            else:
                record = _get(model, company_id, record_id, record_type.replace("_", " "))
                changes = audit.diff(record, clean)
                if changes:
                    audit.record(company_id=company_id, user=user, action="update",
                                 record_type=record_type, record_id=record.id, changes=changes,
                                 summary=f"Updated {record_type.replace('_', ' ')} "
                                         f"{record.name}")
    except IntegrityError:
        raise ValidationError(field_errors={"name": ["This name is taken."]}) from None
    return record


def _archive(model, company_id: int, record_id: int, active: bool, user: User | None,
             record_type: str):
    with atomic():
        record = _get(model, company_id, record_id, record_type.replace("_", " "))
        if not active:
            record.is_default = False  # an archived record is nobody's default
        _record_active(record, active, company_id=company_id, user=user,
                       record_type=record_type, label=record.name)
    return record


# --- tax codes --------------------------------------------------------------------------

def _tax_code_values(company_id: int, values: dict, tax_code_id: int | None) -> dict:
    errors: dict[str, list[str]] = {}
    clean = clean_texts(values, TAX_CODE_TEXT, errors)
    clean["rate"] = clean_number(values.get("rate"), "rate", TAX_RATE, errors)
    _unique_name(TaxCode, company_id, clean["name"], tax_code_id, errors, "tax code")
    if errors:
        raise ValidationError(field_errors=errors)
    return clean


def create_tax_code(*, company_id: int, user: User | None, **values) -> TaxCode:
    """Create a tax code: a name unique in the company and a rate from 0 to 100 %.
    ValidationError with every problem. Commits."""
    clean = _tax_code_values(company_id, values, None)
    return _save(TaxCode, company_id, None, user, clean, "tax_code")


def update_tax_code(*, company_id: int, tax_code_id: int, user: User | None,
                    **values) -> TaxCode:
    """Rename a tax code or change its rate. Lines already on orders keep the rate they
    took; new lines take the new one. Commits."""
    clean = _tax_code_values(company_id, values, tax_code_id)
    return _save(TaxCode, company_id, tax_code_id, user, clean, "tax_code")


def set_tax_code_active(*, company_id: int, tax_code_id: int, active: bool,
                        user: User | None) -> TaxCode:
    """Archive (no longer offered; no longer the default) or reactivate a tax code. Commits."""
    return _archive(TaxCode, company_id, tax_code_id, active, user, "tax_code")


def tax_code_in_use(company_id: int, tax_code_id: int) -> str | None:
    """Why a tax code cannot be deleted (products name it), or None."""
    return _named_by(Product, Product.tax_code_id, company_id, tax_code_id,
                     _("Products name this tax code, so it cannot be deleted. Archive it instead."))


def delete_tax_code(*, company_id: int, tax_code_id: int, user: User | None) -> None:
    """Delete a tax code no record names; InUse otherwise. Commits."""
    code = _get(TaxCode, company_id, tax_code_id, "tax code")
    _delete(code, company_id=company_id, user=user, record_type="tax_code", label=code.name,
            in_use=tax_code_in_use(company_id, code.id))


def line_tax_rate(company_id: int, product: Product | None) -> Decimal:
    """The rate a sales line of `product` takes: its tax code's, else the company's default
    code's, else 0."""
    if product is not None and product.tax_code_id is not None:
        rate = db.session.scalar(select(TaxCode.rate).where(
            TaxCode.id == product.tax_code_id, TaxCode.company_id == company_id))
        if rate is not None:
            return rate
    default = default_of(TaxCode, company_id)
    return default.rate if default is not None else ZERO


# --- payment terms ----------------------------------------------------------------------

def _terms_values(company_id: int, values: dict, terms_id: int | None) -> dict:
    errors: dict[str, list[str]] = {}
    clean = clean_texts(values, PAYMENT_TERMS_TEXT, errors)
    kind = values.get("kind") or "net"
    if kind not in TERMS_KINDS:
        validation.add_error(errors, "kind", _("Choose a kind of terms."))
    clean["kind"] = kind
    days = values.get("days")
    if kind == "receipt":
        clean["days"] = 0
    elif validation.blank(days):
        validation.add_error(errors, "days", _("Enter the number of days."))
    else:
        try:
            clean["days"] = int(str(days).strip())
        except ValueError:
            clean["days"] = None
        if clean["days"] is None or not 0 <= clean["days"] <= MAX_TERM_DAYS:
            validation.add_error(errors, "days", _('Enter whole days from 0 to %(MAX_TERM_DAYS)s.', MAX_TERM_DAYS=MAX_TERM_DAYS))
    _unique_name(PaymentTerms, company_id, clean["name"], terms_id, errors, "payment term")
    if errors:
        raise ValidationError(field_errors=errors)
    return clean


def create_payment_terms(*, company_id: int, user: User | None, **values) -> PaymentTerms:
    """Create payment terms: a unique name, a kind (net n days, due on receipt, n days
    after the end of the month) and the days (0 to 365; none for due on receipt). Commits."""
    clean = _terms_values(company_id, values, None)
    return _save(PaymentTerms, company_id, None, user, clean, "payment_terms")


def update_payment_terms(*, company_id: int, payment_terms_id: int, user: User | None,
                         **values) -> PaymentTerms:
    """Change payment terms (checked as on create). Commits."""
    clean = _terms_values(company_id, values, payment_terms_id)
    return _save(PaymentTerms, company_id, payment_terms_id, user, clean, "payment_terms")


def set_payment_terms_active(*, company_id: int, payment_terms_id: int, active: bool,
                             user: User | None) -> PaymentTerms:
    """Archive or reactivate payment terms (archived: not offered, not the default). Commits."""
    return _archive(PaymentTerms, company_id, payment_terms_id, active, user, "payment_terms")


def payment_terms_in_use(company_id: int, payment_terms_id: int) -> str | None:
    """Why payment terms cannot be deleted (customers or suppliers name them), or None."""
    return (_named_by(Customer, Customer.payment_terms_id, company_id, payment_terms_id,
                      _("Customers have these payment terms, so they cannot be deleted. "
                        "Archive them instead."))
            or _named_by(Supplier, Supplier.payment_terms_id, company_id, payment_terms_id,
                         _("Suppliers have these payment terms, so they cannot be deleted. "
                           "Archive them instead.")))


def delete_payment_terms(*, company_id: int, payment_terms_id: int, user: User | None) -> None:
    """Delete payment terms no record names; InUse otherwise. Commits."""
    terms = _get(PaymentTerms, company_id, payment_terms_id, "payment terms")
    _delete(terms, company_id=company_id, user=user, record_type="payment_terms",
            label=terms.name, in_use=payment_terms_in_use(company_id, terms.id))


def due_date(terms: PaymentTerms | None, issue_date: date) -> date:
    """When an invoice issued on `issue_date` is due under `terms`: on receipt the same
    day; net n: n days later; end of month n: n days after the last day of the issue's
    month (2026-01-15, EOM 30 -> 2026-03-02). No terms: due on receipt."""
    if terms is None or terms.kind == "receipt":
        return issue_date
    if terms.kind == "end_of_month":
        last = calendar.monthrange(issue_date.year, issue_date.month)[1]
        return issue_date.replace(day=last) + timedelta(days=terms.days)
    return issue_date + timedelta(days=terms.days)


def customer_terms(company_id: int, customer) -> PaymentTerms | None:
    """The terms a customer's invoices (or a supplier's bills) are due under: its own, else
    the company's default."""
    if getattr(customer, "payment_terms_id", None) is not None:
        return customer.payment_terms
    return default_of(PaymentTerms, company_id)


# --- the company's logo -----------------------------------------------------------------

def logo_type(data: bytes) -> str | None:
    """The content type of a PNG or JPEG image, read from its first bytes (never from
    the file name or what the browser claims); None for anything else."""
    for content_type, magic in LOGO_TYPES.items():
        if data.startswith(magic):
            return content_type
    return None


def set_logo(*, company_id: int, user: User | None, data: bytes) -> CompanyLogo:
    """Store the company's logo: a PNG or JPEG of at most LOGO_MAX_BYTES, replacing the
    one before. ValidationError (field `logo`) otherwise, nothing written. Commits."""
    if not data:
        raise ValidationError(field_errors={"logo": ["Choose an image file."]})
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationError(field_errors={"logo": [
            f"The logo is {len(data) // 1024} KB: use at most {LOGO_MAX_BYTES // 1024} KB."]})
    content_type = logo_type(data)
    if content_type is None:
        raise ValidationError(field_errors={"logo": ["Upload a PNG or JPEG image."]})
    with atomic():
        logo = db.session.get(CompanyLogo, company_id)
        if logo is None:
            logo = CompanyLogo(company_id=company_id, content_type=content_type, data=data)
            db.session.add(logo)
        else:
            logo.content_type, logo.data = content_type, data
        audit.record(company_id=company_id, user=user, action="update", record_type="Company",
                     record_id=company_id, summary=f"Logo ({content_type}, {len(data)} bytes)")
    return logo


def remove_logo(*, company_id: int, user: User | None) -> None:
    """Remove the company's logo (nothing to do without one). Commits."""
    with atomic():
        logo = db.session.get(CompanyLogo, company_id)
        if logo is not None:
            db.session.delete(logo)
            audit.record(company_id=company_id, user=user, action="update",
                         record_type="Company", record_id=company_id, summary="Logo removed")


def get_logo(company_id: int) -> CompanyLogo:
    logo = db.session.get(CompanyLogo, company_id)
    if logo is None:
        raise NotFound(_("No logo."))
    return logo


def logo_data_url(company_id: int) -> str | None:
    """The logo as a data: URL (embedded in printed documents and PDFs), or None."""
    logo = db.session.get(CompanyLogo, company_id)
    if logo is None:
        return None
    return f"data:{logo.content_type};base64,{base64.b64encode(logo.data).decode('ascii')}"


def has_logo(company_id: int) -> bool:
    return db.session.scalar(select(CompanyLogo.company_id).where(
        CompanyLogo.company_id == company_id)) is not None
