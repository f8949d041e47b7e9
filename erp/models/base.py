"""Column types and the mixin every business table uses."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Numeric
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

# Money and quantities are Decimal, never float.
Money = Numeric(14, 2, asdecimal=True)
Quantity = Numeric(14, 3, asdecimal=True)
Rate = Numeric(7, 3, asdecimal=True)  # percentages such as discount and tax

ZERO = Decimal("0")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class AwareDateTime(TypeDecorator):
    """Stores UTC; always returns an aware datetime, also from SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, onupdate=utcnow)


class CompanyScoped(TimestampMixin):
    """id, the owning company (indexed, deleted with it), created and updated times."""

    id: Mapped[int] = mapped_column(primary_key=True)

    @declared_attr
    def company_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)

    @property
    def picker_label(self) -> str:
        """The value a picker shows and sends back: 'Name [#id]' (erp/services/pickers.py)."""
        return f"{self} [#{self.id}]"
