"""The lot choice on the pages: a sales order's "Ship all", a production order's
completion and a return form offer each tracked line's lots prefilled with the
first-expiring suggestion, move what the user names, and refuse a bad pick with its
message and nothing written; for the roles that may take the step, in the company only,
with a constant query count."""
from decimal import Decimal

from sqlalchemy import func, select

from erp.extensions import db
from erp.models import StockMovement
from erp.models.inventory import Lot, LotLevel
from erp.models.production import ProductionOrder
from erp.models.returns import SalesReturn
from erp.models.sales import SalesOrder
from erp.services import lots, production, sales, stock
from tests.blueprints.test_lots import lot_id, movements, sales_order, ship, shop  # noqa: F401
from tests.factories.catalog import ProductFactory
from tests.services.test_lot_choice import started_kit

D = Decimal


def on_hand(code: str) -> Decimal:
    db.session.rollback()
    return db.session.scalar(select(LotLevel.on_hand).where(LotLevel.lot_id == lot_id(code)))


def test_ship_all_offers_the_suggested_lots_to_a_manager_and_ships_the_ones_named(client_as,
                                                                                 shop):
    order = sales_order(shop, "6")
    item_id = order.items[0].id
    manager, staff = client_as("manager"), client_as("staff")
    page = manager.get(f"/sales/orders/{order.id}").get_data(as_text=True)
    assert f'id="order-{order.id}-ship-lots"' in page
    assert f'name="lot-{item_id}" value="L-200: 5, L-100: 1"' in page
    assert f'id="order-{order.id}-ship-lots"' not in staff.get(
        f"/sales/orders/{order.id}").get_data(as_text=True)  # staff may not ship all
    response = manager.post(f"/sales/orders/{order.id}/ship", data={f"lot-{item_id}": "L-100"})
    assert response.status_code == 303
    assert (on_hand("L-100"), on_hand("L-200")) == (D(4), D(5))
    assert db.session.get(SalesOrder, order.id).status == "shipped"


def test_ship_all_refuses_a_bad_lot_with_its_message_and_ships_nothing(client_as, shop):
    order = sales_order(shop, "6")
    item_id = order.items[0].id
    client = client_as("manager")
    before = movements()
    response = client.post(f"/sales/orders/{order.id}/ship", data={f"lot-{item_id}": "L-200"},
                           follow_redirects=True)
    assert "lot L-200 holds 5 in MAIN" in response.get_data(as_text=True)
    assert movements() == before
    assert db.session.get(SalesOrder, order.id).status == "confirmed"
    assert client_as("staff").post(f"/sales/orders/{order.id}/ship",
                                   data={f"lot-{item_id}": "L-100"}).status_code == 403
    assert movements() == before


def test_the_order_page_costs_the_same_whatever_its_tracked_lines(client_as, shop,
                                                                  queries_for):
    client = client_as("manager")
    small = sales_order(shop, "1")
    big = sales.create_order(customer_id=shop.customer.id, warehouse_id=shop.warehouse.id,
                             **shop.kw)
    for number in range(4):
        product = ProductFactory(company=shop.company, sku=f"LOTTED-{number}", tracking="lot")
        lots.with_lot(stock.receive, company_id=shop.company.id, product_id=product.id,
                      lot=f"B-{number}", create=True, warehouse_id=shop.warehouse.id,
                      quantity="2", user=shop.user)
        sales.add_line(order_id=big.id, product_id=product.id, quantity="1", **shop.kw)
    sales.add_line(order_id=big.id, product_id=shop.paste.id, quantity="1", **shop.kw)
    db.session.commit()
    sales.confirm_order(order_id=big.id, **shop.kw)
    assert queries_for(client, f"/sales/orders/{small.id}") == queries_for(
        client, f"/sales/orders/{big.id}")


def test_ship_all_of_another_company_answers_404(shop, other_company_client):
    order = sales_order(shop, "2")
    assert other_company_client.get(f"/sales/orders/{order.id}").status_code == 404
    assert other_company_client.post(f"/sales/orders/{order.id}/ship",
                                     data={f"lot-{order.items[0].id}": "L-100"}
                                     ).status_code == 404


