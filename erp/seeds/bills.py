"""Demo supplier bills and supplier payments in every state (the first supplier on net 60
payment terms of its own, the others on the company's default): drafts of what received
purchase orders delivered, a direct draft, a cancelled draft, posted bills dated weeks back
(so that some are overdue and the payables aging has every column), one paid, one partly
paid, one open; a supplier payment with a credit left, and a reversed one."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from erp.extensions import db
from erp.models import Company, Product, Supplier, User
from erp.models.bills import Bill
from erp.models.core import company_today
from erp.models.purchasing import PurchaseOrder
from erp.models.money import PaymentTerms
from erp.seeds.invoices import drafts_of_orders
from erp.services import atomic, bills

CENT = Decimal("0.01")


def seed(company: Company, admin: User) -> str | None:
    if db.session.scalar(select(Bill.id).where(Bill.company_id == company.id).limit(1)):
        return None
    suppliers = list(db.session.scalars(select(Supplier).where(
        Supplier.company_id == company.id, Supplier.active.is_(True)).order_by(Supplier.id)
        .limit(3)))
    products = list(db.session.scalars(select(Product).where(
        Product.company_id == company.id, Product.active.is_(True),
        Product.kind == "raw_material").order_by(Product.id).limit(2)))
    if not suppliers or not products:
        return None
    kw = {"company_id": company.id, "user": admin}
    net60 = db.session.scalar(select(PaymentTerms.id).where(
        PaymentTerms.company_id == company.id, PaymentTerms.kind == "net",
        PaymentTerms.days == 60).limit(1))
    if net60 is not None:
        with atomic():
            suppliers[0].payment_terms_id = net60
    today = company_today(company.id)
    made, posted = 0, []
    for n, (days_ago, state) in enumerate([(120, "post"), (70, "post"), (45, "post"),
                                           (20, "post"), (2, "post"), (0, "draft"),
                                           (0, "cancel")]):
        bill = bills.create_bill(supplier_id=suppliers[n % len(suppliers)].id,
                                 supplier_reference=f"SUP-{4100 + n}",
                                 notes="Raw material delivery", **kw)
        for product in products:
            bills.add_line(bill_id=bill.id, product_id=product.id, quantity=str(5 * (n + 1)),
                           **kw)
        if state == "post":
            posted.append(bills.post_bill(bill_id=bill.id, on=today - timedelta(days=days_ago),
                                          **kw))
        elif state == "cancel":
            bills.cancel_bill(bill_id=bill.id, **kw)
        made += 1
    # paid in full, partly paid with a credit left over, and a reversed payment
    paid, partly, reversed_ = posted[0], posted[1], posted[2]
    bills.record_supplier_payment(supplier_id=paid.supplier_id, amount=str(paid.total),
                                  payment_date=today - timedelta(days=90),
                                  reference="EFT 5001", allocations={paid.id: str(paid.total)},
                                  **kw)
    half = (partly.total / 2).quantize(CENT)
    bills.record_supplier_payment(supplier_id=partly.supplier_id, amount=str(half + 50),
                                  method="cheque", reference="CHQ 310",
                                  allocations={partly.id: str(half)}, **kw)
    wrong = bills.record_supplier_payment(supplier_id=reversed_.supplier_id,
                                          amount=str(reversed_.total), reference="EFT 5002",
                                          allocations={reversed_.id: str(reversed_.total)},
                                          **kw)
    bills.reverse_supplier_payment(payment_id=wrong.id, **kw)
    # drafts of what received purchase orders delivered, waiting for a manager
    made += drafts_of_orders(PurchaseOrder, ("partially_received", "received"),
                             bills.create_bill_from_order, **kw)
    return (f"{made} supplier bills (drafts, cancelled, open, overdue, partly paid, paid) and "
            "supplier payments (one with a credit left, one reversed)")
