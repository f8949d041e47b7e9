"""`make bench`: load a data set, serve it under gunicorn, drive the scenarios, write a report.

Settings from the environment:
  BENCH_SIZE=s|m|l (s)        data set size (`flask seed-bench --size`)
  BENCH_DB=sqlite|postgresql  SQLite file under bench/data/, or a throwaway PostgreSQL
                              with Redis (started like tests/servers.py)
  BENCH_USERS=50,100,200      users of the normal, peak and stress scenarios (soak: normal;
                              a 4th number: overload, default twice the stress users)
  BENCH_DURATION=20           seconds per scenario (soak: 3x), unless BENCH_FULL=1
  BENCH_FULL=1                full length: normal 1 h, peak 30 min, stress 10 min, soak 10 min
  BENCH_THINK=0.5-1.5         think time of a user between pages, seconds (uniform)
  BENCH_SEED=1                seed of the data and of the users' choices
  BENCH_KEEP=1                keep the database (SQLite file) after the run
  BENCH_SQLITE_FROM=path      SQLite only: start from a copy of this already seeded file
                              (made by `flask db upgrade` + `flask seed-bench` with the same
                              size and seed) instead of seeding, so that size l (7 min of
                              CPU to seed, see bench/README.md) can be seeded while the
                              machine is busy and measured when it is quiet
  BENCH_PG_FROM=path          PostgreSQL only: the same with a `pg_dump -Fc` file of a seeded
                              database, restored into the throwaway server (pg_restore, then
                              VACUUM ANALYZE as seed-bench does)
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402  (bench/load.py)
import report  # noqa: E402  (bench/report.py)

VENV_BIN = Path(sys.executable).parent
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
HOST = "127.0.0.1"
HELLO_WORKERS = 2 * (os.cpu_count() or 1) + 1  # gunicorn.conf.py's production default


def env_setting(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_http(port: int, path: str = "/health", timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=1) as sock:
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
                             .encode())
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not answer {path} within {timeout} s")


class Gunicorn:
    """gunicorn with the repository's gunicorn.conf.py (production settings)."""

    def __init__(self, app: str, env: dict, log: Path, health: str) -> None:
        self.port = free_port()
        self.env = dict(env, PORT=str(self.port))
        self.log = log
        self.health = health
        self.app = app
        self.process: subprocess.Popen | None = None

    def start(self) -> "Gunicorn":
        self.process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", self.app], cwd=ROOT,
            env=self.env, stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        wait_http(self.port, self.health)
        return self

    def workers(self):
        import psutil

        return psutil.Process(self.process.pid).children()

    def rss(self) -> dict:
        workers = self.workers()
        sizes = [w.memory_info().rss / 2**20 for w in workers]
        return {"pids": sorted(w.pid for w in workers),
                "max_mb": round(max(sizes), 1) if sizes else 0,
                "mean_mb": round(sum(sizes) / len(sizes), 1) if sizes else 0}

    def cpu_seconds(self) -> dict[int, float]:
        """CPU seconds of each live worker (pid -> seconds), and under the key 0 those of
        the workers that exited (recycled by max_requests), which the master reaped: a
        difference of two readings is then the CPU the workers spent in between."""
        import psutil

        master = psutil.Process(self.process.pid).cpu_times()
        out = {0: master.children_user + master.children_system}
        for w in self.workers():
            try:
                t = w.cpu_times()
                out[w.pid] = t.user + t.system
            except Exception:  # a worker recycled in between
                pass
        return out

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None


