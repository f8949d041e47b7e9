"""Form helpers shared by every blueprint."""
from __future__ import annotations

from collections.abc import Iterable

import wtforms
from flask_babel import LazyString
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, Optional, StopValidation

from erp.i18n import gettext
from erp.models.fields import Number


class DecimalField(wtforms.DecimalField):
    """WTForms' DecimalField reading the reader's language: a Turkish user types 12,5 or
    1.234,5 (erp.parsing.local_number). Every form imports this one, not WTForms'."""

    def process_formdata(self, valuelist):
        if valuelist:
            from erp.i18n import current_language
            from erp.parsing import local_number

            valuelist = [local_number(valuelist[0], current_language()), *valuelist[1:]]
        super().process_formdata(valuelist)


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """Select options from (value, label) pairs (WTForms 3.3 deprecates plain tuples); a
    label marked with `N_` where it is declared shows in the reader's language."""
    from erp.i18n import lazy_label

    return [SelectChoice(value, lazy_label(label) if isinstance(label, str) else label)
            for value, label in pairs]


def optional_id(value) -> int | None:
    """A select's value as an id: blank is None (automatic, or none); anything that is not
    an id in range is 0, which no record has, so the service refuses it next to the field."""
    from erp.parsing import parse_id

    if value is None or value == "":
        return None
    return parse_id(str(value)) or 0


def text_validators(field, *before) -> list:
    """A declared text field's validators (`erp.models.fields.Text`): DataRequired when it is
    required, then `before` (e.g. Optional(), Email()), then its Length."""
    from wtforms.validators import DataRequired, Length

    first = [DataRequired()] if field.required else []
    return [*first, *before, Length(max=field.limit)]


def finite(form, field) -> None:
    """Refuse NaN and infinities ('sNaN' too) before NumberRange compares them (it would
    raise, or let them through)."""
    if field.data is not None and not field.data.is_finite():
        field.errors[:] = []
        raise StopValidation(gettext("Enter a number."))


def whole_number(form, field) -> None:
    """Refuse integers too large for NumberRange (it converts them to float: OverflowError)."""
    if field.data is not None and abs(field.data) > 10**9:
        field.errors[:] = []
        raise StopValidation(gettext("Enter a smaller number."))


def number_field(label: str, rule: Number, *, required: bool | str = False,
                 **kwargs) -> DecimalField:
    """A number field under a declared rule (`erp.models.fields.Number`: tax rate,
    discount, price, quantity): its range, with the rule's message, the service's too.
    `required` is True or the message for an empty field; otherwise empty is allowed."""
    from erp.i18n import lazy_gettext

    first = (InputRequired(**({"message": lazy_gettext(required)} if isinstance(required, str)
                              else {}))
             if required else Optional())
    return DecimalField(label, places=None, validators=[
        first, finite,
        # NumberRange %-formats its message: "100 %." must reach it as "100 %%."
        NumberRange(min=rule.minimum, max=rule.maximum, message=LazyString(lambda: gettext(rule.message).replace("%", "%%")))],
        render_kw={"inputmode": "decimal"}, **kwargs)
