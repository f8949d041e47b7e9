"""Reads of the lot pages: the lot and serial number list, and a lot's trace.

A lot's page reads its movements (the ledger names the lot and the document line that
moved it), then the documents behind them with one query per kind of document line
(receipt + supplier, delivery + customer, production order, returns), then one level
further through production: the lots an order that made this lot consumed (upstream) and
the lots made by the orders that consumed it (downstream). One query per level, whatever
the number of movements; each linked lot has its own page for the next level.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, exists, null, select
from sqlalchemy.orm import joinedload, raiseload, selectinload

from erp.extensions import db
from erp.lists import Filter, ListSpec, choice_filter, contains, date_filter, product_filter
from erp.models import Product, StockMovement, Supplier
from erp.models.catalog import TRACKING
from erp.models.inventory import Lot, LotLevel
from erp.models.production import ProductionOrder, ProductionOrderComponent
from erp.models.purchasing import GoodsReceipt, GoodsReceiptLine, PurchaseOrder
from erp.models.returns import PurchaseReturn, PurchaseReturnLine, SalesReturn, SalesReturnLine
from erp.models.sales import Customer, DeliveryNote, DeliveryNoteLine

MOVEMENTS_SHOWN = 200  # a lot's movements on its page (a serial number has a handful)


def _base() -> Select:
    return (select(Lot).join(Product, Product.id == Lot.product_id)
            .where(Lot.company_id == current_user.company_id))


def _in_stock(stmt: Select, value: str) -> Select:
    held = exists().where(LotLevel.lot_id == Lot.id, LotLevel.on_hand > 0)
    if value == "1":
        return stmt.where(held)
    if value == "0":
        return stmt.where(~held)
    return stmt


LOTS = ListSpec(
    model=Lot,
    sorts={"code": Lot.code, "expiry": Lot.expiry, "sku": Product.sku,
           "created": Lot.created_at},
    default_sort="expiry",
    nulls_last=True,
    base=_base,
    search=contains(Lot.code),
    filters=[product_filter("product", Lot.product_id),
             choice_filter("tracking", Product.tracking, [k for k in TRACKING if k != "none"]),
             date_filter("expires_from", Lot.expiry),
             date_filter("expires_to", Lot.expiry, until=True),
             Filter("stock", _in_stock)],
    options=[joinedload(Lot.product),
             selectinload(Lot.levels).joinedload(LotLevel.warehouse), raiseload("*")],
)


@dataclass
class Step:
    """One movement of the lot and the document behind it."""

    movement: StockMovement
    document: str = ""
    endpoint: str = ""
    args: dict = field(default_factory=dict)
    party: str = ""
    party_endpoint: str = ""
    party_args: dict = field(default_factory=dict)
    order_id: int | None = None          # the production order, for the lots beside it
    lots: list[tuple[Lot, Decimal]] = field(default_factory=list)


def lot_page(lot_id: int) -> dict:
    """The lot, its stock per warehouse, and its trace: `came` (movements in) and `went`
    (movements out), each with its document and party, production steps with the lots
    consumed (in) or made (out). A constant number of queries."""
    company_id = current_user.company_id
    lot = db.session.scalar(
        select(Lot).where(Lot.id == lot_id, Lot.company_id == company_id)
        .options(joinedload(Lot.product), selectinload(Lot.levels).joinedload(LotLevel.warehouse),
                 raiseload("*")))
    if lot is None:
        abort(404)
    movements = list(db.session.scalars(
        select(StockMovement).where(StockMovement.company_id == company_id,
                                    StockMovement.lot_id == lot.id)
        .options(joinedload(StockMovement.warehouse), joinedload(StockMovement.user),
                 raiseload("*"))
        .order_by(StockMovement.created_at, StockMovement.id).limit(MOVEMENTS_SHOWN + 1)))
    more = len(movements) > MOVEMENTS_SHOWN
    steps = [Step(movement) for movement in movements[:MOVEMENTS_SHOWN]]
    _documents(company_id, steps)
    _production_lots(company_id, steps)
    return {"lot": lot, "came": [s for s in steps if s.movement.quantity > 0],
            "went": [s for s in steps if s.movement.quantity < 0], "more": more,
            "on_hand": sum((level.on_hand for level in lot.levels), Decimal(0))}


def _by_type(steps: list[Step]) -> dict[str, dict[int, list[Step]]]:
    found: dict[str, dict[int, list[Step]]] = defaultdict(lambda: defaultdict(list))
    for step in steps:
        movement = step.movement
        if movement.source_type and movement.source_id is not None:
            found[movement.source_type][movement.source_id].append(step)
    return found


def _line_documents(line, document, line_key, party, party_key, via=None):
    """(source ids) -> the select of (line id, document id, number, party id, party name)
    of a document's lines; `via` (model, on): a join between the document and its party."""
    def query(ids):
        stmt = (select(line.id, document.id, document.number, party.id, party.name)
                .join(document, document.id == line_key))
        if via is not None:
            stmt = stmt.join(*via)
        return stmt.join(party, party.id == party_key).where(line.id.in_(ids))

    return query


