"""Reads of the payables pages: supplier bills and supplier payments (their lists, on the
invoices' list shapes, and records), what we owe a supplier, and the aging of what is
open (one grouped query for any side: `aging`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload, selectinload

from erp.extensions import db
from erp.lists import Csv, attrs
from erp.models.bills import (BILL_STATUSES, Bill, BillLine, SupplierPayment,
                              SupplierPaymentAllocation)
from erp.models.catalog import Supplier
from erp.models.purchasing import PurchaseOrder
from erp.queries import scoped_get_or_404
from erp.queries.invoices import (DUE_SOON_DAYS, SHOWN, Receivables, billed_list,
                                  open_position, payments_list)

BILLS = billed_list(
    Bill, number=Bill.bill_number, dated=Bill.bill_date, party=Supplier,
    party_key="supplier_id", statuses=BILL_STATUSES,
    csv=lambda stmt: Csv("bills", [
        ("number", Bill.bill_number), *attrs(Bill, "supplier_reference", "bill_date",
                                             "due_date"),
        ("supplier", Supplier.name), *attrs(Bill, "status", "total"),
        ("paid", Bill.paid_total), *attrs(Bill, "id", "supplier_id", "order_id")],
    ).export(stmt.join(Bill.supplier)))

SUPPLIER_PAYMENTS = payments_list(SupplierPayment, party=Supplier, party_key="supplier_id",
                                  name="supplier-payments")


def bill_page(bill_id: int) -> Bill:
    """A bill of the company with its supplier, order and lines with their products."""
    return scoped_get_or_404(
        Bill, bill_id, joinedload(Bill.supplier), joinedload(Bill.order),
        selectinload(Bill.items).joinedload(BillLine.product),
        selectinload(Bill.items).joinedload(BillLine.order_item))


def supplier_payment_page(payment_id: int) -> SupplierPayment:
    return scoped_get_or_404(SupplierPayment, payment_id, joinedload(SupplierPayment.supplier),
                             selectinload(SupplierPayment.allocations)
                             .joinedload(SupplierPaymentAllocation.bill))


def bill_allocations(bill: Bill) -> list[SupplierPaymentAllocation]:
    """The supplier payments allocated to a posted bill (the latest)."""
    if bill.status in ("draft", "cancelled"):
        return []
    return list(db.session.scalars(
        select(SupplierPaymentAllocation)
        .where(SupplierPaymentAllocation.company_id == bill.company_id,
               SupplierPaymentAllocation.bill_id == bill.id)
        .options(joinedload(SupplierPaymentAllocation.payment))
        .order_by(SupplierPaymentAllocation.id.desc()).limit(SHOWN)))


def order_bills(order: PurchaseOrder) -> list[Bill]:
    """The purchase order's latest bills, for its page (none before it received: no query)."""
    if order.status in ("draft", "ordered", "cancelled"):
        return []
    return list(db.session.scalars(
        select(Bill).where(Bill.company_id == order.company_id, Bill.order_id == order.id)
        .order_by(Bill.id.desc()).limit(SHOWN)))


def supplier_payables(company_id: int, supplier_id: int) -> Receivables:
    """What we owe the supplier: its open bills, overdue, our credit with it."""
    from erp.services.bills import SUPPLIERS

    return open_position(SUPPLIERS, company_id, supplier_id)


# --- aging --------------------------------------------------------------------------------

BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "over_90")


@dataclass
class AgingRow:
    party_id: int | None
    name: str
    amounts: dict[str, Decimal] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return sum(self.amounts.values(), Decimal("0.00"))


@dataclass
class Aging:
    as_of: date
    rows: list[AgingRow]
    totals: AgingRow
    has_next: bool


def aging(ledger, company_id: int, *, as_of: date, party_id: int | None = None,
          page: int = 1, per_page: int | None = 50) -> Aging:
    """What each party's open documents still ask for as of `as_of`, by days past due:
    current (not due yet), 1-30, 31-60, 61-90, over 90; one grouped query for a page of
    parties (by name; `per_page` None: all of them) and one for the totals. The buckets
    are date ranges (no date arithmetic in SQL, the same on SQLite and PostgreSQL)."""
    model, party = ledger.document, ledger.party
    party_column = getattr(model, ledger.party_key)
    owed = model.owed()
    edges = [as_of - timedelta(days=days) for days in (0, 30, 60, 90)]
    conditions = [model.due_date >= edges[0],
                  (model.due_date < edges[0]) & (model.due_date >= edges[1]),
                  (model.due_date < edges[1]) & (model.due_date >= edges[2]),
                  (model.due_date < edges[2]) & (model.due_date >= edges[3]),
                  model.due_date < edges[3]]
    sums = [func.coalesce(func.sum(case((condition, owed), else_=0)), 0).label(name)
            for condition, name in zip(conditions, BUCKETS)]
    where = [model.company_id == company_id, model.status.in_(model.OPEN_STATUSES)]
    if party_id is not None:
        where.append(party_column == party_id)
    grouped = (select(party.id, party.name, *sums).join(party, party.id == party_column)
               .where(*where).group_by(party.id, party.name).order_by(party.name, party.id))
    if per_page is not None:
        grouped = grouped.limit(per_page + 1).offset((page - 1) * per_page)
    found = db.session.execute(grouped).all()
    has_next = per_page is not None and len(found) > per_page
    rows = [_row(values[0], values[1], values[2:]) for values in found[:per_page]]
    totals = db.session.execute(select(*sums).where(*where)).one()
    return Aging(as_of, rows, _row(None, "", totals), has_next)


def payables_aging(company_id: int, *, as_of: date, party_id: int | None, page: int,
                   per_page: int) -> Aging:
    """A page of the payables aging (`aging` of the suppliers' bills), kept in the company's
    cache until a bill, supplier payment or supplier is written (#17: its grouped query
    reads every open bill)."""
    from erp.cache_versions import cached
    from erp.services.bills import SUPPLIERS

    name = f"payables-aging:{as_of.isoformat()}:{party_id}:{page}:{per_page}"
    return cached(company_id, name, ("payables", "suppliers"),
                  lambda: aging(SUPPLIERS, company_id, as_of=as_of, party_id=party_id,
                                page=page, per_page=per_page))


def _row(party_id, name, values) -> AgingRow:
    cents = Decimal("0.01")
    return AgingRow(party_id, name, {bucket: Decimal(str(value)).quantize(cents)
                                     for bucket, value in zip(BUCKETS, values)})


# --- the dashboard's payables -------------------------------------------------------------

def payables_figures(company_id: int, today: date) -> dict:
    """What open bills still ask for that falls due from `today` through the next six days
    (and how many bills), and apart from it what is overdue already: one aggregate query
    over the open bills due up to the week's end (the (company, status, due date) index)."""
    owed = Bill.owed()
    overdue = Bill.due_date < today
    week, week_count, late, late_count = db.session.execute(
        select(func.coalesce(func.sum(case((overdue, 0), else_=owed)), 0),
               func.coalesce(func.sum(case((overdue, 0), else_=1)), 0),
               func.coalesce(func.sum(case((overdue, owed), else_=0)), 0),
               func.coalesce(func.sum(case((overdue, 1), else_=0)), 0))
        .where(Bill.company_id == company_id, Bill.status.in_(Bill.OPEN_STATUSES),
               Bill.due_date < today + timedelta(days=DUE_SOON_DAYS))).one()
    cents = Decimal("0.01")
    return {"due_week": Decimal(str(week or 0)).quantize(cents),
            "due_week_count": int(week_count or 0),
            "overdue": Decimal(str(late or 0)).quantize(cents),
            "overdue_count": int(late_count or 0)}