def run(cmd: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    return time.perf_counter() - started


def copy_seeded(source: Path, target: Path) -> None:
    """Copy a seeded SQLite file with SQLite's backup API: the pages still in its
    write-ahead log and its ANALYZE statistics come along (a plain file copy can lose
    both)."""
    import sqlite3

    if not source.is_file():
        raise SystemExit(f"BENCH_SQLITE_FROM: no such file {source}")
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")


def restore_seeded(source: Path, pg, url: str) -> None:
    """Restore a seeded database's `pg_dump -Fc` file into the throwaway server, then
    VACUUM ANALYZE as seed-bench does (a dump carries no planner statistics)."""
    import psycopg2

    if not source.is_file():
        raise SystemExit(f"BENCH_PG_FROM: no such file {source}")
    subprocess.run([str(pg.bin / "pg_restore"), "--no-owner", "--exit-on-error", "--jobs=2",
                    f"--dbname={url}", str(source)], check=True)
    connection = psycopg2.connect(url)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    finally:
        connection.close()


def prepare_database(db_kind: str, size: str, servers: list) -> dict:
    """A fresh database (and Redis for PostgreSQL); returns the environment to use."""
    DATA.mkdir(parents=True, exist_ok=True)
    env = {}
    if db_kind == "sqlite":
        path = DATA / f"bench-{size}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        env["DATABASE_URL"] = f"sqlite:///{path}"
    elif db_kind == "postgresql":
        from tests.servers import PostgresServer, RedisServer

        pg = PostgresServer().init().start()
        servers.append(pg)
        redis = RedisServer().start()
        servers.append(redis)
        env["DATABASE_URL"] = f"{pg.url}/postgres"
        env["REDIS_URL"] = f"{redis.url}/0"
    else:
        raise SystemExit("BENCH_DB must be sqlite or postgresql")
    return env


def mint_cookies(env: dict, emails: list[str]) -> tuple[str, list[str], dict]:
    """Session cookies of the bench users, made as the login view makes them (the login
    form is rate limited to 10 a minute per address, by design); plus the mix's data."""
    os.environ.update(env)
    from flask import session
    from flask_login import login_user
    from sqlalchemy import func, select

    from erp import auth, create_app
    from erp.extensions import db
    from erp.models import Company, StockLevel, User
    from erp.models.catalog import Product
    from erp.models.forms import FormSubmission
    from erp.models.bills import Bill
    from erp.models.catalog import Supplier
    from erp.models.invoices import Invoice, Payment
    from erp.models.sales import Customer, SalesOrder

    app = create_app()
    cookie_name = app.config.get("SESSION_COOKIE_NAME", "session")
    cookies = []
    with app.app_context():
        company = db.session.scalar(select(Company).where(Company.name == "Bench Co"))
        users = {u.email: u for u in db.session.scalars(
            select(User).where(User.company_id == company.id))}
        serializer = app.session_interface.get_signing_serializer(app)
        for email in emails:
            with app.test_request_context("/login"):
                auth.start_session(users[email])
                login_user(users[email])
                cookies.append(serializer.dumps(dict(session)))
        cid = company.id
        order_ids = list(db.session.scalars(
            select(SalesOrder.id).where(SalesOrder.company_id == cid)))
        customers = [f"{name} [#{id_}]" for id_, name in db.session.execute(
            select(Customer.id, Customer.name).where(Customer.company_id == cid,
                                                     Customer.active.is_(True))
            .order_by(Customer.id).limit(300))]
        stocked = [(str(w), sku) for w, sku in db.session.execute(
            select(StockLevel.warehouse_id, Product.sku)
            .join(Product, Product.id == StockLevel.product_id)
            .where(StockLevel.company_id == cid, Product.active.is_(True),
                   StockLevel.on_hand - StockLevel.reserved >= 100)
            .order_by(StockLevel.id).limit(2000))]
        orders = len(order_ids)
        form_id = db.session.scalar(select(FormSubmission.form_id).where(
            FormSubmission.company_id == cid).limit(1))
        submission_ids = list(db.session.scalars(
            select(FormSubmission.id).where(FormSubmission.company_id == cid)))
        # a sample of the money records (every 20th id up to 5,000 of each: bounded reads)
        money_ids = {name: list(db.session.scalars(
            select(model.id).where(model.company_id == cid).order_by(model.id).limit(5000)))
            [::20] for name, model in (("invoice_ids", Invoice), ("payment_ids", Payment),
                                       ("bill_ids", Bill), ("supplier_ids", Supplier))}
        db.session.remove()
    per_page = 20
    pages = max(1, -(-orders // per_page))
    today = date.today()
    data = {
        "order_ids": order_ids[::max(1, len(order_ids) // 5000)],
        "customers": customers, "stocked": stocked,
        "customer_ids": [int(label.rsplit("#", 1)[1].rstrip("]")) for label in customers],
        "search_terms": ["bracket", "hinge", "steel", "oak lamp", "BP-00012", "valve 1",
                         "desk", "copper"],
        "deep_page": max(2, round(pages / 10)),  # page 500 of 5,000 at size l: 10% deep
        "last_page": pages, "orders": orders,
        "date_from": (today - timedelta(days=120)).isoformat(),
        "date_to": (today - timedelta(days=90)).isoformat(),
        "today": today.isoformat(),
        "form_id": form_id,
        "form_submission_ids": submission_ids[::max(1, len(submission_ids) // 5000)],
        "form_deep_page": max(2, round(len(submission_ids) / per_page / 10)),
        "month_ago": (today - timedelta(days=30)).isoformat(),
        **money_ids,
    }
    return cookie_name, cookies, data


def summarize(rec: load.Recorder, seconds: float) -> dict:
    pages = {}
    for name, stats in sorted(rec.pages.items()):
        pages[name] = report.page_figures(stats, seconds)
    pages["ALL"] = report.merge_figures(rec.pages.values(), seconds)
    return pages


def scenario(app: Gunicorn, name: str, users: int, seconds: float, think, cookie_name,
             cookies, data, seed) -> dict:
    print(f"  scenario {name}: {users} users, {seconds:.0f} s ...", flush=True)
    rss_start = app.rss()
    cpu_start, load_start = app.cpu_seconds(), os.getloadavg()[0]
    user_cookies = [cookies[i % len(cookies)] for i in range(users)]
    rec, cpu = load.run_mix(HOST, app.port, cookie_name, user_cookies, data, seconds, think,
                            seed)
    rss_end = app.rss()
    # workers recycled during the run (max_requests) count through the master (key 0)
    app_cpu = sum(app.cpu_seconds().values()) - sum(cpu_start.values())
    result = {"users": users, "seconds": seconds, "think_s": list(think), "generator": cpu,
              "app_cpu_s": round(app_cpu, 1),
              "loadavg": [round(load_start, 1), round(os.getloadavg()[0], 1)],
              "rss_start": rss_start, "rss_end": rss_end,
              "workers_recycled": rss_start["pids"] != rss_end["pids"],
              "pages": summarize(rec, cpu["wall_s"])}
    all_ = result["pages"]["ALL"]
    result["app_cpu_ms_per_request"] = (round(app_cpu * 1000 / all_["requests"], 1)
                                        if all_["requests"] else None)
    print(f"    {all_['rps']} req/s, p95 {all_['p95']} ms, errors {all_['errors']}, "
          f"app CPU {result['app_cpu_ms_per_request']} ms/request, load {result['loadavg']}",
          flush=True)
    return result


def cpu_per_request(app: "Gunicorn", cpu_start: dict, rec, label: str) -> float | None:
    """The workers' CPU ms per request of a run (gunicorn's own HTTP work included)."""
    spent = sum(app.cpu_seconds().values()) - sum(cpu_start.values())
    requests = len(rec.pages[label].latencies)
    return round(spent * 1000 / requests, 3) if requests else None


def saturation_figures(app: "Gunicorn", cpu_start: dict, rec, label: str, cpu: dict) -> dict:
    """A saturation run's figures: the page figures, the generator's CPU, the workers' CPU
    per request, and how many cores the workers kept busy in all and each (their CPU
    seconds over the run's wall time; a worker recycled in between counts under "exited").
    With 16 keep-alive connections each stays with the worker that accepted it: a worker
    that took most of them, or workers left idle, show here as cores (#17: every recorded
    2-worker run kept 1.0-1.1 of the 2 cores busy, list pages and hello world alike)."""
    end = app.cpu_seconds()
    wall = cpu["wall_s"] or 1.0
    per = {("exited" if pid == 0 else str(pid)): round((end.get(pid, 0.0)
                                                          - cpu_start.get(pid, 0.0)) / wall, 2)
           for pid in sorted(set(end) | set(cpu_start))}
    per = {pid: cores for pid, cores in per.items() if cores > 0 or pid != "exited"}
    return (report.page_figures(rec.pages[label], cpu["wall_s"])
            | {"generator": cpu,
               "app_cpu_ms_per_request": cpu_per_request(app, cpu_start, rec, label),
               "app_cores": round(sum(per.values()), 2), "worker_cores": per,
               "workers": len(app.workers())})


def hello_env(env: dict) -> dict:
    """The hello-world app's environment: the run's, without its database, with the
    production worker count (2 x CPUs + 1) set explicitly. gunicorn.conf.py chooses the
    workers from DATABASE_URL (2 on SQLite, 2 x CPUs + 1 otherwise), so the hello world
    inherited 2 workers in a SQLite run and 5 in a PostgreSQL one: 1,442 vs 4,922 req/s
    (0.756 vs 0.359 ms CPU) on 2026-12-02, the same app. Now both runs measure it alike,
    and the ratios of the two databases' reports compare."""
    out = {k: v for k, v in env.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    out["GUNICORN_WORKERS"] = str(HELLO_WORKERS)
    return out


def scaling(app: Gunicorn, cookie: str, data: dict, repeat: int = 30) -> dict:
    """Page 1, the deep page and the last page of the sales orders, one request at a time."""
    out = {}
    for label, page in (("page 1", 1), (f"deep page {data['deep_page']}", data["deep_page"]),
                        (f"last page {data['last_page']}", data["last_page"])):
        path = f"/sales/orders?page={page}"
        load.run_fixed(HOST, app.port, "warm", [path], 1, 1.0, [cookie])
        rec = load.Recorder()
        conn = load.Connection(HOST, app.port)

        async def go():
            for _ in range(repeat):
                started = time.perf_counter()
                status, headers, _ = await conn.request("GET", path, cookie)
                rec.record(label, started, status, headers)
            await conn.close()

        import asyncio

        asyncio.run(go())
        out[label] = report.page_figures(rec.pages[label], None) | {"page": page}
    return out


def main() -> None:
    size = env_setting("BENCH_SIZE", "s")
    db_kind = env_setting("BENCH_DB", "sqlite")
    full = env_setting("BENCH_FULL", "0") == "1"
    seed = int(env_setting("BENCH_SEED", "1"))
    users = [int(n) for n in env_setting("BENCH_USERS", "50,100,200").split(",")]
    while len(users) < 3:
        users.append(users[-1])
    if len(users) < 4:  # overload: twice the stress scenario's users (#17: load shedding)
        users.append(users[2] * 2)
    duration = float(env_setting("BENCH_DURATION", "20"))
    low, _, high = env_setting("BENCH_THINK", "0.5-1.5").partition("-")
    think = (float(low), float(high or low))
    if full:
        plan = [("normal", users[0], 3600), ("peak", users[1], 1800),
                ("stress", users[2], 600), ("overload", users[3], 300), ("soak", users[0], 600)]
    else:
        plan = [("normal", users[0], duration), ("peak", users[1], duration),
                ("stress", users[2], duration), ("overload", users[3], duration),
                ("soak", users[0], duration * 3)]

    servers: list = []
    gunicorns: list[Gunicorn] = []
    started_at = datetime.now(timezone.utc)
    try:
        env = dict(os.environ, **prepare_database(db_kind, size, servers))
        env.update({"ERP_ENV": "production", "SECRET_KEY": secrets.token_hex(32),
                    "FORCE_HTTPS": "0", "SESSION_COOKIE_SECURE": "0",
                    "ALLOWED_HOSTS": HOST, "FLASK_APP": "wsgi", "LOG_LEVEL": "WARNING",
                    "PROXY_COUNT": "0"})
        flask = [str(VENV_BIN / "flask"), "--app", "wsgi"]
        print(f"bench: size {size} on {db_kind}", flush=True)
        seeded = env_setting("BENCH_SQLITE_FROM" if db_kind == "sqlite" else "BENCH_PG_FROM",
                             "")
        if seeded:
            if db_kind == "sqlite":
                copy_seeded(Path(seeded), DATA / f"bench-{size}.sqlite3")
            else:
                restore_seeded(Path(seeded), servers[0], env["DATABASE_URL"])
            migrate_s = run(flask + ["db", "upgrade"], env)
            seed_s = None
        else:
            migrate_s = run(flask + ["db", "upgrade"], env)
            seed_s = run(flask + ["seed-bench", "--size", size, "--seed", str(seed)], env)
        emails = [f"user{n:03d}@bench.example" for n in range(1, 201)]
        cookie_name, cookies, data = mint_cookies(env, emails)
        full_cookies = [f"{cookie_name}={c}" for c in cookies]

        app = Gunicorn("wsgi:app", env, DATA / f"gunicorn-{size}-{db_kind}.log",
                       "/health").start()
        gunicorns.append(app)
        time.sleep(2)  # every worker booted
        rss_boot = app.rss()
        # warm-up: every worker imports templates and fills its caches
        load.run_mix(HOST, app.port, cookie_name, cookies[:20], data, 10, (0.0, 0.05), seed)
        workers = len(app.workers())
        results = {}
        for name, n_users, seconds in plan:
            results[name] = scenario(app, name, n_users, seconds, think, cookie_name,
                                     cookies, data, seed)
        scale = scaling(app, full_cookies[0], data)
        sat_seconds = max(10.0, duration / 2) if not full else 60.0
        print("  saturation: list pages, 16 connections, no think time ...", flush=True)
        lists = ["/sales/orders", "/catalog/products", "/inventory/stock",
                 "/sales/orders?status=confirmed"]
        cpu_start = app.cpu_seconds()
        rec, cpu = load.run_fixed(HOST, app.port, "list pages", lists, 16, sat_seconds,
                                  full_cookies)
        saturation = {"list pages": saturation_figures(app, cpu_start, rec, "list pages", cpu)}
        rss_final = app.rss()
        app.stop()
        if workers != HELLO_WORKERS:
            # the same list pages on the hello world's worker count (SQLite runs on 2, see
            # gunicorn.conf.py): the share of hello world compares like with like
            print(f"  saturation: list pages on {HELLO_WORKERS} workers ...", flush=True)
            wide = Gunicorn("wsgi:app", dict(env, GUNICORN_WORKERS=str(HELLO_WORKERS)),
                            DATA / f"gunicorn-{size}-{db_kind}-wide.log", "/health").start()
            gunicorns.append(wide)
            time.sleep(2)
            load.run_fixed(HOST, wide.port, "warm", lists, 16, 3.0, full_cookies)
            cpu_start = wide.cpu_seconds()
            rec, cpu = load.run_fixed(HOST, wide.port, "list pages", lists, 16, sat_seconds,
                                      full_cookies)
            saturation[f"list pages, {HELLO_WORKERS} workers"] = saturation_figures(
                wide, cpu_start, rec, "list pages", cpu)
            wide.stop()

        # the unit of the ratios: the same for both databases (see hello_env)
        hello = Gunicorn("bench.hello:app", hello_env(env), DATA / "gunicorn-hello.log",
                         "/").start()
        gunicorns.append(hello)
        print("  saturation: hello world, 16 connections ...", flush=True)
        load.run_fixed(HOST, hello.port, "warm", ["/"], 4, 2.0)
        cpu_start = hello.cpu_seconds()
        rec, cpu = load.run_fixed(HOST, hello.port, "hello world", ["/"], 16, sat_seconds)
        saturation["hello world"] = saturation_figures(hello, cpu_start, rec, "hello world",
                                                       cpu)
        hello.stop()

        import psutil

        result = {
            "date": started_at.isoformat(timespec="seconds"), "size": size, "db": db_kind,
            "redis": db_kind == "postgresql", "full": full, "seed": seed,
            "machine": {"cpus": os.cpu_count(),
                        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
                        "python": sys.version.split()[0]},
            "gunicorn": {"workers": workers, "hello_workers": HELLO_WORKERS,
                         "threads": int(env.get("GUNICORN_THREADS", 4)),
                         "worker_class": "QueueStampingWorker (gthread)", "max_requests": 2000},
            "load": {"migrate_s": round(migrate_s, 1),
                     "seed_s": None if seed_s is None else round(seed_s, 1),
                     "seeded_from": seeded or None,
                     "orders": data["orders"]},
            "rss_boot": rss_boot, "rss_final": rss_final,
            "scenarios": results, "scaling": scale, "saturation": saturation,
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        stem = RESULTS / f"{started_at.date().isoformat()}-{size}-{db_kind}"
        if Path(f"{stem}.json").exists():  # a second run of the day keeps the first's files
            stem = stem.with_name(f"{stem.name}-{started_at.strftime('%H%M')}")
        Path(f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n")
        Path(f"{stem}.md").write_text(report.markdown(result))
        report.write_scaling(RESULTS)
        print(f"bench: wrote {stem}.md and .json", flush=True)
    finally:
        for g in gunicorns:
            g.stop()
        for server in servers:
            server.destroy()
        if env_setting("BENCH_KEEP", "0") != "1" and db_kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{DATA / f'bench-{size}.sqlite3'}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
