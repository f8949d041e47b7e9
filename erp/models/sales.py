"""Sales: customers, sales orders and their lines.

An order's totals are stored and recomputed from its lines on every line change
(`erp.services.sales`); each line's amounts are rounded half-up to cents.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (JSON, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer,
                        String, Text)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from erp.documents import Action, Document, Workflow
from erp.extensions import db
from erp.models.base import (ZERO, AwareDateTime, CompanyScoped, Money, NumberedDocument,
                             PostedDocument, Quantity, Rate, document_table_args)
from erp.models.catalog import Product
from erp.models.core import Company
from erp.models.fields import Text as TextField
from erp.models.inventory import Warehouse
from erp.models.money import WithPaymentTerms
from erp.i18n import N_

ORDER_STATUSES = {
    "draft": N_("Draft"),
    "confirmed": N_("Confirmed"),
    "partly_shipped": N_("Partly shipped"),
    "shipped": N_("Shipped"),
    "closed": N_("Closed short"),
    "invoiced": N_("Invoiced"),
    "cancelled": N_("Cancelled"),
}
OPEN_STATUSES = ("draft", "confirmed", "partly_shipped")
# orders that hold a reservation for what is left to ship, and may be delivered
DELIVERABLE_STATUSES = ("confirmed", "partly_shipped")
# orders that count as sales; an order closed short keeps counting (what was shipped sold)
SOLD_STATUSES = ("confirmed", "partly_shipped", "shipped", "closed", "invoiced")
# what a customer owes or will owe, against its credit limit: there is no paid state yet,
# so an invoiced order stays open receivable
CREDIT_STATUSES = SOLD_STATUSES
STATUS_BADGES = {"draft": "secondary", "confirmed": "primary", "partly_shipped": "info",
                 "shipped": "info", "closed": "warning", "invoiced": "success",
                 "cancelled": "dark"}
# orders whose shipped goods may be invoiced
INVOICEABLE_STATUSES = ("partly_shipped", "shipped", "closed")
# what the order's printout is, by status: a draft is an offer, a cancelled order binds nobody
PRINT_TITLES = {"draft": N_("Quotation"), "cancelled": N_("Cancelled order")}
PRINT_TITLE = N_("Order confirmation")


ADDRESS_MAX = 2000
LOTS_TEXT_MAX = 2000  # the lots picked on a delivery line  # a customer's addresses

CUSTOMER_TEXT = {
    "name": TextField(200, required=True),
    "email": TextField(254),
    "phone": TextField(50),
    "tax_number": TextField(50),
    "billing_address": TextField(ADDRESS_MAX, long=True),
    "shipping_address": TextField(ADDRESS_MAX, long=True),
}


class Customer(WithPaymentTerms, CompanyScoped, db.Model):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_company_name", "company_id", "name"),
        Index("ix_customers_company_active", "company_id", "active"),
        CheckConstraint("credit_limit >= 0", name="credit_limit_not_negative"),
    )

    name: Mapped[str] = mapped_column(CUSTOMER_TEXT["name"].column())
    email: Mapped[str] = mapped_column(CUSTOMER_TEXT["email"].column(), default="")
    phone: Mapped[str] = mapped_column(CUSTOMER_TEXT["phone"].column(), default="")
    billing_address: Mapped[str] = mapped_column(CUSTOMER_TEXT["billing_address"].column(),
                                                 default="")
    shipping_address: Mapped[str] = mapped_column(CUSTOMER_TEXT["shipping_address"].column(),
                                                  default="")
    tax_number: Mapped[str] = mapped_column(CUSTOMER_TEXT["tax_number"].column(), default="")
    credit_limit: Mapped[Decimal] = mapped_column(Money, default=ZERO)  # 0: no limit
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __str__(self) -> str:
        return self.name


SALES_ORDER_FLOW = Workflow(
    noun=N_("order"), states=ORDER_STATUSES, badges=STATUS_BADGES, endpoint="sales.order",
    actions=[
        Action("confirm", ("draft",), "confirmed", "manager", N_("Confirm"), "confirm_order",
               done=N_("{number} confirmed: stock reserved."), verb=N_("confirmed"),
               confirm=N_("Confirm {number}? Its stock is reserved and its lines can no longer "
                       "be changed.")),
        # offered on the order's page when the order takes its customer over the credit limit
        Action("confirm_over_limit", ("draft",), "confirmed", "manager",
               N_("Confirm over the credit limit"), "confirm_order_over_credit_limit",
               done=N_("{number} confirmed over the credit limit: stock reserved."),
               verb=N_("confirmed"), style="btn btn-warning", button=False,
               confirm=N_("Confirm {number} although it takes the customer over the credit "
                       "limit? The override is recorded in the history.")),
        # a delivery note for part of the lines (its own page); posting it ships the order
        # partly or whole (erp.services.deliveries)
        Action("deliver", DELIVERABLE_STATUSES, None, "staff", N_("New delivery"),
               "create_delivery", verb=N_("delivered"), style="btn btn-success", page=True),
        # one click: a delivery of everything left, posted at once
        Action("ship", DELIVERABLE_STATUSES, "shipped", "manager", N_("Ship all"), "ship_order",
               done=N_("{number} shipped: stock issued."), verb=N_("shipped"),
               confirm=N_("Ship {number}? A delivery note of everything left to ship is posted "
                       "and its stock leaves the warehouse; this cannot be undone."), lots=True),
        # a partial delivery is all the customer gets: the rest's reservation is released
        Action("close", ("partly_shipped",), "closed", "manager", N_("Close short"),
               "close_order", done=N_("{number} closed short: the rest is released."),
               verb=N_("closed short"), replay=False, style="btn btn-outline-warning",
               confirm=N_("Close {number} short? What is left to ship is no longer reserved "
                       "and will not be delivered. This cannot be undone.")),
        # a draft invoice of what was shipped and is not invoiced yet (its own page asks
        # first); the order is invoiced once an issued invoice covers all it shipped
        Action("invoice", INVOICEABLE_STATUSES, None, "staff", N_("Create invoice"),
               "create_invoice_from_order", verb=N_("invoiced"), style="btn btn-success",
               page=True, guard=lambda order: None if order.to_invoice else
               f"Everything {order.number} shipped is invoiced already."),
        Action("cancel", ("draft", "confirmed"), "cancelled", "manager", N_("Cancel order"),
               "cancel_order", done=N_("{number} cancelled."), verb=N_("cancelled"),
               confirm=N_("Cancel {number}? Reserved stock is released."),
               style="btn btn-outline-danger"),
    ])


class PricedDocument:
    """A document with priced lines and their totals (an order, an invoice, a credit note,
    a bill): the sums of its lines' rounded amounts."""

    subtotal: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    discount_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    tax_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    total: Mapped[Decimal] = mapped_column(Money, default=ZERO)

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"

    @property
    def net(self) -> Decimal:
        """Its amount after discounts, before tax."""
        return self.subtotal - self.discount_total

    @property
    def tax_by_rate(self) -> list[RateTax]:
        """Its tax per rate, from its loaded lines."""
        return tax_by_rate((item.tax_rate, item.net, item.tax_amount) for item in self.items)


