"""Warehouses, stock levels and the stock ledger.

A StockLevel's on_hand always equals the sum of its StockMovements: both change only
through `erp.services.stock`, in one transaction, with an atomic UPDATE.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String,
                        UniqueConstraint, false, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp.extensions import db
from erp.models.base import (ZERO, AwareDateTime, CompanyScoped, Quantity, choice_label,
                             utcnow)
from erp.models.catalog import Product
from erp.models.fields import LONG_TEXT, Text as TextField
from erp.models.core import User
from erp.i18n import N_

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

    product: Mapped[Product] = relationship()
    warehouse: Mapped[Warehouse] = relationship()

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


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
