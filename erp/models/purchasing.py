"""Purchasing: purchase orders, their lines, and goods receipts against them.

A PurchaseOrder goes draft -> ordered -> partially_received -> received, or is cancelled
from draft or ordered, or closed short from partially_received (the rest is no longer
expected; see `erp.services.purchasing`). Its subtotal, tax and total are
stored and recomputed by the service whenever a line changes. Every delivery is a
GoodsReceipt whose lines refer to the order lines they receive; its `receipt_token`
(unique per company) makes a replayed receipt form harmless.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp.documents import Action, Document, Workflow
from erp.extensions import db
from erp.models.base import (ZERO, AwareDateTime, CompanyScoped, Money, NumberedDocument,
                             Quantity, Rate, in_check, utcnow)
from erp.models.catalog import Product, Supplier
from erp.models.core import User
from erp.models.inventory import Warehouse
from erp.i18n import N_

PO_STATUSES = {
    "draft": N_("Draft"),
    "ordered": N_("Ordered"),
    "partially_received": N_("Partially received"),
    "received": N_("Received"),
    "closed": N_("Closed short"),
    "cancelled": N_("Cancelled"),
}
# Orders whose unreceived quantity still counts as "on order" (for reordering); a closed
# (short) order's rest is not expected any more.
OPEN_STATUSES = ("draft", "ordered", "partially_received")
RECEIVABLE_STATUSES = ("ordered", "partially_received")
STATUS_BADGES = {"draft": "secondary", "ordered": "primary", "partially_received": "info",
                 "received": "success", "closed": "warning", "cancelled": "dark"}

PURCHASE_ORDER_FLOW = Workflow(
    noun=N_("purchase order"), states=PO_STATUSES, badges=STATUS_BADGES,
    endpoint="purchasing.order",
    # staff write a draft; once it went to the supplier a manager amends what is still
    # open (the service keeps received quantities: erp.services.purchasing)
    edits={"draft": "staff", "ordered": "manager", "partially_received": "manager"},
    actions=[
        # a repeated place or cancel is refused (as it always was), not a silent no-op
        Action("place", ("draft",), "ordered", "manager", N_("Place order"), "place_order",
               done=N_("{number} ordered."), verb=N_("ordered"), replay=False,
               confirm=N_("Place {number} with the supplier? From then on only a manager "
                       "can change its lines.")),
        # a receipt leads to partially_received or received: the service decides
        Action("receive", RECEIVABLE_STATUSES, None, "staff", N_("Receive goods"), "receive",
               verb=N_("received"), style="btn btn-success", page=True),
        Action("cancel", ("draft", "ordered"), "cancelled", "manager", N_("Cancel order"),
               "cancel_order", done=N_("{number} cancelled."), verb=N_("cancelled"),
               confirm=N_("Cancel {number}? This cannot be undone."),
               style="btn btn-outline-danger", replay=False),
        # a partial delivery is all that will come: the rest stops counting as on order.
        # Not from ordered: with nothing received, cancelling says the same thing.
        Action("close", ("partially_received",), "closed", "manager", N_("Close short"),
               "close_order", done=N_("{number} closed short: the rest is no longer expected."),
               verb=N_("closed short"),
               confirm=N_("Close {number} short? The quantities not yet received will no longer "
                       "be expected. This cannot be undone."),
               style="btn btn-outline-warning", replay=False),
    ])


def plain_number(value: Decimal | None) -> str:
    """A Decimal for an input's value: no exponent, no thousands separator, no trailing zeros."""
    if value is None:
        return ""
    text = format(Decimal(value).normalize(), "f")
    return text


