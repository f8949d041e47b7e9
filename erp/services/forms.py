"""Custom forms: a manager designs a form's fields, staff fill it (draft, then submitted).

Rules:
- A form is edited on its latest version. When that version has submissions (drafts
  included), the edit first copies it to a new version (`_editable_version`), so every
  submission keeps the fields it was filled with.
- A field's `key` (f1, f2 ...) is given once and kept by every copy; a condition names
  the key of another field of the form ("show when f3 is yes"), which is a yes / no or a
  list field and has no condition of its own (no chains, no cycles).
- A product or a category may name the form its quality inspections are filled on
  (`link_form`; the product's own link wins). A submission made for a product (and a
  goods receipt) records, when submitted, the quality inspection its answers decide: a
  yes / no field marked "must be yes" answered no fails it (`inspection_result`).
- A submission is checked whole: every bad answer is reported at once (`ValidationError`
  keyed by the field's key). A draft may leave required fields empty; submitting may not.
  Answers of fields whose condition is not met are dropped. A submitted form is
  read-only. Every save writes an audit entry in the same transaction.
- A photo or file field takes an upload, recognised by its first bytes (PNG, JPEG, WebP;
  a file field also a PDF), at most FORM_UPLOAD_MAX_BYTES; its bytes are kept on the
  answer row (the database: a company leaves whole, every app host serves it). A draft
  saved again without a new file keeps the one it has (`KEEP`).
- A work order may name a form (`set_work_order_form`, a FormLink row): finishing it needs
  a submitted submission of that form made for it (`work_order_form_missing`).
"""
from __future__ import annotations

import base64
import os
import unicodedata
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload, undefer

from erp.collation import same_text
from erp.extensions import db
from erp.models import User
from erp.models.base import utcnow
from erp.models.catalog import Category, Product, Supplier
from erp.models.core import company_today
from erp.models.forms import (FIELD_KINDS, FIELD_TEXT, FILE_KINDS, FILE_NAME_MAX, FORM_TEXT,
                              IMAGE_TYPES, LIST_KINDS, LONG_TEXT_MAX,
                              NUMBER_KINDS, NUMBER_LIMIT, OPTION_LIMIT, OPTIONS_MAX,
                              RECORD_KINDS, SHORT_TEXT_MAX, CustomForm, FormAnswer, FormField,
                              FormLink, FormSubmission, FormVersion)
from erp.models.production import Employee, WorkOrder
from erp.models.sales import Customer
from erp.services import DomainError, NotFound, PermissionDenied, ValidationError, atomic
from erp.services import audit, pickers
from erp.services.validation import add_error, clean_texts, company_record, date_value
from erp.i18n import _

FORM_RECORD = "CustomForm"
SUBMISSION_RECORD = "FormSubmission"
FIELDS_MAX = 100  # fields of one version
CONDITION_KINDS = ("yes_no", "choice", "choices")
YES_NO = {"yes": True, "no": False}
# the records a picker field names: model, the column its typed text is matched on
RECORD_MODELS = {"product": (Product, Product.sku), "customer": (Customer, Customer.name),
                 "supplier": (Supplier, Supplier.name), "employee": (Employee, Employee.name)}


# ---------------------------------------------------------------- reads

def get_form(company_id: int, form_id: int) -> CustomForm:
    form = db.session.scalar(select(CustomForm).where(CustomForm.id == form_id,
                                                      CustomForm.company_id == company_id))
    if form is None:
        raise NotFound(_("No such form."))
    return form


def latest_version(form: CustomForm) -> FormVersion:
    """The version the designer edits and new submissions are filled on, with its fields."""
    return db.session.scalar(
        select(FormVersion).where(FormVersion.form_id == form.id,
                                  FormVersion.number == form.latest_number)
        .options(selectinload(FormVersion.fields)))


def version_has_submissions(version: FormVersion) -> bool:
    return db.session.scalar(select(FormSubmission.id).where(
        FormSubmission.company_id == version.company_id,
        FormSubmission.version_id == version.id).limit(1)) is not None


def field_columns(form: CustomForm) -> list[tuple[str, str, str]]:
    """(key, label, kind) of every answering field the form ever had, in the latest
    version's order, then those removed since (latest label): one CSV column each."""
    rows = db.session.execute(
        select(FormField.key, FormField.label, FormField.kind, FormVersion.number,
               FormField.position)
        .join(FormVersion, FormVersion.id == FormField.version_id)
        .where(FormVersion.form_id == form.id, FormField.company_id == form.company_id,
               FormField.kind != "section")
        .order_by(FormVersion.number.desc(), FormField.position)).all()
    columns: dict[str, tuple[str, str, str]] = {}
    for key, label, kind, _number, _position in rows:
        columns.setdefault(key, (key, label, kind))
    return list(columns.values())


def visible(field: FormField, values: Mapping[str, Any], by_key: Mapping[str, FormField]) -> bool:
    """Whether `field` is shown for these answers (by key; parsed values): its condition
    is met, or it has none."""
    if not field.condition_key:
        return True
    source = by_key.get(field.condition_key)
    if source is None:
        return True  # its source was removed from this version: always shown
    value = values.get(source.key)
    if source.kind == "yes_no":
        return value is not None and ("yes" if value else "no") == field.condition_value
    if source.kind == "choices":
        return field.condition_value in (value or [])
    return value == field.condition_value


