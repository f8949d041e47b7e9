"""The job queue: Huey, with SQLite storage in `instance/` (no other service) or Redis when
`REDIS_URL` is set, and `flask --app wsgi worker`, its consumer bound to the app.

The queue carries ids only; the records in the database (erp/models/jobs.py) are the truth.
Huey forgets a message once a worker took it, so a worker killed mid-job would lose it:
the sweeper (a thread of every worker, every JOBS_SWEEP_SECONDS) queues again each job
left `running` without a heartbeat for JOBS_LEASE_SECONDS, each job or webhook delivery
waiting longer than that, and the runners make running twice harmless (a job is claimed by
one conditional UPDATE; its effects are idempotent). A message queued twice is harmless
for the same reason, so the sweeper may be generous.

Work is queued after the commit of the transaction that asked for it (`on_commit`): a
rolled-back request queues nothing, and a worker never reads a row that is not there yet.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import click
from flask import Flask, current_app
from huey import RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer
from sqlalchemy import event

from erp.extensions import db
from erp.replicas import RoutingSession

EXTENSION = "erp_jobs"
log = logging.getLogger(__name__)


class JobQueue:
    """One app's queue: the Huey instance (built on first use) and its tasks."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._huey = None
        self._lock = threading.Lock()
        self.tasks: dict[str, Callable] = {}

    @property
    def huey(self):
        with self._lock:
            if self._huey is None:
                self._huey = self._build()
            return self._huey

    def _build(self):
        config = self.app.config
        name = config["JOBS_QUEUE_NAME"]
        if config.get("REDIS_URL"):
            huey = RedisHuey(name, url=config["REDIS_URL"], results=False)
        else:
            huey = SqliteHuey(name, filename=config["JOBS_DB"], results=False)
        self.tasks["run_job"] = huey.task(name="run_job")(self._task("run_job"))
        self.tasks["deliver_webhook"] = huey.task(name="deliver_webhook")(
            self._task("deliver_webhook"))
        huey.periodic_task(crontab(hour="3", minute="10"), name="purge_idempotency_keys")(
            self._task("purge_idempotency_keys"))
        huey.periodic_task(crontab(minute="*"), name="monitoring_alerts")(
            self._task("monitoring_alerts"))
        huey.periodic_task(crontab(hour=str(config["JOBS_REORDER_HOUR"]), minute="20"),
                           name="nightly_reorder")(self._task("nightly_reorder"))
        if config.get("JOBS_BACKUP_HOUR") is not None:
            huey.periodic_task(crontab(hour=str(config["JOBS_BACKUP_HOUR"]), minute="0"),
                               name="nightly_backup")(self._task("nightly_backup"))
        return huey

    def _task(self, name: str) -> Callable:
        """The task body: the function of the same name in erp.services.jobs, in an app
        context of this queue's app."""
        def run(*args):
            from erp.services import jobs as job_service

            with self.app.app_context():
                try:
                    return getattr(job_service, name)(*args)
                finally:
                    db.session.remove()
        run.__name__ = name
        return run

    def enqueue(self, task: str, *args, delay: float | None = None) -> None:
        self.huey  # builds the tasks
        wrapper = self.tasks[task]
        if delay:
            wrapper.schedule(args, delay=delay)
        else:
            wrapper(*args)

    def consumer(self, *, workers: int = 2, periodic: bool = True,
                 in_thread: bool = False) -> Consumer:
        """Huey's consumer of this queue (`in_thread`: run from a thread that is not the
        main one, e.g. a test's: no signal handlers)."""
        cls = ThreadConsumer if in_thread else Consumer
        return cls(self.huey, workers=workers, periodic=periodic, worker_type="thread",
                   initial_delay=0.05, max_delay=0.5, check_worker_health=not in_thread)


class ThreadConsumer(Consumer):
    """A consumer started from any thread: signals can only be handled by the main one."""

    def _set_signal_handlers(self) -> None:
        pass


def queue(app: Flask | None = None) -> JobQueue:
    return (app or current_app).extensions[EXTENSION]


def on_commit(callback: Callable[[], None]) -> None:
    """Run `callback` after the current transaction commits (not at all on a rollback)."""
    db.session().info.setdefault("on_commit", []).append(callback)


@event.listens_for(RoutingSession, "after_commit")
def _after_commit(session) -> None:
    for callback in session.info.pop("on_commit", []):
        try:
            callback()
        except Exception:  # the queue is down: the sweeper queues it again later
            log.exception("could not queue work after the commit; the sweeper will")


@event.listens_for(RoutingSession, "after_rollback")
def _after_rollback(session) -> None:
    session.info.pop("on_commit", None)


class Sweeper(threading.Thread):
    """Every `seconds`, queue again what a killed worker or a lost message left behind."""

    def __init__(self, app: Flask, seconds: float) -> None:
        super().__init__(name="erp-job-sweeper", daemon=True)
        self.app, self.seconds, self.stopped = app, seconds, threading.Event()

    def run(self) -> None:
        from erp.services import jobs as job_service

        while not self.stopped.is_set():
            with self.app.app_context():
                try:
                    job_service.sweep()
                except Exception:
                    log.exception("job sweep failed")
                finally:
                    db.session.remove()
            self.stopped.wait(self.seconds)


@click.command("worker")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Threads running jobs.")
@click.option("--periodic/--no-periodic", default=True, show_default=True,
              help="Also run the periodic tasks (run them in one worker only).")
def worker_command(workers: int, periodic: bool) -> None:
    """Run the background jobs (Huey's consumer): exports, imports, webhooks, e-mails."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = current_app._get_current_object()
    jobs = queue(app)
    click.echo(f"Job queue: {'Redis' if app.config.get('REDIS_URL') else app.config['JOBS_DB']}")
    Sweeper(app, app.config["JOBS_SWEEP_SECONDS"]).start()
    jobs.consumer(workers=workers, periodic=periodic).run()


def init_app(app: Flask) -> None:
    import os

    if not app.config.get("JOBS_DB"):  # the config class declares it as None
        app.config["JOBS_DB"] = os.path.join(app.instance_path, "jobs.sqlite3")
    app.extensions[EXTENSION] = JobQueue(app)
    app.cli.add_command(worker_command)
