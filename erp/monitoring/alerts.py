"""Alerts: a figure that is critical is logged at error level, kept in the alert history
and posted as JSON to `ALERT_WEBHOOK_URL`, at most once per figure per ten minutes
(over all workers: the claim is taken in the shared store).
"""
from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request

from erp.monitoring.thresholds import threshold as threshold_of

log = logging.getLogger("erp.monitoring.alerts")

ALERT_INTERVAL_SECONDS = 600
# Figures of the summary that alert, and the threshold each is judged by.
ALERTED = {
    "p95_ms": "response_time_ms",
    "memory_percent": "memory_percent",
    "query_time_ms": "query_time_ms",
    "cache_hit_ratio": "cache_hit_ratio",
    "error_rate": "error_rate",
    # the database's health (erp.monitoring.database.server_health and the recorded queries)
    "db_time_p95_ms": "db_time_p95_ms",
    "slow_query_share": "slow_query_share",
    "pool_wait_share": "pool_wait_share",
    "pool_usage": "pool_usage",
    "connections": "connections",
    "server_connections_share": "server_connections_share",
    "buffer_hit_ratio": "buffer_hit_ratio",
    "index_hit_ratio": "index_hit_ratio",
    "replica_lag_seconds": "replica_lag_seconds",
}
# Too few requests or lookups make a ratio meaningless: no alert below these.
MINIMUM_SAMPLES = {"error_rate": ("requests", 20), "cache_hit_ratio": ("cache_lookups", 20),
                   "db_time_p95_ms": ("requests", 20), "slow_query_share": ("queries", 100),
                   "pool_wait_share": ("checkouts", 20)}


def critical_figures(summary: dict) -> list[tuple[str, float]]:
    figures, levels = summary["figures"], summary["levels"]
    found = []
    for figure in ALERTED:
        if levels.get(figure) != "critical":
            continue
        minimum = MINIMUM_SAMPLES.get(figure)
        if minimum and figures.get(minimum[0], 0) < minimum[1]:
            continue
        found.append((figure, figures[figure]))
    return found


def check(recorder, summary: dict, *, webhook_url: str | None, now: float | None = None,
          interval: float = ALERT_INTERVAL_SECONDS) -> list[dict]:
    """Fire the alerts due for `summary`; returns the alerts fired (each with its `thread`
    when posted to a webhook, for tests to join)."""
    now = time.time() if now is None else now
    fired = []
    for figure, value in critical_figures(summary):
        if not recorder.claim_alert(figure, now, interval):
            continue
        threshold = threshold_of(ALERTED[figure])
        alert = {
            "figure": figure,
            "label": threshold.label,
            "value": value,
            "unit": threshold.unit.strip(),
            "level": "critical",
            "thresholds": threshold.describe(),
            "at": now,
            "message": f"{threshold.label} is critical: {value:g}{threshold.unit} "
                       f"({threshold.describe()})",
        }
        log.error("ALERT %s", alert["message"])
        recorder.add_alert(alert)
        if webhook_url:
            alert = dict(alert, thread=post_async(webhook_url, alert))
        fired.append(alert)
    return fired


def post(url: str, alert: dict, timeout: float = 5.0) -> None:
    body = json.dumps({"source": "erp", **alert}).encode()
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json",
                                          "User-Agent": "erp-monitoring"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310 (operator's URL)
            response.read()
    except Exception as exc:  # the alert is logged and stored; the post is best effort
        log.error("alert webhook %s failed: %s", url, exc)


def post_async(url: str, alert: dict) -> threading.Thread:
    """Post in a thread: a slow webhook never holds up a request."""
    thread = threading.Thread(target=post, args=(url, alert), daemon=True,
                              name="erp-alert-webhook")
    thread.start()
    return thread
