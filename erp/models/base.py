"""Column types, constraint and label helpers, and the mixin every business table uses."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import (CheckConstraint, DateTime, ForeignKey, Index, Numeric,
                        PrimaryKeyConstraint, String, Table, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Money and quantities are Decimal, never float.
Money = Numeric(14, 2, asdecimal=True)
Quantity = Numeric(14, 3, asdecimal=True)
Rate = Numeric(7, 3, asdecimal=True)  # percentages such as discount and tax

ZERO = Decimal("0")


def in_check(column: str, values: Iterable[str]) -> CheckConstraint:
    """CHECK (`column` IN (...)) named after the column, from a dict of choices (its keys)
    or a tuple, so the constraint cannot drift from the choices: `in_check("status",
    ORDER_STATUSES)` gives ck_<table>_status, "status IN ('draft', 'confirmed', ...)"."""
    listed = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


def choice_label(column: str, choices: Mapping[str, str]) -> property:
    """A read-only property: the label of the column's value in `choices` (the value itself
    when it has none) in the reader's language, e.g. `status_label = choice_label("status",
    ORDER_STATUSES)` (the labels are marked with `N_` where they are declared)."""

    def label(self) -> str:
        from erp.i18n import gettext

        value = getattr(self, column)
        return gettext(choices[value]) if value in choices else value

    return property(label)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class AwareDateTime(TypeDecorator):
    """Stores UTC; always returns an aware datetime, also from SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        # naive is read as UTC; an aware time of another zone is converted, since SQLite
        # stores the wall time without its offset (PostgreSQL's timestamptz would convert)
        if value is not None:
            value = (value.replace(tzinfo=timezone.utc) if value.tzinfo is None
                     else value.astimezone(timezone.utc))
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, onupdate=utcnow)


def leaves_out_rows(where: str | None, lead: str | None) -> bool:
    """Whether an index with the condition `where` (None: a full index) leaves out rows
    that a lookup by its first column `lead` may want: `WHERE <lead> IS NOT NULL` leaves
    out only the rows no `<lead> = ?` finds (it serves a foreign key's check)."""
    if where is None:
        return False
    condition = " ".join(where.replace("(", " ").replace(")", " ").replace('"', " ")
                         .split()).lower()
    return lead is None or condition != f"{lead.lower()} is not null"


def is_partial(index: Index) -> bool:
    """Whether `index` leaves out rows a lookup by its first column may want."""
    lead = index.columns[0].name if len(index.columns) else None
    return any(leaves_out_rows(str(where), lead) for dialect in ("sqlite", "postgresql")
               if (where := index.dialect_options[dialect].get("where")) is not None)


def column_lists(table: Table) -> list[tuple[str, list[str]]]:
    """(name, columns) of the table's full indexes, unique constraints and primary key:
    each serves lookups by its leading columns."""
    lists = [(index.name, [column.name for column in index.columns])
             for index in table.indexes if not is_partial(index)]
    lists += [(constraint.name, [column.name for column in constraint.columns])
              for constraint in table.constraints
              if isinstance(constraint, (UniqueConstraint, PrimaryKeyConstraint))]
    return lists


def leads_an_index(table: Table, column: str) -> bool:
    """Whether an index of `table` starts with `column` (so it serves a foreign key's check
    when the referred row is deleted)."""
    return any(columns[:1] == [column] for _name, columns in column_lists(table))


class CompanyScoped(TimestampMixin):
    """id, the owning company (deleted with it), created and updated times.

    company_id is indexed by the table's composite indexes and unique constraints, which
    lead with it; a table with none of those gets ix_<table>_company_id of its own.
    """

    id: Mapped[int] = mapped_column(primary_key=True)

    @declared_attr
    def company_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)  # maps the class: its table exists after this
        table = cls.__dict__.get("__table__")
        if table is not None and not leads_an_index(table, "company_id"):
            Index(None, table.c.company_id)  # named by the convention: ix_<table>_company_id

    @property
    def picker_label(self) -> str:
        """The value a picker shows and sends back: 'Name [#id]' (erp/services/pickers.py)."""
        return f"{self} [#{self.id}]"


class NumberedDocument:
    """The columns every numbered document has: its number (unique in its company, from
    its sequence), its status (from "draft"), notes and the user who drafted it (kept as
    NULL when the user is deleted); `str()` is its number."""

    number: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    notes: Mapped[str] = mapped_column(Text, default="")

    @declared_attr
    def created_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True,
                             nullable=True)

    @declared_attr
    def created_by(cls):
        return relationship("User")

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"

    def __str__(self) -> str:
        return self.number


class PostedDocument(NumberedDocument):
    """A numbered document that is posted (moves stock) once: when."""

    posted_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)


def document_table_args(table: str, dated: str, statuses: Iterable[str], *more) -> tuple:
    """A document table's constraints: its number unique in its company, the list's
    default order (newest first by `dated`, ix_<table>_company_date_id), its status
    (ix_<table>_company_status, and a CHECK from `statuses`) and `more`."""
    return (UniqueConstraint("company_id", "number"),
            Index(f"ix_{table}_company_date_id", "company_id", dated, "id"),
            Index(f"ix_{table}_company_status", "company_id", "status"),
            *more, in_check("status", statuses))
