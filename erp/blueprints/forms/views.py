"""Custom forms: managers design forms, staff fill them in, everyone reads the answers.

| address                                  | role    |
| /forms, /forms/<id>                      | viewer  |
| /forms/new, /forms/<id>/edit, .../active | manager |
| /forms/<id>/fields/...                   | manager (add, edit, move, remove a field) |
| /forms/<id>/links[/<link_id>/delete]     | manager (the products and categories inspected on it) |
| /forms/<id>/fill                         | staff   |
| /forms/<id>/submissions[/<sid>[/print, /pdf]] | viewer (list, CSV, page, print, PDF) |
| /forms/<id>/submissions/<sid>/files/<key> | viewer (a photo or file answer) |
| /forms/<id>/submissions/<sid>/edit       | staff   (continue a draft) |
"""
from __future__ import annotations

from io import BytesIO

from flask import Blueprint, abort, flash, request, send_file, url_for
from flask_login import current_user

from erp.auth import require_role
from erp.blueprints.forms.forms import CustomFormForm, FieldForm, fill_form, picker_url
from erp.csv_io import SAFE_FILENAME, export_limited
from erp.extensions import db
from erp.models.catalog import Product
from erp.models.forms import FILE_KINDS, CustomForm, FormSubmission, FormVersion
from erp.models.production import WorkOrder
from erp.models.sales import Seller
from erp.pdf import pdf_response
from erp.parsing import parse_id
from erp.services.validation import company_record
from erp.services.catalog import find_product
from erp.queries import forms as queries
from erp.queries import scoped_get_or_404
from erp.services import DomainError, NotFound, ValidationError
from erp.services import forms as service
from erp.web import (apply_field_errors, confirmation, form_status, redirect_after_post,
                     render, submit_form)
from erp.i18n import _

bp = Blueprint("forms", __name__, url_prefix="/forms")


def _form(form_id: int) -> CustomForm:
    return scoped_get_or_404(CustomForm, form_id)


def _ids() -> dict:
    return {"company_id": current_user.company_id, "user": current_user}


# ---------------------------------------------------------------- forms

@bp.route("")
@require_role("viewer")
def form_list():
    return queries.FORMS.response("forms/list.html")


@bp.route("/new", methods=["GET", "POST"])
@require_role("manager")
def form_create():
    form = CustomFormForm()
    done = submit_form(form, lambda: service.create_form(
        **_ids(), name=form.name.data, description=form.description.data or ""),
        lambda created: _saved(created, f"Form “{created.name}” created: add its fields."))
    return done or render("forms/form_edit.html", form=form, custom_form=None,
                          status=form_status(form))


def _saved(custom_form: CustomForm, message: str):
    flash(message, "success")
    return redirect_after_post("forms.form_detail", form_id=custom_form.id)


@bp.route("/<int:form_id>")
@require_role("viewer")
def form_detail(form_id: int):
    custom_form = _form(form_id)
    version = service.latest_version(custom_form)
    return render("forms/detail.html", custom_form=custom_form, version=version,
                  by_key={field.key: field for field in version.fields},
                  locked=service.version_has_submissions(version),
                  links=queries.form_links(custom_form),
                  categories=queries.category_choices() if current_user.has_role("manager")
                  else [])


@bp.route("/<int:form_id>/edit", methods=["GET", "POST"])
@require_role("manager")
def form_edit(form_id: int):
    custom_form = _form(form_id)
    form = CustomFormForm(obj=custom_form)
    done = submit_form(form, lambda: service.update_form(
        **_ids(), form_id=custom_form.id, name=form.name.data,
        description=form.description.data or ""),
        lambda saved: _saved(saved, "Form saved."), form_errors=(DomainError,))
    return done or render("forms/form_edit.html", form=form, custom_form=custom_form,
                          status=form_status(form))


@bp.route("/<int:form_id>/active", methods=["POST"])
@require_role("manager")
def form_active(form_id: int):
    custom_form = _form(form_id)
    active = request.form.get("active") == "1"
    service.set_form_active(**_ids(), form_id=custom_form.id, active=active)
    flash(_('Form “%(name)s” restored.', name=custom_form.name) if active else _('Form “%(name)s” archived.', name=custom_form.name), "success")
    return redirect_after_post("forms.form_detail", form_id=custom_form.id)