class CustomerParty:
    """A document of a customer (an order, an invoice, a credit note): the party its
    frozen snapshot names (IssuedDocument.customer)."""

    @property
    def party(self) -> Party:
        customer = self.customer
        return Party(customer.name, customer.billing_address, customer.shipping_address,
                     customer.tax_number)


class SalesOrder(Document, PricedDocument, CustomerParty, NumberedDocument, CompanyScoped,
                 db.Model):
    __tablename__ = "sales_orders"
    # the list's default order (newest first) walked by the index alone, also for deep pages
    __table_args__ = document_table_args(
        __tablename__, "order_date", ORDER_STATUSES,
        Index("ix_sales_orders_company_customer_status", "company_id", "customer_id", "status"),
        Index("ix_sales_orders_company_date_status", "company_id", "order_date", "status"))

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"),
                                             index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"),
                                              index=True)
    order_date: Mapped[date] = mapped_column(Date)
    requested_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    invoice_number: Mapped[str | None] = mapped_column(String(30), nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    shipped_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    invoiced_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    # What the invoice says, frozen when the order is invoiced (IssuedDocument.to_json):
    # renaming the customer or a product later does not change an issued invoice.
    issued: Mapped[dict | None] = mapped_column(JSON, nullable=True)

    customer: Mapped[Customer] = relationship()
    warehouse: Mapped[Warehouse] = relationship()
    items: Mapped[list[SalesOrderItem]] = relationship(
        back_populates="order", order_by="SalesOrderItem.id", cascade="all, delete-orphan",
        passive_deletes=True)
    deliveries: Mapped[list[DeliveryNote]] = relationship(
        back_populates="order", order_by="DeliveryNote.id", passive_deletes=True)

    workflow = SALES_ORDER_FLOW


    @property
    def to_invoice(self) -> bool:
        """Whether a line shipped more than is invoiced (its lines loaded)."""
        return any(item.uninvoiced_quantity > 0 for item in self.items)

    @property
    def print_title(self) -> str:
        """The title of the order's printout: a quotation, a confirmation or a cancelled order."""
        from erp.i18n import gettext

        return gettext(PRINT_TITLES.get(self.status, PRINT_TITLE))


# --- what a printed document says ------------------------------------------------------

@dataclass(frozen=True)
class Party:
    name: str
    billing_address: str = ""
    shipping_address: str = ""
    tax_number: str = ""

    @property
    def ship_to(self) -> str:
        return self.shipping_address or self.billing_address


@dataclass(frozen=True)
class Seller:
    """The company as its documents name it (the header of every print page and PDF, from
    the company settings); a snapshot frozen before these fields existed reads them blank."""

    name: str  # the legal name, else the company's name
    address: str = ""
    currency: str = ""
    tax_number: str = ""
    bank_details: str = ""
    footer: str = ""  # the invoice footer text

    @classmethod
    def of(cls, company: Company) -> Seller:
        return cls(name=company.seller_name, address=company.address,
                   currency=company.currency, tax_number=company.tax_number,
                   bank_details=company.bank_details, footer=company.invoice_footer)


@dataclass(frozen=True)
class RateTax:
    """One row of a document's "tax by rate" table: the net amount taxed at `rate` and the
    tax on it (the sum of its lines' rounded taxes, so the rows add up to the tax total)."""

    rate: Decimal
    base: Decimal
    tax: Decimal


def tax_by_rate(lines: Iterable[tuple[Decimal, Decimal, Decimal]]) -> list[RateTax]:
    """(rate, net, tax) of each line -> one row per rate, highest rate first."""
    rows: dict[Decimal, tuple[Decimal, Decimal]] = {}
    for rate, net, tax in lines:
        base, total = rows.get(rate, (ZERO, ZERO))
        rows[rate] = (base + net, total + tax)
    return [RateTax(rate, base, tax) for rate, (base, tax) in
            sorted(rows.items(), key=lambda row: row[0], reverse=True)]


@dataclass(frozen=True)
class IssuedLine:
    sku: str
    name: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal


AMOUNTS = ("subtotal", "discount_total", "tax_total", "total")


@dataclass(frozen=True)
class IssuedDocument:
    """The parties, lines and amounts a sales document shows. `of(order, company)` reads
    the snapshot frozen on the order when it was invoiced (`SalesOrder.issued`), or, before
    that, the order's live records; `to_json` is what the snapshot stores (numbers as
    exact strings)."""

    seller: Seller
    customer: Party
    lines: tuple[IssuedLine, ...]
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal
    frozen: bool = False  # read from the snapshot

    @classmethod
    def of(cls, order: SalesOrder, company: Company) -> IssuedDocument:
        return cls.from_json(order.issued) if order.issued else cls.from_order(order, company)

    @classmethod
    def from_order(cls, order: SalesOrder, company: Company) -> IssuedDocument:
        return cls(
            seller=Seller.of(company), customer=order.party,
            lines=tuple(IssuedLine(item.product.sku, item.product.name, item.product.unit,
                                   item.quantity, item.unit_price, item.discount_percent,
                                   item.tax_rate, item.net, item.tax_amount, item.total)
                        for item in order.items),
            **{name: getattr(order, name) for name in AMOUNTS})

    @property
    def tax_by_rate(self) -> list[RateTax]:
        return tax_by_rate((line.tax_rate, line.net, line.tax) for line in self.lines)

    def to_json(self) -> dict:
        data = asdict(self)
        del data["frozen"]
        for line in data["lines"]:
            line.update({k: str(v) for k, v in line.items() if isinstance(v, Decimal)})
        data.update({name: str(data[name]) for name in AMOUNTS})
        return data

    @classmethod
    def from_json(cls, data: dict) -> IssuedDocument:
        numbers = {f.name for f in fields(IssuedLine)} - {"sku", "name", "unit"}
        return cls(
            seller=Seller(**data["seller"]), customer=Party(**data["customer"]),
            lines=tuple(IssuedLine(**{k: Decimal(v) if k in numbers else v
                                      for k, v in line.items()}) for line in data["lines"]),
            frozen=True, **{name: Decimal(data[name]) for name in AMOUNTS})


def line_checks() -> tuple:
    """The check constraints of a priced line (an order's, an invoice's, a bill's)."""
    return (CheckConstraint("quantity > 0", name="quantity_positive"),
            CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
            CheckConstraint("discount_percent >= 0 AND discount_percent <= 100",
                            name="discount_percent_range"),
            CheckConstraint("tax_rate >= 0", name="tax_rate_not_negative"))


class PricedLine:
    """A priced line (an order's, an invoice's, a credit note's, a bill's): its product,
    quantity, price, discount, tax rate and their rounded amounts; what it shows and its
    editor's inputs read."""

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"),
                                            index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_price: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    discount_percent: Mapped[Decimal] = mapped_column(Rate, default=ZERO)
    tax_rate: Mapped[Decimal] = mapped_column(Rate, default=ZERO)
    subtotal: Mapped[Decimal] = mapped_column(Money, default=ZERO)  # quantity x unit price
    discount_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    tax_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    total: Mapped[Decimal] = mapped_column(Money, default=ZERO)  # subtotal - discount + tax

    @declared_attr
    def product(cls) -> Mapped[Product]:
        return relationship()

    @property
    def net(self) -> Decimal:
        return self.subtotal - self.discount_amount

    @property
    def inputs(self) -> dict[str, str]:
        """Plain values for the line editor's inputs."""
        return {"quantity": format(self.quantity.normalize(), "f"),
                "unit_price": f"{self.unit_price:.2f}",
                "discount_percent": format(self.discount_percent.normalize(), "f"),
                "tax_rate": format(self.tax_rate.normalize(), "f")}


class SalesOrderItem(PricedLine, CompanyScoped, db.Model):
    __tablename__ = "sales_order_items"
    __table_args__ = (
        Index("ix_sales_order_items_order_product", "order_id", "product_id"),
        *line_checks(),
        CheckConstraint("shipped_quantity >= 0 AND shipped_quantity <= quantity",
                        name="shipped_quantity_range"),
        CheckConstraint("invoiced_quantity >= 0", name="invoiced_quantity_not_negative"),
    )

    # indexed by the composite (order_id, product_id) index above
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id", ondelete="CASCADE"))
    # what posted delivery notes took (erp.services.deliveries); never more than ordered
    shipped_quantity: Mapped[Decimal] = mapped_column(Quantity, default=ZERO,
                                                      server_default="0")
    # what invoices that are not cancelled (drafts included) take of the shipped quantity
    # (erp.services.invoices), so that nothing shipped is invoiced twice
    invoiced_quantity: Mapped[Decimal] = mapped_column(Quantity, default=ZERO,
                                                       server_default="0")

    order: Mapped[SalesOrder] = relationship(back_populates="items")

    @property
    def left_quantity(self) -> Decimal:
        """What was ordered and not delivered (yet: an order closed short never will)."""
        return max(self.quantity - (self.shipped_quantity or ZERO), ZERO)

    @property
    def uninvoiced_quantity(self) -> Decimal:
        """What was shipped and no invoice takes yet."""
        return max((self.shipped_quantity or ZERO) - (self.invoiced_quantity or ZERO), ZERO)


# --- delivery notes: what left the warehouse for an order ---------------------------------

DELIVERY_STATUSES = {"draft": N_("Draft"), "posted": N_("Posted"), "cancelled": N_("Cancelled")}
DELIVERY_BADGES = {"draft": "secondary", "posted": "success", "cancelled": "dark"}

DELIVERY_FLOW = Workflow(
    noun=N_("delivery note"), states=DELIVERY_STATUSES, badges=DELIVERY_BADGES,
    endpoint="sales.delivery", id_arg="delivery_id",
    actions=[
        Action("post", ("draft",), "posted", "staff", N_("Post"), "post_delivery",
               done=N_("{number} posted: stock issued."), verb=N_("posted"),
               confirm=N_("Post {number}? Its stock leaves the warehouse; this cannot be undone.")),
        Action("cancel", ("draft",), "cancelled", "staff", N_("Cancel delivery"),
               "cancel_delivery", done=N_("{number} cancelled."), verb=N_("cancelled"),
               confirm=N_("Cancel {number}? Nothing was shipped with it."),
               style="btn btn-outline-danger"),
    ])


class DeliveryNote(Document, PostedDocument, CompanyScoped, db.Model):
    """A delivery of all or part of a confirmed order's lines from the order's warehouse.
    A draft moves nothing; posting it issues its stock (erp.services.deliveries). The
    customer is the order's, kept here so that the list filters without a join."""

    __tablename__ = "delivery_notes"
    __table_args__ = document_table_args(
        __tablename__, "delivery_date", DELIVERY_STATUSES,
        Index("ix_delivery_notes_company_customer", "company_id", "customer_id"))

    order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id", ondelete="CASCADE"),
                                          index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"),
                                             index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"),
                                              index=True)
    delivery_date: Mapped[date] = mapped_column(Date)

    order: Mapped[SalesOrder] = relationship(back_populates="deliveries")
    customer: Mapped[Customer] = relationship()
    warehouse: Mapped[Warehouse] = relationship()
    lines: Mapped[list[DeliveryNoteLine]] = relationship(
        back_populates="delivery", order_by="DeliveryNoteLine.id", cascade="all, delete-orphan",
        passive_deletes=True)

    workflow = DELIVERY_FLOW


