"""Lot pages: the receipt and delivery forms' lot fields, the manual stock form, the
product's tracking field, the lot list (filters, deep pages) and a lot's trace from
supplier to customers and through production, both ways; roles, company scope and
constant query counts."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import StockMovement
from erp.models.inventory import Lot, LotLevel
from erp.models.sales import DeliveryNote, SalesOrder
from erp.services import catalog, deliveries, production, purchasing, sales
from tests.blueprints.test_sales import HX
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory

D = Decimal


@pytest.fixture
def shop(app, company, make_user):
    """A manager's company: MAIN, lot-tracked PASTE received as lot L-100 (expiring
    2030-01-01, 10) and L-200 (2029-06-01, 5) from Acme Supplies, a customer."""
    user = make_user("manager")

    class Shop:
        pass

    s = Shop()
    s.company, s.user, s.kw = company, user, {"company_id": company.id, "user": user}
    s.warehouse = WarehouseFactory(company=company, code="MAIN")
    s.paste = ProductFactory(company=company, sku="PASTE", tracking="lot")
    s.supplier = catalog.create_supplier(name="Acme Supplies", **s.kw)
    s.customer = CustomerFactory(company=company, name="Zenith Retail")
    s.receipt = receive(s, "10", "L-100", "2030-01-01")
    receive(s, "5", "L-200", "2029-06-01")
    return s


def placed_order(s, quantity="10"):
    order = purchasing.create_order(supplier_id=s.supplier.id, warehouse_id=s.warehouse.id,
                                    **s.kw)
    item = purchasing.add_line(order_id=order.id, product_id=s.paste.id, quantity=quantity,
                               unit_cost="3.00", **s.kw)
    purchasing.place_order(order_id=order.id, **s.kw)
    return order, item


def receive(s, quantity, code, expiry=""):
    order, item = placed_order(s, quantity)
    return purchasing.receive(order_id=order.id, quantities={item.id: quantity},
                              lots={item.id: code}, expiries={item.id: expiry},
                              warehouse_id=s.warehouse.id, **s.kw)


def sales_order(s, quantity, customer=None):
    order = sales.create_order(customer_id=(customer or s.customer).id,
                               warehouse_id=s.warehouse.id, **s.kw)
    sales.add_line(order_id=order.id, product_id=s.paste.id, quantity=quantity, **s.kw)
    sales.confirm_order(order_id=order.id, **s.kw)
    db.session.rollback()
    return db.session.get(SalesOrder, order.id)


def ship(s, order, quantity, code):
    return deliveries.create_delivery(order_id=order.id,
                                      quantities={order.items[0].id: quantity},
                                      lots={order.items[0].id: code}, post=True, **s.kw)


def lot_id(code) -> int:
    db.session.rollback()
    return db.session.scalar(select(Lot.id).where(Lot.code == code))


def movements() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(StockMovement))


def test_the_receipt_form_names_lots_and_refuses_a_missing_one_next_to_it(client_as, shop):
    client = client_as("staff")
    order, item = placed_order(shop, "4")
    form = client.get(f"/purchasing/orders/{order.id}/receive").get_data(as_text=True)
    assert f'name="lot-{item.id}"' in form and f'name="expiry-{item.id}"' in form
    before = movements()
    data = {"warehouse_id": shop.warehouse.id, f"qty-{item.id}": "4", f"lot-{item.id}": "",
            "receipt_token": "t-1"}
    response = client.post(f"/purchasing/orders/{order.id}/receive", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "PASTE is tracked by lot: enter the lot" in page
    assert f'id="lot-{item.id}" name="lot-{item.id}"' in page and movements() == before
    response = client.post(f"/purchasing/orders/{order.id}/receive",
                           data=data | {f"lot-{item.id}": "L-300",
                                        f"expiry-{item.id}": "31/12/2030"})
    assert response.status_code == 422 and "YYYY-MM-DD" in response.get_data(as_text=True)
    response = client.post(f"/purchasing/orders/{order.id}/receive",
                           data=data | {f"lot-{item.id}": "L-300",
                                        f"expiry-{item.id}": "2030-12-31"})
    assert response.status_code == 303
    lot = db.session.get(Lot, lot_id("L-300"))
    assert lot.expiry == date(2030, 12, 31) and lot.levels[0].on_hand == D(4)


def test_the_delivery_form_suggests_first_expiring_lots_and_refuses_a_bad_pick(client_as,
                                                                              shop):
    client = client_as("staff")
    order = sales_order(shop, "12")
    item_id = order.items[0].id
    form = client.get(f"/sales/orders/{order.id}/deliver").get_data(as_text=True)
    assert f'name="lot-{item_id}" value="L-200: 5, L-100: 7"' in form
    before = movements()
    for picked, message in [("L-100", "lot L-100 holds 10 in MAIN"),
                            ("L-100: 20", "the lots add up to 20, the quantity is 12"),
                            ("NOPE", "no lot NOPE of PASTE"),
                            ("", "PASTE is tracked by lot")]:
        response = client.post(f"/sales/orders/{order.id}/deliver",
                               data={"delivery_date": "2026-12-01", f"qty-{item_id}": "12",
                                     f"lot-{item_id}": picked, "post": "1"})
        assert response.status_code == 422, picked
        assert message in response.get_data(as_text=True), picked
    assert movements() == before and db.session.scalar(
        select(func.count()).select_from(DeliveryNote)) == 0
    response = client.post(f"/sales/orders/{order.id}/deliver",
                           data={"delivery_date": "2026-12-01", f"qty-{item_id}": "12",
                                 f"lot-{item_id}": "L-100: 7, L-200: 5", "post": "1"})
    assert response.status_code == 303
    db.session.rollback()
    assert db.session.scalar(select(LotLevel.on_hand).where(
        LotLevel.lot_id == lot_id("L-100"))) == D(3)


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_the_lot_page_traces_the_lot_from_supplier_to_each_customer(client_as, shop):
    order = sales_order(shop, "6")
    first = ship(shop, order, "2", "L-100")
    second = ship(shop, order, "4", "L-100")
    page = client_as("viewer").get(f"/inventory/lots/{lot_id('L-100')}").get_data(as_text=True)
    came = page[page.index('id="lot-came"'):page.index('id="lot-went"')]
    went = page[page.index('id="lot-went"'):]
    assert shop.receipt.number in came and "Acme Supplies" in came
    assert f'href="/purchasing/receipts/{shop.receipt.id}"' in came
    assert f'href="/catalog/suppliers/{shop.supplier.id}"' in came
    for delivery in (first, second):
        assert f'href="/sales/deliveries/{delivery.id}"' in went
    assert "Zenith Retail" in went and f'href="/sales/customers/{shop.customer.id}"' in went
    assert "MAIN: 4" in page and "2030-01-01" in page


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_production_is_traced_both_ways_between_component_and_product_lots(client_as, shop):
    kit = ProductFactory(company=shop.company, sku="KIT", tracking="serial")
    production.add_bom_line(product_id=kit.id, component_id=shop.paste.id, quantity="2",
                            **shop.kw)
    made = production.create_order(product_id=kit.id, quantity="2",
                                   component_warehouse_id=shop.warehouse.id,
                                   output_warehouse_id=shop.warehouse.id,
                                   planned_start=date.today(), **shop.kw)
    production.start_order(order_id=made.id, **shop.kw)
    production.complete_order(order_id=made.id, **shop.kw)
    client = client_as("viewer")
    component = client.get(f"/inventory/lots/{lot_id('L-200')}").get_data(as_text=True)
    went = component[component.index('id="lot-went"'):]
    assert made.number in went and f'href="/production/orders/{made.id}"' in went
    serial = f"{made.number}-001"
    assert f'href="/inventory/lots/{lot_id(serial)}"' in went and f"KIT {serial}" in went
    product = client.get(f"/inventory/lots/{lot_id(serial)}").get_data(as_text=True)
    assert "Serial number " + serial in product
    came = product[product.index('id="lot-came"'):product.index('id="lot-went"')]
    assert f'href="/inventory/lots/{lot_id("L-200")}"' in came and "PASTE L-200" in came


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_the_lot_list_filters_by_product_expiry_and_stock(client_as, shop):
    other = ProductFactory(company=shop.company, sku="GLUE", tracking="lot")
    db.session.add(Lot(company_id=shop.company.id, product_id=other.id, code="G-1",
                       expiry=date(2027, 1, 1)))
    db.session.commit()
    client = client_as("viewer")

    def codes(query: str) -> list[str]:
        html = client.get(f"/inventory/lots?{query}").get_data(as_text=True)
        return [code for code in ("L-100", "L-200", "G-1") if f">{code}</a>" in html]

    assert codes("") == ["L-100", "L-200", "G-1"]
    assert codes("product=PASTE") == ["L-100", "L-200"]
    assert codes("expires_to=2029-12-31") == ["L-200", "G-1"]
    assert codes("expires_from=2029-12-31") == ["L-100"]
    assert codes("stock=0") == ["G-1"] and codes("stock=1") == ["L-100", "L-200"]
    assert codes("q=l-1") == ["L-100"]
    assert codes("expires_to=garbage&stock=x&sort=nope") == ["L-100", "L-200", "G-1"]
    html = client.get("/inventory/lots?sort=expiry", headers=HX).get_data(as_text=True)
    assert "<html" not in html and html.index("G-1") < html.index("L-200") < html.index("L-100")


def test_lot_pages_are_for_viewers_of_the_company_only(app, client_as, shop, other_company,
                                                       other_company_client):
    assert app.test_client().get("/inventory/lots").status_code in (302, 303)
    lot = lot_id("L-100")
    assert client_as("viewer").get(f"/inventory/lots/{lot}").status_code == 200
    assert other_company_client.get(f"/inventory/lots/{lot}").status_code == 404
    assert other_company_client.get("/inventory/lots/999999").status_code == 404
    assert "L-100" not in other_company_client.get("/inventory/lots").get_data(as_text=True)


def test_list_and_lot_page_query_counts_are_constant(client_as, shop, queries_for):
    client = client_as("viewer")
    spare = WarehouseFactory(company=shop.company, code="SPARE")
    order = sales_order(shop, "3")
    ship(shop, order, "1", "L-100")
    few = queries_for(client, "/inventory/lots?per_page=100")
    few_hx = queries_for(client, "/inventory/lots?per_page=100&product=PASTE", headers=HX)
    lot_page = queries_for(client, f"/inventory/lots/{lot_id('L-100')}")
    for n in range(4):
        receive(shop, "2", f"M-{n}")
    from erp.services import stock
    stock.transfer(company_id=shop.company.id, product_id=shop.paste.id,
                   from_warehouse_id=shop.warehouse.id, to_warehouse_id=spare.id,
                   quantity="1", user=shop.user, lot_id=lot_id("L-100"))
    for n in range(3):  # more deliveries to more customers, returns of them
        order = sales_order(shop, "1", CustomerFactory(company=shop.company))
        ship(shop, order, "1", "L-100")
    assert queries_for(client, "/inventory/lots?per_page=100") == few
    assert queries_for(client, "/inventory/lots?per_page=100&product=PASTE",
                       headers=HX) == few_hx
    assert queries_for(client, f"/inventory/lots/{lot_id('L-100')}") == lot_page


def test_a_deep_page_of_lots_costs_a_constant_number_of_queries(client_as, shop,
                                                                queries_for):
    db.session.add_all([Lot(company_id=shop.company.id, product_id=shop.paste.id,
                            code=f"B-{n:03d}", expiry=date(2030, 1, 1) + timedelta(days=n % 5))
                        for n in range(150)])
    db.session.commit()
    client = client_as("viewer")
    first = queries_for(client, "/inventory/lots?per_page=25&page=1")
    deep = queries_for(client, "/inventory/lots?per_page=25&page=6")
    assert deep == first + 1  # the page's ids, then its rows
    html = client.get("/inventory/lots?per_page=25&page=7&sort=code").get_data(as_text=True)
    assert ">L-100</a>" in html and ">L-200</a>" in html and ">B-149</a>" not in html
    html = client.get("/inventory/lots?per_page=25&page=6&sort=code").get_data(as_text=True)
    assert ">B-125</a>" in html and ">B-149</a>" in html and ">B-124</a>" not in html


def test_the_manual_stock_form_takes_a_lot_and_refuses_it_missing(client_as, shop):
    client = client_as("staff")
    data = {"direction": "receive", "product": "PASTE", "warehouse_id": shop.warehouse.id,
            "quantity": "3", "lot": "", "expiry": "", "note": ""}
    before = movements()
    response = client.post("/inventory/receive", data=data)
    assert response.status_code == 422
    assert "PASTE is tracked by lot: enter the lot" in response.get_data(as_text=True)
    assert movements() == before
    assert client.post("/inventory/receive", data=data | {"lot": "HAND-1",
                                                          "expiry": "2031-01-01"}
                       ).status_code == 303
    response = client.post("/inventory/receive", data=data | {"direction": "issue",
                                                              "lot": "HAND-1",
                                                              "quantity": "5"})
    assert response.status_code == 422
    assert "Lot HAND-1 of PASTE holds 3 in MAIN" in response.get_data(as_text=True)


def test_the_product_form_sets_tracking_but_not_while_there_is_stock(client_as, shop):
    client = client_as("manager")
    form = client.get(f"/catalog/products/{shop.paste.id}/edit").get_data(as_text=True)
    assert 'name="tracking"' in form and 'value="serial"' in form
    data = {"sku": "PASTE", "name": shop.paste.name, "kind": shop.paste.kind, "unit": "pcs",
            "tracking": "none", "sale_price": "0", "cost_price": str(shop.paste.cost_price),
            "min_stock": "0", "barcode": "", "description": "", "tax_code_id": "",
            "category_id": "", "preferred_supplier": ""}
    response = client.post(f"/catalog/products/{shop.paste.id}/edit", data=data)
    assert response.status_code == 422
    assert "its tracking changes only once it has no stock" in response.get_data(as_text=True)
    fresh = ProductFactory(company=shop.company, sku="NEWONE")
    response = client.post(f"/catalog/products/{fresh.id}/edit",
                           data=data | {"sku": "NEWONE", "tracking": "serial",
                                        "cost_price": "0"})
    assert response.status_code == 303
    page = client.get(f"/catalog/products/{fresh.id}").get_data(as_text=True)
    assert "By serial number" in page and "/inventory/lots?product=NEWONE" in page


def test_the_demo_has_tracked_products_whose_lots_trace_to_customers(app, seeded_demo):
    from erp.seeds.lots import PASTE
    from erp.services import stock
    from tests.conftest import login

    assert "lots: tracked products with lots and serial numbers" in seeded_demo.output
    db.session.rollback()
    codes = set(db.session.scalars(select(Lot.code)))
    assert {"TP-2401", "TP-2402", "X1-0001", "X1-0004"} <= codes
    assert stock.ledger_mismatches() == []
    client = login(app.test_client(), "viewer@example.com", "viewer")
    listed = client.get(f"/inventory/lots?product={PASTE}").get_data(as_text=True)
    assert ">TP-2401</a>" in listed and ">TP-2402</a>" in listed
    page = client.get(f"/inventory/lots/{lot_id('TP-2401')}").get_data(as_text=True)
    went = page[page.index('id="lot-went"'):]
    assert went.count("/sales/deliveries/") == 2 and "/production/orders/" in went
    assert "GR-" in page[:page.index('id="lot-went"')]
