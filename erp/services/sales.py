"""Sales use cases: customers, sales orders, their lines and their workflow.

draft -> confirmed (stock reserved in the order's warehouse) -> partly shipped -> shipped
(delivery notes, erp.services.deliveries: each posted one releases its part of the
reservation and issues the stock through the stock service) -> invoiced (once issued
invoices, erp.services.invoices, take everything it shipped). Cancel from draft or confirmed gives the reservations
back; a manager closes a partly shipped order short, releasing what is left.

Every public function is one transaction (`atomic()`). Transitions and line edits lock
the order row first (`SELECT ... FOR UPDATE`; SQLite serialises writers with BEGIN
IMMEDIATE) and re-check the status inside the transaction, so a repeated click or a
replayed POST never reserves or ships twice: a transition to the state the order is
already in does nothing, any other wrong state raises InvalidTransition.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from erp.extensions import db
from erp.formatting import money as fmt_money
from erp.formatting import quantity as fmt_quantity
from erp.models import Company, Product, User, Warehouse
from erp.models.base import ZERO, utcnow
from erp.models.core import company_today
from erp.models.fields import DISCOUNT, PRICE, TAX_RATE
from erp.models.sales import (CREDIT_STATUSES, CUSTOMER_TEXT, OPEN_STATUSES, Customer,
                              DeliveryNote, SalesOrder, SalesOrderItem)
from erp.services import DomainError, InvalidTransition, NotFound, ValidationError, atomic
from erp.services import webhooks
from erp.services import audit, money, pickers, sales_totals, stock, validation
from erp.services.catalog import _delete, _named_by, _set_active
from erp.services.inventory import default_warehouse_of, document_warehouse
from erp.services.sequences import next_number
from erp.services.stock import InsufficientStock
from erp.services.validation import clean_number, clean_text, clean_texts
from erp.i18n import N_, _, gettext

CENT = Decimal("0.01")
HUNDRED = Decimal("100")
MAX_MONEY = Decimal("999999999999.99")  # Numeric(14, 2)
TEXT_MAX = 2000  # addresses and notes



# --- arithmetic -------------------------------------------------------------------------

@dataclass(frozen=True)
class LineAmounts:
    subtotal: Decimal  # quantity x unit price
    discount: Decimal
    tax: Decimal
    total: Decimal  # subtotal - discount + tax

    @property
    def net(self) -> Decimal:
        return self.subtotal - self.discount


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_amounts(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal = ZERO,
                 tax_rate: Decimal = ZERO) -> LineAmounts:
    """A line's amounts, each rounded half-up to cents: gross = qty x price; discount =
    gross x disc%; net = gross - discount; tax = net x tax%; total = net + tax."""
    subtotal = _cents(Decimal(quantity) * Decimal(unit_price))
    discount = _cents(subtotal * Decimal(discount_percent) / HUNDRED)
    tax = _cents((subtotal - discount) * Decimal(tax_rate) / HUNDRED)
    return LineAmounts(subtotal, discount, tax, subtotal - discount + tax)


def _recompute_totals(order: SalesOrder) -> None:
    """The order's stored totals are the sums of its lines' rounded amounts."""
    items = list(order.items)
    order.subtotal = sum((i.subtotal for i in items), ZERO)
    order.discount_total = sum((i.discount_amount for i in items), ZERO)
    order.tax_total = sum((i.tax_amount for i in items), ZERO)
    order.total = sum((i.total for i in items), ZERO)


# --- parsing ----------------------------------------------------------------------------

def _decimal(value, field: str, errors: dict, *, default: Decimal | None = None,
             maximum: Decimal = MAX_MONEY, step: Decimal = CENT) -> Decimal | None:
    """Parse a non-negative number; add a message to `errors` and return None if bad."""
    if validation.blank(value):
        if default is None:
            validation.add_error(errors, field, _("Enter a number."))
        return default
    try:
        return validation.number(value, step=step, maximum=maximum)
    except validation.BadValue as problem:
        validation.add_error(errors, field, str(problem))
        return None


_text = clean_text  # the order header's notes (one text check for every service)


_date = validation.date_value


# --- customers --------------------------------------------------------------------------

def _customer_values(company_id: int, data: dict) -> dict:
    errors: dict[str, list[str]] = {}
    values = clean_texts(data, CUSTOMER_TEXT, errors)
    if values["email"] and ("@" not in values["email"] or " " in values["email"]):
        errors.setdefault("email", []).append(_("Enter a valid email address."))
    values["email"] = values["email"].lower()
    values["credit_limit"] = _decimal(data.get("credit_limit"), "credit_limit", errors,
                                      default=ZERO)
    values["active"] = bool(data.get("active", True))
    if "payment_terms_id" in data:  # left out (an import): unchanged
        values["payment_terms_id"] = validation.payment_terms_id(company_id, data["payment_terms_id"], errors)
    if errors:
        raise ValidationError(field_errors=errors)
    return values


def create_customer(*, company_id: int, user: User | None, **data) -> Customer:
    """Create a customer; all field problems are raised at once (ValidationError). Commits."""
    values = _customer_values(company_id, data)
    with atomic():
        customer = Customer(company_id=company_id, **values)
        audit.created(customer, company_id=company_id, user=user, record_type="customer",
                      summary=f"Customer {customer.name} created")
    return customer


def update_customer(*, company_id: int, customer_id: int, user: User | None,
                    **data) -> Customer:
    """Change a customer's data (ValidationError, NotFound). Commits."""
    values = _customer_values(company_id, data)
    with atomic():
        customer = _get_customer(company_id, customer_id)
        audit.updated(customer, values, company_id=company_id, user=user,
                      record_type="customer", summary=lambda r: f"Customer {r.name} changed")
    return customer


