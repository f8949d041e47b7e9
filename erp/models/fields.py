"""Text fields declared once: a record's text fields with their length limit (the column's
size) and whether they are required. The model's columns, the WTForms form's validators,
the service's checks (`erp.services.validation.clean_texts`) and the CSV import's
`max_length` all read the same declaration, so a limit changes in one place."""
from __future__ import annotations

from dataclasses import dataclass

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
