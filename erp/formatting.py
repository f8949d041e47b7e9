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
