"""Two app hosts behind nginx (issue #22, "Several app hosts"), on real servers.

Two gunicorn instances, each with its own port and instance folder (`INSTANCE_DIR`), the
same SECRET_KEY and the session's PostgreSQL and Redis, in production mode behind the
sample nginx site (deploy/nginx.conf with its second server line in use). Proved: a
session works on both hosts; a write on one host invalidates the dashboard figures the
other one cached; the login throttle counts across both; and with one host SIGKILLed
under a bounded load, no idempotent GET fails (nginx retries it on the other host) and
every order POST that got an answer created its order exactly once.
"""
from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg2
import pytest
import redis as redis_lib

from erp import create_app
from erp.extensions import db
from tests.conftest import app_config, create_postgres_database, worker_index
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.core import PASSWORD, CompanyFactory, UserFactory
from tests.factories.sales import CustomerFactory
from tests.http_client import Browser
from tests.servers import GunicornServer, NginxServer, deploy_site, free_port, wait_for_http

pytestmark = pytest.mark.postgresql_only  # several hosts need a database server to share

SECRET_KEY = "two-hosts-test-" + "s" * 40  # the same on every host


@dataclass
class Hosts:
    a: GunicornServer
    b: GunicornServer
    nginx: NginxServer
    url: str  # nginx
    database: str
    ids: dict

    def upstreams(self, prefix: str) -> list[list[str]]:
        """The hosts nginx tried for each logged request whose request line starts with
        `prefix` (e.g. 'GET /sales/orders'), from the sample's `erp_upstream` access log."""
        found = []
        for line in self.nginx.access_log():
            if f'"{prefix}' in line:
                match = re.search(r"upstream=(.*?) upstream_status=", line)
                found.append([address.strip() for address in match.group(1).split(",")])
        return found


@pytest.fixture
def hosts(tmp_path):
    database = create_postgres_database("erp_hosts")
    redis_url = f"{os.environ['TEST_REDIS_URL']}/{63 - worker_index()}"  # this test's own
    redis_lib.Redis.from_url(redis_url).flushdb()
    app = create_app(app_config(database, redis_url, tmp_path) | {"REDIS_URL": None})
    with app.app_context():
        db.create_all()
        company = CompanyFactory()
        user = UserFactory(company=company, role="manager")
        warehouse = WarehouseFactory(company=company, code="MAIN")
        ProductFactory(company=company)
        customer = CustomerFactory(company=company, name="Hosts Customer")
        ids = {"email": user.email, "warehouse": warehouse.id,
               "customer": f"Hosts Customer [#{customer.id}]"}
        db.session.remove()
        db.engine.dispose()

    def host(name: str) -> GunicornServer:
        return GunicornServer({
            # application_name: the test sees which host a database session belongs to
            "DATABASE_URL": f"{database}?application_name=erp-host-{name}",
            "REDIS_URL": redis_url, "SECRET_KEY": SECRET_KEY, "ERP_ENV": "production",
            "PROXY_COUNT": "1", "ALLOWED_HOSTS": "127.0.0.1",
            # plain HTTP on loopback (production would terminate TLS in nginx)
            "FORCE_HTTPS": "0", "SESSION_COOKIE_SECURE": "0",
            "INSTANCE_DIR": str(tmp_path / f"host-{name}" / "instance"),
            "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "4",
            # a loaded test machine must not shed the load's requests (a GET retried after
            # the kill keeps nginx's first X-Request-Start); tests/test_overload.py sheds
            "REQUEST_QUEUE_BUDGET_MS": "30000"}, tmp_path / f"host-{name}.log")

    a, b = host("a"), host("b")
    web_port = free_port()
    (tmp_path / "nginx").mkdir()
    nginx = NginxServer(deploy_site(tmp_path / "nginx", web_port, [a.port, b.port]),
                        tmp_path / "nginx")
    try:
        for server in (a, b, nginx):
            server.start()
        for server in (a, b):
            server.wait_ready()
        wait_for_http(f"http://127.0.0.1:{web_port}/health", 10, nginx.process)
        yield Hosts(a, b, nginx, f"http://127.0.0.1:{web_port}", database, ids)
    finally:
        nginx.stop()
        a.stop()
        b.stop()
        redis_lib.Redis.from_url(redis_url).flushdb()


