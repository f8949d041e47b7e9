"""The benchmark data set behind `flask seed-bench --size xs|s|m|l [--seed N]`.

One company, "Bench Co", with a catalog, warehouses, stock, customers, suppliers, sales
and purchase orders in every state over the last two years, loaded with bulk inserts
(`_insert_rows`: executemany on SQLite, COPY on PostgreSQL) and explicit ids in one
transaction, so that size l (about 5 million rows) loads in minutes; it prints each part's
time. Deterministic: the same seed, size and day give the same data (moments are drawn up
to "now", so the time of day moves the random stream too).

The data obey the app's invariants:
- every stock level's on_hand is the sum of its movements (movements are generated first
  per (product, warehouse) and the levels are their sums); `reserved` is the sum of the
  confirmed sales orders' quantities in that warehouse and never above on_hand;
- shipped and invoiced sales orders have one "sales_shipment" movement per line, received
  purchase order quantities one "purchase_receipt" movement per line (sources set);
- every movement has its unit cost and value, every level its value, and the day tables
  their rows (`erp.services.valuation.rebuild`, at each product's cost price);
- line amounts are computed by the services' own functions, order totals are the sums
  of their lines;
- document numbers are unique per series and year, and the DocumentSequence rows hold
  the last number used, so the app continues the numbering.

Goods receipt documents (GoodsReceipt rows) are not generated: purchase receipts show
in the ledger and in the lines' received quantities only.

Custom forms (#23): an incoming goods checklist (the inspection form of the first
category) in two versions (version 2 added "Pallets"), with submissions spread over the
two years (size l: 100,000) and their typed answer rows, as the service stores them: a
field hidden by its condition has no answer, drafts leave some fields empty. They name
no product (an inspection's submission records a QualityInspection, not generated).
"""
from __future__ import annotations

import io
import random
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time as dtime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter

from sqlalchemy import func, select, text

from erp import collation
from erp.extensions import db
from erp.models import (Category, Company, DocumentSequence, Product, StockLevel,
                        StockMovement, Supplier, User, Warehouse)
from erp.models import search
from erp.models.forms import (CustomForm, FormAnswer, FormField, FormLink, FormSubmission,
                              FormVersion)
from erp.models.purchasing import PurchaseOrder, PurchaseOrderItem
from erp.models.sales import Customer, SalesOrder, SalesOrderItem
from erp.models.bills import Bill, BillLine, SupplierPayment, SupplierPaymentAllocation
from erp.models.invoices import (CreditNote, CreditNoteLine, Invoice, InvoiceLine, Payment,
                                 PaymentAllocation)
from erp.seeds import bench_money
from erp.services import atomic, invoice_totals, sales_totals, stock, valuation
from erp.services.purchasing import round_money
from erp.services.sales import line_amounts

BENCH_COMPANY = "Bench Co"
BENCH_PASSWORD = "bench-password-1"
BENCH_DOMAIN = "bench.example"
ROLE_USERS = [("admin", "admin"), ("manager", "manager"), ("staff", "staff"),
              ("viewer", "viewer")]
VIRTUAL_USERS = 200  # user001..user200@bench.example (managers), one per benchmark user

# size -> factor of size m. "xs" is for the test suite only (fast), not in the issue.
SIZES = {"xs": 0.01, "s": 0.1, "m": 1.0, "l": 10.0}
BATCH = 5000
DAYS = 730  # two years of history

SO_STATUSES = (["draft"] * 15 + ["confirmed"] * 15 + ["shipped"] * 20 + ["invoiced"] * 40
               + ["cancelled"] * 10)
PO_STATUSES = (["draft"] * 10 + ["ordered"] * 20 + ["partially_received"] * 15
               + ["received"] * 45 + ["cancelled"] * 10)
KINDS = ["raw_material", "component", "finished_good", "finished_good"]  # all stocked
UNITS = ["pcs", "pcs", "pcs", "kg", "m", "box", "set", "l"]
ADJECTIVES = ["Steel", "Oak", "Brass", "Nylon", "Copper", "Walnut", "Carbon", "Glass",
              "Cotton", "Granite", "Silver", "Rubber", "Bamboo", "Ceramic", "Linen", "Zinc"]
NOUNS = ["bracket", "hinge", "panel", "bolt", "lamp", "chair", "desk", "cable", "valve",
         "shelf", "frame", "gear", "handle", "sensor", "spring", "washer", "pump", "clamp"]
FIRMS = ["Acme", "Blue Harbor", "Cobalt", "Delta", "Evergreen", "Fjord", "Granite",
         "Helix", "Iris", "Juniper", "Kestrel", "Lumen", "Meridian", "Northwind", "Orion",
         "Pioneer", "Quartz", "Redwood", "Summit", "Tidewater", "Vertex", "Willow"]
