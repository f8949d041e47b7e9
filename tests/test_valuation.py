"""Stock valuation (issue 19): every movement's unit cost and value, the moving-average
cost per product and warehouse, the value as of any past day from the day tables, and
the page `/inventory/valuation` (groups, filters, totals, CSV, bad dates, roles, scope,
query counts)."""
import csv
import io
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models import StockLevel, StockMovement
from erp.services import atomic, catalog, stock, valuation
from tests.factories.catalog import CategoryFactory, ProductFactory, WarehouseFactory
from tests.services.test_sales_concurrency import run_threads

D = Decimal
URL = "/inventory/valuation"


@pytest.fixture
def shop(app, company, make_user):
    manager = make_user("manager")
    tools = CategoryFactory(company=company, name="Tools")
    parts = CategoryFactory(company=company, name="Parts")
    drill = ProductFactory(company=company, sku="DRILL", category=tools, cost_price=D("6.00"))
    bolt = ProductFactory(company=company, sku="BOLT", category=parts, cost_price=D("0.10"))
    loose = ProductFactory(company=company, sku="LOOSE", cost_price=D("2.00"))
    main = WarehouseFactory(company=company, code="MAIN")
    spare = WarehouseFactory(company=company, code="SPARE")

    class Shop:
        pass

    shop = Shop()
    shop.__dict__.update(company=company, manager=manager, tools=tools, parts=parts,
                         drill=drill, bolt=bolt, loose=loose, main=main, spare=spare,
                         kw={"company_id": company.id, "user": manager})
    return shop


def buy(shop, product, warehouse, quantity, cost):
    """A receipt at a known cost (what a purchase order's receipt does)."""
    with atomic():
        return catalog.receive_at_cost(
            company_id=shop.company.id, user=shop.manager, product_id=product.id,
            warehouse_id=warehouse.id, quantity=D(str(quantity)), unit_cost=D(str(cost)),
            kind="purchase_receipt", source=stock.Source(None, None, "PO-TEST"))


def level(product, warehouse) -> StockLevel:
    db.session.rollback()
    return db.session.scalar(select(StockLevel).where(StockLevel.product_id == product.id,
                                                      StockLevel.warehouse_id == warehouse.id))


def read_csv(response) -> list[dict]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def assert_valuation(shop):
    db.session.rollback()
    assert valuation.mismatches(shop.company.id) == []
    assert stock.ledger_mismatches(shop.company.id) == []


# ---------------------------------------------------------------- the service

def test_moves_are_valued_at_the_moving_average_of_their_warehouse(shop):
    buy(shop, shop.drill, shop.main, 10, "1.00")
    buy(shop, shop.drill, shop.main, 20, "2.00")
    assert (level(shop.drill, shop.main).value, level(shop.drill, shop.main).average_cost) \
        == (D("50.00"), D("1.6667"))
    out = stock.issue(product_id=shop.drill.id, warehouse_id=shop.main.id, quantity="3",
                      **shop.kw)
    assert (out.unit_cost, out.value) == (D("1.6667"), D("-5.00"))  # 50 x 27/30 = 45
    away, into = stock.transfer(product_id=shop.drill.id, from_warehouse_id=shop.main.id,
                                to_warehouse_id=shop.spare.id, quantity="7", **shop.kw)
    assert away.value == D("-11.67") and into.value == D("11.67")  # the value moves along
    assert into.unit_cost == away.unit_cost
    assert level(shop.drill, shop.main).value == D("33.33")
    # the last units out take what is left: an empty level is worth exactly nothing
    last = stock.issue(product_id=shop.drill.id, warehouse_id=shop.main.id, quantity="20",
                       **shop.kw)
    assert last.value == D("-33.33")
    assert (level(shop.drill, shop.main).on_hand, level(shop.drill, shop.main).value) \
        == (D(0), D(0))
    # a receipt without a cost comes in at the level's average, or at the cost price
    more = stock.receive(product_id=shop.drill.id, warehouse_id=shop.spare.id, quantity="1",
                         **shop.kw)
    assert more.unit_cost == D("1.6671")  # 11.67 / 7
    empty = stock.receive(product_id=shop.drill.id, warehouse_id=shop.main.id, quantity="2",
                          **shop.kw)
    # (the product's cost price, by moving average over all warehouses: 50 / 30)
    assert (empty.unit_cost, empty.value) == (D("1.6700"), D("3.34"))
    assert_valuation(shop)


