"""Sales invoices: a document of its own on the document engine (erp/documents.py).

An invoice is made from what a sales order shipped and is not invoiced yet, or directly
for a customer (its lines typed in). A draft has no number; issuing it takes the next
number of the "INV" sequence in the same transaction (gapless: a rollback gives the
number back) and freezes what it says (seller, customer, addresses, lines, prices,
taxes: `issued`, an `IssuedDocument`), so later changes to the customer, the products or
the company leave it as issued. Its due date comes from the customer's payment terms.
Credit notes and payments reduce what is still owed (`balance`).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp.documents import Action, Document, Workflow
from erp.extensions import db
from erp.models.base import ZERO, AwareDateTime, CompanyScoped, Money, Quantity, Rate, in_check
from erp.models.catalog import Product
from erp.models.core import User
from erp.models.sales import (Customer, PricedLine, RateTax, SalesOrder, SalesOrderItem,
                              tax_by_rate)

INVOICE_STATUSES = {"draft": "Draft", "issued": "Issued", "partly_paid": "Partly paid",
                    "paid": "Paid", "cancelled": "Cancelled"}
INVOICE_BADGES = {"draft": "secondary", "issued": "primary", "partly_paid": "info",
                  "paid": "success", "cancelled": "dark"}
# invoices the customer still owes (part of)
OPEN_INVOICE_STATUSES = ("issued", "partly_paid")

INVOICE_FLOW = Workflow(
    noun="invoice", states=INVOICE_STATUSES, badges=INVOICE_BADGES,
    endpoint="money.invoice", id_arg="invoice_id", edits={"draft": "staff"},
    actions=[
        Action("issue", ("draft",), "issued", "manager", "Issue", "issue_invoice",
               done="{number} issued.", verb="issued",
               confirm="Issue {number}? It gets its invoice number and can no longer be "
                       "changed."),
        Action("cancel", ("draft",), "cancelled", "staff", "Cancel invoice",
               "cancel_invoice", done="{number} cancelled.", verb="cancelled",
               confirm="Cancel {number}? What it invoices can be invoiced again.",
               style="btn btn-outline-danger"),
    ])


class Invoice(Document, CompanyScoped, db.Model):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("company_id", "invoice_number"),
        Index("ix_invoices_company_date_id", "company_id", "invoice_date", "id"),
        Index("ix_invoices_company_status_due", "company_id", "status", "due_date"),
        Index("ix_invoices_company_customer_status", "company_id", "customer_id", "status"),
        in_check("status", INVOICE_STATUSES),
        CheckConstraint("credited_total >= 0 AND paid_total >= 0", name="settled_not_negative"),
        CheckConstraint("credited_total + paid_total <= total", name="not_overpaid"),
    )

    # None until issued: a draft has no number, so issued numbers have no gaps
    invoice_number: Mapped[str | None] = mapped_column(String(30), nullable=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"),
                                             index=True)
    # the order it invoices the shipped goods of (None: a direct invoice)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("sales_orders.id", ondelete="RESTRICT"), index=True, nullable=True)
    invoice_date: Mapped[date] = mapped_column(Date)  # a draft's: when it was made
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    notes: Mapped[str] = mapped_column(Text, default="")
    subtotal: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    discount_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    tax_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    credited_total: Mapped[Decimal] = mapped_column(Money, default=ZERO, server_default="0")
    paid_total: Mapped[Decimal] = mapped_column(Money, default=ZERO, server_default="0")
    issued_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    # what the invoice says, frozen at issue (IssuedDocument.to_json)
    issued: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, nullable=True)

    customer: Mapped[Customer] = relationship()
    order: Mapped[SalesOrder | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    items: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.id", cascade="all, delete-orphan",
        passive_deletes=True)

    workflow = INVOICE_FLOW

    @property
    def number(self) -> str:
        return self.invoice_number or f"Draft invoice {self.id}"

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"

    @property
    def net(self) -> Decimal:
        return self.subtotal - self.discount_total

    @property
    def balance(self) -> Decimal:
        """What the customer still owes on it: the total less credit notes and payments."""
        if self.status in ("draft", "cancelled"):
            return ZERO
        return self.total - self.credited_total - self.paid_total

    def overdue(self, today: date) -> bool:
        return self.status in OPEN_INVOICE_STATUSES and self.due_date < today

    @property
    def tax_by_rate(self) -> list[RateTax]:
        return tax_by_rate((line.tax_rate, line.net, line.tax_amount) for line in self.items)

    def __str__(self) -> str:
        return self.number


class InvoiceLine(PricedLine, CompanyScoped, db.Model):
    __tablename__ = "invoice_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint("discount_percent >= 0 AND discount_percent <= 100",
                        name="discount_percent_range"),
        CheckConstraint("tax_rate >= 0", name="tax_rate_not_negative"),
        CheckConstraint("credited_quantity >= 0 AND credited_quantity <= quantity",
                        name="credited_quantity_range"),
    )

    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"),
                                            index=True)
    # the order line whose shipped quantity it invoices (None on a direct invoice)
    order_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("sales_order_items.id", ondelete="RESTRICT"), index=True, nullable=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"),
                                            index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_price: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    discount_percent: Mapped[Decimal] = mapped_column(Rate, default=ZERO)
    tax_rate: Mapped[Decimal] = mapped_column(Rate, default=ZERO)
    subtotal: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    discount_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    tax_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    # what issued credit notes took back of this line
    credited_quantity: Mapped[Decimal] = mapped_column(Quantity, default=ZERO,
                                                       server_default="0")

    invoice: Mapped[Invoice] = relationship(back_populates="items")
    order_item: Mapped[SalesOrderItem | None] = relationship()
    product: Mapped[Product] = relationship()