@bp.route("/<int:form_id>/links", methods=["POST"])
@require_role("manager")
def link_create(form_id: int):
    """Name this form as the inspection form of a product (picker) or a category."""
    custom_form = _form(form_id)
    text = request.form.get("product", "").strip()
    product = find_product(current_user.company_id, text) if text else None
    category_id = parse_id(request.form.get("category_id"))
    try:
        if text and product is None:
            raise ValidationError(_("No such product: type its SKU or pick it from the list."))
        link = service.link_form(**_ids(), form_id=custom_form.id,
                                 product_id=product.id if product else None,
                                 category_id=None if product else category_id)
    except ValidationError as error:
        messages = [m for ms in error.field_errors.values() for m in ms] or [str(error)]
        flash(" ".join(messages), "danger")
    else:
        flash(_('%(subject)s is now inspected with this form.', subject=link.subject), "success")
    return redirect_after_post(url_for("forms.form_detail", form_id=form_id) + "#links")


@bp.route("/<int:form_id>/links/<int:link_id>/delete", methods=["POST"])
@require_role("manager")
def link_delete(form_id: int, link_id: int):
    custom_form = _form(form_id)
    try:
        service.unlink_form(**_ids(), form_id=custom_form.id, link_id=link_id)
    except NotFound:
        abort(404)
    flash(_("The link is removed."), "success")
    return redirect_after_post(url_for("forms.form_detail", form_id=form_id) + "#links")


# ---------------------------------------------------------------- designing fields

def _field_view(custom_form: CustomForm, key: str | None):
    version = service.latest_version(custom_form)
    field = next((f for f in version.fields if f.key == key), None) if key else None
    if key and field is None:
        abort(404)
    form = FieldForm(obj=field) if field is not None and request.method == "GET" else FieldForm()
    if field is not None and request.method == "GET":  # 20, not the column's 20.000000
        for bound in (form.minimum, form.maximum):
            bound.data = "" if bound.data is None else f"{bound.data.normalize():f}"
    form.set_sources(version, key)
    if field is None and request.method == "GET" and request.args.get("kind"):
        form.kind.data = request.args["kind"]

    def save():
        if key is None:
            return service.add_field(**_ids(), form_id=custom_form.id, **form.values())
        return service.update_field(**_ids(), form_id=custom_form.id, key=key, **form.values())

    done = submit_form(form, save, lambda saved: _saved(
        custom_form, f"Field “{saved.label}” saved."), form_errors=(DomainError,))
    return done or render("forms/field_form.html", form=form, custom_form=custom_form,
                          field=field, locked=service.version_has_submissions(version),
                          status=form_status(form))


@bp.route("/<int:form_id>/fields/new", methods=["GET", "POST"])
@require_role("manager")
def field_create(form_id: int):
    return _field_view(_form(form_id), None)


@bp.route("/<int:form_id>/fields/<key>/edit", methods=["GET", "POST"])
@require_role("manager")
def field_edit(form_id: int, key: str):
    return _field_view(_form(form_id), key)


@bp.route("/<int:form_id>/fields/<key>/move", methods=["POST"])
@require_role("manager")
def field_move(form_id: int, key: str):
    custom_form = _form(form_id)
    try:
        service.move_field(**_ids(), form_id=custom_form.id, key=key,
                           direction=request.form.get("direction", ""))
    except NotFound:
        abort(404)
    except DomainError as error:
        flash(str(error), "danger")
    return redirect_after_post(url_for("forms.form_detail", form_id=custom_form.id)
                               + f"#field-{key}")


@bp.route("/<int:form_id>/fields/<key>/delete", methods=["GET", "POST"])
@require_role("manager")
def field_delete(form_id: int, key: str):
    custom_form = _form(form_id)
    field = next((f for f in service.latest_version(custom_form).fields if f.key == key), None)
    if field is None:
        abort(404)
    back = url_for("forms.form_detail", form_id=custom_form.id)
    if request.method == "GET":
        return confirmation(_('Remove the field “%(label)s” from “%(name)s”? Submissions made so far keep it.', label=field.label, name=custom_form.name),
                            url=url_for("forms.field_delete", form_id=form_id, key=key),
                            button=_("Remove field"), back=back, style="btn btn-danger")
    try:
        service.remove_field(**_ids(), form_id=custom_form.id, key=key)
    except DomainError as error:
        flash(str(error), "danger")
    else:
        flash(_('Field “%(label)s” removed.', label=field.label), "success")
    return redirect_after_post(back)


