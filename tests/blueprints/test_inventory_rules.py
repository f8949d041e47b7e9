"""Inventory pages and issue #16: the count form names the orders holding reservations,
pickers take a barcode, archived warehouses, the warehouse page per unit, one low rule."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import StockLevel, StockMovement
from erp.services import sales
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.inventory_helpers import put_stock, stock_shop

D = Decimal


@pytest.fixture
def shop(app, company, make_user):
    return stock_shop(company, make_user("manager"), barcode="4006381333931", min_stock=D("10"))


def movements() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(StockMovement))


def test_the_count_form_refuses_a_count_below_the_reservations_naming_the_order(
        staff_client, shop):
    put_stock(shop.product, shop.main, 12)
    order = sales.create_order(customer_id=shop.customer.id, warehouse_id=shop.main.id, **shop.kw)
    sales.add_line(order_id=order.id, product_id=shop.product.id, quantity="10", **shop.kw)
    sales.confirm_order(order_id=order.id, **shop.kw)
    response = staff_client.post("/inventory/count", data={
        "product": "BOLT-8", "warehouse_id": shop.main.id, "counted": "5"})
    assert response.status_code == 422
    body = response.data.decode()
    assert f"{order.number} (10)" in body and "Release the reservations first" in body
    assert movements() == 1
    level = db.session.scalar(select(StockLevel).where(StockLevel.warehouse_id == shop.main.id))
    assert level.available == D("2")


# 10. Every product picker takes a SKU or a barcode (erp.services.catalog.find_product)

def test_stock_forms_accept_a_barcode_where_they_accept_a_sku(staff_client, shop):
    response = staff_client.post("/inventory/receive", data={
        "direction": "receive", "product": "4006381333931", "warehouse_id": shop.main.id,
        "quantity": "7"})
    assert response.status_code == 303
    response = staff_client.post("/inventory/count", data={
        "product": " 4006381333931 ", "warehouse_id": shop.main.id, "counted": "5"})
    assert response.status_code == 303
    response = staff_client.post("/inventory/transfer", data={
        "product": "4006381333931", "from_warehouse_id": shop.main.id,
        "to_warehouse_id": shop.spare.id, "quantity": "1"})
    assert response.status_code == 303
    db.session.rollback()
    assert dict(db.session.execute(select(StockLevel.warehouse_id, StockLevel.on_hand)).all()) == {
        shop.main.id: D("4"), shop.spare.id: D("1")}


def test_order_lines_accept_a_barcode(staff_client, shop):
    order = sales.create_order(customer_id=shop.customer.id, warehouse_id=shop.main.id, **shop.kw)
    response = staff_client.post(f"/sales/orders/{order.id}/lines", data={
        "product": "4006381333931", "quantity": "2", "unit_price": "", "discount_percent": "0",
        "tax_rate": "0"})
    assert response.status_code == 303
    db.session.rollback()
    assert [item.product_id for item in db.session.get(type(order), order.id).items] == [
        shop.product.id]


def test_a_barcode_matches_exactly_a_sku_first_and_a_shared_barcode_names_none(shop):
    from erp.services.catalog import find_product

    company_id = shop.company.id
    assert find_product(company_id, "4006381333931").id == shop.product.id
    assert find_product(company_id, "400638133393") is None  # a part of it is not enough
    shadow = ProductFactory(company=shop.company, sku="4006381333931")
    assert find_product(company_id, "4006381333931").id == shadow.id  # the SKU wins
    ProductFactory(company=shop.company, sku="NUT", barcode="111")
    db.session.commit()
    # a barcode names one product of a company (0021): a second one is refused
    from sqlalchemy.exc import IntegrityError
    with pytest.raises(IntegrityError):
        ProductFactory(company=shop.company, sku="NUT-2", barcode="111")
        db.session.flush()
    db.session.rollback()
    assert find_product(company_id, "111").sku == "NUT"


# 9. One low-stock rule: the minimum applies to the available stock over all warehouses

def test_low_stock_is_the_total_available_against_the_minimum_on_every_page(admin_client, shop):
    from erp.queries.dashboard import low_stock_figures
    from erp.services import purchasing, stock

    put_stock(shop.product, shop.main, 8)
    put_stock(shop.product, shop.spare, 5)  # 13 available in all, minimum 10: not low
    hx = {"HX-Request": "true"}

    def pages():
        db.session.rollback()
        stock_list = admin_client.get("/inventory/stock?low=1", headers=hx).data.decode()
        every_level = admin_client.get("/inventory/stock", headers=hx).data.decode()
        products = admin_client.get("/catalog/products?low=1", headers=hx).data.decode()
        return {"stock list": "BOLT-8" in stock_list,
                "stock badge": ">low</span>" in every_level,
                "product list": "BOLT-8" in products,
                "reorder": [r.product.sku for r in purchasing.reorder_rows(shop.company.id)]
                == ["BOLT-8"],
                "dashboard": low_stock_figures(shop.company.id)["low_stock"] == 1}

    assert not any(pages().values()), pages()
    stock.issue(company_id=shop.company.id, product_id=shop.product.id,
                warehouse_id=shop.main.id, quantity=6, user=shop.user)  # 7 in all
    assert all(pages().values()), pages()
    body = admin_client.get("/inventory/stock?low=1", headers=hx).data.decode()
    assert body.count('<tr id="level-') == 2  # both warehouses' levels of the low product


# 11. Archived warehouses: refused even by a direct POST, nothing written

def test_a_direct_post_to_an_archived_warehouse_is_refused(client_as, shop):
    from erp.models.sales import SalesOrder
    from erp.services import inventory

    inventory.set_warehouse_active(company_id=shop.company.id, warehouse_id=shop.spare.id,
                                   active=False, user=shop.user)
    staff = client_as("staff")
    response = staff.post("/sales/orders/new", data={
        "customer": f"x [#{shop.customer.id}]", "warehouse_id": str(shop.spare.id),
        "order_date": "2026-02-03"})
    assert response.status_code == 422
    for url, data in (("/inventory/receive", {"direction": "receive", "quantity": "1"}),
                      ("/inventory/count", {"counted": "1"})):
        response = staff.post(url, data={"product": "BOLT-8", "warehouse_id": shop.spare.id,
                                         **data})
        assert response.status_code == 422, url
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(SalesOrder)) == 0
    assert movements() == 0


# 14b. The warehouse page never adds quantities of different units

def test_the_warehouse_page_shows_stock_per_unit(admin_client, shop):
    put_stock(shop.product, shop.main, 100)
    put_stock(ProductFactory(company=shop.company, unit="pcs"), shop.main, 20)
    put_stock(ProductFactory(company=shop.company, unit="kg"), shop.main, "35.5")
    put_stock(ProductFactory(company=shop.company, unit="m2"), shop.main, 12)
    put_stock(ProductFactory(company=shop.company, unit="kg"), shop.spare, 7)  # elsewhere
    order = sales.create_order(customer_id=shop.customer.id, warehouse_id=shop.main.id, **shop.kw)
    sales.add_line(order_id=order.id, product_id=shop.product.id, quantity="4", **shop.kw)
    sales.confirm_order(order_id=order.id, **shop.kw)
    body = admin_client.get(f"/inventory/warehouses/{shop.main.id}").data.decode()
    assert '<dd class="col-sm-9" id="warehouse-on-hand">35.5 kg · 12 m2 · 120 pcs</dd>' in body
    assert '<dd class="col-sm-9" id="warehouse-reserved">4 pcs</dd>' in body
    assert ">4 · <a" in body  # four products in stock
    assert "167.5" not in body
    empty = admin_client.get(f"/inventory/warehouses/{shop.spare.id}").data.decode()
    assert 'id="warehouse-reserved">—</dd>' in empty and 'id="warehouse-on-hand">7 kg</dd>' in empty


# 20d. A draft order shows the available stock of its lines and of the product being added

def draft_with_lines(shop, products, quantity="1"):
    order = sales.create_order(customer_id=shop.customer.id, warehouse_id=shop.main.id, **shop.kw)
    for product in products:
        sales.add_line(order_id=order.id, product_id=product.id, quantity=quantity, **shop.kw)
    return order


def test_draft_lines_show_the_available_stock_and_warn_when_short(admin_client, shop):
    put_stock(shop.product, shop.main, 5)
    put_stock(shop.product, shop.spare, 50)  # another warehouse: not counted
    nut = ProductFactory(company=shop.company, sku="NUT-8")
    put_stock(nut, shop.main, 9)
    order = draft_with_lines(shop, [shop.product, nut, shop.product], quantity="3")
    lines = sorted(order.items, key=lambda item: item.id)
    body = admin_client.get(f"/sales/orders/{order.id}").data.decode()
    assert "Available in MAIN" in body

    def cell(line):
        start = body.index(f'id="line-{line.id}-available"')
        return body[start:body.index("</td>", start)]

    # the two BOLT-8 lines need 6 together, 5 are available: both warn
    assert ">5 <span class=\"badge text-bg-danger\">short</span>" in cell(lines[0])
    assert "short" in cell(lines[2]) and "need 6" in cell(lines[0])
    assert ">9</span>" in cell(lines[1]) and "short" not in cell(lines[1])
    response = admin_client.post(f"/sales/orders/{order.id}/lines/{lines[2].id}/remove",
                                 headers={"HX-Request": "true"})
    assert "short" not in response.data.decode()  # 3 needed, 5 available
    sales.confirm_order(order_id=order.id, **shop.kw)
    assert "Available in" not in admin_client.get(f"/sales/orders/{order.id}").data.decode()


def test_the_order_page_reads_availability_in_one_query(admin_client, shop, queries_for):
    products = [ProductFactory(company=shop.company) for _ in range(30)]
    for product in products[:20]:
        put_stock(product, shop.main, 2)
    few, many = draft_with_lines(shop, products[:3]), draft_with_lines(shop, products)
    assert queries_for(admin_client, f"/sales/orders/{few.id}") == queries_for(
        admin_client, f"/sales/orders/{many.id}")


def test_the_add_line_form_shows_the_picked_products_availability(client_as, shop,
                                                                  other_company):
    put_stock(shop.product, shop.main, 5)
    order = draft_with_lines(shop, [])
    viewer = client_as("viewer")
    page = viewer.get(f"/sales/orders/{order.id}").data.decode()
    assert f'id="order-{order.id}-add-available"' not in page  # no add form for a viewer
    staff = client_as("staff")
    page = staff.get(f"/sales/orders/{order.id}").data.decode()
    assert f'hx-get="/inventory/available?warehouse={shop.main.id}"' in page

    def hint(client, **args):
        args.setdefault("warehouse", shop.main.id)
        return client.get("/inventory/available", query_string=args,
                          headers={"HX-Request": "true"}).data.decode()

    assert "5 pcs of BOLT-8 available in MAIN" in hint(viewer, product="BOLT-8", quantity="2")
    assert "text-muted" in hint(viewer, product="4006381333931", quantity="5")
    short = hint(viewer, product=f"BOLT-8 [#{shop.product.id}]", quantity="6")
    assert "text-danger" in short and "fewer than the 6 asked" in short
    assert "available" not in hint(viewer, product="NOPE", quantity="1")
    for nonsense in ("x", "NaN", "-Infinity", "9" * 400):  # no quantity yet: no warning
        assert "text-muted" in hint(viewer, product="BOLT-8", quantity=nonsense)
    assert "available" not in hint(viewer, product="BOLT-8", warehouse="abc")
    service = ProductFactory(company=shop.company, kind="service", sku="FITTING")
    assert "available" not in hint(viewer, product=service.sku)
    theirs = client_as("staff", company=other_company)
    assert "available" not in hint(theirs, product="BOLT-8")  # neither ours nor theirs
    assert client_as("viewer").get("/inventory/available").status_code == 200
