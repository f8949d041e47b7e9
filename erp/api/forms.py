"""The API's custom forms (issue #21), as the forms pages (/forms): reading forms and their
fields, the builder's operations (a manager's: create, rename, archive, add, change, move
and remove fields), filling one in (staff: a draft, continued, submitted, with every bad
answer at once as a 422 on `answers.<key>`) and reading the submissions with the page's
filters. The rules are erp/services/forms.py's, the lists erp/queries/forms.py's.

A submission's `answers` map a field's key (f1, f2 ...) to what the fill page's input takes:
text, a number or a date as text, yes / no (or true / false), one choice, a list of
choices, a product, customer, supplier or employee by id (or its SKU / name), and a photo
or file field as {"name", "content_base64"} (checked by its content, as an upload)."""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import replace
from decimal import Decimal
from io import BytesIO

from flask.views import MethodView
from flask_login import current_user
from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage

from erp.api import schemas as s
from erp.api.views import (IDEMPOTENCY_HEADER, _json, bp, guarded, idempotent,
                           idempotent_post, method_roles, page_body, read_resource)
from erp.auth import require_role
from erp.blueprints.forms.views import file_response
from erp.extensions import db
from erp.i18n import _
from erp.models.catalog import Product
from erp.models.production import WorkOrder
from erp.models.forms import (FIELD_KINDS, FILE_KINDS, RECORD_KINDS, SUBMISSION_STATUSES,
                              CustomForm, FormField, FormLink, FormSubmission, FormVersion)
from erp.queries import forms as queries
from erp.queries import scoped_get, scoped_get_or_404
from erp.services import ValidationError
from erp.services import forms as service

DESIGN_ROLE = "manager"  # the builder, as /forms/new, /forms/<id>/edit, .../fields/...
FILL_ROLE = "staff"      # filling in, as /forms/<id>/fill (a draft: its author or a manager)


# --- schemas ------------------------------------------------------------------------------

CustomFormOut = s.model_schema("CustomForm", CustomForm,
                               "id name description active latest_number created_at")
FormFieldOut = s.model_schema(
    "FormField", FormField,
    "key position kind label help required minimum maximum unit must_be_yes condition_key "
    "condition_value", options=fields.List(fields.String(), attribute="choices", metadata={
        "description": "A list field's choices."}))
FormLinkOut = s.model_schema(
    "FormLink", FormLink, "id product_id category_id work_order_id",
    subject=fields.String(metadata={"description": "What is inspected on (or asks for) it."}))
CustomFormDetail = CustomFormOut.from_dict({
    "links": fields.List(fields.Nested(FormLinkOut), metadata={
        "description": f"The products and categories inspected on it and the work orders "
                       f"that ask for it (at most {queries.LINKS_SHOWN})."}),
    "locked": fields.Boolean(metadata={
        "description": "The latest version has submissions: a change to its fields makes a "
                       "new version (the submissions keep theirs)."}),
    "fields": fields.List(fields.Nested(FormFieldOut), metadata={
        "description": "The latest version's fields, in order."})}, name="CustomFormDetail")


class FormIn(s.Base):
    name = fields.String(required=True, validate=validate.Length(max=200))
    description = fields.String(validate=validate.Length(max=2000))


FormPatch = type("FormPatch", (FormIn,), {})


class FieldIn(s.Base):
    kind = fields.String(required=True, validate=validate.OneOf(list(FIELD_KINDS)))
    label = fields.String(required=True, validate=validate.Length(max=200))
    help = fields.String(validate=validate.Length(max=500))
    required = fields.Boolean()
    options = fields.List(fields.String(validate=validate.Length(max=200)),
                          validate=validate.Length(max=100), metadata={
                              "description": "A list field's choices."})
    minimum = fields.String(allow_none=True, validate=validate.Length(max=40), metadata={
        "description": "A number field's least answer (decimal text)."})
    maximum = fields.String(allow_none=True, validate=validate.Length(max=40))
    unit = fields.String(validate=validate.Length(max=20))
    must_be_yes = fields.Boolean(metadata={
        "description": "A yes / no field answered no fails the quality inspection."})
    condition_key = fields.String(validate=validate.Length(max=20), metadata={
        "description": "Shown only when this field (a yes / no or list field) ..."})
    condition_value = fields.String(validate=validate.Length(max=200), metadata={
        "description": "... is answered this (yes, no, or one of its choices)."})


