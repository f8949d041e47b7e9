"""Tenants and people: Company, User, and the per-company document number counters."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp.extensions import db
from erp.models.base import AwareDateTime, CompanyScoped, TimestampMixin, in_check
from erp.models.fields import Text as TextField

# Ordered from least to most privileged; a role may do everything the roles before it may.
ROLES = ("viewer", "staff", "manager", "admin")
# Not a role of a company: an admin who is also an installation administrator
# (`users.is_superuser`) sees the system-wide pages (monitoring), which hold every
# company's traffic. Granted from the shell only (`flask set-install-admin`).
INSTALL_ADMIN = "install_admin"
DEFAULT_TIMEZONE = "UTC"  # a company's zone until an admin sets its own

# What the company's documents say of the seller (the company settings): checked by
# erp.services.users.update_company, frozen on an issued invoice.
COMPANY_TEXT = {
    "legal_name": TextField(200),
    "address": TextField(1000, long=True),
    "tax_number": TextField(50),
    "bank_details": TextField(1000, long=True),
    "invoice_footer": TextField(1000, long=True),
}


def role_rank(role: str) -> int:
    return ROLES.index(role)


class Company(TimestampMixin, db.Model):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    # IANA name (checked with zoneinfo by erp.services.validation.timezone_name). Times are
    # stored in UTC and shown in this zone; "today" for document dates is its today.
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE,
                                          server_default=DEFAULT_TIMEZONE)
    # the seller on documents: legal name (blank: the name), address, tax number, bank
    # details and the invoice's footer text
    legal_name: Mapped[str] = mapped_column(COMPANY_TEXT["legal_name"].column(), default="",
                                            server_default="")
    address: Mapped[str] = mapped_column(Text, default="", server_default="")
    tax_number: Mapped[str] = mapped_column(COMPANY_TEXT["tax_number"].column(), default="",
                                            server_default="")
    bank_details: Mapped[str] = mapped_column(Text, default="", server_default="")
    invoice_footer: Mapped[str] = mapped_column(Text, default="", server_default="")
    # the language of its users who chose none (erp.i18n.LANGUAGES)
    default_language: Mapped[str] = mapped_column(String(5), default="en", server_default="en")
    # the nightly reorder job drafts the purchase orders of its low stock (one per supplier)
    auto_reorder: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    @property
    def seller_name(self) -> str:
        return self.legal_name or self.name

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.timezone)

    def __repr__(self) -> str:
        return f"<Company {self.id} {self.name!r}>"


def zone_of(name: str | None) -> ZoneInfo:
    """The zone of an IANA name; UTC for none or one this system does not know (a stored
    name was validated when saved, but the tz database of another host may lack it)."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return ZoneInfo(DEFAULT_TIMEZONE)


def company_now(company: Company | int | None) -> datetime:
    """The current time in the company's zone (aware); a company id is looked up in the
    session (usually already there: the logged-in user's company is loaded with them)."""
    if isinstance(company, int):
        company = db.session.get(Company, company)
    return datetime.now(company.zone if company is not None else zone_of(None))


def company_today(company: Company | int | None) -> date:
    """Today's date where the company is (a Company or its id): the default of every
    document date and the year of its number (an order entered at 00:30 in Istanbul is
    dated that day, not the UTC day before)."""
    return company_now(company).date()


class User(UserMixin, CompanyScoped, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        in_check("role", ROLES),
    )

    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="staff")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped by logout and password changes: a session cookie names the version it was
    # issued for, so a copied cookie stops working (Flask's session lives in the cookie).
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    # An installation administrator (see INSTALL_ADMIN); no page of the app can set it.
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # the pages' language (erp.i18n.LANGUAGES); None: the company's default
    language: Mapped[str | None] = mapped_column(String(5), nullable=True)

    company: Mapped[Company] = relationship(lazy="joined", innerjoin=True)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def has_role(self, role: str) -> bool:
        if role == INSTALL_ADMIN:
            return self.is_install_admin
        return role_rank(self.role) >= role_rank(role)

    @property
    def is_install_admin(self) -> bool:
        return bool(self.is_superuser) and self.role == "admin" and self.active

    @property
    def display_name(self) -> str:
        return self.name or self.email

    @property
    def picker_label(self) -> str:
        return f"{self.display_name} [#{self.id}]"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class DocumentSequence(db.Model):
    """The last number given out per company and series (SO, PO, MO, INV ...) and year.

    Incremented with an atomic UPDATE in the transaction that creates the document, so
    numbers are unique and gap-free under concurrency (see services.sequences).
    """

    __tablename__ = "document_sequences"
    __table_args__ = (UniqueConstraint("company_id", "series", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    series: Mapped[str] = mapped_column(String(10))
    year: Mapped[int] = mapped_column(Integer)
    last_value: Mapped[int] = mapped_column(Integer, default=0)
