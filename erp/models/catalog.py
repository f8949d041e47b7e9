"""The catalog: categories, products and suppliers."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (Boolean, CheckConstraint, ForeignKey, Index, String,
                        UniqueConstraint, literal_column, text, true)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp.extensions import db
from erp.models.base import ZERO, CompanyScoped, Money, Quantity, choice_label, in_check
from erp.models.fields import LONG_TEXT, Text as TextField
from erp.models.money import TaxCode, WithPaymentTerms
from erp.i18n import N_

PRODUCT_KINDS = {
    "raw_material": N_("Raw material"),
    "component": N_("Component"),
    "finished_good": N_("Finished good"),
    "service": N_("Service"),
}
# how a product's stock is identified: every movement of a tracked product names its lot
# (a batch, with an optional expiry) or its serial number (one unit each)
TRACKING = {
    "none": N_("Not tracked"),
    "lot": N_("By lot (batch)"),
    "serial": N_("By serial number"),
}
UNITS = ["pcs", "kg", "g", "t", "l", "ml", "m", "m2", "m3", "h", "box", "set"]


CATEGORY_TEXT = {
    "name": TextField(120, required=N_("Enter a name.")),
    "description": TextField(LONG_TEXT, long=True),
}

PRODUCT_TEXT = {
    "sku": TextField(64, required=N_("Enter a SKU.")),
    "name": TextField(200, required=N_("Enter a name.")),
    "barcode": TextField(64),
    "description": TextField(LONG_TEXT, long=True),
}


class Category(CompanyScoped, db.Model):
    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    name: Mapped[str] = mapped_column(CATEGORY_TEXT["name"].column())
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), index=True, nullable=True)
    description: Mapped[str] = mapped_column(CATEGORY_TEXT["description"].column(), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[Category | None] = relationship(remote_side="Category.id")

    def __str__(self) -> str:
        return self.name


SUPPLIER_TEXT = {
    "name": TextField(200, required=N_("Enter a name.")),
    "contact_person": TextField(200),
    "email": TextField(254),
    "phone": TextField(50),
    "address": TextField(LONG_TEXT, long=True),
    "tax_number": TextField(50),
}


class Supplier(WithPaymentTerms, CompanyScoped, db.Model):
    __tablename__ = "suppliers"
    __table_args__ = (Index("ix_suppliers_company_name", "company_id", "name"),)

    name: Mapped[str] = mapped_column(SUPPLIER_TEXT["name"].column())
    contact_person: Mapped[str] = mapped_column(SUPPLIER_TEXT["contact_person"].column(),
                                                default="")
    email: Mapped[str] = mapped_column(SUPPLIER_TEXT["email"].column(), default="")
    phone: Mapped[str] = mapped_column(SUPPLIER_TEXT["phone"].column(), default="")
    address: Mapped[str] = mapped_column(SUPPLIER_TEXT["address"].column(), default="")
    tax_number: Mapped[str] = mapped_column(SUPPLIER_TEXT["tax_number"].column(), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __str__(self) -> str:
        return self.name


class Product(CompanyScoped, db.Model):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("company_id", "sku"),
        Index("ix_products_company_category", "company_id", "category_id"),
        Index("ix_products_company_name", "company_id", "name"),
        Index("ix_products_company_barcode", "company_id", "barcode"),
        # a scanned barcode names one product: unique per company when given
        Index("uq_products_company_barcode", "company_id", "barcode", unique=True,
              sqlite_where=text("barcode <> ''"), postgresql_where=text("barcode <> ''")),
        # the list's default filter (active) in its orders: no sort of every product, and
        # the dashboard's count of active products from the index alone
        Index("ix_products_company_active_sku", "company_id", "active", "sku"),
        Index("ix_products_company_active_name", "company_id", "active", "name"),
        CheckConstraint("sale_price >= 0", name="sale_price_not_negative"),
        CheckConstraint("cost_price >= 0", name="cost_price_not_negative"),
        CheckConstraint("min_stock >= 0", name="min_stock_not_negative"),
        in_check("kind", PRODUCT_KINDS),
        in_check("tracking", TRACKING),
    )

    sku: Mapped[str] = mapped_column(PRODUCT_TEXT["sku"].column())
    name: Mapped[str] = mapped_column(PRODUCT_TEXT["name"].column())
    kind: Mapped[str] = mapped_column(String(20), default="finished_good")
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), index=True, nullable=True)
    unit: Mapped[str] = mapped_column(String(20), default="pcs")
    sale_price: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    cost_price: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    min_stock: Mapped[Decimal] = mapped_column(Quantity, default=ZERO)
    barcode: Mapped[str] = mapped_column(PRODUCT_TEXT["barcode"].column(), default="")
    description: Mapped[str] = mapped_column(PRODUCT_TEXT["description"].column(), default="")
    preferred_supplier_id: Mapped[int | None] = mapped_column(
        ForeignKey("suppliers.id", ondelete="RESTRICT"), index=True, nullable=True)
    # the rate a sales line takes when the product is picked (none: the company's default)
    tax_code_id: Mapped[int | None] = mapped_column(
        ForeignKey("tax_codes.id", ondelete="RESTRICT"), index=True, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    tracking: Mapped[str] = mapped_column(String(10), default="none", server_default="none")
    # on hand minus reserved, summed over the warehouses: kept by erp.services.stock in the
    # transaction of every stock change (and checked by stock.ledger_mismatches), so the
    # dashboard counts low-stock products from an index instead of summing every level
    available: Mapped[Decimal] = mapped_column(Quantity, default=ZERO, server_default="0")

    category: Mapped[Category | None] = relationship()
    preferred_supplier: Mapped[Supplier | None] = relationship()
    tax_code: Mapped[TaxCode | None] = relationship()

    @property
    def stocked(self) -> bool:
        """Services carry no stock."""
        return self.kind != "service"

    kind_label = choice_label("kind", PRODUCT_KINDS)
    tracking_label = choice_label("tracking", TRACKING)

    @property
    def tracked(self) -> bool:
        """Every movement names a lot or serial number (`erp.services.lots`)."""
        return self.tracking != "none"

    @property
    def serial(self) -> bool:
        return self.tracking == "serial"

    @property
    def is_low(self) -> bool:
        """`low_stock()` below, for a loaded product (the badge beside its stock)."""
        return bool(self.active and self.stocked and self.min_stock > 0
                    and self.available < self.min_stock)

    @property
    def picker_label(self) -> str:
        return self.sku

    def __str__(self) -> str:
        return f"{self.sku} · {self.name}"


def low_stock():
    """An active stocked product with a minimum whose available stock is below it.

    The one low-stock rule (issue #16): the minimum is per product and applies to its
    available stock (on hand - reserved) summed over all warehouses, never to one
    warehouse's level. The stock list, the product list, the reorder list and the dashboard
    all filter with this expression; pages mark a row with `Product.is_low`.

    The same expression is the predicate of the partial index below, so a count with it
    reads only the low products' index entries.
    """
    # literals, not bound parameters: SQLite uses a partial index only when the query's
    # terms match the index's WHERE as written
    return ((Product.active == true()) & (Product.kind != literal_column("'service'"))
            & (Product.min_stock > literal_column("0"))
            & (Product.available < Product.min_stock))


# keyed (company, active) like the list's indexes, so SQLite's planner prefers this smaller
# one for the count
Index("ix_products_low_stock", Product.company_id, Product.active,
      sqlite_where=low_stock(), postgresql_where=low_stock())