FieldPatch = type("FieldPatch", (FieldIn,), {})


class FieldMoveIn(s.Base):
    direction = fields.String(required=True, validate=validate.OneOf(["up", "down"]))


ANSWERS = fields.Dict(keys=fields.String(validate=validate.Length(max=20)), values=fields.Raw(),
                      metadata={"description": "A field's key -> its answer (see the API's "
                                               "description of custom forms)."})


class SubmissionIn(s.Base):
    answers = fields.Dict(keys=fields.String(validate=validate.Length(max=20)),
                          values=fields.Raw(allow_none=True), load_default=dict,
                          metadata=ANSWERS.metadata)
    submit = fields.Boolean(load_default=False, metadata={
        "description": "true: finish it (required fields answered; read-only after); "
                       "false: a draft."})
    product_id = s._id(allow_none=True, metadata={
        "description": "A quality inspection of this product: submitting it records the "
                       "inspection its answers decide."})
    receipt_reference = fields.String(validate=validate.Length(max=60))
    work_order_id = s._id(allow_none=True, metadata={
        "description": "Made for a work order that asks for this form."})


class SubmissionPatch(s.Base):
    answers = fields.Dict(keys=fields.String(validate=validate.Length(max=20)),
                          values=fields.Raw(allow_none=True), load_default=dict,
                          metadata={"description": "The answers to change (the others "
                                                   "stay; null removes one)."})
    submit = fields.Boolean(load_default=False)


class SubmissionOut(s.Base):
    id = fields.Integer()
    form_id = fields.Integer()
    version = fields.Integer(metadata={"description": "The form's version it was filled on."})
    status = fields.String(metadata={"enum": list(SUBMISSION_STATUSES)})
    created_by = fields.String()
    created_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    submitted_by = fields.String()
    product_id = fields.Integer(allow_none=True)
    receipt_reference = fields.String()
    work_order_id = fields.Integer(allow_none=True)
    inspection_id = fields.Integer(allow_none=True, metadata={
        "description": "The quality inspection its submission recorded."})
    answers = fields.Dict(keys=fields.String(), values=fields.Raw(), metadata={
        "description": "A field's key -> its answer, as the submission takes it (a file: "
                       "its name, content_type and size)."})


SUBMISSION_QUERY = type("FormSubmissionQuery", (s.Base,), {
    "status": fields.String(validate=validate.OneOf(list(SUBMISSION_STATUSES))),
    "from": fields.String(validate=validate.Length(max=100), metadata={
        "description": "Created on or after (YYYY-MM-DD)."}),
    "until": fields.String(validate=validate.Length(max=100)),
    "sort": fields.String(validate=validate.OneOf(
        [f"{sign}{key}" for key in ("created", "submitted", "status", "id")
         for sign in ("", "-")])),
    "page": fields.Integer(validate=validate.Range(min=1, max=100_000)),
    "per_page": fields.Integer(validate=validate.Range(min=1, max=100)),
})


# --- reads --------------------------------------------------------------------------------

def form_body(form_id: int) -> dict:
    db.session.expire_all()
    form = scoped_get_or_404(CustomForm, form_id)
    version = service.latest_version(form)
    return CustomFormDetail().dump({
        **{name: getattr(form, name) for name in CustomFormOut().fields},
        "locked": service.version_has_submissions(version), "links": queries.form_links(form),
        "fields": sorted(version.fields, key=lambda field: field.position)})


