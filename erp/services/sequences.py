"""Document numbers (SO-2026-000123) from a per-company counter row, unique under concurrency."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from erp.extensions import db
from erp.models import DocumentSequence
from erp.models.core import company_today


def next_number(company_id: int, series: str, *, on: date | None = None, width: int = 6) -> str:
    """Return the next number of `series` for the company, e.g. ``SO-2026-000123``.

    Runs inside the caller's transaction (flushes, never commits). The counter row is
    incremented with an atomic UPDATE, which locks it until the caller commits, so two
    transactions never get the same number; a rollback gives the number back. The year is
    `on`'s, by default the company's today (its time zone's, not the server's).
    """
    year = (on or company_today(company_id)).year
    value = _increment(company_id, series, year)
    if value is None:
        # First number of the year: create the row. A concurrent creator may win the
        # race; then the savepoint is rolled back and the UPDATE below takes its row.
        try:
            with db.session.begin_nested():
                db.session.add(DocumentSequence(company_id=company_id, series=series,
                                                year=year, last_value=0))
        except IntegrityError:
            pass
        value = _increment(company_id, series, year)
    return f"{series}-{year}-{value:0{width}d}"


def _increment(company_id: int, series: str, year: int) -> int | None:
    stmt = (
        update(DocumentSequence)
        .where(DocumentSequence.company_id == company_id,
               DocumentSequence.series == series,
               DocumentSequence.year == year)
        .values(last_value=DocumentSequence.last_value + 1)
        .returning(DocumentSequence.last_value)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(stmt).scalar_one_or_none()


def peek_last(company_id: int, series: str, year: int) -> int:
    return db.session.scalar(
        select(DocumentSequence.last_value).where(
            DocumentSequence.company_id == company_id,
            DocumentSequence.series == series,
            DocumentSequence.year == year,
        )
    ) or 0