def _get_customer(company_id: int, customer_id: int | None) -> Customer:
    customer = db.session.scalar(select(Customer).where(
        Customer.id == customer_id, Customer.company_id == company_id)) if customer_id else None
    if customer is None:
        raise NotFound(_("No such customer."))
    return customer


CUSTOMER_SEARCH = (Customer.name, Customer.email, Customer.tax_number)  # what a picker matches


def set_customer_active(*, company_id: int, customer_id: int, active: bool,
                        user: User | None) -> Customer:
    """Archive or reactivate a customer (archived ones leave the pickers). Commits."""
    return _set_active(lambda: _get_customer(company_id, customer_id), active,
                       company_id=company_id, user=user, record_type="customer")


def customer_in_use(company_id: int, customer_id: int) -> str | None:
    """Why a customer cannot be deleted (its sales orders), or None."""
    return _named_by(SalesOrder, SalesOrder.customer_id, company_id, customer_id,
                     _("This customer has sales orders, so it cannot be deleted. "
                       "Archive it instead."))


def delete_customer(*, company_id: int, customer_id: int, user: User | None) -> None:
    """Delete a customer no document names; InUse otherwise (the sales orders' foreign key
    is RESTRICT: whatever else refers to it also refuses). Commits."""
    customer = _get_customer(company_id, customer_id)
    _delete(customer, company_id=company_id, user=user, record_type="customer",
            label=customer.name, in_use=customer_in_use(company_id, customer.id))


def find_customer(company_id: int, text: str | None) -> Customer | None:
    """The customer a picker value names: 'Name [#id]', or its only exact name (any case)."""
    return pickers.resolve(Customer, company_id, text, Customer.name)


def search_customers(company_id: int, q: str, *, limit: int = pickers.LIMIT,
                     active_only: bool = True) -> list[Customer]:
    """Customers whose name, email or tax number contains `q`, for pickers (bounded)."""
    return pickers.search(Customer, company_id, q, CUSTOMER_SEARCH, limit=limit,
                          active_only=active_only)


# --- order header -----------------------------------------------------------------------