def answers_of(submission: FormSubmission, version_fields: list[FormField]) -> dict:
    """The submission's answers by key, as the submission takes them."""
    by_field = {answer.field_id: answer for answer in submission.answers}
    answers: dict = {}
    for field in version_fields:
        answer = by_field.get(field.id)
        if not field.answers or answer is None:
            continue
        answers[field.key] = ({"name": answer.value_text, "content_type": answer.file_type,
                               "size": answer.file_size} if field.kind in FILE_KINDS
                              else service.raw_value(field, answer))
    return answers


def submission_rows(submissions: list[FormSubmission],
                    known: FormVersion | None = None) -> list[dict]:
    """Submissions as SubmissionOut takes them: the fields of their versions (`known`, the
    latest, loaded already; the others' in two queries)."""
    versions = {known.id: known} if known is not None else {}
    missing = sorted({sub.version_id for sub in submissions} - set(versions))
    if missing:
        versions.update({version.id: version for version in db.session.scalars(
            select(FormVersion).where(FormVersion.id.in_(missing))
            .options(selectinload(FormVersion.fields)))})
    return [{"id": sub.id, "form_id": sub.form_id, "version": versions[sub.version_id].number,
             "status": sub.status, "created_by": sub.created_by_name,
             "created_at": sub.created_at, "submitted_at": sub.submitted_at,
             "submitted_by": sub.submitted_by_name, "product_id": sub.product_id,
             "receipt_reference": sub.receipt_reference, "work_order_id": sub.work_order_id,
             "inspection_id": sub.inspection_id,
             "answers": answers_of(sub, versions[sub.version_id].fields)} for sub in submissions]


def submission_body(form_id: int, submission_id: int) -> dict:
    db.session.expire_all()
    submission = service.get_submission(current_user.company_id, form_id, submission_id)
    return SubmissionOut().dump(submission_rows([submission])[0])


read_resource("/forms", "CustomForm", queries.FORMS, CustomFormOut)


@idempotent_post("/forms", DESIGN_ROLE, FormIn, CustomFormDetail)
def customform_create(data: dict):
    """Create a form (an empty version 1): then add its fields. A name another form has is
    a 422 on `name`."""
    def run():
        form = service.create_form(company_id=current_user.company_id, user=current_user,
                                   name=data["name"], description=data.get("description", ""))
        return 201, form_body(form.id)
    return idempotent(run)


def customform_get(self, record_id: int):
    """One form with its latest version's fields."""
    return _json(form_body(record_id), 200)


def customform_patch(self, data: dict, record_id: int):
    """Rename or describe a form (the rest stays; not versioned)."""
    form = scoped_get_or_404(CustomForm, record_id)
    values = {"name": form.name, "description": form.description} | data
    service.update_form(company_id=current_user.company_id, form_id=record_id,
                        user=current_user, **values)
    return _json(form_body(record_id), 200)


CustomFormRecord = type("CustomFormRecord", (MethodView,), {
    "get": require_role("viewer")(bp.response(200, CustomFormDetail)(customform_get)),
    "patch": guarded(DESIGN_ROLE, CustomForm)(bp.arguments(FormPatch(partial=True))(
        bp.response(200, CustomFormDetail)(customform_patch)))})
CustomFormRecord.decorators = [method_roles({"GET": "viewer", "PATCH": DESIGN_ROLE})]
bp.route("/forms/<int:record_id>", endpoint="customform_record")(CustomFormRecord)


@bp.route("/forms/<int:record_id>/active", methods=["POST"])
@guarded(DESIGN_ROLE, CustomForm)
@bp.arguments(s.ActiveIn)
@bp.response(200, CustomFormDetail)
def customform_active(data: dict, record_id: int):
    """Archive (`active` false: no new submissions) or restore a form."""
    service.set_form_active(company_id=current_user.company_id, form_id=record_id,
                            user=current_user, active=data["active"])
    return _json(form_body(record_id), 200)


# --- the builder --------------------------------------------------------------------------

