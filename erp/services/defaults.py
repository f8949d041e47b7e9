"""A company's default record of a kind (warehouse, tax code, payment terms): at most one
row per company has `is_default` (a partial unique index), chosen in the company settings."""
from __future__ import annotations

from sqlalchemy import select, update

from erp.extensions import db
from erp.parsing import MAX_ID
from erp.services import validation


def choose_default(model, company_id: int, record_id: int | None, errors: dict, *,
                   field: str, message: str, label=str) -> dict:
    """Make `record_id` (an active record of the company, or None for none) the company's
    default `model`, inside the caller's transaction. Returns the audit change ({field:
    (old, new)} with `label` of each, {} when unchanged); a bad choice adds `message` to
    `errors` under `field` and changes nothing."""
    current = db.session.scalar(select(model).where(
        model.company_id == company_id, model.is_default.is_(True)))
    chosen = None
    if record_id is not None:
        chosen = None if not 0 < record_id <= MAX_ID else db.session.scalar(select(model).where(
            model.id == record_id, model.company_id == company_id, model.active.is_(True)))
        if chosen is None:
            validation.add_error(errors, field, message)
            return {}
    if chosen is current or errors:
        return {}
    db.session.execute(update(model).where(model.company_id == company_id)
                       .values(is_default=False))
    if chosen is not None:
        db.session.execute(update(model).where(model.id == chosen.id).values(is_default=True))
    return {field.removesuffix("_id"): (label(current) if current else None,
                                        label(chosen) if chosen else None)}


def default_of(model, company_id: int):
    """The company's default record of `model`, or None."""
    return db.session.scalar(select(model).where(
        model.company_id == company_id, model.is_default.is_(True)))
