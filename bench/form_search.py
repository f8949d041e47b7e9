"""The custom forms' "contains" filter on answer text at 100,000 submissions (#23): the
submissions list page's queries (its rows and its capped count), timed.

    DATABASE_URL=postgresql://.../forms .venv/bin/flask --app wsgi db upgrade
    DATABASE_URL=postgresql://.../forms PYTHONPATH=. .venv/bin/python bench/form_search.py \
        --seed 100000
    DATABASE_URL=postgresql://.../forms PYTHONPATH=. .venv/bin/python bench/form_search.py

`--seed N` loads the benchmark's incoming goods checklist (erp/seeds/bench.py: a company,
a user, N submissions and their answers; "Damage notes" on 8% of them, "Checked by" on
all) into the database, then ANALYZE. Without it, the page of each filter below is read
`-n` times as the submissions list reads it (erp/queries/forms.py through its ListSpec,
in a request context of a logged-in manager) and the median milliseconds are printed.
"""
from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import date, datetime, timedelta, timezone

# "Damage notes" (f6) and "Checked by" (f7): a word, a phrase, a word with an i (SQLite:
# its Turkish capitals are replaced), a name on a sixth of them, and a word nobody wrote
# (the whole count must be proven empty)
FILTERS = ["f6=crushed", "f6=seal+broken", "f6=missing", "f7=novak", "f6=nothing+like+it"]


def seed(count: int) -> None:
    from sqlalchemy import func, select

    from erp.extensions import db
    from erp.models import Company, User
    from erp.models.catalog import Category
    from erp.seeds import bench
    from erp.services import atomic
    from erp.services.users import hash_password

    now = datetime.now(timezone.utc)
    with atomic():
        company = Company(name="Form search bench", created_at=now)
        db.session.add(company)
        db.session.flush()
        user = User(company_id=company.id, email="forms@bench.example", name="Forms bench",
                    password_hash=hash_password("forms-bench-password"), role="manager",
                    active=True, session_version=1, failed_logins=0)
        category = Category(company_id=company.id, name="Incoming", description="",
                            active=True)
        db.session.add_all([user, category])
        db.session.flush()
        load = bench._Loader(lambda n: None)
        bench._forms(load, company.id, random.Random(1), [(user.name, "manager", user.name)],
                     user.id, category.id, count, date.today() - timedelta(days=bench.DAYS),
                     now)
    bench.analyze()
    print("seeded", count, "submissions; answers:",
          db.session.scalar(select(func.count()).select_from(bench.FormAnswer)))


def measure(runs: int) -> None:
    from flask import current_app
    from flask_login import login_user
    from sqlalchemy import select

    from erp.extensions import db
    from erp.models import User
    from erp.models.forms import CustomForm
    from erp.queries import forms as queries
    from erp.services import forms as form_service

    user = db.session.scalar(select(User).where(User.email == "forms@bench.example"))
    form_id = db.session.scalar(select(CustomForm.id).where(
        CustomForm.company_id == user.company_id))
    print(f"{db.engine.dialect.name}: median ms of {runs} reads (rows + capped count)")
    for query in FILTERS:
        times, total = [], None
        for _ in range(runs):
            with current_app.test_request_context(f"/forms/{form_id}/submissions?{query}"):
                login_user(user)
                form = db.session.get(CustomForm, form_id)
                spec = queries.submissions_spec(form, form_service.latest_version(form))
                started = time.perf_counter()
                params = spec.params()
                page = spec.page(params, spec.select(params))
                times.append((time.perf_counter() - started) * 1000)
                total = page.total
            db.session.remove()
        print(f"  {query:22} {statistics.median(times):8.1f} ms  ({total} found)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="load N submissions first")
    parser.add_argument("-n", type=int, default=7, help="reads per filter")
    args = parser.parse_args()
    from erp import create_app

    app = create_app()
    with app.app_context():
        if args.seed:
            seed(args.seed)
        else:
            measure(args.n)


if __name__ == "__main__":
    main()
