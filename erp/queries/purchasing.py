"""Reads of the purchasing pages: the purchase order lists as declarations."""
from __future__ import annotations

from sqlalchemy.orm import aliased, joinedload

from erp.lists import Csv, ListSpec, by_id, choice_filter, date_filter, text_filter
from erp.models import Supplier, Warehouse
from erp.models.purchasing import PO_STATUSES, PurchaseOrder

ORDER_SORTS = {"date": PurchaseOrder.order_date, "number": PurchaseOrder.number,
               "total": PurchaseOrder.total}


def _orders_csv() -> Csv:
    supplier = aliased(Supplier)
    warehouse = aliased(Warehouse)
    return Csv("purchase-orders", [
        ("number", PurchaseOrder.number), ("order_date", PurchaseOrder.order_date),
        ("supplier", supplier.name), ("expected_date", PurchaseOrder.expected_date),
        ("status", PurchaseOrder.status), ("warehouse", warehouse.code),
        ("subtotal", PurchaseOrder.subtotal), ("tax", PurchaseOrder.tax_total),
        ("total", PurchaseOrder.total), ("id", PurchaseOrder.id),
        ("supplier_id", PurchaseOrder.supplier_id)],
        joins=[(supplier, supplier.id == PurchaseOrder.supplier_id),
               (warehouse, warehouse.id == PurchaseOrder.warehouse_id)])


ORDERS = ListSpec(
    model=PurchaseOrder,
    sorts=ORDER_SORTS,
    default_sort="-date",
    stable_desc=True,
    filters=[choice_filter("status", PurchaseOrder.status, PO_STATUSES),
             by_id("supplier", PurchaseOrder.supplier_id, Supplier, Supplier.name),
             date_filter("date_from", PurchaseOrder.order_date),
             date_filter("date_to", PurchaseOrder.order_date, until=True),
             text_filter("number", PurchaseOrder.number)],
    csv=_orders_csv(),
    options=[joinedload(PurchaseOrder.supplier)],
)

# a supplier's purchase history (the view passes the supplier's orders as the base)
SUPPLIER_ORDERS = ListSpec(
    model=PurchaseOrder,
    sorts=ORDER_SORTS,
    default_sort="-date",
    stable_desc=True,
    filters=[choice_filter("status", PurchaseOrder.status, PO_STATUSES)],
    options=[joinedload(PurchaseOrder.supplier)],
    per_page=10,
)
