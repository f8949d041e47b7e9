"""Throttling of login attempts, in a store every worker process shares.

Flask-Limiter keeps its counters in memory without Redis: each gunicorn worker counted
alone, so N workers gave an attacker N times the allowance. The `limits` package has no
file or SQLite storage, so the login throttle keeps its own few counters here: in Redis
when `REDIS_URL` is set, else in a small SQLite file beside the file cache
(`LOGIN_THROTTLE_DB`), which all workers of a host share.

What is counted (`LoginThrottle`):

- every login POST per client address, in a fixed window (`RATELIMIT_LOGIN`, e.g. "10
  per minute"): password spraying over many accounts from one address;
- failed logins per account *and* address: after `LOGIN_FREE_FAILURES` failures that
  pair must wait, 1 s, then 2, 4, 8 ... up to `LOGIN_MAX_DELAY_SECONDS`, before its next
  attempt is even looked at. The attacker slows down; the account's owner, from any
  other address, is not held up by it. A success from the address clears its failures;
- the addresses each account has logged in from (`LOGIN_KNOWN_CLIENT_DAYS`): the
  account-wide lock of `erp.services.users.authenticate` (the backstop against guessing
  from very many addresses) does not hold these back.

Accounts are named by a hash of the normalized e-mail (unknown ones alike, so the answer
never tells which accounts exist). The clock is `clock()`, read once per call. A store
that fails (Redis down, file locked) falls back to this process's memory, logged once:
the throttle then counts per worker, as before, and never fails a login.
"""
from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import time

from flask import Flask, current_app

from erp.sqlite_files import LocalSQLite, beside_cache

log = logging.getLogger(__name__)
clock = time.time  # tests move time forward by replacing this
EXTENSION = "erp_login_throttle"


class MemoryStore:
    """Counters in this process (the fallback when the shared store fails)."""

    kind = "memory"

    def __init__(self) -> None:
        self._data: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def incr(self, key: str, ttl: float, now: float) -> int:
        with self._lock:
            value, expires = self._data.get(key, (0, 0.0))
            value = value + 1 if expires > now else 1
            self._data[key] = (value, now + ttl)
            if len(self._data) > 100_000:  # drop what has expired
                self._data = {k: v for k, v in self._data.items() if v[1] > now}
            return value

    def get(self, key: str, now: float) -> int | None:
        value, expires = self._data.get(key, (0, 0.0))
        return value if expires > now else None

    def put(self, key: str, value: int, ttl: float, now: float) -> None:
        with self._lock:
            self._data[key] = (value, now + ttl)

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)


class SQLiteStore(LocalSQLite):
    """A WAL SQLite file shared by the workers of one host: one connection per thread."""

    isolation_level = None
    schema = ("CREATE TABLE IF NOT EXISTS throttle (key TEXT PRIMARY KEY, "
              "value INTEGER NOT NULL, expires REAL NOT NULL) WITHOUT ROWID;")

    def incr(self, key: str, ttl: float, now: float) -> int:
        conn = self._conn()
        value = conn.execute(
            "INSERT INTO throttle VALUES (?, 1, ?) ON CONFLICT (key) DO UPDATE SET "
            "value = CASE WHEN expires > ? THEN value + 1 ELSE 1 END, expires = excluded.expires "
            "RETURNING value", (key, now + ttl, now)).fetchone()[0]
        if now - self._last_prune > 300:
            self._last_prune = now
            conn.execute("DELETE FROM throttle WHERE expires <= ?", (now,))
        return value

    def get(self, key: str, now: float) -> int | None:
        row = self._conn().execute("SELECT value FROM throttle WHERE key = ? AND expires > ?",
                                   (key, now)).fetchone()
        return row[0] if row else None

    def put(self, key: str, value: int, ttl: float, now: float) -> None:
        self._conn().execute("INSERT OR REPLACE INTO throttle VALUES (?, ?, ?)",
                             (key, value, now + ttl))

    def delete(self, *keys: str) -> None:
        self._conn().executemany("DELETE FROM throttle WHERE key = ?", [(k,) for k in keys])


class RedisStore:
    """Plain keys with a TTL; the values hold what the logic compares with the clock."""

    kind = "redis"

    def __init__(self, url: str, options: dict, prefix: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, **options)
        self.prefix = prefix

    def incr(self, key: str, ttl: float, now: float) -> int:
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(self.prefix + key)
        pipe.expire(self.prefix + key, max(1, int(ttl + 1)))
        return int(pipe.execute()[0])

    def get(self, key: str, now: float) -> int | None:
        value = self.redis.get(self.prefix + key)
        return int(value) if value is not None else None

    def put(self, key: str, value: int, ttl: float, now: float) -> None:
        self.redis.set(self.prefix + key, value, ex=max(1, int(ttl + 1)))

    def delete(self, *keys: str) -> None:
        self.redis.delete(*(self.prefix + key for key in keys))


