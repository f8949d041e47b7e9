"""The API's CSV imports: a multipart upload queued as the import job the page queues (a real
worker), its progress and result (rows imported, or every row's errors with nothing
imported) read through the job status; roles, read-only tokens, idempotency."""
from __future__ import annotations

from io import BytesIO

from sqlalchemy import func, select

from erp.extensions import db
from erp.models import Product
from erp.models.jobs import Job
from tests.api.test_api import bearer
from tests.test_jobs import job_finished, running_worker, wait_for

GOOD = b"sku,name,sale_price\nIMP-1,First,1.50\nIMP-2,Second,2.00\nIMP-3,Third,3.25\n"
BAD = b"sku,name,sale_price\nIMP-1,First,abc\nIMP-1,Again,1\n,Nameless,2\n"


def upload(client, headers, data: bytes, kind: str = "products", name: str = "items.csv"):
    return client.post(f"/api/v1/imports/{kind}", headers=headers,
                       data={"file": (BytesIO(data), name)}, content_type="multipart/form-data")


def products() -> int:
    return db.session.scalar(select(func.count()).select_from(Product))


def test_a_csv_import_runs_as_a_job_whose_result_counts_the_rows(app, client, make_user):
    headers = bearer(make_user("manager"))
    with running_worker(app):
        queued = upload(client, headers, GOOD)
        assert queued.status_code == 202, queued.get_json()
        job = queued.get_json()
        assert job["kind"] == "import" and job["title"] == "CSV import of products (items.csv)"
        wait_for(lambda: job_finished(job["id"]), timeout=60)
    done = client.get(f"/api/v1/jobs/{job['id']}", headers=headers).get_json()
    assert done["status"] == "done", done["error"]
    assert done["done"] == 3 and done["percent"] == 100
    assert done["result"]["imported"] == 3 and done["result"]["errors"] == []
    assert done["result"]["message"] == "Imported 3 products."
    assert sorted(db.session.scalars(select(Product.sku))) == ["IMP-1", "IMP-2", "IMP-3"]


def test_a_file_with_errors_fails_with_every_rows_errors_and_imports_nothing(app, client,
                                                                             make_user):
    headers = bearer(make_user("admin"))
    with running_worker(app):
        job = upload(client, headers, BAD).get_json()
        wait_for(lambda: job_finished(job["id"]), timeout=60)
    failed = client.get(f"/api/v1/jobs/{job['id']}", headers=headers).get_json()
    assert failed["status"] == "failed" and "nothing was imported" in failed["error"]
    errors = failed["result"]["errors"]
    assert {(error["line"], error["column"]) for error in errors} >= {
        (2, "sale_price"), (3, "sku"), (4, "sku")}
    assert failed["result"]["imported"] is None
    assert products() == 0


def test_customers_and_suppliers_import_too_and_a_missing_header_is_a_file_error(
        app, client, make_user):
    headers = bearer(make_user("manager"))
    with running_worker(app):
        customers = upload(client, headers, b"name,email\nBuyer A,a@example.com\n",
                           kind="customers").get_json()
        suppliers = upload(client, headers, b"email\nx@example.com\n", kind="suppliers").get_json()
        wait_for(lambda: job_finished(customers["id"]) and job_finished(suppliers["id"]),
                 timeout=60)
    assert client.get(f"/api/v1/jobs/{customers['id']}", headers=headers
                      ).get_json()["result"]["imported"] == 1
    failed = client.get(f"/api/v1/jobs/{suppliers['id']}", headers=headers).get_json()
    assert failed["status"] == "failed" and failed["result"]["file_errors"]


def test_imports_are_a_managers_with_a_token_that_writes(client, make_user):
    assert upload(client, bearer(make_user("staff")), GOOD).status_code == 403
    read_only = upload(client, bearer(make_user("admin"), read_only=True), GOOD)
    assert read_only.status_code == 403
    manager = bearer(make_user("manager"))
    empty = upload(client, manager, b"  \n")
    assert empty.status_code == 422 and "file" in empty.get_json()["errors"]
    missing = client.post("/api/v1/imports/products", headers=manager, data={},
                          content_type="multipart/form-data")
    assert missing.status_code == 422 and "file" in missing.get_json()["errors"]
    assert client.post("/api/v1/imports/invoices", headers=manager).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def test_a_retried_upload_with_its_idempotency_key_queues_one_job(client, make_user):
    headers = bearer(make_user("manager")) | {"Idempotency-Key": "import-1"}
    first = upload(client, headers, GOOD)
    again = upload(client, headers, GOOD, name="renamed.csv")  # another multipart boundary
    assert first.status_code == again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["id"] == again.get_json()["id"]
    other = upload(client, headers, BAD)
    assert other.status_code == 422 and "another request" in other.get_json()["detail"]
    assert db.session.scalar(select(func.count()).select_from(Job)) == 1
