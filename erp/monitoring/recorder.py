"""Turns requests into shared per-minute figures and the figures into the page's summary.

`Recorder` wraps a store (store.py) so that monitoring never fails a request: an error
is logged once, the store is paused for `PAUSE_SECONDS`, and reads return no data.

With `flush_seconds` (the app's recorder: MONITORING_FLUSH_SECONDS, default 1) requests
add to an in-process buffer that a background thread writes to the store once per
interval, and at exit: one write per worker and second instead of one per request (a
Redis round trip, or a write to the shared SQLite file that every worker contends for).
A summary read flushes this process's buffer first.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from dataclasses import dataclass, field

import psutil

from erp.monitoring import metrics
from erp.monitoring.store import HISTORY_MINUTES, LATENCY_BOUNDS_MS, latency_bucket
from erp.monitoring.thresholds import THRESHOLDS, level

log = logging.getLogger(__name__)

PAUSE_SECONDS = 5.0
HEARTBEAT_SECONDS = 10.0
LIVE_MINUTES = 5  # the tiles show the last five minutes
WORKER_SEEN_SECONDS = 90


@dataclass
class Sample:
    """One request's figures."""

    endpoint: str
    status: int
    duration_ms: float
    db_ms: float = 0.0
    db_count: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    db_slow: int = 0
    checkouts: int = 0
    pool_waits: int = 0
    at: float = field(default_factory=time.time)