# ---------------------------------------------------------------- filling

def _fill(custom_form: CustomForm, version: FormVersion, submission: FormSubmission | None):
    """The fill page of a new submission or a draft; POST saves it (`action`: draft or
    submit) and goes to the submission's page. A new one may inspect a product (and a
    goods receipt): `?product=<id>&receipt=<reference>`, or be made for a work order that
    asks for this form: `?work_order=<id>`."""
    product, subject = (submission.product if submission is not None else None), {}
    work_order = submission.work_order if submission is not None else None
    work_order_id = parse_id(request.args.get("work_order")) if submission is None else None
    if work_order_id is not None:
        work_order = company_record(WorkOrder, current_user.company_id, work_order_id)
        if work_order is not None:
            subject["work_order_id"] = work_order.id
    product_id = parse_id(request.args.get("product")) if submission is None else None
    if product_id is not None:
        product = company_record(Product, current_user.company_id, product_id)
        if product is not None:
            subject = {"product_id": product.id,
                       "receipt_reference": request.args.get("receipt", "").strip()[:60]}
    data = None
    if submission is not None and request.method == "GET":
        answers = {answer.field_id: answer for answer in submission.answers}
        data = {field.key: service.raw_value(field, answers.get(field.id))
                for field in version.fields if field.answers}
    form = fill_form(version, data)
    submit = request.form.get("action") == "submit"
    raw = data if data is not None else {key: values if len(values) > 1 else values[0]
                                         for key, values in request.form.lists()}
    refresh = request.method == "POST" and request.form.get("action") == "refresh"
    if request.method == "POST" and not refresh and form.validate_on_submit():
        answers = {field.key: (request.form.getlist(field.key) if field.kind == "choices"
                               else request.files.get(field.key) if field.kind in FILE_KINDS
                               else request.form.get(field.key, ""))
                   for field in version.fields if field.answers}
        try:
            saved = service.save_submission(
                **_ids(), form_id=custom_form.id, answers=answers, submit=submit,
                submission_id=submission.id if submission is not None else None, **subject)
        except ValidationError as error:
            apply_field_errors(form, error)
        except NotFound:
            abort(404)
        except DomainError as error:
            form.form_errors.append(str(error))
        else:
            flash("Form submitted." if submit else "Draft saved: finish it later.", "success")
            return redirect_after_post("forms.submission_detail", form_id=custom_form.id,
                                       submission_id=saved.id)
    # htmx posts `refresh` when a condition's source changes: the form again, nothing saved
    return render("forms/fill.html", block="fill_form" if refresh else None, form=form,
                  custom_form=custom_form, version=version, hidden=service.unmet(version, raw),
                  submission=submission, picker_url=picker_url, product=product,
                  receipt=subject.get("receipt_reference", ""), work_order=work_order,
                  files=service.file_answers(submission) if submission is not None else {},
                  by_key={field.key: field for field in version.fields},
                  status=form_status(form))


@bp.route("/<int:form_id>/fill", methods=["GET", "POST"])
@require_role("staff")
def form_fill(form_id: int):
    custom_form = _form(form_id)
    if not custom_form.active:
        flash(_("This form is archived: it takes no new submissions."), "danger")
        return redirect_after_post("forms.form_detail", form_id=custom_form.id)
    return _fill(custom_form, service.latest_version(custom_form), None)


def _submission(custom_form: CustomForm, submission_id: int) -> FormSubmission:
    try:
        return service.get_submission(current_user.company_id, custom_form.id, submission_id)
    except NotFound:
        abort(404)


def _version(submission: FormSubmission) -> FormVersion:
    version = db.session.get(FormVersion, submission.version_id)
    version.fields  # noqa: B018  (loaded here: the page walks them)
    return version


@bp.route("/<int:form_id>/submissions/<int:submission_id>/edit", methods=["GET", "POST"])
@require_role("staff")
def submission_edit(form_id: int, submission_id: int):
    custom_form = _form(form_id)
    submission = _submission(custom_form, submission_id)
    if not service.can_edit_submission(submission, current_user):
        flash("This form was submitted: it is read-only." if not submission.is_draft
              else "Only its author or a manager may continue this draft.", "danger")
        return redirect_after_post("forms.submission_detail", form_id=form_id,
                                   submission_id=submission_id)
    return _fill(custom_form, _version(submission), submission)


