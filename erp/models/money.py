"""Money settings of a company: tax codes, payment terms and the company's logo.

A tax code names a rate (KDV 20 %); a product may name its default code, and a sales line
takes the code's rate when the product is picked (the company's default code for a
product without one). Payment terms say when an invoice is due (`erp.services.money.
due_date`). At most one tax code and one set of terms per company is its default, chosen
in the company settings (a partial unique index, as for the default warehouse).
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (Boolean, CheckConstraint, ForeignKey, Index, Integer, LargeBinary,
                        String, UniqueConstraint, text)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from erp.extensions import db
from erp.models.base import ZERO, CompanyScoped, Rate, TimestampMixin, choice_label, in_check
from erp.models.fields import Text as TextField
from erp.i18n import N_

TAX_CODE_TEXT = {"name": TextField(60, required=N_("Enter a name."))}
PAYMENT_TERMS_TEXT = {"name": TextField(60, required=N_("Enter a name."))}

TERMS_KINDS = {
    "net": N_("Net: n days after the invoice date"),
    "receipt": N_("Due on receipt"),
    "end_of_month": N_("n days after the end of the invoice's month"),
}
MAX_TERM_DAYS = 365

# ISO 4217 codes a company may keep its books in (the company's only currency for now).
CURRENCIES = {
    "AED": "UAE dirham", "AUD": "Australian dollar", "BGN": "Bulgarian lev",
    "BRL": "Brazilian real", "CAD": "Canadian dollar", "CHF": "Swiss franc",
    "CNY": "Chinese yuan", "CZK": "Czech koruna", "DKK": "Danish krone", "EUR": "Euro",
    "GBP": "Pound sterling", "HKD": "Hong Kong dollar", "HUF": "Hungarian forint",
    "ILS": "Israeli new shekel", "INR": "Indian rupee", "JPY": "Japanese yen",
    "KRW": "South Korean won", "MXN": "Mexican peso", "NOK": "Norwegian krone",
    "NZD": "New Zealand dollar", "PLN": "Polish złoty", "RON": "Romanian leu",
    "SAR": "Saudi riyal", "SEK": "Swedish krona", "SGD": "Singapore dollar",
    "TRY": "Turkish lira", "USD": "US dollar", "ZAR": "South African rand",
}

# Logos: PNG or JPEG, recognised by their first bytes, at most this size.
LOGO_MAX_BYTES = 512 * 1024
LOGO_TYPES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}


def _one_default(table: str) -> Index:
    return Index(f"uq_{table}_one_default", "company_id", "is_default", unique=True,
                 sqlite_where=text("is_default"), postgresql_where=text("is_default"))


class TaxCode(CompanyScoped, db.Model):
    __tablename__ = "tax_codes"
    __table_args__ = (
        UniqueConstraint("company_id", "name"),
        Index("ix_tax_codes_company_active_name", "company_id", "active", "name"),
        CheckConstraint("rate >= 0 AND rate <= 100", name="rate_range"),
        _one_default("tax_codes"),
    )

    name: Mapped[str] = mapped_column(TAX_CODE_TEXT["name"].column())
    rate: Mapped[Decimal] = mapped_column(Rate, default=ZERO)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def label(self) -> str:
        return f"{self.name} ({format(self.rate.normalize(), 'f')} %)"

    def __str__(self) -> str:
        return self.name


class PaymentTerms(CompanyScoped, db.Model):
    __tablename__ = "payment_terms"
    __table_args__ = (
        UniqueConstraint("company_id", "name"),
        Index("ix_payment_terms_company_active_name", "company_id", "active", "name"),
        CheckConstraint(f"days >= 0 AND days <= {MAX_TERM_DAYS}", name="days_range"),
        in_check("kind", TERMS_KINDS),
        _one_default("payment_terms"),
    )

    name: Mapped[str] = mapped_column(PAYMENT_TERMS_TEXT["name"].column())
    kind: Mapped[str] = mapped_column(String(20), default="net")
    days: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)

    kind_label = choice_label("kind", TERMS_KINDS)

    @property
    def description(self) -> str:
        from erp.i18n import gettext

        if self.kind == "receipt":
            return gettext("Due on receipt")
        if self.kind == "end_of_month":
            return gettext("%(days)s days after the end of the month", days=self.days)
        return gettext("%(days)s days after the invoice date", days=self.days)

    def __str__(self) -> str:
        return self.name


class CompanyLogo(TimestampMixin, db.Model):
    """The company's logo, in the database (not on one host's disk): every app host serves
    it, a backup holds it and it leaves with its company. Apart from `companies`, whose row
    is loaded with every logged-in user."""

    __tablename__ = "company_logos"

    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(20))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class WithPaymentTerms:
    """A party with payment terms of its own (a customer, a supplier: when its invoices or
    bills are due); none: the company's default terms."""

    @declared_attr
    def payment_terms_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("payment_terms.id", ondelete="RESTRICT"), index=True,
                             nullable=True)

    @declared_attr
    def payment_terms(cls) -> Mapped[PaymentTerms | None]:
        return relationship(PaymentTerms)
