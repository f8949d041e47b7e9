"""A lean HTTP/1.1 load generator on asyncio (standard library only).

Each virtual user keeps one keep-alive connection and its own session cookie, requests a
page of the mix, reads the whole answer, records the latency (client side, including any
queueing in gunicorn), the status, and the app's `Server-Timing` figures (database query
count, cache hits and misses), then waits its think time. One process, one core at most:
the machine has two cores and the generator competes with the app for them, so it is
kept as light as possible (no HTTP library, no parsing of bodies except a CSRF token).
"""
from __future__ import annotations

import asyncio
import random
import re
import resource
import time
from collections import defaultdict
from datetime import date, timedelta
from dataclasses import dataclass, field
from urllib.parse import urlencode

TIMING_DB = re.compile(r'db;dur=[\d.]+;desc="(\d+) queries"')
TIMING_CACHE = re.compile(r'cache;dur=[\d.]+;desc="(\d+) hits (\d+) misses"')
TIMING_APP = re.compile(r'app;dur=([\d.]+)')
CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')
ORDER_ID = re.compile(r"/sales/orders/(\d+)")


@dataclass
class PageStats:
    latencies: list[float] = field(default_factory=list)  # ms, client side
    server_ms: list[float] = field(default_factory=list)  # Server-Timing app;dur
    queries: list[int] = field(default_factory=list)
    cache_hits: int = 0
    cache_misses: int = 0
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def request(self, method: str, path: str, cookie: str = "",
                      form: dict | None = None) -> tuple[int, dict[str, str], bytes]:
        body = urlencode(form).encode() if form is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                "Accept-Encoding: gzip", "Connection: keep-alive"]
        if cookie:
            head.append(f"Cookie: {cookie}")
        if form is not None:
            head.append("Content-Type: application/x-www-form-urlencoded")
        if method != "GET":
            head.append(f"Content-Length: {len(body)}")
        payload = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        for attempt in (1, 2):  # the server may have closed an idle keep-alive connection
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                self.writer.write(payload)
                return await self._read()
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                await self.close()
                if attempt == 2:
                    raise
        raise RuntimeError("unreachable")

    async def _read(self) -> tuple[int, dict[str, str], bytes]:
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                name = name.strip().lower()
                value = value.strip()
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                chunks.append(await self.reader.readexactly(size + 2))
            body = b"".join(c[:-2] for c in chunks)
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, headers, body


class User:
    def __init__(self, host: str, port: int, cookie_name: str, cookie: str) -> None:
        self.conn = Connection(host, port)
        self.cookie_name = cookie_name
        self.cookie_value = cookie

    @property
    def cookie(self) -> str:
        return f"{self.cookie_name}={self.cookie_value}" if self.cookie_value else ""

    def take_cookie(self, headers: dict[str, str]) -> None:
        set_cookie = headers.get("set-cookie", "")
        prefix = f"{self.cookie_name}="
        for part in set_cookie.split(", "):
            if part.startswith(prefix):
                self.cookie_value = part[len(prefix):].split(";", 1)[0]


class Recorder:
    def __init__(self) -> None:
        self.pages: dict[str, PageStats] = defaultdict(PageStats)

    def record(self, page: str, started: float, status: int, headers: dict[str, str],
               expected: tuple[int, ...] = (200,)) -> None:
        stats = self.pages[page]
        stats.latencies.append((time.perf_counter() - started) * 1000)
        stats.statuses[status] += 1
        if status not in expected:
            stats.errors += 1
        timing = headers.get("server-timing", "")
        if m := TIMING_DB.search(timing):
            stats.queries.append(int(m.group(1)))
        if m := TIMING_APP.search(timing):
            stats.server_ms.append(float(m.group(1)))
        if m := TIMING_CACHE.search(timing):
            stats.cache_hits += int(m.group(1))
            stats.cache_misses += int(m.group(2))

    def failure(self, page: str, started: float) -> None:
        stats = self.pages[page]
        stats.latencies.append((time.perf_counter() - started) * 1000)
        stats.statuses[0] += 1
        stats.errors += 1