class PurchaseOrder(Document, NumberedDocument, CompanyScoped, db.Model):
    __tablename__ = "purchase_orders"
    __table_args__ = (
        UniqueConstraint("company_id", "number"),
        Index("ix_purchase_orders_company_supplier_status", "company_id", "supplier_id", "status"),
        Index("ix_purchase_orders_company_date_status", "company_id", "order_date", "status"),
        Index("ix_purchase_orders_company_status", "company_id", "status"),
        in_check("status", PO_STATUSES),
    )

    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="RESTRICT"),
                                             index=True)
    # The default receiving warehouse; a receipt may choose another.
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"),
                                              index=True)
    order_date: Mapped[date] = mapped_column(Date)
    expected_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    subtotal: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    tax_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    ordered_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)

    supplier: Mapped[Supplier] = relationship()
    warehouse: Mapped[Warehouse] = relationship()
    items: Mapped[list[PurchaseOrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="PurchaseOrderItem.id")
    receipts: Mapped[list[GoodsReceipt]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="GoodsReceipt.id")

    workflow = PURCHASE_ORDER_FLOW

    @property
    def to_bill(self) -> bool:
        """Whether a line received more than bills take (its lines loaded)."""
        return any(item.billable_quantity > 0 for item in self.items)

    @property
    def is_provisional(self) -> bool:
        """Not (or no longer) an order to the supplier: the print says so."""
        return self.status in ("draft", "cancelled")


class PurchaseOrderItem(CompanyScoped, db.Model):
    __tablename__ = "purchase_order_items"
    __table_args__ = (
        Index("ix_purchase_order_items_order_product", "order_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("received_quantity >= 0", name="received_not_negative"),
        CheckConstraint("returned_quantity >= 0 AND returned_quantity <= received_quantity",
                        name="returned_quantity_range"),
        CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
        CheckConstraint("tax_rate >= 0", name="tax_rate_not_negative"),
    )

    # indexed by the composite (order_id, product_id) index above
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"),
                                            index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    received_quantity: Mapped[Decimal] = mapped_column(Quantity, default=ZERO)
    # what posted purchase returns (erp.services.returns) sent back of this line
    returned_quantity: Mapped[Decimal] = mapped_column(Quantity, default=ZERO,
                                                       server_default="0")
    # what supplier bills (drafts and posted, erp.services.bills) take of the received quantity
    billed_quantity: Mapped[Decimal] = mapped_column(Quantity, default=ZERO, server_default="0")
    # of the returned quantity, what posted purchase returns debited on posted bills (the
    # rest went back unbilled: no bill may take it any more)
    debited_quantity: Mapped[Decimal] = mapped_column(Quantity, default=ZERO,
                                                      server_default="0")
    unit_cost: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    tax_rate: Mapped[Decimal] = mapped_column(Rate, default=ZERO)  # percent
    line_subtotal: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    line_tax: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    line_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)

    order: Mapped[PurchaseOrder] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()

    @property
    def inputs(self) -> dict[str, str]:
        """Plain values for the line editor's inputs."""
        return {"quantity": plain_number(self.quantity), "unit_cost": f"{self.unit_cost:.2f}",
                "tax_rate": plain_number(self.tax_rate)}

    @property
    def open_quantity(self) -> Decimal:
        return max(self.quantity - (self.received_quantity or ZERO), ZERO)

    @property
    def moved_quantity(self) -> Decimal:
        """What a purchase return may send back of (erp/templates/returns/)."""
        return self.received_quantity or ZERO

    @property
    def returnable_quantity(self) -> Decimal:
        return (self.received_quantity or ZERO) - (self.returned_quantity or ZERO)

    @property
    def billable_quantity(self) -> Decimal:
        """What was received and kept (returns that no bill was debited for are not
        billed) and no bill takes yet."""
        unbilled_returns = (self.returned_quantity or ZERO) - (self.debited_quantity or ZERO)
        return max((self.received_quantity or ZERO) - (self.billed_quantity or ZERO)
                   - unbilled_returns, ZERO)

    @property
    def amendable(self) -> bool:
        """Its quantity and price may still change: not fully received."""
        return self.open_quantity > 0

    @property
    def removable(self) -> bool:
        """It may be removed: nothing of it was received."""
        return not self.received_quantity


class GoodsReceipt(CompanyScoped, db.Model):
    """One delivery received against a purchase order (quality inspections refer to it)."""

    __tablename__ = "goods_receipts"
    __table_args__ = (
        UniqueConstraint("company_id", "number"),
        UniqueConstraint("company_id", "receipt_token"),
        Index("ix_goods_receipts_company_received", "company_id", "received_at"),
    )

    number: Mapped[str] = mapped_column(String(30))
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id", ondelete="CASCADE"),
                                          index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"),
                                              index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                index=True, nullable=True)
    received_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    reference: Mapped[str] = mapped_column(String(60), default="")  # the delivery note
    receipt_token: Mapped[str] = mapped_column(String(64))

    order: Mapped[PurchaseOrder] = relationship(back_populates="receipts")
    warehouse: Mapped[Warehouse] = relationship()
    user: Mapped[User | None] = relationship()
    lines: Mapped[list[GoodsReceiptLine]] = relationship(
        back_populates="receipt", cascade="all, delete-orphan", order_by="GoodsReceiptLine.id")

    def __str__(self) -> str:
        return self.number


class GoodsReceiptLine(CompanyScoped, db.Model):
    __tablename__ = "goods_receipt_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    receipt_id: Mapped[int] = mapped_column(ForeignKey("goods_receipts.id", ondelete="CASCADE"),
                                            index=True)
    order_item_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_order_items.id", ondelete="RESTRICT"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)

    receipt: Mapped[GoodsReceipt] = relationship(back_populates="lines")
    order_item: Mapped[PurchaseOrderItem] = relationship()
