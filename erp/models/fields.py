"""Fields declared once.

Text: a record's text fields with their length limit (the column's size) and whether they
are required. The model's columns, the WTForms form's validators, the service's checks
(`erp.services.validation.clean_texts`) and the CSV import's `max_length` all read the
same declaration, so a limit changes in one place.

Number: one rule per kind of value (a tax rate, a discount, a price, a quantity): its
range, its precision (the column's scale) and the message that names the range. The line
forms (`erp.forms.number_field`) and the services (`erp.services.validation.
clean_number`) of sales, purchasing and production read the same rule, so every document
refuses a 101 % tax rate with the same words.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import String, Text as LongText


@dataclass(frozen=True)
class Text:
    """A text field: at most `limit` characters; `required` is True or the message shown
    when it is empty (e.g. "Enter a name.")."""

    limit: int
    required: bool | str = False
    long: bool = False  # stored as TEXT (addresses, descriptions), checked against `limit`

    def column(self):
        """The column type: VARCHAR(limit), or TEXT for long free text."""
        return LongText() if self.long else String(self.limit)


LONG_TEXT = 5000  # descriptions and addresses of catalog and inventory records


@dataclass(frozen=True)
class Number:
    """A number from `minimum` to `maximum` with at most `step`'s decimals (the column's
    scale); `message` is the answer to a value out of range."""

    step: Decimal
    maximum: Decimal
    message: str
    minimum: Decimal = Decimal("0")

    @property
    def decimals(self) -> int:
        return -self.step.as_tuple().exponent


_MONEY_MAX = Decimal("999999999999.99")  # Numeric(14, 2)
_QUANTITY_MAX = Decimal("99999999999")  # Numeric(14, 3), whole part kept to 11 digits
_PERCENT_STEP = Decimal("0.001")  # Numeric(7, 3)

TAX_RATE = Number(_PERCENT_STEP, Decimal("100"), "Enter a tax rate from 0 to 100 %.")
DISCOUNT = Number(_PERCENT_STEP, Decimal("100"), "Enter a discount from 0 to 100 %.")
PRICE = Number(Decimal("0.01"), _MONEY_MAX, "Enter an amount from 0 to 999,999,999,999.99.")
# more than zero: the smallest step is the least quantity
QUANTITY = Number(Decimal("0.001"), _QUANTITY_MAX,
                  "Enter a quantity from 0.001 to 99,999,999,999.", minimum=Decimal("0.001"))
