"""Reads of the sales pages: the customer and sales order lists as declarations."""
from __future__ import annotations

from sqlalchemy.orm import joinedload

from erp.lists import (Csv, ListSpec, archive_filter, by_id, choice_filter, contains,
                       date_filter, text_filter)
from erp.models.sales import ORDER_STATUSES, Customer, SalesOrder
from erp.queries.catalog import import_format_csv

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