SUFFIXES = ["Ltd", "GmbH", "Inc", "Trading", "Supplies", "Retail", "& Co", "SA", "BV"]
CITIES = ["Berlin", "Lyon", "Leeds", "Porto", "Gdansk", "Turin", "Ghent", "Malmo"]


class BenchExists(Exception):
    """The database already holds a bench company."""


@dataclass(frozen=True)
class Plan:
    categories: int
    products: int
    warehouses: int
    customers: int
    suppliers: int
    sales_orders: int
    sales_lines_per_order: int
    purchase_orders: int
    purchase_lines_per_order: int
    movements: int
    form_submissions: int
    invoices: int = 0
    payments: int = 0
    bills: int = 0
    supplier_payments: int = 0

    @property
    def stock_levels(self) -> int:
        return self.products * 2  # every product is kept in two warehouses

    @property
    def rows(self) -> int:
        """Rows inserted (for the progress bar)."""
        return (self.categories + self.products + self.warehouses + self.customers
                + self.suppliers + self.sales_orders * (1 + self.sales_lines_per_order)
                + self.purchase_orders * (1 + self.purchase_lines_per_order)
                + self.movements + self.stock_levels + VIRTUAL_USERS + len(ROLE_USERS)
                + self.form_submissions * (1 + ANSWERS_PER_SUBMISSION)
                + (self.invoices + self.bills) * (1 + INVOICE_LINES)
                + (self.payments + self.supplier_payments) * 2)


def plan_for(size: str) -> Plan:
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}")
    f = SIZES[size]
    return Plan(categories=max(5, round(200 * f)), products=round(20_000 * f),
                warehouses=max(2, round(10 * f)), customers=round(2_000 * f),
                suppliers=max(5, round(500 * f)), sales_orders=round(10_000 * f),
                sales_lines_per_order=5, purchase_orders=round(2_000 * f),
                purchase_lines_per_order=5, movements=round(200_000 * f),
                form_submissions=round(10_000 * f), invoices=round(10_000 * f),
                payments=round(8_000 * f), bills=round(4_000 * f),
                supplier_payments=round(3_000 * f))


def _next_ids(model) -> int:
    """The first free id of a table (ids are given explicitly for speed)."""
    return (db.session.scalar(select(func.max(model.id))) or 0) + 1


class _Loader:
    """Inserts rows in batches, advances the progress callback and times the parts."""

    def __init__(self, progress: Callable[[int], None]) -> None:
        self.progress = progress
        self.pending: dict[type, list[dict]] = {}
        self.counts: dict[str, int] = {}
        self.timings: dict[str, tuple[float, float]] = {}  # part -> seconds, CPU seconds
        self.last = time.perf_counter(), time.process_time()

    def done(self, part: str) -> None:
        """`part` of the data set is loaded: its time is that since the last part, in
        seconds and in this process's CPU seconds (on a busy machine the CPU tells more;
        PostgreSQL's own work is not in it)."""
        now = time.perf_counter(), time.process_time()
        self.timings[part] = tuple(round(b - a, 1) for a, b in zip(self.last, now))
        self.last = now

    def add(self, model, row: dict) -> None:
        rows = self.pending.setdefault(model, [])
        rows.append(row)
        if len(rows) >= BATCH:
            self.flush(model)

    def flush(self, model=None) -> None:
        for m in [model] if model is not None else list(self.pending):
            if m in PARENTS:  # the orders of these lines go in first (foreign key)
                self.flush(PARENTS[m])
            rows = self.pending.get(m)
            if rows:
                _insert_rows(m.__table__, rows)
                self.counts[m.__tablename__] = self.counts.get(m.__tablename__, 0) + len(rows)
                self.progress(len(rows))
                self.pending[m] = []


# The load's page cache on SQLite (1 GiB at most), and SQLite's default the app's
# connections otherwise keep (nothing else in the app sets cache_size).
LOAD_CACHE = "PRAGMA cache_size=-1048576"
DEFAULT_CACHE = "PRAGMA cache_size=-2000"