class LoginThrottle:
    def __init__(self, store, *, per_address: int, window: int, free_failures: int,
                 first_delay: float, max_delay: float, remember_failures: float,
                 known_client_seconds: float, enabled: bool = True) -> None:
        self.store = store
        self.enabled = enabled  # RATELIMIT_ENABLED: off, nothing waits (failures still count)
        self.fallback = MemoryStore()
        self._failed = False
        self.per_address = per_address
        self.window = window
        self.free_failures = free_failures
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.remember_failures = remember_failures
        self.known_client_seconds = known_client_seconds

    # -- the store, never failing a login --------------------------------------------------

    def _call(self, method: str, *args):
        try:
            result = getattr(self.store, method)(*args)
        except Exception as exc:  # Redis down, the file locked too long
            if not self._failed:
                self._failed = True
                log.error("login throttle store unavailable, counting in this process: %s", exc)
            return getattr(self.fallback, method)(*args)
        if self._failed:
            self._failed = False
            log.warning("login throttle store available again")
        return result

    # -- the rules ------------------------------------------------------------------------

    @staticmethod
    def _account(email: str) -> str:
        return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]

    def _pair(self, email: str, address: str) -> str:
        return f"{self._account(email)}:{address}"

    def attempt(self, email: str, address: str) -> int:
        """Count a login POST; the seconds to wait when it must not be checked, else 0."""
        if not self.enabled:
            return 0
        now = clock()
        window_start = int(now // self.window) * self.window
        hits = self._call("incr", f"ip:{address}:{window_start}", self.window, now)
        if hits > self.per_address:
            return max(1, math.ceil(window_start + self.window - now))
        until_ms = self._call("get", f"wait:{self._pair(email, address)}", now)
        if until_ms is not None and until_ms > now * 1000:
            return max(1, math.ceil(until_ms / 1000 - now))
        return 0

    def failed(self, email: str, address: str) -> float:
        """Note a failed login; the delay the pair must now wait (0 while attempts are free)."""
        now = clock()
        pair = self._pair(email, address)
        failures = self._call("incr", f"fail:{pair}", self.remember_failures, now)
        if failures < self.free_failures:
            return 0.0
        delay = min(self.max_delay, self.first_delay * 2 ** (failures - self.free_failures))
        self._call("put", f"wait:{pair}", int((now + delay) * 1000), delay, now)
        return delay

    def succeeded(self, email: str, address: str) -> None:
        now = clock()
        pair = self._pair(email, address)
        self._call("delete", f"fail:{pair}", f"wait:{pair}")
        self._call("put", f"known:{pair}", 1, self.known_client_seconds, now)

    def known(self, email: str, address: str) -> bool:
        """Whether the account has logged in from this address lately."""
        return self._call("get", f"known:{self._pair(email, address)}", clock()) is not None


def store_for(config: dict, instance_path: str):
    """Redis when REDIS_URL is set; else LOGIN_THROTTLE_DB, or a file beside the file cache."""
    if config.get("REDIS_URL"):
        return RedisStore(config["REDIS_URL"], config.get("CACHE_OPTIONS") or {},
                          config.get("CACHE_KEY_PREFIX", "erp:") + "login:")
    return SQLiteStore(beside_cache(config, instance_path, "LOGIN_THROTTLE_DB",
                                    "login-throttle.sqlite3"))


def init_app(app: Flask) -> None:
    from limits import parse

    config = app.config
    if not config.get("LOGIN_THROTTLE_DB"):
        config["LOGIN_THROTTLE_DB"] = os.environ.get("LOGIN_THROTTLE_DB") or None
    limit = parse(config["RATELIMIT_LOGIN"])
    app.extensions[EXTENSION] = LoginThrottle(
        store_for(config, app.instance_path),
        per_address=limit.amount, window=limit.get_expiry(),
        free_failures=config["LOGIN_FREE_FAILURES"],
        first_delay=config["LOGIN_FIRST_DELAY_SECONDS"],
        max_delay=config["LOGIN_MAX_DELAY_SECONDS"],
        remember_failures=config["LOGIN_REMEMBER_FAILURES_SECONDS"],
        known_client_seconds=config["LOGIN_KNOWN_CLIENT_DAYS"] * 86400,
        enabled=config.get("RATELIMIT_ENABLED", True))


def throttle() -> LoginThrottle:
    return current_app.extensions[EXTENSION]
