"""Quality inspections of a product, a production order or a goods receipt.

A failed inspection of a production order blocks completing it until a manager
overrides (erp.services.production). Each write is one transaction with an audit entry.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from erp.extensions import db
from erp.models import Product, User
from erp.models.production import ProductionOrder
from erp.models.quality import RESULTS, QualityInspection
from erp.services import NotFound, PermissionDenied, ValidationError, atomic, audit


def _values(company_id: int, *, product_id, production_order_id, receipt_reference,
            inspected_on, result, notes, inspector: User | None) -> dict:
    errors: dict[str, list[str]] = {}
    product = order = None
    if product_id is not None:
        product = db.session.scalar(select(Product).where(Product.id == product_id,
                                                          Product.company_id == company_id))
        if product is None:
            errors.setdefault("product", []).append("No such product.")
    if production_order_id is not None:
        order = db.session.scalar(select(ProductionOrder).where(
            ProductionOrder.id == production_order_id, ProductionOrder.company_id == company_id))
        if order is None:
            errors.setdefault("production_order", []).append("No such production order.")
        elif product is None and "product" not in errors:
            product = order.product  # an order's inspection is of the product it makes
    receipt_reference = (receipt_reference or "").strip()
    if len(receipt_reference) > 60:
        errors.setdefault("receipt_reference", []).append("At most 60 characters.")
    if product is None and order is None and not receipt_reference and not errors:
        errors.setdefault("product", []).append(
            "Name what was inspected: a product, a production order or a receipt.")
    if not isinstance(inspected_on, date):
        errors.setdefault("inspected_on", []).append("Enter a date.")
    if result not in RESULTS:
        errors.setdefault("result", []).append("Choose pass or fail.")
    notes = (notes or "").strip()
    if len(notes) > 2000:
        errors.setdefault("notes", []).append("At most 2000 characters.")
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
        raise PermissionDenied("Only staff may record inspections.")
    with atomic():
        values = _values(company_id, product_id=product_id,
                         production_order_id=production_order_id,
                         receipt_reference=receipt_reference, inspected_on=inspected_on,
                         result=result, notes=notes, inspector=inspector or user)
        inspection = QualityInspection(company_id=company_id, **values)
        db.session.add(inspection)
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="create",
                     record_type="quality_inspection", record_id=inspection.id,
                     summary=f"Inspection #{inspection.id}: {inspection.result_label}")
    return inspection


def update_inspection(*, company_id: int, inspection_id: int, user: User, result: str,
                      inspected_on: date | None, product_id: int | None = None,
                      production_order_id: int | None = None, receipt_reference: str = "",
                      notes: str = "") -> QualityInspection:
    """Change an inspection (the inspector stays). Raises NotFound, ValidationError. Commits."""
    if not user.has_role("staff"):
        raise PermissionDenied("Only staff may change inspections.")
    with atomic():
        inspection = db.session.scalar(select(QualityInspection).where(
            QualityInspection.id == inspection_id, QualityInspection.company_id == company_id)
            .with_for_update())
        if inspection is None:
            raise NotFound("No such inspection.")
        values = _values(company_id, product_id=product_id,
                         production_order_id=production_order_id,
                         receipt_reference=receipt_reference, inspected_on=inspected_on,
                         result=result, notes=notes, inspector=None)
        changes = audit.diff(inspection, values)
        if changes:
            audit.record(company_id=company_id, user=user, action="update",
                         record_type="quality_inspection", record_id=inspection.id,
                         summary=f"Inspection #{inspection.id} changed", changes=changes)
    return inspection