@contextmanager
def _bulk_settings() -> Iterator[None]:
    """SQLite, on the load's connection and set back after: a page cache of up to
    LOAD_CACHE instead of 2 MB (the indexes' pages were read from the kernel again
    and again and spilled to the write-ahead log: size l spent more CPU in the system
    than in Python); the Turkish collation keeping every text's sort key (the app's
    keeps 65,536: with 400,000 product names and SKUs in its indexes at size l, nearly
    every comparison of an INSERT computed both keys again); and the products' search
    table filled once at the end instead of by its trigger per product (4x faster)."""
    if db.session.get_bind().dialect.name != "sqlite":
        yield
        return
    sqlite = db.session.connection().connection.dbapi_connection
    compare = collation.comparing(lru_cache(maxsize=None)(collation.sort_key.__wrapped__))
    db.session.execute(text(LOAD_CACHE))
    sqlite.create_collation(collation.COLLATION, compare)
    try:
        for statement in search.SQLITE_TRIGGERS_DROP:
            db.session.execute(text(statement))
        yield
        for statement in search.FILL_SQLITE + search.SQLITE_TRIGGERS:
            db.session.execute(text(statement))
    finally:
        sqlite.create_collation(collation.COLLATION, collation.compare)
        db.session.execute(text(DEFAULT_CACHE))


def _insert_rows(table, rows: list[dict]) -> None:
    """INSERT `rows` (dicts with the same keys) into `table` by the driver's bulk path: one
    executemany of plain tuples on SQLite, COPY on PostgreSQL. What SQLAlchemy's INSERT
    would write: values through the column types' bind processors, the columns the rows
    leave out at their scalar defaults. (The ORM's bulk INSERT cost more Python per row
    than the database did, and split a batch at every row whose None values differed.)"""
    connection = db.session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    defaults = [column for column in table.c
                if column.key not in rows[0] and column.default is not None]
    if not all(column.default.is_scalar for column in defaults):
        raise ValueError(f"{table.name}: the rows must give the columns whose default is "
                         "computed")
    columns = [table.c[name] for name in names] + defaults
    constants = [column.default.arg for column in defaults]
    processors = [(n, processor) for n, column in enumerate(columns)
                  if (processor := column.type.dialect_impl(dialect).bind_processor(dialect))]
    get = itemgetter(*names)
    values = []
    for row in rows:
        value = list(get(row)) if len(names) > 1 else [get(row)]
        value += constants
        for n, processor in processors:
            value[n] = processor(value[n])
        values.append(tuple(value))
    names = ", ".join(column.name for column in columns)
    if dialect.name == "postgresql":
        text_rows = io.StringIO("".join("\t".join(map(_copy_text, value)) + "\n"
                                        for value in values))
        with connection.connection.dbapi_connection.cursor() as cursor:
            cursor.copy_expert(f"COPY {table.name} ({names}) FROM STDIN", text_rows)
    else:
        marks = ", ".join("?" * len(columns))
        connection.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})",
                                   values)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


PARENTS = {SalesOrderItem: SalesOrder, PurchaseOrderItem: PurchaseOrder,
           FormAnswer: FormSubmission, InvoiceLine: Invoice, CreditNoteLine: CreditNote,
           PaymentAllocation: Payment, BillLine: Bill,
           SupplierPaymentAllocation: SupplierPayment}


def _at(day: date, rng: random.Random) -> datetime:
    """A working-hours moment of `day`, UTC."""
    return datetime.combine(day, dtime(8, 0), tzinfo=timezone.utc) + timedelta(
        seconds=rng.randrange(10 * 3600))


