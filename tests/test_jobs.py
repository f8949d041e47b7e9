"""Background jobs: a real Huey consumer (a thread of the test, or a `flask worker`
process) on its SQLite storage and on Redis; big exports and imports as jobs with
progress, retries and the admin's list of failed jobs, and a worker killed mid-job."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.jobs import EXTENSION, JobQueue
from erp.models import Product
from erp.models.jobs import Job
from erp.services import jobs as job_service
from tests.conftest import TEST_DB, login
from tests.factories.catalog import ProductFactory

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def running_worker(app):
    """A real consumer of the app's queue in threads of this process."""
    queue = app.extensions[EXTENSION]
    queue.huey.flush()  # what earlier tests left queued
    consumer = queue.consumer(workers=2, periodic=False, in_thread=True)
    consumer.start()
    try:
        yield queue
    finally:
        consumer.stop(graceful=True)


@pytest.fixture(params=["sqlite", "redis"])
def worker(request, app, redis_url):
    """A consumer on the embedded SQLite queue, then on Redis (REDIS_URL)."""
    if request.param == "redis":
        app.config["REDIS_URL"] = redis_url
        app.config["JOBS_QUEUE_NAME"] = f"erp-test-{os.getpid()}"
    else:
        app.config["REDIS_URL"] = None
    app.extensions[EXTENSION] = JobQueue(app)  # put back by the app's reset
    with running_worker(app) as queue:
        yield queue


