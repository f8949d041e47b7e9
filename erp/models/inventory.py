"""Warehouses, stock levels and the stock ledger.

A StockLevel's on_hand always equals the sum of its StockMovements: both change only
through `erp.services.stock`, in one transaction, with an atomic UPDATE.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, Numeric,
                        String, UniqueConstraint, false, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp.extensions import db
from erp.i18n import N_
from erp.models.base import (ZERO, AwareDateTime, CompanyScoped, Quantity, choice_label,
                             utcnow)
from erp.models.catalog import Product
from erp.models.fields import LONG_TEXT, Text as TextField
from erp.models.core import User

# The value of stock: quantity (3 decimals) x cost, in the money's cents, wide enough for the
# largest quantity at the largest cost. A unit cost keeps 4 decimals (an average of cents).
StockValue = Numeric(20, 2, asdecimal=True)
UnitCost = Numeric(16, 4, asdecimal=True)

MOVEMENT_KINDS = {
    "receipt": N_("Receipt"),
    "issue": N_("Issue"),
    "transfer_in": N_("Transfer in"),
    "transfer_out": N_("Transfer out"),
    "adjustment": N_("Adjustment"),
    "purchase_receipt": N_("Purchase receipt"),
    "sales_shipment": N_("Sales shipment"),
    "production_consume": N_("Production consumption"),
    "production_output": N_("Production output"),
    "sales_return": N_("Sales return"),
    "purchase_return": N_("Purchase return"),
    # no quantity: a manager's change of the cost changes the value of the stock on hand
    "revaluation": N_("Revaluation"),
}


WAREHOUSE_TEXT = {
    "code": TextField(20, required=N_("Enter a code.")),
    "name": TextField(120, required=N_("Enter a name.")),
    "address": TextField(LONG_TEXT, long=True),
}


class Warehouse(CompanyScoped, db.Model):
    __tablename__ = "warehouses"
    __table_args__ = (
        UniqueConstraint("company_id", "code"),
        # at most one default per company (the company settings choose it)
        Index("uq_warehouses_one_default", "company_id", "is_default", unique=True,
              sqlite_where=text("is_default"), postgresql_where=text("is_default")),
    )

    code: Mapped[str] = mapped_column(WAREHOUSE_TEXT["code"].column())
    name: Mapped[str] = mapped_column(WAREHOUSE_TEXT["name"].column())
    address: Mapped[str] = mapped_column(WAREHOUSE_TEXT["address"].column(), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # new documents start here unless another warehouse is chosen (`default_warehouse_of`)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    @property
    def archived_message(self) -> str:
        """What a document or stock change naming this warehouse is told once it is archived."""
        return f"{self.code} is archived: choose an active warehouse."


class StockLevel(CompanyScoped, db.Model):
    __tablename__ = "stock_levels"
    __table_args__ = (
        UniqueConstraint("company_id", "product_id", "warehouse_id"),
        Index("ix_stock_levels_company_warehouse", "company_id", "warehouse_id"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    )

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"),
                                            index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"),
                                              index=True)
    on_hand: Mapped[Decimal] = mapped_column(Quantity, default=ZERO)
    reserved: Mapped[Decimal] = mapped_column(Quantity, default=ZERO)
    # what the stock on hand is worth: the sum of its movements' values, 0 when empty; the
    # moving-average cost of the product in this warehouse is value / on_hand
    value: Mapped[Decimal] = mapped_column(StockValue, default=ZERO, server_default="0")

    product: Mapped[Product] = relationship()
    warehouse: Mapped[Warehouse] = relationship()

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved

    @property
    def average_cost(self) -> Decimal | None:
        """The moving-average cost of a unit here (None while empty)."""
        return (self.value / self.on_hand).quantize(Decimal("0.0001")) if self.on_hand else None


class StockMovement(db.Model):
    """One line of the ledger: a signed change of on-hand stock, never edited or deleted."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        Index("ix_stock_movements_company_product_time", "company_id", "product_id", "created_at"),
        Index("ix_stock_movements_company_warehouse_time", "company_id", "warehouse_id",
              "created_at"),
        Index("ix_stock_movements_company_time", "company_id", "created_at"),
        Index("ix_stock_movements_source", "source_type", "source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    # the lot or serial number moved: set exactly when the product is tracked
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id", ondelete="RESTRICT"),
                                               index=True, nullable=True)
    # indexed on their own too: deleting a product or warehouse checks the RESTRICT foreign
    # key across every company's ledger, which the (company_id, ...) indexes cannot serve
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"),
                                            index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"),
                                              index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)  # signed: + in, - out
    # the cost of a unit it moved at, and the signed value it added to or took from its
    # level (quantity x unit cost in cents; see erp.services.valuation)
    unit_cost: Mapped[Decimal] = mapped_column(UnitCost, default=ZERO, server_default="0")
    value: Mapped[Decimal] = mapped_column(StockValue, default=ZERO, server_default="0")
    kind: Mapped[str] = mapped_column(String(30))
    # The document line that caused the movement, e.g. ("sales_order_item", 42), and the
    # document's number for display; adjustments and manual moves have none.
    source_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    source_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reference: Mapped[str] = mapped_column(String(60), default="")
    note: Mapped[str] = mapped_column(String(300), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                index=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)

    product: Mapped[Product] = relationship()
    warehouse: Mapped[Warehouse] = relationship()
    user: Mapped[User | None] = relationship()
    lot: Mapped[Lot | None] = relationship()

    kind_label = choice_label("kind", MOVEMENT_KINDS)


