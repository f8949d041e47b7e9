"""Supplier bills and supplier payments (erp.models.bills): the supplier side of the money
documents, on the rules the invoices share (erp.services.billing, erp.services.payments).

Staff draft a bill from what a purchase order received and no bill takes yet (at the
order's costs and tax rates; quantities and prices stay editable until it is posted, never
above what was received and not billed), or directly for a supplier; a manager posts it:
the next "BILL" number (gapless, as invoices), the due date from the supplier's payment
terms (else the company's default), what it says frozen. A draft can be cancelled (its quantities can be billed
again). A manager records supplier payments (SPAY) allocated to the supplier's open bills;
the rest is a credit with the supplier; a payment is reversed, never deleted.

Every public function is one transaction (`atomic()`). Locks, always in this order: the
purchase order (when the bill has one), then the bill; a payment, then its bills in id
order.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from erp.extensions import db
from erp.formatting import quantity as fmt_quantity
from erp.i18n import _
from erp.models import Supplier, User
from erp.models.base import ZERO
from erp.models.bills import (OPEN_BILL_STATUSES, Bill, BillLine, SupplierPayment,
                              SupplierPaymentAllocation)
from erp.models.purchasing import PurchaseOrder, PurchaseOrderItem
from erp.models.returns import PurchaseReturn, PurchaseReturnLine
from erp.services import (InvalidTransition, PermissionDenied, atomic, audit, billing,
                          payments, webhooks)
from erp.services.returns import _lock_order
from erp.services.validation import clean_text

SERIES = "BILL"
NOTES_MAX = 2000
REFERENCE_MAX = 60
# a purchase order whose received goods may be billed
BILLABLE_ORDER_STATUSES = ("partially_received", "received", "closed")

def _return_credit(company_id: int, supplier_id: int) -> Decimal:
    return return_debits(company_id, supplier_id)


def settle(bill: Bill) -> None:
    """billing.settle with the `bill.paid` event (paid by payments or return debits)."""
    billing.settle(bill, "bill.paid", "supplier")


SUPPLIERS = payments.Ledger(
    payment=SupplierPayment, allocation=SupplierPaymentAllocation, document=Bill,
    party=Supplier, doc_key="bill_id", party_key="supplier_id", party_field="supplier",
    series="SPAY", record_type="supplier_payment", settle=settle,
    other_credit=_return_credit)


def billable(item: PurchaseOrderItem) -> Decimal:
    """What the order line received and kept (goods returned before a posted bill billed
    them are not billed) and no bill takes yet."""
    return item.billable_quantity


def lock_bill(company_id: int, bill_id: int) -> tuple[Bill, PurchaseOrder | None]:
    """The bill (with its lines) and its purchase order, the order locked first."""
    return billing.lock_document(Bill, BillLine, "bill_id", company_id, bill_id, _lock_order,
                                 _("No such bill."))


def _new(company_id: int, supplier: Supplier, user: User | None, *, order_id=None,
         notes: str = "", reference: str = "") -> Bill:
    return billing.new_draft(Bill, company_id, supplier, user, party_key="supplier_id",
                             dated="bill_date", order_id=order_id, notes=notes,
                             supplier_reference=reference)


def create_bill(*, company_id: int, user: User | None, supplier_id: int | None,
                notes: str = "", supplier_reference: str = "") -> Bill:
    """A direct draft bill of an active supplier of the company (its lines are added
    next). Staff. Raises ValidationError (fields `supplier`, `notes`,
    `supplier_reference`). Commits."""
    errors: dict[str, list[str]] = {}
    notes = clean_text(notes, "notes", NOTES_MAX, errors)
    reference = clean_text(supplier_reference, "supplier_reference", REFERENCE_MAX, errors)
    return billing.create_direct(
        Supplier, company_id=company_id, user=user, party_id=supplier_id, field="supplier",
        choose=_("Choose a supplier."), errors=errors, summary="{number} of {name}",
        new=lambda supplier: _new(company_id, supplier, user, notes=notes,
                                  reference=reference))


def create_bill_from_order(*, company_id: int, order_id: int, user: User | None) -> Bill:
    """A draft bill of what the purchase order received and no other bill takes, at the
    order's costs and tax rates. Staff. Raises InvalidTransition for an order that
    received nothing, or with nothing left to bill. Commits."""
    with atomic():
        order = _lock_order(company_id, order_id)
        if user is not None and not user.has_role("staff"):
            raise PermissionDenied(_("Only staff may draft a bill."))
        if order.status not in BILLABLE_ORDER_STATUSES:
            raise InvalidTransition(_("%(number)s has received nothing to bill.",
                                      number=order.number))
        if not any(billable(item) > 0 for item in order.items):
            raise InvalidTransition(_("Everything %(number)s received is billed already.",
                                      number=order.number))
        bill = _new(company_id, order.supplier, user, order_id=order.id)
        billing.take_lines(bill, BillLine, [
            (item, billable(item), item.unit_cost, ZERO, item.tax_rate)
            for item in order.items], "billed_quantity")
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="create", record_type="bill",
                     record_id=bill.id,
                     summary=f"{bill.number} for what {order.number} received")
    return bill


def post_bill(*, company_id: int, bill_id: int, user: User | None,
              on: date | None = None) -> Bill:
    """draft -> open: the next "BILL" number, the bill date (`on`, default the company's
    today), the due date from the supplier's payment terms (else the company's default);
    what it says is frozen; the `bill.posted` webhook event. Manager. Raises
    ValidationError for a bill without lines; replay no-op. Commits."""
    return billing.issue_draft(
        lock_bill, "post", company_id=company_id, doc_id=bill_id, user=user, on=on,
        party="supplier", series=SERIES, number="bill_number", dated="bill_date",
        stamped="posted_at",
        after=lambda bill, order: webhooks.emit(
            company_id, "bill.posted", bill, **billing.event_data(bill, "supplier")),
        empty=lambda number: _("%(number)s has no lines: add one before posting it.",
                               number=number))


def cancel_bill(*, company_id: int, bill_id: int, user: User | None) -> Bill:
    """draft -> cancelled; what it took of its order's received goods can be billed
    again. Staff. A posted bill is refused (InvalidTransition). Replay no-op. Commits."""
    return billing.cancel_draft(lock_bill, company_id=company_id, doc_id=bill_id, user=user,
                                taken="billed_quantity")


# --- the lines of a draft -------------------------------------------------------------------

def _fixed(bill: Bill, adding: bool) -> str | None:
    if adding and bill.order_id is not None:
        return _("The lines of %(number)s are what its order received: change their "
                 "quantities and prices, or make a direct bill.", number=bill.number)
    return None


def _take(order: PurchaseOrder, line: BillLine, quantity: Decimal, errors: dict) -> None:
    """The line holds `quantity` of its order line's received goods (never more than was
    received and no other bill takes)."""
    if line.order_item_id is None:
        return
    item = next(item for item in order.items if item.id == line.order_item_id)
    room = billable(item) + line.quantity
    if quantity > room:
        errors.setdefault("quantity", []).append(_(
            "Only %(room)s received and not billed: %(quantity)s is too much.",
            room=fmt_quantity(room), quantity=fmt_quantity(quantity)))
        return
    item.billed_quantity = item.billed_quantity + quantity - line.quantity


LINES = billing.DraftLines(line_model=BillLine, lock=lock_bill, doc_key="bill_id",
                           price="cost_price", fixed=_fixed, take=_take)


def add_line(**values) -> BillLine:
    """Add a line to a direct draft bill (billing.add_draft_line); the price defaults to
    the product's cost price. Commits."""
    return billing.add_draft_line(LINES, **values)