FIELD_SETTINGS = ("kind", "label", "help", "required", "options", "minimum", "maximum", "unit",
                  "must_be_yes", "condition_key", "condition_value")


def field_values(data: dict) -> dict:
    """A field's settings as the service takes them (the page's FieldForm.values())."""
    values = dict(data)
    if "options" in values:
        values["options"] = "\n".join(values["options"] or [])
    return values


def field_setting(field: FormField, name: str):
    value = getattr(field, name)
    if name in ("minimum", "maximum"):
        return None if value is None else f"{value.normalize():f}"
    return value


@idempotent_post("/forms/<int:record_id>/fields", DESIGN_ROLE, FieldIn, FormFieldOut, CustomForm)
def customform_field_add(data: dict, record_id: int):
    """Add a field at the end of the form; the answer is the field with its `key`. When the
    latest version has submissions, the form gets a new version first."""
    def run():
        field = service.add_field(company_id=current_user.company_id, form_id=record_id,
                                  user=current_user, **field_values(data))
        return 201, FormFieldOut().dump(field)
    return idempotent(run)


def _field(record_id: int, key: str) -> FormField:
    version = service.latest_version(scoped_get_or_404(CustomForm, record_id))
    return service._field_of(version, key)  # NotFound: 404


def field_patch(self, data: dict, record_id: int, key: str):
    """Change some of a field's settings (the rest stays)."""
    field = _field(record_id, key)
    values = {name: field_setting(field, name) for name in FIELD_SETTINGS} | field_values(data)
    changed = service.update_field(company_id=current_user.company_id, form_id=record_id,
                                   key=key, user=current_user, **values)
    return _json(FormFieldOut().dump(changed), 200)


def field_delete(self, record_id: int, key: str):
    """Remove a field from the form (submissions made so far keep it); 409 while other
    fields are shown on its answer."""
    _field(record_id, key)
    service.remove_field(company_id=current_user.company_id, form_id=record_id, key=key,
                         user=current_user)
    return "", 204


FieldRecord = type("FormFieldRecord", (MethodView,), {
    "patch": guarded(DESIGN_ROLE, CustomForm)(bp.arguments(FieldPatch(partial=True))(
        bp.response(200, FormFieldOut)(field_patch))),
    "delete": guarded(DESIGN_ROLE, CustomForm)(bp.response(204)(field_delete))})
FieldRecord.decorators = [method_roles({"PATCH": DESIGN_ROLE, "DELETE": DESIGN_ROLE})]
bp.route("/forms/<int:record_id>/fields/<key>", endpoint="customform_field")(FieldRecord)


@bp.route("/forms/<int:record_id>/fields/<key>/move", methods=["POST"])
@guarded(DESIGN_ROLE, CustomForm)
@bp.arguments(FieldMoveIn)
@bp.response(200, CustomFormDetail)
def customform_field_move(data: dict, record_id: int, key: str):
    """Move a field one place up or down (nothing at an end); answers the form."""
    _field(record_id, key)
    service.move_field(company_id=current_user.company_id, form_id=record_id, key=key,
                       user=current_user, direction=data["direction"])
    return _json(form_body(record_id), 200)


# --- filling in ---------------------------------------------------------------------------

FIELD_KEY = re.compile(r"^f\d+$")


def raw_answers(version: FormVersion, answers: dict) -> dict:
    """The body's answers as the fill page's form sends them to the service: yes / no for a
    boolean, text for a number, `[#id]` for a record's id, an upload for a file."""
    kinds = {field.key: field.kind for field in version.fields}
    errors: dict[str, list[str]] = {}
    raw: dict = {}
    for key, value in answers.items():
        kind = kinds.get(key)
        if kind in FILE_KINDS:
            raw[key] = _upload(key, value, errors)
        elif isinstance(value, bool):
            raw[key] = "yes" if value else "no"
        elif isinstance(value, int) and kind in RECORD_KINDS:
            raw[key] = f"[#{value}]"
        elif isinstance(value, (int, float)):
            raw[key] = str(Decimal(str(value)))
        elif isinstance(value, list):
            raw[key] = [str(item) for item in value]
        elif isinstance(value, dict):
            errors[f"answers.{key}"] = [_("Enter text, a number, yes or no, or a list.")]
        else:
            raw[key] = "" if value is None else str(value)
    if errors:
        raise ValidationError(_("Some answers are invalid: see errors."), errors)
    return raw


