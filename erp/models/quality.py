"""Quality: inspections of a product, a production order or a goods receipt.

A failed inspection of a production order blocks completing it until a manager
overrides (see erp.services.production.complete_order).

A recorded inspection is never edited: a new inspection supersedes it (`supersedes_id`),
so who found what, and who re-inspected, stays on record. Only the latest inspection of
such a chain (the one nobody superseded) counts for the quality gate.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp.extensions import db
from erp.models.base import CompanyScoped, choice_label, in_check
from erp.models.catalog import Product
from erp.models.core import User
from erp.models.production import ProductionOrder
from erp.i18n import N_

RESULTS = {"pass": N_("Pass"), "fail": N_("Fail")}


class QualityInspection(CompanyScoped, db.Model):
    __tablename__ = "quality_inspections"
    __table_args__ = (
        Index("ix_quality_inspections_company_product_date", "company_id", "product_id",
              "inspected_on"),
        Index("ix_quality_inspections_company_order", "company_id", "production_order_id"),
        Index("ix_quality_inspections_company_date", "company_id", "inspected_on"),
        Index("ix_quality_inspections_company_result_date", "company_id", "result",
              "inspected_on"),
        in_check("result", RESULTS),
        # an inspection is superseded at most once: a chain, never a tree
        UniqueConstraint("supersedes_id"),
    )

    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT"), index=True, nullable=True)
    production_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("production_orders.id", ondelete="RESTRICT"), index=True, nullable=True)
    # A goods receipt (purchasing), by its document number: no foreign key on purpose.
    receipt_reference: Mapped[str] = mapped_column(String(60), default="")
    inspector_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, nullable=True)
    inspector_name: Mapped[str] = mapped_column(String(200), default="")
    inspected_on: Mapped[date] = mapped_column(Date)
    result: Mapped[str] = mapped_column(String(10))
    notes: Mapped[str] = mapped_column(Text, default="")
    # the earlier inspection (same subject) this one replaces. NO ACTION, not RESTRICT: it
    # is checked at the end of the statement, so a company's inspections leave together
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("quality_inspections.id"), nullable=True)

    product: Mapped[Product | None] = relationship()
    production_order: Mapped[ProductionOrder | None] = relationship()
    inspector: Mapped[User | None] = relationship()
    supersedes: Mapped[QualityInspection | None] = relationship(
        remote_side="QualityInspection.id", back_populates="superseded_by")
    superseded_by: Mapped[QualityInspection | None] = relationship(
        back_populates="supersedes", uselist=False)

    result_label = choice_label("result", RESULTS)

    @property
    def subject(self) -> str:
        parts = []
        if self.production_order is not None:
            parts.append(self.production_order.number)
        if self.product is not None:
            parts.append(str(self.product))
        if self.receipt_reference:
            parts.append(f"Receipt {self.receipt_reference}")
        return " · ".join(parts)
