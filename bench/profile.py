"""Per-request CPU of rendered pages, without gunicorn or a network: where a page's time goes.

    DATABASE_URL=sqlite:////tmp/prof-s.sqlite3 .venv/bin/flask --app wsgi db upgrade
    DATABASE_URL=sqlite:////tmp/prof-s.sqlite3 .venv/bin/flask --app wsgi seed-bench --size s
    .venv/bin/python bench/profile.py /tmp/prof-s.sqlite3 [-n 50] [--cprofile /sales/orders]

Builds the app with the production settings of `make bench` (ERP_ENV=production, a random
SECRET_KEY, no HTTPS, a file cache in a temporary CACHE_DIR, no Redis), logs bench managers
in with session cookies minted as the login view makes them (bench/run.py), and sends N
warm GETs of each page through `app.test_client()`. Per page: mean wall ms, mean CPU ms
(`time.process_time`, this process only: SQLite runs in it, so the database is included)
and SQL statements per request (the app's Server-Timing header). `--cprofile PAGE` prints
the 40 functions of largest cumulative time over N requests of PAGE (`--sort tottime`
for own time, `--dump FILE` to keep the stats for pstats).

On PostgreSQL with Redis, as `make bench BENCH_DB=postgresql` serves it:

    .venv/bin/python bench/profile.py --postgresql m [--layers] [--check]

starts a throwaway PostgreSQL and Redis (tests/servers.py, as bench/run.py does), loads
`seed-bench --size m` into it (a few minutes), measures, and removes both. A database URL
instead of the file measures an existing database (with `--redis URL` for the cache).
CPU is this process's: the database server's own work is then not in it (SQLite's is),
so the budgets of bench/cpu-budget.json (SQLite) do not apply to PostgreSQL figures.
"""
from __future__ import annotations

import sys
from pathlib import Path

# This file's name shadows the standard library's `profile` (which cProfile imports): take
# bench/ off the path before importing it.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import cProfile  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import re  # noqa: E402
import runpy  # noqa: E402
import secrets  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import date, timedelta  # noqa: E402

PAGES = ["/", "/catalog/products", "/catalog/products?q=bracket", "/inventory/stock",
         "/sales/orders", "/sales/orders?status=confirmed", "/sales/orders/{order_id}",
         "POST /sales/orders/<id>/confirm", "/money/receivables-aging",
         "/money/sales-analysis?by=customer"]
# --forms: the incoming goods checklist's submissions (#23): field filters (Temperature >= 8,
# Packaging intact = no, a carrier and Temperature <= 0 by number), this month's warm
# deliveries, a deep page (10% in), one submission and the CSV of the month's warm ones
FORM_PAGES = ["/forms/{form_id}/submissions",
              "/forms/{form_id}/submissions?f3_min=8&sort=-submitted",
              "/forms/{form_id}/submissions?f2=no",
              "/forms/{form_id}/submissions?f4=Parcel+service&f3_max=0&sort=id",
              "/forms/{form_id}/submissions?f3_min=8&from={month_ago}",
              "/forms/{form_id}/submissions?page={form_deep_page}",
              "/forms/{form_id}/submissions/{submission_id}",
              "/forms/{form_id}/submissions?format=csv&f3_min=8&from={month_ago}"]
# the order confirmation (a write): POST /sales/orders/<id>/confirm of a draft with one line,
# the drafts made beforehand through the same client (untimed), as the bench mix makes them
CONFIRM = "POST /sales/orders/<id>/confirm"
BUDGET = HERE / "cpu-budget.json"
USERS = [f"user{i:03d}@bench.example" for i in range(1, 11)]  # 10 x 600 requests a minute
QUERIES = re.compile(r'db;dur=[\d.]+;desc="(\d+) queries"')
CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
ORDER_ID = re.compile(r"/sales/orders/(\d+)")


