"""Sales services: line arithmetic, the order workflow and its stock effects, replays."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import AuditEntry, StockLevel, StockMovement
from erp.models.invoices import Invoice
from erp.models.sales import SalesOrder, SalesOrderItem
from erp.services import InvalidTransition, NotFound, PermissionDenied, ValidationError
from erp.services import sales, stock
from erp.services.stock import InsufficientStock
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory

D = Decimal


# --- arithmetic -------------------------------------------------------------------------

@pytest.mark.parametrize("qty,price,disc,tax,expected", [
    # subtotal, discount, tax, total
    ("1", "10.00", "0", "0", ("10.00", "0.00", "0.00", "10.00")),
    ("3", "19.99", "10", "20", ("59.97", "6.00", "10.79", "64.76")),
    # 0.005 rounds half-up, not to even
    ("1", "0.05", "10", "0", ("0.05", "0.01", "0.00", "0.04")),
    ("0.125", "0.20", "0", "0", ("0.03", "0.00", "0.00", "0.03")),
    ("1", "0.25", "0", "10", ("0.25", "0.00", "0.03", "0.28")),
    ("0.001", "0.01", "0", "0", ("0.00", "0.00", "0.00", "0.00")),
    # a 100 % discount leaves nothing to tax
    ("7", "12.34", "100", "19", ("86.38", "86.38", "0.00", "0.00")),
    ("2.5", "3.33", "33.333", "7.5", ("8.33", "2.78", "0.42", "5.97")),
])
def test_line_amounts_round_half_up_per_line(qty, price, disc, tax, expected):
    amounts = sales.line_amounts(D(qty), D(price), D(disc), D(tax))
    assert (amounts.subtotal, amounts.discount, amounts.tax, amounts.total) == tuple(
        D(v) for v in expected)
    assert amounts.total == amounts.subtotal - amounts.discount + amounts.tax


@pytest.fixture
def env(app, company, make_user):
    """A company with a manager, a warehouse, a customer and two products (10 and 3 on hand)."""
    user = make_user("manager")
    warehouse = WarehouseFactory(company=company, code="MAIN")
    customer = CustomerFactory(company=company)
    widget = ProductFactory(company=company, sku="WIDGET", sale_price=D("12.50"))
    gadget = ProductFactory(company=company, sku="GADGET", sale_price=D("99.99"))
    service = ProductFactory(company=company, sku="INSTALL", kind="service",
                             sale_price=D("80.00"))
    for product, quantity in ((widget, 10), (gadget, 3)):
        stock.receive(company_id=company.id, product_id=product.id, warehouse_id=warehouse.id,
                      quantity=quantity, user=user)

    class Env:
        pass

    e = Env()
    e.company, e.user, e.warehouse, e.customer = company, user, warehouse, customer
    e.widget, e.gadget, e.service = widget, gadget, service
    e.kw = {"company_id": company.id, "user": user}
    return e


def new_order(env, lines=()):
    order = sales.create_order(customer_id=env.customer.id, warehouse_id=env.warehouse.id,
                               **env.kw)
    for product, quantity, *rest in lines:
        sales.add_line(order_id=order.id, product_id=product.id, quantity=quantity,
                       unit_price=rest[0] if rest else None, **env.kw)
    return order


def fresh(order_id) -> SalesOrder:
    db.session.rollback()
    return db.session.get(SalesOrder, order_id)


def level(env, product) -> StockLevel:
    db.session.rollback()
    return db.session.scalar(select(StockLevel).where(
        StockLevel.product_id == product.id, StockLevel.warehouse_id == env.warehouse.id))


def assert_ledger(env):
    db.session.rollback()
    assert stock.ledger_mismatches(env.company.id) == []


def test_order_totals_are_the_sums_of_the_rounded_lines(env):
    order = new_order(env)
    sales.add_line(order_id=order.id, product_id=env.widget.id, quantity="3",
                   unit_price="19.99", discount_percent="10", tax_rate="20", **env.kw)
    sales.add_line(order_id=order.id, product_id=env.gadget.id, quantity="1",
                   unit_price="0.05", discount_percent="10", **env.kw)
    sales.add_line(order_id=order.id, product_id=env.service.id, quantity="2",
                   discount_percent="100", tax_rate="19", **env.kw)
    order = fresh(order.id)
    assert (order.subtotal, order.discount_total, order.tax_total, order.total) == (
        D("220.02"), D("166.01"), D("10.79"), D("64.80"))
    assert order.items[2].unit_price == D("80.00")  # default: the product's sale price


def test_changing_and_removing_lines_keeps_totals_right(env):
    order = new_order(env, [(env.widget, "2")])
    line = fresh(order.id).items[0]
    assert fresh(order.id).total == D("25.00")
    sales.update_line(order_id=order.id, line_id=line.id, quantity="4", unit_price="",
                      discount_percent="50", tax_rate="10", **env.kw)
    order = fresh(order.id)
    assert (order.items[0].unit_price, order.total) == (D("12.50"), D("27.50"))
    sales.remove_line(order_id=order.id, line_id=line.id, **env.kw)
    sales.remove_line(order_id=order.id, line_id=line.id, **env.kw)  # replay: nothing
    order = fresh(order.id)
    assert (order.items, order.subtotal, order.total) == ([], D("0"), D("0"))


def test_bad_line_input_reports_every_field_and_writes_nothing(env):
    order = new_order(env)
    with pytest.raises(ValidationError) as error:
        sales.add_line(order_id=order.id, product_id=None, quantity="-1", unit_price="abc",
                       discount_percent="101", tax_rate="NaN", **env.kw)
    assert set(error.value.field_errors) == {"product", "quantity", "unit_price",
                                             "discount_percent", "tax_rate"}
    with pytest.raises(ValidationError, match="too large|errors"):
        sales.add_line(order_id=order.id, product_id=env.widget.id, quantity="99999999999",
                       unit_price="999999999999.99", **env.kw)
    with pytest.raises(ValidationError):
        sales.add_line(order_id=order.id, product_id=env.widget.id, quantity="1",
                       unit_price="1.005", **env.kw)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(SalesOrderItem)) == 0


def test_orders_of_another_company_are_not_found(env, other_company):
    order = new_order(env, [(env.widget, "1")])
    for action in (sales.confirm_order, sales.ship_order, sales.invoice_order,
                   sales.cancel_order):
        with pytest.raises(NotFound):
            action(company_id=other_company.id, order_id=order.id, user=None)
    foreign = ProductFactory(company=other_company)
    with pytest.raises(ValidationError):
        sales.add_line(order_id=order.id, product_id=foreign.id, quantity="1", **env.kw)
    with pytest.raises(ValidationError) as error:
        sales.create_order(company_id=other_company.id, user=None,
                           customer_id=env.customer.id, warehouse_id=env.warehouse.id)
    assert set(error.value.field_errors) == {"customer", "warehouse_id"}


def test_a_new_order_without_a_warehouse_ships_from_the_default_one(env):
    order = sales.create_order(customer_id=env.customer.id, **env.kw)
    assert order.warehouse_id == env.warehouse.id  # the only warehouse
    WarehouseFactory(company=env.company, code="AAA", name="Annex (closed)", active=False)
    annex = WarehouseFactory(company=env.company, code="ZZZ", name="Annex")
    assert sales.default_warehouse_of(env.company.id).id == annex.id  # first active by name
    order = sales.create_order(customer_id=env.customer.id, warehouse_id="", **env.kw)
    assert order.warehouse_id == annex.id


def test_invoicing_freezes_what_the_invoice_says(env):
    order = new_order(env, [(env.widget, "2", "12.50"), (env.service, "1", "80")])
    for step in (sales.confirm_order, sales.ship_order):
        step(order_id=order.id, **env.kw)
    assert db.session.scalar(select(Invoice.id)) is None  # nothing is issued before
    sales.invoice_order(order_id=order.id, **env.kw)
    invoice = db.session.scalar(select(Invoice).where(Invoice.order_id == order.id))
    issued = invoice.issued
    customer = env.customer
    assert issued["seller"] == {"name": env.company.name, "address": "",
                                "currency": env.company.currency, "tax_number": "",
                                "bank_details": "", "footer": ""}
    assert issued["customer"] == {"name": customer.name,
                                  "billing_address": customer.billing_address,
                                  "shipping_address": customer.shipping_address,
                                  "tax_number": customer.tax_number}
    assert [(line["sku"], line["quantity"], line["unit_price"], line["total"])
            for line in issued["lines"]] == [("WIDGET", "2.000", "12.50", "25.00"),
                                             ("INSTALL", "1.000", "80.00", "80.00")]
    assert (issued["subtotal"], issued["total"]) == ("105.00", "105.00")
    sales.invoice_order(order_id=order.id, **env.kw)  # a replay leaves it as issued
    db.session.rollback()
    assert db.session.scalars(select(Invoice.issued)).all() == [issued]


def test_create_order_numbers_from_the_sequence_and_validates_the_header(env):
    first, second = new_order(env), new_order(env)
    assert first.number.startswith("SO-") and first.number.endswith("000001")
    assert second.number.endswith("000002")
    with pytest.raises(ValidationError) as error:
        sales.create_order(customer_id=None, warehouse_id="x", order_date="2026-13-01",
                           notes="n" * 5000, **env.kw)
    assert set(error.value.field_errors) == {"customer", "warehouse_id", "order_date", "notes"}
    archived = CustomerFactory(company=env.company, active=False)
    with pytest.raises(ValidationError, match="errors|archived"):
        sales.create_order(customer_id=archived.id, warehouse_id=env.warehouse.id, **env.kw)


def test_full_workflow_moves_stock_and_keeps_the_ledger(env):
    order = new_order(env, [(env.widget, "4"), (env.gadget, "2"), (env.service, "1")])
    assert_ledger(env)
    sales.confirm_order(order_id=order.id, **env.kw)
    order = fresh(order.id)
    assert order.status == "confirmed" and order.confirmed_at is not None
    assert (level(env, env.widget).on_hand, level(env, env.widget).reserved) == (D(10), D(4))
    assert (level(env, env.gadget).on_hand, level(env, env.gadget).reserved) == (D(3), D(2))
    assert_ledger(env)

    with pytest.raises(InvalidTransition):
        sales.add_line(order_id=order.id, product_id=env.widget.id, quantity="1", **env.kw)
    with pytest.raises(InvalidTransition):
        sales.invoice_order(order_id=order.id, **env.kw)

    sales.ship_order(order_id=order.id, **env.kw)
    order = fresh(order.id)
    assert order.status == "shipped" and order.shipped_at is not None
    assert (level(env, env.widget).on_hand, level(env, env.widget).reserved) == (D(6), D(0))
    assert (level(env, env.gadget).on_hand, level(env, env.gadget).reserved) == (D(1), D(0))
    movements = db.session.scalars(select(StockMovement).where(
        StockMovement.kind == "sales_shipment").order_by(StockMovement.id)).all()
    # "Ship all" posts one delivery note of everything: a movement per delivery line
    [delivery] = order.deliveries
    assert delivery.status == "posted" and delivery.number.startswith("DN-")
    assert [(m.source_type, m.source_id, m.reference, m.quantity) for m in movements] == [
        ("delivery_note_line", delivery.lines[0].id, delivery.number, D("-4")),
        ("delivery_note_line", delivery.lines[1].id, delivery.number, D("-2")),
    ]
    assert [item.shipped_quantity for item in order.items] == [i.quantity for i in order.items]
    assert_ledger(env)

    with pytest.raises(InvalidTransition):
        sales.cancel_order(order_id=order.id, **env.kw)
    sales.invoice_order(order_id=order.id, **env.kw)
    order = fresh(order.id)
    assert order.status == "invoiced" and order.invoice_number.startswith("INV-")
    assert order.invoice_number.endswith("000001")
    assert_ledger(env)
    actions = db.session.scalars(select(AuditEntry.summary).where(
        AuditEntry.record_type == "sales_order", AuditEntry.action == "status")).all()
    assert len(actions) == 3


def test_replayed_transitions_do_nothing(env):
    order = new_order(env, [(env.widget, "4")])
    for _ in range(2):
        sales.confirm_order(order_id=order.id, **env.kw)
    assert level(env, env.widget).reserved == D(4)
    for _ in range(2):
        sales.ship_order(order_id=order.id, **env.kw)
    assert (level(env, env.widget).on_hand, level(env, env.widget).reserved) == (D(6), D(0))
    for _ in range(2):
        sales.invoice_order(order_id=order.id, **env.kw)
    assert fresh(order.id).invoice_number.endswith("000001")
    # a confirm replayed after the shipment refuses cleanly and changes nothing
    with pytest.raises(InvalidTransition):
        sales.confirm_order(order_id=order.id, **env.kw)
    assert db.session.scalar(select(func.count()).select_from(StockMovement).where(
        StockMovement.kind == "sales_shipment")) == 1
    assert_ledger(env)


def test_confirm_lists_every_short_line_and_reserves_nothing(env):
    order = new_order(env, [(env.widget, "4"), (env.gadget, "5"), (env.widget, "7")])
    with pytest.raises(InsufficientStock) as error:
        sales.confirm_order(order_id=order.id, **env.kw)
    message = str(error.value)
    assert "GADGET: 5 needed, 3 available" in message
    assert "line 3, WIDGET: 7 needed, 6 available" in message
    assert "line 1" not in message
    assert fresh(order.id).status == "draft"
    assert level(env, env.widget).reserved == D(0)
    assert level(env, env.gadget).reserved == D(0)
    assert_ledger(env)


def test_confirm_needs_lines_and_services_need_no_stock(env):
    empty = new_order(env)
    with pytest.raises(ValidationError, match="at least one line"):
        sales.confirm_order(order_id=empty.id, **env.kw)
    only_service = new_order(env, [(env.service, "100")])
    sales.confirm_order(order_id=only_service.id, **env.kw)
    sales.ship_order(order_id=only_service.id, **env.kw)
    assert fresh(only_service.id).status == "shipped"
    assert db.session.scalar(select(func.count()).select_from(StockMovement).where(
        StockMovement.kind == "sales_shipment")) == 0
    assert_ledger(env)


def _limit(env, amount: str) -> None:
    env.customer.credit_limit = D(amount)
    db.session.commit()


def test_confirming_over_the_credit_limit_is_refused_with_the_figures(env):
    _limit(env, "300")
    first = new_order(env, [(env.service, "2")])  # 160.00
    sales.confirm_order(order_id=first.id, **env.kw)
    for step in (sales.ship_order, sales.invoice_order):  # invoiced: still owed (no paid
        step(order_id=first.id, **env.kw)                 # state yet), so it counts
    second = new_order(env, [(env.service, "1")])  # 80.00: 240.00 in all
    sales.confirm_order(order_id=second.id, **env.kw)
    new_order(env, [(env.service, "50")])  # a draft owes nothing
    third = new_order(env, [(env.service, "1"), (env.widget, "1")])  # 92.50: 332.50 in all
    with pytest.raises(sales.CreditLimitExceeded) as refused:
        sales.confirm_order(order_id=third.id, **env.kw)
    assert str(refused.value) == (
        f"Cannot confirm {third.number}: it takes {env.customer.name} over its credit limit "
        "(limit 300.00 EUR; open orders 240.00 EUR + this order 92.50 EUR = 332.50 EUR). "
        "A manager can confirm it over the credit limit.")
    assert fresh(third.id).status == "draft"
    assert level(env, env.widget).reserved == 0  # nothing half-done
    # a cancelled order owes nothing either: cancelling the second makes room
    sales.cancel_order(order_id=second.id, **env.kw)
    sales.confirm_order(order_id=third.id, **env.kw)
    assert fresh(third.id).status == "confirmed"


def test_a_credit_limit_of_zero_means_no_limit(env):
    _limit(env, "0")
    order = new_order(env, [(env.service, "10000")])  # 800,000.00
    sales.confirm_order(order_id=order.id, **env.kw)
    assert fresh(order.id).status == "confirmed"
    assert not sales.credit_check(env.company.id, fresh(order.id)).exceeded


def test_a_manager_confirms_over_the_credit_limit_and_it_is_recorded(env, make_user):
    _limit(env, "100")
    order = new_order(env, [(env.service, "2")])  # 160.00
    with pytest.raises(PermissionDenied):
        sales.confirm_order_over_credit_limit(order_id=order.id, company_id=env.company.id,
                                              user=make_user("staff"))
    sales.confirm_order_over_credit_limit(order_id=order.id, **env.kw)
    assert fresh(order.id).status == "confirmed"
    [entry] = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "credit_override")).all()
    assert (entry.record_type, entry.record_id, entry.user_id) == (
        "sales_order", order.id, env.user.id)
    assert entry.summary == (
        f"{order.number} confirmed over the credit limit (limit 100.00 EUR; open orders "
        f"0.00 EUR + this order 160.00 EUR = 160.00 EUR) of {env.customer.name}")
    # within the limit the override is a plain confirmation, recorded as nothing more
    _limit(env, "0")
    plain = new_order(env, [(env.service, "1")])
    sales.confirm_order_over_credit_limit(order_id=plain.id, **env.kw)
    assert fresh(plain.id).status == "confirmed"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "credit_override")) == 1


def test_cancel_releases_reservations(env):
    confirmed = new_order(env, [(env.widget, "6"), (env.gadget, "3")])
    sales.confirm_order(order_id=confirmed.id, **env.kw)
    assert level(env, env.widget).reserved == D(6)
    sales.cancel_order(order_id=confirmed.id, **env.kw)
    sales.cancel_order(order_id=confirmed.id, **env.kw)  # replay: nothing more released
    assert (level(env, env.widget).on_hand, level(env, env.widget).reserved) == (D(10), D(0))
    assert level(env, env.gadget).reserved == D(0)
    draft = new_order(env, [(env.widget, "1")])
    sales.cancel_order(order_id=draft.id, **env.kw)
    assert fresh(draft.id).status == "cancelled"
    with pytest.raises(InvalidTransition):
        sales.confirm_order(order_id=draft.id, **env.kw)
    assert_ledger(env)


def test_reserved_stock_is_not_promised_twice(env):
    first = new_order(env, [(env.gadget, "2")])
    second = new_order(env, [(env.gadget, "2")])
    sales.confirm_order(order_id=first.id, **env.kw)
    with pytest.raises(InsufficientStock, match="1 available"):
        sales.confirm_order(order_id=second.id, **env.kw)
    # and reserved stock cannot be issued by hand meanwhile
    with pytest.raises(InsufficientStock):
        stock.issue(company_id=env.company.id, product_id=env.gadget.id,
                    warehouse_id=env.warehouse.id, quantity=2, user=env.user)
    sales.ship_order(order_id=first.id, **env.kw)
    assert level(env, env.gadget).on_hand == D(1)
    assert_ledger(env)


def test_header_edits_only_while_draft(env):
    order = new_order(env, [(env.widget, "1")])
    other = CustomerFactory(company=env.company)
    sales.update_order(order_id=order.id, customer_id=other.id, warehouse_id=env.warehouse.id,
                       order_date="2026-01-05", requested_date="2026-01-20", notes="Rush",
                       **env.kw)
    order = fresh(order.id)
    assert (order.customer_id, order.notes, str(order.requested_date)) == (
        other.id, "Rush", "2026-01-20")
    with pytest.raises(ValidationError):
        sales.update_order(order_id=order.id, customer_id=other.id,
                           warehouse_id=env.warehouse.id, order_date="2026-01-05",
                           requested_date="2026-01-01", **env.kw)
    sales.confirm_order(order_id=order.id, **env.kw)
    with pytest.raises(InvalidTransition):
        sales.update_order(order_id=order.id, customer_id=other.id,
                           warehouse_id=env.warehouse.id, **env.kw)


def test_customers_are_validated_and_found_by_picker_text(env):
    customer = sales.create_customer(name="  Acme Ltd ", email="Buyer@Acme.example",
                                     credit_limit="1000", **env.kw)
    assert (customer.name, customer.email) == ("Acme Ltd", "buyer@acme.example")
    assert sales.find_customer(env.company.id, f"whatever [#{customer.id}]").id == customer.id
    assert sales.find_customer(env.company.id, "acme ltd").id == customer.id
    assert sales.find_customer(env.company.id, "nobody") is None
    assert [c.id for c in sales.search_customers(env.company.id, "acme")] == [customer.id]
    with pytest.raises(ValidationError) as error:
        sales.create_customer(name="", email="not-an-email", phone="1" * 51,
                              credit_limit="-5", **env.kw)
    assert set(error.value.field_errors) == {"name", "email", "phone", "credit_limit"}
    sales.update_customer(customer_id=customer.id, name="Acme Limited", active=False, **env.kw)
    db.session.rollback()
    totals = sales.customer_totals(env.company.id, customer.id)
    assert totals.orders == 0


def test_customer_totals_by_status(env):
    a = new_order(env, [(env.widget, "1")])
    b = new_order(env, [(env.widget, "2")])
    new_order(env, [(env.gadget, "1")])
    sales.confirm_order(order_id=a.id, **env.kw)
    sales.ship_order(order_id=a.id, **env.kw)
    sales.invoice_order(order_id=a.id, **env.kw)
    sales.cancel_order(order_id=b.id, **env.kw)
    totals = sales.customer_totals(env.company.id, env.customer.id)
    assert (totals.orders, totals.open_orders, totals.open_total, totals.invoiced_total) == (
        3, 1, D("99.99"), D("12.50"))
