"""Demo returns: a posted sales return of one unit of the first posted delivery note, a
draft one, and a posted purchase return of one unit of the first order that received
goods, made through the services. Idempotent."""
from __future__ import annotations

from sqlalchemy import select

from erp.extensions import db
from erp.models import Company, User
from erp.models.purchasing import PurchaseOrder, PurchaseOrderItem
from erp.models.returns import PurchaseReturn, SalesReturn
from erp.models.sales import DeliveryNote, DeliveryNoteLine
from erp.services import DomainError, returns


def seed(company: Company, admin: User | None) -> str | None:
    cid = company.id
    if db.session.scalar(select(SalesReturn.id).where(SalesReturn.company_id == cid).limit(1)):
        return None
    kw = {"company_id": cid, "user": admin}
    made = []
    line = db.session.execute(
        select(DeliveryNoteLine.id, DeliveryNote.id, DeliveryNote.warehouse_id)
        .join(DeliveryNote, DeliveryNote.id == DeliveryNoteLine.delivery_id)
        .where(DeliveryNote.company_id == cid, DeliveryNote.status == "posted")
        .order_by(DeliveryNoteLine.id).limit(1)).first()
    if line is not None:
        for reason, post in (("Damaged in transit", True), ("Customer ordered too many", False)):
            made.append(returns.create_sales_return(
                delivery_id=line[1], quantities={line[0]: "0.5"}, warehouse_id=line[2],
                reason=reason, post=post, **kw).number)
    item = db.session.execute(
        select(PurchaseOrderItem.id, PurchaseOrder.id, PurchaseOrder.warehouse_id)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderItem.order_id)
        .where(PurchaseOrder.company_id == cid, PurchaseOrderItem.received_quantity >= 1)
        .order_by(PurchaseOrderItem.id).limit(1)).first()
    if item is not None and not db.session.scalar(
            select(PurchaseReturn.id).where(PurchaseReturn.company_id == cid).limit(1)):
        try:
            made.append(returns.create_purchase_return(
                order_id=item[1], quantities={item[0]: "1"}, warehouse_id=item[2],
                reason="Wrong size delivered", post=True, **kw).number)
        except DomainError:  # its stock is promised to orders: no purchase return then
            pass
    return ", ".join(made) or None
