"""Per-company, per-area cache versions: cached figures invalidated on commit by the writes
that change them, with no change to the services.

Every business table belongs to one or more *areas* (`TABLE_AREAS`: sales, purchasing,
inventory, catalog, production, tasks ...). Session events on `db.session`:

- `after_flush` notes (company, area) for every new, changed or deleted object that has a
  `company_id`;
- `do_orm_execute` notes the area of bulk UPDATE / DELETE / INSERT statements (the stock
  service's atomic `UPDATE ... RETURNING` never shows in `session.dirty`); their company
  is read from the statement's `company_id = :x` criterion (or, for a bulk INSERT, from
  its rows when they all name one company) when there is one, else it is
  every company the same transaction wrote ORM objects for, else (never in this code
  base) a global epoch that every key includes;
- `after_commit` gives each noted (company, area) a new version in the cache (a fresh
  uuid4: never reused, so an evicted version key cannot bring an old fragment back);
- a rollback of the outermost transaction discards the notes: nothing is bumped.

`cache_key(company_id, name, areas)` builds a stamp from the versions of the areas a figure
depends on, and `cached(...)` keeps a value with the stamp it was computed under (one
entry per company and name): a bumped area changes the stamp, so the next read computes
the value anew and overwrites the entry. All cache calls go through the
wrappers of `erp.cache`: a Redis outage is a miss, never a failed request or commit.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, g, has_app_context, has_request_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter
from sqlalchemy.sql.visitors import iterate

from erp.cache import cache_available, cache_get, cache_get_many, cache_set
from erp.extensions import db

log = logging.getLogger(__name__)

TABLE_AREAS: dict[str, tuple[str, ...]] = {
    # the reports that name customers or suppliers (the agings, the sales analysis) are
    # kept through the orders' writes: a party's own area changes only with the party
    "customers": ("sales", "customers"),
    "sales_orders": ("sales",),
    "sales_order_items": ("sales",),
    "delivery_notes": ("sales",),
    "delivery_note_lines": ("sales",),
    # only a confirmation or the cancelling of a confirmed order changes these: drafts and
    # their lines leave the sums and the top products cached
    "sales_month_totals": ("sales_totals",),
    "sales_product_totals": ("sales_totals",),
    "purchase_orders": ("purchasing",),
    "purchase_order_items": ("purchasing",),
    "goods_receipts": ("purchasing",),
    "goods_receipt_lines": ("purchasing",),
    "stock_levels": ("inventory",),
    "stock_movements": ("inventory",),
    "lots": ("inventory",),
    "lot_levels": ("inventory",),
    "warehouses": ("inventory",),
    "products": ("inventory", "catalog"),
    "categories": ("catalog",),
    "suppliers": ("catalog", "suppliers"),
    "production_orders": ("production",),
    "production_order_components": ("production",),
    "work_orders": ("production",),
    "bom_lines": ("production",),
    "employees": ("production",),
    "quality_inspections": ("quality",),
    "todos": ("tasks",),
    # receivables: the dashboard's money figures
    "invoices": ("money",),
    "invoice_lines": ("money",),
    "credit_notes": ("money",),
    "credit_note_lines": ("money",),
    "payments": ("money",),
    "payment_allocations": ("money",),
    "sales_customer_months": ("money",),
    "sales_product_months": ("money",),
    # payables: the dashboard's payables due this week
    "bills": ("payables",),
    "bill_lines": ("payables",),
    "supplier_payments": ("payables",),
    "supplier_payment_allocations": ("payables",),
    "audit_entries": ("audit",),
    "users": ("users",),
}
# An UPDATE that sets only these columns of a table is charged to these areas instead of
# the table's: the stock service keeps products.available on every stock change, which is
# inventory, not a catalog edit (so catalog figures stay cached through a confirmation).
COLUMN_AREAS: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    "products": (frozenset({"available"}), ("inventory",)),
}
OTHER = ("other",)
# every area a version exists for: the first version read of a request reads all of its
# company's at once (one round trip to the cache instead of one per area)
ALL_AREAS: tuple[str, ...] = tuple(sorted(
    {area for areas in TABLE_AREAS.values() for area in areas}
    | {area for _, areas in COLUMN_AREAS.values() for area in areas} | set(OTHER)))
VERSION_TIMEOUT = 0  # versions never expire on their own (a missing one is made anew)
DEFAULT_TIMEOUT = 300  # a cached figure not read (or stale) for this long is dropped

PENDING = "cache_versions_pending"  # session.info: set of (company_id | None, area)
ANY_COMPANY = None
_MEMO = "_cache_versions"  # flask.g, per request: {(company, area): version}
_listening = {"on": False}


def areas_of(table_name: str) -> tuple[str, ...]:
    return TABLE_AREAS.get(table_name, OTHER)


# --- collecting ---------------------------------------------------------------------------

def _pending(session: Session) -> set:
    return session.info.setdefault(PENDING, set())


def _company_of(obj: Any) -> int | None:
    """The object's company_id without a query (None when unloaded or not company-scoped)."""
    state = inspect(obj, raiseerr=False)
    if state is None:
        return None
    value = state.dict.get("company_id")
    if value is None and "company_id" in state.committed_state:
        value = state.committed_state["company_id"]
    return value if isinstance(value, int) else None


