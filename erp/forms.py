"""Form helpers shared by every blueprint."""
from __future__ import annotations

from collections.abc import Iterable

from wtforms.fields.choices import SelectChoice


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """Select options from (value, label) pairs (WTForms 3.3 deprecates plain tuples)."""
    return [SelectChoice(value, label) for value, label in pairs]


def text_validators(field, *before) -> list:
    """A declared text field's validators (`erp.models.fields.Text`): DataRequired when it is
    required, then `before` (e.g. Optional(), Email()), then its Length."""
    from wtforms.validators import DataRequired, Length

    first = [DataRequired()] if field.required else []
    return [*first, *before, Length(max=field.limit)]
