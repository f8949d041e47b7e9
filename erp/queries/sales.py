"""Reads of the sales pages: the customer and sales order lists as declarations."""
from __future__ import annotations

from flask_login import current_user
from sqlalchemy.orm import joinedload

from erp.extensions import db
from erp.lists import (Csv, ListSpec, archive_filter, by_id, choice_filter, contains,
                       date_filter, text_filter)
from erp.models.sales import OPEN_STATUSES, ORDER_STATUSES, Customer, SalesOrder
from erp.queries import company_select, paginate
from erp.queries.catalog import import_format_csv
from erp.web import ListParams, is_htmx

CUSTOMERS = ListSpec(
    model=Customer,
    sorts={"name": Customer.name, "created": Customer.created_at,
           "credit_limit": Customer.credit_limit},
    default_sort="name",
    search=contains(Customer.name, Customer.email, Customer.tax_number),
    filters=[archive_filter(Customer)],
    csv=import_format_csv("customers"),
)

# no join in the filtering statement: its ids come from the sales_orders indexes alone
# (deep pages, the capped count); the page's customers are loaded with its rows
ORDERS = ListSpec(
    model=SalesOrder,
    sorts={"date": SalesOrder.order_date, "number": SalesOrder.number,
           "total": SalesOrder.total},
    default_sort="-date",
    stable_desc=True,
    filters=[choice_filter("status", SalesOrder.status, ORDER_STATUSES),
             by_id("customer", SalesOrder.customer_id, Customer, Customer.name),
             text_filter("number", SalesOrder.number),
             date_filter("date_from", SalesOrder.order_date),
             date_filter("date_to", SalesOrder.order_date, until=True)],
    csv=Csv(response=lambda stmt: Csv("sales-orders", [
        ("number", SalesOrder.number), ("order_date", SalesOrder.order_date),
        ("customer", Customer.name), ("requested_date", SalesOrder.requested_date),
        ("status", SalesOrder.status), ("subtotal", SalesOrder.subtotal),
        ("discount", SalesOrder.discount_total), ("tax", SalesOrder.tax_total),
        ("total", SalesOrder.total), ("invoice_number", SalesOrder.invoice_number),
        ("id", SalesOrder.id), ("customer_id", SalesOrder.customer_id)],
    ).export(stmt.join(SalesOrder.customer))),
    options=[joinedload(SalesOrder.customer)],
)


def customer_page(customer: Customer) -> dict:
    """A customer's order history (a sortable page, all an htmx request gets), open orders
    and totals."""
    from erp.services.sales import customer_totals

    params = ListParams.from_request(sort_keys=list(ORDERS.sorts), default_sort="-date")
    column = ORDERS.sorts[params.sort_key]
    base = company_select(SalesOrder).where(SalesOrder.customer_id == customer.id)
    history = paginate(base.order_by(column.desc() if params.descending else column.asc(),
                                     SalesOrder.id.desc()),
                       page=params.page, per_page=params.per_page)
    if is_htmx():
        return {"history": history, "params": params, "open_orders": [], "totals": None}
    open_orders = list(db.session.scalars(
        base.where(SalesOrder.status.in_(OPEN_STATUSES))
        .order_by(SalesOrder.order_date.desc(), SalesOrder.id.desc()).limit(20)))
    return {"history": history, "params": params, "open_orders": open_orders,
            "totals": customer_totals(current_user.company_id, customer.id)}