# ---------------------------------------------------------------- designing

def _clean_form(values: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, list[str]] = {}
    cleaned = clean_texts(values, FORM_TEXT, errors)
    if errors:
        raise ValidationError(field_errors=errors)
    return cleaned


def _name_taken(company_id: int, name: str, form_id: int | None = None) -> None:
    stmt = select(CustomForm.id).where(CustomForm.company_id == company_id,
                                       same_text(CustomForm.name, name))
    if form_id is not None:
        stmt = stmt.where(CustomForm.id != form_id)
    if db.session.scalar(stmt.limit(1)) is not None:
        raise ValidationError(field_errors={"name": [_("Another form has this name.")]})


@contextmanager
def _name_unique() -> Iterator[None]:
    """The unique index is the last word on a name (a concurrent save, or a name the check's
    folding and the database's see differently): the use case is rolled back by then."""
    try:
        yield
    except IntegrityError:
        raise ValidationError(field_errors={"name": [_("Another form has this name.")]}) from None


def create_form(*, company_id: int, user: User, name: str, description: str = "") -> CustomForm:
    """A new form with an empty version 1. Raises ValidationError. Commits."""
    values = _clean_form({"name": name, "description": description})
    with _name_unique():
        with atomic():
            _name_taken(company_id, values["name"])
            form = CustomForm(company_id=company_id, latest_number=1, next_key=1, **values)
            db.session.add(form)
            db.session.flush()
            db.session.add(FormVersion(company_id=company_id, form_id=form.id, number=1))
            audit.record(company_id=company_id, user=user, action="create",
                         record_type=FORM_RECORD, record_id=form.id, summary=form.name)
    return form


def update_form(*, company_id: int, form_id: int, user: User, name: str,
                description: str = "") -> CustomForm:
    """Rename or describe a form (not versioned). Raises NotFound, ValidationError. Commits."""
    values = _clean_form({"name": name, "description": description})
    with _name_unique():
        with atomic():
            form = get_form(company_id, form_id)
            _name_taken(company_id, values["name"], form.id)
            changes = audit.diff(form, values)
            if changes:
                audit.record(company_id=company_id, user=user, action="update",
                             record_type=FORM_RECORD, record_id=form.id, summary=form.name,
                             changes=changes)
    return form


def set_form_active(*, company_id: int, form_id: int, user: User, active: bool) -> CustomForm:
    """Archive (no new submissions) or restore a form. Raises NotFound. Commits."""
    with atomic():
        form = get_form(company_id, form_id)
        changes = audit.diff(form, {"active": bool(active)})
        if changes:
            audit.record(company_id=company_id, user=user,
                         action="restore" if active else "archive", record_type=FORM_RECORD,
                         record_id=form.id, summary=form.name, changes=changes)
    return form


def _editable_version(form: CustomForm) -> FormVersion:
    """The latest version, or, when it has submissions, a copy of it as the next version
    (same keys, positions and settings), which becomes the latest."""
    version = latest_version(form)
    if not version_has_submissions(version):
        return version
    copy = FormVersion(company_id=form.company_id, form_id=form.id, number=version.number + 1)
    copy.fields = [FormField(company_id=form.company_id, **{
        name: getattr(field, name) for name in (
            "key", "position", "kind", "label", "help", "required", "options", "minimum",
            "maximum", "unit", "must_be_yes", "condition_key", "condition_value")})
        for field in version.fields]
    db.session.add(copy)
    form.latest_number = copy.number
    db.session.flush()
    return copy


def _decimal(value: Any, name: str, errors: dict, *, whole: bool) -> Decimal | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        result = Decimal(str(value).strip())
        if not result.is_finite():
            raise ValueError
    except (ArithmeticError, ValueError):
        add_error(errors, name, _("Enter a number."))
        return None
    if abs(result) > NUMBER_LIMIT:
        add_error(errors, name, _('Enter a number from -%(value)s to %(value)s.', value=format(NUMBER_LIMIT, ',')))
        return None
    if whole and result != result.to_integral_value():
        add_error(errors, name, _("Enter a whole number."))
        return None
    if result != result.quantize(Decimal("0.000001")):
        add_error(errors, name, _("Use at most 6 decimals."))
        return None
    return result


