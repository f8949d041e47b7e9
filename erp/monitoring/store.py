"""Per-minute request figures shared by every worker process, for the monitoring page.

Each request adds to the bucket of its minute (counts, sums, a latency histogram, per
endpoint totals); the page merges the buckets of the last hour. Buckets live in Redis
when `REDIS_URL` is set (keys expire after an hour), else in a small SQLite file beside
the file cache (old minutes are deleted). Worker heartbeats (RSS) and the alert history
live there too. Every call may fail (Redis down, file locked): callers go through
`Recorder`, which swallows errors, logs once, and pauses the store for a few seconds.
"""
from __future__ import annotations

import json
import logging
import math
import time

from erp.sqlite_files import LocalSQLite, beside_cache

log = logging.getLogger(__name__)

HISTORY_MINUTES = 60
KEEP_SECONDS = (HISTORY_MINUTES + 5) * 60
ALERTS_KEPT = 100
# Upper bounds (ms) of the latency histogram; the last bucket is open.
LATENCY_BOUNDS_MS = (5, 10, 25, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000,
                     10000, math.inf)


def latency_bucket(ms: float) -> int:
    for index, bound in enumerate(LATENCY_BOUNDS_MS):
        if ms <= bound:
            return index
    return len(LATENCY_BOUNDS_MS) - 1  # pragma: no cover - the last bound is inf