def generate(size: str = "s", seed: int = 1, *,
             progress: Callable[[int], None] = lambda n: None) -> dict:
    """Load the bench data set in one transaction; return a summary (counts, seconds).

    Raises BenchExists when a "Bench Co" company exists already.
    """
    plan = plan_for(size)
    started = time.perf_counter()
    if db.session.scalar(select(Company.id).where(
            func.lower(Company.name) == BENCH_COMPANY.lower())) is not None:
        raise BenchExists(f"The database already has a company named {BENCH_COMPANY!r}: "
                          "seed-bench loads into a database without one (use a fresh "
                          "database, or delete that company first).")
    rng = random.Random(seed)
    today = date.today()
    now = datetime.now(timezone.utc)
    start_day = today - timedelta(days=DAYS)
    load = _Loader(progress)

    with atomic(), _bulk_settings():
        company = Company(name=BENCH_COMPANY, created_at=_at(start_day, rng))
        db.session.add(company)
        db.session.flush()
        cid = company.id
        stamp = {"company_id": cid}

        # --- users: one hash for all (same password), computed once ---------------------
        from erp.services.users import hash_password

        password_hash = hash_password(BENCH_PASSWORD)
        user_id = _next_ids(User)
        users = [(f"{name}@{BENCH_DOMAIN}", role, name.title()) for name, role in ROLE_USERS]
        users += [(f"user{n:03d}@{BENCH_DOMAIN}", "manager", f"Bench user {n}")
                  for n in range(1, VIRTUAL_USERS + 1)]
        admin_id = user_id
        for n, (email, role, name) in enumerate(users):
            load.add(User, {"id": user_id + n, **stamp, "email": email, "name": name,
                            "password_hash": password_hash, "role": role, "active": True,
                            "session_version": 1, "failed_logins": 0,
                            "created_at": now, "updated_at": now})
        load.flush(User)
        load.done("users")
        user_ids = list(range(user_id, user_id + len(users)))

        # --- catalog ---------------------------------------------------------------------
        first = _next_ids(Category)
        category_ids = list(range(first, first + plan.categories))
        for n, cat_id in enumerate(category_ids):
            load.add(Category, {"id": cat_id, **stamp, "name": f"{rng.choice(ADJECTIVES)} "
                                f"{rng.choice(NOUNS)}s {n + 1}", "parent_id": None,
                                "description": "", "active": True,
                                "created_at": _at(start_day, rng), "updated_at": now})
        first = _next_ids(Supplier)
        supplier_ids = list(range(first, first + plan.suppliers))
        for n, sup_id in enumerate(supplier_ids):
            firm = rng.choice(FIRMS)
            load.add(Supplier, {"id": sup_id, **stamp,
                                "name": f"{firm} {rng.choice(SUFFIXES)} {n + 1}",
                                "contact_person": f"Contact {n + 1}",
                                "email": f"sales{n + 1}@{firm.lower().replace(' ', '')}.example",
                                "phone": f"+49 30 {rng.randint(1000000, 9999999)}",
                                "address": f"{rng.randint(1, 200)} Mill Road, {rng.choice(CITIES)}",
                                "tax_number": f"EU{rng.randint(100000000, 999999999)}",
                                "active": rng.random() > 0.03,
                                "created_at": _at(start_day, rng), "updated_at": now})
        first = _next_ids(Warehouse)
        warehouse_ids = list(range(first, first + plan.warehouses))
        for n, wh_id in enumerate(warehouse_ids):
            load.add(Warehouse, {"id": wh_id, **stamp, "code": f"WH{n + 1:03d}",
                                 "name": f"{rng.choice(CITIES)} warehouse {n + 1}",
                                 "address": "", "active": True,
                                 "created_at": _at(start_day, rng), "updated_at": now})
        load.flush()

        first = _next_ids(Product)
        product_ids = list(range(first, first + plan.products))
        sale_price: list[Decimal] = []
        cost_price: list[Decimal] = []
        for n, prod_id in enumerate(product_ids):
            cost_cents = rng.randint(50, 50_000)
            cost = Decimal(cost_cents).scaleb(-2)
            price = Decimal(cost_cents * rng.randint(120, 250) // 100).scaleb(-2)
            cost_price.append(cost)
            sale_price.append(price)
            load.add(Product, {
                "id": prod_id, **stamp, "sku": f"BP-{n + 1:07d}",
                "name": f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {n + 1}",
                "kind": rng.choice(KINDS), "category_id": rng.choice(category_ids),
                "unit": rng.choice(UNITS), "sale_price": price, "cost_price": cost,
                "min_stock": Decimal(rng.choice([0, 0, 5, 10, 20, 50])),
                "barcode": f"{4000000000000 + n}" if rng.random() < 0.5 else "",
                "description": "", "active": rng.random() > 0.02,
                "preferred_supplier_id": rng.choice(supplier_ids) if rng.random() < 0.7 else None,
                "created_at": _at(start_day, rng), "updated_at": now})
        load.flush()
        load.done("catalog")

        # --- stock levels: two warehouses per product ------------------------------------
        # level index -> (product index, warehouse index); quantities tracked per level
        level_product: list[int] = []
        level_warehouse: list[int] = []
        by_warehouse: list[list[int]] = [[] for _ in warehouse_ids]  # level indexes
        for p in range(plan.products):
            for w in rng.sample(range(plan.warehouses), 2):
                by_warehouse[w].append(len(level_product))
                level_product.append(p)
                level_warehouse.append(w)
        levels = len(level_product)
        initial = [Decimal(rng.randint(200, 1000)) for _ in range(levels)]
        on_hand = list(initial)
        reserved = [Decimal(0)] * levels
        movement_id = _next_ids(StockMovement)
        movements = 0

        def movement(level: int, quantity: Decimal, kind: str, at: datetime,
                     source: tuple[str, int] | None = None, reference: str = "") -> None:
            nonlocal movement_id, movements
            load.add(StockMovement, {
                "id": movement_id, "company_id": cid,
                "product_id": product_ids[level_product[level]],
                "warehouse_id": warehouse_ids[level_warehouse[level]],
                "quantity": quantity, "kind": kind,
                "source_type": source[0] if source else None,
                "source_id": source[1] if source else None,
                "reference": reference, "note": "", "user_id": rng.choice(user_ids),
                "created_at": at})
            movement_id += 1
            movements += 1

        sequences: dict[tuple[str, int], int] = {}

        def number(series: str, day: date) -> str:
            key = (series, day.year)
            sequences[key] = sequences.get(key, 0) + 1
            return f"{series}-{day.year}-{sequences[key]:06d}"

        def order_days(count: int) -> list[date]:
            return sorted(start_day + timedelta(days=rng.randrange(DAYS + 1))
                          for _ in range(count))

        def after(moment: datetime, days: int) -> datetime:
            return min(moment + timedelta(days=rng.randint(0, days), hours=rng.randint(1, 8)),
                       now)

        # --- purchase orders (first: their receipts add stock) ---------------------------
        po_id = _next_ids(PurchaseOrder)
        po_item_id = _next_ids(PurchaseOrderItem)
        for day in order_days(plan.purchase_orders):
            status = rng.choice(PO_STATUSES)
            w = rng.randrange(plan.warehouses)
            created = _at(day, rng)
            ordered_at = after(created, 2) if status not in ("draft",) else None
            num = number("PO", day)
            subtotal = tax_total = Decimal("0.00")
            po_lines: list[dict] = []
            lines = rng.sample(by_warehouse[w], min(plan.purchase_lines_per_order,
                                                    len(by_warehouse[w])))
            for k, level in enumerate(lines):
                p = level_product[level]
                quantity = Decimal(rng.randint(5, 100))
                rate = Decimal(rng.choice([0, 7, 19]))
                line_subtotal = round_money(quantity * cost_price[p])
                line_tax = round_money(line_subtotal * rate / 100)
                if status == "received" or (status == "partially_received" and k == 0):
                    received = quantity
                elif status == "partially_received" and k % 2 == 1:
                    received = Decimal(rng.randint(1, int(quantity) - 1))
                else:
                    received = Decimal(0)
                po_lines.append({
                    "id": po_item_id, **stamp, "order_id": po_id,
                    "product_id": product_ids[p], "quantity": quantity,
                    "received_quantity": received, "unit_cost": cost_price[p],
                    "tax_rate": rate, "line_subtotal": line_subtotal, "line_tax": line_tax,
                    "line_total": line_subtotal + line_tax,
                    "created_at": created, "updated_at": created})
                if received:
                    on_hand[level] += received
                    movement(level, received, "purchase_receipt", after(ordered_at, 20),
                             ("purchase_order_item", po_item_id), num)
                subtotal += line_subtotal
                tax_total += line_tax
                po_item_id += 1
            load.add(PurchaseOrder, {
                "id": po_id, **stamp, "number": num, "supplier_id": rng.choice(supplier_ids),
                "warehouse_id": warehouse_ids[w], "order_date": day,
                "expected_date": day + timedelta(days=rng.randint(3, 30)), "status": status,
                "notes": "", "subtotal": subtotal, "tax_total": tax_total,
                "total": subtotal + tax_total, "ordered_at": ordered_at,
                "created_by_id": rng.choice(user_ids), "created_at": created,
                "updated_at": ordered_at or created})
            for row in po_lines:  # after their order (foreign key)
                load.add(PurchaseOrderItem, row)
            po_id += 1
        load.flush(PurchaseOrder)
        load.flush(PurchaseOrderItem)
        load.done("purchase orders")

        # --- customers and sales orders ---------------------------------------------------
        first = _next_ids(Customer)
        customer_ids = list(range(first, first + plan.customers))
        for n, cust_id in enumerate(customer_ids):
            firm = rng.choice(FIRMS)
            city = rng.choice(CITIES)
            load.add(Customer, {
                "id": cust_id, **stamp, "name": f"{firm} {rng.choice(SUFFIXES)} {n + 1}",
                "email": f"orders{n + 1}@{firm.lower().replace(' ', '')}.example",
                "phone": f"+49 30 {rng.randint(1000000, 9999999)}",
                "billing_address": f"{rng.randint(1, 200)} Market Street\n{city}",
                "shipping_address": "", "tax_number": f"EU{rng.randint(100000000, 999999999)}",
                "credit_limit": Decimal(rng.choice([0, 5000, 10000, 25000, 50000])),
                "active": rng.random() > 0.03,
                "created_at": _at(start_day, rng), "updated_at": now})
        load.flush(Customer)

        so_id = _next_ids(SalesOrder)
        so_item_id = _next_ids(SalesOrderItem)
        for day in order_days(plan.sales_orders):
            status = rng.choice(SO_STATUSES)
            w = rng.randrange(plan.warehouses)
            created = _at(day, rng)
            confirmed_at = (after(created, 2) if status in ("confirmed", "shipped", "invoiced")
                            else None)
            shipped_at = after(confirmed_at, 7) if status in ("shipped", "invoiced") else None
            invoiced_at = after(shipped_at, 10) if status == "invoiced" else None
            num = number("SO", day)
            invoice = number("INV", invoiced_at.date()) if invoiced_at else None
            totals = [Decimal("0.00")] * 4
            candidates = rng.sample(by_warehouse[w], min(plan.sales_lines_per_order * 2,
                                                         len(by_warehouse[w])))
            lines = 0
            so_lines: list[dict] = []
            for level in candidates:
                if lines == plan.sales_lines_per_order:
                    break
                quantity = Decimal(rng.randint(1, 10))
                if status in ("confirmed", "shipped", "invoiced"):
                    available = on_hand[level] - reserved[level]
                    if available < 1:
                        continue  # the app would refuse to confirm: take another product
                    quantity = min(quantity, available)
                p = level_product[level]
                discount = Decimal(rng.choice([0, 0, 0, 5, 10]))
                tax_rate = Decimal(rng.choice([0, 7, 19, 19]))
                amounts = line_amounts(quantity, sale_price[p], discount, tax_rate)
                so_lines.append({
                    "id": so_item_id, **stamp, "order_id": so_id,
                    "product_id": product_ids[p], "quantity": quantity,
                    "unit_price": sale_price[p], "discount_percent": discount,
                    "tax_rate": tax_rate, "subtotal": amounts.subtotal,
                    "discount_amount": amounts.discount, "tax_amount": amounts.tax,
                    "total": amounts.total, "created_at": created, "updated_at": created,
                    # shipped whole, before delivery notes: like an order migrated by 0014
                    "shipped_quantity": quantity if status in ("shipped", "invoiced")
                    else Decimal("0")})
                lines += 1
                for i, value in enumerate((amounts.subtotal, amounts.discount, amounts.tax,
                                           amounts.total)):
                    totals[i] += value
                if status == "confirmed":
                    reserved[level] += quantity
                elif status in ("shipped", "invoiced"):
                    on_hand[level] -= quantity
                    movement(level, -quantity, "sales_shipment", shipped_at,
                             ("sales_order_item", so_item_id), num)
                so_item_id += 1
            load.add(SalesOrder, {
                "id": so_id, **stamp, "number": num, "customer_id": rng.choice(customer_ids),
                "warehouse_id": warehouse_ids[w], "order_date": day,
                "requested_date": day + timedelta(days=rng.randint(3, 30)), "status": status,
                "notes": "", "subtotal": totals[0], "discount_total": totals[1],
                "tax_total": totals[2], "total": totals[3], "invoice_number": invoice,
                "confirmed_at": confirmed_at, "shipped_at": shipped_at,
                "invoiced_at": invoiced_at, "created_by_id": rng.choice(user_ids),
                "created_at": created,
                "updated_at": invoiced_at or shipped_at or confirmed_at or created})
            for row in so_lines:  # after their order (foreign key)
                load.add(SalesOrderItem, row)
            so_id += 1
        load.flush(SalesOrder)
        load.flush(SalesOrderItem)
        load.done("customers and sales orders")

        # --- the rest of the ledger: an opening receipt per level, then receipts, issues
        # and adjustments until the planned number of movements is reached --------------
        extra = max(0, plan.movements - movements - levels)
        per_level = [0] * levels
        for _ in range(extra):
            per_level[rng.randrange(levels)] += 1
        opening = datetime.combine(start_day - timedelta(days=1), dtime(6, 0),
                                   tzinfo=timezone.utc)
        span = int((now - opening).total_seconds())
        for level in range(levels):
            movement(level, initial[level], "receipt", opening, None, "Opening stock")
            for _ in range(per_level[level]):
                at = opening + timedelta(seconds=rng.randrange(span))
                roll = rng.random()
                if roll < 0.4:
                    quantity, kind = Decimal(rng.randint(1, 50)), "receipt"
                elif roll < 0.8:
                    quantity, kind = -Decimal(rng.randint(1, 20)), "issue"
                else:
                    quantity, kind = Decimal(rng.randint(-5, 5) or 1), "adjustment"
                if on_hand[level] + quantity < reserved[level]:
                    quantity, kind = -quantity, "receipt" if quantity < -5 else "adjustment"
                on_hand[level] += quantity
                movement(level, quantity, kind, at, None,
                         "Stock count" if kind == "adjustment" else "")
        load.flush(StockMovement)
        load.done("stock movements")

        first = _next_ids(StockLevel)
        for level in range(levels):
            load.add(StockLevel, {
                "id": first + level, **stamp,
                "product_id": product_ids[level_product[level]],
                "warehouse_id": warehouse_ids[level_warehouse[level]],
                "on_hand": on_hand[level], "reserved": reserved[level],
                "created_at": opening, "updated_at": now})
        load.flush(StockLevel)
        load.done("stock levels")

        _forms(load, cid, rng, users, user_id, category_ids[0], plan.form_submissions,
               start_day, now)
        load.done("custom forms")
        bench_money.generate(load, cid, rng, invoices=plan.invoices, payments=plan.payments,
                             customer_ids=customer_ids, product_ids=product_ids,
                             sale_price=sale_price, user_ids=user_ids, number=number,
                             start_day=start_day, today=today, now=now)
        load.done("receivables")
        # the payables on a stream of their own (the data before them stays as it was)
        bench_money.generate(load, cid, random.Random(seed * 7919 + 1), invoices=plan.bills,
                             payments=plan.supplier_payments, customer_ids=supplier_ids,
                             product_ids=product_ids, sale_price=cost_price,
                             user_ids=user_ids, number=number, start_day=start_day,
                             today=today, now=now, side=bench_money.PAYABLES)
        load.done("payables")

        for (series, year), last in sorted(sequences.items()):
            load.add(DocumentSequence, {"company_id": cid, "series": series, "year": year,
                                        "last_value": last})
        load.flush(DocumentSequence)
        _fix_sequences()
        # what the services keep in step with every change, computed once for the bulk load
        stock.rebuild_available(cid)
        sales_totals.rebuild(cid)
        invoice_totals.rebuild(cid)
        load.done("running totals")
        # the movements' unit costs and values, the levels' values and the day tables, in
        # bulk SQL: the ledger valued at each product's cost price
        valuation.rebuild(db.session.connection(), cid, company.timezone or "UTC")
        load.done("valuation")
    load.done("search table and commit")
    analyze()
    load.done("analyze")
    counts = dict(load.counts)
    return {"company_id": cid, "admin_id": admin_id, "counts": counts, "size": size,
            "seed": seed, "seconds": round(time.perf_counter() - started, 1),
            "timings": load.timings}


FORM_NAME = "Incoming goods checklist"
# label, kind, settings; the last field came with version 2
FORM_FIELDS = [
    ("Arrival", "section", {}),
    ("Packaging intact", "yes_no", {"required": True, "must_be_yes": True}),
    ("Temperature", "decimal", {"minimum": Decimal(-30), "maximum": Decimal(40), "unit": "°C"}),
    ("Carrier", "choice", {"options": "Own truck\nParcel service\nFreight forwarder"}),
    ("Best before", "date", {}),
    ("Damage notes", "long_text", {"required": True, "condition_key": "f2",
                                   "condition_value": "no"}),
    ("Checked by", "text", {}),
    ("Pallets", "number", {"minimum": Decimal(1), "maximum": Decimal(60)}),
]
ANSWERS_PER_SUBMISSION = 6  # about (for the progress bar)
INVOICE_LINES = 2  # about (for the progress bar)
CHECKERS = ["A. Novak", "B. Schulz", "C. Moreau", "D. Rossi", "E. Jensen", "F. Silva"]
DAMAGES = ["Two cartons crushed at one corner.", "Wet pallet wrap.", "Seal broken.",
           "Labels missing on one pallet."]


def _forms(load: _Loader, cid: int, rng: random.Random, users: list[tuple[str, str, str]],
           first_user_id: int, category_id: int, count: int, start_day: date,
           now: datetime) -> None:
    """The incoming goods checklist: form, versions, fields and link through the ORM (a
    few rows), `count` submissions and their answers in bulk. The first 30% (by time) were
    filled on version 1, the rest on version 2 (with "Pallets")."""
    created = _at(start_day, rng)
    form = CustomForm(company_id=cid, name=FORM_NAME, active=True, latest_number=2,
                      next_key=len(FORM_FIELDS) + 1, created_at=created, updated_at=created,
                      description="Filled at the receiving dock for each delivery.")
    db.session.add(form)
    db.session.flush()
    versions = []
    for number, fields in ((1, FORM_FIELDS[:-1]), (2, FORM_FIELDS)):
        version = FormVersion(company_id=cid, form_id=form.id, number=number,
                              created_at=created, updated_at=created)
        version.fields = [FormField(company_id=cid, key=f"f{n}", position=n, kind=kind,
                                    label=label, **settings)
                          for n, (label, kind, settings) in enumerate(fields, start=1)]
        db.session.add(version)
        versions.append(version)
    db.session.add(FormLink(company_id=cid, form_id=form.id, category_id=category_id))
    db.session.flush()
    field_ids = [{field.key: field.id for field in version.fields} for version in versions]

    submission_id = _next_ids(FormSubmission)
    answer_id = _next_ids(FormAnswer)
    first = datetime.combine(start_day, dtime(8, 0), tzinfo=timezone.utc)
    span = int((now - first).total_seconds()) - 3600
    moments = sorted(first + timedelta(seconds=rng.randrange(span)) for _ in range(count))
    for n, at in enumerate(moments):
        v = 0 if n < count * 3 // 10 else 1
        draft = rng.random() < 0.05
        user = rng.randrange(len(users))
        submitted_at = None if draft else min(at + timedelta(minutes=rng.randint(2, 40)), now)
        intact = rng.random() < 0.92
        values: dict[str, dict] = {
            "f2": {"value_bool": intact},
            "f3": {"value_number": Decimal(rng.randint(-50, 120)).scaleb(-1)},
            "f4": {"value_text": rng.choice(["Own truck", "Parcel service",
                                             "Freight forwarder"])},
            "f5": {"value_date": at.date() + timedelta(days=rng.randint(30, 400))},
            "f7": {"value_text": rng.choice(CHECKERS)},
        }
        if not intact:
            values["f6"] = {"value_text": rng.choice(DAMAGES)}
        if v == 1:
            values["f8"] = {"value_number": Decimal(rng.randint(1, 33))}
        if draft:  # a draft left some questions for later
            for key in rng.sample(sorted(values), rng.randint(0, 2)):
                if key != "f2":
                    del values[key]
        load.add(FormSubmission, {
            "id": submission_id, "company_id": cid, "form_id": form.id,
            "version_id": versions[v].id, "status": "draft" if draft else "submitted",
            "created_by_id": first_user_id + user, "created_by_name": users[user][0],
            "submitted_at": submitted_at,
            "submitted_by_name": "" if draft else users[user][0], "product_id": None,
            "receipt_reference": f"GR-{at.year}-{n + 1:06d}", "inspection_id": None,
            "work_order_id": None, "created_at": at, "updated_at": submitted_at or at})
        for key, value in values.items():
            load.add(FormAnswer, {
                "id": answer_id, "company_id": cid, "submission_id": submission_id,
                "field_id": field_ids[v][key], "form_id": form.id, "field_key": key,
                "value_text": None, "value_number": None, "value_date": None,
                "value_bool": None, "file_type": None, "file_size": None, "file_data": None,
                "created_at": at, "updated_at": submitted_at or at, **value})
            answer_id += 1
        submission_id += 1
    load.flush(FormSubmission)
    load.flush(FormAnswer)


def _fix_sequences() -> None:
    """PostgreSQL: explicit ids do not advance the id sequences; move them past the max."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for model in (User, Category, Supplier, Warehouse, Product, PurchaseOrder,
                  PurchaseOrderItem, Customer, SalesOrder, SalesOrderItem, StockMovement,
                  StockLevel, FormSubmission, FormAnswer, Invoice, InvoiceLine, CreditNote,
                  CreditNoteLine, Payment, PaymentAllocation):
        table = model.__tablename__
        db.session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))


def analyze() -> None:
    """Fresh planner statistics after the bulk load; on PostgreSQL also the visibility map
    (VACUUM), which autovacuum would set on a live database, so that index-only scans (the
    ids of a deep page, the capped counts) are index-only from the start."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
            conn.execute(text("PRAGMA optimize"))


def summary_lines(result: dict) -> Iterable[str]:
    counts = result["counts"]
    yield (f"Loaded size {result['size']} (seed {result['seed']}) into company "
           f"{BENCH_COMPANY!r} (id {result['company_id']}) in {result['seconds']} s:")
    for table, count in counts.items():
        yield f"  {table}: {count:,}"
    yield "Seconds per part (CPU seconds of this process): " + ", ".join(
        f"{part} {seconds} ({cpu})" for part, (seconds, cpu) in result["timings"].items())
    yield (f"Logins: admin@{BENCH_DOMAIN}, manager@, staff@, viewer@, user001@ .. "
           f"user{VIRTUAL_USERS:03d}@{BENCH_DOMAIN} (managers), password {BENCH_PASSWORD!r}")
