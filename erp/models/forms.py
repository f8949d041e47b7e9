"""Custom forms: checklists and records a company designs itself (#23).

A form (`CustomForm`) has numbered versions (`FormVersion`), each an ordered list of
fields (`FormField`). A submission (`FormSubmission`) is filled on one version and keeps
it: editing a form whose latest version has submissions first copies that version, so
old submissions keep showing the fields they were filled with. A field's `key` stays the
same in every version, so a filter or a CSV column names the same question across them.

Storage: typed value rows (`FormAnswer`: value_text / value_number / value_date /
value_bool), chosen over a JSON column because both databases index plain columns the
same way: "Temperature > 8" is a range scan of (company, form, field key, value_number).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (DDL, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer,
                        LargeBinary, Numeric, String, Text, UniqueConstraint, event, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp.collation import postgresql_fold
from erp.extensions import db
from erp.models.base import AwareDateTime, CompanyScoped, choice_label, in_check
from erp.models.catalog import Category, Product
from erp.models.core import User
from erp.models.production import WorkOrder
from erp.models.quality import QualityInspection
from erp.models.fields import Text as TextField
from erp.i18n import N_

FIELD_KINDS = {
    "text": N_("Short text"),
    "long_text": N_("Long text"),
    "number": N_("Whole number"),
    "decimal": N_("Decimal number"),
    "date": N_("Date"),
    "yes_no": N_("Yes / no"),
    "choice": N_("One of a list"),
    "choices": N_("Several of a list"),
    "product": N_("Product"),
    "customer": N_("Customer"),
    "supplier": N_("Supplier"),
    "employee": N_("Employee"),
    "photo": N_("Photo"),
    "file": N_("File (image or PDF)"),
    "section": N_("Section heading"),
}
NUMBER_KINDS = ("number", "decimal")
LIST_KINDS = ("choice", "choices")
RECORD_KINDS = ("product", "customer", "supplier", "employee")
# an uploaded file, kept in the database (a tenant leaves whole; every app host serves it):
# the content types each kind accepts, recognised by the file's first bytes
FILE_KINDS = {"photo": (N_("image/png"), "image/jpeg", "image/webp"),
              "file": (N_("image/png"), "image/jpeg", "image/webp", "application/pdf")}
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
FILE_NAME_MAX = 200
SUBMISSION_STATUSES = {"draft": N_("Draft"), "submitted": N_("Submitted")}

FORM_TEXT = {
    "name": TextField(200, required=N_("Enter a name.")),
    "description": TextField(2000, long=True),
}
FIELD_TEXT = {
    "label": TextField(200, required=N_("Enter a label.")),
    "help": TextField(500),
    "unit": TextField(20),
    "condition_value": TextField(200),
}
OPTIONS_MAX = 50          # choices of a list field
OPTION_LIMIT = 100        # characters of one choice
SHORT_TEXT_MAX = 200      # an answer of a short text field
LONG_TEXT_MAX = 5000      # an answer of a long text field
# value_number is Numeric(18, 6): twelve whole digits, six decimals
NUMBER_LIMIT = Decimal("999999999999")
NumberValue = Numeric(18, 6, asdecimal=True)


class CustomForm(CompanyScoped, db.Model):
    __tablename__ = "custom_forms"
    __table_args__ = (
        UniqueConstraint("company_id", "name"),
    )

    name: Mapped[str] = mapped_column(FORM_TEXT["name"].column())
    description: Mapped[str] = mapped_column(FORM_TEXT["description"].column(), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    latest_number: Mapped[int] = mapped_column(Integer, default=1)  # the version edited
    next_key: Mapped[int] = mapped_column(Integer, default=1)  # fields' keys: f1, f2 ...

    def __str__(self) -> str:
        return self.name


class FormVersion(CompanyScoped, db.Model):
    __tablename__ = "form_versions"
    __table_args__ = (
        UniqueConstraint("form_id", "number"),
    )

    form_id: Mapped[int] = mapped_column(ForeignKey("custom_forms.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)

    form: Mapped[CustomForm] = relationship()
    fields: Mapped[list[FormField]] = relationship(
        back_populates="version", order_by="FormField.position", cascade="all, delete-orphan")

    def __str__(self) -> str:
        return f"version {self.number}"


class FormField(CompanyScoped, db.Model):
    __tablename__ = "form_fields"
    __table_args__ = (
        UniqueConstraint("version_id", "key"),
        in_check("kind", FIELD_KINDS),
    )

    version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(FIELD_TEXT["label"].column())
    help: Mapped[str] = mapped_column(FIELD_TEXT["help"].column(), default="")
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    options: Mapped[str] = mapped_column(Text, default="")  # one choice a line
    minimum: Mapped[Decimal | None] = mapped_column(NumberValue, nullable=True)
    maximum: Mapped[Decimal | None] = mapped_column(NumberValue, nullable=True)
    unit: Mapped[str] = mapped_column(FIELD_TEXT["unit"].column(), default="")
    must_be_yes: Mapped[bool] = mapped_column(Boolean, default=False)  # a failed check if no
    # shown only when the field of this key (earlier in the form) has this value
    condition_key: Mapped[str] = mapped_column(String(20), default="")
    condition_value: Mapped[str] = mapped_column(FIELD_TEXT["condition_value"].column(),
                                                 default="")

    version: Mapped[FormVersion] = relationship(back_populates="fields")

    kind_label = choice_label("kind", FIELD_KINDS)

    @property
    def choices(self) -> list[str]:
        return [line for line in self.options.splitlines() if line.strip()]

    @property
    def choice_pairs(self) -> list[tuple[str, str]]:
        return [(choice, choice) for choice in self.choices]

    @property
    def answers(self) -> bool:
        """Whether the field takes an answer (a section heading does not)."""
        return self.kind != "section"

    def __str__(self) -> str:
        return self.label


class FormSubmission(CompanyScoped, db.Model):
    __tablename__ = "form_submissions"
    __table_args__ = (
        Index("ix_form_submissions_company_form_created", "company_id", "form_id",
              "created_at"),
        Index("ix_form_submissions_company_form_status", "company_id", "form_id", "status",
              "submitted_at"),
        # the list sorted by submitted time (drafts, without one, last either way): SQLite
        # reads it in both directions; PostgreSQL in the ascending one (descending with
        # NULLS LAST would need "NULLS FIRST" in the index, which SQLite cannot declare)
        Index("ix_form_submissions_company_form_submitted", "company_id", "form_id",
              "submitted_at", "id"),
        in_check("status", SUBMISSION_STATUSES),
    )

    form_id: Mapped[int] = mapped_column(ForeignKey("custom_forms.id", ondelete="CASCADE"),
                                         index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id", ondelete="CASCADE"),
                                            index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, nullable=True)
    created_by_name: Mapped[str] = mapped_column(String(254), default="")
    submitted_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    submitted_by_name: Mapped[str] = mapped_column(String(254), default="")
    # a quality inspection's form (#23 item 5): what was inspected, and the inspection its
    # answers decided when it was submitted
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), index=True, nullable=True)
    receipt_reference: Mapped[str] = mapped_column(String(60), default="")
    inspection_id: Mapped[int | None] = mapped_column(
        ForeignKey("quality_inspections.id", ondelete="SET NULL"), index=True, nullable=True)
    # the work order it was filled for (its form, named by a FormLink): finishing the work
    # order needs a submitted one
    work_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_orders.id", ondelete="SET NULL"), index=True, nullable=True)

    form: Mapped[CustomForm] = relationship()
    product: Mapped[Product | None] = relationship()
    work_order: Mapped[WorkOrder | None] = relationship()
    inspection: Mapped[QualityInspection | None] = relationship()
    version: Mapped[FormVersion] = relationship()
    created_by: Mapped[User | None] = relationship()
    answers: Mapped[list[FormAnswer]] = relationship(
        back_populates="submission", cascade="all, delete-orphan")

    status_label = choice_label("status", SUBMISSION_STATUSES)

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"

    @property
    def status_badge(self) -> str:
        return "secondary" if self.is_draft else "success"

    def __str__(self) -> str:
        return f"#{self.id}"


class FormAnswer(CompanyScoped, db.Model):
    """One field's answer; only the value column of the field's kind is set (several of
    a list: the choices, a line each, in value_text; a record: its id in value_number and
    its name then in value_text; a file: its name in value_text, its bytes in file_data,
    loaded only when asked for)."""

    __tablename__ = "form_answers"
    __table_args__ = (
        UniqueConstraint("submission_id", "field_id"),
        # the value filters of a form's submissions list (erp/queries/forms.py)
        Index("ix_form_answers_number", "company_id", "form_id", "field_key", "value_number",
              "submission_id"),
        Index("ix_form_answers_date", "company_id", "form_id", "field_key", "value_date",
              "submission_id"),
        Index("ix_form_answers_bool", "company_id", "form_id", "field_key", "value_bool",
              "submission_id"),
        # a choice's and a text's filter: on the answer's first 100 characters
        # (erp.queries.forms.text_key)
        Index("ix_form_answers_text", "company_id", "form_id", "field_key",
              text("substr(value_text, 1, 100)"), "submission_id"),
    )

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("form_submissions.id", ondelete="CASCADE"))
    field_id: Mapped[int] = mapped_column(ForeignKey("form_fields.id", ondelete="CASCADE"),
                                          index=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("custom_forms.id", ondelete="CASCADE"),
                                         index=True)
    field_key: Mapped[str] = mapped_column(String(20))
    value_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    value_number: Mapped[Decimal | None] = mapped_column(NumberValue, nullable=True)
    value_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    value_bool: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    file_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    file_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    file_data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)

    submission: Mapped[FormSubmission] = relationship(back_populates="answers")

    @property
    def is_image(self) -> bool:
        return self.file_type in IMAGE_TYPES


ONE_SUBJECT = ("(CASE WHEN product_id IS NULL THEN 0 ELSE 1 END"
               " + CASE WHEN category_id IS NULL THEN 0 ELSE 1 END"
               " + CASE WHEN work_order_id IS NULL THEN 0 ELSE 1 END) = 1")


class FormLink(CompanyScoped, db.Model):
    """A product or a category names the form its quality inspections are filled on (a
    product's own link wins over its category's); a work order names the form that must
    be submitted for it before it is finished."""

    __tablename__ = "form_links"
    __table_args__ = (
        UniqueConstraint("company_id", "product_id"),
        UniqueConstraint("company_id", "category_id"),
        UniqueConstraint("company_id", "work_order_id"),
        CheckConstraint(ONE_SUBJECT, name="one_subject"),
    )

    form_id: Mapped[int] = mapped_column(ForeignKey("custom_forms.id", ondelete="CASCADE"),
                                         index=True)
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True, nullable=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), index=True, nullable=True)
    work_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True, nullable=True)

    form: Mapped[CustomForm] = relationship()
    product: Mapped[Product | None] = relationship()
    category: Mapped[Category | None] = relationship()
    work_order: Mapped[WorkOrder | None] = relationship()

    @property
    def subject(self) -> str:
        from erp.i18n import gettext

        if self.product_id is not None:
            return gettext("Product %(product)s", product=self.product)
        if self.work_order_id is not None:
            return gettext("Work order %(name)s", name=self.work_order.name)
        return gettext("Category %(category)s", category=self.category)


# The "contains" filter on answer text (erp.queries.forms.text_has) on PostgreSQL: a
# pg_trgm GIN index on the folded text (erp.collation, as the product search's), which
# serves `folded(value_text) LIKE '%term%'` instead of reading every answer of the field
# (#23: 100,000 submissions). SQLite reads the (company, form, key, first characters)
# index, ix_form_answers_text. A GIN expression index with an operator class is not
# something the model can declare on both databases: created here for `create_all`
# (tests, fresh databases) and by migration 0031, and left out of the drift test
# (erp.models.search.include_object).
ANSWER_TRIGRAM_INDEX = "ix_form_answers_trgm"
ANSWER_TRIGRAM = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS {ANSWER_TRIGRAM_INDEX} ON form_answers "
    f"USING gin ({postgresql_fold('value_text')} gin_trgm_ops)",
]
ANSWER_TRIGRAM_DROP = [f"DROP INDEX IF EXISTS {ANSWER_TRIGRAM_INDEX}"]

for _statement in ANSWER_TRIGRAM:
    event.listen(FormAnswer.__table__, "after_create",
                 DDL(_statement).execute_if(dialect="postgresql"))