def _header_values(company_id: int, data: dict, errors: dict, *,
                   default_warehouse: bool = False) -> dict:
    values: dict = {}
    customer_id = data.get("customer_id")
    customer = None
    if customer_id in (None, ""):
        errors.setdefault("customer", []).append(_("Choose a customer."))
    else:
        customer = db.session.scalar(select(Customer).where(
            Customer.id == customer_id, Customer.company_id == company_id))
        if customer is None:
            errors.setdefault("customer", []).append(_("No such customer."))
        elif not customer.active:
            errors.setdefault("customer", []).append(_('%(name)s is archived.', name=customer.name))
    values["customer_id"] = customer.id if customer else None
    warehouse_id = data.get("warehouse_id")
    if warehouse_id in (None, "") and default_warehouse:
        default = default_warehouse_of(company_id)
        warehouse_id = default.id if default else None
    warehouse = document_warehouse(company_id, warehouse_id, errors)
    values["warehouse_id"] = warehouse.id if warehouse else None
    values["order_date"] = _date(data.get("order_date") or company_today(company_id),
                                 "order_date", errors, required=True)
    values["requested_date"] = _date(data.get("requested_date"), "requested_date", errors)
    if (values["order_date"] and values["requested_date"]
            and values["requested_date"] < values["order_date"]):
        errors.setdefault("requested_date", []).append(_("Must not be before the order date."))
    values["notes"] = _text(data.get("notes"), "notes", TEXT_MAX, errors)
    return values


def create_order(*, company_id: int, user: User | None, **data) -> SalesOrder:
    """Create a draft order with the next "SO" number (unique under concurrency).

    Data: customer_id, warehouse_id (none: `inventory.default_warehouse_of` the company),
    order_date, requested_date, notes. Raises ValidationError with every field problem.
    Commits.
    """
    with atomic():
        errors: dict[str, list[str]] = {}
        values = _header_values(company_id, data, errors, default_warehouse=True)
        if errors:
            raise ValidationError(field_errors=errors)
        order = SalesOrder(company_id=company_id, status="draft",
                           number=next_number(company_id, "SO", on=values["order_date"]),
                           created_by_id=user.id if user is not None else None,
                           subtotal=ZERO, discount_total=ZERO, tax_total=ZERO, total=ZERO,
                           **values)
        audit.created(order, company_id=company_id, user=user, record_type="sales_order",
                      summary=f"Sales order {order.number} created")
    return order


def update_order(*, company_id: int, order_id: int, user: User | None, **data) -> SalesOrder:
    """Change a draft order's header (InvalidTransition unless draft). Commits."""
    with atomic():
        order = _lock_order(company_id, order_id)
        _require_draft(order, N_("edited"))
        errors: dict[str, list[str]] = {}
        values = _header_values(company_id, data, errors)
        if errors:
            raise ValidationError(field_errors=errors)
        audit.updated(order, values, company_id=company_id, user=user,
                      record_type="sales_order", summary=lambda r: f"Sales order {r.number} changed")
    return order


def _lock_order(company_id: int, order_id: int, *, with_items: bool = False) -> SalesOrder:
    """The order row, locked until the transaction ends and re-read from the database."""
    stmt = (select(SalesOrder)
            .where(SalesOrder.id == order_id, SalesOrder.company_id == company_id)
            .with_for_update(of=SalesOrder)
            .execution_options(populate_existing=True))
    order = db.session.scalar(stmt)
    if order is None:
        raise NotFound(_("No such sales order."))
    if with_items:
        # a second query: FOR UPDATE cannot be combined with an outer join on PostgreSQL
        items = db.session.scalars(
            select(SalesOrderItem).where(SalesOrderItem.order_id == order.id)
            .options(selectinload(SalesOrderItem.product))
            .order_by(SalesOrderItem.id)
            .execution_options(populate_existing=True)).all()
        set_committed_value(order, "items", list(items))
    return order


def _require_draft(order: SalesOrder, verb: str) -> None:
    if order.status != "draft":
        raise InvalidTransition(
            _('%(number)s is %(value)s: only a draft can be %(verb)s.', number=order.number, value=order.status_label.lower(), verb=gettext(verb)))


# --- lines ------------------------------------------------------------------------------

