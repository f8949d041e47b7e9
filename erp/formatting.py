"""Number, money and date formatting for pages, PDFs and messages (pure functions: the
language is an argument; the template filters pass the request's).

English keeps the plain forms the app always showed (1,234.56; ISO dates, which read the
same everywhere); other languages use their locale's separators, month names and
currency signs from Babel's data (Turkish: 1.234,56 TL, 2 Ara 2026). CSV exports do not
come through here: they stay machine-readable in every language."""
from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, format_datetime

ENGLISH = "en"
# How a currency is written after an amount where the locale's habit is not its ISO code.
CURRENCY_SIGNS = {("tr", "TRY"): "TL"}
DATE_PATTERN = "d MMM y"
DATETIME_PATTERN = "d MMM y HH:mm"


@lru_cache(maxsize=16)
def _separators(language: str) -> dict[int, str]:
    """A str.translate table from Python's "1,234.5" to the locale's grouping and decimal
    marks (English: none)."""
    if language == ENGLISH:
        return {}
    symbols = Locale.parse(language).number_symbols.get("latn", {})
    return str.maketrans({",": symbols.get("group", ","), ".": symbols.get("decimal", ".")})


def _local(text: str, language: str) -> str:
    table = _separators(language)
    return text.translate(table) if table else text


def money(value, currency: str | None = None, language: str = ENGLISH) -> str:
    if value is None:
        return ""
    value = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = _local(f"{value:,.2f}", language)
    if not currency:
        return text
    return f"{text} {CURRENCY_SIGNS.get((language, currency), currency)}"


def quantity(value, language: str = ENGLISH) -> str:
    if value is None:
        return ""
    value = Decimal(value).normalize()
    if value == value.to_integral():
        return _local(f"{value:,.0f}", language)
    return _local(f"{value:,f}", language)


def number(value, language: str = ENGLISH) -> str:
    """A count (1,234 / 1.234)."""
    return "" if value is None else _local(f"{value:,}", language)


def day(value: date, language: str = ENGLISH) -> str:
    """A date: 2026-12-02 in English, 2 Ara 2026 in Turkish."""
    if language == ENGLISH:
        return value.isoformat()
    return format_date(value, DATE_PATTERN, locale=language)


# English month abbreviations as Babel writes them ("MMM"): English pages format months
# without loading Babel's English locale data (5 MB per worker process, #17)
ENGLISH_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                  "Nov", "Dec")


def month(value: date, language: str = ENGLISH) -> str:
    """A month: Dec 2026 / Ara 2026."""
    if language == ENGLISH:
        return f"{ENGLISH_MONTHS[value.month - 1]} {value.year}"
    return format_date(value, "MMM y", locale=language)


def moment(value: datetime, language: str = ENGLISH) -> str:
    """An aware datetime already in the reader's zone: 2026-12-02 14:05 / 2 Ara 2026 14:05."""
    if language == ENGLISH:
        return value.strftime("%Y-%m-%d %H:%M")
    return format_datetime(value, DATETIME_PATTERN, tzinfo=value.tzinfo, locale=language)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """"1 line", "2 lines" (and "0 lines"): the count with its noun."""
    noun = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {noun}"
