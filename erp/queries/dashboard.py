"""The dashboard's figures: aggregate queries only (COUNT / SUM / GROUP BY, company first),
never rows loaded into Python to be counted, each group cached per company.

Each group is computed by one function returning plain values (picklable: ints, Decimals,
dates, strings, small lists of dicts) and cached with `erp.cache_versions.cached` under a
key built from the versions of the areas it reads, so that a sales write invalidates the
sales figures and leaves the others (and the task list) cached. Figures that depend on
the date carry it in their key's name.
"""
from __future__ import annotations

from functools import cached_property
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from erp.cache_versions import cached
from erp.extensions import db
from erp.models import Product
from erp.models.catalog import low_stock
from erp.models.base import ZERO
from erp.models.production import ProductionOrder
from erp.models.purchasing import PurchaseOrder
from erp.models.sales import Customer, SalesMonthTotal, SalesOrder, SalesProductTotal
from erp.models.tasks import Todo

OPEN_PO_STATUSES = ("ordered", "partially_received")
MONTHS = 12
TOP_PRODUCTS = 10
RECENT_ORDERS = 10
MY_TASKS = 10
# in the names of the sales groups since sales are net of tax: a group cached before (with
# the tax, without the tax figures the page now shows) is never read back
NET = ":net"


def _money(value) -> Decimal:
    """A SUM as Decimal cents (SQLite sums Numeric in floating point)."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def month_start(day: date, back: int = 0) -> date:
    """The first day of the month `back` months before `day`'s month."""
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


# --- the groups -----------------------------------------------------------------------

def catalog_figures(company_id: int) -> dict:
    """Active products (catalog area only: stock changes leave this cached)."""
    products = db.session.scalar(
        select(func.count()).select_from(Product)
        .where(Product.company_id == company_id, Product.active.is_(True)))
    return {"products": int(products or 0)}


def low_stock_figures(company_id: int) -> dict:
    """Active stocked products whose available stock over all warehouses is below their
    minimum: counted from the partial index `ix_products_low_stock` (Product.available is
    kept by the stock service), so the count costs the number of low products only."""
    count = db.session.scalar(
        select(func.count()).select_from(Product)
        .where(Product.company_id == company_id, low_stock()))
    return {"low_stock": int(count or 0)}


def order_counts(company_id: int) -> dict:
    """Active customers; open (confirmed or partly shipped) and draft orders."""
    customers = db.session.scalar(
        select(func.count()).select_from(Customer)
        .where(Customer.company_id == company_id, Customer.active.is_(True)))
    by_status = dict(db.session.execute(
        select(SalesOrder.status, func.count())
        .where(SalesOrder.company_id == company_id,
               SalesOrder.status.in_(("draft", "confirmed", "partly_shipped")))
        .group_by(SalesOrder.status)).all())
    return {"customers": int(customers or 0),
            "open_orders": int(by_status.get("confirmed", 0))
            + int(by_status.get("partly_shipped", 0)),
            "draft_orders": int(by_status.get("draft", 0))}


def sales_figures(company_id: int, today: date) -> dict:
    """Sales (confirmed, shipped, invoiced orders), net of tax, with their tax apart: in
    total, this month and per month for the last 12 months, and the average net order
    value, from the per-month running totals (`SalesMonthTotal`): a row per month of
    history, however many orders there are."""
    months = dict(
        (month, (int(orders), _money(total), _money(tax)))
        for month, orders, total, tax in db.session.execute(
            select(SalesMonthTotal.month, SalesMonthTotal.orders, SalesMonthTotal.total,
                   SalesMonthTotal.tax)
            .where(SalesMonthTotal.company_id == company_id)))
    sold_count = sum(orders for orders, _, _ in months.values())
    sold_total = sum((total for _, total, _ in months.values()), ZERO)
    this_month = months.get(month_start(today), (0, ZERO, ZERO))
    # the month's label is the page's ("Dec 2026", "Ara 2026"): this group is the company's
    chart = [{"month": m.strftime("%Y-%m"), "total": months.get(m, (0, ZERO, ZERO))[1]}
             for m in (month_start(today, back) for back in range(MONTHS - 1, -1, -1))]
    return {
        "sold_orders": sold_count,
        "sales_total": sold_total,
        "sales_tax": sum((tax for _, _, tax in months.values()), ZERO),
        "sales_month": this_month[1],
        "sales_month_tax": this_month[2],
        "average_order": (sold_total / sold_count).quantize(Decimal("0.01")) if sold_count
        else ZERO,
        "chart": chart,
    }


def recent_orders(company_id: int) -> list[dict]:
    """The last 10 sales orders (by order date, then newest id) with their customer's name."""
    rows = db.session.execute(
        select(SalesOrder.id, SalesOrder.number, SalesOrder.order_date, SalesOrder.status,
               SalesOrder.total, Customer.name)
        .join(Customer, Customer.id == SalesOrder.customer_id)
        .where(SalesOrder.company_id == company_id)
        .order_by(SalesOrder.order_date.desc(), SalesOrder.id.desc())
        .limit(RECENT_ORDERS))
    return [{"id": id_, "number": number, "order_date": order_date, "status": status,
             "total": _money(total), "customer": customer}
            for id_, number, order_date, status, total, customer in rows]


def top_products(company_id: int) -> list[dict]:
    """The 10 products with the most revenue (the lines' net amounts, before tax, of orders
    that are neither drafts nor cancelled), read from the running totals by the (company,
    revenue) index."""
    rows = db.session.execute(
        select(Product.id, Product.sku, Product.name, SalesProductTotal.quantity,
               SalesProductTotal.revenue)
        .join(Product, Product.id == SalesProductTotal.product_id)
        .where(SalesProductTotal.company_id == company_id, SalesProductTotal.revenue > 0)
        .order_by(SalesProductTotal.revenue.desc(), SalesProductTotal.product_id.desc())
        .limit(TOP_PRODUCTS))
    return [{"id": id_, "sku": sku, "name": name,
             "quantity": Decimal(str(quantity or 0)).quantize(Decimal("0.001")),
             "revenue": _money(total)}
            for id_, sku, name, quantity, total in rows]


