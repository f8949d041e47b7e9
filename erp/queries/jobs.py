"""Reads of the background jobs and webhooks pages: their lists as declarations."""
from __future__ import annotations

from sqlalchemy.orm import joinedload, raiseload

from erp.lists import ListSpec, choice_filter, contains, newest_first
from erp.models.jobs import (DELIVERY_STATUSES, JOB_KINDS, JOB_STATUSES, Job, WebhookDelivery,
                             WebhookEndpoint)

JOBS = newest_first(
    Job, sorts={"status": Job.status, "kind": Job.kind},
    search=contains(Job.title, Job.error),
    filters=[choice_filter("status", Job.status, JOB_STATUSES),
             choice_filter("kind", Job.kind, JOB_KINDS)],
    options=[joinedload(Job.user), raiseload("*")],
)

ENDPOINTS = ListSpec(
    model=WebhookEndpoint,
    sorts={"url": WebhookEndpoint.url, "created": WebhookEndpoint.created_at},
    default_sort="url",
    search=contains(WebhookEndpoint.url, WebhookEndpoint.description),
    options=[raiseload("*")],
)

# The deliveries of one endpoint (the view passes the endpoint's select as `base`).
DELIVERIES = newest_first(
    WebhookDelivery,
    filters=[choice_filter("status", WebhookDelivery.status, DELIVERY_STATUSES)],
    options=[raiseload("*")],
    count=False,
)