def _clean_field(version: FormVersion, values: Mapping[str, Any],
                 key: str | None = None) -> dict[str, Any]:
    """Every setting of a field checked at once; the values for the FormField row."""
    errors: dict[str, list[str]] = {}
    kind = values.get("kind")
    if kind not in FIELD_KINDS:
        add_error(errors, "kind", _("Choose a field type."))
    cleaned: dict[str, Any] = clean_texts(values, FIELD_TEXT, errors)
    cleaned.update(kind=kind, required=bool(values.get("required")) and kind != "section",
                   must_be_yes=bool(values.get("must_be_yes")) and kind == "yes_no",
                   options="", minimum=None, maximum=None)
    if kind in LIST_KINDS:
        choices = [line.strip() for line in str(values.get("options") or "").splitlines()
                   if line.strip()]
        if not choices:
            add_error(errors, "options", _("Enter the choices, one a line."))
        elif len(choices) > OPTIONS_MAX:
            add_error(errors, "options", _('Enter at most %(OPTIONS_MAX)s choices.', OPTIONS_MAX=OPTIONS_MAX))
        elif any(len(choice) > OPTION_LIMIT for choice in choices):
            add_error(errors, "options", _('Use at most %(OPTION_LIMIT)s characters a choice.', OPTION_LIMIT=OPTION_LIMIT))
        elif len({choice.lower() for choice in choices}) != len(choices):
            add_error(errors, "options", _("Each choice once, please."))
        cleaned["options"] = "\n".join(choices)
    if kind in NUMBER_KINDS:
        whole = kind == "number"
        cleaned["minimum"] = _decimal(values.get("minimum"), "minimum", errors, whole=whole)
        cleaned["maximum"] = _decimal(values.get("maximum"), "maximum", errors, whole=whole)
        if (cleaned["minimum"] is not None and cleaned["maximum"] is not None
                and cleaned["minimum"] > cleaned["maximum"]):
            add_error(errors, "maximum", _("The maximum is less than the minimum."))
    else:
        cleaned["unit"] = ""
    condition_key = str(values.get("condition_key") or "").strip()
    cleaned["condition_key"] = condition_key
    if not condition_key:
        cleaned["condition_value"] = ""
    else:
        source = next((field for field in version.fields if field.key == condition_key), None)
        if source is None or source.key == key or source.kind not in CONDITION_KINDS:
            add_error(errors, "condition_key", _("Choose a yes / no or list field of this form."))
        elif source.condition_key:
            add_error(errors, "condition_key",
                      _('“%(label)s” is shown on a condition itself: choose another field.', label=source.label))
        elif key is not None and any(field.condition_key == key for field in version.fields):
            add_error(errors, "condition_key",
                      _("Other fields are shown on this one's answer: it cannot have a condition."))
        elif source.kind == "yes_no" and cleaned["condition_value"] not in YES_NO:
            add_error(errors, "condition_value", _("Enter yes or no."))
        elif source.kind in LIST_KINDS and cleaned["condition_value"] not in source.choices:
            add_error(errors, "condition_value",
                      _('Enter one of the choices of “%(label)s”.', label=source.label))
    if errors:
        raise ValidationError(field_errors=errors)
    return cleaned


def _field_of(version: FormVersion, key: str) -> FormField:
    field = next((field for field in version.fields if field.key == key), None)
    if field is None:
        raise NotFound(_("No such field."))
    return field


def add_field(*, company_id: int, form_id: int, user: User, **values: Any) -> FormField:
    """Add a field at the end of the form. Raises NotFound, ValidationError. Commits."""
    with atomic():
        form = get_form(company_id, form_id)
        version = latest_version(form)
        cleaned = _clean_field(version, values)
        if len(version.fields) >= FIELDS_MAX:
            raise ValidationError(_('A form has at most %(FIELDS_MAX)s fields.', FIELDS_MAX=FIELDS_MAX))
        version = _editable_version(form)
        field = FormField(company_id=company_id, key=f"f{form.next_key}",
                          position=max((f.position for f in version.fields), default=0) + 1,
                          **cleaned)
        version.fields.append(field)
        form.next_key += 1
        audit.record(company_id=company_id, user=user, action="add_field",
                     record_type=FORM_RECORD, record_id=form.id,
                     summary=f"{form.name}: {field.label}",
                     changes={name: (None, value) for name, value in cleaned.items()
                              if value not in (None, "", False)})
    return field


def update_field(*, company_id: int, form_id: int, key: str, user: User,
                 **values: Any) -> FormField:
    """Change a field's settings. Raises NotFound, ValidationError. Commits."""
    with atomic():
        form = get_form(company_id, form_id)
        version = latest_version(form)
        _field_of(version, key)
        cleaned = _clean_field(version, values, key)
        if cleaned["kind"] not in CONDITION_KINDS and any(
                other.condition_key == key for other in version.fields):
            raise ValidationError(field_errors={"kind": [
                _("Other fields are shown on this one's answer: keep a yes / no or list "
                  "type.")]})
        field = _field_of(_editable_version(form), key)
        changes = audit.diff(field, cleaned)
        if changes:
            audit.record(company_id=company_id, user=user, action="update_field",
                         record_type=FORM_RECORD, record_id=form.id,
                         summary=f"{form.name}: {field.label}", changes=changes)
    return field