def _line_values(data: dict, product: Product | None, errors: dict, *,
                 default_tax: Decimal = ZERO, price: str = "sale_price") -> dict:
    values: dict = {}
    try:
        values["quantity"] = stock.to_quantity(data.get("quantity"))
    except ValidationError as error:
        for name, messages in error.field_errors.items():
            errors.setdefault(name, []).extend(messages)
        values["quantity"] = None
    default_price = getattr(product, price) if product is not None else ZERO
    values["unit_price"] = clean_number(data.get("unit_price"), "unit_price", PRICE, errors,
                                        default=default_price)
    values["discount_percent"] = clean_number(data.get("discount_percent"), "discount_percent",
                                              DISCOUNT, errors, default=ZERO)
    values["tax_rate"] = clean_number(data.get("tax_rate"), "tax_rate", TAX_RATE, errors,
                                      default=default_tax)
    if not errors:
        amounts = line_amounts(values["quantity"], values["unit_price"],
                               values["discount_percent"], values["tax_rate"])
        if amounts.subtotal > MAX_MONEY or amounts.total > MAX_MONEY:
            errors.setdefault("quantity", []).append(_("The line total is too large."))
    return values


def changed_line_values(line, quantity, unit_price, discount_percent, tax_rate,
                        errors: dict) -> dict:
    """A priced line's new values (an order's, an invoice's, a bill's): a blank price keeps
    the line's; problems go to `errors`."""
    return _line_values({"quantity": quantity,
                         "unit_price": line.unit_price if unit_price in (None, "") else unit_price,
                         "discount_percent": discount_percent, "tax_rate": tax_rate},
                        line.product, errors)


def new_line_values(company_id: int, product_id: int | None, quantity, unit_price,
                    discount_percent, tax_rate, *,
                    price: str = "sale_price") -> tuple[Product, dict]:
    """The product and values of a new priced line (an order's, an invoice's, a bill's): an
    active product of the company, the price defaulting to its `price` (sale price, or cost
    price on a bill) and the tax rate to its tax code's. Raises ValidationError with every
    field's problem."""
    errors: dict[str, list[str]] = {}
    product = db.session.scalar(select(Product).where(
        Product.id == product_id, Product.company_id == company_id)) if product_id else None
    if product is None:
        errors["product"] = ["Choose a product."]
    elif not product.active:
        errors["product"] = [f"{product.sku} is archived."]
    values = _line_values({"quantity": quantity, "unit_price": unit_price,
                           "discount_percent": discount_percent, "tax_rate": tax_rate},
                          product, errors, default_tax=money.line_tax_rate(company_id, product),
                          price=price)
    if errors:
        raise ValidationError(field_errors=errors)
    return product, values


def _apply_amounts(item: SalesOrderItem) -> None:
    amounts = line_amounts(item.quantity, item.unit_price, item.discount_percent, item.tax_rate)
    item.subtotal, item.discount_amount = amounts.subtotal, amounts.discount
    item.tax_amount, item.total = amounts.tax, amounts.total


def _check_order_total(order: SalesOrder) -> None:
    if order.subtotal > MAX_MONEY or order.total > MAX_MONEY:
        raise ValidationError(_("The order total would be too large."),
                              field_errors={"quantity": ["The order total would be too large."]})


def add_line(*, company_id: int, order_id: int, user: User | None, product_id: int | None,
             quantity, unit_price=None, discount_percent=None, tax_rate=None) -> SalesOrderItem:
    """Add a line to a draft order; the unit price defaults to the product's sale price,
    the tax rate to its tax code's rate (else the company's default code's, else 0).

    Raises ValidationError (all fields at once), InvalidTransition unless draft, NotFound.
    Recomputes the order's totals. Commits.
    """
    with atomic():
        order = _lock_order(company_id, order_id, with_items=True)
        _require_draft(order, N_("changed"))
        product, values = new_line_values(company_id, product_id, quantity, unit_price,
                                          discount_percent, tax_rate)
        item = SalesOrderItem(company_id=company_id, product_id=product.id, **values)
        _apply_amounts(item)
        order.items.append(item)
        _recompute_totals(order)
        _check_order_total(order)
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="update",
                     record_type="sales_order", record_id=order.id,
                     summary=f"{order.number}: line {product.sku} x "
                             f"{fmt_quantity(values['quantity'])} added")
    return item