def update_line(**values) -> BillLine:
    """Change a line of a draft bill (billing.update_draft_line). Commits."""
    return billing.update_draft_line(LINES, **values)


def remove_line(**values) -> None:
    """Remove a line of a draft bill (billing.remove_draft_line). Commits."""
    billing.remove_draft_line(LINES, **values)


# --- purchase return debits --------------------------------------------------------------

POSTED_BILL_STATUSES = (*OPEN_BILL_STATUSES, "paid")


def debit_return(purchase_return: PurchaseReturn, user: User | None) -> None:
    """Take a posting purchase return's goods off the posted bills that billed them: each
    return line debits the newest posted bill line of its order line that still has
    billed quantity no earlier return debited, for at most that quantity, at the line's
    price incl. its tax (line_amounts: rounded half-up to cents per line). A bill takes
    at most what it still asks for; the rest is a credit of the company with the
    supplier (`returned_value - debited_total` on the return). Goods no posted bill billed
    are not debited (and no later bill takes them: `billable`). A bill paid in full by
    payments and debits turns paid. Called by erp.services.returns with the purchase
    order locked; locks the bills in id order. Flushes only."""
    from erp.services.sales import line_amounts

    company_id = purchase_return.company_id
    items = {line.order_item_id for line in purchase_return.lines}
    candidates = db.session.scalars(
        select(BillLine).join(Bill, Bill.id == BillLine.bill_id)
        .where(BillLine.company_id == company_id, BillLine.order_item_id.in_(items),
               Bill.status.in_(POSTED_BILL_STATUSES))
        .order_by(BillLine.id.desc())).all()
    if not candidates:
        return
    bills = {bill.id: bill for bill in db.session.scalars(
        select(Bill).where(Bill.id.in_({line.bill_id for line in candidates}))
        .order_by(Bill.id).with_for_update(of=Bill)
        .execution_options(populate_existing=True))}
    taken = {line_id: Decimal(str(quantity)) for line_id, quantity in db.session.execute(
        select(PurchaseReturnLine.bill_line_id, func.sum(PurchaseReturnLine.debited_quantity))
        .where(PurchaseReturnLine.company_id == company_id,
               PurchaseReturnLine.bill_line_id.in_([line.id for line in candidates]))
        .group_by(PurchaseReturnLine.bill_line_id))}
    debited: dict[int, Decimal] = {}
    for line in purchase_return.lines:
        billed = next((candidate for candidate in candidates
                       if candidate.order_item_id == line.order_item_id
                       and candidate.quantity > taken.get(candidate.id, ZERO)), None)
        if billed is None:
            continue
        quantity = min(line.quantity, billed.quantity - taken.get(billed.id, ZERO))
        taken[billed.id] = taken.get(billed.id, ZERO) + quantity
        bill = bills[billed.bill_id]
        value = line_amounts(quantity, billed.unit_price, billed.discount_percent,
                             billed.tax_rate).total
        amount = max(min(value, bill.total - bill.settled_total), ZERO)
        line.bill_line_id, line.debited_quantity = billed.id, quantity
        line.debit_value, line.debit_amount = value, amount
        line.order_item.debited_quantity = line.order_item.debited_quantity + quantity
        bill.debited_total = bill.debited_total + amount
        purchase_return.returned_value = purchase_return.returned_value + value
        purchase_return.debited_total = purchase_return.debited_total + amount
        debited[bill.id] = debited.get(bill.id, ZERO) + amount
    for bill_id, amount in debited.items():
        bill = bills[bill_id]
        old = bill.status
        settle(bill)
        audit.record(company_id=company_id, user=user, action="update", record_type="bill",
                     record_id=bill.id,
                     summary=f"{bill.number}: {amount} debited by {purchase_return.number}",
                     changes={"status": (old, bill.status)} if old != bill.status else None)
    db.session.flush()