def build_app(database: str, redis_url: str | None = None):
    os.environ.update({
        "ERP_ENV": "production", "SECRET_KEY": secrets.token_hex(32), "FORCE_HTTPS": "0",
        "SESSION_COOKIE_SECURE": "0", "ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": (database if "://" in database
                         else f"sqlite:///{Path(database).resolve()}"),
        "CACHE_DIR": tempfile.mkdtemp(prefix="erp-profile-cache-"), "LOG_LEVEL": "WARNING",
    })
    os.environ.pop("REDIS_URL", None)
    if redis_url:  # cache, cache versions and rate limits in Redis, as in production
        os.environ["REDIS_URL"] = redis_url
    # one process: no Prometheus multiprocess files (and gunicorn.conf.py, run below for its
    # garbage-collector set-up, would empty a folder named there)
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    from erp import create_app

    return create_app()


def login_cookies(app) -> tuple[str, list[str], dict]:
    """Session cookies of the bench managers, and the ids the pages name: a sales order,
    the incoming goods checklist and one of its submissions."""
    from flask import session
    from flask_login import login_user
    from sqlalchemy import func, select

    from erp import auth
    from erp.extensions import db
    from erp.models import StockLevel, User
    from erp.models.catalog import Product
    from erp.models.forms import FormSubmission
    from erp.models.sales import Customer, SalesOrder

    serializer = app.session_interface.get_signing_serializer(app)
    cookies = []
    with app.app_context():
        users = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(USERS)))}
        for email in USERS:
            with app.test_request_context("/login"):
                auth.start_session(users[email])
                login_user(users[email])
                cookies.append(serializer.dumps(dict(session)))
        order_id = db.session.scalar(select(SalesOrder.id).order_by(SalesOrder.id.desc()).limit(1))
        form_id, submission_id = db.session.execute(
            select(FormSubmission.form_id, FormSubmission.id)
            .order_by(FormSubmission.id.desc()).limit(1)).one_or_none() or (0, 0)
        submissions = db.session.scalar(select(func.count()).select_from(FormSubmission))
        customers = [f"{name} [#{id_}]" for id_, name in db.session.execute(
            select(Customer.id, Customer.name).where(Customer.active.is_(True))
            .order_by(Customer.id).limit(50))]
        stocked = [(str(w), sku) for w, sku in db.session.execute(
            select(StockLevel.warehouse_id, Product.sku)
            .join(Product, Product.id == StockLevel.product_id)
            .where(Product.active.is_(True), Product.tracking == "none",
                   StockLevel.on_hand - StockLevel.reserved >= 100)
            .order_by(StockLevel.id).limit(200))]
        db.session.remove()
    ids = {"order_id": order_id, "form_id": form_id, "submission_id": submission_id,
           "form_deep_page": max(2, round(submissions / 20 / 10)),
           "month_ago": (date.today() - timedelta(days=30)).isoformat(),
           "customers": customers, "stocked": stocked}
    return app.config.get("SESSION_COOKIE_NAME", "session"), cookies, ids


class Clients:
    """One test client per user, used in turn (each user stays under its rate limit)."""

    def __init__(self, app, cookie_name: str, cookies: list[str]) -> None:
        self.clients = []
        for cookie in cookies:
            client = app.test_client()
            client.set_cookie(cookie_name, cookie, domain="localhost")
            self.clients.append(client)
        self.turn = 0
        self.tokens: dict[int, str] = {}

    def next(self):
        client = self.clients[self.turn % len(self.clients)]
        self.turn += 1
        return client

    def token(self, client) -> str:
        """The CSRF token of this client's session (read once from the order form)."""
        if id(client) not in self.tokens:
            match = CSRF.search(client.get("/sales/orders/new").data)
            self.tokens[id(client)] = (match.group(1) or match.group(2)).decode()
        return self.tokens[id(client)]

    def get(self, path: str):
        response = self.next().get(path)
        response.get_data()  # a streamed body (a CSV) is made while it is read: timed too
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: status {response.status_code}")
        return response


