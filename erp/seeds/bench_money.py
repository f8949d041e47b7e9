"""The money of the benchmark data set (erp/seeds/bench.py), in bulk, over the two years:
invoices, credit notes and customer payments (the receivables), and supplier bills and
supplier payments (the payables), both sides by one generator (`generate`, on a `Side`).

Documents are direct (no order) of 1-3 lines at the products' prices (bills: their costs),
due 30 days after their date: drafts (no number), cancelled drafts, and issued (posted)
ones that are open (the older ones overdue), partly paid, paid in one or two payments,
invoices some partly credited. Payments are recorded (allocated in full, or the rest the
party's credit) or reversed. Every figure obeys what erp.services.invoices.mismatches
(erp.services.bills.mismatches) checks: line amounts by the services' own function, totals
the sums of the lines, credited and paid totals the sums of the issued credit notes and the
recorded payments' allocations; numbers follow the date within their series (the
DocumentSequence rows are written by the caller).
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from erp.models.bills import Bill, BillLine, SupplierPayment, SupplierPaymentAllocation
from erp.models.invoices import (CreditNote, CreditNoteLine, Invoice, InvoiceLine, Payment,
                                 PaymentAllocation)
from erp.services.sales import line_amounts

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
METHODS = ["bank_transfer"] * 6 + ["card", "cash", "cheque", "other"]
DUE_DAYS = 30


@dataclass(frozen=True)
class Side:
    """One side's tables and names: its document (and its number, date, party and stamp
    columns, its issued state), lines, payments and allocations, its number series, and
    whether it has credit notes (invoices do)."""

    document: type
    line: type
    payment: type
    allocation: type
    number: str          # "invoice_number"
    dated: str           # "invoice_date"
    party: str           # "customer_id"
    doc_key: str         # "invoice_id": the lines' and allocations' column
    stamped: str         # "issued_at"
    issued: str          # the status of an issued document without payments: "issued"
    series: str          # "INV"
    payment_series: str  # "PAY"
    credits: bool        # credit notes on some issued documents
    extra: dict          # more columns of every document
    line_extra: dict     # more columns of every line
    on_account: float = 0.0  # the share of the payments kept for payments on account


RECEIVABLES = Side(Invoice, InvoiceLine, Payment, PaymentAllocation, "invoice_number",
                   "invoice_date", "customer_id", "invoice_id", "issued_at", "issued", "INV",
                   "PAY", True, {"order_id": None}, {"order_item_id": None,
                                                    "credited_quantity": Decimal(0)})
PAYABLES = Side(Bill, BillLine, SupplierPayment, SupplierPaymentAllocation, "bill_number",
                "bill_date", "supplier_id", "bill_id", "posted_at", "open", "BILL", "SPAY",
                False, {"order_id": None, "supplier_reference": ""}, {"order_item_id": None},
                on_account=0.1)


@dataclass
class _Payment:
    day: date
    customer_id: int
    amount: Decimal
    allocations: list[tuple[int, Decimal]] = field(default_factory=list)
    reversed: bool = False


def generate(load, cid: int, rng: random.Random, *, invoices: int, payments: int,
             customer_ids: list[int], product_ids: list[int], sale_price: list[Decimal],
             user_ids: list[int], number: Callable[[str, date], str], start_day: date,
             today: date, now: datetime, side: Side = RECEIVABLES) -> None:
    """`invoices` documents of the `side` (invoices, bills) of the parties `customer_ids`
    (customers, suppliers) at the products' `sale_price` (their costs for bills), and
    exactly `payments` payments (the last ones, when the documents leave too few or the
    side keeps a share `on_account`, are payments on account: the party's credit, some of
    them reversed)."""
    from erp.seeds.bench import _at, _next_ids

    stamp = {"company_id": cid}
    days = (today - start_day).days
    invoice_id, line_id = _next_ids(side.document), _next_ids(side.line)
    note_id, note_line_id = _next_ids(CreditNote), _next_ids(CreditNoteLine)
    planned: list[_Payment] = []
    notes: list[tuple[dict, list[dict]]] = []
    for day in sorted(start_day + timedelta(days=rng.randrange(days + 1))
                      for _ in range(invoices)):
        roll = rng.random()
        status = "draft" if roll < 0.05 else "cancelled" if roll < 0.08 else side.issued
        customer = rng.choice(customer_ids)
        created = _at(day, rng)
        lines, sums = [], [ZERO] * 4
        for p in rng.sample(range(len(product_ids)), rng.randint(1, 3)):
            quantity = Decimal(rng.randint(1, 10))
            discount = Decimal(rng.choice([0, 0, 0, 5, 10]))
            rate = Decimal(rng.choice([0, 7, 19, 19]))
            amounts = line_amounts(quantity, sale_price[p], discount, rate)
            lines.append({"id": line_id, **stamp, side.doc_key: invoice_id,
                          **side.line_extra, "product_id": product_ids[p],
                          "quantity": quantity, "unit_price": sale_price[p],
                          "discount_percent": discount, "tax_rate": rate,
                          "subtotal": amounts.subtotal, "discount_amount": amounts.discount,
                          "tax_amount": amounts.tax, "total": amounts.total,
                          "created_at": created, "updated_at": created})
            for i, value in enumerate((amounts.subtotal, amounts.discount, amounts.tax,
                                       amounts.total)):
                sums[i] += value
            line_id += 1
        total, credited, paid = sums[3], ZERO, ZERO
        issued_at = None
        if status == side.issued:
            issued_at = created
            if side.credits and rng.random() < 0.06:  # one unit of the first line credited
                line = lines[0]
                one = line_amounts(Decimal(1), line["unit_price"], line["discount_percent"],
                                   line["tax_rate"])
                credit_day = min(day + timedelta(days=rng.randint(1, 20)), today)
                state = "issued" if rng.random() < 0.85 else "draft"
                if state == "issued":
                    line["credited_quantity"] = Decimal(1)
                    credited = one.total
                note = {"id": note_id, **stamp,
                        "credit_number": number("CN", credit_day) if state == "issued"
                        else None,
                        "invoice_id": invoice_id, "customer_id": customer,
                        "credit_date": credit_day, "status": state,
                        "reason": "Returned damaged", "subtotal": one.subtotal,
                        "discount_total": one.discount, "tax_total": one.tax,
                        "total": one.total,
                        "issued_at": _at(credit_day, rng) if state == "issued" else None,
                        "issued": None, "created_by_id": rng.choice(user_ids),
                        "created_at": created, "updated_at": created}
                notes.append((note, [{
                    "id": note_line_id, **stamp, "credit_note_id": note_id,
                    "invoice_line_id": line["id"], "product_id": line["product_id"],
                    "quantity": Decimal(1), "unit_price": line["unit_price"],
                    "discount_percent": line["discount_percent"], "tax_rate": line["tax_rate"],
                    "subtotal": one.subtotal, "discount_amount": one.discount,
                    "tax_amount": one.tax, "total": one.total,
                    "created_at": created, "updated_at": created}]))
                note_id += 1
                note_line_id += 1
            owed = total - credited
            settle = rng.random()
            if day >= today - timedelta(days=3):
                settle = 1.0  # the last days' invoices are open
            if owed <= 0:  # credited in full
                parts = []
            elif settle < 0.45 or (settle < 0.57 and owed < 2 * CENT):  # paid at once
                parts = [owed]
            elif settle < 0.57:  # paid in two payments
                first = (owed / 2).quantize(CENT)
                parts = [first, owed - first]
            elif settle < 0.70 and owed >= 2 * CENT:  # partly paid
                parts = [(owed * Decimal(rng.choice([25, 50, 75])) / 100).quantize(CENT)]
            else:
                parts = []
            if len(planned) + len(parts) > payments - round(payments * side.on_account):
                parts = []  # the payments' count is reached: open
            paid_day = day
            for part in parts:
                paid_day = min(paid_day + timedelta(days=rng.randint(5, 45)), today)
                planned.append(_Payment(paid_day, customer, part, [(invoice_id, part)]))
                paid += part
            status = ("paid" if paid == owed else "partly_paid" if paid else side.issued)
        load.add(side.document, {
            "id": invoice_id, **stamp,
            side.number: number(side.series, day) if issued_at else None,
            side.party: customer, **side.extra, side.dated: day,
            "due_date": day + timedelta(days=DUE_DAYS), "status": status, "notes": "",
            "subtotal": sums[0], "discount_total": sums[1], "tax_total": sums[2],
            "total": total, "paid_total": paid, side.stamped: issued_at, "issued": None,
            **({"credited_total": credited} if side.credits else {}),
            "created_by_id": rng.choice(user_ids), "created_at": created,
            "updated_at": created})
        for row in lines:
            load.add(side.line, row)
        invoice_id += 1
    load.flush(side.document)
    load.flush(side.line)
    for note, note_lines in notes:
        load.add(CreditNote, note)
        for row in note_lines:
            load.add(CreditNoteLine, row)
    load.flush(CreditNote)
    load.flush(CreditNoteLine)

    # payments on account (the party's credit), some of them reversed (with a share kept
    # for them, the first one always), up to the count
    first = len(planned)
    while len(planned) < payments:
        day = start_day + timedelta(days=rng.randrange(days + 1))
        planned.append(_Payment(day, rng.choice(customer_ids),
                                Decimal(rng.randint(1000, 50000)).scaleb(-2),
                                reversed=rng.random() < 0.3
                                or (side.on_account > 0 and len(planned) == first)))
    planned.sort(key=lambda payment: payment.day)
    payment_id, allocation_id = _next_ids(side.payment), _next_ids(side.allocation)
    for payment in planned:
        created = _at(payment.day, rng)
        allocated = sum((amount for _, amount in payment.allocations), ZERO)
        load.add(side.payment, {
            "id": payment_id, **stamp, "number": number(side.payment_series, payment.day),
            side.party: payment.customer_id, "payment_date": payment.day,
            "amount": payment.amount, "method": rng.choice(METHODS),
            "reference": f"REF {payment_id}",
            "status": "reversed" if payment.reversed else "recorded",
            "allocated_total": allocated,
            "reversed_at": min(created + timedelta(days=rng.randint(1, 20)), now)
            if payment.reversed else None,
            "created_by_id": rng.choice(user_ids), "created_at": created,
            "updated_at": created})
        for invoice, amount in payment.allocations:
            load.add(side.allocation, {"id": allocation_id, **stamp,
                                        "payment_id": payment_id, side.doc_key: invoice,
                                        "amount": amount, "created_at": created,
                                        "updated_at": created})
            allocation_id += 1
        payment_id += 1
    load.flush(side.payment)
    load.flush(side.allocation)
