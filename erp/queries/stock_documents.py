"""Reads of the count sheet and transfer pages: their lists and their record pages."""
from __future__ import annotations

from sqlalchemy.orm import joinedload, raiseload, selectinload

from erp.lists import Csv, attrs, document_list, id_filter
from erp.models import Category, Warehouse
from erp.models.stock_documents import (STOCK_DOC_STATUSES, StockCount, StockCountLine,
                                        StockTransfer, StockTransferLine)
from erp.queries import scoped_get_or_404

COUNTS = document_list(
    StockCount, dated=StockCount.count_date, statuses=STOCK_DOC_STATUSES,
    parties=[id_filter("warehouse", StockCount.warehouse_id)],
    csv=Csv("count-sheets", [
        *attrs(StockCount, "number", "count_date"),
        ("warehouse", Warehouse.code), ("category", Category.name),
        *attrs(StockCount, "status", "posted_at", "id")],
        joins=[(Warehouse, Warehouse.id == StockCount.warehouse_id),
               (Category, Category.id == StockCount.category_id)]),
    options=[joinedload(StockCount.warehouse), joinedload(StockCount.category),
             raiseload("*")],
)

TRANSFERS = document_list(
    StockTransfer, dated=StockTransfer.transfer_date, statuses=STOCK_DOC_STATUSES,
    parties=[id_filter("from", StockTransfer.from_warehouse_id),
             id_filter("to", StockTransfer.to_warehouse_id)],
    csv=Csv("transfers", [
        *attrs(StockTransfer, "number", "transfer_date", "status", "posted_at", "id",
               "from_warehouse_id", "to_warehouse_id")]),
    options=[joinedload(StockTransfer.from_warehouse), joinedload(StockTransfer.to_warehouse),
             raiseload("*")],
)


def count_page(count_id: int) -> StockCount:
    """A count sheet of the company with its warehouse, category, author and lines with
    their products (404 for another company's): a fixed number of queries."""
    return scoped_get_or_404(
        StockCount, count_id, joinedload(StockCount.warehouse), joinedload(StockCount.category),
        joinedload(StockCount.created_by),
        selectinload(StockCount.lines).joinedload(StockCountLine.product))


def transfer_page(transfer_id: int) -> StockTransfer:
    """A transfer of the company with its warehouses, author and lines with products."""
    return scoped_get_or_404(
        StockTransfer, transfer_id, joinedload(StockTransfer.from_warehouse),
        joinedload(StockTransfer.to_warehouse), joinedload(StockTransfer.created_by),
        selectinload(StockTransfer.lines).joinedload(StockTransferLine.product))