class Mix:
    """The pages of a realistic session, with weights; `data` comes from the database."""

    def __init__(self, data: dict, rng: random.Random) -> None:
        self.data, self.rng = data, rng
        d = data
        self.pages = [
            ("dashboard", 20, lambda: "/"),
            ("product search", 12, lambda: "/catalog/products?" + urlencode(
                {"q": rng.choice(d["search_terms"])})),
            ("stock levels", 12, lambda: f"/inventory/stock?page={rng.randint(1, 5)}"),
            ("sales orders", 10, lambda: "/sales/orders"),
            ("sales orders filtered", 12, self._filtered),
            ("order detail", 20, lambda: f"/sales/orders/{rng.choice(d['order_ids'])}"),
            ("sales orders deep page", 5, lambda: f"/sales/orders?page={d['deep_page']}"),
            ("create+confirm order", 3, None),
            # the incoming goods checklist's submissions (#23)
            ("form submissions filtered", 4, self._form_filtered),
            ("form submissions deep page", 2, lambda: f"{self.forms}?page={d['form_deep_page']}"),
            ("form submission", 4,
             lambda: f"{self.forms}/{rng.choice(d['form_submission_ids'])}"),
            ("form submissions CSV", 1, lambda: f"{self.forms}?" + urlencode(
                {"format": "csv", "f3_min": "8", "from": d["month_ago"]})),
            ("transfers", 2, lambda: "/inventory/transfers"),
            ("count sheets", 2, lambda: "/inventory/counts"),
            # receivables (#18): the invoice list, the aging, a customer's statement and
            # the sales analysis by each grouping
            ("invoices", 3, lambda: "/money/invoices"),
            ("invoices overdue", 1, lambda: "/money/invoices?overdue=1"),
            ("receivables aging", 2, lambda: "/money/receivables-aging"),
            ("customer statement", 2,
             lambda: f"/sales/customers/{rng.choice(d['customer_ids'])}/statement"),
            ("sales analysis", 2, lambda: "/money/sales-analysis?" + urlencode(
                {"by": rng.choice(["customer", "product", "category", "month"])})),
            # money records (#18): an invoice, a payment, the bills (and those due this
            # week: the dashboard's tile), a bill, the payables aging, a supplier's statement
            ("invoice", 2, lambda: f"/money/invoices/{rng.choice(d['invoice_ids'])}"),
            ("payments", 1, lambda: "/money/payments"),
            ("payment", 1, lambda: f"/money/payments/{rng.choice(d['payment_ids'])}"),
            ("bills", 2, lambda: "/money/bills"),
            ("bills due this week", 1, lambda: "/money/bills?overdue=week"),
            ("bill", 1, lambda: f"/money/bills/{rng.choice(d['bill_ids'])}"),
            ("payables aging", 1, lambda: "/money/payables-aging"),
            ("supplier statement", 1,
             lambda: f"/catalog/suppliers/{rng.choice(d['supplier_ids'])}/statement"),
            # the stock's value as of a day of the last two years (#19): day-table seeks
            ("stock valuation", 3, self._valuation),
        ]
        self.forms = f"/forms/{d['form_id']}/submissions"
        self.weights = [w for _, w, _ in self.pages]

    def _valuation(self) -> str:
        rng = self.rng
        day = date.today() - timedelta(days=rng.choice([0, 0, rng.randint(1, 729)]))
        return "/inventory/valuation?" + urlencode({
            "date": day.isoformat(), "group": rng.choice(["product", "product", "category",
                                                          "warehouse"]),
            "page": rng.randint(1, 3)})

    def _filtered(self) -> str:
        d, rng = self.data, self.rng
        roll = rng.random()
        if roll < 0.4:
            params = {"status": rng.choice(["draft", "confirmed", "shipped", "invoiced",
                                            "cancelled"])}
        elif roll < 0.7:
            params = {"customer": rng.choice(d["customers"])}
        else:
            params = {"date_from": d["date_from"], "date_to": d["date_to"],
                      "status": rng.choice(["confirmed", "invoiced"])}
        return "/sales/orders?" + urlencode(params)

    def _form_filtered(self) -> str:
        """A field filter (Temperature at least 8, Packaging intact no, a carrier), sorted."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.4:
            params = {"f3_min": "8", "sort": rng.choice(["-created", "-submitted"])}
        elif roll < 0.7:
            params = {"f2": "no", "sort": "-created"}
        else:
            params = {"f4": rng.choice(["Own truck", "Parcel service", "Freight forwarder"]),
                      "f3_max": "0", "sort": "id"}
        return f"{self.forms}?" + urlencode(params)

    def pick(self):
        return self.rng.choices(self.pages, weights=self.weights)[0]


async def create_and_confirm(user: User, rec: Recorder, data: dict, rng: random.Random) -> None:
    """GET the order form, POST it, add a line, confirm: 4 requests, each recorded."""
    page = "create+confirm order"
    started = time.perf_counter()
    status, headers, body = await user.conn.request("GET", "/sales/orders/new", user.cookie)
    user.take_cookie(headers)
    rec.record(page + " (form)", started, status, headers)
    m = CSRF.search(body)
    if status != 200 or not m:
        return
    token = m.group(1).decode()
    warehouse_id, sku = rng.choice(data["stocked"])
    started = time.perf_counter()
    status, headers, _ = await user.conn.request(
        "POST", "/sales/orders/new", user.cookie,
        {"csrf_token": token, "customer": rng.choice(data["customers"]),
         "warehouse_id": warehouse_id, "order_date": data["today"], "notes": "bench"})
    user.take_cookie(headers)
    rec.record(page + " (create)", started, status, headers, expected=(303,))
    found = ORDER_ID.search(headers.get("location", ""))
    if status != 303 or not found:
        return
    order_id = found.group(1)
    started = time.perf_counter()
    status, headers, _ = await user.conn.request(
        "POST", f"/sales/orders/{order_id}/lines", user.cookie,
        {"csrf_token": token, "product": sku, "quantity": "1", "discount_percent": "0",
         "tax_rate": "19"})
    user.take_cookie(headers)
    rec.record(page + " (add line)", started, status, headers, expected=(200, 303))
    started = time.perf_counter()
    status, headers, _ = await user.conn.request(
        "POST", f"/sales/orders/{order_id}/confirm", user.cookie, {"csrf_token": token})
    user.take_cookie(headers)
    rec.record(page + " (confirm)", started, status, headers, expected=(303,))


async def user_loop(user: User, rec: Recorder, mix: Mix, data: dict, deadline: float,
                    think: tuple[float, float], rng: random.Random) -> None:
    await asyncio.sleep(rng.uniform(0, max(think[1], 0.05)))  # ramp up over one think time
    while time.perf_counter() < deadline:
        name, _, make = mix.pick()
        started = time.perf_counter()
        try:
            if make is None:
                await create_and_confirm(user, rec, data, rng)
            else:
                status, headers, _ = await user.conn.request("GET", make(), user.cookie)
                user.take_cookie(headers)
                rec.record(name, started, status, headers)
        except Exception:
            rec.failure(name, started)
            await user.conn.close()
        if think[1] > 0:
            await asyncio.sleep(rng.uniform(*think))
    await user.conn.close()


async def fixed_loop(conn: Connection, rec: Recorder, name: str, paths: list[str],
                     cookies: list[str], deadline: float, delay: float = 0.0) -> None:
    await asyncio.sleep(delay)  # connections opened one after the other: see run_fixed
    n = 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        cookie = cookies[n % len(cookies)] if cookies else ""
        try:
            status, headers, _ = await conn.request("GET", paths[n % len(paths)], cookie)
            rec.record(name, started, status, headers)
        except Exception:
            rec.failure(name, started)
            await conn.close()
        n += 1
    await conn.close()


def run_mix(host: str, port: int, cookie_name: str, cookies: list[str], data: dict,
            seconds: float, think: tuple[float, float], seed: int = 1) -> tuple[Recorder, dict]:
    """N users (one per cookie) drive the mix for `seconds`; returns the recorder and the
    generator's own CPU use."""
    rec = Recorder()
    rng = random.Random(seed)

    async def main() -> None:
        deadline = time.perf_counter() + seconds
        tasks = []
        for n, cookie in enumerate(cookies):
            user_rng = random.Random(rng.random())
            user = User(host, port, cookie_name, cookie)
            tasks.append(user_loop(user, rec, Mix(data, user_rng), data, deadline, think,
                                   user_rng))
        await asyncio.gather(*tasks)

    return rec, _timed(main)


