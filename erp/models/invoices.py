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

from sqlalchemy import (JSON, CheckConstraint, Date, ForeignKey, Index, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from erp.documents import Action, Document, Workflow
from erp.extensions import db
from erp.models.base import ZERO, AwareDateTime, CompanyScoped, Money, Quantity, in_check
from erp.models.core import User
from erp.models.sales import (Customer, CustomerParty, PricedDocument, PricedLine,
                              SalesOrder, SalesOrderItem, line_checks)


class BilledDocument(PricedDocument):
    """Columns and figures shared by the documents that ask for money (a sales invoice, a
    supplier bill): state, dates, notes, totals, what payments settled, the frozen
    snapshot and who made it. `OPEN_STATUSES` are its states in which money is owed."""

    OPEN_STATUSES: tuple[str, ...] = ()

    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    notes: Mapped[str] = mapped_column(Text, default="")
    paid_total: Mapped[Decimal] = mapped_column(Money, default=ZERO, server_default="0")
    # what the document says, frozen when it is issued or posted (IssuedDocument.to_json)
    issued: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, nullable=True)

    @declared_attr
    def created_by(cls) -> Mapped[User | None]:
        return relationship()

    # the columns whose sum no longer is owed: payments, and on an invoice credit notes
    # (on a bill the debits of purchase returns)
    SETTLED_BY: tuple[str, ...] = ("paid_total",)

    @property
    def settled_total(self) -> Decimal:
        """What no longer is owed: payments (and credit notes, debits: `SETTLED_BY`)."""
        return sum((getattr(self, name) or ZERO for name in self.SETTLED_BY), ZERO)

    @classmethod
    def owed(cls):
        """What a document still asks for, as an SQL expression (its total less
        `SETTLED_BY`)."""
        owed = cls.total
        for name in cls.SETTLED_BY:
            owed = owed - getattr(cls, name)
        return owed

    @property
    def balance(self) -> Decimal:
        """What is still owed on it: the total less what settled it."""
        if self.status in ("draft", "cancelled"):
            return ZERO
        return self.total - self.settled_total

    def overdue(self, today: date) -> bool:
        return self.status in self.OPEN_STATUSES and self.due_date < today

    def __str__(self) -> str:
        return self.number


ORDER_GIVEN = text("order_id IS NOT NULL")


def billed_indexes(table: str, *, number: str, dated: str, party: str) -> tuple:
    """A billed document's number unique per company and the indexes of its lists: by
    date, open ones by due date (aging, overdue, the dashboard) and per party and state."""
    return (UniqueConstraint("company_id", number),
            # the order's documents (its page) and the order's delete check; only of the
            # documents that bill an order: with most of them direct (order_id NULL),
            # SQLite's statistics counted every document as one order's and its planner
            # read the whole table instead (an order's page at 100,000 invoices, #17)
            Index(f"ix_{table}_order_id", "order_id", sqlite_where=ORDER_GIVEN,
                  postgresql_where=ORDER_GIVEN),
            Index(f"ix_{table}_company_date_id", "company_id", dated, "id"),
            Index(f"ix_{table}_company_status_due", "company_id", "status", "due_date"),
            Index(f"ix_{table}_company_{party}_status", "company_id", f"{party}_id",
                  "status"))


def _party_link(party: str, party_model: type) -> dict:
    """`<party>_id` (RESTRICT) and `<party>`: the customer or supplier a document names."""
    parties = party_model.__tablename__

    def party_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey(f"{parties}.id", ondelete="RESTRICT"), index=True,
                             nullable=False)

    return {f"{party}_id": declared_attr(party_id),
            party: declared_attr(lambda cls: relationship(party_model))}


def _children(name: str, child_model: str, back: str) -> dict:
    """`name`: the rows that belong to a document (its lines, a payment's allocations), in
    id order, deleted with it; `back`: their relationship to it."""
    return {name: declared_attr(lambda cls: relationship(
        child_model, back_populates=back, order_by=f"{child_model}.id",
        cascade="all, delete-orphan", passive_deletes=True))}


