"""Background jobs: start one, run it in a worker with progress, retry it, fail it.

A job runs as the user who started it, in a request context of its own (the list it
exports reads its filters from the query string, a PDF is rendered from the print page's
template), so it sees exactly what that user would see, and nothing of another company.

`RUNNERS` names the function that does each kind of job; it takes the job and a
`Progress`, must be idempotent (a job killed mid-way runs again from the start: an
export overwrites its file, an import first undoes what the killed attempt committed) and
raises a DomainError for a refusal that another attempt cannot change (the job fails at
once with its message), any other error for a fault worth another attempt.
"""
from __future__ import annotations

import importlib
import logging
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_login import login_user
from sqlalchemy import and_, delete, or_, select, update

from erp.database import WRITE_OPTION
from erp.extensions import db
from erp.jobs import on_commit, queue
from erp.models.base import utcnow
from erp.models.core import User
from erp.models.jobs import Job, WebhookDelivery
from erp.services import DomainError, InvalidTransition, NotFound, atomic
from erp.i18n import _

log = logging.getLogger(__name__)

# kind -> "module:function" of its runner; adding a kind of job is one line here.
RUNNERS = {
    "export": "erp.exports:run_export",
    "import": "erp.services.imports:run_import_job",
    "email": "erp.services.mail:run_email_job",
}
PROGRESS_SECONDS = 0.5  # progress (and the heartbeat) is written at most this often


def create_job(*, company_id: int, user: User, kind: str, title: str,
               params: dict[str, Any] | None = None, data: bytes | None = None,
               total: int | None = None) -> Job:
    """Record a job for `user` and queue it once the record is committed. Commits."""
    if kind not in RUNNERS:
        raise ValueError(f"unknown job kind {kind!r}")
    with atomic():
        job = Job(company_id=company_id, user_id=user.id, kind=kind, title=title[:200],
                  params=params or {}, data=data, total=total, status="queued")
        db.session.add(job)
        db.session.flush()
        job_id = job.id
        jobs = queue()
        on_commit(lambda: jobs.enqueue("run_job", job_id))
    return job


def get_job(*, company_id: int, job_id: int, user: User) -> Job:
    """The job, for the user who started it or an admin of its company; NotFound else."""
    job = db.session.get(Job, job_id)
    if (job is None or job.company_id != company_id
            or (job.user_id != user.id and not user.has_role("admin"))):
        raise NotFound(_("No such job."))
    return job


def retry_job(*, company_id: int, job_id: int, user: User) -> Job:
    """A failed job queued again from the start (admin). InvalidTransition unless failed.
    Commits."""
    with atomic():
        job = get_job(company_id=company_id, job_id=job_id, user=user)
        if job.status != "failed":
            raise InvalidTransition(_("Only a failed job can be run again."))
        job.status, job.attempts, job.error, job.finished_at = "queued", 0, "", None
        job.done = 0
        jobs = queue()
        on_commit(lambda: jobs.enqueue("run_job", job_id))
    return job


# ---------------------------------------------------------------- in the worker

class Progress:
    """A runner's progress, written on a connection of its own (the runner's session may
    be inside a read) at most every PROGRESS_SECONDS; each write is also the heartbeat
    that tells the sweeper the job is alive."""

    def __init__(self, job_id: int, done: int = 0) -> None:
        self.job_id, self.done, self.total = job_id, done, None
        self._written = 0.0

    def add(self, rows: int) -> None:
        self.done += rows
        self.write()

    def set_total(self, total: int) -> None:
        self.total = total
        self.write(force=True)

    def write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._written < PROGRESS_SECONDS:
            return
        self._written = now
        values: dict[str, Any] = {"done": self.done, "heartbeat_at": utcnow()}
        if self.total is not None:
            values["total"] = self.total
        with db.engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            conn.execute(update(Job).where(Job.id == self.job_id).values(**values))


