"""Reads of the purchasing pages: the purchase order lists as declarations."""
from __future__ import annotations

from sqlalchemy.orm import aliased, joinedload, selectinload

from erp.lists import (Csv, ListSpec, attrs, choice_filter, date_range, document_list, id_filter,
                       party_filter, text_filter)
from erp.models import Supplier, Warehouse
from erp.models.purchasing import (PO_STATUSES, GoodsReceipt, GoodsReceiptLine, PurchaseOrder,
                                   PurchaseOrderItem)
from erp.queries import scoped_get_or_404

ORDER_SORTS = {"date": PurchaseOrder.order_date, "number": PurchaseOrder.number,
               "total": PurchaseOrder.total}


def _orders_csv() -> Csv:
    supplier = aliased(Supplier)
    warehouse = aliased(Warehouse)
    return Csv("purchase-orders", [
        *attrs(PurchaseOrder, "number", "order_date"),
        ("supplier", supplier.name), *attrs(PurchaseOrder, "expected_date", "status"),
        ("warehouse", warehouse.code),
        ("subtotal", PurchaseOrder.subtotal), ("tax", PurchaseOrder.tax_total),
        *attrs(PurchaseOrder, "total", "id", "supplier_id")],
        joins=[(supplier, supplier.id == PurchaseOrder.supplier_id),
               (warehouse, warehouse.id == PurchaseOrder.warehouse_id)])


ORDERS = document_list(
    PurchaseOrder, dated=PurchaseOrder.order_date, statuses=PO_STATUSES, sorts=ORDER_SORTS,
    parties=[party_filter(PurchaseOrder, "supplier_id", Supplier)],
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


# goods receipts, newest first (ix_goods_receipts_company_received); a receipt's order and
# supplier, warehouse, user and lines are loaded with the page's rows
RECEIPTS = ListSpec(
    model=GoodsReceipt,
    sorts={"received": GoodsReceipt.received_at, "number": GoodsReceipt.number},
    default_sort="-received",
    stable_desc=True,
    filters=[text_filter("number", GoodsReceipt.number),
             id_filter("warehouse", GoodsReceipt.warehouse_id),
             *date_range(GoodsReceipt.received_at, day=True)],
    csv=Csv("goods-receipts", [
        *attrs(GoodsReceipt, "number", "received_at"),
        ("order", PurchaseOrder.number), ("warehouse", Warehouse.code),
        *attrs(GoodsReceipt, "reference", "id", "order_id")],
        joins=[(PurchaseOrder, PurchaseOrder.id == GoodsReceipt.order_id),
               (Warehouse, Warehouse.id == GoodsReceipt.warehouse_id)]),
    options=[joinedload(GoodsReceipt.order).joinedload(PurchaseOrder.supplier),
             joinedload(GoodsReceipt.warehouse), joinedload(GoodsReceipt.user),
             selectinload(GoodsReceipt.lines)],
)


def receipt_page(receipt_id: int) -> GoodsReceipt:
    """A goods receipt of the company with what its page shows (404 for another company's)."""
    return scoped_get_or_404(
        GoodsReceipt, receipt_id,
        joinedload(GoodsReceipt.order).joinedload(PurchaseOrder.supplier),
        joinedload(GoodsReceipt.warehouse), joinedload(GoodsReceipt.user),
        selectinload(GoodsReceipt.lines).joinedload(GoodsReceiptLine.order_item)
        .joinedload(PurchaseOrderItem.product))
