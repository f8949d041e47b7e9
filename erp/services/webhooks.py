"""Webhooks: a company's admin registers endpoints (URL, events, secret); business events
are sent to them signed, after the commit, by the job queue, retried with backoff, logged,
replayable, and an endpoint that keeps failing is paused instead of hammered.

`emit(company_id, event, record)` is called by a service inside its transaction: it writes
one `WebhookDelivery` per subscribed endpoint in that transaction (an outbox: a rolled
back change sends nothing, a committed one cannot be lost) and queues them after the
commit. To add an event: one line in EVENTS and the `emit` call where it happens.

Each request is signed: header `X-ERP-Signature: t=<unix time>,v1=<hex>`, where `<hex>` is
HMAC-SHA256 with the endpoint's secret of `"<t>." + body`; a receiver recomputes it and
refuses an old `t` (replays). `X-ERP-Delivery` is the delivery's id (a retried delivery
keeps it: receivers drop duplicates by it).

Server-side request forgery: only http(s) URLs, and the host is resolved at each attempt
and every address it resolves to must be public (not loopback, private, link-local,
multicast, reserved...), unless WEBHOOK_ALLOW_PRIVATE; the request then goes to the very
address that was checked (no second lookup that could answer otherwise).
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, update

from erp.extensions import db
from erp.i18n import N_, _
from erp.jobs import on_commit, queue
from erp.models.base import utcnow
from erp.models.core import User
from erp.models.jobs import WebhookDelivery, WebhookEndpoint
from erp.services import InvalidTransition, NotFound, ValidationError, atomic

EVENTS = {
    "sales_order.confirmed": N_("Sales order confirmed"),
    "sales_order.shipped": N_("Sales order shipped"),
    "sales_order.cancelled": N_("Sales order cancelled"),
    "purchase_order.received": N_("Purchase order received"),
    "production_order.done": N_("Production order done"),
    "stock.below_minimum": N_("Stock below minimum"),
    "invoice.issued": N_("Invoice issued"),
    "invoice.paid": N_("Invoice paid"),
    "bill.posted": N_("Supplier bill posted"),
    "bill.paid": N_("Supplier bill paid"),
}
SIGNATURE_HEADER = "X-ERP-Signature"
MAX_ENDPOINTS = 20


class UnsafeUrl(ValueError):
    """The URL may not be called (scheme, or an address that is not public)."""


# ---------------------------------------------------------------- endpoints (admin)

def check_url(url: str, *, allow_private: bool) -> tuple[str, int, list[str]]:
    """(host, port, addresses) of a URL that may be called; UnsafeUrl else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl(_("Enter an http:// or https:// address."))
    if parts.username or parts.password:
        raise UnsafeUrl(_("Leave user names and passwords out of the address."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl(_("The port is not a number from 1 to 65535.")) from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl(_('%(hostname)s cannot be resolved.', hostname=parts.hostname)) from None
    addresses = sorted({info[4][0] for info in infos})
    if not allow_private:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not ip.is_global or ip.is_multicast:
                raise UnsafeUrl(_('%(hostname)s resolves to %(ip)s, which is not a public address.', hostname=parts.hostname, ip=ip))
    return parts.hostname, port, addresses


def _endpoint_values(url: str, events: list[str], description: str) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    url = (url or "").strip()
    if not url:
        errors["url"] = ["Enter the address."]
    elif len(url) > 500:
        errors["url"] = ["At most 500 characters."]
    else:
        try:
            check_url(url, allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE"])
        except UnsafeUrl as error:
            errors["url"] = [str(error)]
    events = [e for e in dict.fromkeys(events or [])]
    if not events:
        errors["events"] = ["Choose at least one event."]
    elif any(e not in EVENTS for e in events):
        errors["events"] = ["Choose events from the list."]
    if len(description or "") > 200:
        errors["description"] = ["At most 200 characters."]
    if errors:
        raise ValidationError(field_errors=errors)
    return {"url": url, "events": events, "description": (description or "").strip()}


def create_endpoint(*, company_id: int, user: User, url: str, events: list[str],
                    description: str = "") -> WebhookEndpoint:
    """Register an endpoint with a new random secret (shown on its page). Commits."""
    values = _endpoint_values(url, events, description)
    with atomic():
        count = len(db.session.scalars(select(WebhookEndpoint.id).where(
            WebhookEndpoint.company_id == company_id, WebhookEndpoint.active.is_(True))
            .limit(MAX_ENDPOINTS)).all())
        if count >= MAX_ENDPOINTS:
            raise ValidationError(field_errors={"url": [
                f"A company has at most {MAX_ENDPOINTS} endpoints: archive one first."]})
        endpoint = WebhookEndpoint(company_id=company_id, secret="whsec_" + secrets.token_hex(24),
                                   **values)
        db.session.add(endpoint)
    return endpoint


def update_endpoint(*, company_id: int, endpoint_id: int, user: User, url: str,
                    events: list[str], description: str = "") -> WebhookEndpoint:
    """Change an endpoint's URL, events or description, checked as on creation (the same
    address rule); its secret and state stay. Raises NotFound, ValidationError. Commits."""
    values = _endpoint_values(url, events, description)
    with atomic():
        endpoint = get_endpoint(company_id=company_id, endpoint_id=endpoint_id)
        for name, value in values.items():
            setattr(endpoint, name, value)
    return endpoint


def get_endpoint(*, company_id: int, endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.company_id != company_id:
        raise NotFound(_("No such endpoint."))
    return endpoint


def set_endpoint_state(*, company_id: int, endpoint_id: int, user: User,
                       state: str) -> WebhookEndpoint:
    """`active` (resume a paused one: its failures are forgotten), `paused` or `archived`.
    Commits."""
    if state not in ("active", "paused", "archived"):
        raise ValidationError(_("Unknown state."))
    with atomic():
        endpoint = get_endpoint(company_id=company_id, endpoint_id=endpoint_id)
        endpoint.active = state != "archived"
        endpoint.paused_at = utcnow() if state == "paused" else None
        if state == "active":
            endpoint.failures = 0
    return endpoint


def replay(*, company_id: int, delivery_id: int, user: User) -> WebhookDelivery:
    """Send a logged delivery again, as a new delivery of the same body. Commits."""
    with atomic():
        old = db.session.get(WebhookDelivery, delivery_id)
        if old is None or old.company_id != company_id:
            raise NotFound(_("No such delivery."))
        if old.endpoint.state != "active":
            raise InvalidTransition(_("The endpoint is paused or archived: resume it first."))
        new = WebhookDelivery(company_id=company_id, endpoint_id=old.endpoint_id,
                              event=old.event, body=old.body, status="pending")
        db.session.add(new)
        db.session.flush()
        _queue_after_commit([new.id])
    return new


# ---------------------------------------------------------------- events

def describe(record) -> dict[str, Any]:
    """The event's data: what the record is, enough to fetch it from the API."""
    data: dict[str, Any] = {"id": record.id}
    for name in ("number", "status", "sku", "name"):
        value = getattr(record, name, None)
        if value is not None:
            data[name] = value
    return data


def emit(company_id: int, event: str, record=None, **extra: Any) -> None:
    """Record `event` for every active endpoint of the company that wants it, in the
    caller's transaction, and queue the deliveries after its commit. Flushes."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    endpoints = [e for e in db.session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.company_id == company_id, WebhookEndpoint.active.is_(True),
        WebhookEndpoint.paused_at.is_(None))) if event in (e.events or [])]
    if not endpoints:
        return
    data = {**(describe(record) if record is not None else {}), **extra}
    deliveries = []
    for endpoint in endpoints:
        delivery = WebhookDelivery(company_id=company_id, endpoint_id=endpoint.id,
                                   event=event, body="", status="pending")
        db.session.add(delivery)
        deliveries.append(delivery)
    db.session.flush()
    for delivery in deliveries:
        delivery.body = json.dumps({"id": delivery.id, "event": event,
                                    "created_at": utcnow().isoformat(timespec="seconds"),
                                    "company_id": company_id, "data": data},
                                   default=str, separators=(",", ":"))
    _queue_after_commit([d.id for d in deliveries])


def _queue_after_commit(ids: list[int]) -> None:
    jobs = queue()
    on_commit(lambda: [jobs.enqueue("deliver_webhook", delivery_id) for delivery_id in ids])


# ---------------------------------------------------------------- sending (in the worker)

def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def _post(url: str, body: bytes, headers: dict[str, str], *, allow_private: bool,
          timeout: float) -> int:
    """POST to the checked address itself (the host name still goes in Host and SNI)."""
    host, port, addresses = check_url(url, allow_private=allow_private)
    parts = urlsplit(url)
    address = addresses[0]
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    kwargs = {"context": ssl.create_default_context()} if parts.scheme == "https" else {}
    conn = cls(host, port, timeout=timeout, **kwargs)
    conn._create_connection = lambda _addr, *args, **kw: socket.create_connection(
        (address, port), *args, **kw)
    try:
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(65536)
        return response.status
    finally:
        conn.close()


def _claim(delivery_id: int) -> bool:
    """Take the delivery for this attempt (one conditional UPDATE: of two messages for one
    delivery only one sends it, until the attempt is recorded)."""
    with atomic():
        return db.session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                          WebhookDelivery.status.in_(("pending", "retrying")),
                                          (WebhookDelivery.next_attempt_at.is_(None))
                                          | (WebhookDelivery.next_attempt_at <= utcnow()))
            .values(attempts=WebhookDelivery.attempts + 1, next_attempt_at=utcnow()
                    + timedelta(seconds=current_app.config["JOBS_LEASE_SECONDS"]))
            .execution_options(synchronize_session=False)).rowcount == 1


def deliver(delivery_id: int) -> None:
    """One attempt of a delivery; then delivered, another attempt later (backoff), or
    failed; the endpoint is paused after WEBHOOK_PAUSE_AFTER failed attempts in a row."""
    config = current_app.config
    if not _claim(delivery_id):
        return
    delivery = db.session.get(WebhookDelivery, delivery_id)
    endpoint = delivery.endpoint
    if endpoint.state != "active":
        _record(delivery_id, status="failed", error=f"The endpoint is {endpoint.state}.")
        return
    body = delivery.body.encode()
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json", "User-Agent": "ERP-Webhooks/1",
               "X-ERP-Event": delivery.event, "X-ERP-Delivery": str(delivery.id),
               SIGNATURE_HEADER: sign(endpoint.secret, timestamp, body)}
    url, attempts = endpoint.url, delivery.attempts
    db.session.rollback()  # no transaction open while waiting for the network
    started = time.perf_counter()
    status, error = None, ""
    try:
        status = _post(url, body, headers, allow_private=config["WEBHOOK_ALLOW_PRIVATE"],
                       timeout=config["WEBHOOK_TIMEOUT_SECONDS"])
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except UnsafeUrl as refused:
        error = str(refused)
    except (OSError, http.client.HTTPException) as failure:
        error = f"{type(failure).__name__}: {failure}"[:500]
    elapsed = int((time.perf_counter() - started) * 1000)
    if not error:
        _record(delivery_id, status="delivered", response_status=status, response_ms=elapsed)
        return
    retry = attempts < config["WEBHOOK_MAX_ATTEMPTS"]
    delay = config["WEBHOOK_RETRY_SECONDS"] * 4 ** (attempts - 1)
    _record(delivery_id, status="retrying" if retry else "failed", response_status=status,
            response_ms=elapsed, error=error, delay=delay if retry else None)


def _record(delivery_id: int, *, status: str, response_status: int | None = None,
            response_ms: int | None = None, error: str = "", delay: float | None = None) -> None:
    with atomic():
        delivery = db.session.get(WebhookDelivery, delivery_id, populate_existing=True)
        delivery.status, delivery.error = status, error[:500]
        delivery.response_status, delivery.response_ms = response_status, response_ms
        delivery.next_attempt_at = (utcnow() + timedelta(seconds=delay)
                                    if delay is not None else None)
        endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id,
                                  populate_existing=True, with_for_update=True)
        if status == "delivered":
            delivery.delivered_at = utcnow()
            endpoint.failures = 0
        elif response_ms is not None:  # an attempt that was made and failed
            endpoint.failures += 1
            if (endpoint.failures >= current_app.config["WEBHOOK_PAUSE_AFTER"]
                    and endpoint.paused_at is None):
                endpoint.paused_at = utcnow()
        if delay is not None:
            jobs = queue()
            on_commit(lambda: jobs.enqueue("deliver_webhook", delivery_id, delay=delay))