# (source type) -> the select of (source id, document id, number, party id, party name,
# production order id) for those ids; the endpoints of the document and of the party
SOURCES = {
    "goods_receipt_line": (
        _line_documents(GoodsReceiptLine, GoodsReceipt, GoodsReceiptLine.receipt_id, Supplier,
                        PurchaseOrder.supplier_id,
                        via=(PurchaseOrder, PurchaseOrder.id == GoodsReceipt.order_id)),
        ("purchasing.receipt_detail", "receipt_id"), ("catalog.supplier_detail", "supplier_id")),
    "delivery_note_line": (
        _line_documents(DeliveryNoteLine, DeliveryNote, DeliveryNoteLine.delivery_id, Customer,
                        DeliveryNote.customer_id),
        ("sales.delivery_detail", "delivery_id"), ("sales.customer_detail", "customer_id")),
    "sales_return_line": (
        _line_documents(SalesReturnLine, SalesReturn, SalesReturnLine.return_id, Customer,
                        SalesReturn.customer_id),
        ("sales.return_detail", "return_id"), ("sales.customer_detail", "customer_id")),
    "purchase_return_line": (
        _line_documents(PurchaseReturnLine, PurchaseReturn, PurchaseReturnLine.return_id,
                        Supplier, PurchaseReturn.supplier_id),
        ("purchasing.return_detail", "return_id"), ("catalog.supplier_detail", "supplier_id")),
    "production_order_component": (
        lambda ids: select(ProductionOrderComponent.id, ProductionOrder.id,
                           ProductionOrder.number, null(), null())
        .join(ProductionOrder,
              ProductionOrder.id == ProductionOrderComponent.production_order_id)
        .where(ProductionOrderComponent.id.in_(ids)),
        ("production.order_detail", "order_id"), None),
    "production_order": (
        lambda ids: select(ProductionOrder.id, ProductionOrder.id, ProductionOrder.number,
                           null(), null()).where(ProductionOrder.id.in_(ids)),
        ("production.order_detail", "order_id"), None),
}


def _documents(company_id: int, steps: list[Step]) -> None:
    """Name each step's document and party: one query per kind of source."""
    for source_type, by_id in _by_type(steps).items():
        if source_type not in SOURCES:
            continue  # a manual movement or a transfer: its reference says enough
        query, (endpoint, arg), party = SOURCES[source_type]
        for source_id, document_id, number, party_id, party_name in db.session.execute(
                query(list(by_id))):
            for step in by_id.get(source_id, []):
                step.document, step.endpoint, step.args = number, endpoint, {arg: document_id}
                if source_type.startswith("production_order"):
                    step.order_id = document_id
                if party is not None:
                    step.party, step.party_endpoint = party_name, party[0]
                    step.party_args = {party[1]: party_id}


def _production_lots(company_id: int, steps: list[Step]) -> None:
    """The other side of the production steps: the lots consumed by the orders that made
    this lot, and the lots made by the orders that consumed it. One query."""
    orders = {step.order_id for step in steps if step.order_id is not None}
    if not orders:
        return
    component_ids = select(ProductionOrderComponent.id).where(
        ProductionOrderComponent.production_order_id.in_(orders))
    rows = db.session.execute(
        select(StockMovement.kind, StockMovement.source_id, ProductionOrderComponent
               .production_order_id, Lot, StockMovement.quantity)
        .join(Lot, Lot.id == StockMovement.lot_id)
        .outerjoin(ProductionOrderComponent,
                   (StockMovement.source_type == "production_order_component")
                   & (ProductionOrderComponent.id == StockMovement.source_id))
        .where(StockMovement.company_id == company_id,
               ((StockMovement.source_type == "production_order")
                & StockMovement.source_id.in_(orders))
               | ((StockMovement.source_type == "production_order_component")
                  & StockMovement.source_id.in_(component_ids)))
        .options(joinedload(Lot.product), raiseload("*"))
        .order_by(StockMovement.id))
    consumed, made = defaultdict(list), defaultdict(list)
    for kind, source_id, component_order_id, lot, quantity in rows:
        if kind == "production_output":
            made[source_id].append((lot, quantity))
        else:
            consumed[component_order_id].append((lot, -quantity))
    for step in steps:
        if step.order_id is None:
            continue
        if step.movement.kind == "production_output":
            step.lots = consumed.get(step.order_id, [])
        else:
            step.lots = made.get(step.order_id, [])
