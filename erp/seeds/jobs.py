"""Demo background jobs and webhooks: a finished CSV export to download and a failed
import with its error on the admin's jobs page, and a webhook endpoint with a delivery log
(paused: the demo sends nothing to example.com)."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from erp.csv_io import csv_lines
from erp.extensions import db
from erp.models import Company, User
from erp.models.base import utcnow
from erp.models.jobs import Job, WebhookDelivery, WebhookEndpoint
from erp.services import atomic
from erp.services import imports as import_service


def seed(company: Company, admin: User) -> str | None:
    if db.session.scalar(select(WebhookEndpoint.id).where(
            WebhookEndpoint.company_id == company.id).limit(1)):
        return None
    now = utcnow()
    with atomic():
        rows = list(import_service.export_rows("products", company.id))
        csv = "".join(csv_lines(import_service.export_header("products"), rows)).encode()
        db.session.add(Job(
            company_id=company.id, user_id=admin.id, kind="export", status="done",
            title="CSV export of /catalog/products", done=len(rows), total=len(rows),
            attempts=1, params={"spec": "erp.queries.catalog:PRODUCTS",
                                "path": "/catalog/products", "args": {"format": ["csv"]}},
            result=csv, result_name="products-demo.csv", finished_at=now))
        db.session.add(Job(
            company_id=company.id, user_id=admin.id, kind="import", status="failed",
            title="CSV import of products (price-update.csv)", attempts=1,
            params={"kind": "products", "created": []}, finished_at=now,
            error="The file has 1 error; nothing was imported. Line 2, sku: 'DEMO-1' "
                  "already exists."))
        endpoint = WebhookEndpoint(
            company_id=company.id, url="https://hooks.example.com/erp",
            description="Demo: the shop's order sync (paused, example.com receives nothing)",
            events=["sales_order.confirmed", "sales_order.shipped", "sales_order.cancelled",
                    "stock.below_minimum"],
            secret="whsec_demo_only_not_secret", failures=3, paused_at=now)
        db.session.add(endpoint)
        db.session.flush()
        for n, (status, code, ms, error) in enumerate([
                ("delivered", 200, 84, ""), ("delivered", 204, 61, ""),
                ("failed", 503, 2012, "HTTP 503"), ("failed", None, 10003,
                                                    "TimeoutError: timed out")]):
            delivery = WebhookDelivery(
                company_id=company.id, endpoint_id=endpoint.id, event="sales_order.confirmed",
                status=status, attempts=1 if status == "delivered" else 6, response_status=code,
                response_ms=ms, error=error, body="",
                delivered_at=now - timedelta(hours=4 - n) if status == "delivered" else None)
            db.session.add(delivery)
            db.session.flush()
            delivery.body = json.dumps({"id": delivery.id, "event": delivery.event,
                                        "company_id": company.id,
                                        "data": {"number": f"SO-DEMO-{n + 1}"}})
    return "an export and a failed import (Admin > Background jobs), a paused webhook"