def update_line(*, company_id: int, order_id: int, line_id: int, user: User | None,
                quantity, unit_price=None, discount_percent=None,
                tax_rate=None) -> SalesOrderItem:
    """Change a line of a draft order (a blank price keeps the line's price). Commits."""
    with atomic():
        order = _lock_order(company_id, order_id, with_items=True)
        item = next((i for i in order.items if i.id == line_id), None)
        if item is None:
            raise NotFound(_("No such line."))
        _require_draft(order, N_("changed"))
        errors: dict[str, list[str]] = {}
        values = changed_line_values(item, quantity, unit_price, discount_percent, tax_rate,
                                     errors)
        if errors:
            raise ValidationError(field_errors=errors)
        changes = audit.diff(item, values)
        _apply_amounts(item)
        _recompute_totals(order)
        _check_order_total(order)
        if changes:
            audit.record(company_id=company_id, user=user, action="update",
                         record_type="sales_order", record_id=order.id,
                         summary=f"{order.number}: line {item.product.sku} changed",
                         changes=changes)
    return item


def remove_line(*, company_id: int, order_id: int, line_id: int, user: User | None) -> None:
    """Remove a line from a draft order and recompute the totals. Commits.

    Removing a line that is already gone does nothing (a replayed POST).
    """
    with atomic():
        order = _lock_order(company_id, order_id, with_items=True)
        item = next((i for i in order.items if i.id == line_id), None)
        if item is None:
            return
        _require_draft(order, N_("changed"))
        order.items.remove(item)
        _recompute_totals(order)
        audit.record(company_id=company_id, user=user, action="update",
                     record_type="sales_order", record_id=order.id,
                     summary=f"{order.number}: line {item.product.sku} removed")


# --- workflow ---------------------------------------------------------------------------

def _stocked(order: SalesOrder) -> list[SalesOrderItem]:
    return [item for item in order.items if item.product.stocked]


def _audit_status(order: SalesOrder, user: User | None, old: str, summary: str) -> None:
    audit.record(company_id=order.company_id, user=user, action="status",
                 record_type="sales_order", record_id=order.id, summary=summary,
                 changes={"status": (old, order.status)})


class CreditLimitExceeded(DomainError):
    """Confirming the order would take its customer over the credit limit."""

    def __init__(self, message: str, credit: CreditCheck) -> None:
        super().__init__(message)
        self.credit = credit


@dataclass(frozen=True)
class CreditCheck:
    """A customer's credit limit against its open orders (`CREDIT_STATUSES`, this order
    left out) and this order; a limit of 0 means no limit."""

    customer: str
    limit: Decimal
    open: Decimal
    order: Decimal
    currency: str = ""

    @property
    def exposure(self) -> Decimal:
        return self.open + self.order

    @property
    def exceeded(self) -> bool:
        return self.limit > 0 and self.exposure > self.limit

    @property
    def figures(self) -> str:
        def amount(value: Decimal) -> str:
            return fmt_money(value, self.currency)
        return (f"limit {amount(self.limit)}; open orders {amount(self.open)} + this order "
                f"{amount(self.order)} = {amount(self.exposure)}")


def credit_check(company_id: int, order: SalesOrder, *, lock: bool = False) -> CreditCheck:
    """The credit figures of the order's customer (`lock`: the customer row is locked until
    the transaction ends, so two confirmations of its orders are checked one after the
    other). One query for the customer, one aggregate for its open orders."""
    stmt = (select(Customer, Company.currency).join(Company, Company.id == Customer.company_id)
            .where(Customer.id == order.customer_id, Customer.company_id == company_id))
    customer, currency = db.session.execute(
        stmt.with_for_update(of=Customer) if lock else stmt).one()
    open_total = ZERO
    if customer.credit_limit:
        open_total = _dec(db.session.scalar(
            select(func.coalesce(func.sum(SalesOrder.total), 0)).where(
                SalesOrder.company_id == company_id,
                SalesOrder.customer_id == customer.id,
                SalesOrder.status.in_(CREDIT_STATUSES), SalesOrder.id != order.id)))
    return CreditCheck(customer.name, customer.credit_limit, open_total, order.total,
                       currency or "")


def _dec(value) -> Decimal:
    """A SUM as exact Decimal cents (SQLite sums NUMERIC in floating point)."""
    return Decimal(str(value or 0)).quantize(CENT)


