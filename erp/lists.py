"""Lists as declarations: one `ListSpec` per list page says what the list may be searched,
filtered and sorted by, what its CSV holds and what its rows load; `ListSpec.response()`
does the rest the same way for every list (parameters -> search -> filters -> sort ->
CSV or page -> render).

Filters share one vocabulary: the archive filter is `status` with `active` (the
default), `archived` and `all`; ids, dates and choices are parsed by the same helpers,
and a value that does not parse is ignored (the list shows everything), never a 500.

The specs live beside the reads of their domain (`erp/queries/<domain>.py`); a view
names its spec and its template and adds what only its page shows (`context`).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from flask import Response
from flask_login import current_user
from sqlalchemy import Select, or_, select

from erp.collation import fold, folded
from erp.collation import reader_order as in_language_order
from erp.csv_io import export_csv, wants_csv
from erp.extensions import db
from erp.replicas import primary_reads, replica_reads
from erp.queries import Page, company_select, paginate
from erp.parsing import parse_date, parse_id, picked_id
from erp.i18n import current_language
from erp.web import ListParams, render, viewer_zone

ARCHIVE_CHOICES = [("active", "Active"), ("archived", "Archived"), ("all", "Active and archived")]


@dataclass(frozen=True)
class Filter:
    """A query-string filter: `apply(stmt, value)` narrows the select for a non-empty value."""

    name: str
    apply: Callable[[Select, str], Select]
    always: bool = False  # also applied to an empty value (the archive filter's default)


def archive_filter(model, default: str = "active") -> Filter:
    """`status`: active records by default, `archived` (or the older `inactive`), `all`;
    an empty or unknown value is `default` (`all` for a list that shows every record)."""
    def apply(stmt: Select, value: str) -> Select:
        if value not in ("active", "archived", "inactive", "all"):
            value = default
        if value in ("archived", "inactive"):
            return stmt.where(model.active.is_(False))
        if value == "all":
            return stmt
        return stmt.where(model.active.is_(True))
    return Filter("status", apply, always=True)


def choice_filter(name: str, column, values: Mapping[str, Any] | Sequence[str]) -> Filter:
    """`column == value` for one of the known `values`; anything else is ignored."""
    return Filter(name, lambda stmt, value: stmt.where(column == value)
                  if value in values else stmt)


def id_filter(name: str, column) -> Filter:
    """`column == id` for a value that is a record id."""
    def apply(stmt: Select, value: str) -> Select:
        record_id = parse_id(value)
        return stmt if record_id is None else stmt.where(column == record_id)
    return Filter(name, apply)


def date_filter(name: str, column, *, until: bool = False) -> Filter:
    """`column >= date` (or `<=` with `until`) for a value that is an ISO date."""
    def apply(stmt: Select, value: str) -> Select:
        day = parse_date(value)
        if day is None:
            return stmt
        return stmt.where(column <= day if until else column >= day)
    return Filter(name, apply)


def day_filter(name: str, column, *, until: bool = False) -> Filter:
    """Rows of a time column from the start of a day (or, `until`, to its end), the day
    as the list shows it: in the viewer's company's time zone (times are stored in UTC)."""
    def apply(stmt: Select, value: str) -> Select:
        day = parse_date(value)
        if day is None:
            return stmt
        start = datetime.combine(day, time.min, viewer_zone())
        if until:
            return stmt.where(column < start + timedelta(days=1))
        return stmt.where(column >= start)
    return Filter(name, apply)


def date_range(column, names: tuple[str, str] = ("date_from", "date_to"), *,
               day: bool = False) -> list[Filter]:
    """The two filters of a period on one date column: from the first name's day on, to the
    second's included (`day`: a timestamp column, by the company's days)."""
    make = day_filter if day else date_filter
    return [make(names[0], column), make(names[1], column, until=True)]


def contains(*columns) -> Callable[[str], Any]:
    """A case-insensitive "contains" search over text columns, Turkish I's included
    (erp.collation; small tables only: big ones are searched through an index, see
    `erp.queries.search`)."""
    def criterion(text: str):
        like = f"%{fold(text)}%"
        return or_(*(folded(column).like(like) for column in columns))
    return criterion


def text_filter(name: str, *columns) -> Filter:
    """A "contains" filter on its own query-string parameter."""
    match = contains(*columns)
    return Filter(name, lambda stmt, value: stmt.where(match(value)))


def by_id(name: str, column, model, *search_columns) -> Filter:
    """A record picked by a picker ('Name [#id]', or an id): that record; any other text
    filters by the referenced records whose `search_columns` contain it."""
    match = contains(*search_columns)

    def apply(stmt: Select, value: str) -> Select:
        record_id = picked_id(value)
        if record_id is not None:
            return stmt.where(column == record_id)
        return stmt.where(column.in_(
            select(model.id).where(model.company_id == current_user.company_id, match(value))))
    return Filter(name, apply)


def product_filter(name: str, column) -> Filter:
    """The product a SKU (or a picker's 'Name [#id]') names; no rows when none has it."""
    def apply(stmt: Select, value: str) -> Select:
        from erp.services.catalog import find_product

        product = find_product(current_user.company_id, value)
        return stmt.where(column == (product.id if product else -1))
    return Filter(name, apply)


def document_list(model, *, dated, statuses, number=None, parties: Sequence[Filter] = (),
                  sorts: Mapping[str, Any] | None = None, extra: Sequence[Filter] = (),
                  **options) -> "ListSpec":
    """The list of a kind of document: newest first by its date `dated` (the id tie-breaker
    follows the direction: ix_<table>_company_date_id), sorted by date, number (`number`,
    else the model's) and `sorts`; filtered by status, `parties` (the party, warehouses),
    number, a period (date_from, date_to) and `extra`. `options`: the rest of the ListSpec
    (csv, options, ...)."""
    number = model.number if number is None else number
    return ListSpec(
        model=model, sorts={"date": dated, "number": number, **(sorts or {})},
        default_sort="-date", stable_desc=True,
        filters=[choice_filter("status", model.status, statuses), *parties,
                 text_filter("number", number), *date_range(dated), *extra],
        **options)


def newest_first(model, *, sorts: Mapping[str, Any] | None = None, **options) -> "ListSpec":
    """A log's list (jobs, the ledger, the audit trail): newest first by its created time
    (`created`, the id tie-breaker following the direction) unless sorted by `sorts`.
    `options`: the rest of the ListSpec."""
    return ListSpec(model=model, sorts={"created": model.created_at, **(sorts or {})},
                    default_sort="-created", stable_desc=True, **options)


def party_filter(model, party_key: str, party) -> Filter:
    """The filter of a document's party by id (`customer`, `supplier`: `party_key` without
    its `_id`), its picker searching the party's name."""
    return by_id(party_key.removesuffix("_id"), getattr(model, party_key), party, party.name)


def attrs(model, *names: str) -> list[tuple[str, Any]]:
    """CSV columns headed by the names of `model`'s attributes: `*attrs(Order, "number",
    "status")` is ("number", Order.number), ("status", Order.status)."""
    return [(name, getattr(model, name)) for name in names]


@dataclass(frozen=True)
class Csv:
    """A list's CSV export: a file name and (header, column) pairs, or a function of the
    filtered select that answers the whole response (e.g. the import format)."""

    name: str = ""
    columns: Sequence[tuple[str, Any]] = ()
    joins: Sequence[tuple[Any, Any]] = ()
    row: Callable | None = None
    response: Callable[[Select], Response] | None = None

    def export(self, stmt: Select) -> Response:
        if self.response is not None:
            return self.response(stmt)
        return export_csv(self.name, stmt, self.columns, joins=self.joins, row=self.row)


@dataclass(frozen=True)
class ListSpec:
    """What one list page may show. `sorts` maps a sort key to its column (the whitelist);
    the tie-breaker is the model's id in the same direction when `stable_desc`, else
    ascending."""

    model: Any
    sorts: Mapping[str, Any]
    default_sort: str
    search: Callable[[str], Any] | None = None
    filters: Sequence[Filter] = ()
    csv: Csv | None = None
    options: Sequence[Any] = ()
    count: bool = True             # a capped count of the rows (off: "Rows 1-20" only)
    count_search: bool = True      # off: no count while searching (index-served searches)
    stable_desc: bool = False      # the id tie-breaker follows the sort direction
    base: Callable[[], Select] | None = None  # the unfiltered select (default: the company's)
    block: str = "results"
    extra_filters: Sequence[str] = field(default_factory=tuple)  # parameters read, not applied
    per_page: int = 20             # rows per page unless `per_page` is asked for
    id_desc: bool = False          # the id tie-breaker is always descending
    rows: bool = False             # the select has several columns: pages of rows, no count
    nulls_last: bool = False       # rows without a value of the sort column come last
    # the ORDER BY itself, for a list whose indexes want their own tie-breakers (stock)
    order: Callable[[Select, "ListParams"], Select] | None = None
    # sort keys of names and codes: in the reader's language's order (Turkish: ç after c,
    # ı before i, any case; erp.collation.reader_order), others as the database compares
    collated: Sequence[str] = ()
    # a report of grouped rows (`rows`) whose page and `context` are kept in the cache per
    # company and request, computed anew when one of these areas is written
    # (erp.cache_versions): a grouped query over every open invoice costs tens of ms (#17)
    cached: Sequence[str] = ()

    def params(self) -> ListParams:
        names = [f.name for f in self.filters] + list(self.extra_filters)
        return ListParams.from_request(sort_keys=list(self.sorts), default_sort=self.default_sort,
                                       filters=names, per_page_default=self.per_page)

    def select(self, params: ListParams, base: Select | None = None, *,
               reader_order: bool = True) -> Select:
        """The filtered, ordered select of the rows asked for (before pagination); the
        `collated` sorts in the reader's language's order unless `reader_order` is off."""
        stmt = base if base is not None else (self.base() if self.base else
                                              company_select(self.model))
        if params.q and self.search is not None:
            stmt = stmt.where(self.search(params.q))
        for filter_ in self.filters:
            value = params.filters.get(filter_.name, "")
            if value or filter_.always:
                stmt = filter_.apply(stmt, value)
        if self.order is not None:
            return self.order(stmt, params)
        column = self.sorts[params.sort_key]
        if reader_order and params.sort_key in self.collated:
            column = in_language_order(column, db.session.get_bind(), current_language())
        tiebreak = self.model.id.desc() if self.id_desc or (
            self.stable_desc and params.descending) else self.model.id.asc()
        ordered = column.desc() if params.descending else column.asc()
        # only a column that can be NULL says NULLS LAST: on PostgreSQL a DESC NULLS LAST
        # order cannot be read backwards from an ascending index, so a NOT NULL column's
        # (a submission's created time) would sort the whole table instead of reading 20
        # rows from its index
        if self.nulls_last and getattr(getattr(column, "expression", column), "nullable", True):
            ordered = ordered.nulls_last()
        return stmt.order_by(ordered, tiebreak)

    def page(self, params: ListParams, stmt: Select) -> Page:
        if self.rows:
            found = db.session.execute(stmt.limit(params.per_page + 1)
                                       .offset((params.page - 1) * params.per_page)).all()
            return Page(items=found[:params.per_page], page=params.page,
                        per_page=params.per_page, has_next=len(found) > params.per_page)
        count = self.count and (self.count_search or not params.q)
        return paginate(stmt.options(*self.options) if self.options else stmt,
                        page=params.page, per_page=params.per_page, count=count)

    @replica_reads
    def response(self, template: str, *, base: Select | None = None,
                 context: Callable[[Page, ListParams], dict] | None = None,
                 cache_key: str = "", **extra):
        """The list page (or its results block for htmx), or its CSV for `?format=csv`
        (above EXPORT_JOB_ROWS rows: a redirect to the job that makes it). `context` adds
        what only the page shows (cached with the page for a `cached` list)."""
        params = self.params()
        stmt = self.select(params, base)
        if wants_csv() and self.csv is not None:
            if base is None:  # a big export becomes a background job (erp/exports.py)
                from erp.exports import export_as_job

                job_page = export_as_job(self, stmt)
                if job_page is not None:
                    return job_page
            return self.csv.export(stmt)
        if self.cached:
            page, more = self.cached_page(params, stmt, context, cache_key)
        else:
            page = self.page(params, stmt)
            more = context(page, params) if context is not None else {}
        extra.update(more)
        return render(template, block=self.block, page=page, params=params, **extra)

    def cached_page(self, params: ListParams, stmt: Select,
                    context: Callable[[Page, ListParams], dict] | None,
                    cache_key: str) -> tuple[Page, dict]:
        """The page and its `context` from the company's cache (one entry per request: the
        list's address, its parameters and the view's `cache_key`, which names what the
        view put in `stmt` besides the parameters, e.g. the effective date), computed
        anew after a write to one of the `cached` areas."""
        from erp.cache_versions import cached

        def compute() -> tuple[Page, dict]:
            with primary_reads():  # kept under today's versions: not from a lagging replica
                page = self.page(params, stmt)
                return page, (context(page, params) if context is not None else {})

        where = (params.endpoint, sorted(params.view_args.items()), params.query(), cache_key,
                 current_language() if self.collated else "")
        name = "list:" + hashlib.sha1(repr(where).encode()).hexdigest()
        return cached(current_user.company_id, name, self.cached, compute)