def test_completing_production_offers_the_suggested_lots_and_consumes_the_ones_named(
        client_as, shop):
    order, lines = started_kit(shop, {shop.paste: "2"}, tracking="none")
    line_id = lines[shop.paste.id]
    client = client_as("manager")
    page = client.get(f"/production/orders/{order.id}").get_data(as_text=True)
    assert f'name="lot-{line_id}" value="L-200: 5, L-100: 1"' in page  # 6 needed
    assert f'id="order-{order.id}-consume-lots"' not in client_as("staff").get(
        f"/production/orders/{order.id}").get_data(as_text=True)
    before = movements()
    response = client.post(f"/production/orders/{order.id}/complete",
                           data={f"lot-{line_id}": "L-200: 5, L-300: 1"}, follow_redirects=True)
    assert "no lot L-300 of PASTE" in response.get_data(as_text=True)
    assert movements() == before
    assert db.session.get(ProductionOrder, order.id).status == "in_progress"
    response = client.post(f"/production/orders/{order.id}/complete",
                           data={f"lot-{line_id}": "L-100: 6"})
    assert response.status_code == 303
    assert (on_hand("L-100"), on_hand("L-200")) == (D(4), D(5))
    assert db.session.get(ProductionOrder, order.id).status == "done"


def test_the_return_form_names_lots_and_refuses_one_the_delivery_did_not_ship(client_as,
                                                                               shop):
    order = sales_order(shop, "6")
    delivery = ship(shop, order, "6", "L-100: 6")
    line_id = delivery.lines[0].id
    client = client_as("manager")
    form = client.get(f"/sales/deliveries/{delivery.id}/return").get_data(as_text=True)
    assert f'name="lot-{line_id}"' in form
    data = {"return_date": "2026-12-01", "warehouse_id": shop.warehouse.id,
            "reason": "Leaking", f"qty-{line_id}": "2", "post": "1"}
    before = movements()
    response = client.post(f"/sales/deliveries/{delivery.id}/return",
                           data=data | {f"lot-{line_id}": "L-200"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "L-200 is not among the lots" in page
    assert movements() == before
    response = client.post(f"/sales/deliveries/{delivery.id}/return",
                           data=data | {f"lot-{line_id}": "L-100"})
    assert response.status_code == 303
    assert on_hand("L-100") == D(6)
    returned = db.session.scalar(select(SalesReturn))
    detail = client.get(f"/sales/returns/{returned.id}").get_data(as_text=True)
    assert "L-100" in detail
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(StockMovement).where(
        StockMovement.source_type == "sales_return_line")) == 1
    assert db.session.scalar(select(func.count()).select_from(Lot)) == 2


def test_a_posted_sales_return_of_invoiced_goods_offers_a_credit_note(client_as, shop):
    from erp.services import invoices, returns

    order = sales_order(shop, "6")
    delivery = ship(shop, order, "6", "L-100: 6")
    invoice = invoices.create_invoice_from_order(order_id=order.id, **shop.kw)
    invoices.issue_invoice(invoice_id=invoice.id, **shop.kw)
    db.session.rollback()
    draft = returns.create_sales_return(
        delivery_id=delivery.id, quantities={delivery.lines[0].id: "1"},
        warehouse_id=shop.warehouse.id, reason="Leaking", **shop.kw)
    client = client_as("staff")
    page = client.get(f"/sales/returns/{draft.id}").get_data(as_text=True)
    assert f'id="return-{draft.id}-credit"' not in page  # a draft: nothing came back yet
    returns.post_sales_return(return_id=draft.id, **shop.kw)
    page = client.get(f"/sales/returns/{draft.id}").get_data(as_text=True)
    assert f'/money/invoices/{invoice.id}/credit' in page
    assert f'id="return-{draft.id}-credit"' not in client_as("viewer").get(
        f"/sales/returns/{draft.id}").get_data(as_text=True)
