"""Number formatting for pages and messages (pure functions)."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def money(value, currency: str | None = None) -> str:
    if value is None:
        return ""
    value = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{value:,.2f}"
    return f"{text} {currency}" if currency else text


def quantity(value) -> str:
    if value is None:
        return ""
    value = Decimal(value).normalize()
    if value == value.to_integral():
        return f"{value:,.0f}"
    return f"{value:,f}"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """"1 line", "2 lines" (and "0 lines"): the count with its noun."""
    noun = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {noun}"