def wait_for(predicate, timeout: float = 20.0, what: str = "the job"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def job_finished(job_id: int) -> Job | None:
    job = db.session.get(Job, job_id, populate_existing=True)
    return job if job.finished else None


def test_a_big_export_becomes_a_job_whose_page_shows_progress_and_offers_the_file(
        app, company, client_as, worker):
    app.config["EXPORT_JOB_ROWS"] = 5
    ProductFactory.create_batch(12, company=company)
    client = client_as("manager")
    response = client.get("/catalog/products?format=csv&status=all")
    assert response.status_code == 303
    job_url = response.headers["Location"]
    job_id = int(job_url.rstrip("/").rsplit("/", 1)[1])
    page = client.get(job_url)
    assert page.status_code == 200 and b"CSV export" in page.data
    job = wait_for(lambda: job_finished(job_id))
    assert job.status == "done", job.error
    assert job.total == 12 and job.done == 12
    status = client.get(job_url, headers={"HX-Request": "true"})
    assert b"<html" not in status.data and b"hx-trigger" not in status.data  # polling stops
    assert b"Download" in status.data
    download = client.get(f"/jobs/{job_id}/download")
    assert download.status_code == 200
    lines = download.data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("sku,name") and len(lines) == 13
    assert download.headers["Content-Disposition"].startswith('attachment; filename="products')


def test_a_small_export_streams_at_once(app, company, client_as):
    ProductFactory.create_batch(3, company=company)
    response = client_as("viewer").get("/catalog/products?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def test_a_big_import_runs_as_a_job(app, company, client_as, worker):
    app.config["IMPORT_JOB_ROWS"] = 10
    client = client_as("manager")
    csv = "sku,name\n" + "".join(f"JOB-{n},Imported {n}\n" for n in range(40))
    upload = client.post("/admin/import/products", data={"file": (
        __import__("io").BytesIO(csv.encode()), "products.csv")},
        content_type="multipart/form-data")
    assert upload.status_code == 303
    confirm = client.post(upload.headers["Location"] + "/confirm")
    assert confirm.status_code == 303 and "/jobs/" in confirm.headers["Location"]
    job_id = int(confirm.headers["Location"].rsplit("/", 1)[1])
    job = wait_for(lambda: job_finished(job_id))
    assert job.status == "done", job.error
    assert job.result_name == "Imported 40 products."
    assert db.session.scalar(select(func.count()).select_from(Product).where(
        Product.sku.like("JOB-%"))) == 40
    assert b"Imported 40 products." in client.get(confirm.headers["Location"]).data


def test_an_import_job_with_errors_fails_at_once_with_the_report(app, company, make_user,
                                                                  worker):
    user = make_user("manager")
    job = job_service.create_job(company_id=company.id, user=user, kind="import",
                                 title="bad", params={"kind": "products"},
                                 data=b"sku,name\nA,\nA,Twice\n")
    job = wait_for(lambda: job_finished(job.id))
    assert job.status == "failed" and job.attempts == 1
    assert "nothing was imported" in job.error and "line 3" in job.error
    assert db.session.scalar(select(func.count()).select_from(Product)) == 0


def test_a_failing_job_is_retried_then_listed_for_the_admin_who_runs_it_again(
        app, company, make_user, worker):
    app.config.update(JOBS_MAX_ATTEMPTS=3, JOBS_RETRY_SECONDS=0)
    user = make_user("admin")
    job = job_service.create_job(company_id=company.id, user=user, kind="export",
                                 title="Broken export", params={"spec": "nowhere:NOTHING"})
    job = wait_for(lambda: job_finished(job.id))
    assert job.status == "failed" and job.attempts == 3
    assert "ValueError" in job.error
    admin = login(app.test_client(), user.email)
    listing = admin.get("/admin/jobs?status=failed")
    assert b"Broken export" in listing.data and b"ValueError" in listing.data
    retried = admin.post(f"/admin/jobs/{job.id}/retry")
    assert retried.status_code == 303
    job = wait_for(lambda: job_finished(job.id))
    assert job.status == "failed" and job.attempts == 3  # ran three more times


def test_job_pages_belong_to_their_user_and_company(app, company, make_user, client_as,
                                                    other_company_client):
    owner = make_user("staff")
    job = job_service.create_job(company_id=company.id, user=owner, kind="export",
                                 title="Mine", params={"spec": "x"})
    assert other_company_client.get(f"/jobs/{job.id}").status_code == 404
    assert other_company_client.get(f"/jobs/{job.id}/download").status_code == 404
    assert other_company_client.post(f"/admin/jobs/{job.id}/retry").status_code == 404
    assert client_as("staff").get(f"/jobs/{job.id}").status_code == 404  # a colleague
    assert login(app.test_client(), owner.email).get(f"/jobs/{job.id}").status_code == 200
    assert client_as("admin").get(f"/jobs/{job.id}").status_code == 200
    assert client_as("manager").get("/admin/jobs").status_code == 403
    assert client_as("admin").get(f"/jobs/{job.id}/download").status_code == 404  # not done


def test_the_job_list_costs_the_same_for_more_rows_and_pages_deep(app, company, make_user,
                                                                  client_as, queries_for):
    user = make_user("staff")
    admin = client_as("admin")
    for n in range(3):
        job_service.create_job(company_id=company.id, user=user, kind="export",
                               title=f"Job {n}", params={})
    few = queries_for(admin, "/admin/jobs")
    for n in range(30):
        job_service.create_job(company_id=company.id, user=user, kind="export",
                               title=f"More {n}", params={})
    assert queries_for(admin, "/admin/jobs?per_page=100") == few
    deep = admin.get("/admin/jobs?page=2&per_page=20")
    assert deep.status_code == 200 and deep.data.count(b'id="job-') == 13


def test_the_sweeper_queues_a_job_whose_worker_stopped_beating(app, company, make_user):
    app.config["JOBS_LEASE_SECONDS"] = 0
    user = make_user("staff")
    job = job_service.create_job(company_id=company.id, user=user, kind="export",
                                 title="Stuck", params={})
    queue = app.extensions[EXTENSION]
    queue.huey.flush()
    db.session.execute(Job.__table__.update().values(status="running",
                                                      heartbeat_at=func.now()))
    db.session.commit()
    time.sleep(0.01)
    job_service.sweep()
    assert queue.huey.pending_count() == 1


def worker_process(app, tmp_path) -> subprocess.Popen:
    """`flask --app wsgi worker` on the test's database and queue."""
    config = app.config
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL":
           config["SQLALCHEMY_DATABASE_URI"], "JOBS_DB": config["JOBS_DB"],
           "SECRET_KEY": config["SECRET_KEY"], "JOBS_LEASE_SECONDS": "1",
           "JOBS_SWEEP_SECONDS": "1", "REDIS_URL": config.get("REDIS_URL") or ""}
    log = open(tmp_path / "worker.log", "ab")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker",
                             "--workers", "1", "--no-periodic"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)