def move_field(*, company_id: int, form_id: int, key: str, user: User,
               direction: str) -> FormField:
    """Swap a field with the one above (`up`) or below (`down`); nothing at an end.
    Raises NotFound, ValidationError. Commits."""
    if direction not in ("up", "down"):
        raise ValidationError(_("Move a field up or down."))
    with atomic():
        form = get_form(company_id, form_id)
        version = _editable_version(form)
        fields = sorted(version.fields, key=lambda f: f.position)
        field = _field_of(version, key)
        index = fields.index(field) + (-1 if direction == "up" else 1)
        if 0 <= index < len(fields):
            other = fields[index]
            field.position, other.position = other.position, field.position
            audit.record(company_id=company_id, user=user, action="move_field",
                         record_type=FORM_RECORD, record_id=form.id,
                         summary=f"{form.name}: {field.label} {direction}")
    return field


def remove_field(*, company_id: int, form_id: int, key: str, user: User) -> None:
    """Remove a field from the form (old submissions keep it in their version). Raises
    NotFound, DomainError (other fields are shown on its answer). Commits."""
    with atomic():
        form = get_form(company_id, form_id)
        version = latest_version(form)
        field = _field_of(version, key)
        dependants = [other.label for other in version.fields if other.condition_key == key]
        if dependants:
            raise DomainError(_("“%(value)s” shown on this field's answer: change their condition first.", value=', '.join(dependants)))
        version = _editable_version(form)
        field = _field_of(version, key)
        version.fields.remove(field)
        audit.record(company_id=company_id, user=user, action="remove_field",
                     record_type=FORM_RECORD, record_id=form.id,
                     summary=f"{form.name}: {field.label}")


# ---------------------------------------------------------------- filling

@dataclass(frozen=True)
class Upload:
    """A checked upload of a photo or file field."""

    name: str
    content_type: str
    data: bytes


KEEP = object()  # a file field's answer: the file the draft has already
UPLOAD_TYPES_TEXT = {"photo": "a PNG, JPEG or WebP image",
                     "file": "a PNG, JPEG or WebP image or a PDF"}


def sniff(data: bytes) -> str | None:
    """The content type the file's first bytes show (None: not one accepted)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def _file_name(name: str) -> str:
    """The upload's own name, without a path or control characters, bounded."""
    name = os.path.basename(name.replace("\\", "/"))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[-FILE_NAME_MAX:] or "file"


def _upload(field: FormField, raw: Any, errors: dict) -> Upload | None:
    """A photo or file field's upload (a werkzeug FileStorage, or none chosen), checked by
    its size and its content, never by its name or the browser's word."""
    if raw is None or not getattr(raw, "filename", ""):
        return None
    limit = current_app.config["FORM_UPLOAD_MAX_BYTES"]
    data = raw.read(limit + 1)
    if not data:
        add_error(errors, field.key, _("The file is empty."))
        return None
    if len(data) > limit:
        add_error(errors, field.key,
                  _('The file is too large: at most %(value)s MB.', value=format(limit / 1024 / 1024, '.3g')))
        return None
    content_type = sniff(data)
    if content_type not in FILE_KINDS[field.kind]:
        add_error(errors, field.key, _('Upload %(value)s.', value=UPLOAD_TYPES_TEXT[field.kind]))
        return None
    return Upload(_file_name(raw.filename), content_type, data)


def _answer(field: FormField, raw: Any, company_id: int, errors: dict) -> Any:
    """The parsed answer of one field (None: no answer), or an error on its key."""
    key = field.key
    if isinstance(raw, (list, tuple)) and field.kind != "choices":
        raw = raw[0] if raw else ""
    if field.kind in FILE_KINDS:
        return _upload(field, raw, errors)
    if field.kind == "choices":
        picked = [str(value) for value in (raw if isinstance(raw, (list, tuple)) else
                                           ([raw] if raw else []))]
        if any(value not in field.choices for value in picked):
            add_error(errors, key, _("Choose from the list."))
            return None
        return [choice for choice in field.choices if choice in picked] or None
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    if field.kind in ("text", "long_text"):
        limit = SHORT_TEXT_MAX if field.kind == "text" else LONG_TEXT_MAX
        if len(text) > limit:
            add_error(errors, key, _('Use at most %(limit)s characters.', limit=limit))
            return None
        return text
    if field.kind in NUMBER_KINDS:
        before = len(errors.get(key, []))
        value = _decimal(text, key, errors, whole=field.kind == "number")
        if value is None or len(errors.get(key, [])) > before:
            return None
        low, high = field.minimum, field.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            add_error(errors, key, _range_message(field))
            return None
        return value
    if field.kind == "date":
        value = date_value(text, key, errors)
        if value is not None and not date(1900, 1, 1) <= value <= date(2200, 12, 31):
            add_error(errors, key, _("Enter a date between 1900 and 2200."))
            return None
        return value
    if field.kind == "yes_no":
        if text not in YES_NO:
            add_error(errors, key, _("Choose yes or no."))
            return None
        return YES_NO[text]
    if field.kind == "choice":
        if text not in field.choices:
            add_error(errors, key, _("Choose from the list."))
            return None
        return text
    if field.kind in RECORD_KINDS:
        model, column = RECORD_MODELS[field.kind]
        record = pickers.resolve(model, company_id, text, column)
        if record is None:
            add_error(errors, key, _('Choose a %(kind)s from the list.', kind=field.kind))
            return None
        return record
    return None


