"""Quality inspections of a product, a production order or a goods receipt.

A failed inspection of a production order blocks completing it until a manager
overrides (erp.services.production). A recorded inspection is never edited: a
re-inspection supersedes it. Each write is one transaction with an audit entry.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from erp.extensions import db
from erp.models import Product, User
from erp.models.production import ProductionOrder
from erp.models.quality import RESULTS, QualityInspection
from erp.services import (InvalidTransition, NotFound, PermissionDenied, ValidationError,
                          atomic, audit)
from erp.i18n import _


def _values(company_id: int, *, product_id, production_order_id, receipt_reference,
            inspected_on, result, notes, inspector: User | None) -> dict:
    errors: dict[str, list[str]] = {}
    product = order = None
    if product_id is not None:
        product = db.session.scalar(select(Product).where(Product.id == product_id,
                                                          Product.company_id == company_id))
        if product is None:
            errors.setdefault("product", []).append(_("No such product."))
    if production_order_id is not None:
        order = db.session.scalar(select(ProductionOrder).where(
            ProductionOrder.id == production_order_id, ProductionOrder.company_id == company_id))
        if order is None:
            errors.setdefault("production_order", []).append(_("No such production order."))
        elif product is None and "product" not in errors:
            product = order.product  # an order's inspection is of the product it makes
    receipt_reference = (receipt_reference or "").strip()
    if len(receipt_reference) > 60:
        errors.setdefault("receipt_reference", []).append(_("At most 60 characters."))
    if product is None and order is None and not receipt_reference and not errors:
        errors.setdefault("product", []).append(
            _("Name what was inspected: a product, a production order or a receipt."))
    if not isinstance(inspected_on, date):
        errors.setdefault("inspected_on", []).append(_("Enter a date."))
    if result not in RESULTS:
        errors.setdefault("result", []).append(_("Choose pass or fail."))
    notes = (notes or "").strip()
    if len(notes) > 2000:
        errors.setdefault("notes", []).append(_("At most 2000 characters."))
    if errors:
        raise ValidationError(field_errors=errors)
    values = dict(product_id=product.id if product else None,
                  production_order_id=order.id if order else None,
                  receipt_reference=receipt_reference, inspected_on=inspected_on,
                  result=result, notes=notes)
    if inspector is not None:
        values.update(inspector_id=inspector.id, inspector_name=inspector.display_name[:200])
    return values


def create_inspection(*, company_id: int, user: User, result: str, inspected_on: date | None,
                      product_id: int | None = None, production_order_id: int | None = None,
                      receipt_reference: str = "", notes: str = "",
                      inspector: User | None = None) -> QualityInspection:
    """Record an inspection (the inspector defaults to the acting user). Commits."""
    if not user.has_role("staff"):
        raise PermissionDenied(_("Only staff may record inspections."))
    with atomic():
        values = _values(company_id, product_id=product_id,
                         production_order_id=production_order_id,
                         receipt_reference=receipt_reference, inspected_on=inspected_on,
                         result=result, notes=notes, inspector=inspector or user)
        inspection = QualityInspection(company_id=company_id, **values)
        audit.created(inspection, company_id=company_id, user=user,
                      record_type="quality_inspection",
                      summary=lambda r: f"Inspection #{r.id}: {r.result_label}")
    return inspection


def supersede_inspection(*, company_id: int, inspection_id: int, user: User, result: str,
                         inspected_on: date | None, notes: str = "") -> QualityInspection:
    """Record a re-inspection of what inspection `inspection_id` inspected: the new one
    supersedes it (the earlier stays, read-only, and no longer counts for the quality gate).

    The subject (product, production order, receipt) is the earlier one's; the acting user
    is the inspector. Both records get an audit entry. Raises NotFound, ValidationError,
    InvalidTransition (already superseded: supersede the latest one). Staff. Commits.
    """
    if not user.has_role("staff"):
        raise PermissionDenied(_("Only staff may record inspections."))
    try:
        with atomic():
            earlier = db.session.scalar(select(QualityInspection).where(
                QualityInspection.id == inspection_id,
                QualityInspection.company_id == company_id).with_for_update())
            if earlier is None:
                raise NotFound(_("No such inspection."))
            later = db.session.scalar(select(QualityInspection.id).where(
                QualityInspection.supersedes_id == earlier.id))
            if later is not None:
                raise InvalidTransition(_superseded(earlier.id, later))
            values = _values(company_id, product_id=earlier.product_id,
                             production_order_id=earlier.production_order_id,
                             receipt_reference=earlier.receipt_reference,
                             inspected_on=inspected_on, result=result, notes=notes,
                             inspector=user)
            inspection = QualityInspection(company_id=company_id, supersedes_id=earlier.id,
                                           **values)
            db.session.add(inspection)
            db.session.flush()
            change = {"result": (earlier.result, inspection.result)}
            audit.record(company_id=company_id, user=user, action="create",
                         record_type="quality_inspection", record_id=inspection.id,
                         summary=f"Inspection #{inspection.id} supersedes #{earlier.id}: "
                                 f"{inspection.result_label}", changes=change)
            audit.record(company_id=company_id, user=user, action="supersede",
                         record_type="quality_inspection", record_id=earlier.id,
                         summary=f"Inspection #{earlier.id} superseded by #{inspection.id}: "
                                 f"{inspection.result_label}", changes=change)
    except IntegrityError:  # a concurrent re-inspection superseded it first
        db.session.rollback()
        raise InvalidTransition(_superseded(inspection_id, None)) from None
    return inspection


def _superseded(inspection_id: int, later_id: int | None) -> str:
    by = f" by #{later_id}" if later_id is not None else ""
    return (f"Inspection #{inspection_id} is already superseded{by}: record the new "
            "inspection against the latest one.")
