"""The SQL behind a page, timed, with the plan of its slowest statements.

    DATABASE_URL=sqlite:///bench/data/bench-m.sqlite3 .venv/bin/python bench/explain.py \
        / "/sales/orders" "/sales/orders?page=500" "/inventory/stock"

Requests each page (logged in as admin@bench.example) through the app in this process,
records every statement with its parameters and duration, and prints EXPLAIN QUERY PLAN
(SQLite) or EXPLAIN ANALYZE (PostgreSQL) of the statements slower than 1 ms.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(paths: list[str]) -> None:
    os.environ.setdefault("ERP_ENV", "development")
    from flask_login import login_user
    from sqlalchemy import event, select

    from erp import auth, create_app
    from erp.extensions import db
    from erp.models import User

    app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "CACHE_TYPE": "NullCache"})
    statements: list[tuple[str, object, float]] = []

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "before_cursor_execute")
        def before(conn, cursor, statement, parameters, context, executemany):
            conn.info["t0"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def after(conn, cursor, statement, parameters, context, executemany):
            statements.append((statement, parameters, time.perf_counter() - conn.info["t0"]))

        user = db.session.scalar(select(User).where(User.email == "admin@bench.example"))
        client = app.test_client()
        with client.session_transaction() as sess:
            with app.test_request_context():
                auth.start_session(user)
                login_user(user)
                from flask import session
                sess.update(dict(session))
        for path in paths:
            client.get(path)  # warm
            statements.clear()
            started = time.perf_counter()
            response = client.get(path)
            total = (time.perf_counter() - started) * 1000
            mine = list(statements)
            print(f"\n=== {path}: {response.status_code}, {total:.1f} ms, "
                  f"{len(mine)} statements, "
                  f"{sum(s[2] for s in mine) * 1000:.1f} ms in the database")
            for sql, params, seconds in sorted(mine, key=lambda s: -s[2]):
                if seconds < 0.001 or not sql.lstrip().upper().startswith("SELECT"):
                    continue
                print(f"\n--- {seconds * 1000:.1f} ms\n{sql}\n{params}")
                with engine.connect() as conn:
                    if engine.dialect.name == "sqlite":
                        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
                        for row in rows:
                            print("   ", row[-1])
                    else:
                        rows = conn.exec_driver_sql("EXPLAIN ANALYZE " + sql, params)
                        for row in rows:
                            print("   ", row[0])


if __name__ == "__main__":
    main(sys.argv[1:] or ["/", "/sales/orders", "/inventory/stock"])