def test_a_worker_killed_mid_import_loses_nothing_and_imports_nothing_twice(
        app, company, make_user, tmp_path):
    # 60 batches: the kill still lands mid-way (the wait below polls every 50 ms; SQLite
    # pauses between batches, so 6,000 rows took 112 s of the SQLite pass on a loaded machine)
    rows = 3000
    user = make_user("manager")
    app.extensions[EXTENSION].huey.flush()
    csv = "sku,name\n" + "".join(f"K-{n:05d},Killed {n}\n" for n in range(rows))
    job = job_service.create_job(company_id=company.id, user=user, kind="import",
                                 title="Kill me", params={"kind": "products", "batch_size": 50},
                                 data=csv.encode())
    first = worker_process(app, tmp_path)
    try:
        def mid_way():
            db.session.rollback()
            created = db.session.scalar(select(func.count()).select_from(Product))
            return 0 < created < rows - 500
        wait_for(mid_way, timeout=60, what="the import to start")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    db.session.rollback()
    killed = db.session.get(Job, job.id)
    assert killed.status == "running" and killed.attempts == 1
    assert 0 < db.session.scalar(select(func.count()).select_from(Product)) < rows
    second = worker_process(app, tmp_path)
    try:
        job = wait_for(lambda: job_finished(job.id), timeout=120)
    finally:
        second.send_signal(signal.SIGINT)
        try:
            second.wait(10)
        except subprocess.TimeoutExpired:
            second.kill()
    assert job.status == "done", (job.error, (tmp_path / "worker.log").read_text()[-2000:])
    assert job.attempts == 2
    assert db.session.scalar(select(func.count()).select_from(Product)) == rows
    assert db.session.scalar(select(func.count(func.distinct(Product.sku)))) == rows


@pytest.mark.skipif(TEST_DB != "sqlite", reason="the embedded default's path")
def test_the_queue_is_a_sqlite_file_in_the_instance_folder_without_redis(app):
    queue = JobQueue(app)
    assert type(queue.huey).__name__ == "SqliteHuey"
    assert queue.huey.storage.filename == app.config["JOBS_DB"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    assert type(JobQueue(app).huey).__name__ == "RedisHuey"


def test_the_periodic_tasks_forget_old_idempotency_keys_and_back_up(app, company, make_user,
                                                                    tmp_path):
    from datetime import timedelta

    from erp.models.api import IdempotencyKey
    from erp.models.base import utcnow

    user = make_user("staff")
    for key, age in (("old", 8), ("fresh", 1)):
        db.session.add(IdempotencyKey(company_id=company.id, user_id=user.id, key=key,
                                      request="POST /api/v1/sales-orders", status=201, body="{}",
                                      created_at=utcnow() - timedelta(days=age)))
    db.session.commit()
    assert job_service.purge_idempotency_keys() == 1
    assert db.session.scalars(select(IdempotencyKey.key)).all() == ["fresh"]
    app.config["JOBS_BACKUP_HOUR"] = 2
    names = {task.__name__ for task in JobQueue(app).huey._registry._periodic_tasks}
    assert names == {"purge_idempotency_keys", "nightly_backup", "monitoring_alerts",
                     "nightly_reorder"}
    if TEST_DB == "sqlite":  # pg_dump's backup is tested with the `backup` command
        app.instance_path = str(tmp_path)
        assert Path(job_service.nightly_backup()).stat().st_size > 0
