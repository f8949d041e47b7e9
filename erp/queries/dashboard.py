"""The dashboard's figures: aggregate queries only (COUNT / SUM / GROUP BY, company first),
never rows loaded into Python to be counted, each group cached per company.

Each group is computed by one function returning plain values (picklable: ints, Decimals,
dates, strings, small lists of dicts) and cached with `erp.cache_versions.cached` under a
key built from the versions of the areas it reads, so that a sales write invalidates the
sales figures and leaves the others (and the task list) cached. Figures that depend on
the date carry it in their key's name.
"""
from __future__ import annotations

from dataclasses import dataclass
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
    """Active customers; open (confirmed) and draft orders."""
    customers = db.session.scalar(
        select(func.count()).select_from(Customer)
        .where(Customer.company_id == company_id, Customer.active.is_(True)))
    by_status = dict(db.session.execute(
        select(SalesOrder.status, func.count())
        .where(SalesOrder.company_id == company_id,
               SalesOrder.status.in_(("draft", "confirmed")))
        .group_by(SalesOrder.status)).all())
    return {"customers": int(customers or 0),
            "open_orders": int(by_status.get("confirmed", 0)),
            "draft_orders": int(by_status.get("draft", 0))}


def sales_figures(company_id: int, today: date) -> dict:
    """Sales (confirmed, shipped, invoiced orders) in total, this month and per month for
    the last 12 months, and the average order value, from the per-month running totals
    (`SalesMonthTotal`): a row per month of history, however many orders there are."""
    months = dict(
        (month, (int(orders), _money(total))) for month, orders, total in db.session.execute(
            select(SalesMonthTotal.month, SalesMonthTotal.orders, SalesMonthTotal.total)
            .where(SalesMonthTotal.company_id == company_id)))
    sold_count = sum(orders for orders, _ in months.values())
    sold_total = sum((total for _, total in months.values()), ZERO)
    chart = [{"month": m.strftime("%Y-%m"), "label": m.strftime("%b %Y"),
              "total": months.get(m, (0, ZERO))[1]}
             for m in (month_start(today, back) for back in range(MONTHS - 1, -1, -1))]
    return {
        "sold_orders": sold_count,
        "sales_total": sold_total,
        "sales_month": chart[-1]["total"],
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
    """The 10 products with the most revenue (line totals of orders that are neither drafts
    nor cancelled), read from the running totals by the (company, revenue) index."""
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

@dataclass
class Dashboard:
    catalog: dict
    sales: dict
    recent_orders: list[dict]
    top_products: list[dict]
    purchasing: dict
    production: dict
    my_tasks: dict

    @property
    def empty(self) -> bool:
        """A new company: nothing in the catalog and no orders yet."""
        return (not self.catalog["products"] and not self.recent_orders
                and not self.purchasing["open_purchase_orders"])


def dashboard(company_id: int, user_id: int, today: date | None = None) -> Dashboard:
    """Every figure of the dashboard, each group from the cache when its areas are unchanged."""
    today = today or date.today()
    day = today.isoformat()
    return Dashboard(
        catalog={**cached(company_id, "catalog", ("catalog",),
                          lambda: catalog_figures(company_id)),
                 **cached(company_id, "low-stock", ("catalog", "inventory"),
                          lambda: low_stock_figures(company_id))},
        sales={**cached(company_id, "order-counts", ("sales",),
                        lambda: order_counts(company_id)),
               **cached(company_id, f"sales:{day}", ("sales_totals",),
                        lambda: sales_figures(company_id, today))},
        recent_orders=cached(company_id, "recent-orders", ("sales",),
                             lambda: recent_orders(company_id)),
        top_products=cached(company_id, "top-products", ("sales_totals", "catalog"),
                            lambda: top_products(company_id)),
        purchasing=cached(company_id, "purchasing", ("purchasing",),
                          lambda: purchasing_figures(company_id)),
        production=cached(company_id, "production", ("production",),
                          lambda: production_figures(company_id)),
        my_tasks=cached(company_id, f"tasks:user={user_id}:{day}", ("tasks",),
                        lambda: my_tasks(company_id, user_id, today)),
    )