def test_a_warehouse_keeps_its_own_average(shop):
    """Per product and warehouse: a dear receipt in SPARE leaves MAIN's value alone."""
    buy(shop, shop.bolt, shop.main, 100, "0.10")
    buy(shop, shop.bolt, shop.spare, 100, "0.30")
    assert level(shop.bolt, shop.main).average_cost == D("0.1000")
    assert level(shop.bolt, shop.spare).average_cost == D("0.3000")
    issued = stock.issue(product_id=shop.bolt.id, warehouse_id=shop.main.id, quantity="10",
                         **shop.kw)
    assert issued.value == D("-1.00")
    assert_valuation(shop)


def test_a_count_and_a_refused_move_keep_the_values(shop):
    buy(shop, shop.bolt, shop.main, 10, "0.25")
    stock.adjust(product_id=shop.bolt.id, warehouse_id=shop.main.id, counted="12", **shop.kw)
    assert level(shop.bolt, shop.main).value == D("3.00")
    with pytest.raises(stock.InsufficientStock):
        stock.issue(product_id=shop.bolt.id, warehouse_id=shop.main.id, quantity="13",
                    **shop.kw)
    assert level(shop.bolt, shop.main).value == D("3.00")
    assert_valuation(shop)


def test_a_revaluation_values_the_stock_in_every_warehouse_at_the_new_cost(shop):
    buy(shop, shop.drill, shop.main, 4, "5.00")
    buy(shop, shop.drill, shop.spare, 2, "7.00")
    catalog.revalue_product(company_id=shop.company.id, product_id=shop.drill.id,
                            user=shop.manager, cost_price="8.00", reason="Price list")
    assert (level(shop.drill, shop.main).value, level(shop.drill, shop.spare).value) \
        == (D("32.00"), D("16.00"))
    moves = db.session.scalars(select(StockMovement).where(
        StockMovement.kind == "revaluation").order_by(StockMovement.id)).all()
    assert [(m.quantity, m.value, m.unit_cost) for m in moves] == [
        (D(0), D("12.00"), D("8.0000")), (D(0), D("2.00"), D("8.0000"))]
    assert_valuation(shop)


# ---------------------------------------------------------------- as of a past day

def ledger_as_of(company_id: int, day: date) -> dict:
    """The recomputation from the ledger: per (product, warehouse) the quantity and the
    value (quantity x unit cost, as each movement stored it) of its movements until `day`."""
    figures: dict = {}
    for movement in db.session.scalars(select(StockMovement).where(
            StockMovement.company_id == company_id)):
        if movement.created_at.date() > day:
            continue
        key = (movement.product_id, movement.warehouse_id)
        quantity, value, priced = figures.get(key, (D(0), D(0), D(0)))
        figures[key] = (quantity + movement.quantity, value + movement.value,
                        priced + movement.quantity * movement.unit_cost)
    return figures