def draft_orders(dashboard: str) -> int:
    """The draft count of the dashboard's 'Open sales orders' tile."""
    tile = dashboard[dashboard.index('id="figure-open-orders"'):]
    return int(re.search(r"(\d+) drafts?\b", tile).group(1))


def order_form(hosts: Hosts, note: str) -> dict:
    return {"customer": hosts.ids["customer"], "warehouse_id": str(hosts.ids["warehouse"]),
            "order_date": date.today().isoformat(), "notes": note}


def orders_by_note(hosts: Hosts) -> Counter:
    with psycopg2.connect(hosts.database) as conn, conn.cursor() as cur:
        cur.execute("SELECT notes FROM sales_orders")
        counted = Counter(note for (note,) in cur.fetchall())
    conn.close()
    return counted


def test_two_hosts_behind_nginx_share_sessions_cache_and_limits_and_survive_a_kill(hosts):
    a, b = hosts.a, hosts.b
    for host in (a, b):  # each host made its own instance folder (INSTANCE_DIR)
        assert Path(host.env["INSTANCE_DIR"]).is_dir()

    # A session made through nginx works on both hosts, with its CSRF token.
    user = Browser(hosts.url, follow_redirects=False)
    user.get("/login")
    assert user.post("/login", {"email": hosts.ids["email"], "password": PASSWORD}) == 303
    on_a = Browser(a.url, jar=user.jar, follow_redirects=False)
    on_b = Browser(b.url, jar=user.jar, follow_redirects=False)
    for browser in (on_a, on_b):
        assert hosts.ids["email"] in browser.get("/")

    # A write on host A invalidates the figures host B cached (in the shared Redis).
    before = draft_orders(on_b.get("/"))  # from the cache the reads above filled
    cached = redis_lib.Redis.from_url(a.env["REDIS_URL"]).keys("erp:*figures*")
    assert cached, "host B cached no dashboard figures"
    on_a.get("/sales/orders/new")
    assert on_a.post("/sales/orders/new", order_form(hosts, "cache check")) == 303
    assert draft_orders(on_b.get("/")) == before + 1

    # The login throttle counts across hosts: 10 login POSTs a minute per client address
    # (RATELIMIT_LOGIN), here alternating between the hosts, which trust the address that
    # their one proxy (PROXY_COUNT=1) puts last in X-Forwarded-For. The same address forged
    # through nginx is not trusted: nginx adds the real one. The window is a fixed minute:
    # a run that crossed its end is repeated from another address.
    for attempt in range(2):
        forwarded = {"X-Forwarded-For": f"198.51.100.{attempt + 1}"}
        anonymous = [Browser(url, follow_redirects=False) for url in (a.url, b.url, hosts.url)]
        for browser in anonymous:
            browser.get("/login")
        started = time.time()
        statuses = [anonymous[n % 2].post(
            "/login", {"email": f"nobody{n}@example.com", "password": "wrong"},
            headers=forwarded) for n in range(11)]
        forged = anonymous[2].post("/login", {"email": "forger@example.com", "password": "x"},
                                   headers=forwarded)
        if int(started // 60) == int(time.time() // 60):
            break
    assert statuses == [422] * 10 + [429], statuses
    assert forged == 422  # counted for 127.0.0.1, not for the forged address

    # One host SIGKILLed under a bounded load through nginx.
    load = Load(hosts, user)
    load.start()
    try:
        both = [[f"127.0.0.1:{a.port}"], [f"127.0.0.1:{b.port}"]]
        load.wait(lambda: load.gets_ok >= 12 and load.posts_answered >= 4
                  and all(host in hosts.upstreams("GET /sales/orders") for host in both))
        kill_with_a_get_in_flight(hosts)
        killed_at = (load.gets_ok, load.posts_answered)
        load.wait(lambda: load.gets_ok >= killed_at[0] + 15
                  and load.posts_answered >= killed_at[1] + 3)
    finally:
        load.stop()

    assert load.get_failures == [], "idempotent GETs failed"
    # nginx retried on B the GET A had in flight when it died
    assert [f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"] in hosts.upstreams("GET /")
    stored = orders_by_note(hosts)
    answered = [note for note, status in load.posts if status == 303]
    assert {note: stored[note] for note in answered} == {note: 1 for note in answered}
    unanswered = [(note, status) for note, status in load.posts if status != 303]
    assert all(status == 502 for _, status in unanswered), unanswered  # nginx's, not the app's
    assert all(stored[note] <= 1 for note, _ in unanswered)  # never sent twice
    assert max(stored.values()) == 1


def kill_with_a_get_in_flight(hosts: Hosts) -> None:
    """SIGKILL host A (master and workers) while it serves a GET of the orders list: the
    orders table is locked for a moment, so that requests wait inside both hosts, and A is
    killed once one of its GETs waits (pg_stat_activity, by application_name). A run in
    which every waiting GET happened to be on B lets go of the lock and tries again."""
    lock = psycopg2.connect(hosts.database)
    try:
        for _ in range(10):
            with lock.cursor() as cur:
                cur.execute("LOCK TABLE sales_orders IN ACCESS EXCLUSIVE MODE")
                deadline = time.monotonic() + 1.5
                while time.monotonic() < deadline:
                    cur.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name ="
                        " 'erp-host-a' AND wait_event_type = 'Lock'"
                        " AND query ILIKE 'select%sales_orders%'")
                    if cur.fetchone()[0]:
                        hosts.a.kill()
                        return
                    time.sleep(0.02)
            lock.rollback()
            time.sleep(0.2)  # let the waiting requests finish before locking again
        pytest.fail("no GET of host A ever waited on the locked orders table")
    finally:
        lock.rollback()
        lock.close()


@dataclass
class Load:
    """A few clients through nginx, each waiting for its answer before the next request:
    GETs of pages that read the orders (list, dashboard, an order) and POSTs of new orders,
    each with a note of its own."""

    hosts: Hosts
    user: Browser
    get_threads: int = 4
    post_threads: int = 2
    gets: list = field(default_factory=list)  # (path, status)
    posts: list = field(default_factory=list)  # (note, status)
    stopping: threading.Event = field(default_factory=threading.Event)
    threads: list = field(default_factory=list)

    @property
    def gets_ok(self) -> int:
        return sum(1 for _, status in self.gets if status == 200)

    @property
    def get_failures(self) -> list:
        return [(path, status) for path, status in self.gets if status != 200]

    @property
    def posts_answered(self) -> int:
        return sum(1 for _, status in self.posts if status == 303)

    def client(self) -> Browser:
        return Browser(self.hosts.url, jar=self.user.jar, follow_redirects=False)

    def getter(self) -> None:
        browser = self.client()
        paths = ["/sales/orders", "/", "/sales/orders?sort=-number"]
        n = 0
        while not self.stopping.is_set():
            path = paths[n % len(paths)]
            self.gets.append((path, browser.open(path, timeout=30)[0]))
            n += 1

    def poster(self, number: int) -> None:
        browser = self.client()
        browser.get("/sales/orders/new")  # the form's CSRF token
        n = 0
        while not self.stopping.is_set():
            note = f"load {number}-{n}"
            self.posts.append((note, browser.post("/sales/orders/new", order_form(self.hosts, note))))
            n += 1

    def start(self) -> None:
        self.threads = [threading.Thread(target=self.getter) for _ in range(self.get_threads)]
        self.threads += [threading.Thread(target=self.poster, args=(n,))
                         for n in range(self.post_threads)]
        for thread in self.threads:
            thread.start()

    def wait(self, condition, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"the load stalled: {len(self.gets)} GETs, {len(self.posts)} "
                            f"POSTs, failures {self.get_failures[:5]}")
            time.sleep(0.05)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(60)
