"""Stock documents: count sheets and multi-line transfers.

A count sheet (StockCount) lists the stocked products of a warehouse (optionally of one
category) with the quantity the ledger expected when the sheet was made; the counted
quantities are filled in on screen or on its printout. Posting it adjusts every counted
difference at once (one `adjustment` movement per line, in one transaction): the posted
sheet is the adjustment document. A transfer (StockTransfer) moves several lines of stock
from one warehouse to another when posted. Both: draft -> posted, or cancelled from draft
(erp.services.stock_documents); staff draft, a manager posts.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp.documents import Action, Document, Workflow
from erp.extensions import db
from erp.models.base import CompanyScoped, PostedDocument, Quantity, document_table_args
from erp.models.catalog import Category, Product
from erp.models.inventory import Warehouse
from erp.models.purchasing import plain_number
from erp.i18n import N_

STOCK_DOC_STATUSES = {"draft": N_("Draft"), "posted": N_("Posted"), "cancelled": N_("Cancelled")}
STOCK_DOC_BADGES = {"draft": "secondary", "posted": "success", "cancelled": "dark"}
NOTES_MAX = 2000


def _flow(noun: str, kind: str, endpoint: str, id_arg: str, *extra: Action, posted: str,
          confirm: str, cancel: str) -> Workflow:
    """draft -> posted (a manager) or cancelled (staff); staff change a draft's lines. The
    texts come marked (`N_`): `posted` and `confirm` name what posting moves."""
    return Workflow(
        noun=noun, states=STOCK_DOC_STATUSES, badges=STOCK_DOC_BADGES, endpoint=endpoint,
        id_arg=id_arg, edits={"draft": "staff"},
        actions=[
            *extra,
            Action("post", ("draft",), "posted", "manager", N_("Post"), f"post_{kind}",
                   done=posted, verb=N_("posted"), confirm=confirm),
            Action("cancel", ("draft",), "cancelled", "staff", cancel,
                   f"cancel_{kind}", done=N_("{number} cancelled."), verb=N_("cancelled"),
                   confirm=N_("Cancel {number}? No stock moved with it."),
                   style="btn btn-outline-danger"),
        ])


COUNT_FLOW = _flow(
    N_("count sheet"), "count", "inventory.count", "count_id",
    # after stock moved while counting (posting refuses then): expected := on hand now
    Action("refresh", ("draft",), None, "staff", N_("Update expected"), "refresh_count",
           done=N_("{number}: the expected quantities are the stock now."),
           style="btn btn-outline-secondary",
           confirm=N_("Set the expected quantities of {number} to the stock now? The counts stay.")),
    posted=N_("{number} posted: every counted difference is adjusted."),
    confirm=N_("Post {number}? Every counted difference is adjusted; this cannot be undone."),
    cancel=N_("Cancel count sheet"))
TRANSFER_FLOW = _flow(
    N_("transfer"), "transfer", "inventory.transfer", "transfer_id",
    posted=N_("{number} posted: the stock moves between the warehouses."),
    confirm=N_("Post {number}? The stock moves between the warehouses; this cannot be undone."),
    cancel=N_("Cancel transfer"))


class StockCount(Document, PostedDocument, CompanyScoped, db.Model):
    """A count sheet of one warehouse (and optionally one category)."""

    __tablename__ = "stock_counts"
    __table_args__ = document_table_args(
        __tablename__, "count_date", STOCK_DOC_STATUSES,
        Index("ix_stock_counts_company_warehouse", "company_id", "warehouse_id"))

    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"),
                                              index=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), index=True, nullable=True)
    count_date: Mapped[date] = mapped_column(Date)

    warehouse: Mapped[Warehouse] = relationship()
    category: Mapped[Category | None] = relationship()
    lines: Mapped[list[StockCountLine]] = relationship(
        back_populates="count", order_by="StockCountLine.id", cascade="all, delete-orphan",
        passive_deletes=True)

    workflow = COUNT_FLOW


class StockCountLine(CompanyScoped, db.Model):
    """One product of a count sheet: what the ledger held when the line was made
    (`expected`), what was counted (None: not counted yet, left as it is when posted) and,
    once posted, the adjustment made (`adjusted`: counted minus the stock at posting)."""

    __tablename__ = "stock_count_lines"
    __table_args__ = (
        UniqueConstraint("count_id", "product_id"),
        CheckConstraint("counted IS NULL OR counted >= 0", name="counted_not_negative"),
    )

    count_id: Mapped[int] = mapped_column(ForeignKey("stock_counts.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"),
                                            index=True)
    expected: Mapped[Decimal] = mapped_column(Quantity)
    counted: Mapped[Decimal | None] = mapped_column(Quantity, nullable=True)
    adjusted: Mapped[Decimal | None] = mapped_column(Quantity, nullable=True)

    count: Mapped[StockCount] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    @property
    def difference(self) -> Decimal | None:
        return None if self.counted is None else self.counted - self.expected

    @property
    def inputs(self) -> dict[str, str]:
        """Plain values for the line editor's input."""
        return {"counted": plain_number(self.counted)}


class StockTransfer(Document, PostedDocument, CompanyScoped, db.Model):
    """Stock moving from one warehouse to another, several products at once."""

    __tablename__ = "stock_transfers"
    __table_args__ = document_table_args(
        __tablename__, "transfer_date", STOCK_DOC_STATUSES,
        Index("ix_stock_transfers_company_from", "company_id", "from_warehouse_id"),
        Index("ix_stock_transfers_company_to", "company_id", "to_warehouse_id"),
        CheckConstraint("from_warehouse_id <> to_warehouse_id", name="two_warehouses"))

    from_warehouse_id: Mapped[int] = mapped_column(
        ForeignKey("warehouses.id", ondelete="RESTRICT"), index=True)
    to_warehouse_id: Mapped[int] = mapped_column(
        ForeignKey("warehouses.id", ondelete="RESTRICT"), index=True)
    transfer_date: Mapped[date] = mapped_column(Date)

    from_warehouse: Mapped[Warehouse] = relationship(foreign_keys=[from_warehouse_id])
    to_warehouse: Mapped[Warehouse] = relationship(foreign_keys=[to_warehouse_id])
    lines: Mapped[list[StockTransferLine]] = relationship(
        back_populates="transfer", order_by="StockTransferLine.id",
        cascade="all, delete-orphan", passive_deletes=True)

    workflow = TRANSFER_FLOW


class StockTransferLine(CompanyScoped, db.Model):
    __tablename__ = "stock_transfer_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    transfer_id: Mapped[int] = mapped_column(
        ForeignKey("stock_transfers.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"),
                                            index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)

    transfer: Mapped[StockTransfer] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    @property
    def inputs(self) -> dict[str, str]:
        return {"quantity": plain_number(self.quantity)}
