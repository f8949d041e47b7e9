"""Supplier bills and supplier payments: what we owe and what we paid, the supplier side
of the money documents (erp.models.invoices holds the customer side and the shapes both
share: `BilledDocument`, `AmountLine`, `PaymentRecord`).

A bill is drafted from what a purchase order received and no bill takes yet (at the
order's costs, editable before posting), or directly for a supplier. A draft has no
number; posting it (a manager's) takes the next "BILL" number in the same transaction
(gapless) and freezes what it says (`issued`). Its due date comes from the supplier's
payment terms, else the company's default. Supplier payments (SPAY) are
allocated to the supplier's open bills; the rest is a credit with the supplier.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp.documents import Action, Document, Workflow
from erp.extensions import db
from erp.i18n import N_
from erp.models.base import ZERO, AwareDateTime, CompanyScoped, Money, in_check
from erp.models.catalog import Supplier
from erp.models.invoices import (PAYMENT_BADGES, PAYMENT_STATUSES, BilledDocument,
                                 PaymentRecord, allocation_links, billed_indexes, billed_links,
                                 payment_checks, payment_links)
from erp.models.purchasing import PurchaseOrder, PurchaseOrderItem
from erp.models.sales import Party, PricedLine, line_checks

BILL_STATUSES = {"draft": N_("Draft"), "open": N_("Open"), "partly_paid": N_("Partly paid"),
                 "paid": N_("Paid"), "cancelled": N_("Cancelled")}
BILL_BADGES = {"draft": "secondary", "open": "primary", "partly_paid": "info",
               "paid": "success", "cancelled": "dark"}
# bills we still owe (part of)
OPEN_BILL_STATUSES = ("open", "partly_paid")

BILL_FLOW = Workflow(
    noun=N_("bill"), states=BILL_STATUSES, badges=BILL_BADGES,
    endpoint="money.bill", id_arg="bill_id", edits={"draft": "staff"},
    actions=[
        Action("post", ("draft",), "open", "manager", N_("Post"), "post_bill",
               done=N_("{number} posted."), verb=N_("posted"),
               confirm=N_("Post {number}? It gets its bill number and can no longer be "
                          "changed.")),
        Action("cancel", ("draft",), "cancelled", "staff", N_("Cancel bill"), "cancel_bill",
               done=N_("{number} cancelled."), verb=N_("cancelled"),
               confirm=N_("Cancel {number}? What it bills can be billed again."),
               style="btn btn-outline-danger"),
    ])


class Bill(Document, BilledDocument,
           billed_links(party="supplier", party_model=Supplier, order_model=PurchaseOrder,
                        line_model="BillLine", back="bill"),
           CompanyScoped, db.Model):
    """A supplier's bill (see the module's docstring)."""

    __tablename__ = "bills"
    __table_args__ = (
        *billed_indexes("bills", number="bill_number", dated="bill_date", party="supplier"),
        in_check("status", BILL_STATUSES),
        CheckConstraint("paid_total >= 0 AND paid_total <= total", name="paid_range"),
        # in whole cents (SQLite adds NUMERIC in floating point: see NOT_OVERPAID)
        CheckConstraint("debited_total >= 0 AND ROUND((debited_total + paid_total) * 100) "
                        "<= ROUND(total * 100)", name="debited_range"),
    )
    OPEN_STATUSES = OPEN_BILL_STATUSES
    SETTLED_BY = ("debited_total", "paid_total")

    # None until posted: a draft has no number, so posted numbers have no gaps
    bill_number: Mapped[str | None] = mapped_column(String(30), nullable=True)
    # supplier_id, order_id (the purchase order whose received goods it bills), their
    # relationships and the lines: billed_links
    # the supplier's own number of the bill, as printed on their invoice
    supplier_reference: Mapped[str] = mapped_column(String(60), default="")
    bill_date: Mapped[date] = mapped_column(Date)  # a draft's: when it was made
    # what posted purchase returns of its goods took off it (erp.services.bills.debit)
    debited_total: Mapped[Decimal] = mapped_column(Money, default=ZERO, server_default="0")
    posted_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)

    workflow = BILL_FLOW

    @property
    def number(self) -> str:
        return self.bill_number or f"Draft bill {self.id}"

    @property
    def party(self) -> Party:
        """The party its frozen snapshot names (IssuedDocument.customer): the supplier."""
        supplier = self.supplier
        return Party(supplier.name, supplier.address, "", supplier.tax_number)


class BillLine(PricedLine, CompanyScoped, db.Model):
    __tablename__ = "bill_lines"
    __table_args__ = line_checks()

    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"),
                                         index=True)
    # the purchase order line whose received quantity it bills (None on a direct bill)
    order_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("purchase_order_items.id", ondelete="RESTRICT"), index=True, nullable=True)

    bill: Mapped[Bill] = relationship(back_populates="items")
    order_item: Mapped[PurchaseOrderItem | None] = relationship()


# --- supplier payments --------------------------------------------------------------------

SUPPLIER_PAYMENT_FLOW = Workflow(
    noun=N_("payment"), states=PAYMENT_STATUSES, badges=PAYMENT_BADGES,
    endpoint="money.supplier_payment", id_arg="payment_id",
    actions=[
        Action("reverse", ("recorded",), "reversed", "manager", N_("Reverse payment"),
               "reverse_supplier_payment",
               done=N_("{number} reversed: its bills are open again."),
               verb=N_("reversed"), style="btn btn-outline-danger",
               confirm=N_("Reverse {number}? What it paid on its bills is owed again; the "
                          "payment stays in the records as reversed.")),
    ])


class SupplierPayment(Document, PaymentRecord,
                      payment_links(party="supplier", party_model=Supplier,
                                    allocation_model="SupplierPaymentAllocation"),
                      CompanyScoped, db.Model):
    """Money paid to a supplier, allocated to one or several of its open bills; the rest
    is a credit with the supplier. Never deleted: a reversal takes its allocations back."""

    __tablename__ = "supplier_payments"
    __table_args__ = (
        UniqueConstraint("company_id", "number"),
        Index("ix_supplier_payments_company_date_id", "company_id", "payment_date", "id"),
        Index("ix_supplier_payments_company_supplier_status", "company_id", "supplier_id",
              "status"),
        *payment_checks(),
    )

    # supplier_id, supplier and the allocations: payment_links
    workflow = SUPPLIER_PAYMENT_FLOW


class SupplierPaymentAllocation(allocation_links(
        payments="supplier_payments", payment_model="SupplierPayment", document="bill",
        document_model="Bill", documents="bills"), CompanyScoped, db.Model):
    """Part of a supplier payment set against one bill."""

    __tablename__ = "supplier_payment_allocations"
