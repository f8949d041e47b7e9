"""Cache calls that never fail a request.

Flask-Caching's direct calls raise when Redis is down; these wrappers treat an outage
as a miss, log it once (not per request), and log again when the cache is back.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any

from erp.extensions import cache

log = logging.getLogger(__name__)
_state = {"down": False}


def _failed(exc: Exception) -> None:
    if not _state["down"]:
        _state["down"] = True
        log.error("cache unavailable, falling back to the database: %s", exc)


def _ok() -> None:
    if _state["down"]:
        _state["down"] = False
        log.warning("cache available again")


def cache_get(key: str) -> Any:
    try:
        value = cache.get(key)
    except Exception as exc:  # Redis down or timing out: a miss
        _failed(exc)
        return None
    _ok()
    return value


def cache_set(key: str, value: Any, timeout: int | None = None) -> bool:
    try:
        result = bool(cache.set(key, value, timeout=timeout))
    except Exception as exc:
        _failed(exc)
        return False
    _ok()
    return result


def cache_delete(key: str) -> None:
    try:
        cache.delete(key)
    except Exception as exc:
        _failed(exc)


def cache_roundtrip() -> bool:
    """Set and read back a random value: True when the cache works."""
    key = "health:" + uuid.uuid4().hex
    token = uuid.uuid4().hex
    if not cache_set(key, token, timeout=10):
        return False
    ok = cache_get(key) == token
    cache_delete(key)
    return ok