def _note_object(pending: set, obj: Any) -> None:
    table = getattr(obj, "__tablename__", None)
    if table is None or not hasattr(type(obj), "company_id"):
        return
    company_id = _company_of(obj)
    for area in areas_of(table):
        pending.add((company_id, area))


def _before_flush(session: Session, _flush_context, _instances) -> None:
    # A deleted object whose attributes expired (after an earlier commit) still has its row
    # now: load its company_id before the DELETE, so after_flush can read it.
    for obj in session.deleted:
        state = inspect(obj)
        if "company_id" not in state.dict and hasattr(type(obj), "company_id"):
            try:
                getattr(obj, "company_id")
            except Exception:  # gone already: the global fallback covers it
                log.debug("company of a deleted object unknown", exc_info=True)


def _after_flush(session: Session, _flush_context) -> None:
    pending = _pending(session)
    for obj in session.new:
        _note_object(pending, obj)
    for obj in session.deleted:
        _note_object(pending, obj)
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False):
            _note_object(pending, obj)


def _statement_company(statement) -> int | None:
    """The value of a `company_id = :value` criterion of an UPDATE / DELETE, if any."""
    where = getattr(statement, "whereclause", None)
    if where is None:
        return None
    for element in iterate(where):
        if (isinstance(element, BinaryExpression) and element.operator is operators.eq
                and getattr(element.left, "name", None) == "company_id"
                and isinstance(element.right, BindParameter)
                and isinstance(element.right.value, int)):
            return element.right.value
    return None


def _rows_company(parameters) -> int | None:
    """The company of a bulk INSERT whose rows all name one (a CSV import's batch)."""
    rows = parameters if isinstance(parameters, (list, tuple)) else [parameters]
    companies = {row.get("company_id") for row in rows if isinstance(row, dict)}
    value = companies.pop() if len(companies) == 1 else None
    return value if isinstance(value, int) else None


def _do_orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name is None:
        return
    company_id = (_rows_company(state.parameters) if state.is_insert
                  else _statement_company(state.statement))
    pending = _pending(state.session)
    areas = areas_of(name)
    if state.is_update and name in COLUMN_AREAS:
        columns, column_areas = COLUMN_AREAS[name]
        if {getattr(c, "key", c) for c in state.statement._values or ()} <= columns:
            areas = column_areas
    for area in areas:
        pending.add((company_id, area))


# --- publishing ---------------------------------------------------------------------------

def _version_key(company_id: int | None, area: str) -> str:
    return f"v:{company_id}:{area}" if company_id is not None else f"v:*:{area}"


EPOCH_KEY = "v:*:epoch"