def billed_links(*, party: str, party_model: type, order_model: type, line_model: str,
                 back: str) -> type:
    """A mixin of what a billed document links to, the same on both sides: its party
    (`<party>_id`, `<party>`: a customer, a supplier), the order whose goods it bills
    (`order_id`, `order`; None: a direct document) and its lines (`items`; `back`: the
    line's relationship to it)."""
    orders = order_model.__tablename__

    def order_id(cls) -> Mapped[int | None]:
        # indexed by billed_indexes (only the rows that name an order)
        return mapped_column(ForeignKey(f"{orders}.id", ondelete="RESTRICT"), nullable=True)

    return type(f"{party_model.__name__}Billed", (), {
        **_party_link(party, party_model), "order_id": declared_attr(order_id),
        "order": declared_attr(lambda cls: relationship(order_model)),
        **_children("items", line_model, back)})


def payment_links(*, party: str, party_model: type, allocation_model: str) -> type:
    """A mixin of what a payment links to: its party (`<party>_id`, `<party>`) and its
    allocations (`allocations`)."""
    return type(f"{party_model.__name__}Paid", (), {
        **_party_link(party, party_model), **_children("allocations", allocation_model,
                                                       "payment")})


def allocation_links(*, payments: str, payment_model: str, document: str,
                     document_model: str, documents: str) -> type:
    """A mixin of a payment's allocation: its payment (`payment_id`, `payment`: deleted
    with it), the document it settles (`<document>_id`, `<document>`: RESTRICT) and the
    amount (above zero)."""
    def payment_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey(f"{payments}.id", ondelete="CASCADE"), index=True,
                             nullable=False)

    def document_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey(f"{documents}.id", ondelete="RESTRICT"), index=True,
                             nullable=False)

    return type(f"{payment_model}Allocated", (), {
        "__table_args__": (CheckConstraint("amount > 0", name="amount_positive"),),
        "payment_id": declared_attr(payment_id), f"{document}_id": declared_attr(document_id),
        "amount": declared_attr(lambda cls: mapped_column(Money, nullable=False)),
        "payment": declared_attr(lambda cls: relationship(payment_model,
                                                          back_populates="allocations")),
        document: declared_attr(lambda cls: relationship(document_model))})

from erp.i18n import N_

INVOICE_STATUSES = {"draft": N_("Draft"), "issued": N_("Issued"), "partly_paid": N_("Partly paid"),
                    "paid": N_("Paid"), "cancelled": N_("Cancelled")}
INVOICE_BADGES = {"draft": "secondary", "issued": "primary", "partly_paid": "info",
                  "paid": "success", "cancelled": "dark"}
NOT_OVERPAID = "ROUND((credited_total + paid_total) * 100) <= ROUND(total * 100)"
# invoices the customer still owes (part of)
OPEN_INVOICE_STATUSES = ("issued", "partly_paid")

INVOICE_FLOW = Workflow(
    noun=N_("invoice"), states=INVOICE_STATUSES, badges=INVOICE_BADGES,
    endpoint="money.invoice", id_arg="invoice_id", edits={"draft": "staff"},
    actions=[
        Action("issue", ("draft",), "issued", "manager", N_("Issue invoice"), "issue_invoice",
               done=N_("{number} issued."), verb=N_("issued"),
               confirm=N_("Issue {number}? It gets its invoice number and can no longer be "
                       "changed.")),
        Action("cancel", ("draft",), "cancelled", "staff", N_("Cancel invoice"),
               "cancel_invoice", done=N_("{number} cancelled."), verb=N_("cancelled"),
               confirm=N_("Cancel {number}? What it invoices can be invoiced again."),
               style="btn btn-outline-danger"),
    ])


class Invoice(Document, CustomerParty, BilledDocument,
              billed_links(party="customer", party_model=Customer, order_model=SalesOrder,
                           line_model="InvoiceLine", back="invoice"),
              CompanyScoped, db.Model):
    __tablename__ = "invoices"
    __table_args__ = (
        *billed_indexes("invoices", number="invoice_number", dated="invoice_date",
                        party="customer"),
        # a customer's statement: its documents of a period
        Index("ix_invoices_company_customer_date", "company_id", "customer_id", "invoice_date"),
        in_check("status", INVOICE_STATUSES),
        CheckConstraint("credited_total >= 0 AND paid_total >= 0", name="settled_not_negative"),
        # in whole cents: SQLite adds NUMERIC in binary floating point (12.10 + 50.20 is
        # more than 62.30 there), which refused paying the rest of a credited invoice
        CheckConstraint(NOT_OVERPAID, name="not_overpaid"),
    )
    OPEN_STATUSES = OPEN_INVOICE_STATUSES
    SETTLED_BY = ("credited_total", "paid_total")

    # None until issued: a draft has no number, so issued numbers have no gaps
    invoice_number: Mapped[str | None] = mapped_column(String(30), nullable=True)
    # customer_id, order_id (the order it invoices the shipped goods of), their
    # relationships and the lines: billed_links
    invoice_date: Mapped[date] = mapped_column(Date)  # a draft's: when it was made
    credited_total: Mapped[Decimal] = mapped_column(Money, default=ZERO, server_default="0")
    issued_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)

    workflow = INVOICE_FLOW

    @property
    def number(self) -> str:
        return self.invoice_number or f"Draft invoice {self.id}"