def _upload(key: str, value, errors: dict) -> FileStorage | None:
    """A file answer ({"name", "content_base64"}) as the upload the page's form sends."""
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("content_base64"), str):
        errors[f"answers.{key}"] = [
            _("Send the file as an object with its name and content_base64.")]
        return None
    try:
        data = base64.b64decode(value["content_base64"], validate=True)
    except (binascii.Error, ValueError):
        errors[f"answers.{key}"] = [_("The file's content is not base64.")]
        return None
    return FileStorage(BytesIO(data), filename=str(value.get("name") or "file")[:200])


def answers_named(error: ValidationError) -> ValidationError:
    """The service's errors on a field's key (f3) as the body's (`answers.f3`)."""
    return ValidationError(str(error), {
        f"answers.{key}" if FIELD_KEY.match(key) else key: messages
        for key, messages in error.field_errors.items()})


def customform_submit(self, data: dict, record_id: int):
    """Fill the form in: a draft (`submit` false: required fields may wait) or submitted at
    once, every bad answer at once (a 422 on `answers.<key>`, nothing saved). Answers of
    fields whose condition is not met are dropped. An archived form is a 409."""
    def run():
        form = scoped_get_or_404(CustomForm, record_id)
        missing = {key: [_("No such record.")] for key, model in (
            ("product_id", Product), ("work_order_id", WorkOrder))
            if data.get(key) is not None and scoped_get(model, data[key]) is None}
        if missing:  # another company's: a bad value of the body, as for any reference
            raise ValidationError(field_errors=missing)
        raw = raw_answers(service.latest_version(form), data["answers"])
        try:
            saved = service.save_submission(
                company_id=current_user.company_id, form_id=record_id, user=current_user,
                answers=raw, submit=data["submit"], product_id=data.get("product_id"),
                receipt_reference=data.get("receipt_reference", ""),
                work_order_id=data.get("work_order_id"))
        except ValidationError as error:
            raise answers_named(error) from error
        return 201, submission_body(record_id, saved.id)
    return idempotent(run)


def customform_submissions(self, _args, record_id: int):
    """A form's submissions, newest first, with the page's filters: `status`, `from`,
    `until` (created), and per field of the latest version `<key>` (yes / no, a choice, a
    text it contains), `<key>_min` / `<key>_max` (a number), `<key>_from` / `<key>_to` (a
    date)."""
    form = scoped_get_or_404(CustomForm, record_id)
    latest = service.latest_version(form)
    body = page_body(replace(queries.submissions_spec(form, latest), csv=None))
    body["items"] = submission_rows(body["items"], latest)
    return body


# GET and POST on one rule: an id beyond 64 bits is then a 404 for both, not a 405
Submissions = type("FormSubmissions", (MethodView,), {
    "get": require_role("viewer")(bp.arguments(SUBMISSION_QUERY, location="query")(
        bp.response(200, s.page_schema(SubmissionOut))(customform_submissions))),
    "post": guarded(FILL_ROLE, CustomForm)(bp.arguments(SubmissionIn)(
        bp.doc(parameters=[IDEMPOTENCY_HEADER])(bp.response(201, SubmissionOut)(
            customform_submit))))})
Submissions.decorators = [method_roles({"GET": "viewer", "POST": FILL_ROLE})]
bp.route("/forms/<int:record_id>/submissions", endpoint="customform_submissions")(Submissions)


def submission_get(self, record_id: int, submission_id: int):
    """One submission with its answers."""
    return _json(submission_body(record_id, submission_id), 200)


