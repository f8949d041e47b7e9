"""Big CSV exports as background jobs.

A list's `?format=csv` of more than EXPORT_JOB_ROWS rows does not hold a web worker: the
request records a job (the list's spec by name, the query string, the user) and sends the
user to the job's page, which polls its progress; a worker builds the file through the
same `ListSpec` in a request of the same address, as that user (erp/services/jobs.py), and
the page offers it when it is ready. Smaller exports stream at once, as before.

Only specs declared at module level in `erp/queries/` can be named for a worker; any
other list exports at once, whatever its size.
"""
from __future__ import annotations

import importlib
import io
import pkgutil
from functools import cache
from typing import Any

from flask import current_app, request
from flask_login import current_user
from sqlalchemy import Select, func, select

from erp.extensions import db


@cache
def _spec_names() -> dict[int, str]:
    """id(spec) -> 'module:NAME' of every ListSpec declared in erp/queries."""
    import erp.queries
    from erp.lists import ListSpec

    names = {}
    for info in pkgutil.iter_modules(erp.queries.__path__):
        module = importlib.import_module(f"erp.queries.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, ListSpec):
                names[id(value)] = f"{module.__name__}:{name}"
    return names


def spec_by_name(name: str):
    module, _, attribute = name.partition(":")
    if not module.startswith("erp.queries."):
        raise ValueError(name)
    return getattr(importlib.import_module(module), attribute)


def count_capped(stmt: Select, cap: int) -> int:
    """The rows of `stmt`, counted up to `cap` (never a COUNT of a whole big table)."""
    return db.session.scalar(select(func.count()).select_from(
        stmt.order_by(None).limit(cap).subquery()))


def export_as_job(spec, stmt: Select):
    """The redirect to a new export job when `stmt` has more than EXPORT_JOB_ROWS rows and
    the spec can be named; None to stream the file at once."""
    from erp.services import jobs as job_service
    from erp.web import redirect_after_post

    name = _spec_names().get(id(spec))
    limit = current_app.config["EXPORT_JOB_ROWS"]
    if name is None or count_capped(stmt, limit + 1) <= limit:
        return None
    args = request.args.to_dict(flat=False)
    title = f"CSV export of {request.path}"
    job = job_service.create_job(
        company_id=current_user.company_id, user=current_user, kind="export", title=title,
        params={"spec": name, "path": request.path, "args": args})
    return redirect_after_post("jobs.job_detail", job_id=job.id)


def run_export(job, progress) -> None:
    """The runner: the list's CSV as the user who asked, into the job's result. Running it
    again makes the same file (idempotent)."""
    spec = spec_by_name(job.params["spec"])
    params = spec.params()
    stmt = spec.select(params)
    progress.set_total(count_capped(stmt, 10_000_000))
    response = spec.csv.export(stmt)
    buffer = io.BytesIO()
    progress.done = -1  # the header line is not a row
    for chunk in response.response:
        data = chunk.encode("utf-8") if isinstance(chunk, str) else chunk
        buffer.write(data)
        progress.add(data.count(b"\n"))
    disposition: Any = response.headers.get("Content-Disposition", "")
    name = disposition.partition('filename="')[2].rstrip('"') or "export.csv"
    db.session.rollback()  # end the read before the write
    from erp.services import atomic

    with atomic():
        job = db.session.get(type(job), job.id, populate_existing=True)
        job.result, job.result_name = buffer.getvalue(), name[:200]
