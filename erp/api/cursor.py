"""Keyset `cursor` links for deep pages of an API list: the next page starts after the
last row's (sort value, id) instead of skipping OFFSET rows, so page 5,000 costs what
page 1 does and rows added meanwhile never shift what comes next.

It follows the ListSpec's own order (sort column, then id, each in the direction the spec
gives: `ListSpec.select`), so it applies to lists ordered by a column of their own model;
a list with an ORDER BY of its own (stock levels), NULLs last or rows of several columns
keeps page numbers.
"""
from __future__ import annotations

import base64
import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import and_, or_

from erp.lists import ListSpec


class BadCursor(ValueError):
    """The cursor is not one this list gave (or not for this sort)."""


def supports(spec: ListSpec, sort_key: str) -> bool:
    column = spec.sorts.get(sort_key)
    return (spec.order is None and not spec.rows and not spec.nulls_last
            and getattr(column, "class_", None) is spec.model)


def _directions(spec: ListSpec, descending: bool) -> tuple[bool, bool]:
    """(sort column descending, id descending), as `ListSpec.select` orders."""
    return descending, spec.id_desc or (spec.stable_desc and descending)


def encode(spec: ListSpec, sort: str, row) -> str | None:
    value = getattr(row, spec.sorts[sort.lstrip("-")].key)
    if value is None:
        return None  # no keyset position: the page links go on by number
    if isinstance(value, (date, datetime)):
        value = value.isoformat()
    elif isinstance(value, Decimal):
        value = str(value)
    raw = json.dumps([sort, value, row.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_value(column, value):
    kind = column.type.python_type
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if kind is Decimal:
        return Decimal(value)
    if kind is bool and isinstance(value, bool):
        return value
    return kind(value)


def after(spec: ListSpec, sort: str, cursor: str):
    """The WHERE criterion of the rows after the cursor's row, in the list's order."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        given_sort, value, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if given_sort != sort or not isinstance(row_id, int) or value is None:
            raise BadCursor
        column = spec.sorts[sort.lstrip("-")]
        value = _decode_value(column, value)
    except BadCursor:
        raise
    except Exception as error:  # base64, JSON, the value's type
        raise BadCursor from error
    column_desc, id_desc = _directions(spec, sort.startswith("-"))
    beyond = column < value if column_desc else column > value
    next_id = spec.model.id < row_id if id_desc else spec.model.id > row_id
    return or_(beyond, and_(column == value, next_id))
