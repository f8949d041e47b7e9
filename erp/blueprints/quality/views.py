"""Quality pages: inspections of products, production orders and goods receipts."""
from __future__ import annotations

from functools import partial

from flask import Blueprint, flash, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from erp.auth import require_role
from erp.blueprints.quality.forms import InspectionForm, SupersedeForm
from erp.csv_io import export_limited
from erp.extensions import db
from erp.models.core import company_today
from erp.models.catalog import Product
from erp.models.forms import FormSubmission
from erp.models.production import ProductionOrder
from erp.models.quality import RESULTS, QualityInspection
from erp.queries import company_select, scoped_get_or_404
from erp.queries import quality as queries
from erp.services import DomainError, ValidationError
from erp.services import forms as form_service
from erp.services import quality as service
from erp.parsing import picked_id
from erp.services.catalog import find_product
from erp.web import apply_field_errors, form_status, redirect_after_post, render
from erp.i18n import _

bp = Blueprint("quality", __name__, url_prefix="/quality")
# what an inspection's page shows: its subject and the chain of re-inspections around it
DETAIL_OPTIONS = (joinedload(QualityInspection.product),
                  joinedload(QualityInspection.production_order),
                  joinedload(QualityInspection.supersedes),
                  joinedload(QualityInspection.superseded_by))

def _find_order(text: str | None) -> ProductionOrder | None:
    text = (text or "").strip()
    if not text:
        return None
    stmt = company_select(ProductionOrder)
    order_id = picked_id(text)
    if order_id is not None:
        return db.session.scalar(stmt.where(ProductionOrder.id == order_id))
    return db.session.scalar(stmt.where(func.lower(ProductionOrder.number) == text.lower()))


@bp.route("/inspections")
@require_role("viewer")
@export_limited
def inspection_list():
    return queries.INSPECTIONS.response("quality/inspections.html", results=RESULTS)


def _picked(field, find, message: str):
    """The id of the record a picker field names (None when empty), or False (with
    `message` on the field) when it names none."""
    if not (field.data or "").strip():
        return None
    record = find(field.data)
    if record is None:
        field.errors = list(field.errors) + [message]
        return False
    return record.id


def _submit(form: InspectionForm):
    product_id = _picked(form.product, partial(find_product, current_user.company_id),
                         "No such product: type its SKU or pick it from the list.")
    order_id = _picked(form.production_order, _find_order, "No such production order.")
    if product_id is False or order_id is False:
        return None
    if product_id is not None and order_id is None:
        # a product whose inspections are filled on a custom form: its answers decide
        custom_form = form_service.inspection_form(
            current_user.company_id, db.session.get(Product, product_id))
        if custom_form is not None:
            flash(_('This product is inspected with the form “%(name)s”: fill it in.', name=custom_form.name),
                  "info")
            return redirect_after_post(url_for(
                "forms.form_fill", form_id=custom_form.id, product=product_id,
                receipt=form.receipt_reference.data or None))
    values = dict(product_id=product_id, production_order_id=order_id,
                  receipt_reference=form.receipt_reference.data or "",
                  inspected_on=form.inspected_on.data, result=form.result.data,
                  notes=form.notes.data or "")
    try:
        inspection = service.create_inspection(company_id=current_user.company_id,
                                               user=current_user, **values)
        flash(_('Inspection recorded: %(value)s.', value=inspection.result_label.lower()), "success")
    except ValidationError as error:
        apply_field_errors(form, error)
        return None
    if order_id is not None and request.args.get("production_order"):
        return redirect_after_post("production.order_detail", order_id=order_id)
    return redirect_after_post("quality.inspection_detail", inspection_id=inspection.id)


@bp.route("/inspections/new", methods=["GET", "POST"])
@require_role("staff")
def inspection_create():
    form = InspectionForm()
    if request.method == "GET":
        form.inspected_on.data = company_today(current_user.company)
        order_id = request.args.get("production_order", "")
        if order_id.isascii() and order_id.isdigit() and len(order_id) < 12 and int(order_id) < 2**31:
            order = db.session.scalar(company_select(ProductionOrder)
                                      .where(ProductionOrder.id == int(order_id))
                                      .options(joinedload(ProductionOrder.product)))
            if order is not None:
                form.production_order.data = order.number
                form.product.data = order.product.sku
        product_id = request.args.get("product", "")
        if product_id.isascii() and product_id.isdigit() and len(product_id) < 12 and int(product_id) < 2**31:
            product = find_product(current_user.company_id, f"[#{product_id}]")
            if product is not None:
                form.product.data = product.sku
    if form.validate_on_submit():
        response = _submit(form)
        if response is not None:
            return response
    return render("quality/inspection_form.html", form=form, inspection=None,
                  status=form_status(form))


@bp.route("/inspections/<int:inspection_id>")
@require_role("viewer")
def inspection_detail(inspection_id: int):
    inspection = scoped_get_or_404(QualityInspection, inspection_id, *DETAIL_OPTIONS)
    # the custom form whose answers decided it, if any (erp/services/forms.py)
    submission = db.session.execute(
        select(FormSubmission.id, FormSubmission.form_id).where(
            FormSubmission.company_id == inspection.company_id,
            FormSubmission.inspection_id == inspection.id)).first()
    return render("quality/inspection_detail.html", inspection=inspection,
                  submission=submission)


@bp.route("/inspections/<int:inspection_id>/supersede", methods=["GET", "POST"])
@require_role("staff")
def inspection_supersede(inspection_id: int):
    """Record a re-inspection that supersedes this one (a recorded result is not edited)."""
    earlier = scoped_get_or_404(QualityInspection, inspection_id, *DETAIL_OPTIONS)
    form = SupersedeForm()
    if request.method == "GET":
        form.inspected_on.data = company_today(current_user.company)
    if form.validate_on_submit():
        try:
            inspection = service.supersede_inspection(
                company_id=current_user.company_id, inspection_id=earlier.id,
                user=current_user, result=form.result.data,
                inspected_on=form.inspected_on.data, notes=form.notes.data or "")
        except ValidationError as error:
            apply_field_errors(form, error)
        except DomainError as error:
            flash(str(error), "danger")
            return redirect_after_post("quality.inspection_detail", inspection_id=earlier.id)
        else:
            flash(_('Inspection #%(id)s recorded: %(value)s; it supersedes #%(id2)s.', id=inspection.id, value=inspection.result_label.lower(), id2=earlier.id), "success")
            return redirect_after_post("quality.inspection_detail", inspection_id=inspection.id)
    return render("quality/inspection_form.html", form=form, inspection=earlier,
                  status=form_status(form))
