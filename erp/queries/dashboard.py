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

from sqlalchemy import case, func, select

from erp.cache_versions import cached
from erp.extensions import db
from erp.models import Product, StockLevel
from erp.models.base import ZERO
from erp.models.production import ProductionOrder
from erp.models.purchasing import PurchaseOrder
from erp.models.sales import Customer, SalesOrder, SalesOrderItem
from erp.models.tasks import Todo

SOLD_STATUSES = ("confirmed", "shipped", "invoiced")  # orders that count as sales
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


def _month_label(dialect: str, column):
    """'YYYY-MM' of a DATE column, on SQLite and PostgreSQL."""
    if dialect == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


# --- the groups -----------------------------------------------------------------------

def catalog_figures(company_id: int) -> dict:
    """Active products, and active stocked products whose available stock summed over the
    warehouses is below their minimum (no stock level counts as nothing available)."""
    available = (select(StockLevel.product_id,
                        func.sum(StockLevel.on_hand - StockLevel.reserved).label("available"))
                 .where(StockLevel.company_id == company_id)
                 .group_by(StockLevel.product_id).subquery())
    low = ((Product.kind != "service") & (Product.min_stock > 0)
           & (func.coalesce(available.c.available, 0) < Product.min_stock))
    products, low_stock = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case((low, 1), else_=0)), 0))
        .select_from(Product)
        .outerjoin(available, available.c.product_id == Product.id)
        .where(Product.company_id == company_id, Product.active.is_(True))).one()
    return {"products": int(products), "low_stock": int(low_stock)}


def sales_figures(company_id: int, today: date) -> dict:
    """Active customers; orders by status; sales (confirmed, shipped, invoiced) in total,
    this month and per month for the last 12 months; the average order value."""
    customers = db.session.scalar(
        select(func.count()).select_from(Customer)
        .where(Customer.company_id == company_id, Customer.active.is_(True)))
    by_status = {status: (int(count), _money(total)) for status, count, total in
                 db.session.execute(
                     select(SalesOrder.status, func.count(), func.sum(SalesOrder.total))
                     .where(SalesOrder.company_id == company_id)
                     .group_by(SalesOrder.status))}
    sold_count = sum(by_status.get(s, (0, ZERO))[0] for s in SOLD_STATUSES)
    sold_total = sum((by_status.get(s, (0, ZERO))[1] for s in SOLD_STATUSES), ZERO)

    first = month_start(today, MONTHS - 1)
    end = month_start(today, -1)
    label = _month_label(db.session.get_bind().dialect.name, SalesOrder.order_date)
    per_month = {key: _money(total) for key, total in db.session.execute(
        select(label, func.sum(SalesOrder.total))
        .where(SalesOrder.company_id == company_id, SalesOrder.status.in_(SOLD_STATUSES),
               SalesOrder.order_date >= first, SalesOrder.order_date < end)
        .group_by(label))}
    months = [month_start(today, back) for back in range(MONTHS - 1, -1, -1)]
    chart = [{"month": m.strftime("%Y-%m"), "label": m.strftime("%b %Y"),
              "total": per_month.get(m.strftime("%Y-%m"), ZERO)} for m in months]
    return {
        "customers": int(customers or 0),
        "open_orders": by_status.get("confirmed", (0, ZERO))[0],
        "draft_orders": by_status.get("draft", (0, ZERO))[0],
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
    """The 10 products with the most revenue: the sum of the line totals of orders that
    are neither drafts nor cancelled."""
    revenue = func.sum(SalesOrderItem.total).label("revenue")
    rows = db.session.execute(
        select(Product.id, Product.sku, Product.name, func.sum(SalesOrderItem.quantity),
               revenue)
        .select_from(SalesOrderItem)
        .join(SalesOrder, SalesOrder.id == SalesOrderItem.order_id)
        .join(Product, Product.id == SalesOrderItem.product_id)
        .where(SalesOrderItem.company_id == company_id,
               SalesOrder.status.in_(SOLD_STATUSES))
        .group_by(Product.id, Product.sku, Product.name)
        .order_by(revenue.desc(), Product.id)
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
        catalog=cached(company_id, "catalog", ("catalog", "inventory"),
                       lambda: catalog_figures(company_id)),
        sales=cached(company_id, f"sales:{day}", ("sales",),
                     lambda: sales_figures(company_id, today)),
        recent_orders=cached(company_id, "recent-orders", ("sales",),
                             lambda: recent_orders(company_id)),
        top_products=cached(company_id, "top-products", ("sales", "catalog"),
                            lambda: top_products(company_id)),
        purchasing=cached(company_id, "purchasing", ("purchasing",),
                          lambda: purchasing_figures(company_id)),
        production=cached(company_id, "production", ("production",),
                          lambda: production_figures(company_id)),
        my_tasks=cached(company_id, f"tasks:user={user_id}:{day}", ("tasks",),
                        lambda: my_tasks(company_id, user_id, today)),
    )
