"""Returns: goods a customer sends back against a posted delivery note (SalesReturn), and
goods sent back to a supplier from a purchase order's receipts (PurchaseReturn).

Both are documents: draft -> posted (stock moves, erp.services.returns) or cancelled. What
posted returns took back is kept on the line they return (`DeliveryNoteLine.returned_quantity`,
`PurchaseOrderItem.returned_quantity`), so "never more than delivered (received) minus
already returned" is a check on one locked row, not a sum over returns.
"""
from __future__ import annotations

from datetime import date
from typing import ClassVar
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from erp.documents import Action, Document, Workflow
from erp.extensions import db
from erp.models.base import (ZERO, CompanyScoped, Money, PostedDocument, Quantity,
                             document_table_args)
from erp.models.bills import BillLine
from erp.models.catalog import Supplier
from erp.models.inventory import Warehouse
from erp.models.purchasing import PurchaseOrder, PurchaseOrderItem
from erp.models.sales import LOTS_TEXT_MAX, Customer, DeliveryNote, DeliveryNoteLine
from erp.i18n import N_

RETURN_STATUSES = {"draft": N_("Draft"), "posted": N_("Posted"), "cancelled": N_("Cancelled")}
RETURN_BADGES = {"draft": "secondary", "posted": "success", "cancelled": "dark"}
REASON_MAX = 300


def _flow(endpoint: str, post_service: str, cancel_service: str, moves: str) -> Workflow:
    """draft -> posted / cancelled; a staff member drafts, a manager posts and cancels."""
    return Workflow(
        noun=N_("return"), states=RETURN_STATUSES, badges=RETURN_BADGES, endpoint=endpoint,
        id_arg="return_id",
        actions=[
            Action("post", ("draft",), "posted", "manager", N_("Post"), post_service,
                   done=f"{{number}} posted: {moves}.", verb=N_("posted"),
                   confirm=f"Post {{number}}? {moves.capitalize()}; this cannot be undone."),
            Action("cancel", ("draft",), "cancelled", "manager", N_("Cancel return"),
                   cancel_service, done=N_("{number} cancelled."), verb=N_("cancelled"),
                   confirm=N_("Cancel {number}? No stock moved with it."),
                   style="btn btn-outline-danger"),
        ])


SALES_RETURN_FLOW = _flow("sales.return", "post_sales_return", "cancel_sales_return",
                          "the goods are back in stock")
PURCHASE_RETURN_FLOW = _flow("purchasing.return", "post_purchase_return",
                             "cancel_purchase_return", "the goods leave the warehouse")


class ReturnDocument(Document, PostedDocument, CompanyScoped):
    """What both kinds of return hold: the warehouse the goods come back into (leave
    from), the date, the status, the reason, notes, when it was posted and who drafted it."""

    return_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(REASON_MAX))

    @declared_attr
    def warehouse_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"), index=True)

    @declared_attr
    def warehouse(cls) -> Mapped[Warehouse]:
        return relationship(Warehouse)

    # what differs, declared by each kind: the relationship names of the party (also
    # `<party_name>_id`, indexed) and of the document returned against
    party_name: ClassVar[str]
    source_name: ClassVar[str]

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        table = cls.__tablename__
        return document_table_args(
            table, "return_date", RETURN_STATUSES,
            Index(f"ix_{table}_company_{cls.party_name}", "company_id", f"{cls.party_name}_id"))

    @property
    def party(self):
        return getattr(self, self.party_name)

    @property
    def source(self):
        return getattr(self, self.source_name)


class ReturnLine(CompanyScoped):
    """What both kinds of return line hold: the quantity, and for a tracked product the lots
    or serial numbers the user picked, as typed ("" : the service picks them on posting)."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        return (CheckConstraint("quantity > 0", name="quantity_positive"),)

    quantity: Mapped[Decimal] = mapped_column(Quantity)
    lots: Mapped[str] = mapped_column(String(LOTS_TEXT_MAX), default="", server_default="")


class SalesReturn(ReturnDocument, db.Model):
    """Goods a customer sends back, against one posted delivery note, into a warehouse of
    the company chosen by the user. The customer is the delivery's, kept for the list."""

    __tablename__ = "sales_returns"
    party_name, source_name = "customer", "delivery"

    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("delivery_notes.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"),
                                             index=True)

    delivery: Mapped[DeliveryNote] = relationship()
    customer: Mapped[Customer] = relationship()
    lines: Mapped[list[SalesReturnLine]] = relationship(
        back_populates="sales_return", order_by="SalesReturnLine.id",
        cascade="all, delete-orphan", passive_deletes=True)

    workflow = SALES_RETURN_FLOW


class SalesReturnLine(ReturnLine, db.Model):
    __tablename__ = "sales_return_lines"

    return_id: Mapped[int] = mapped_column(
        ForeignKey("sales_returns.id", ondelete="CASCADE"), index=True)
    delivery_line_id: Mapped[int] = mapped_column(
        ForeignKey("delivery_note_lines.id", ondelete="RESTRICT"), index=True)

    sales_return: Mapped[SalesReturn] = relationship(back_populates="lines")
    delivery_line: Mapped[DeliveryNoteLine] = relationship()

    @property
    def source_line(self) -> DeliveryNoteLine:
        return self.delivery_line


class PurchaseReturn(ReturnDocument, db.Model):
    """Received goods sent back to the supplier of a purchase order, out of a warehouse of
    the company chosen by the user (by default the order's)."""

    __tablename__ = "purchase_returns"
    party_name, source_name = "supplier", "order"

    order_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="RESTRICT"),
                                             index=True)

    # posted: what its goods were worth on the posted bills that billed them, and of it
    # what was taken off those bills (never more than they still asked for); the rest is
    # a credit of the company with the supplier (erp.services.bills.debit)
    returned_value: Mapped[Decimal] = mapped_column(Money, default=ZERO, server_default="0")
    debited_total: Mapped[Decimal] = mapped_column(Money, default=ZERO, server_default="0")

    order: Mapped[PurchaseOrder] = relationship()
    supplier: Mapped[Supplier] = relationship()
    lines: Mapped[list[PurchaseReturnLine]] = relationship(
        back_populates="purchase_return", order_by="PurchaseReturnLine.id",
        cascade="all, delete-orphan", passive_deletes=True)

    workflow = PURCHASE_RETURN_FLOW

    @property
    def supplier_credit(self) -> Decimal:
        """What its bills could not take: the supplier owes it to the company."""
        return self.returned_value - self.debited_total


class PurchaseReturnLine(ReturnLine, db.Model):
    __tablename__ = "purchase_return_lines"

    return_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_returns.id", ondelete="CASCADE"), index=True)
    order_item_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_order_items.id", ondelete="RESTRICT"), index=True)

    # posted: the posted bill line that billed the goods (None: no posted bill did), how
    # much of the quantity it billed, their value at its price incl. tax, and of that value
    # what was taken off its bill (the rest: a credit with the supplier)
    bill_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("bill_lines.id", ondelete="RESTRICT"), index=True, nullable=True)
    debited_quantity: Mapped[Decimal] = mapped_column(Quantity, default=ZERO,
                                                      server_default="0")
    debit_value: Mapped[Decimal] = mapped_column(Money, default=ZERO, server_default="0")
    debit_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO, server_default="0")

    purchase_return: Mapped[PurchaseReturn] = relationship(back_populates="lines")
    order_item: Mapped[PurchaseOrderItem] = relationship()
    bill_line: Mapped[BillLine | None] = relationship()

    @property
    def source_line(self) -> PurchaseOrderItem:
        return self.order_item