def confirm_order(*, company_id: int, order_id: int, user: User | None) -> SalesOrder:
    """draft -> confirmed: reserve every stocked line in the order's warehouse.

    Refuses (CreditLimitExceeded, naming the limit, the customer's open orders and this
    order) an order that takes its customer over a credit limit: a manager may confirm it
    anyway with `confirm_order_over_credit_limit`. If any line is short, raises
    InsufficientStock naming every short line and reserves nothing. A confirmed order is
    returned unchanged (replay). Commits.
    """
    return _confirm(company_id, order_id, user, "confirm")


def confirm_order_over_credit_limit(*, company_id: int, order_id: int,
                                    user: User | None) -> SalesOrder:
    """`confirm_order` for a manager who takes the order although it goes over the customer's
    credit limit: the override and its figures are recorded in the audit trail. Within the
    limit it is a plain confirmation. Commits."""
    return _confirm(company_id, order_id, user, "confirm_over_limit")


def _confirm(company_id: int, order_id: int, user: User | None, action: str) -> SalesOrder:
    with atomic():
        order = _lock_order(company_id, order_id, with_items=True)
        if not SalesOrder.workflow.begin(order, action, user):
            return order
        if not order.items:
            raise ValidationError(_("Add at least one line before confirming."))
        credit = credit_check(company_id, order, lock=True)
        if credit.exceeded and action == "confirm":
            raise CreditLimitExceeded(
                _('Cannot confirm %(number)s: it takes %(customer)s over its credit limit (%(figures)s). A manager can confirm it over the credit limit.', number=order.number, customer=credit.customer, figures=credit.figures),
                credit)
        short: list[str] = []
        for number, item in enumerate(order.items, start=1):
            if not item.product.stocked:
                continue
            try:
                # each reservation is one conditional UPDATE: no oversell under concurrency;
                # a refused one changes nothing, so the others can still be checked
                stock.reserve(company_id=company_id, product_id=item.product_id,
                              warehouse_id=order.warehouse_id, quantity=item.quantity)
            except InsufficientStock as error:
                available = max(error.available or ZERO, ZERO)
                short.append(f"line {number}, {item.product.sku}: {fmt_quantity(item.quantity)} "
                             f"needed, {fmt_quantity(available)} available")
        if short:
            raise InsufficientStock(
                f"Cannot confirm {order.number}: not enough stock in "
                f"{order.warehouse.code} for " + "; ".join(short) + ".")
        order.status, order.confirmed_at = "confirmed", utcnow()
        sales_totals.count(order, +1)
        webhooks.emit(company_id, "sales_order.confirmed", order)
        _audit_status(order, user, "draft", f"Sales order {order.number} confirmed")
        if credit.exceeded:
            # the figures first: the summary is cut at 300 characters, a name may be long
            audit.record(company_id=company_id, user=user, action="credit_override",
                         record_type="sales_order", record_id=order.id,
                         summary=f"{order.number} confirmed over the credit limit "
                                 f"({credit.figures}) of {credit.customer}")
    return order


def ship_order(*, company_id: int, order_id: int, user: User | None,
               lots: dict | None = None) -> SalesOrder:
    """confirmed or partly shipped -> shipped: a delivery note for everything left on the
    order, posted at once (`erp.services.deliveries`: each stocked line's reservation is
    released and its stock issued, one "sales_shipment" movement per delivery line, a
    tracked line from the lots `lots` {item id: text} names, else first-expiring ones); its
    draft deliveries are cancelled. Manager. A bad lot raises ValidationError, nothing
    shipped. Commits; replay is a no-op."""
    from erp.services import deliveries

    with atomic():
        order = _lock_order(company_id, order_id, with_items=True)
        if not SalesOrder.workflow.begin(order, "ship", user):
            return order
        if deliveries.deliver_rest(order, user, lots) is None:  # nothing left: make it true
            order.status, order.shipped_at = "shipped", utcnow()
            webhooks.emit(company_id, "sales_order.shipped", order)
        deliveries.cancel_drafts(order, user)
    return order


def create_delivery(*, company_id: int, order_id: int, user: User | None,
                    **kwargs) -> DeliveryNote:
    """The order's "deliver" step (erp.services.deliveries.create_delivery)."""
    from erp.services import deliveries

    return deliveries.create_delivery(company_id=company_id, order_id=order_id, user=user,
                                      **kwargs)