class Confirmations:
    """Draft orders of one line made beforehand (untimed), confirmed one per request: the
    order confirmation's cost (its lock, reservations, running totals and cache bumps)."""

    def __init__(self, clients: Clients, ids: dict) -> None:
        self.clients, self.ids, self.ready = clients, ids, []

    def prepare(self, n: int) -> None:
        import random

        rng = random.Random(len(self.ready))
        for _ in range(n):
            client = self.clients.next()
            token = self.clients.token(client)
            warehouse_id, sku = rng.choice(self.ids["stocked"])
            response = client.post("/sales/orders/new", data={
                "csrf_token": token, "customer": rng.choice(self.ids["customers"]),
                "warehouse_id": warehouse_id, "order_date": date.today().isoformat(),
                "notes": "profile"})
            found = ORDER_ID.search(response.headers.get("Location", ""))
            if response.status_code != 303 or not found:
                raise SystemExit(f"POST /sales/orders/new: status {response.status_code}")
            order_id = found.group(1)
            response = client.post(f"/sales/orders/{order_id}/lines", data={
                "csrf_token": token, "product": sku, "quantity": "1",
                "discount_percent": "0", "tax_rate": "19"})
            if response.status_code not in (200, 303):
                raise SystemExit(f"POST a line: status {response.status_code}")
            self.ready.append((client, token, order_id))

    def confirm(self):
        client, token, order_id = self.ready.pop(0)
        response = client.post(f"/sales/orders/{order_id}/confirm", data={"csrf_token": token})
        if response.status_code != 303:
            raise SystemExit(f"confirm order {order_id}: status {response.status_code}")
        return response


def measure(clients: Clients, path: str, n: int, confirmations: Confirmations | None = None,
            hello=None) -> dict:
    """N requests of `path`; with `hello` (a test client of bench/hello.py), two hello-world
    requests after each, so that the unit is measured in the same seconds as the page (the
    machine's speed drifts when it is shared)."""
    walls, cpus, queries, hellos = [], [], [], []
    if path == CONFIRM:
        confirmations.prepare(n)
    for _ in range(n):
        wall, cpu = time.perf_counter(), time.process_time()
        response = confirmations.confirm() if path == CONFIRM else clients.get(path)
        cpus.append((time.process_time() - cpu) * 1000)
        walls.append((time.perf_counter() - wall) * 1000)
        for _ in range(2 if hello is not None else 0):
            cpu = time.process_time()
            hello.get("/")
            hellos.append((time.process_time() - cpu) * 1000)
        match = QUERIES.search(response.headers.get("Server-Timing", ""))
        queries.append(int(match.group(1)) if match else -1)
    return {"wall": statistics.mean(walls), "wall_median": statistics.median(walls),
            "cpu": statistics.mean(cpus),
            "cpu_median": statistics.median(cpus), "queries": statistics.mean(queries),
            "hello": statistics.median(hellos) if hellos else None,
            "bytes": len(response.data)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database", nargs="?",
                        help="a SQLite file loaded with seed-bench, or a database URL")
    parser.add_argument("--postgresql", metavar="SIZE", choices=["xs", "s", "m", "l"],
                        help="measure on a throwaway PostgreSQL with Redis, started as "
                             "bench/run.py starts them and loaded with seed-bench SIZE "
                             "(the database argument and --redis are then not used)")
    parser.add_argument("-n", type=int, default=50, help="requests per page (default 50)")
    parser.add_argument("--cprofile", metavar="PAGE", help="profile N requests of PAGE")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key (cumulative)")
    parser.add_argument("--dump", metavar="FILE", help="with --cprofile: also save the stats")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a page's CPU, in hello-world requests, is over its "
                             "budget in bench/cpu-budget.json (the CPU regression check)")
    parser.add_argument("--redis", metavar="URL", help="use this Redis (default: no Redis)")
    parser.add_argument("--forms", action="store_true",
                        help="the custom form submissions' pages (FORM_PAGES) instead")
    parser.add_argument("--page", action="append", metavar="PATH",
                        help="measure this page instead of the default ones (repeatable; "
                             "{order_id}, {form_id} ... as in PAGES)")
    parser.add_argument("--layers", action="store_true",
                        help="CPU per request by layer, per page (bench/layers.py)")
    args = parser.parse_args()
    if args.postgresql:
        servers = []
        try:
            database, redis_url = postgresql(args.postgresql, servers)
            run(args, database, redis_url)
        finally:
            for server in servers:
                server.destroy()
        return
    if not args.database:
        parser.error("a SQLite file or a database URL (or --postgresql SIZE)")
    run(args, args.database, args.redis)