class InvoiceLine(PricedLine, CompanyScoped, db.Model):
    __tablename__ = "invoice_lines"
    __table_args__ = (
        *line_checks(),
        CheckConstraint("credited_quantity >= 0 AND credited_quantity <= quantity",
                        name="credited_quantity_range"),
    )

    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"),
                                            index=True)
    # the order line whose shipped quantity it invoices (None on a direct invoice)
    order_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("sales_order_items.id", ondelete="RESTRICT"), index=True, nullable=True)
    # what issued credit notes took back of this line
    credited_quantity: Mapped[Decimal] = mapped_column(Quantity, default=ZERO,
                                                       server_default="0")

    invoice: Mapped[Invoice] = relationship(back_populates="items")
    order_item: Mapped[SalesOrderItem | None] = relationship()

    @property
    def creditable_quantity(self) -> Decimal:
        """What was invoiced and no issued credit note took back."""
        return self.quantity - (self.credited_quantity or ZERO)


# --- credit notes: what an issued invoice no longer asks for -------------------------------

CREDIT_NOTE_STATUSES = {"draft": N_("Draft"), "issued": N_("Issued"), "cancelled": N_("Cancelled")}
CREDIT_NOTE_BADGES = {"draft": "secondary", "issued": "success", "cancelled": "dark"}

CREDIT_NOTE_FLOW = Workflow(
    noun=N_("credit note"), states=CREDIT_NOTE_STATUSES, badges=CREDIT_NOTE_BADGES,
    endpoint="money.credit_note", id_arg="credit_note_id",
    actions=[
        Action("issue", ("draft",), "issued", "manager", N_("Issue credit note"), "issue_credit_note",
               done=N_("{number} issued: the invoice asks for that much less."), verb=N_("issued"),
               confirm=N_("Issue {number}? It gets its number and reduces what the customer "
                       "owes; this cannot be undone.")),
        Action("cancel", ("draft",), "cancelled", "staff", N_("Cancel credit note"),
               "cancel_credit_note", done=N_("{number} cancelled."), verb=N_("cancelled"),
               confirm=N_("Cancel {number}?"), style="btn btn-outline-danger"),
    ])


class CreditNote(Document, PricedDocument, CustomerParty, CompanyScoped, db.Model):
    """A full or partial credit of an issued invoice's lines, at the invoice's prices. A
    draft credits nothing; issuing it (a manager's) takes the next "CN" number and lowers
    the invoice's open balance (erp.services.credit_notes)."""

    __tablename__ = "credit_notes"
    __table_args__ = (
        UniqueConstraint("company_id", "credit_number"),
        Index("ix_credit_notes_company_date_id", "company_id", "credit_date", "id"),
        Index("ix_credit_notes_company_status", "company_id", "status"),
        # a customer's credit notes, and of a period (its statement)
        Index("ix_credit_notes_company_customer_date", "company_id", "customer_id",
              "credit_date"),
        in_check("status", CREDIT_NOTE_STATUSES),
    )

    credit_number: Mapped[str | None] = mapped_column(String(30), nullable=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="RESTRICT"),
                                            index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"),
                                             index=True)
    credit_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    reason: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    issued: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, nullable=True)

    invoice: Mapped[Invoice] = relationship()
    customer: Mapped[Customer] = relationship()
    items: Mapped[list[CreditNoteLine]] = relationship(
        back_populates="credit_note", order_by="CreditNoteLine.id",
        cascade="all, delete-orphan", passive_deletes=True)

    workflow = CREDIT_NOTE_FLOW

    @property
    def number(self) -> str:
        return self.credit_number or f"Draft credit note {self.id}"

    def __str__(self) -> str:
        return self.number


class CreditNoteLine(PricedLine, CompanyScoped, db.Model):
    __tablename__ = "credit_note_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    credit_note_id: Mapped[int] = mapped_column(
        ForeignKey("credit_notes.id", ondelete="CASCADE"), index=True)
    invoice_line_id: Mapped[int] = mapped_column(
        ForeignKey("invoice_lines.id", ondelete="RESTRICT"), index=True)

    credit_note: Mapped[CreditNote] = relationship(back_populates="items")
    invoice_line: Mapped[InvoiceLine] = relationship()