def close_order(*, company_id: int, order_id: int, user: User | None) -> SalesOrder:
    """partly shipped -> closed short: what is left to ship will not be delivered, so its
    reservation is released (a backorder given up); draft deliveries are cancelled. The
    order keeps counting as sold. Manager. Raises InvalidTransition from any other state
    (a repeated close included, as for purchase orders). Commits."""
    from erp.services import deliveries

    with atomic():
        order = _lock_order(company_id, order_id, with_items=True)
        SalesOrder.workflow.begin(order, "close", user)
        short = []
        for item in order.items:
            if item.left_quantity > 0:
                short.append(f"{fmt_quantity(item.left_quantity)} x {item.product.sku}")
                if item.product.stocked:
                    stock.release(company_id=company_id, product_id=item.product_id,
                                  warehouse_id=order.warehouse_id, quantity=item.left_quantity)
        old, order.status = order.status, "closed"
        deliveries.cancel_drafts(order, user)
        audit.record(company_id=company_id, user=user, action="status",
                     record_type="sales_order", record_id=order.id,
                     summary=f"Closed {order.number} short; not delivered: "
                             f"{', '.join(short) or 'nothing'}",
                     changes={"status": (old, "closed")})
    return order


def create_invoice_from_order(*, company_id: int, order_id: int, user: User | None):
    """The order's "invoice" step: a draft invoice of what it shipped and no invoice takes
    yet (`erp.services.invoices.create_invoice_from_order`). Staff. Commits."""
    from erp.services import invoices

    return invoices.create_invoice_from_order(company_id=company_id, order_id=order_id,
                                              user=user)


def invoice_order(*, company_id: int, order_id: int, user: User | None) -> SalesOrder:
    """The invoice of everything the order shipped and no invoice takes yet, drafted and
    issued at once (`erp.services.invoices.invoice_order`; a manager's). Commits."""
    from erp.services import invoices

    invoices.invoice_order(company_id=company_id, order_id=order_id, user=user)
    return db.session.get(SalesOrder, order_id)


def cancel_order(*, company_id: int, order_id: int, user: User | None) -> SalesOrder:
    """draft or confirmed -> cancelled; a confirmed order's reservations are released.
    Commits; cancelling a cancelled order does nothing."""
    with atomic():
        order = _lock_order(company_id, order_id, with_items=True)
        old = order.status
        if not SalesOrder.workflow.begin(order, "cancel", user):
            return order
        if old == "confirmed":
            from erp.services import deliveries

            for item in _stocked(order):
                stock.release(company_id=company_id, product_id=item.product_id,
                              warehouse_id=order.warehouse_id, quantity=item.quantity)
            sales_totals.count(order, -1)
            deliveries.cancel_drafts(order, user)
        order.status = "cancelled"
        webhooks.emit(company_id, "sales_order.cancelled", order)
        _audit_status(order, user, old, f"Sales order {order.number} cancelled")
    return order


# --- reads ------------------------------------------------------------------------------

@dataclass
class CustomerTotals:
    orders: int = 0
    open_orders: int = 0
    open_total: Decimal = ZERO
    invoiced_total: Decimal = ZERO
    shipped_total: Decimal = ZERO
    credit_used: Decimal = ZERO  # what counts against the credit limit (CREDIT_STATUSES)


def customer_totals(company_id: int, customer_id: int) -> CustomerTotals:
    """Order counts and sums of one customer, by status, in one aggregate query."""
    rows = db.session.execute(
        select(SalesOrder.status, func.count(), func.coalesce(func.sum(SalesOrder.total), 0))
        .where(SalesOrder.company_id == company_id, SalesOrder.customer_id == customer_id)
        .group_by(SalesOrder.status)).all()
    totals = CustomerTotals()
    for status, count, amount in rows:
        amount = _dec(amount)
        totals.orders += count
        if status in CREDIT_STATUSES:
            totals.credit_used += amount
        if status in OPEN_STATUSES:
            totals.open_orders += count
            totals.open_total += amount
        elif status == "invoiced":
            totals.invoiced_total += amount
        elif status in ("shipped", "closed"):
            totals.shipped_total += amount
    return totals