@contextmanager
def heartbeat(job_id: int) -> Iterator[None]:
    """While the runner works, a thread tells the sweeper every quarter of the lease that
    the job is alive (progress also does, but a runner may be quiet for long: an import
    checks its whole file before its first batch)."""
    app = current_app._get_current_object()
    stop = threading.Event()

    def beat() -> None:
        interval = max(app.config["JOBS_LEASE_SECONDS"] / 4, 0.2)
        while not stop.wait(interval):
            with app.app_context():
                with db.engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
                    conn.execute(update(Job).where(Job.id == job_id, Job.status == "running")
                                 .values(heartbeat_at=utcnow()))

    thread = threading.Thread(target=beat, name=f"job-{job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _claim(job_id: int) -> bool:
    """Take the job for this worker: one conditional UPDATE, so that of two messages (or
    workers) for one job only one runs it; a running job whose heartbeat stopped (its
    worker was killed) may be taken again."""
    now = utcnow()
    stale = now - timedelta(seconds=current_app.config["JOBS_LEASE_SECONDS"])
    with atomic():
        claimed = db.session.execute(
            update(Job).where(Job.id == job_id, or_(
                Job.status.in_(("queued", "retrying")),
                and_(Job.status == "running", Job.heartbeat_at < stale)))
            .values(status="running", heartbeat_at=now, attempts=Job.attempts + 1, done=0)
            .execution_options(synchronize_session=False)).rowcount
    return claimed == 1


@contextmanager
def acting_as(job: Job) -> Iterator[User]:
    """A request context of the job's own, logged in as the user who started it."""
    user = db.session.get(User, job.user_id) if job.user_id else None
    if user is None or not user.active:
        raise DomainError(_("The user who started this job can no longer use the app."))
    params = job.params or {}
    with current_app.test_request_context(params.get("path", "/"),
                                          query_string=params.get("args") or {}):
        login_user(user)
        yield user


def run_job(job_id: int) -> None:
    """The queue's task: run one job (if it is still to run) and record how it ended."""
    if not _claim(job_id):
        return
    job = db.session.get(Job, job_id)
    module, _unused, name = RUNNERS[job.kind].partition(":")
    runner = getattr(importlib.import_module(module), name)
    progress = Progress(job_id)
    try:
        with acting_as(job), heartbeat(job_id):
            runner(job, progress)
    except DomainError as error:  # a refusal: another attempt would say the same
        db.session.rollback()
        _finish(job_id, status="failed", error=str(error))
    except Exception as error:
        db.session.rollback()
        log.exception("job %s failed", job_id)
        _failed_attempt(job_id, error)
    else:
        _finish(job_id, status="done")


def _finish(job_id: int, *, status: str, error: str = "") -> None:
    with atomic():
        job = db.session.get(Job, job_id, populate_existing=True)
        job.status, job.error, job.finished_at = status, error[:5000], utcnow()
        if status == "done" and job.total is not None:
            job.done = job.total


def _failed_attempt(job_id: int, error: Exception) -> None:
    """Another attempt later (after attempts x JOBS_RETRY_SECONDS), or failed for good."""
    config = current_app.config
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    with atomic():
        job = db.session.get(Job, job_id, populate_existing=True)
        job.error = text[:5000]
        if job.attempts >= config["JOBS_MAX_ATTEMPTS"]:
            job.status, job.finished_at = "failed", utcnow()
            return
        job.status = "retrying"
        delay = config["JOBS_RETRY_SECONDS"] * job.attempts
        jobs = queue()
        on_commit(lambda: jobs.enqueue("run_job", job_id, delay=delay))


def sweep() -> None:
    """Queue again every job a killed worker left `running` (no heartbeat for
    JOBS_LEASE_SECONDS) or that waited that long to be picked up (a lost message), and
    every webhook delivery waiting that long. Queuing twice is harmless: see `_claim`."""
    config = current_app.config
    stale = utcnow() - timedelta(seconds=config["JOBS_LEASE_SECONDS"])
    jobs = queue()
    job_ids = db.session.scalars(select(Job.id).where(or_(
        and_(Job.status == "running", Job.heartbeat_at < stale),
        and_(Job.status == "queued", Job.created_at < stale)))
        .order_by(Job.id).limit(500)).all()
    deliveries = db.session.scalars(select(WebhookDelivery.id).where(or_(
        and_(WebhookDelivery.status == "pending", WebhookDelivery.updated_at < stale),
        and_(WebhookDelivery.status == "retrying",
             WebhookDelivery.next_attempt_at < stale)))
        .order_by(WebhookDelivery.id).limit(500)).all()
    db.session.rollback()
    for job_id in job_ids:
        log.info("queueing job %s again", job_id)
        jobs.enqueue("run_job", job_id)
    for delivery_id in deliveries:
        jobs.enqueue("deliver_webhook", delivery_id)


def deliver_webhook(delivery_id: int) -> None:
    from erp.services import webhooks

    webhooks.deliver(delivery_id)


def purge_idempotency_keys() -> int:
    """Periodic: forget the API's idempotency keys older than 7 days (a client retries a
    request within minutes, not weeks). Commits; returns how many were deleted."""
    from erp.models.api import IdempotencyKey

    with atomic():
        return db.session.execute(delete(IdempotencyKey).where(
            IdempotencyKey.created_at < utcnow() - timedelta(days=7))).rowcount


def nightly_backup() -> str:
    """Periodic (JOBS_BACKUP_HOUR): what `flask backup --keep JOBS_BACKUP_KEEP` does."""
    import os

    from erp.ops.backup import backup

    config = current_app.config
    path = backup(config["SQLALCHEMY_DATABASE_URI"],
                  os.path.join(current_app.instance_path, "backups"),
                  keep=config["JOBS_BACKUP_KEEP"])
    log.info("nightly backup written to %s", path)
    return str(path)


def nightly_reorder() -> int:
    """Periodic (JOBS_REORDER_HOUR): each company's low-stock reorder suggestions, what
    /purchasing/reorder shows; a company with `auto_reorder` set also gets its draft
    purchase orders (erp.services.purchasing.draft_reorders: a second run drafts nothing
    twice). Each company with suggestions gets a finished job on /admin/jobs saying what
    was found and drafted. A company's failure is logged and does not stop the others.
    Commits per company; returns the number of draft orders made."""
    from erp.models.core import Company
    from erp.services import purchasing

    made = 0
    companies = db.session.execute(select(Company.id, Company.auto_reorder)
                                   .order_by(Company.id)).all()
    db.session.rollback()
    for company_id, auto in companies:
        try:
            if auto:
                rows, drafts = purchasing.draft_reorders(
                    company_id=company_id, notes="Drafted by the nightly reorder job.")
            else:
                rows, drafts = purchasing.reorder_rows(company_id), []
            if rows:
                _record_reorder(company_id, rows, drafts, auto=auto)
            made += len(drafts)
        except Exception:
            db.session.rollback()
            log.exception("nightly reorder of company %s failed", company_id)
    return made


def _record_reorder(company_id: int, rows: list, drafts: list, *, auto: bool) -> None:
    """A finished `reorder` job of the company: what the night found and drafted."""
    from erp.services.purchasing import orderable

    count = sum(1 for row in rows if orderable(row))
    if drafts:
        result = "Drafted " + ", ".join(order.number for order in drafts)
    elif auto:
        result = "Nothing new to draft"
    else:
        result = "Drafting is off in the company settings"
    now = utcnow()
    with atomic():
        db.session.add(Job(
            company_id=company_id, user_id=None, kind="reorder", status="done",
            title=f"Reorder: {len(rows)} products below their minimum stock, {count} to "
                  f"order from their suppliers",
            params={"products": [row.product.id for row in rows][:500],
                    "orders": [order.id for order in drafts]},
            result_name=f"{result}."[:200], total=len(rows), done=len(rows), attempts=1,
            finished_at=now, heartbeat_at=now))


def monitoring_alerts() -> list[dict]:
    """Periodic (every minute): judge the monitored figures with the database server's own
    (which no user's request reads), fire the critical ones (erp.monitoring.alerts: logged,
    kept in the alert history, posted to ALERT_WEBHOOK_URL, each at most once per ten
    minutes over every process) and e-mail them to ALERT_EMAIL_TO. Returns the alerts
    fired."""
    from erp.monitoring import get_monitor
    from erp.services import mail

    monitor = get_monitor()
    if monitor is None:
        return []
    fired = monitor.check_alerts(monitor.summary(history=False, server=True))
    db.session.rollback()
    recipients = mail.alert_recipients()
    if fired and recipients:
        mail.send_alerts(fired, recipients)
    return fired