@bp.route("/<int:form_id>/submissions/<int:submission_id>/delete", methods=["GET", "POST"])
@require_role("staff")
def submission_delete(form_id: int, submission_id: int):
    custom_form = _form(form_id)
    submission = _submission(custom_form, submission_id)
    back = url_for("forms.submission_detail", form_id=form_id, submission_id=submission_id)
    if request.method == "GET":
        return confirmation(_('Delete the draft #%(id)s of “%(name)s”?', id=submission.id, name=custom_form.name),
                            url=url_for("forms.submission_delete", form_id=form_id,
                                        submission_id=submission_id),
                            button=_("Delete draft"), back=back, style="btn btn-danger")
    try:
        service.delete_draft(**_ids(), form_id=form_id, submission_id=submission_id)
    except DomainError as error:
        flash(str(error), "danger")
        return redirect_after_post(back)
    flash(_('Draft #%(submission_id)s deleted.', submission_id=submission_id), "success")
    return redirect_after_post("forms.submission_list", form_id=form_id)


# ---------------------------------------------------------------- reading

@bp.route("/<int:form_id>/submissions")
@require_role("viewer")
@export_limited
def submission_list(form_id: int):
    custom_form = _form(form_id)
    version = service.latest_version(custom_form)
    fields = queries.filter_fields(version)
    spec = queries.submissions_spec(custom_form, version)
    answer_filters = {f.name for f in spec.filters[3:]}
    return spec.response(
        "forms/submissions.html", custom_form=custom_form, fields=fields,
        answer_filtered=any(request.args.get(name) for name in answer_filters),
        shown=fields[:queries.LIST_COLUMNS], display=service.display)


@bp.route("/<int:form_id>/submissions/<int:submission_id>")
@require_role("viewer")
def submission_detail(form_id: int, submission_id: int):
    custom_form = _form(form_id)
    submission = _submission(custom_form, submission_id)
    version = _version(submission)
    rows = service.shown_answers(version, submission)
    return render("forms/submission.html", custom_form=custom_form, submission=submission,
                  version=version, rows=rows, files=service.file_answers(submission),
                  can_edit=service.can_edit_submission(submission, current_user))


def _printed(form_id: int, submission_id: int, *, pdf: bool = False) -> dict:
    """The print page's context; its images are the file route's addresses, or, in the
    PDF, data: URLs (erp/pdf.py fetches nothing else)."""
    custom_form = _form(form_id)
    submission = _submission(custom_form, submission_id)
    version = _version(submission)
    files = service.file_answers(submission)
    images = (service.image_data_urls(submission) if pdf and any(
        answer.is_image for answer in files.values()) else {
        key: url_for("forms.submission_file", form_id=form_id, submission_id=submission_id,
                     key=key) for key, answer in files.items() if answer.is_image})
    return {"custom_form": custom_form, "submission": submission, "version": version,
            "rows": service.shown_answers(version, submission), "images": images,
            "seller": Seller.of(current_user.company)}


@bp.route("/<int:form_id>/submissions/<int:submission_id>/print")
@require_role("viewer")
def submission_print(form_id: int, submission_id: int):
    return render("forms/print.html", **_printed(form_id, submission_id))


@bp.route("/<int:form_id>/submissions/<int:submission_id>/pdf")
@require_role("viewer")
def submission_pdf(form_id: int, submission_id: int):
    context = _printed(form_id, submission_id, pdf=True)
    name = f"{context['custom_form'].name}-{submission_id}"
    return pdf_response("forms/print.html", filename=SAFE_FILENAME.sub("-", name), **context)


@bp.route("/<int:form_id>/submissions/<int:submission_id>/files/<key>")
@require_role("viewer")
def submission_file(form_id: int, submission_id: int, key: str):
    """A photo or file answer, as its checked type (an image inline, a PDF as a download),
    never sniffed by the browser into anything else."""
    custom_form = _form(form_id)
    try:
        answer = service.get_file(current_user.company_id, custom_form.id, submission_id, key)
    except NotFound:
        abort(404)
    return file_response(answer)


def file_response(answer):
    """A file answer's bytes (the page's and the API's)."""
    response = send_file(BytesIO(answer.file_data), mimetype=answer.file_type,
                         as_attachment=not answer.is_image, download_name=answer.value_text,
                         max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response