def _after_commit(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    if not pending or not has_app_context():
        return
    companies = {company for company, _ in pending if company is not None}
    keys: set[str] = set()
    for company_id, area in pending:
        if company_id is not None:
            keys.add(_version_key(company_id, area))
        elif companies:
            # a bulk statement without a company criterion: charge it to the companies
            # this transaction wrote for (the stock service always writes an ORM row too)
            keys.update(_version_key(company, area) for company in companies)
        else:
            keys.add(EPOCH_KEY)
    _publish(keys)


# Version keys whose bump failed (the cache was down): bumped again by this process as soon
# as the cache answers, so figures cached before the outage are not served after it.
_unpublished: set[str] = set()


def _publish(keys: Iterable[str]) -> None:
    memo = _memo()
    for key in keys:
        value = uuid.uuid4().hex
        if cache_set(key, value, timeout=VERSION_TIMEOUT):
            _unpublished.discard(key)
        else:
            _unpublished.add(key)
        if memo is not None:
            memo[key] = value


def _after_soft_rollback(session: Session, previous_transaction) -> None:
    # a savepoint's rollback keeps the outer transaction's notes (an extra bump is harmless)
    if previous_transaction is not None and previous_transaction.nested:
        return
    session.info.pop(PENDING, None)


def init_app(app: Flask) -> None:
    """Listen on db.session's class once per process (every app shares the `db` object)."""
    if _listening["on"]:
        return
    event.listen(db.session, "before_flush", _before_flush)
    event.listen(db.session, "after_flush", _after_flush)
    event.listen(db.session, "do_orm_execute", _do_orm_execute)
    event.listen(db.session, "after_commit", _after_commit)
    event.listen(db.session, "after_soft_rollback", _after_soft_rollback)
    _listening["on"] = True


# --- reading ------------------------------------------------------------------------------

def _memo() -> dict | None:
    """A per-request memo of version reads (never across requests or in a test's context)."""
    if not has_request_context():
        return None
    memo = g.get(_MEMO)
    if memo is None:
        memo = {}
        setattr(g, _MEMO, memo)
    return memo


def _company_keys(company_id: int) -> list[str]:
    return [_version_key(company_id, area) for area in ALL_AREAS] + [EPOCH_KEY]


def _read_company(company_id: int, memo: dict, values: list | None = None) -> None:
    """Read every version of the company (and the epoch) into the request's memo in one
    round trip (or take `values`, read with other keys in one by `prefetch`); a missing
    version is made anew."""
    keys = _company_keys(company_id)
    for key, value in zip(keys, values if values is not None else cache_get_many(keys)):
        if value is None:  # first use, evicted or the cache is down: see _read
            value = uuid.uuid4().hex
            cache_set(key, value, timeout=VERSION_TIMEOUT)
        memo[key] = value
    memo[_company_read(company_id)] = True


def _company_read(company_id: int) -> str:
    return f"read:{company_id}"


def _read(key: str, company_id: int | None = None) -> str:
    memo = _memo()
    if memo is not None and company_id is not None and _company_read(company_id) not in memo:
        _read_company(company_id, memo)
    if memo is not None and key in memo:
        return memo[key]
    value = cache_get(key)
    if value is None:
        # missing (first use, evicted, or the cache is down): a new version, never "0", so
        # a fragment cached under an older version can never be served again
        value = uuid.uuid4().hex
        cache_set(key, value, timeout=VERSION_TIMEOUT)
    if memo is not None:
        memo[key] = value
    return value


def version(company_id: int, area: str) -> str:
    """The current version of (company, area)."""
    return _read(_version_key(company_id, area), company_id)


def cache_key(company_id: int, name: str, areas: Iterable[str]) -> str:
    """A key for `name` of this company that changes whenever one of `areas` is written."""
    key = _key(company_id, name, areas)
    if _unpublished and cache_available():
        # the cache is back after an outage during which this process failed to bump
        _publish(list(_unpublished))
        key = _key(company_id, name, areas)
    return key


def _key(company_id: int, name: str, areas: Iterable[str]) -> str:
    parts = [f"{area}={version(company_id, area)}" for area in sorted(set(areas))]
    parts.append(f"epoch={_read(EPOCH_KEY, company_id)}")
    return f"fig:{company_id}:{name}:" + ":".join(parts)


def storage_key(company_id: int, name: str) -> str:
    """Where `cached` keeps a value: one entry per company and name, whatever the versions."""
    return f"fig:{company_id}:{name}"


_PREFETCHED = "_cache_prefetched"  # flask.g: storage key -> entry read ahead by `prefetch`


def prefetch(company_id: int, names: Iterable[str]) -> None:
    """Read the entries of `names` in one round trip for the `cached` calls of this request
    that follow (a page of several cached parts: one round trip instead of one per part)."""
    if not has_request_context():
        return
    keys = [storage_key(company_id, name) for name in names]
    memo = _memo()
    # the company's versions too, when this request has not read them yet: the parts'
    # stamps need them, and they come in the same round trip
    versions = _company_keys(company_id) if _company_read(company_id) not in memo else []
    values = cache_get_many(keys + versions)
    if versions:
        _read_company(company_id, memo, values[len(keys):])
    store = g.setdefault(_PREFETCHED, {})
    store.update(zip(keys, values[:len(keys)]))


def cached(company_id: int, name: str, areas: Iterable[str], compute: Callable[[], Any], *,
           timeout: int = DEFAULT_TIMEOUT) -> Any:
    """The value of `name` for this company, computed anew when one of `areas` was written.

    The value is stored with its stamp (cache_key: the versions it was computed under) in
    one entry per (company, name), overwritten when the stamp changes. A key per stamp
    would leave an entry behind at every write: under steady writes the file cache of the
    embedded default then grew past its threshold and pruned (read every file) on each
    set, at hundreds of ms per request.
    """
    key = storage_key(company_id, name)
    if has_request_context() and key not in g.get(_PREFETCHED, {}):
        prefetch(company_id, [name])  # the entry with the company's versions: one round trip
    stamp = cache_key(company_id, name, areas)
    prefetched = g.get(_PREFETCHED) if has_request_context() else None
    hit = prefetched.pop(key) if prefetched and key in prefetched else cache_get(key)
    if isinstance(hit, tuple) and len(hit) == 2 and hit[0] == stamp:
        return hit[1]
    value = compute()
    cache_set(key, (stamp, value), timeout=timeout)
    return value
