"""One text check for every service: trimmed, within its limit, present when required.

The limits come from the field declarations beside the models (`erp.models.fields`)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def clean_text(value, field: str, limit: int, errors: dict[str, list[str]],
               required: bool | str = False) -> str:
    """`value` as trimmed text; a message in `errors[field]` when it is empty but
    `required` (True, or the message itself) or longer than `limit`."""
    text = "" if value is None else str(value).strip()
    if required and not text:
        errors.setdefault(field, []).append(
            required if isinstance(required, str) else "This field is required.")
    if len(text) > limit:
        errors.setdefault(field, []).append(f"Use at most {limit} characters.")
    return text


def clean_texts(data: Mapping[str, Any], fields: Mapping[str, Any],
                errors: dict[str, list[str]]) -> dict[str, str]:
    """Every declared text field of `data` (see `erp.models.fields.Text`), cleaned."""
    return {name: clean_text(data.get(name), name, spec.limit, errors, spec.required)
            for name, spec in fields.items()}
