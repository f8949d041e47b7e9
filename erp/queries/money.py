"""Reads of the money settings: the tax code and payment terms lists as declarations, and
their choices for the selects of the product, customer, supplier and company settings
forms."""
from __future__ import annotations

from flask_login import current_user
from sqlalchemy import select

from erp.extensions import db
from erp.lists import Csv, ListSpec, archive_filter, attrs, choice_filter, contains
from erp.models.money import TERMS_KINDS, PaymentTerms, TaxCode

CHOICE_LIMIT = 200  # a company has a handful of codes and terms

TAX_CODES = ListSpec(
    model=TaxCode,
    sorts={"name": TaxCode.name, "rate": TaxCode.rate, "created": TaxCode.created_at},
    default_sort="name",
    search=contains(TaxCode.name),
    filters=[archive_filter(TaxCode)],
    csv=Csv("tax-codes", [*attrs(TaxCode, "id", "name", "rate"),
                          ("default", TaxCode.is_default), ("active", TaxCode.active)]),
)

PAYMENT_TERMS = ListSpec(
    model=PaymentTerms,
    sorts={"name": PaymentTerms.name, "days": PaymentTerms.days,
           "created": PaymentTerms.created_at},
    default_sort="name",
    search=contains(PaymentTerms.name),
    filters=[choice_filter("kind", PaymentTerms.kind, TERMS_KINDS),
             archive_filter(PaymentTerms)],
    csv=Csv("payment-terms", [*attrs(PaymentTerms, "id", "name", "kind", "days"),
                              ("default", PaymentTerms.is_default),
                              ("active", PaymentTerms.active)]),
)


def _choices(model, label, keep: int | None = None) -> list[tuple[str, str]]:
    """(id, label) of the company's active records by name, and the record `keep` (the
    form's current value) even when archived, so that saving keeps it."""
    rows = db.session.scalars(
        select(model).where(model.company_id == current_user.company_id,
                            (model.active.is_(True)) | (model.id == keep))
        .order_by(model.name, model.id).limit(CHOICE_LIMIT))
    return [(str(row.id), label(row)) for row in rows]


def tax_code_choices(keep: int | None = None) -> list[tuple[str, str]]:
    return _choices(TaxCode, lambda code: code.label, keep)


def payment_terms_choices(keep: int | None = None) -> list[tuple[str, str]]:
    return _choices(PaymentTerms, lambda terms: f"{terms.name} ({terms.description})", keep)


def party_terms_choices(keep: int | None = None) -> list[tuple[str, str]]:
    """A customer's or supplier's terms: first the company's default (blank), then the
    company's terms (`payment_terms_choices`)."""
    from erp.i18n import _
    from erp.services.defaults import default_of

    default = default_of(PaymentTerms, current_user.company_id)
    return ([("", _("The company's default (%(terms)s)",
                    terms=default.name if default else _("due on receipt")))]
            + payment_terms_choices(keep=keep))


def chosen_default_id(model) -> int | None:
    """The record the company settings made the default `model`, if any."""
    return db.session.scalar(select(model.id).where(
        model.company_id == current_user.company_id, model.is_default.is_(True)))
