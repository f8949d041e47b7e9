"""Reads for pages: company-scoped lookups and pagination without COUNT over big tables."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, func, select

from erp.extensions import db

T = TypeVar("T")

COUNT_CAP = 1000


def scoped_get_or_404(model: type[T], record_id: int, *options: Any) -> T:
    """The record of the current user's company with this id, or 404 (also for other companies)."""
    stmt = select(model).where(model.id == record_id, model.company_id == current_user.company_id)
    if options:
        stmt = stmt.options(*options)
    record = db.session.scalar(stmt)
    if record is None:
        abort(404)
    return record


def company_select(model: type[T]) -> Select:
    return select(model).where(model.company_id == current_user.company_id)


def scoped_get(model: type[T], record_id: int | None) -> T | None:
    """The current company's record with this id, or None (no id, no such record, or
    another company's): a form's prefill from the query string."""
    if record_id is None:
        return None
    return db.session.scalar(company_select(model).where(model.id == record_id))


@dataclass
class Page(Generic[T]):
    items: list[T]
    page: int
    per_page: int
    has_next: bool
    total: int | None = None  # capped at COUNT_CAP; shown as "1000+" when capped

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.per_page + len(self.items)

    @property
    def total_label(self) -> str:
        if self.total is None:
            return ""
        from erp.formatting import number
        from erp.i18n import current_language

        shown = min(self.total, COUNT_CAP)
        return number(shown, current_language()) + ("+" if self.total > COUNT_CAP else "")


DEFERRED_FROM = 100  # rows skipped from which a page's ids are read first


def paginate(stmt: Select, *, page: int, per_page: int, count: bool = True) -> Page:
    """One page of `stmt` (which must have a deterministic order) and a capped count.

    One query fetches per_page + 1 rows to know whether there is a next page; the count
    stops at COUNT_CAP + 1 ids, so neither grows with the size of the table. A deep page
    first reads only the ids of its rows (the ordering index alone can answer that,
    without reading or joining the rows it skips), then loads those rows with `stmt`'s
    joins and eager loads: page 500 costs about what page 1 does.
    """
    entity = stmt.column_descriptions[0]["entity"]
    ids = stmt.with_only_columns(entity.id)
    offset = (page - 1) * per_page
    if offset < DEFERRED_FROM:
        rows = list(db.session.scalars(stmt.limit(per_page + 1).offset(offset)))
        has_next = len(rows) > per_page
        rows = rows[:per_page]
    else:
        page_ids = list(db.session.scalars(ids.limit(per_page + 1).offset(offset)))
        has_next = len(page_ids) > per_page
        page_ids = page_ids[:per_page]
        by_id = {row.id: row for row in db.session.scalars(
            stmt.where(entity.id.in_(page_ids)))} if page_ids else {}
        rows = [by_id[id_] for id_ in page_ids if id_ in by_id]
    total = None
    if count:
        capped = ids.order_by(None).limit(COUNT_CAP + 1).subquery()
        total = db.session.scalar(select(func.count()).select_from(capped))
    return Page(items=rows, page=page, per_page=per_page, has_next=has_next, total=total)