LOT_CODE_MAX = 60


class Lot(CompanyScoped, db.Model):
    """A batch (product tracked by lot) or one unit (tracked by serial number) of a product.

    Created by the first movement that brings it in (a receipt, production output); its
    code is unique per product. Where it came from and went is read from the ledger
    (`StockMovement.lot_id`); `LotLevel` holds its stock per warehouse."""

    __tablename__ = "lots"
    __table_args__ = (
        UniqueConstraint("company_id", "product_id", "code"),
        Index("ix_lots_company_code", "company_id", "code"),
        Index("ix_lots_company_expiry", "company_id", "expiry"),
    )

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"),
                                            index=True)
    code: Mapped[str] = mapped_column(String(LOT_CODE_MAX))
    expiry: Mapped[date | None] = mapped_column(Date, nullable=True)

    product: Mapped[Product] = relationship()
    levels: Mapped[list[LotLevel]] = relationship(back_populates="lot",
                                                  order_by="LotLevel.warehouse_id")

    def __str__(self) -> str:
        return self.code


class LotLevel(CompanyScoped, db.Model):
    """A lot's stock in one warehouse, kept by `erp.services.stock.move` with the same kind
    of atomic UPDATE as StockLevel: it always equals the sum of the lot's movements there,
    and a tracked product's StockLevel equals the sum of its lots' levels."""

    __tablename__ = "lot_levels"
    __table_args__ = (
        UniqueConstraint("lot_id", "warehouse_id"),
        # the lots of a product with stock in a warehouse (picking, first-expiring first)
        Index("ix_lot_levels_company_product_warehouse", "company_id", "product_id",
              "warehouse_id"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
    )

    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="RESTRICT"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"),
                                            index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"),
                                              index=True)
    on_hand: Mapped[Decimal] = mapped_column(Quantity, default=ZERO)

    lot: Mapped[Lot] = relationship(back_populates="levels")
    warehouse: Mapped[Warehouse] = relationship()


class StockValueDay(db.Model):
    """The quantity and value of a product in a warehouse after the last movement of a day
    (the company's day), written by `erp.services.stock.move` under the level's lock: the
    valuation as of a date is the latest row on or before it, one index seek per level."""

    __tablename__ = "stock_value_days"
    __table_args__ = (
        UniqueConstraint("company_id", "product_id", "warehouse_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"),
                                            index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"),
                                              index=True)
    day: Mapped[date] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    value: Mapped[Decimal] = mapped_column(StockValue)


ALL = -1  # StockValueTotal's key for "every category" or "every warehouse"
NO_CATEGORY = 0  # its category key for the products without a category


class StockValueTotal(db.Model):
    """The value of the stock of a category (`category_key`: a category id, NO_CATEGORY or
    ALL) in a warehouse (`warehouse_key`: a warehouse id or ALL) at the end of a day: each
    movement's value is added at the commit (`erp.services.valuation`), so a total as of a
    date is one index seek, whatever the size of the ledger. The category is the product's
    when it moved."""

    __tablename__ = "stock_value_totals"
    __table_args__ = (
        UniqueConstraint("company_id", "category_key", "warehouse_key", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    category_key: Mapped[int] = mapped_column(Integer)
    warehouse_key: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    value: Mapped[Decimal] = mapped_column(StockValue)
