"""Reads of the sales pages: the customer and sales order lists as declarations."""
from __future__ import annotations

from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from erp.extensions import db
from erp.lists import Csv, ListSpec, archive_filter, attrs, contains, document_list, party_filter
from erp.models.sales import (DELIVERY_STATUSES, OPEN_STATUSES, ORDER_STATUSES, Customer,
                              DeliveryNote, DeliveryNoteLine, SalesOrder, SalesOrderItem)
from erp.queries import company_select, paginate, scoped_get_or_404
from erp.queries.catalog import import_format_csv
from erp.web import ListParams, is_htmx

CUSTOMERS = ListSpec(
    model=Customer,
    sorts={"name": Customer.name, "created": Customer.created_at,
           "credit_limit": Customer.credit_limit},
    default_sort="name",
    collated=("name",),
    search=contains(Customer.name, Customer.email, Customer.tax_number),
    filters=[archive_filter(Customer)],
    csv=import_format_csv("customers"),
)

# no join in the filtering statement: its ids come from the sales_orders indexes alone
# (deep pages, the capped count); the page's customers are loaded with its rows
ORDERS = document_list(
    SalesOrder, dated=SalesOrder.order_date, statuses=ORDER_STATUSES,
    sorts={"total": SalesOrder.total},
    parties=[party_filter(SalesOrder, "customer_id", Customer)],
    csv=Csv(response=lambda stmt: Csv("sales-orders", [
        *attrs(SalesOrder, "number", "order_date"),
        ("customer", Customer.name), *attrs(SalesOrder, "requested_date", "status", "subtotal"),
        ("discount", SalesOrder.discount_total), ("tax", SalesOrder.tax_total),
        *attrs(SalesOrder, "total", "invoice_number", "id", "customer_id")],
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
        return {"history": history, "params": params, "open_orders": [], "totals": None,
                "receivables": None}
    open_orders = list(db.session.scalars(
        base.where(SalesOrder.status.in_(OPEN_STATUSES))
        .order_by(SalesOrder.order_date.desc(), SalesOrder.id.desc()).limit(20)))
    from erp.models.core import company_today
    from erp.queries.invoices import customer_receivables

    return {"history": history, "params": params, "open_orders": open_orders,
            "totals": customer_totals(current_user.company_id, customer.id),
            "receivables": customer_receivables(current_user.company_id, customer.id),
            "today": company_today(current_user.company_id)}


# the filters read delivery_notes alone (its customer is kept on the note); the page's
# customers and orders are loaded with its rows
DELIVERIES = document_list(
    DeliveryNote, dated=DeliveryNote.delivery_date, statuses=DELIVERY_STATUSES,
    parties=[party_filter(DeliveryNote, "customer_id", Customer)],
    csv=Csv(response=lambda stmt: Csv("delivery-notes", [
        *attrs(DeliveryNote, "number", "delivery_date"),
        ("order", SalesOrder.number), ("customer", Customer.name),
        *attrs(DeliveryNote, "status", "posted_at", "id", "order_id", "customer_id")],
    ).export(stmt.join(DeliveryNote.customer).join(DeliveryNote.order))),
    options=[joinedload(DeliveryNote.customer), joinedload(DeliveryNote.order),
             joinedload(DeliveryNote.warehouse)],
)

ORDER_DELIVERIES_SHOWN = 50


def order_deliveries(order: SalesOrder) -> list[DeliveryNote]:
    """The order's latest delivery notes, for its page (none for a draft: one query saved)."""
    if order.is_draft:
        return []
    return list(db.session.scalars(
        select(DeliveryNote).where(DeliveryNote.company_id == order.company_id,
                                   DeliveryNote.order_id == order.id)
        .order_by(DeliveryNote.id.desc()).limit(ORDER_DELIVERIES_SHOWN)))


def delivery_page(delivery_id: int) -> DeliveryNote:
    """A delivery note of the company with what its page shows: customer, warehouse,
    order, and its lines with their order lines and products (404 for another company's)."""
    return scoped_get_or_404(
        DeliveryNote, delivery_id, joinedload(DeliveryNote.customer),
        joinedload(DeliveryNote.warehouse), joinedload(DeliveryNote.order),
        selectinload(DeliveryNote.lines).joinedload(DeliveryNoteLine.order_item)
        .joinedload(SalesOrderItem.product))