def return_debits(company_id: int, supplier_id: int) -> Decimal:
    """What posted purchase returns of the supplier's goods were worth beyond what their
    bills could take: the supplier owes it to the company (one aggregate query)."""
    value = db.session.scalar(
        select(func.coalesce(func.sum(PurchaseReturn.returned_value
                                      - PurchaseReturn.debited_total), 0))
        .where(PurchaseReturn.company_id == company_id,
               PurchaseReturn.supplier_id == supplier_id, PurchaseReturn.status == "posted"))
    return Decimal(str(value)).quantize(Decimal("0.01"))


# --- supplier payments ----------------------------------------------------------------------

def open_bills(company_id: int, supplier_id: int, *, limit: int = 50) -> list[Bill]:
    return payments.open_documents(SUPPLIERS, company_id, supplier_id, limit=limit)


def record_supplier_payment(*, supplier_id: int | None, **values) -> SupplierPayment:
    """A payment to a supplier (payments.record). Manager. Commits."""
    return payments.record(SUPPLIERS, party_id=supplier_id, **values)


def allocate_supplier_payment(**values) -> SupplierPayment:
    """Allocate a supplier payment's rest to open bills (payments.allocate). Commits."""
    return payments.allocate(SUPPLIERS, **values)


def reverse_supplier_payment(**values) -> SupplierPayment:
    """recorded -> reversed (payments.reverse): its bills are owed again. Commits."""
    return payments.reverse(SUPPLIERS, **values)


