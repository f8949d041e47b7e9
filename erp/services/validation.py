"""Form values checked for the services: one rule each for numbers, text and dates, with
the messages the forms show. A service collects every field's problems in an `errors`
dict (field -> messages) and raises one ValidationError with all of them."""
from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from sqlalchemy import select

from erp.extensions import db
from erp.models.fields import Number
from erp.i18n import N_, _, gettext


class BadValue(ValueError):
    """The value is refused; `str(error)` is the message for its field."""


def add_error(errors: dict[str, list[str]], field: str, message: str) -> None:
    """Add a message (a text marked with `N_` where it is declared is translated here)."""
    errors.setdefault(field, []).append(gettext(message))


def checked(errors: dict[str, list[str]], parse, *args, **kwargs):
    """`parse(*args, **kwargs)`, or None with its ValidationError's messages added to
    `errors` (several inputs checked, their errors raised together)."""
    from erp.services import ValidationError

    try:
        return parse(*args, **kwargs)
    except ValidationError as error:
        errors.update(error.field_errors)
        return None


def raise_errors(errors: dict[str, list[str]]) -> None:
    """ValidationError with the collected field errors, if there are any."""
    if errors:
        from erp.services import ValidationError

        raise ValidationError(field_errors=errors)


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _finite(value, invalid: str) -> Decimal:
    try:
        result = Decimal("" if value is None else str(value).strip())
    except (InvalidOperation, ValueError):
        raise BadValue(gettext(invalid)) from None
    if not result.is_finite():
        raise BadValue(gettext(invalid))
    return result


def _to_step(result: Decimal, step: Decimal) -> Decimal:
    if result != result.quantize(step):
        raise BadValue(_('Use at most %(value)s decimals.', value=-step.as_tuple().exponent))
    return result.quantize(step)


def number(value, *, step: Decimal, maximum: Decimal, invalid: str = N_("Enter a number."),
           too_large: str | None = None) -> Decimal:
    """A non-negative number of at most `step`'s decimals and at most `maximum`, rounded
    to `step`; raises BadValue with the message for the first problem."""
    result = _finite(value, invalid)
    if result < 0:
        raise BadValue(_("Enter zero or more."))
    if result > maximum:
        raise BadValue(too_large or f"Enter at most {maximum:,}.")
    return _to_step(result, step)


def ruled(value, rule: Number) -> Decimal:
    """The value under a declared rule (`erp.models.fields.Number`: a tax rate, discount,
    price, quantity): in its range and of its precision; BadValue with the rule's message."""
    result = _finite(value, N_("Enter a number."))
    if not rule.minimum <= result <= rule.maximum:
        raise BadValue(gettext(rule.message))
    return _to_step(result, rule.step)


def clean_number(value, field: str, rule: Number, errors: dict[str, list[str]], *,
                 default: Decimal | None = None) -> Decimal | None:
    """`ruled()` for a form value: a blank one is `default` (without a default it is
    missing: "Enter a number."); a bad one adds its message and gives None."""
    if blank(value):
        if default is None:
            add_error(errors, field, _("Enter a number."))
        return default
    try:
        return ruled(value, rule)
    except BadValue as problem:
        add_error(errors, field, str(problem))
        return None


def text(value, field: str, errors: dict, *, max_length: int, required: bool = False,
         missing: str = N_("This field is required.")) -> str:
    """The value stripped ('' for None); a missing or too long value adds its message."""
    result = "" if value is None else str(value).strip()
    if required and not result:
        add_error(errors, field, missing)
    if len(result) > max_length:
        add_error(errors, field, _('Use at most %(max_length)s characters.', max_length=max_length))
    return result


def clean_text(value, field: str, limit: int, errors: dict[str, list[str]],
               required: bool | str = False) -> str:
    """`text()` with the limit of a field declaration (`erp.models.fields`); `required` may
    be the message itself."""
    return text(value, field, errors, max_length=limit, required=bool(required),
                missing=required if isinstance(required, str) else N_("This field is required."))


def clean_texts(data, fields, errors: dict[str, list[str]]) -> dict[str, str]:
    """Every declared text field of `data` (name -> `erp.models.fields.Text`), cleaned."""
    return {name: clean_text(data.get(name), name, spec.limit, errors, spec.required)
            for name, spec in fields.items()}


def date_value(value, field: str, errors: dict, *, required: bool = False) -> date | None:
    """A date, or an ISO date (YYYY-MM-DD) as text; None when empty."""
    if value in (None, ""):
        if required:
            add_error(errors, field, _("Enter a date."))
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        add_error(errors, field, _("Enter a date as YYYY-MM-DD."))
        return None


def timezone_name(value, field: str, errors: dict) -> str:
    """An IANA time zone name this system knows (e.g. "Europe/Istanbul"), stripped."""
    name = "" if value is None else str(value).strip()
    if name not in available_zones():
        add_error(errors, field, _("Choose a time zone from the list (e.g. Europe/Istanbul)."))
    return name


@lru_cache(maxsize=1)
def available_zones() -> frozenset[str]:
    """Every IANA zone name of the tz database (read once per process)."""
    return frozenset(zoneinfo.available_timezones())


def company_record(model, company_id: int, record_id: int | None):
    """The company's record with this id, or None (no id, or none in this company)."""
    if record_id is None:
        return None
    return db.session.scalar(select(model).where(model.id == record_id,
                                                 model.company_id == company_id))


def active_pick(model, company_id: int, record_id: int | None, *, field: str, what: str,
                refuse: Callable[[Any], str | None] = lambda record: None):
    """The company's active `model` record a picker chose; else a ValidationError on
    `field`: "Choose a <what> from the list.", `refuse(record)`'s message, or "This <what>
    is archived."."""
    from erp.services import ValidationError

    record = company_record(model, company_id, record_id)
    message = (f"Choose a {what} from the list." if record is None
               else refuse(record) or (None if record.active else f"This {what} is archived."))
    if message:
        raise ValidationError(field_errors={field: [message]})
    return record


def payment_terms_id(company_id: int, value, errors: dict) -> int | None:
    """Payment terms of the company chosen for a customer or a supplier (None, blank: the
    company's default terms); an error on `payment_terms_id` for any other."""
    from erp.models.money import PaymentTerms
    from erp.parsing import parse_id

    if value in (None, ""):
        return None
    terms_id = parse_id(str(value))
    if terms_id is None or company_record(PaymentTerms, company_id, terms_id) is None:
        add_error(errors, "payment_terms_id", _("Choose payment terms of this company."))
        return None
    return terms_id