@pytest.mark.parametrize("config_overrides", [{"RATELIMIT_EXPORT": "100 per minute"}])
def test_values_as_of_past_days_equal_the_ledger_recomputed(shop, client_as, monkeypatch):
    start = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
    days = {}

    def on(n):
        moment = start + timedelta(days=n)
        monkeypatch.setattr(stock, "utcnow", lambda: moment)
        days[n] = moment.date()

    on(0)
    buy(shop, shop.drill, shop.main, 10, "3.00")
    buy(shop, shop.bolt, shop.main, 1000, "0.05")
    on(2)
    buy(shop, shop.drill, shop.main, 5, "4.50")
    stock.issue(product_id=shop.bolt.id, warehouse_id=shop.main.id, quantity="333", **shop.kw)
    on(3)
    stock.transfer(product_id=shop.drill.id, from_warehouse_id=shop.main.id,
                   to_warehouse_id=shop.spare.id, quantity="4", **shop.kw)
    buy(shop, shop.loose, shop.spare, 3, "2.10")
    on(5)
    stock.issue(product_id=shop.drill.id, warehouse_id=shop.main.id, quantity="11", **shop.kw)
    buy(shop, shop.bolt, shop.spare, 10, "0.07")
    monkeypatch.undo()
    assert_valuation(shop)

    viewer = client_as("viewer")
    for n in (0, 1, 2, 3, 4, 5):
        day = days.get(n) or (start + timedelta(days=n)).date()
        expected = ledger_as_of(shop.company.id, day)
        response = viewer.get(f"{URL}?date={day.isoformat()}&format=csv&per_page=100")
        rows = {(int(r["product_id"]), int(r["warehouse_id"])): r
                for r in read_csv(response)}
        held = {key: figures for key, figures in expected.items()
                if figures[0] or figures[1]}
        assert set(rows) == set(held), day
        for key, (quantity, value, priced) in held.items():
            assert D(rows[key]["quantity"]) == quantity, (day, key)
            assert D(rows[key]["value"]).quantize(D("0.01")) == value, (day, key)
            # each value is its quantity x unit cost rounded to cents (4-decimal costs)
            assert abs(value - priced) <= D("0.05"), (day, key)
        total = sum((v for _, v, _ in held.values()), D(0))
        page = viewer.get(f"{URL}?date={day.isoformat()}").get_data(as_text=True)
        assert f"{total:,.2f}" in page, day
        per_warehouse = viewer.get(f"{URL}?date={day.isoformat()}&group=warehouse&format=csv")
        by_code = {r["warehouse"]: D(r["value"]).quantize(D("0.01")) for r in
                   read_csv(per_warehouse)}
        for warehouse in (shop.main, shop.spare):
            value = sum((v for (p, w), (_, v, _) in held.items() if w == warehouse.id), D(0))
            assert by_code.get(warehouse.code, D("0.00")) == value, (day, warehouse.code)
        per_category = viewer.get(f"{URL}?date={day.isoformat()}&group=category&format=csv")
        by_name = {r["category"]: D(r["value"]).quantize(D("0.01")) for r in
                   read_csv(per_category)}
        for category, product in ((shop.tools, shop.drill), (shop.parts, shop.bolt)):
            value = sum((v for (p, w), (_, v, _) in held.items() if p == product.id), D(0))
            assert by_name.get(category.name, D("0.00")) == value, (day, category.name)


def test_the_value_today_is_the_sum_over_levels_of_quantity_times_average(shop, client_as):
    buy(shop, shop.drill, shop.main, 3, "10.00")
    buy(shop, shop.drill, shop.main, 4, "11.11")
    buy(shop, shop.bolt, shop.spare, 7, "0.33")
    stock.issue(product_id=shop.drill.id, warehouse_id=shop.main.id, quantity="2", **shop.kw)
    db.session.rollback()
    levels = db.session.scalars(select(StockLevel).where(
        StockLevel.company_id == shop.company.id)).all()
    total = sum((lv.value for lv in levels), D(0))
    assert all(abs(lv.on_hand * (lv.value / lv.on_hand) - lv.value) < D("0.000001")
               for lv in levels if lv.on_hand)
    page = client_as("viewer").get(URL).get_data(as_text=True)
    assert f"{total:,.2f}" in page
    assert_valuation(shop)


# ---------------------------------------------------------------- the page