def _range_message(field: FormField) -> str:
    def shown(value: Decimal) -> str:
        return f"{value.normalize():f}"
    unit = f" {field.unit}" if field.unit else ""
    if field.minimum is not None and field.maximum is not None:
        return _("Enter a number from %(minimum)s to %(maximum)s.",
                 minimum=shown(field.minimum), maximum=shown(field.maximum) + unit)
    if field.minimum is not None:
        return _("Enter at least %(value)s.", value=shown(field.minimum) + unit)
    return _("Enter at most %(value)s.", value=shown(field.maximum) + unit)


def unmet(version: FormVersion, raw: Mapping[str, Any]) -> set[str]:
    """The keys of the fields whose condition these (unchecked) answers do not meet: what
    the fill page hides while it is filled."""
    sources = {field.key: field for field in version.fields if field.kind in CONDITION_KINDS}
    values = {key: _answer(field, raw.get(key), field.company_id, {})
              for key, field in sources.items()}
    return {field.key for field in version.fields
            if field.condition_key and not visible(field, values, sources)}


def parse_answers(version: FormVersion, raw: Mapping[str, Any], company_id: int, *,
                  submit: bool, kept: Collection[str] = ()) -> dict[str, Any]:
    """The answers of the shown fields by key; every problem at once as a ValidationError
    (a draft may leave required fields empty). `kept`: the keys of the file fields whose
    file the draft has: without a new upload, their answer is KEEP."""
    errors: dict[str, list[str]] = {}
    fields = [field for field in version.fields if field.answers]
    values = {field.key: _answer(field, raw.get(field.key), company_id, errors)
              for field in fields}
    for key in kept:
        if key in values and values[key] is None and key not in errors:
            values[key] = KEEP
    by_key = {field.key: field for field in fields}
    shown = {}
    for field in fields:
        if not visible(field, values, by_key):
            errors.pop(field.key, None)  # a hidden field's answer is dropped, not checked
            continue
        if submit and field.required and values[field.key] is None and field.key not in errors:
            add_error(errors, field.key, _("This field is required."))
        shown[field.key] = values[field.key]
    if errors:
        raise ValidationError(field_errors=errors)
    return shown


def _store(submission: FormSubmission, version: FormVersion, values: Mapping[str, Any]) -> dict:
    """Write the answers as rows (update, add, delete); the changes for the audit entry."""
    by_field = {answer.field_id: answer for answer in submission.answers}
    changes: dict[str, tuple[Any, Any]] = {}
    for field in version.fields:
        if not field.answers:
            continue
        value = values.get(field.key)
        answer = by_field.get(field.id)
        if value is KEEP:
            continue
        old = display(field, answer) if answer is not None else ""
        if value is None:
            if answer is not None:
                submission.answers.remove(answer)
        else:
            if answer is None:
                answer = FormAnswer(company_id=submission.company_id, form_id=submission.form_id,
                                    field_id=field.id, field_key=field.key)
                submission.answers.append(answer)
            answer.value_text = answer.value_number = answer.value_date = None
            answer.value_bool = None
            if field.kind in NUMBER_KINDS:
                answer.value_number = value
            elif field.kind == "date":
                answer.value_date = value
            elif field.kind == "yes_no":
                answer.value_bool = value
            elif field.kind == "choices":
                answer.value_text = "\n".join(value)
            elif field.kind in RECORD_KINDS:
                answer.value_number = Decimal(value.id)
                answer.value_text = str(value)[:SHORT_TEXT_MAX]
            elif field.kind in FILE_KINDS:
                answer.value_text = value.name
                answer.file_type, answer.file_size = value.content_type, len(value.data)
                answer.file_data = value.data
            else:
                answer.value_text = value
        new = display(field, answer) if value is not None else ""
        if old != new:
            changes[field.label] = (old or None, new or None)
    return changes


def display(field: FormField, answer: FormAnswer | None) -> str:
    """An answer as a page and the CSV show it."""
    if answer is None:
        return ""
    if field.kind in NUMBER_KINDS and answer.value_number is not None:
        number = f"{answer.value_number.normalize():f}"
        return f"{number} {field.unit}".strip()
    if field.kind == "date" and answer.value_date is not None:
        return answer.value_date.isoformat()
    if field.kind == "yes_no" and answer.value_bool is not None:
        return "Yes" if answer.value_bool else "No"
    if field.kind == "choices":
        return ", ".join((answer.value_text or "").splitlines())
    return answer.value_text or ""


def raw_value(field: FormField, answer: FormAnswer | None) -> Any:
    """An answer as the fill form's input shows it again."""
    if answer is None or field.kind in FILE_KINDS:  # a file input shows no value
        return [] if field.kind == "choices" else ""
    if field.kind == "choices":
        return (answer.value_text or "").splitlines()
    if field.kind in RECORD_KINDS:
        return f"{answer.value_text} [#{int(answer.value_number)}]"
    if field.kind == "yes_no":
        return "" if answer.value_bool is None else ("yes" if answer.value_bool else "no")
    if field.kind in NUMBER_KINDS:
        return f"{answer.value_number.normalize():f}"
    if field.kind == "date":
        return answer.value_date.isoformat()
    return answer.value_text or ""


