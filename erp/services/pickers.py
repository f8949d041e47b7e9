"""Pickers: a text box that suggests a model's records as you type (a datalist filled by
htmx) and sends back the chosen record's `picker_label`, 'Name [#id]' for most models.

Two rules for every picker, whatever the model:
- `search`: the company's records (active ones unless told otherwise) whose columns
  contain what was typed, any case, bounded; a picked value's ' [#id]' ending is ignored,
  so a chosen record stays among the suggestions.
- `resolve`: the record a submitted value names: 'anything [#id]' in the company, or else
  the one record whose column equals the text (any case), or else the one whose `exact`
  column (a barcode) equals it; None when there is none, or when several match (the user
  then chooses from the list).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import ColumnElement, func, or_, select

from erp.collation import fold, folded
from erp.extensions import db
from erp.parsing import PICKED_ID, picked_id

LIMIT = 20
MAX_QUERY = 100


def typed(text: str | None) -> str:
    """What was typed into a picker, without a picked value's ' [#id]' ending (bounded)."""
    return PICKED_ID.sub("", (text or "")[:MAX_QUERY]).strip()


def search(model, company_id: int, q: str | None, columns: Sequence = (), *,
           match: Callable[[str], ColumnElement[bool]] | None = None, limit: int = LIMIT,
           active_only: bool = True, where: Sequence = (), order_by: Sequence = (),
           options: Sequence = ()) -> list:
    """The company's records whose `columns` contain `q` (or that `match(q)` accepts),
    ordered by `order_by` (default: the columns, then id), at most `limit` of them."""
    stmt = select(model).where(model.company_id == company_id, *where).options(*options)
    if active_only:
        stmt = stmt.where(model.active.is_(True))
    q = typed(q)
    if q:
        like = f"%{fold(q)}%"
        stmt = stmt.where(match(q) if match is not None
                          else or_(*(folded(column).like(like) for column in columns)))
    order = tuple(order_by) or (*columns, model.id)
    return list(db.session.scalars(stmt.order_by(*order).limit(limit)))


def resolve(model, company_id: int, text: str | None, column=None, *,
            key: Callable[[str], str] = str.strip, exact: Sequence = ()):
    """The record a picker value names: 'anything [#id]' in the company, else the only one
    whose `column` equals `key(text)` in any case, else the only one whose first `exact`
    column equals the text as typed (e.g. a product's barcode); None otherwise."""
    text = (text or "").strip()
    if not text:
        return None
    stmt = select(model).where(model.company_id == company_id)
    record_id = picked_id(text)
    if record_id is not None:
        return db.session.scalar(stmt.where(model.id == record_id))
    tries = ([func.lower(column) == key(text).lower()] if column is not None else []) + [
        other == text for other in exact]
    for criterion in tries:
        found = list(db.session.scalars(stmt.where(criterion).order_by(model.id).limit(2)))
        if found:
            return found[0] if len(found) == 1 else None
    return None