class Recorder:
    def __init__(self, store, *, flush_seconds: float = 0.0) -> None:
        self.store = store
        self.flush_seconds = flush_seconds
        self._paused_until = 0.0
        self._failing = False
        self._last_heartbeat = 0.0
        self._lock = threading.Lock()
        # minute -> (increments, maxima) not yet written, and the pid whose thread flushes
        self._pending: dict[int, tuple[dict[str, float], dict[str, float]]] = {}
        self._pending_lock = threading.Lock()
        self._flusher_pid = 0
        if flush_seconds > 0:
            atexit.register(self.flush)

    # -- safety ---------------------------------------------------------------------------
    def _call(self, method: str, *args, default=None):
        if time.monotonic() < self._paused_until:
            return default
        try:
            result = getattr(self.store, method)(*args)
        except Exception as exc:  # Redis down, file locked: monitoring waits a little
            self._paused_until = time.monotonic() + PAUSE_SECONDS
            if not self._failing:
                self._failing = True
                log.warning("monitoring store (%s) unavailable: %s", self.store.kind, exc)
            return default
        if self._failing:
            self._failing = False
            log.warning("monitoring store (%s) available again", self.store.kind)
        return result

    @property
    def available(self) -> bool:
        return not self._failing

    # -- writes ---------------------------------------------------------------------------
    def record(self, sample: Sample) -> None:
        minute = int(sample.at // 60)
        endpoint = sample.endpoint.replace("|", "_")
        incr = {
            "n": 1,
            "dur": sample.duration_ms,
            f"h{latency_bucket(sample.duration_ms)}": 1,
            f"e|{endpoint}|n": 1,
            f"e|{endpoint}|dur": sample.duration_ms,
        }
        if sample.status >= 500:
            incr["err"] = 1
        # database time per request, in the same buckets as the response time (its p95)
        incr[f"q{latency_bucket(sample.db_ms)}"] = 1
        if sample.db_count:
            incr["db_n"] = sample.db_count
            incr["db_ms"] = sample.db_ms
        if sample.db_slow:
            incr["db_slow"] = sample.db_slow
        if sample.checkouts:
            incr["co"] = sample.checkouts
        if sample.pool_waits:
            incr["pw"] = sample.pool_waits
        if sample.cache_hits:
            incr["ch"] = sample.cache_hits
        if sample.cache_misses:
            incr["cm"] = sample.cache_misses
        maxes = {f"x|{endpoint}": sample.duration_ms}
        if self.flush_seconds > 0:
            self._buffer(minute, incr, maxes)
        else:
            self._call("add", minute, incr, maxes)
        self.heartbeat()

    def _buffer(self, minute: int, incr: dict[str, float], maxes: dict[str, float]) -> None:
        with self._pending_lock:
            totals, highest = self._pending.setdefault(minute, ({}, {}))
            for key, value in incr.items():
                totals[key] = totals.get(key, 0.0) + value
            for key, value in maxes.items():
                if value > highest.get(key, float("-inf")):
                    highest[key] = value
            if self._flusher_pid != os.getpid():  # no flusher in this process (idle, forked)
                self._flusher_pid = os.getpid()
                threading.Thread(target=self._flush_loop, daemon=True,
                                 name="erp-monitoring-flush").start()

    def _flush_loop(self) -> None:
        """Flush every interval while requests come; stop when a whole interval had none
        (the next request starts a new thread), so an idle process keeps no thread. The
        check comes before the flush: after it the buffer is always empty, and the thread
        stopped after every flush, a new one started by the next request each second."""
        while True:
            time.sleep(self.flush_seconds)
            with self._pending_lock:
                if not self._pending:
                    self._flusher_pid = 0
                    return
            self.flush()

    def flush(self) -> None:
        """Write the buffered figures to the store (a store outage drops them, as it
        drops unbuffered ones)."""
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        for minute, (incr, maxes) in sorted(pending.items()):
            self._call("add", minute, incr, maxes)

    def heartbeat(self, *, force: bool = False) -> None:
        """At most every HEARTBEAT_SECONDS: this process's RSS and the machine's memory use."""
        now = time.time()
        with self._lock:
            if not force and now - self._last_heartbeat < HEARTBEAT_SECONDS:
                return
            self._last_heartbeat = now
        rss, memory = metrics.refresh_memory()
        self._call("heartbeat", os.getpid(), rss, memory, now)
        self._call("add", int(now // 60), {}, {"mem": memory})

    def add_raw(self, minute: int, incr: dict, maxes: dict | None = None) -> None:
        """Add figures directly (tests and the perf-test use this to force a figure)."""
        self._call("add", minute, incr, maxes or {})

    # -- reads ----------------------------------------------------------------------------
    def summary(self, now: float | None = None, *, history: bool = True) -> dict:
        self.flush()
        now = time.time() if now is None else now
        current = int(now // 60)
        since = current - (HISTORY_MINUTES - 1 if history else LIVE_MINUTES - 1)
        buckets = self._call("buckets", since, default=None)
        workers = self._call("workers", now - WORKER_SEEN_SECONDS, default=[]) or []
        return summarize(buckets or {}, now=now, workers=workers, history=history,
                         available=buckets is not None)

    def alerts(self, limit: int = 20) -> list[dict]:
        return self._call("alerts", limit, default=[]) or []

    def claim_alert(self, figure: str, now: float, interval: float) -> bool:
        return bool(self._call("claim_alert", figure, now, interval, default=False))

    def add_alert(self, alert: dict) -> None:
        self._call("add_alert", alert)


def _merge(buckets: list[dict]) -> dict[str, float]:
    total: dict[str, float] = {}
    for bucket in buckets:
        for key, value in bucket.items():
            if key.startswith("x|") or key == "mem":
                total[key] = max(total.get(key, 0.0), value)
            else:
                total[key] = total.get(key, 0.0) + value
    return total


def percentile(figures: dict[str, float], q: float, prefix: str = "h") -> float | None:
    """The q-quantile (0..1) of a latency histogram (`h`: response time, `q`: database time
    per request), interpolated inside its bucket."""
    counts = [figures.get(f"{prefix}{i}", 0.0) for i in range(len(LATENCY_BOUNDS_MS))]
    n = sum(counts)
    if n <= 0:
        return None
    rank = q * n
    seen = 0.0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            lower = 0.0 if index == 0 else LATENCY_BOUNDS_MS[index - 1]
            upper = LATENCY_BOUNDS_MS[index]
            if upper == float("inf"):
                return lower * 2
            return lower + (upper - lower) * max(0.0, (rank - seen)) / count
        seen += count
    return None  # pragma: no cover


def _figures(merged: dict[str, float], seconds: float) -> dict:
    n = merged.get("n", 0.0)
    lookups = merged.get("ch", 0.0) + merged.get("cm", 0.0)
    return {
        "requests": int(n),
        "rps": round(n / seconds, 2) if seconds > 0 else 0.0,
        "p50_ms": _round(percentile(merged, 0.50)),
        "p95_ms": _round(percentile(merged, 0.95)),
        "error_rate": _round(100.0 * merged.get("err", 0.0) / n) if n else None,
        "cache_hit_ratio": _round(100.0 * merged.get("ch", 0.0) / lookups) if lookups else None,
        "cache_lookups": int(lookups),
        "query_time_ms": (_round(merged["db_ms"] / merged["db_n"])
                          if merged.get("db_n") else None),
        "queries": int(merged.get("db_n", 0.0)),
        "db_time_mean_ms": _round(merged.get("db_ms", 0.0) / n) if n else None,
        "db_time_p95_ms": _round(percentile(merged, 0.95, "q")),
        "slow_queries": int(merged.get("db_slow", 0.0)),
        "slow_query_share": (_round(100.0 * merged.get("db_slow", 0.0) / merged["db_n"], 2)
                             if merged.get("db_n") else None),
        "checkouts": int(merged.get("co", 0.0)),
        "pool_waits": int(merged.get("pw", 0.0)),
        "pool_wait_share": (_round(100.0 * merged.get("pw", 0.0) / merged["co"], 2)
                            if merged.get("co") else None),
    }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def slowest_endpoints(merged: dict[str, float], limit: int = 8) -> list[dict]:
    rows = []
    for key, count in merged.items():
        if not (key.startswith("e|") and key.endswith("|n")) or not count:
            continue
        endpoint = key[2:-2]
        total = merged.get(f"e|{endpoint}|dur", 0.0)
        rows.append({"endpoint": endpoint, "requests": int(count),
                     "avg_ms": round(total / count, 1),
                     "max_ms": round(merged.get(f"x|{endpoint}", 0.0), 1)})
    rows.sort(key=lambda row: (-row["avg_ms"], row["endpoint"]))
    return rows[:limit]


def summarize(buckets: dict[int, dict[str, float]], *, now: float, workers: list[dict],
              history: bool = True, available: bool = True) -> dict:
    current = int(now // 60)
    into_minute = now - current * 60
    live = [buckets[m] for m in range(current - LIVE_MINUTES + 1, current + 1) if m in buckets]
    seconds = (LIVE_MINUTES - 1) * 60 + max(into_minute, 1.0)
    figures = _figures(_merge(live), seconds)
    memory = psutil.virtual_memory()
    figures["memory_percent"] = round(memory.percent, 1)
    figures["memory_used"] = memory.total - memory.available
    figures["memory_total"] = memory.total
    worker_rows = [dict(w, rss_mb=round(w["rss"] / 1048576, 1)) for w in workers]
    figures["worker_rss_mb"] = round(sum(w["rss_mb"] for w in worker_rows), 1)
    levels = {
        "p95_ms": level("response_time_ms", figures["p95_ms"]),
        "p50_ms": level("response_time_ms", figures["p50_ms"]),
        "memory_percent": level("memory_percent", figures["memory_percent"]),
        "query_time_ms": level("query_time_ms", figures["query_time_ms"]),
        "cache_hit_ratio": level("cache_hit_ratio", figures["cache_hit_ratio"]),
        "error_rate": level("error_rate", figures["error_rate"]),
        "query_mean_ms": level("query_mean_ms", figures["query_time_ms"]),
        "db_time_p95_ms": level("db_time_p95_ms", figures["db_time_p95_ms"]),
        "slow_query_share": level("slow_query_share", figures["slow_query_share"]),
        "pool_wait_share": level("pool_wait_share", figures["pool_wait_share"]),
    }
    result = {"figures": figures, "levels": levels, "workers": worker_rows,
              "available": available, "generated_at": now}
    if history:
        whole = _merge(list(buckets.values()))
        result["slowest"] = slowest_endpoints(whole)
        result["history"] = _history(buckets, current)
    return result


def _history(buckets: dict[int, dict[str, float]], current: int) -> dict:
    labels, rpm, p95, query, errors, memory, db_p95 = [], [], [], [], [], [], []
    for minute in range(current - HISTORY_MINUTES + 1, current + 1):
        bucket = buckets.get(minute, {})
        figures = _figures(bucket, 60)
        labels.append(time.strftime("%H:%M", time.localtime(minute * 60)))
        rpm.append(figures["requests"])
        p95.append(figures["p95_ms"])
        query.append(figures["query_time_ms"])
        db_p95.append(figures["db_time_p95_ms"])
        errors.append(figures["error_rate"])
        memory.append(_round(bucket.get("mem")))
    return {"labels": labels, "requests": rpm, "p95_ms": p95, "query_time_ms": query,
            "db_time_p95_ms": db_p95, "error_rate": errors, "memory_percent": memory,
            "thresholds": {"response_time_ms": [THRESHOLDS["response_time_ms"].warning,
                                                THRESHOLDS["response_time_ms"].critical]}}
