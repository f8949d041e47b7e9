"""Text from forms and query strings turned into ids and dates: one place for each rule,
used by views, list filters and services alike. Nothing here raises for bad text: it
answers None, and the caller decides whether that is an error or "no filter"."""
from __future__ import annotations

import re
from datetime import date

from babel.numbers import NumberFormatError, parse_decimal

# Record ids are positive and fit a 64-bit signed column; anything else is not an id.
MAX_ID = 2**63 - 1
PICKED_ID = re.compile(r"\[#(\d{1,19})\]\s*$")


def parse_id(text: str | None) -> int | None:
    """A record id typed or passed as text, or None for anything else (never an error)."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def picked_id(text: str | None) -> int | None:
    """The id in a picker value such as 'Acme Ltd [#42]' (see the `picker` macro)."""
    match = PICKED_ID.search(text or "")
    return parse_id(match.group(1)) if match else None


def parse_date(text: str | None) -> date | None:
    """An ISO date (YYYY-MM-DD) from a query string, or None for anything else."""
    try:
        return date.fromisoformat(text.strip()) if text else None
    except ValueError:
        return None


def local_number(text: str, language: str) -> str:
    """A number typed in `language` as Python writes it ("1.234,5" in Turkish -> "1234.5"),
    for Decimal() to read. Only a text with the language's own decimal comma is read by the
    locale's rules: a text without one is taken as the browser's number inputs and the
    app's own form values write it ("12.5"). Text that is no number is returned as it is
    (the caller refuses it)."""
    text = (text or "").strip()
    if language == "en" or "," not in text:
        return text
    try:
        return str(parse_decimal(text, locale=language, strict=True))
    except (NumberFormatError, ValueError):
        return text