# --- customer payments --------------------------------------------------------------------

PAYMENT_STATUSES = {"recorded": N_("Recorded"), "reversed": N_("Reversed")}
PAYMENT_BADGES = {"recorded": "success", "reversed": "dark"}
PAYMENT_METHODS = {"bank_transfer": N_("Bank transfer"), "cash": N_("Cash"), "card": N_("Card"),
                   "cheque": N_("Cheque"), "other": N_("Other")}

PAYMENT_FLOW = Workflow(
    noun=N_("payment"), states=PAYMENT_STATUSES, badges=PAYMENT_BADGES,
    endpoint="money.payment", id_arg="payment_id",
    actions=[
        Action("reverse", ("recorded",), "reversed", "manager", N_("Reverse payment"),
               "reverse_payment", done=N_("{number} reversed: its invoices are open again."),
               verb=N_("reversed"), style="btn btn-outline-danger",
               confirm=N_("Reverse {number}? What it paid on its invoices is owed again; the "
                       "payment stays in the records as reversed.")),
    ])


class PaymentRecord:
    """Columns and figures shared by money received (a customer payment) and paid (a
    supplier payment): allocated to documents of one party, the rest (`unallocated`) is a
    credit allocated later; never deleted, a reversal takes its allocations back."""

    number: Mapped[str] = mapped_column(String(30))
    payment_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    method: Mapped[str] = mapped_column(String(20), default="bank_transfer")
    reference: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(20), default="recorded")
    allocated_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    reversed_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, nullable=True)

    @property
    def method_label(self) -> str:
        from erp.i18n import gettext

        return gettext(PAYMENT_METHODS[self.method]) if self.method in PAYMENT_METHODS else self.method

    @property
    def unallocated(self) -> Decimal:
        """The party's credit from this payment (none once reversed)."""
        return ZERO if self.status == "reversed" else self.amount - self.allocated_total

    def __str__(self) -> str:
        return self.number


def payment_checks() -> tuple:
    return (in_check("status", PAYMENT_STATUSES), in_check("method", PAYMENT_METHODS),
            CheckConstraint("amount > 0", name="amount_positive"),
            CheckConstraint("allocated_total >= 0 AND allocated_total <= amount",
                            name="allocated_range"))


class Payment(Document, PaymentRecord,
              payment_links(party="customer", party_model=Customer,
                            allocation_model="PaymentAllocation"),
              CompanyScoped, db.Model):
    """Money received from a customer, allocated to one or several of its open invoices
    (`allocations`); the rest (`unallocated`) is the customer's credit, allocated later.
    A payment is never deleted: reversing it (recorded) takes its allocations back."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("company_id", "number"),
        Index("ix_payments_company_date_id", "company_id", "payment_date", "id"),
        Index("ix_payments_company_customer_status", "company_id", "customer_id", "status"),
        Index("ix_payments_company_customer_date", "company_id", "customer_id", "payment_date"),
        *payment_checks(),
    )

    # customer_id, customer and the allocations: payment_links
    workflow = PAYMENT_FLOW


class PaymentAllocation(allocation_links(payments="payments", payment_model="Payment",
                                         document="invoice", document_model="Invoice",
                                         documents="invoices"),
                        CompanyScoped, db.Model):
    """Part of a payment set against one invoice."""

    __tablename__ = "payment_allocations"


# --- running totals of net sales: what the sales analysis reads -----------------------------

class SalesCustomerMonth(db.Model):
    """Net sales (issued invoices less issued credit notes, before tax) per customer and
    calendar month of the document's date; kept by erp.services.invoice_totals in the
    transaction that issues the document. A row per customer and month with sales, however
    many invoices there are."""

    __tablename__ = "sales_customer_months"

    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"),
                                            primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the first day of the month
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             primary_key=True, index=True)
    net: Mapped[Decimal] = mapped_column(Money, default=ZERO)


class SalesProductMonth(db.Model):
    """Net quantity and net sales per product and calendar month (as SalesCustomerMonth)."""

    __tablename__ = "sales_product_months"

    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"),
                                            primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"),
                                            primary_key=True, index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity, default=ZERO)
    net: Mapped[Decimal] = mapped_column(Money, default=ZERO)
