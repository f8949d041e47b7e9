"""Reads of the return pages: the sales and purchase return lists as declarations, a
return's record page, and the returns of a delivery note or purchase order for its page.

The two kinds share their templates (erp/templates/returns/); `SALES` and `PURCHASE` say
what differs: labels, endpoints and the document returned against."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from erp.extensions import db
from erp.lists import Csv, attrs, document_list, party_filter
from erp.models import Supplier, Warehouse
from erp.models.invoices import OPEN_INVOICE_STATUSES, Invoice, InvoiceLine
from erp.models.bills import BillLine
from erp.models.purchasing import PurchaseOrder, PurchaseOrderItem
from erp.models.returns import (RETURN_STATUSES, PurchaseReturn, PurchaseReturnLine,
                                SalesReturn, SalesReturnLine)
from erp.models.sales import Customer, DeliveryNote, DeliveryNoteLine, SalesOrderItem
from erp.queries import scoped_get_or_404


@dataclass(frozen=True)
class ReturnKind:
    endpoint: str          # "sales.return": <endpoint>_list, _detail, _print, _pdf
    title: str             # the list's heading
    noun: str              # one return
    party: str             # who the goods come from / go to
    party_endpoint: str    # the party's page, with `party_arg`
    party_arg: str
    source: str            # the document returned against
    source_endpoint: str   # its page, with `source_arg`
    source_arg: str
    moved: str             # what the source line moved ("Delivered", "Received")
    warehouse: str         # "Back into", "Out of"
    nav: str
    number_hint: str


SALES = ReturnKind(
    endpoint="sales.return", title="Sales returns", noun="Sales return", party="Customer",
    party_endpoint="sales.customer_detail", party_arg="customer_id", source="Delivery note",
    source_endpoint="sales.delivery_detail", source_arg="delivery_id", moved="Delivered",
    warehouse="Back into", nav="sales/_nav.html", number_hint="RET-…")
PURCHASE = ReturnKind(
    endpoint="purchasing.return", title="Purchase returns", noun="Purchase return",
    party="Supplier", party_endpoint="catalog.supplier_detail", party_arg="supplier_id",
    source="Purchase order", source_endpoint="purchasing.order_detail", source_arg="order_id",
    moved="Received", warehouse="Out of", nav="purchasing/_nav.html", number_hint="PRT-…")


def _csv(name: str, model, party_model, party_column, source_model, source_column) -> Csv:
    return Csv(name, [
        *attrs(model, "number", "return_date"),
        ("against", source_model.number), ("party", party_model.name),
        ("warehouse", Warehouse.code), *attrs(model, "status", "reason", "posted_at", "id")],
        joins=[(source_model, source_model.id == source_column),
               (party_model, party_model.id == party_column),
               (Warehouse, Warehouse.id == model.warehouse_id)])


# newest first (ix_<table>_company_date_id); the party, warehouse and document returned
# against are loaded with the page's rows
SALES_RETURNS = document_list(
    SalesReturn, dated=SalesReturn.return_date, statuses=RETURN_STATUSES,
    parties=[party_filter(SalesReturn, "customer_id", Customer)],
    csv=_csv("sales-returns", SalesReturn, Customer, SalesReturn.customer_id, DeliveryNote,
             SalesReturn.delivery_id),
    options=[joinedload(SalesReturn.customer), joinedload(SalesReturn.delivery),
             joinedload(SalesReturn.warehouse)],
)

PURCHASE_RETURNS = document_list(
    PurchaseReturn, dated=PurchaseReturn.return_date, statuses=RETURN_STATUSES,
    parties=[party_filter(PurchaseReturn, "supplier_id", Supplier)],
    csv=_csv("purchase-returns", PurchaseReturn, Supplier, PurchaseReturn.supplier_id,
             PurchaseOrder, PurchaseReturn.order_id),
    options=[joinedload(PurchaseReturn.supplier), joinedload(PurchaseReturn.order),
             joinedload(PurchaseReturn.warehouse)],
)


def sales_return_page(return_id: int) -> SalesReturn:
    """A sales return of the company with its lines, their delivery lines and products
    (404 for another company's)."""
    return scoped_get_or_404(
        SalesReturn, return_id, joinedload(SalesReturn.customer),
        joinedload(SalesReturn.warehouse), joinedload(SalesReturn.delivery),
        selectinload(SalesReturn.lines).joinedload(SalesReturnLine.delivery_line)
        .joinedload(DeliveryNoteLine.order_item).joinedload(SalesOrderItem.product))


def purchase_return_page(return_id: int) -> PurchaseReturn:
    """A purchase return of the company with its lines, their order lines and products,
    and the bills its lines debited."""
    return scoped_get_or_404(
        PurchaseReturn, return_id, joinedload(PurchaseReturn.supplier),
        joinedload(PurchaseReturn.warehouse), joinedload(PurchaseReturn.order),
        selectinload(PurchaseReturn.lines).joinedload(PurchaseReturnLine.order_item)
        .joinedload(PurchaseOrderItem.product),
        selectinload(PurchaseReturn.lines).joinedload(PurchaseReturnLine.bill_line)
        .joinedload(BillLine.bill))


RETURNS_SHOWN = 50


def invoices_to_credit(sales_return: SalesReturn) -> list[Invoice]:
    """The open invoices that billed the goods a posted sales return took back: its page
    offers a credit note of each. One query, at most RETURNS_SHOWN."""
    if sales_return.status != "posted":
        return []
    items = [line.delivery_line.order_item_id for line in sales_return.lines]
    return list(db.session.scalars(
        select(Invoice).where(
            Invoice.company_id == sales_return.company_id,
            Invoice.status.in_(OPEN_INVOICE_STATUSES),
            Invoice.id.in_(select(InvoiceLine.invoice_id).where(
                InvoiceLine.company_id == sales_return.company_id,
                InvoiceLine.order_item_id.in_(items))))
        .order_by(Invoice.id).limit(RETURNS_SHOWN)))


def returns_of(model, column, document_id: int, company_id: int) -> list:
    """The latest returns against one document (a delivery note, a purchase order), for
    its page: one query, at most RETURNS_SHOWN."""
    return list(db.session.scalars(
        select(model).where(model.company_id == company_id, column == document_id)
        .order_by(model.id.desc()).limit(RETURNS_SHOWN)))


def delivery_for_return(delivery_id: int) -> DeliveryNote:
    """A delivery note with its lines and products, for the return form."""
    return scoped_get_or_404(
        DeliveryNote, delivery_id, joinedload(DeliveryNote.customer),
        selectinload(DeliveryNote.lines).joinedload(DeliveryNoteLine.order_item)
        .joinedload(SalesOrderItem.product))


def order_for_return(order_id: int) -> PurchaseOrder:
    """A purchase order with its lines and products, for the return form."""
    return scoped_get_or_404(
        PurchaseOrder, order_id, joinedload(PurchaseOrder.supplier),
        joinedload(PurchaseOrder.warehouse),
        selectinload(PurchaseOrder.items).joinedload(PurchaseOrderItem.product))