def supplier_credit(company_id: int, supplier_id: int) -> Decimal:
    """What our recorded payments to the supplier hold unallocated, and what returned goods
    were worth beyond what their bills could take (`return_debits`)."""
    return payments.credit(SUPPLIERS, company_id, supplier_id)


# --- checks -------------------------------------------------------------------------------

def mismatches(company_id: int) -> list[str]:
    """Bills whose stored figures disagree with their lines, the allocations of
    recorded supplier payments or the debits of posted purchase returns, bills' order lines that hold more than was received, and
    supplier payments whose allocated total is not the sum of their allocations."""
    problems = []
    paid = payments.paid_per_document(SUPPLIERS, company_id)
    for bill in db.session.scalars(select(Bill).where(Bill.company_id == company_id)
                                   .options(selectinload(Bill.items))):
        problems += billing.document_mismatches(bill, paid.get(bill.id, ZERO))
    for item in db.session.scalars(select(PurchaseOrderItem).where(
            PurchaseOrderItem.company_id == company_id,
            PurchaseOrderItem.billed_quantity > PurchaseOrderItem.received_quantity)):
        problems.append(_('purchase order line %(id)s: billed more than received', id=item.id))
    return problems + _debit_mismatches(company_id) + payments.allocated_mismatches(
        SUPPLIERS, company_id)


def _debit_mismatches(company_id: int) -> list[str]:
    """Bills whose debited total is not what posted returns' lines took off them, and
    purchase returns whose value or debited total is not the sum of their lines."""
    problems = []
    line, cents = PurchaseReturnLine, Decimal("0.01")
    posted = (line.company_id == company_id, PurchaseReturn.status == "posted")
    taken = {bill_id: Decimal(str(amount)).quantize(cents) for bill_id, amount in
             db.session.execute(
                 select(BillLine.bill_id, func.sum(line.debit_amount))
                 .join(BillLine, BillLine.id == line.bill_line_id)
                 .join(PurchaseReturn, PurchaseReturn.id == line.return_id)
                 .where(*posted).group_by(BillLine.bill_id))}
    for bill_id, number, debited in db.session.execute(
            select(Bill.id, Bill.bill_number, Bill.debited_total)
            .where(Bill.company_id == company_id,
                   (Bill.debited_total != 0) | Bill.id.in_(list(taken)))):
        if debited != taken.get(bill_id, ZERO):
            problems.append(_('%(number)s: debited %(debited)s != %(taken)s', number=number,
                              debited=debited, taken=taken.get(bill_id, ZERO)))
    for number, value, debited, lines_value, lines_debited in db.session.execute(
            select(PurchaseReturn.number, PurchaseReturn.returned_value,
                   PurchaseReturn.debited_total, func.coalesce(func.sum(line.debit_value), 0),
                   func.coalesce(func.sum(line.debit_amount), 0))
            .join(line, line.return_id == PurchaseReturn.id)
            .where(*posted)
            .group_by(PurchaseReturn.id, PurchaseReturn.number,
                      PurchaseReturn.returned_value, PurchaseReturn.debited_total)):
        if (value, debited) != (Decimal(str(lines_value)).quantize(cents),
                                Decimal(str(lines_debited)).quantize(cents)):
            problems.append(_('%(number)s: value %(value)s, debited %(debited)s != its lines',
                              number=number, value=value, debited=debited))
    return problems