class SQLiteStore(LocalSQLite):
    """A WAL SQLite file: one connection per thread and process."""

    schema = """
                    CREATE TABLE IF NOT EXISTS buckets (minute INTEGER NOT NULL,
                        key TEXT NOT NULL, value REAL NOT NULL,
                        PRIMARY KEY (minute, key)) WITHOUT ROWID;
                    CREATE TABLE IF NOT EXISTS workers (pid INTEGER PRIMARY KEY,
                        rss REAL, memory REAL, seen REAL);
                    CREATE TABLE IF NOT EXISTS alert_claims (figure TEXT PRIMARY KEY, at REAL);
                    CREATE TABLE IF NOT EXISTS alerts (id INTEGER PRIMARY KEY AUTOINCREMENT,
                        at REAL, body TEXT);
                """

    def add(self, minute: int, incr: dict[str, float], maxes: dict[str, float]) -> None:
        conn = self._conn()
        with conn:
            conn.executemany(
                "INSERT INTO buckets VALUES (?, ?, ?) ON CONFLICT (minute, key) "
                "DO UPDATE SET value = value + excluded.value",
                [(minute, key, value) for key, value in incr.items()])
            conn.executemany(
                "INSERT INTO buckets VALUES (?, ?, ?) ON CONFLICT (minute, key) "
                "DO UPDATE SET value = max(value, excluded.value)",
                [(minute, key, value) for key, value in maxes.items()])
            now = time.time()
            if now - self._last_prune > 60:
                self._last_prune = now
                conn.execute("DELETE FROM buckets WHERE minute < ?",
                             (minute - KEEP_SECONDS // 60,))

    def buckets(self, since: int) -> dict[int, dict[str, float]]:
        result: dict[int, dict[str, float]] = {}
        rows = self._conn().execute(
            "SELECT minute, key, value FROM buckets WHERE minute >= ?", (since,))
        for minute, key, value in rows:
            result.setdefault(minute, {})[key] = value
        return result

    def heartbeat(self, pid: int, rss: float, memory: float, now: float) -> None:
        conn = self._conn()
        with conn:
            conn.execute("INSERT OR REPLACE INTO workers VALUES (?, ?, ?, ?)",
                         (pid, rss, memory, now))
            conn.execute("DELETE FROM workers WHERE seen < ?", (now - 600,))

    def workers(self, since: float) -> list[dict]:
        rows = self._conn().execute(
            "SELECT pid, rss, memory, seen FROM workers WHERE seen >= ? ORDER BY pid", (since,))
        return [{"pid": pid, "rss": rss, "memory": memory, "seen": seen}
                for pid, rss, memory, seen in rows]

    def claim_alert(self, figure: str, now: float, interval: float) -> bool:
        conn = self._conn()
        with conn:
            cursor = conn.execute(
                "INSERT INTO alert_claims VALUES (?, ?) ON CONFLICT (figure) DO UPDATE "
                "SET at = excluded.at WHERE alert_claims.at <= ?",
                (figure, now, now - interval))
            return cursor.rowcount == 1

    def add_alert(self, alert: dict) -> None:
        conn = self._conn()
        with conn:
            conn.execute("INSERT INTO alerts (at, body) VALUES (?, ?)",
                         (alert["at"], json.dumps(alert)))
            conn.execute("DELETE FROM alerts WHERE id <= (SELECT max(id) FROM alerts) - ?",
                         (ALERTS_KEPT,))

    def alerts(self, limit: int = 20) -> list[dict]:
        rows = self._conn().execute("SELECT body FROM alerts ORDER BY id DESC LIMIT ?", (limit,))
        return [json.loads(body) for (body,) in rows]


class RedisStore:
    """Hashes per minute (with a sorted set for maxima), expiring after an hour."""

    kind = "redis"

    def __init__(self, url: str, prefix: str = "erp:") -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.redis = redis.Redis.from_url(url, socket_timeout=0.2, socket_connect_timeout=0.2,
                                          retry=Retry(NoBackoff(), 0))
        self.prefix = prefix + "mon:"

    def _bucket(self, minute: int) -> str:
        return f"{self.prefix}b:{minute}"

    def _maxes(self, minute: int) -> str:
        return f"{self.prefix}x:{minute}"

    def add(self, minute: int, incr: dict[str, float], maxes: dict[str, float]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for key, value in incr.items():
            pipe.hincrbyfloat(self._bucket(minute), key, value)
        pipe.expire(self._bucket(minute), KEEP_SECONDS)
        if maxes:
            pipe.zadd(self._maxes(minute), maxes, gt=True)
            pipe.expire(self._maxes(minute), KEEP_SECONDS)
        pipe.execute()

    def buckets(self, since: int) -> dict[int, dict[str, float]]:
        now_minute = int(time.time() // 60)
        minutes = list(range(since, now_minute + 1))
        pipe = self.redis.pipeline(transaction=False)
        for minute in minutes:
            pipe.hgetall(self._bucket(minute))
            pipe.zrange(self._maxes(minute), 0, -1, withscores=True)
        replies = pipe.execute()
        result: dict[int, dict[str, float]] = {}
        for index, minute in enumerate(minutes):
            values = {k.decode(): float(v) for k, v in replies[2 * index].items()}
            values.update({k.decode(): float(v) for k, v in replies[2 * index + 1]})
            if values:
                result[minute] = values
        return result

    def heartbeat(self, pid: int, rss: float, memory: float, now: float) -> None:
        key = self.prefix + "workers"
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(key, str(pid), json.dumps({"rss": rss, "memory": memory, "seen": now}))
        pipe.expire(key, KEEP_SECONDS)
        pipe.execute()

    def workers(self, since: float) -> list[dict]:
        key = self.prefix + "workers"
        found, stale = [], []
        for pid, body in self.redis.hgetall(key).items():
            data = json.loads(body)
            if data["seen"] >= since:
                found.append({"pid": int(pid), **data})
            elif data["seen"] < since - 600:
                stale.append(pid)
        if stale:
            self.redis.hdel(key, *stale)
        return sorted(found, key=lambda w: w["pid"])

    def claim_alert(self, figure: str, now: float, interval: float) -> bool:
        return bool(self.redis.set(f"{self.prefix}alert:{figure}", now, nx=True,
                                   ex=max(1, int(interval))))

    def add_alert(self, alert: dict) -> None:
        key = self.prefix + "alerts"
        pipe = self.redis.pipeline(transaction=False)
        pipe.lpush(key, json.dumps(alert))
        pipe.ltrim(key, 0, ALERTS_KEPT - 1)
        pipe.execute()

    def alerts(self, limit: int = 20) -> list[dict]:
        return [json.loads(body) for body in self.redis.lrange(self.prefix + "alerts", 0, limit - 1)]


def store_for(config: dict, instance_path: str):
    """Redis when REDIS_URL is set; else MONITORING_DB, or a file beside the file cache."""
    if config.get("REDIS_URL"):
        return RedisStore(config["REDIS_URL"], config.get("CACHE_KEY_PREFIX", "erp:"))
    return SQLiteStore(beside_cache(config, instance_path, "MONITORING_DB", "monitoring.sqlite3"))
