"""The product plan's performance thresholds and the level of a figure against them.

Levels, from best to worst: `good` (meets the target), `fair` (misses the target but is
not yet a warning), `warning`, `critical`. `unknown` when there is no figure (no traffic).
"""
from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("unknown", "good", "fair", "warning", "critical")


@dataclass(frozen=True)
class Threshold:
    label: str
    unit: str
    target: float
    warning: float
    critical: float
    higher_is_worse: bool = True

    def level(self, value: float | None) -> str:
        if value is None:
            return "unknown"
        if self.higher_is_worse:
            if value > self.critical:
                return "critical"
            if value > self.warning:
                return "warning"
            return "good" if value < self.target else "fair"
        if value < self.critical:
            return "critical"
        if value < self.warning:
            return "warning"
        return "good" if value > self.target else "fair"

    def describe(self) -> str:
        sign, worse = ("<", ">") if self.higher_is_worse else (">", "<")
        return (f"target {sign}{_num(self.target)}{self.unit}, warning {worse}{_num(self.warning)}"
                f"{self.unit}, critical {worse}{_num(self.critical)}{self.unit}")


def _num(value: float) -> str:
    return f"{value:g}"


# From the performance plan (PERFORMANCE_KPIs). The error rate is ours: the plan has none.
THRESHOLDS: dict[str, Threshold] = {
    "response_time_ms": Threshold("Response time (p95)", " ms", 2000, 1000, 3000),
    "memory_percent": Threshold("Memory use", "%", 70, 80, 90),
    "query_time_ms": Threshold("Average query time", " ms", 100, 500, 1000),
    "cache_hit_ratio": Threshold("Cache hit ratio", "%", 80, 60, 40, higher_is_worse=False),
    "error_rate": Threshold("Error rate (5xx)", "%", 1, 1, 5),
}


# The database optimization plan's targets (/work/shared/plans, "Success criteria" and "Key
# metrics"): only the targets are the plan's; the warning and critical levels are ours.
DATABASE_TARGETS: dict[str, Threshold] = {
    "query_mean_ms": Threshold("Average query time", " ms", 50, 100, 500),
    "slow_query_share": Threshold("Slow queries (over 100 ms)", "%", 1, 5, 10),
    "index_hit_ratio": Threshold("Index hit ratio", "%", 90, 80, 60, higher_is_worse=False),
    "connections": Threshold("Concurrent connections", "", 20, 50, 100),
    "pool_efficiency": Threshold("Pool efficiency (checkouts reusing a connection)", "%", 90,
                                 80, 50, higher_is_worse=False),
}

# The monitoring page's other database figures: neither plan gives these, so all the levels
# are ours (the p95 reuses the performance plan's query time levels).
DATABASE_HEALTH: dict[str, Threshold] = {
    "db_time_p95_ms": Threshold("Database time per request (p95)", " ms", 100, 500, 1000),
    "buffer_hit_ratio": Threshold("Buffer cache hit ratio", "%", 95, 90, 80,
                                  higher_is_worse=False),
    "pool_usage": Threshold("Pool connections in use", "%", 50, 80, 95),
    "server_connections_share": Threshold("Server connections of max_connections", "%", 50,
                                          80, 90),
    "pool_wait_share": Threshold("Checkouts that waited for a pooled connection", "%", 1, 5,
                                 20),
    "replica_lag_seconds": Threshold("Replica lag", " s", 1, 5, 30),
}

# A statement slower than this counts as slow (the slow-query share, live and analysed).
SLOW_QUERY_MS = 100.0


def threshold(name: str) -> Threshold:
    """A threshold by its key (the keys of the three tables differ)."""
    for table in (THRESHOLDS, DATABASE_TARGETS, DATABASE_HEALTH):
        if name in table:
            return table[name]
    raise KeyError(name)


def level(name: str, value: float | None) -> str:
    return threshold(name).level(value)


def worst(levels) -> str:
    return max(levels, key=LEVELS.index, default="unknown")
