"""Health, timing, metrics, alerts and the performance test: `init_app(app)` wires them.

Settings (environment, or app config): HEALTH_TOKEN, METRICS_TOKEN, METRICS_ALLOW (comma
list of CIDRs, default 127.0.0.1/32), SLOW_REQUEST_MS (default 500), SLOW_LOGIN_MS (the
same for a login or password change, which hash on purpose; default 3000), ALERT_WEBHOOK_URL,
PROMETHEUS_MULTIPROC_DIR (environment only: prometheus-client reads it at import), and
MONITORING_DB (the SQLite file of the shared figures when there is no Redis; default
beside the file cache), MONITORING_REFRESH_SECONDS (the page's refresh, default 5),
MONITORING_FLUSH_SECONDS (how often a process writes its requests' figures to the shared
store, default 1; 0 writes on every request).
"""
from __future__ import annotations

import os
import threading
import time
from urllib.parse import urlparse

from flask import Flask, current_app

from erp.config import ConfigError
from erp.extensions import db
from erp.monitoring import alerts, cli, database, metrics, timing
from erp.monitoring.recorder import Recorder
from erp.monitoring.store import store_for
from erp.i18n import _

ALERT_CHECK_SECONDS = 30.0

ENVIRONMENT_SETTINGS = {
    "HEALTH_TOKEN": None,
    "METRICS_TOKEN": None,
    "METRICS_ALLOW": "127.0.0.1/32",
    "SLOW_REQUEST_MS": "500",
    "SLOW_LOGIN_MS": "3000",
    "ALERT_WEBHOOK_URL": None,
    "MONITORING_DB": None,
    "MONITORING_REFRESH_SECONDS": "5",
    "MONITORING_FLUSH_SECONDS": "1",
}


class Monitor:
    """The app's monitoring state (app.extensions["erp_monitoring"])."""

    def __init__(self, app: Flask, recorder) -> None:
        self.app = app
        self.recorder = recorder
        self._last_alert_check = 0.0
        self._lock = threading.Lock()

    def summary(self, *, history: bool = True, server: bool = True) -> dict:
        """The recorded figures over all workers plus the database's live health (this
        process's pool; with `server`, the server's statistics too, a few catalog queries,
        so not from inside a user's request)."""
        summary = self.recorder.summary(history=history)
        health = (database.server_health(db.engine) if server
                  else database.pool_figures(db.engine))
        summary["database"] = health
        for key in database.HEALTH_FIGURES:
            summary["figures"][key] = health.get(key)
        summary["levels"].update(database.health_levels(health))
        return summary

    def maybe_check_alerts(self) -> None:
        """From a request, at most every ALERT_CHECK_SECONDS per process."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_alert_check < ALERT_CHECK_SECONDS:
                return
            self._last_alert_check = now
        self.check_alerts()

    def check_alerts(self, summary: dict | None = None) -> list[dict]:
        if summary is None:
            summary = self.summary(history=False, server=False)
        return alerts.check(self.recorder, summary,
                            webhook_url=self.app.config.get("ALERT_WEBHOOK_URL"))


def _settings(app: Flask) -> None:
    config = app.config
    for name, default in ENVIRONMENT_SETTINGS.items():
        if config.get(name) is None:
            value = os.environ.get(name)
            config[name] = value if value not in (None, "") else default
    for name in ("SLOW_REQUEST_MS", "SLOW_LOGIN_MS", "MONITORING_REFRESH_SECONDS",
                 "MONITORING_FLUSH_SECONDS"):
        try:
            config[name] = float(config[name])
        except (TypeError, ValueError) as exc:
            raise ConfigError(_('%(name)s must be a number, not %(value)s', name=name, value=repr(config[name]))) from exc
    try:
        config["METRICS_ALLOW_NETWORKS"] = metrics.parse_networks(config["METRICS_ALLOW"])
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    url = config.get("ALERT_WEBHOOK_URL")
    if url and urlparse(url).scheme not in {"http", "https"}:
        raise ConfigError(_('ALERT_WEBHOOK_URL must be an http(s) URL, not %(value)s', value=repr(url)))


def init_app(app: Flask) -> Monitor:
    """Register timing hooks, /metrics, the store of shared figures and the CLI commands."""
    _settings(app)
    monitor = Monitor(app, Recorder(store_for(app.config, app.instance_path),
                                    flush_seconds=app.config["MONITORING_FLUSH_SECONDS"]))
    app.extensions["erp_monitoring"] = monitor
    timing.init_app(app)
    with app.app_context():
        database.instrument_pool(db.engine)
    app.register_blueprint(metrics.bp)
    for command in cli.COMMANDS:
        app.cli.add_command(command)
    return monitor


def get_monitor(app: Flask | None = None) -> Monitor | None:
    return (app or current_app).extensions.get("erp_monitoring")