def purchasing_figures(company_id: int) -> dict:
    """Purchase orders placed and not fully received."""
    count = db.session.scalar(
        select(func.count()).select_from(PurchaseOrder)
        .where(PurchaseOrder.company_id == company_id,
               PurchaseOrder.status.in_(OPEN_PO_STATUSES)))
    return {"open_purchase_orders": int(count or 0)}


def production_figures(company_id: int) -> dict:
    count = db.session.scalar(
        select(func.count()).select_from(ProductionOrder)
        .where(ProductionOrder.company_id == company_id,
               ProductionOrder.status == "in_progress"))
    return {"production_in_progress": int(count or 0)}


def my_tasks(company_id: int, user_id: int, today: date) -> dict:
    """The user's tasks not done, due date first (undated last), at most 10, and how many."""
    mine = (Todo.company_id == company_id, Todo.assignee_id == user_id, Todo.status != "done")
    total = db.session.scalar(select(func.count()).select_from(Todo).where(*mine))
    rows = db.session.execute(
        select(Todo.id, Todo.title, Todo.due_date, Todo.priority, Todo.status)
        .where(*mine).order_by(Todo.due_date.asc().nulls_last(), Todo.id).limit(MY_TASKS))
    return {"count": int(total or 0),
            "items": [{"id": id_, "title": title, "due_date": due, "priority": priority,
                       "status": status, "overdue": due is not None and due < today}
                      for id_, title, due, priority, status in rows]}


# --- the page -------------------------------------------------------------------------

# Each group of figures: the areas whose writes change it (erp.cache_versions).
GROUP_AREAS = {
    "catalog": ("catalog",),
    "low-stock": ("catalog", "inventory"),
    "order-counts": ("sales",),
    "sales": ("sales_totals",),
    "recent-orders": ("sales",),
    "top-products": ("sales_totals", "catalog"),
    "purchasing": ("purchasing",),
    "production": ("production",),
    "tasks": ("tasks",),
    "receivables": ("money",),
    "payables": ("payables",),
}


def areas_of(*groups: str) -> tuple[str, ...]:
    """The areas a part of the page that shows these groups depends on."""
    return tuple(sorted({area for group in groups for area in GROUP_AREAS[group]}))


class Dashboard:
    """Every figure group of the dashboard, each read on first use from the cache (computed
    on a miss) under a key of the areas it depends on. Lazy, so that a page whose HTML
    fragments are cached (erp.blueprints.main) reads no group at all. Figures that depend
    on the date (this month, overdue) carry it in their key's name."""

    def __init__(self, company_id: int, user_id: int, today: date | None = None) -> None:
        self.company_id, self.user_id = company_id, user_id
        self.today = today or date.today()
        self.day = self.today.isoformat()

    def _group(self, group: str, compute, *, suffix: str = ""):
        return cached(self.company_id, group + suffix, GROUP_AREAS[group], compute)

    @cached_property
    def catalog(self) -> dict:
        cid = self.company_id
        return {**self._group("catalog", lambda: catalog_figures(cid)),
                **self._group("low-stock", lambda: low_stock_figures(cid))}

    @cached_property
    def sales(self) -> dict:
        cid, today = self.company_id, self.today
        return {**self._group("order-counts", lambda: order_counts(cid)),
                **self._group("sales", lambda: sales_figures(cid, today),
                              suffix=f"{NET}:{self.day}")}

    @cached_property
    def recent_orders(self) -> list[dict]:
        return self._group("recent-orders", lambda: recent_orders(self.company_id))

    @cached_property
    def top_products(self) -> list[dict]:
        return self._group("top-products", lambda: top_products(self.company_id), suffix=NET)

    @cached_property
    def receivables(self) -> dict:
        """Open and overdue receivables (overdue depends on the day: in the key's name)."""
        from erp.queries.receivables import receivables_figures

        cid, today = self.company_id, self.today
        return self._group("receivables", lambda: receivables_figures(cid, today),
                           suffix=f":{self.day}")

    @cached_property
    def payables(self) -> dict:
        """Open bills due this week and overdue (both depend on the day: in the key)."""
        from erp.queries.bills import payables_figures

        cid, today = self.company_id, self.today
        return self._group("payables", lambda: payables_figures(cid, today),
                           suffix=f":{self.day}")

    @cached_property
    def purchasing(self) -> dict:
        return self._group("purchasing", lambda: purchasing_figures(self.company_id))

    @cached_property
    def production(self) -> dict:
        return self._group("production", lambda: production_figures(self.company_id))

    @cached_property
    def my_tasks(self) -> dict:
        return self._group("tasks", lambda: my_tasks(self.company_id, self.user_id, self.today),
                           suffix=f":user={self.user_id}:{self.day}")

    @property
    def empty(self) -> bool:
        """A new company: nothing in the catalog and no orders yet (EMPTY_GROUPS)."""
        return (not self.catalog["products"] and not self.recent_orders
                and not self.purchasing["open_purchase_orders"])


# the groups a dashboard reads even when all its parts are cached (`Dashboard.empty`; a
# company without products reads the last two too)
EMPTY_GROUPS = ("catalog", "low-stock", "recent-orders", "purchasing")


def dashboard(company_id: int, user_id: int, today: date | None = None) -> Dashboard:
    """Every figure of the dashboard, each group from the cache when its areas are unchanged."""
    return Dashboard(company_id, user_id, today)