def shown_answers(version: FormVersion,
                  submission: FormSubmission) -> list[tuple[FormField, str]]:
    """(field, answer as text) of the fields shown on a submission's page: section
    headings and the fields whose condition its answers meet."""
    answers = {answer.field_id: answer for answer in submission.answers}
    values: dict[str, Any] = {}
    for field in version.fields:
        answer = answers.get(field.id)
        if answer is None:
            continue
        values[field.key] = (answer.value_bool if field.kind == "yes_no" else
                             (answer.value_text or "").splitlines() if field.kind == "choices"
                             else answer.value_text)
    by_key = {field.key: field for field in version.fields}
    return [(field, display(field, answers.get(field.id))) for field in version.fields
            if visible(field, values, by_key)]


def get_submission(company_id: int, form_id: int, submission_id: int) -> FormSubmission:
    submission = db.session.scalar(
        select(FormSubmission).where(FormSubmission.id == submission_id,
                                     FormSubmission.form_id == form_id,
                                     FormSubmission.company_id == company_id)
        .options(selectinload(FormSubmission.answers)))
    if submission is None:
        raise NotFound(_("No such submission."))
    return submission


def can_edit_submission(submission: FormSubmission, user: User) -> bool:
    """A draft, by the one who started it or a manager."""
    return (submission.is_draft and user.has_role("staff")
            and (submission.created_by_id == user.id or user.has_role("manager")))


def save_submission(*, company_id: int, form_id: int, user: User, answers: Mapping[str, Any],
                    submit: bool, submission_id: int | None = None,
                    product_id: int | None = None, receipt_reference: str = "",
                    work_order_id: int | None = None) -> FormSubmission:
    """Start (no `submission_id`) or continue a draft and save its answers; `submit`
    finishes it (required fields answered), after which it is read-only. A new submission
    may be a quality inspection of `product_id` (and a goods receipt): submitting it
    records the inspection its answers decide; or made for `work_order_id`, which names
    this form. A photo or file field's answer is an uploaded FileStorage. Raises NotFound, ValidationError (every
    field's problem), DomainError (archived form, submitted already), PermissionDenied
    (another's draft). Commits."""
    with atomic():
        form = get_form(company_id, form_id)
        if submission_id is None:
            if not form.active:
                raise DomainError(_("This form is archived: it takes no new submissions."))
            version = latest_version(form)
            submission = None
            subject = _subject(company_id, product_id, receipt_reference)
            if work_order_id is not None:
                subject["work_order_id"] = _form_work_order(company_id, form, work_order_id).id
            kept: set[str] = set()
        else:
            submission = get_submission(company_id, form_id, submission_id)
            if not submission.is_draft:
                raise DomainError(_("This form was submitted: it is read-only."))
            if not can_edit_submission(submission, user):
                raise PermissionDenied(_("Only its author or a manager may continue this draft."))
            version = db.session.scalar(select(FormVersion).where(
                FormVersion.id == submission.version_id).options(selectinload(FormVersion.fields)))
            kept = {answer.field_key for answer in submission.answers if answer.file_type}
        values = parse_answers(version, answers, company_id, submit=submit, kept=kept)
        if submission is None:
            submission = FormSubmission(company_id=company_id, form_id=form.id,
                                        version_id=version.id, status="draft",
                                        created_by_id=user.id, created_by_name=user.email,
                                        answers=[], **subject)
            db.session.add(submission)
        changes = _store(submission, version, values)
        if submit:
            submission.status = "submitted"
            submission.submitted_at = utcnow()
            submission.submitted_by_name = user.email
        db.session.flush()
        if submit and submission.product_id is not None:
            _inspect(form, version, submission, values, user)
        audit.record(company_id=company_id, user=user,
                     action="submit" if submit else "save_draft",
                     record_type=SUBMISSION_RECORD, record_id=submission.id,
                     summary=f"{form.name} #{submission.id}", changes=changes)
    return submission


def _subject(company_id: int, product_id: int | None, receipt_reference: str) -> dict:
    """The product (of the company) and receipt a new submission inspects."""
    receipt_reference = (receipt_reference or "").strip()
    if len(receipt_reference) > 60:
        raise ValidationError(_("A goods receipt's reference has at most 60 characters."))
    if product_id is None:
        return {"receipt_reference": receipt_reference}
    if company_record(Product, company_id, product_id) is None:
        raise NotFound(_("No such product."))
    return {"product_id": product_id, "receipt_reference": receipt_reference}


def inspection_result(version: FormVersion, values: Mapping[str, Any]) -> tuple[str, list[str]]:
    """pass, or fail with the labels of the shown "must be yes" fields answered no."""
    failed = [field.label for field in version.fields
              if field.must_be_yes and field.key in values and values[field.key] is False]
    return ("fail" if failed else "pass"), failed