STAGGER = 0.01  # seconds between the openings of a saturation run's connections


def run_fixed(host: str, port: int, name: str, paths: list[str], connections: int,
              seconds: float, cookies: list[str] | None = None) -> tuple[Recorder, dict]:
    """`connections` closed loops without think time on `paths`: the saturation rate.
    Requests rotate over `cookies` (full "name=value" strings): the app limits each user
    to 600 requests a minute, so one cookie alone would be throttled."""
    cookies = cookies or []
    rec = Recorder()

    async def main() -> None:
        deadline = time.perf_counter() + seconds
        # Each keep-alive connection stays with the gunicorn worker that accepted it. Opened
        # all at once, they were all accepted by the first worker to wake (the others stayed
        # idle: a 2-worker SQLite app measured as one worker, ~1 core of 2, #17); opened
        # STAGGER apart while the first ones' requests run, the busy worker's accepting
        # thread waits for its interpreter lock and an idle worker takes the next one.
        await asyncio.gather(*(fixed_loop(Connection(host, port), rec, name,
                                          paths[i % len(paths):] + paths[:i % len(paths)],
                                          cookies[i::connections] or cookies, deadline,
                                          i * STAGGER)
                               for i in range(connections)))

    return rec, _timed(main)


def _timed(main) -> dict:
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    asyncio.run(main())
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 2), "generator_cpu_s": round(cpu, 2),
            "generator_cpu_share": round(cpu / wall, 3) if wall else 0.0}
