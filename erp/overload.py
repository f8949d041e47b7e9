"""Load shedding: a request that waited in the queue longer than `REQUEST_QUEUE_BUDGET_MS`
is answered at once with 503 and `Retry-After`, before any of the app's work.

Under more users than the machine serves, requests queue (in gunicorn's thread pool, in
the listen backlog, in nginx). Answering the ones that already waited past the budget
keeps the queue short: the machine's time goes to requests whose users are still there,
throughput stays at its peak, and a client learns in milliseconds to come back instead of
timing out after 30 seconds and retrying into the same queue.

When the request started waiting comes from, earliest first:
- `X-Request-Start: t=<seconds since the epoch>` set by the proxy in front (nginx:
  `proxy_set_header X-Request-Start "t=${msec}";`, deploy/nginx.conf), trusted only
  behind a proxy (`PROXY_COUNT` > 0), which overwrites what a client sent;
- `erp.queued_at` in the WSGI environ, stamped by our gunicorn worker
  (`erp.gunicorn_worker`) when the connection entered its thread pool's queue.
Health checks and static files are never shed.
"""
from __future__ import annotations

import time

from prometheus_client import Counter

QUEUED_AT = "erp.queued_at"
NEVER_SHED = ("/health", "/static/")
SHED = Counter("erp_requests_shed", "Requests answered 503 after waiting past the queue budget")
BODY = b"The server is busy. Please try again in a moment.\n"


def request_start(value: str | None) -> float | None:
    """Seconds since the epoch from an `X-Request-Start` header (`t=1700000000.123`;
    also milli- or microseconds, as other proxies send)."""
    if not value:
        return None
    try:
        start = float(value.strip().removeprefix("t="))
    except ValueError:
        return None
    while start > 1e11:  # ms or us since the epoch
        start /= 1000
    return start


class ShedLateRequests:
    """WSGI middleware answering 503 to requests that waited longer than the budget."""

    def __init__(self, app, budget_ms: int, *, trust_header: bool, retry_after: int = 2):
        self.app = app
        self.budget = budget_ms / 1000
        self.trust_header = trust_header
        self.retry_after = str(retry_after)

    def waited(self, environ) -> float | None:
        starts = [environ.get(QUEUED_AT)]
        if self.trust_header:
            starts.append(request_start(environ.get("HTTP_X_REQUEST_START")))
        starts = [start for start in starts if start]
        return time.time() - min(starts) if starts else None

    def __call__(self, environ, start_response):
        waited = self.waited(environ)
        if (waited is not None and waited > self.budget
                and not environ.get("PATH_INFO", "").startswith(NEVER_SHED)):
            SHED.inc()
            start_response("503 Service Unavailable", [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(BODY))), ("Retry-After", self.retry_after),
                ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")])
            return [BODY]
        return self.app(environ, start_response)


def init_app(app) -> None:
    budget = app.config.get("REQUEST_QUEUE_BUDGET_MS") or 0
    if budget > 0:
        app.wsgi_app = ShedLateRequests(app.wsgi_app, budget,
                                        trust_header=bool(app.config.get("PROXY_COUNT")))