def _inspect(form: CustomForm, version: FormVersion, submission: FormSubmission,
             values: Mapping[str, Any], user: User) -> None:
    """Record the quality inspection a submitted inspection form decides (same transaction)."""
    from erp.services import quality

    result, failed = inspection_result(version, values)
    notes = f"Form “{form.name}” #{submission.id}" + (
        f": not as required: {', '.join(failed)}." if failed else ".")
    inspection = quality.create_inspection(
        company_id=submission.company_id, user=user, result=result,
        inspected_on=company_today(submission.company_id), product_id=submission.product_id,
        receipt_reference=submission.receipt_reference, notes=notes[:2000])
    submission.inspection_id = inspection.id


CATEGORY_DEPTH = 10  # the parent categories searched for an inspection form


def _category_chain(company_id: int, category_id: int | None) -> list[int]:
    """A category and its parents, nearest first (at most CATEGORY_DEPTH; a cycle stops)."""
    chain: list[int] = []
    while category_id is not None and category_id not in chain and len(chain) < CATEGORY_DEPTH:
        chain.append(category_id)
        category_id = db.session.scalar(select(Category.parent_id).where(
            Category.id == category_id, Category.company_id == company_id))
    return chain


def inspection_form(company_id: int, product: Product) -> CustomForm | None:
    """The active form a product's inspections are filled on: its own, else its
    category's, else the nearest parent category's (a checklist attached to "Chilled"
    serves "Chilled > Dairy"); None when none names one."""
    chain = _category_chain(company_id, product.category_id)
    criteria = [FormLink.product_id == product.id]
    if chain:
        criteria.append(FormLink.category_id.in_(chain))
    links = db.session.execute(
        select(FormLink.category_id, CustomForm)
        .join(CustomForm, CustomForm.id == FormLink.form_id)
        .where(FormLink.company_id == company_id, CustomForm.active.is_(True),
               or_(*criteria))).all()
    # the product's own link first, then the nearest category's
    links.sort(key=lambda row: -1 if row[0] is None else chain.index(row[0]))
    return links[0][1] if links else None


def link_form(*, company_id: int, form_id: int, user: User, product_id: int | None = None,
              category_id: int | None = None) -> FormLink:
    """Name `form_id` as the inspection form of a product or a category (replacing the
    one it named). Raises NotFound, ValidationError. Commits."""
    if (product_id is None) == (category_id is None):
        raise ValidationError(field_errors={"product": [_("Choose a product or a category.")]})
    with atomic():
        form = get_form(company_id, form_id)
        model, record_id, column = ((Product, product_id, FormLink.product_id)
                                    if product_id is not None else
                                    (Category, category_id, FormLink.category_id))
        subject = company_record(model, company_id, record_id)
        if subject is None:
            raise ValidationError(field_errors={
                "product" if product_id is not None else "category": [_("No such record.")]})
        link = db.session.scalar(select(FormLink).where(FormLink.company_id == company_id,
                                                        column == record_id))
        old = link.form_id if link is not None else None
        if link is None:
            link = FormLink(company_id=company_id, product_id=product_id,
                            category_id=category_id)
            db.session.add(link)
        link.form_id = form.id
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="link", record_type=FORM_RECORD,
                     record_id=form.id, summary=f"{form.name}: inspection form of {subject}",
                     changes={"form_id": (old, form.id)})
    return link


def unlink_form(*, company_id: int, form_id: int, link_id: int, user: User) -> None:
    """Stop a product or category using this form for its inspections. Raises NotFound.
    Commits."""
    with atomic():
        form = get_form(company_id, form_id)
        link = db.session.scalar(select(FormLink).where(
            FormLink.id == link_id, FormLink.form_id == form.id,
            FormLink.company_id == company_id))
        if link is None:
            raise NotFound(_("No such link."))
        audit.record(company_id=company_id, user=user, action="unlink",
                     record_type=FORM_RECORD, record_id=form.id,
                     summary=f"{form.name}: no longer the inspection form of {link.subject}")
        db.session.delete(link)


# ---------------------------------------------------------------- files

def file_answers(submission: FormSubmission) -> dict[str, FormAnswer]:
    """The answers of a submission that hold a file, by field key (no query: the answers
    are loaded, their bytes are not)."""
    return {answer.field_key: answer for answer in submission.answers if answer.file_type}


def get_file(company_id: int, form_id: int, submission_id: int, key: str) -> FormAnswer:
    """The answer holding the file of field `key`, with its bytes. Raises NotFound."""
    answer = db.session.scalar(
        select(FormAnswer).where(FormAnswer.company_id == company_id,
                                 FormAnswer.form_id == form_id,
                                 FormAnswer.submission_id == submission_id,
                                 FormAnswer.field_key == key,
                                 FormAnswer.file_type.is_not(None))
        .options(undefer(FormAnswer.file_data)))
    if answer is None:
        raise NotFound(_("No such file."))
    return answer


def image_data_urls(submission: FormSubmission) -> dict[str, str]:
    """The images of a submission as data: URLs by field key (one query), for its PDF."""
    rows = db.session.execute(
        select(FormAnswer.field_key, FormAnswer.file_type, FormAnswer.file_data)
        .where(FormAnswer.company_id == submission.company_id,
               FormAnswer.submission_id == submission.id,
               FormAnswer.file_type.in_(IMAGE_TYPES)))
    return {key: f"data:{kind};base64,{base64.b64encode(data).decode()}"
            for key, kind, data in rows}


