"""Demo inspections: a pass of a finished order, a failure that blocks an order in
progress, and a goods receipt inspection. Does nothing if the company has inspections."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from erp.extensions import db
from erp.models import Product, User
from erp.models.production import ProductionOrder
from erp.models.quality import QualityInspection
from erp.services import quality


def seed(company, admin: User | None) -> str | None:
    if admin is None or db.session.scalar(select(QualityInspection.id).where(
            QualityInspection.company_id == company.id).limit(1)):
        return None
    orders = {o.status: o for o in db.session.scalars(
        select(ProductionOrder).where(ProductionOrder.company_id == company.id)
        .order_by(ProductionOrder.id))}
    material = db.session.scalar(select(Product).where(Product.company_id == company.id,
                                                       Product.kind == "raw_material")
                                 .order_by(Product.id))
    made = 0
    today = date.today()
    if "done" in orders:
        quality.create_inspection(company_id=company.id, user=admin, result="pass",
                                  inspected_on=today,
                                  production_order_id=orders["done"].id,
                                  notes="Dimensions and finish within tolerance.")
        made += 1
    if "in_progress" in orders:
        quality.create_inspection(company_id=company.id, user=admin, result="fail",
                                  inspected_on=today,
                                  production_order_id=orders["in_progress"].id,
                                  notes="Weld seam porous on 2 units: rework needed.")
        made += 1
    if material is not None:
        quality.create_inspection(company_id=company.id, user=admin, result="pass",
                                  inspected_on=today,
                                  product_id=material.id, receipt_reference="GR-DEMO-0001",
                                  notes="Incoming goods: certificate checked.")
        made += 1
    return f"{made} inspections (one failed)" if made else None