def test_every_role_reads_the_valuation_and_it_groups_and_filters(shop, client_as):
    buy(shop, shop.drill, shop.main, 2, "6.50")
    buy(shop, shop.bolt, shop.spare, 100, "0.12")
    buy(shop, shop.loose, shop.main, 1, "3.00")
    for role in ("viewer", "staff", "manager", "admin"):
        client = client_as(role)
        page = client.get(URL)
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert "DRILL" in text and "BOLT" in text and "28.00" in text  # 13 + 12 + 3
    viewer = client_as("viewer")
    text = viewer.get(f"{URL}?warehouse={shop.main.id}").get_data(as_text=True)
    assert "DRILL" in text and "BOLT" not in text and "16.00" in text
    text = viewer.get(f"{URL}?category={shop.parts.id}").get_data(as_text=True)
    assert "BOLT" in text and "DRILL" not in text and "12.00" in text
    text = viewer.get(f"{URL}?group=category").get_data(as_text=True)
    assert "Tools" in text and "Parts" in text and "valuation-uncategorized" in text
    text = viewer.get(f"{URL}?group=warehouse&category={shop.tools.id}").get_data(as_text=True)
    assert f"valuation-warehouse-{shop.main.id}" in text and "13.00" in text
    assert f"valuation-warehouse-{shop.spare.id}" not in text
    fragment = viewer.get(URL, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "valuation-table" in fragment and "<html" not in fragment
    assert client_as("viewer").get("/").status_code == 200


def test_bad_and_future_dates_show_today_with_a_message(shop, client_as):
    buy(shop, shop.drill, shop.main, 1, "4.00")
    viewer = client_as("viewer")
    for value, says in (("2026-13-45", "is not a date"), ("yesterday", "is not a date"),
                        ("2999-01-01", "is in the future"), ("x" * 500, "is not a date")):
        response = viewer.get(f"{URL}?date={value}")
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert says in text and "4.00" in text, value
    assert viewer.get(f"{URL}?group=nonsense&sort=bogus&page=abc").status_code == 200


def test_a_day_before_any_stock_shows_nothing(shop, client_as):
    buy(shop, shop.drill, shop.main, 1, "4.00")
    text = client_as("viewer").get(f"{URL}?date=2001-01-01").get_data(as_text=True)
    assert "DRILL" not in text and "0.00" in text


def test_another_company_sees_none_of_it(shop, client_as, other_company):
    buy(shop, shop.drill, shop.main, 2, "6.50")
    other = client_as("manager", company=other_company)
    for query in ("", f"?warehouse={shop.main.id}", f"?category={shop.tools.id}",
                  "?group=category", "?group=warehouse", "?format=csv"):
        response = other.get(URL + query)
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert "DRILL" not in text and "13.00" not in text, query
        assert f"valuation-warehouse-{shop.main.id}" not in text, query


def test_anonymous_users_are_sent_to_log_in(client):
    assert client.get(URL).status_code in (302, 401)


@pytest.mark.parametrize("group", ["product", "category", "warehouse"])
def test_the_query_count_does_not_grow_with_the_rows(shop, client_as, queries_for, group):
    viewer = client_as("viewer")
    buy(shop, shop.drill, shop.main, 1, "1.00")
    url = f"{URL}?group={group}"
    few = queries_for(viewer, url)
    for n in range(12):
        category = CategoryFactory(company=shop.company, name=f"Cat {n}")
        warehouse = WarehouseFactory(company=shop.company, code=f"W{n}")
        product = ProductFactory(company=shop.company, sku=f"P-{n}", category=category)
        buy(shop, product, warehouse, n + 1, "2.00")
    assert queries_for(viewer, url) == few


# ---------------------------------------------------------------- concurrency

@pytest.mark.postgresql_only
def test_racing_receipts_at_different_costs_keep_the_average(app, shop):
    """8 receipts of 10 units at 1.00 .. 8.00 race into one warehouse: the level holds 80
    worth 360.00 (average 4.50), the ledger and the day totals agree."""
    buy(shop, shop.bolt, shop.spare, 80, "0.50")

    def receive(i, user):
        with atomic():
            catalog.receive_at_cost(
                company_id=shop.company.id, user=user, product_id=shop.drill.id,
                warehouse_id=shop.main.id, quantity=D(10), unit_cost=D(i + 1),
                kind="purchase_receipt", source=stock.Source(None, None, f"PO-{i}"))
        # and an issue of another product meanwhile: the day totals add up under the race
        stock.issue(company_id=shop.company.id, user=user, product_id=shop.bolt.id,
                    warehouse_id=shop.spare.id, quantity="1")

    run_threads(app, shop.manager.id, receive)
    main = level(shop.drill, shop.main)
    assert (main.on_hand, main.value, main.average_cost) == (D(80), D("360.00"), D("4.5000"))
    spare = level(shop.bolt, shop.spare)
    assert (spare.on_hand, spare.value) == (D(72), D("36.00"))
    assert_valuation(shop)


def test_a_product_moved_to_another_category_takes_its_value_along(shop, client_as):
    buy(shop, shop.drill, shop.main, 3, "5.00")
    buy(shop, shop.bolt, shop.main, 10, "1.00")
    catalog.update_product(company_id=shop.company.id, product_id=shop.bolt.id,
                           user=shop.manager, sku="BOLT", name=shop.bolt.name,
                           kind=shop.bolt.kind, unit=shop.bolt.unit,
                           sale_price=str(shop.bolt.sale_price),
                           cost_price=str(shop.bolt.cost_price), min_stock="0",
                           category_id=str(shop.tools.id))
    assert_valuation(shop)  # the category totals follow the products' categories now
    rows = read_csv(client_as("viewer").get(f"{URL}?group=category&format=csv"))
    assert {r["category"]: r["value"] for r in rows} == {"Tools": "25.00"}
