"""Cache calls that never fail a request.

Flask-Caching's direct calls raise when Redis is down; these wrappers treat an outage
as a miss, log it once (not per request), and log again when the cache is back.

Every call is timed and counted (hit, miss, error) for the monitoring: observers
registered with `add_observer` get `(operation, seconds, outcome)`; `stats` holds the
process's running totals. Health round trips are not counted as hits or misses.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from erp.extensions import cache

log = logging.getLogger(__name__)
_state = {"down": False}

# outcome: "hit", "miss", "set", "delete" or "error"; count: the keys it was for (a
# get_many's hits, then its misses, are observed once each: #17)
Observer = Callable[[str, float, str, int], None]
_observers: list[Observer] = []
stats = {"hits": 0, "misses": 0, "errors": 0, "seconds": 0.0}


def add_observer(observer: Observer) -> None:
    """Call `observer(operation, seconds, outcome, count)` after every cache call
    (idempotent)."""
    if observer not in _observers:
        _observers.append(observer)


def _observe(operation: str, started: float, outcome: str, *, counted: bool = True,
             count: int = 1) -> None:
    seconds = time.perf_counter() - started
    stats["seconds"] += seconds
    if counted:
        if outcome == "hit":
            stats["hits"] += count
        elif outcome == "miss":
            stats["misses"] += count
    if outcome == "error":
        stats["errors"] += 1
    if not counted and outcome in {"hit", "miss"}:
        outcome = "probe"
    for observer in _observers:
        try:
            observer(operation, seconds, outcome, count)
        except Exception:  # monitoring must never break a cache call
            log.debug("cache observer failed", exc_info=True)


def _failed(exc: Exception) -> None:
    if not _state["down"]:
        _state["down"] = True
        log.error("cache unavailable, falling back to the database: %s", exc)


def _ok() -> None:
    if _state["down"]:
        _state["down"] = False
        log.warning("cache available again")


def cache_get(key: str, *, counted: bool = True) -> Any:
    started = time.perf_counter()
    try:
        value = cache.get(key)
    except Exception as exc:  # Redis down or timing out: a miss
        _failed(exc)
        _observe("get", started, "error")
        return None
    _ok()
    _observe("get", started, "miss" if value is None else "hit", counted=counted)
    return value


def cache_get_many(keys: list[str]) -> list[Any]:
    """The values of `keys` in one round trip (None for a miss), each counted as a hit or
    miss; an outage is all misses."""
    if not keys:
        return []
    started = time.perf_counter()
    try:
        values = list(cache.get_many(*keys))
    except Exception as exc:
        _failed(exc)
        _observe("get", started, "error")
        return [None] * len(keys)
    _ok()
    # observed once for the hits and once for the misses, not once per key (the
    # dashboard reads ~25 keys: ~14 us each, #17); the round trip is charged to the hits
    misses = values.count(None)
    if misses < len(values):
        _observe("get", started, "hit", count=len(values) - misses)
        started = time.perf_counter()
    if misses:
        _observe("get", started, "miss", count=misses)
    return values


def cache_set(key: str, value: Any, timeout: int | None = None) -> bool:
    started = time.perf_counter()
    try:
        result = bool(cache.set(key, value, timeout=timeout))
    except Exception as exc:
        _failed(exc)
        _observe("set", started, "error")
        return False
    _ok()
    _observe("set", started, "set")
    return result


def cache_delete(key: str) -> None:
    started = time.perf_counter()
    try:
        cache.delete(key)
    except Exception as exc:
        _failed(exc)
        _observe("delete", started, "error")
        return
    _observe("delete", started, "delete")


def cache_available() -> bool:
    """False after a failed call, until a call succeeds again."""
    return not _state["down"]


def cache_roundtrip() -> bool:
    """Set and read back a random value: True when the cache works (not a hit or miss)."""
    key = "health:" + uuid.uuid4().hex
    token = uuid.uuid4().hex
    if not cache_set(key, token, timeout=10):
        return False
    ok = cache_get(key, counted=False) == token
    cache_delete(key)
    return ok