def postgresql(size: str, servers: list) -> tuple[str, str]:
    """A throwaway PostgreSQL and Redis (tests/servers.py, as bench/run.py starts them),
    migrated and loaded with `seed-bench --size SIZE`: (database URL, Redis URL)."""
    import subprocess

    from tests.servers import PostgresServer, RedisServer

    pg = PostgresServer().init().start()
    servers.append(pg)
    redis = RedisServer().start()
    servers.append(redis)
    url = f"{pg.url}/postgres"
    env = dict(os.environ, DATABASE_URL=url, FLASK_APP="wsgi", LOG_LEVEL="WARNING")
    env.pop("REDIS_URL", None)
    flask = [str(Path(sys.executable).parent / "flask"), "--app", "wsgi"]
    print(f"loading seed-bench --size {size} into PostgreSQL ...", flush=True)
    subprocess.run(flask + ["db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(flask + ["seed-bench", "--size", size], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return url, f"{redis.url}/0"


def run(args, database: str, redis_url: str | None) -> None:
    app = build_app(database, redis_url)
    if args.layers:
        layer_timers = runpy.run_path(str(HERE / "layers.py"))  # bench/ is off the path

        timers = layer_timers["instrument"](app)
    cookie_name, cookies, ids = login_cookies(app)
    clients = Clients(app, cookie_name, cookies)
    confirmations = Confirmations(clients, ids)
    names = args.page or (FORM_PAGES if args.forms else PAGES)
    pages = [p.format(**ids) for p in names]

    def hit(path: str):
        if path != CONFIRM:
            return clients.get(path)
        if not confirmations.ready:
            confirmations.prepare(1)
        return confirmations.confirm()

    tune_gc = runpy.run_path(str(ROOT / "gunicorn.conf.py")).get("tune_gc")
    if tune_gc:  # the garbage collector as the gunicorn master leaves it to its workers
        tune_gc()
    for path in pages:  # warm: templates compiled, caches filled (every user's: the
        for _ in range(len(clients.clients)):  # dashboard caches "my tasks" per user)
            hit(path)

    if args.cprofile:
        path = args.cprofile.format(**ids)
        hit(path)
        if path == CONFIRM:
            confirmations.prepare(args.n)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.n):
            hit(path)
        profiler.disable()
        if args.dump:
            profiler.dump_stats(args.dump)
        print(f"cProfile of {args.n} x GET {path}")
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(40)
        return

    if args.layers:
        print_layers(hit, confirmations, pages, args.n, timers, layer_timers)
        return

    hello = hello_client()
    shown = database.rsplit("@", 1)[-1] if "://" in database else Path(database).name
    print(f"{args.n} warm GETs per page, {shown}, ERP_ENV=production; "
          f"'hello': the median CPU ms of a hello-world Flask request (bench/hello.py), two "
          f"after each page request")
    width = 70 if args.forms else 34
    print(f"{'page':<{width}} {'wall ms':>8} {'wall p50':>8} {'CPU ms':>7} {'CPU p50':>8} "
          f"{'hello':>6} {'x hello':>8} {'queries':>8} {'KB':>6}")
    totals, over = [], []
    budget = json.loads(BUDGET.read_text()) if args.check else {}
    for page, path in zip(names, pages):
        row = measure(clients, path, args.n, confirmations, hello)
        totals.append(row["cpu"])
        ratio = row["cpu_median"] / row["hello"]
        shown = path if "orders/" not in path or path == CONFIRM else "/sales/orders/<id>"
        print(f"{shown:<{width}} {row['wall']:8.2f} {row['wall_median']:8.2f} {row['cpu']:7.2f} "
              f"{row['cpu_median']:8.2f} {row['hello']:6.3f} {ratio:8.1f} "
              f"{row['queries']:8.1f} {row['bytes'] / 1024:6.1f}")
        if page in budget and ratio > budget[page]:
            over.append(f"{shown}: {ratio:.1f} x hello world, budget {budget[page]}")
    print(f"{'mean of the pages':<{width}} {'':>8} {'':>8} {statistics.mean(totals):7.2f}")
    if args.check:
        print("\n".join(["CPU budget exceeded (bench/cpu-budget.json):", *over]) if over
              else "Every page within its CPU budget (bench/cpu-budget.json).")
        raise SystemExit(1 if over else 0)


def hello_client():
    """A warm test client of the bare Flask app of bench/hello.py, in this process: its
    request's CPU is the unit of the CPU budget, so that the check holds on a slower or
    faster machine."""
    hello = runpy.run_path(str(HERE / "hello.py"))["app"].test_client()
    for _ in range(50):
        hello.get("/")
    return hello


def print_layers(hit, confirmations: Confirmations, pages: list[str], n: int, timers,
                 layer_timers) -> None:
    """One column per page, one row per layer: thread CPU ms per request, exclusive."""
    import redis

    url = os.environ.get("REDIS_URL")
    server = redis.Redis.from_url(url) if url else None
    columns, round_trips = {}, {}
    for path in pages:
        if path == CONFIRM:
            confirmations.prepare(n)  # untimed: the drafts it confirms
        timers.totals.clear()
        timers.round_trips = 0
        before = server.info("stats")["total_commands_processed"] if server else 0
        for _ in range(n):
            hit(path)
        if server:  # commands run by Redis per request (the INFO call itself excluded)
            after = server.info("stats")["total_commands_processed"]
            round_trips[path] = ((after - before - 1) / n, (timers.round_trips - 2) / n)
        columns[path] = dict(layer_timers["report"](timers, n))
    names = sorted({name for column in columns.values() for name in column},
                   key=lambda name: -sum(column.get(name, 0) for column in columns.values()))
    short = [p.replace("/catalog/products", "products").replace("/sales/orders", "orders")
             .replace("/inventory/stock", "stock")[:14] or "/" for p in pages]
    short = ["confirm" if p == CONFIRM else s if not s.startswith("orders/") else "order"
             for p, s in zip(pages, short)]
    print(f"{n} warm GETs per page; thread CPU ms per request, exclusive of inner layers")
    print(f"| layer | {' | '.join(short)} |")
    print(f"|---|{'---:|' * len(pages)}")
    for name in names:
        print(f"| {name} | " + " | ".join(f"{columns[p].get(name, 0):.2f}" for p in pages) + " |")
    print("| **total** | " + " | ".join(f"**{sum(columns[p].values()):.2f}**" for p in pages) + " |")
    if server:  # the INFO calls excluded; the monitoring figures' flush (a pipeline once a
        # second, MONITORING_FLUSH_SECONDS) counts in both
        print("| Redis round trips per request | "
              + " | ".join(f"{round_trips[p][1]:.2f}" for p in pages) + " |")
        print("| Redis commands per request | "
              + " | ".join(f"{round_trips[p][0]:.1f}" for p in pages) + " |")


if __name__ == "__main__":
    main()
