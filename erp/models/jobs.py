"""Background jobs and webhooks: the records the job queue works from.

A `Job` is the truth about one piece of long work (a big export, an import, an e-mail):
the queue (Huey, erp/jobs.py) only carries its id, so a message lost with a killed worker
loses nothing: a job left `running` without a heartbeat is queued again (erp/jobs.py's
sweeper) and runs again, and its runner makes that harmless (idempotent effects).

A `WebhookDelivery` is written in the same transaction as the business change it reports
(an outbox), and sent after the commit by the queue; `WebhookEndpoint` is where a company
wants its events.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp.extensions import db
from erp.models.base import AwareDateTime, CompanyScoped, choice_label, in_check
from erp.models.core import User
from erp.i18n import N_

JOB_STATUSES = {"queued": N_("Queued"), "running": N_("Running"), "retrying": N_("Waiting to retry"),
                "done": N_("Done"), "failed": N_("Failed")}
JOB_BADGES = {"queued": "secondary", "running": "info", "retrying": "warning",
              "done": "success", "failed": "danger"}
JOB_KINDS = {"export": N_("CSV export"), "import": N_("CSV import"), "email": N_("E-mail"),
             "reorder": N_("Reorder suggestions")}


class Job(CompanyScoped, db.Model):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_company_id_status_id", "company_id", "status", "id"),
        Index("ix_jobs_status_heartbeat_at", "status", "heartbeat_at"),
        in_check("status", JOB_STATUSES),
    )

    # SET NULL: a job outlives its user's account (its title says what it was)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, nullable=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    params: Mapped[dict] = mapped_column(JSON, default=dict)  # what the runner needs
    done: Mapped[int] = mapped_column(Integer, default=0)     # progress: rows so far
    total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    heartbeat_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    result_name: Mapped[str] = mapped_column(String(200), default="")
    # the input (an import's file) and the output (an export's file), in the database so
    # that every web host serves what any worker made; deferred: lists never load them
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    result: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)

    user: Mapped[User | None] = relationship()

    status_label = choice_label("status", JOB_STATUSES)
    kind_label = choice_label("kind", JOB_KINDS)

    @property
    def badge(self) -> str:
        return JOB_BADGES.get(self.status, "secondary")

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        if not self.total:
            return 0
        return min(100, int(self.done * 100 / self.total))


DELIVERY_STATUSES = {"pending": N_("Pending"), "retrying": N_("Waiting to retry"),
                     "delivered": N_("Delivered"), "failed": N_("Failed")}
DELIVERY_BADGES = {"pending": "secondary", "retrying": "warning", "delivered": "success",
                   "failed": "danger"}


class WebhookEndpoint(CompanyScoped, db.Model):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_company_id_active", "company_id", "active"),)

    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list] = mapped_column(JSON, default=list)  # names from erp.webhooks.EVENTS
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # failed attempts in a row
    paused_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)

    def __str__(self) -> str:
        return self.url

    @property
    def state(self) -> str:
        if not self.active:
            return "archived"
        return "paused" if self.paused_at is not None else "active"


class WebhookDelivery(CompanyScoped, db.Model):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_company_id_endpoint_id", "company_id", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_status_created_at", "status", "created_at"),
        in_check("status", DELIVERY_STATUSES),
    )

    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(50))
    body: Mapped[str] = mapped_column(Text)  # the JSON sent, exactly (it is what is signed)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(String(500), default="")
    next_attempt_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)

    endpoint: Mapped[WebhookEndpoint] = relationship()

    status_label = choice_label("status", DELIVERY_STATUSES)

    @property
    def badge(self) -> str:
        return DELIVERY_BADGES.get(self.status, "secondary")