def submission_patch(self, data: dict, record_id: int, submission_id: int):
    """Continue a draft (its author's, or a manager's): change some answers (the others
    stay) and `submit` it, or save it again as a draft; a submitted one is a 409."""
    submission = service.get_submission(current_user.company_id, record_id, submission_id)
    version = db.session.get(FormVersion, submission.version_id)
    kept = {key: value for key, value in answers_of(submission, version.fields).items()
            if not isinstance(value, dict)}  # a file stays unless a new one is sent
    raw = raw_answers(version, data["answers"])
    try:
        service.save_submission(
            company_id=current_user.company_id, form_id=record_id, user=current_user,
            answers=kept | raw, submit=data["submit"], submission_id=submission_id)
    except ValidationError as error:
        raise answers_named(error) from error
    return _json(submission_body(record_id, submission_id), 200)


def submission_delete(self, record_id: int, submission_id: int):
    """Delete a draft (its author's, or a manager's); a submitted one is kept (409)."""
    service.delete_draft(company_id=current_user.company_id, form_id=record_id,
                         submission_id=submission_id, user=current_user)
    return "", 204


SubmissionRecord = type("FormSubmissionRecord", (MethodView,), {
    "get": require_role("viewer")(bp.response(200, SubmissionOut)(submission_get)),
    "patch": guarded(FILL_ROLE, CustomForm)(bp.arguments(SubmissionPatch)(
        bp.response(200, SubmissionOut)(submission_patch))),
    "delete": guarded(FILL_ROLE, CustomForm)(bp.response(204)(submission_delete))})
SubmissionRecord.decorators = [method_roles({"GET": "viewer", "PATCH": FILL_ROLE,
                                             "DELETE": FILL_ROLE})]
bp.route("/forms/<int:record_id>/submissions/<int:submission_id>",
         endpoint="customform_submission")(SubmissionRecord)


# --- inspection links and files --------------------------------------------------------------

class LinkIn(s.Base):
    product_id = s._id(allow_none=True)
    category_id = s._id(allow_none=True, metadata={"description": "Or a category: its "
                                                   "products without a form of their own."})


@idempotent_post("/forms/<int:record_id>/links", DESIGN_ROLE, LinkIn, CustomFormDetail,
                 CustomForm)
def customform_link(data: dict, record_id: int):
    """Make this the form a product's (or a category's) quality inspections are filled on,
    replacing the one it had (the product's own link wins over its category's)."""
    def run():
        try:
            service.link_form(company_id=current_user.company_id, form_id=record_id,
                              user=current_user, product_id=data.get("product_id"),
                              category_id=data.get("category_id"))
        except ValidationError as error:  # the page's inputs are `product` and `category`
            raise ValidationError(str(error), {f"{key}_id": messages for key, messages
                                               in error.field_errors.items()}) from error
        return 201, form_body(record_id)
    return idempotent(run)


@bp.route("/forms/<int:record_id>/links/<int:link_id>", methods=["DELETE"])
@guarded(DESIGN_ROLE, CustomForm)
@bp.response(204)
def customform_unlink(record_id: int, link_id: int):
    """Stop a product or category being inspected on this form."""
    service.unlink_form(company_id=current_user.company_id, form_id=record_id,
                        link_id=link_id, user=current_user)
    return "", 204


@bp.route("/forms/<int:record_id>/submissions/<int:submission_id>/files/<key>",
          methods=["GET"])
@bp.doc(responses={"200": {"description": "The file: a PNG, JPEG or WebP image, or a PDF.",
                           "content": {kind: {"schema": {"type": "string", "format": "binary"}}
                                       for kind in ("image/png", "image/jpeg", "image/webp",
                                                    "application/pdf")}}})
@require_role("viewer")
def customform_file(record_id: int, submission_id: int, key: str):
    """A photo or file answer's bytes, as their checked type."""
    scoped_get_or_404(CustomForm, record_id)
    return file_response(service.get_file(current_user.company_id, record_id,
                                          submission_id, key))