# ---------------------------------------------------------------- work orders

def _form_work_order(company_id: int, form: CustomForm, work_order_id: int) -> WorkOrder:
    """The company's work order that names `form`. Raises NotFound, ValidationError."""
    work_order = company_record(WorkOrder, company_id, work_order_id)
    if work_order is None:
        raise NotFound(_("No such work order."))
    if work_order_form(company_id, work_order.id) != form:
        raise ValidationError(_('Work order %(name)s does not ask for this form.', name=work_order.name))
    return work_order


def work_order_form(company_id: int, work_order_id: int) -> CustomForm | None:
    """The form a work order asks for (None: none)."""
    return db.session.scalar(
        select(CustomForm).join(FormLink, FormLink.form_id == CustomForm.id)
        .where(FormLink.company_id == company_id, FormLink.work_order_id == work_order_id))


FORM_CHOICES = 300


def form_choices(company_id: int) -> list[tuple[int, str]]:
    """(id, name) of the company's active forms, by name (bounded): a work order's choice."""
    return list(db.session.execute(
        select(CustomForm.id, CustomForm.name).where(CustomForm.company_id == company_id,
                                                     CustomForm.active.is_(True))
        .order_by(CustomForm.name).limit(FORM_CHOICES)).all())


def work_order_submissions(company_id: int, work_order_id: int,
                           limit: int = 20) -> list[FormSubmission]:
    """The latest submissions made for a work order (bounded), newest first."""
    return list(db.session.scalars(
        select(FormSubmission).where(FormSubmission.company_id == company_id,
                                     FormSubmission.work_order_id == work_order_id)
        .order_by(FormSubmission.created_at.desc(), FormSubmission.id.desc()).limit(limit)))


def work_order_form_missing(company_id: int, work_order: WorkOrder) -> str | None:
    """Why the work order may not be finished yet: the form it asks for has no submitted
    submission made for it (None: nothing is missing)."""
    form = work_order_form(company_id, work_order.id)
    if form is None:
        return None
    done = db.session.scalar(select(FormSubmission.id).where(
        FormSubmission.company_id == company_id, FormSubmission.work_order_id == work_order.id,
        FormSubmission.form_id == form.id, FormSubmission.status == "submitted").limit(1))
    if done is not None:
        return None
    return _("Work order %(name)s asks for the form “%(form)s”: fill it in and submit it "
             "before finishing the work order.", name=work_order.name, form=form.name)


def set_work_order_form(*, company_id: int, work_order_id: int, user: User,
                        form_id: int | None) -> WorkOrder:
    """Name the form a work order asks for (None: none), as a FormLink row. Manager.
    Raises NotFound, ValidationError. Commits."""
    if not user.has_role("manager"):
        raise PermissionDenied(_("Only a manager may choose a work order's form."))
    with atomic():
        work_order = company_record(WorkOrder, company_id, work_order_id)
        if work_order is None:
            raise NotFound(_("No such work order."))
        link = db.session.scalar(select(FormLink).where(
            FormLink.company_id == company_id, FormLink.work_order_id == work_order.id))
        old = link.form_id if link is not None else None
        form = None
        if form_id is not None:
            form = db.session.scalar(select(CustomForm).where(
                CustomForm.id == form_id, CustomForm.company_id == company_id))
            if form is None or not form.active:
                raise ValidationError(field_errors={"form_id": [_("Choose an active form.")]})
        if old == form_id:
            return work_order
        if form is None:
            db.session.delete(link)
        else:
            if link is None:
                link = FormLink(company_id=company_id, work_order_id=work_order.id)
                db.session.add(link)
            link.form_id = form.id
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="form",
                     record_type="work_order", record_id=work_order.id,
                     summary=f"Work order {work_order.name}: "
                             + (f"asks for the form “{form.name}”" if form else "no form"),
                     changes={"form_id": (old, form_id)})
    return work_order


def delete_draft(*, company_id: int, form_id: int, submission_id: int, user: User) -> None:
    """Delete a draft (a submitted form stays). Raises NotFound, DomainError,
    PermissionDenied. Commits."""
    with atomic():
        submission = get_submission(company_id, form_id, submission_id)
        if not submission.is_draft:
            raise DomainError(_("A submitted form is kept: it cannot be deleted."))
        if not can_edit_submission(submission, user):
            raise PermissionDenied(_("Only its author or a manager may delete this draft."))
        audit.record(company_id=company_id, user=user, action="delete",
                     record_type=SUBMISSION_RECORD, record_id=submission.id,
                     summary=f"Draft #{submission.id}")
        db.session.delete(submission)


def version_fields(version_ids: Sequence[int]) -> dict[int, list[FormField]]:
    """The fields of these versions (one query), by version id, in order."""
    by_version: dict[int, list[FormField]] = {version_id: [] for version_id in version_ids}
    if version_ids:
        for field in db.session.scalars(select(FormField).where(
                FormField.version_id.in_(version_ids)).order_by(FormField.position)):
            by_version[field.version_id].append(field)
    return by_version
