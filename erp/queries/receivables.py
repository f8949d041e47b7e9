"""Reports on what customers owe and buy: a customer's (or a supplier's) statement, the receivables aging,
the sales analysis (as ListSpecs over grouped selects) and the dashboard's money figures.

Every read is bounded: the statement reads one customer's documents of a period (at most
STATEMENT_MAX_ROWS, by the (company, customer, date) indexes), the aging is one grouped
query over the open invoices (the (company, status, due date) index) paginated by
customer, and the sales analysis reads the monthly running totals
(erp.services.invoice_totals), never the invoice lines.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import Select, and_, case, func, literal, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from erp.extensions import db
from erp.i18n import N_
from erp.lists import Csv, ListSpec, by_id
from erp.models.base import ZERO
from erp.models.bills import Bill, SupplierPayment
from erp.models.catalog import Category, Product, Supplier
from erp.models.core import Company
from erp.models.invoices import (OPEN_INVOICE_STATUSES, CreditNote, Invoice, Payment,
                                 SalesCustomerMonth, SalesProductMonth)
from erp.models.returns import PurchaseReturn
from erp.models.sales import Customer
from erp.parsing import parse_date

CENT = Decimal("0.01")


def _money(value) -> Decimal:
    """A SUM as Decimal cents (SQLite sums Numeric in floating point)."""
    return Decimal(str(value or 0)).quantize(CENT)


# --- the statement --------------------------------------------------------------------------

STATEMENT_DAYS = 90  # the default period: the last 90 days
STATEMENT_MAX_ROWS = 1000  # more in one period: the page asks for a shorter one
MAX_PERIOD_DAYS = 3660
# a statement's entries of one day: the documents first, then what reduced them
ENTRY_KINDS = {"invoice": N_("Invoice"), "bill": N_("Bill"), "credit_note": N_("Credit note"),
               "debit": N_("Purchase return"), "payment": N_("Payment"),
               "reversal": N_("Payment reversed")}
_KIND_ORDER = {kind: index for index, kind in enumerate(ENTRY_KINDS)}


@dataclass(frozen=True)
class Reduction:
    """The documents that lower a side's balance besides payments: issued credit notes of
    a customer, posted purchase returns of a supplier (their value on the bills that billed
    the goods; the part the bills could not take is owed by the supplier)."""

    model: type
    kind: str       # the statement entry's kind
    dated: str
    numbered: str
    amount: str
    status: str     # the state in which it counts


@dataclass(frozen=True)
class StatementSide:
    """What one side's statement reads and shows: the party, the documents that raise its
    balance (issued invoices, posted bills: `kind`, their date and number columns), the
    documents that lower it besides payments (`Reduction`),
    its payments, each entry kind's record page (endpoint, argument) and the headings of
    the two amount columns. The balance is what the customer owes us, or what we owe the
    supplier."""

    party: type
    party_key: str
    document: type
    kind: str
    dated: str
    numbered: str
    payment: type
    reduction: Reduction
    endpoints: dict
    columns: tuple[str, str]
    who: str  # "customer", "supplier": the blueprint's endpoints and the page's words


@dataclass(frozen=True)
class StatementEntry:
    day: date
    kind: str
    record_id: int
    number: str
    debit: Decimal  # what raises the balance (an invoice or bill, a reversed payment)
    credit: Decimal  # what lowers it (a credit note, a payment)
    balance: Decimal = ZERO  # the running balance after it

    @property
    def label(self) -> str:
        return ENTRY_KINDS[self.kind]


@dataclass
class Statement:
    party: object
    start: date
    end: date
    opening: Decimal
    entries: list[StatementEntry] = field(default_factory=list)
    truncated: bool = False  # more entries than STATEMENT_MAX_ROWS: the period is too long

    @property
    def closing(self) -> Decimal:
        return self.entries[-1].balance if self.entries else self.opening

    @property
    def debits(self) -> Decimal:
        return sum((entry.debit for entry in self.entries), ZERO)

    @property
    def credits(self) -> Decimal:
        return sum((entry.credit for entry in self.entries), ZERO)


def statement_period(company: Company, start: str | None, end: str | None
                     ) -> tuple[date, date, str | None]:
    """The period a statement was asked for: ISO dates, by default the last 90 days up to
    the company's today; with a message (and the default) for dates that do not parse, an
    end before the start or a period longer than ten years."""
    from erp.i18n import _
    from erp.models.core import company_today

    today = company_today(company)
    default = (today - timedelta(days=STATEMENT_DAYS), today)
    first, last = parse_date(start), parse_date(end)
    if (start and first is None) or (end and last is None):
        return (*default, _("The period was not understood (dates are YYYY-MM-DD): the "
                            "last %(days)d days are shown.", days=STATEMENT_DAYS))
    last = last or today
    first = first or last - timedelta(days=STATEMENT_DAYS)
    if first > last:
        return (*default, _("The start of the period is after its end: the last %(days)d "
                            "days are shown.", days=STATEMENT_DAYS))
    if (last - first).days > MAX_PERIOD_DAYS:
        return (*default, _("A statement covers at most ten years: the last %(days)d days "
                            "are shown.", days=STATEMENT_DAYS))
    return first, last, None


CUSTOMER_STATEMENT = StatementSide(
    party=Customer, party_key="customer_id", document=Invoice, kind="invoice",
    dated="invoice_date", numbered="invoice_number", payment=Payment,
    reduction=Reduction(CreditNote, "credit_note", "credit_date", "credit_number", "total",
                        "issued"),
    endpoints={"invoice": ("money.invoice_detail", "invoice_id"),
               "credit_note": ("money.credit_note_detail", "credit_note_id"),
               "payment": ("money.payment_detail", "payment_id"),
               "reversal": ("money.payment_detail", "payment_id")},
    columns=(N_("Debit"), N_("Credit")), who="customer")


SUPPLIER_STATEMENT = StatementSide(
    party=Supplier, party_key="supplier_id", document=Bill, kind="bill",
    dated="bill_date", numbered="bill_number", payment=SupplierPayment,
    reduction=Reduction(PurchaseReturn, "debit", "return_date", "number", "returned_value",
                        "posted"),
    endpoints={"bill": ("money.bill_detail", "bill_id"),
               "debit": ("purchasing.return_detail", "return_id"),
               "payment": ("money.supplier_payment_detail", "payment_id"),
               "reversal": ("money.supplier_payment_detail", "payment_id")},
    columns=(N_("Billed"), N_("Paid and returned")), who="supplier")


def statement(side: StatementSide, company: Company, party, start: date,
              end: date) -> Statement:
    """The party's opening balance at `start`, every issued invoice (posted bill), issued
    credit note (purchase return that debited bills), payment and payment reversal from `start` to `end` (the company's days)
    with a running balance. Three queries whatever the period holds (at most
    STATEMENT_MAX_ROWS entries).

    The balance is what the customer owes us (what we owe the supplier): its documents
    less credit notes (returns) less payments, plus payments reversed (so a reversed payment nets to
    nothing, and the closing balance equals the party page's balance when the period ends
    today)."""
    zone = company.zone
    # a reversal is a time (UTC): the company's days [start, end] as UTC bounds
    since = datetime.combine(start, time.min, zone)
    until = datetime.combine(end + timedelta(days=1), time.min, zone)
    cid = company.id
    document, payment, note = side.document, side.payment, side.reduction.model
    noted = getattr(note, side.reduction.dated)
    noted_amount = getattr(note, side.reduction.amount)
    dated, numbered = getattr(document, side.dated), getattr(document, side.numbered)
    issued = (document.company_id == cid, getattr(document, side.party_key) == party.id,
              document.status.notin_(("draft", "cancelled")))
    paid = (payment.company_id == cid, getattr(payment, side.party_key) == party.id)
    reversed_ = (*paid, payment.status == "reversed", payment.reversed_at.is_not(None))

    def total(column, *where):
        return select(func.coalesce(func.sum(column), 0)).where(*where).scalar_subquery()

    credited = (note.company_id == cid, getattr(note, side.party_key) == party.id,
                note.status == side.reduction.status, noted_amount > 0)
    documented, payments, reversals, credits = db.session.execute(select(
        total(document.total, *issued, dated < start),
        total(payment.amount, *paid, payment.payment_date < start),
        total(payment.amount, *reversed_, payment.reversed_at < since),
        total(noted_amount, *credited, noted < start))).one()
    opening = (_money(documented) - _money(credits) - _money(payments) + _money(reversals))

    parts = [select(dated.label("day"), literal(side.kind).label("kind"),
                    document.id.label("id"), numbered.label("number"),
                    document.total.label("amount"))
             .where(*issued, dated.between(start, end)),
             select(payment.payment_date, literal("payment"), payment.id, payment.number,
                    payment.amount)
             .where(*paid, payment.payment_date.between(start, end))]
    parts.insert(1, select(noted, literal(side.reduction.kind), note.id,
                           getattr(note, side.reduction.numbered), noted_amount)
                 .where(*credited, noted.between(start, end)))
    documents = union_all(*parts).subquery()
    rows = [(_day(day), kind, id_, number, _money(amount)) for day, kind, id_, number, amount
            in db.session.execute(
                select(documents).order_by(documents.c.day, documents.c.id)
                .limit(STATEMENT_MAX_ROWS + 1))]
    if len(rows) > STATEMENT_MAX_ROWS:  # cut: no reversal after the last document shown
        until = min(until, datetime.combine(rows[STATEMENT_MAX_ROWS - 1][0], time.min, zone)
                    + timedelta(days=1))
    rows += [(when.astimezone(zone).date(), "reversal", id_, number, _money(amount))
             for id_, number, amount, when in db.session.execute(
                 select(payment.id, payment.number, payment.amount, payment.reversed_at)
                 .where(*reversed_, payment.reversed_at >= since, payment.reversed_at < until)
                 .order_by(payment.reversed_at, payment.id).limit(STATEMENT_MAX_ROWS + 1))]
    rows.sort(key=lambda row: (row[0], _KIND_ORDER[row[1]], row[2]))
    result = Statement(party, start, end, opening, truncated=len(rows) > STATEMENT_MAX_ROWS)
    balance = opening
    for day, kind, id_, number, amount in rows[:STATEMENT_MAX_ROWS]:
        debit = amount if kind in (side.kind, "reversal") else ZERO
        credit = amount if kind in ("credit_note", "debit", "payment") else ZERO
        balance = balance + debit - credit
        result.entries.append(StatementEntry(day, kind, id_, number, debit, credit, balance))
    return result


def customer_statement(company: Company, customer: Customer, start: date,
                       end: date) -> Statement:
    """A customer's statement (`statement`)."""
    return statement(CUSTOMER_STATEMENT, company, customer, start, end)


def _day(value) -> date:
    """A DATE from a UNION (SQLite answers text)."""
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


# --- receivables aging ----------------------------------------------------------------------

# (key, label, the least and most days past due; None: no bound)
AGING_BUCKETS = (("current", N_("Current"), None, 0), ("days_1_30", N_("1-30 days"), 1, 30),
                 ("days_31_60", N_("31-60 days"), 31, 60),
                 ("days_61_90", N_("61-90 days"), 61, 90),
                 ("days_over_90", N_("Over 90 days"), 91, None))
OWED = Invoice.owed()


def aging_columns(as_of: date) -> list[ColumnElement]:
    """The open amount of each bucket (by the due date's distance from `as_of`: compared
    with dates computed here, so the database does no date arithmetic) and in total."""
    columns = []
    for key, _, least, most in AGING_BUCKETS:
        conditions = []
        if least is not None:  # at least `least` days past due: due on or before as_of - least
            conditions.append(Invoice.due_date <= as_of - timedelta(days=least))
        if most is not None:
            conditions.append(Invoice.due_date >= as_of - timedelta(days=most))
        columns.append(func.coalesce(func.sum(case((and_(*conditions), OWED), else_=0)), 0)
                       .label(key))
    columns.append(func.coalesce(func.sum(OWED), 0).label("total"))
    columns.append(func.count(Invoice.id).label("invoices"))
    return columns


def aging_select(company_id: int, as_of: date) -> Select:
    """Per customer with open invoices (issued or partly paid, dated up to `as_of`): its
    open amounts in each bucket. One grouped query, paginated by the list."""
    return (select(Customer.id, Customer.name, *aging_columns(as_of))
            .join(Invoice, Invoice.customer_id == Customer.id)
            .where(Customer.company_id == company_id, Invoice.company_id == company_id,
                   Invoice.status.in_(OPEN_INVOICE_STATUSES), Invoice.invoice_date <= as_of)
            .group_by(Customer.id, Customer.name))


def aging_totals(company_id: int, as_of: date, customer_ids: Select | None = None) -> dict:
    """The totals row: the same sums over every open invoice (the list's customer filter)."""
    stmt = (select(*aging_columns(as_of))
            .where(Invoice.company_id == company_id, Invoice.status.in_(OPEN_INVOICE_STATUSES),
                   Invoice.invoice_date <= as_of))
    if customer_ids is not None:
        stmt = stmt.where(Invoice.customer_id.in_(customer_ids))
    row = db.session.execute(stmt).one()._mapping
    return {key: (_money(value) if key != "invoices" else int(value or 0))
            for key, value in row.items()}


def _aging_csv(stmt: Select):
    from erp.csv_io import dated_csv, iter_rows

    keys = [key for key, *_ in AGING_BUCKETS]
    rows = ([name, *(_money(value) for value in values[:-1]), int(values[-1]), id_]
            for id_, name, *values in iter_rows(stmt))
    return dated_csv("receivables-aging", ["customer", *keys, "total", "invoices",
                                           "customer_id"], rows)


AGING = ListSpec(
    model=Customer,
    sorts={"customer": Customer.name, "total": func.sum(OWED)},
    default_sort="customer",
    filters=[by_id("customer", Customer.id, Customer, Customer.name)],
    extra_filters=("as_of",),
    csv=Csv(response=_aging_csv),
    rows=True,
    # its grouped query reads every open invoice (75 % of the page's CPU on SQLite): the
    # page and its totals are kept until an invoice, payment or customer is written
    cached=("money", "customers"),
)


# --- the sales analysis ---------------------------------------------------------------------

ANALYSIS_BY = {"customer": N_("Customer"), "product": N_("Product"),
               "category": N_("Category"), "month": N_("Month")}
ANALYSIS_MONTHS = 12  # the default period: the last 12 months, this one included
MAX_ANALYSIS_MONTHS = 120


def month_start(day: date, back: int = 0) -> date:
    """The first day of the month `back` months before `day`'s month."""
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def parse_month(text: str | None) -> date | None:
    """"2026-12" (a month input's value, or a date of the month) as its first day."""
    text = (text or "").strip()[:10]
    try:
        return date.fromisoformat(text[:7] + "-01") if len(text) >= 7 else None
    except ValueError:
        return None


def analysis_period(today: date, start: str | None, end: str | None
                    ) -> tuple[date, date, str | None]:
    """The months asked for (first days), by default the last 12 up to this one; with a
    message (and the default) for months that do not parse or are in the wrong order."""
    from erp.i18n import _

    default = (month_start(today, ANALYSIS_MONTHS - 1), month_start(today))
    first, last = parse_month(start), parse_month(end)
    if (start and first is None) or (end and last is None):
        return (*default, _("The period was not understood (months are YYYY-MM): the last "
                            "%(months)d months are shown.", months=ANALYSIS_MONTHS))
    last = last or month_start(today)
    first = first or month_start(last, ANALYSIS_MONTHS - 1)
    if first > last:
        return (*default, _("The first month is after the last: the last %(months)d months "
                            "are shown.", months=ANALYSIS_MONTHS))
    if (last.year * 12 + last.month) - (first.year * 12 + first.month) >= MAX_ANALYSIS_MONTHS:
        return (*default, _("The analysis covers at most ten years: the last %(months)d "
                            "months are shown.", months=ANALYSIS_MONTHS))
    return first, last, None


def _net(model) -> ColumnElement:
    return func.coalesce(func.sum(model.net), 0)


def analysis_select(by: str, company_id: int, first: date, last: date) -> Select:
    """Net sales of the months `first`..`last` grouped `by` customer, product, category or
    month, from the running totals: rows of (key, label, detail, quantity, net)."""
    if by in ("customer", "month"):
        rows = SalesCustomerMonth
        period = (rows.company_id == company_id, rows.month.between(first, last))
        if by == "month":
            return (select(rows.month.label("key"), literal("").label("label"),
                           literal("").label("detail"), literal(None).label("quantity"),
                           _net(rows).label("net"))
                    .where(*period).group_by(rows.month))
        return (select(Customer.id.label("key"), Customer.name.label("label"),
                       literal("").label("detail"), literal(None).label("quantity"),
                       _net(rows).label("net"))
                .join(rows, rows.customer_id == Customer.id)
                .where(Customer.company_id == company_id, *period)
                .group_by(Customer.id, Customer.name))
    rows = SalesProductMonth
    period = (rows.company_id == company_id, rows.month.between(first, last))
    quantity = func.coalesce(func.sum(rows.quantity), 0).label("quantity")
    if by == "product":
        return (select(Product.id.label("key"), Product.name.label("label"),
                       Product.sku.label("detail"), quantity, _net(rows).label("net"))
                .join(rows, rows.product_id == Product.id)
                .where(Product.company_id == company_id, *period)
                .group_by(Product.id, Product.name, Product.sku))
    return (select(Category.id.label("key"), Category.name.label("label"),
                   literal("").label("detail"), quantity, _net(rows).label("net"))
            .select_from(rows).join(Product, Product.id == rows.product_id)
            .outerjoin(Category, Category.id == Product.category_id)
            .where(*period).group_by(Category.id, Category.name))


def analysis_total(company_id: int, first: date, last: date) -> Decimal:
    """The period's net sales (the same whatever the grouping)."""
    return _money(db.session.scalar(select(_net(SalesCustomerMonth)).where(
        SalesCustomerMonth.company_id == company_id,
        SalesCustomerMonth.month.between(first, last))))


def _analysis_csv(by: str):
    def response(stmt: Select):
        from erp.csv_io import dated_csv, iter_rows

        def row(values):
            key, label, detail, quantity, net = values
            if by == "month":
                return [_day(key).strftime("%Y-%m"), _money(net)]
            cells = [label or "", _money(net), key]
            if by == "product":
                cells[1:1] = [detail, Decimal(str(quantity or 0)).quantize(Decimal("0.001"))]
            elif by == "category":
                cells[1:1] = [Decimal(str(quantity or 0)).quantize(Decimal("0.001"))]
            return cells

        header = {"month": ["month", "net_sales"],
                  "customer": ["customer", "net_sales", "customer_id"],
                  "product": ["product", "sku", "quantity", "net_sales", "product_id"],
                  "category": ["category", "quantity", "net_sales", "category_id"]}[by]
        return dated_csv(f"sales-by-{by}", header, map(row, iter_rows(stmt)))
    return response


def _by_key(stmt: Select, params) -> Select:
    """Months in order (or reversed); the others by their net sales or name, then key."""
    columns = stmt.selected_columns
    column = {"net": columns.net, "name": columns.label, "month": columns.key}.get(
        params.sort_key, columns.net)
    ordered = column.desc() if params.descending else column.asc()
    return stmt.order_by(ordered, columns.key.desc() if params.descending
                         else columns.key.asc())


ANALYSIS = {
    by: ListSpec(
        model=SalesCustomerMonth if by in ("customer", "month") else SalesProductMonth,
        sorts={"month": None} if by == "month" else {"net": None, "name": None},
        default_sort="month" if by == "month" else "-net",
        extra_filters=("by", "start", "end"),
        csv=Csv(response=_analysis_csv(by)),
        rows=True,
        order=_by_key,
        # the running totals, and the names of customers, products and categories
        cached=("money", "customers", "catalog"),
    ) for by in ANALYSIS_BY}


# --- the dashboard's money figures ----------------------------------------------------------

def receivables_figures(company_id: int, today: date) -> dict:
    """What customers owe on open invoices, and of it what is overdue (total and number of
    invoices): one aggregate query over the open invoices (company, status, due date)."""
    overdue = Invoice.due_date < today
    total, overdue_total, overdue_count = db.session.execute(
        select(func.coalesce(func.sum(OWED), 0),
               func.coalesce(func.sum(case((overdue, OWED), else_=0)), 0),
               func.coalesce(func.sum(case((overdue, 1), else_=0)), 0))
        .where(Invoice.company_id == company_id,
               Invoice.status.in_(OPEN_INVOICE_STATUSES))).one()
    return {"receivables": _money(total), "overdue": _money(overdue_total),
            "overdue_count": int(overdue_count or 0)}