class DeliveryNoteLine(CompanyScoped, db.Model):
    __tablename__ = "delivery_note_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("returned_quantity >= 0 AND returned_quantity <= quantity",
                        name="returned_quantity_range"),
    )

    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("delivery_notes.id", ondelete="CASCADE"), index=True)
    order_item_id: Mapped[int] = mapped_column(
        ForeignKey("sales_order_items.id", ondelete="RESTRICT"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    # what posted sales returns (erp.services.returns) took back of this line
    returned_quantity: Mapped[Decimal] = mapped_column(Quantity, default=ZERO,
                                                       server_default="0")
    # the lots or serial numbers picked for a tracked product, as typed ("L1: 5, L2: 3" or
    # "SN1, SN2"); posting moves them (erp.services.lots.parse_picks)
    lots: Mapped[str] = mapped_column(String(LOTS_TEXT_MAX), default="", server_default="")

    @property
    def returnable_quantity(self) -> Decimal:
        return self.quantity - (self.returned_quantity or ZERO)

    # what a return form and page show of the line it returns (erp/templates/returns/)
    @property
    def product(self) -> Product:
        return self.order_item.product

    @property
    def moved_quantity(self) -> Decimal:
        return self.quantity

    delivery: Mapped[DeliveryNote] = relationship(back_populates="lines")
    order_item: Mapped[SalesOrderItem] = relationship()


# --- running totals of sales, kept by erp.services.sales in the transaction of the change ---
# The dashboard reads these few rows instead of aggregating every order and line, so its
# cost does not grow with the number of orders. An order counts as sold from its
# confirmation on (confirmed, shipped, invoiced); cancelling a confirmed order takes it out.
# Sales are net of tax (after discounts, before tax): the tax is kept apart.
# `erp.services.sales_totals.mismatches` checks them against the orders.

class SalesMonthTotal(db.Model):
    """Sold orders, their net total and their tax, per calendar month of the order date."""

    __tablename__ = "sales_month_totals"

    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"),
                                            primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the first day of the month
    orders: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[Decimal] = mapped_column(Money, default=ZERO)  # net of tax
    tax: Mapped[Decimal] = mapped_column(Money, default=ZERO, server_default="0")


class SalesProductTotal(db.Model):
    """Quantity sold and revenue (the lines' net amounts, before tax) per product, over all
    sold orders."""

    __tablename__ = "sales_product_totals"
    __table_args__ = (
        Index("ix_sales_product_totals_company_revenue", "company_id", "revenue", "product_id"),
    )

    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"),
                                            primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"),
                                            primary_key=True, index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity, default=ZERO)
    revenue: Mapped[Decimal] = mapped_column(Money, default=ZERO)
