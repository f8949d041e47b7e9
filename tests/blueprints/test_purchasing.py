"""Purchasing pages: roles, company scope, bad input, htmx fragments and query counts."""
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import StockLevel, StockMovement
from erp.models.purchasing import GoodsReceipt, PurchaseOrder, PurchaseOrderItem
from erp.services import purchasing as service
from erp.services import stock
from tests.factories.catalog import ProductFactory, SupplierFactory, WarehouseFactory
from tests.factories.purchasing import PurchaseOrderFactory, PurchaseOrderItemFactory

D = Decimal
HX = {"HX-Request": "true"}


@pytest.fixture
def po(app, company, make_user):
    """An ordered PO with two lines, a draft with one line, and their references."""

    class Ctx:
        pass

    c = Ctx()
    c.company = company
    c.manager = make_user("manager")
    c.supplier = SupplierFactory(company=company, name="Acme Supplies")
    c.main = WarehouseFactory(company=company, code="MAIN")
    c.bolt = ProductFactory(company=company, sku="BOLT", cost_price=D("2.00"))
    c.nut = ProductFactory(company=company, sku="NUT", cost_price=D("1.00"))
    kw = dict(company_id=company.id, user=c.manager)
    c.draft = service.create_order(supplier_id=c.supplier.id, warehouse_id=c.main.id, **kw)
    c.draft_line = service.add_line(order_id=c.draft.id, product_id=c.bolt.id, quantity="3", **kw)
    c.order = service.create_order(supplier_id=c.supplier.id, warehouse_id=c.main.id, **kw)
    c.line1 = service.add_line(order_id=c.order.id, product_id=c.bolt.id, quantity="10",
                               unit_cost="3.00", **kw)
    c.line2 = service.add_line(order_id=c.order.id, product_id=c.nut.id, quantity="5", **kw)
    service.place_order(order_id=c.order.id, **kw)
    c.ids = dict(draft=c.draft.id, order=c.order.id, dline=c.draft_line.id, line1=c.line1.id,
                 line2=c.line2.id, supplier=c.supplier.id, main=c.main.id)
    return c


def count(model) -> int:
    db.session.rollback()  # end the snapshot: see what the requests wrote
    return db.session.scalar(select(func.count()).select_from(model))


def get_order(order_id) -> PurchaseOrder:
    db.session.rollback()
    return db.session.get(PurchaseOrder, order_id)


def receipt_token(client, order_id) -> str:
    page = client.get(f"/purchasing/orders/{order_id}/receive").data.decode()
    return re.search(r'name="receipt_token" type="hidden" value="([0-9a-f]+)"', page).group(1)


# Roles

def read_urls(i):
    return [
        "/purchasing/orders", f"/purchasing/orders/{i['order']}",
        f"/purchasing/orders/{i['order']}/print", f"/purchasing/suppliers/{i['supplier']}/orders",
        "/purchasing/suppliers/options?q=ac", "/purchasing/reorder",
    ]


@pytest.mark.parametrize("role", ["viewer", "staff", "manager", "admin"])
def test_every_role_reads(client_as, po, role):
    client = client_as(role)
    for url in read_urls(po.ids):
        assert client.get(url).status_code == 200, url


def test_viewer_cannot_write(client_as, po):
    client = client_as("viewer")
    i = po.ids
    assert client.get("/purchasing/orders/new").status_code == 403
    assert client.get(f"/purchasing/orders/{i['draft']}/edit").status_code == 403
    assert client.get(f"/purchasing/orders/{i['order']}/receive").status_code == 403
    for url in (f"/purchasing/orders/{i['draft']}/lines",
                f"/purchasing/orders/{i['draft']}/lines/{i['dline']}",
                f"/purchasing/orders/{i['draft']}/lines/{i['dline']}/delete",
                f"/purchasing/orders/{i['draft']}/place", f"/purchasing/orders/{i['draft']}/cancel",
                f"/purchasing/orders/{i['order']}/receive", "/purchasing/reorder"):
        assert client.post(url, data={"quantity": "1"}).status_code == 403, url
    assert get_order(i["draft"]).status == "draft"


def test_staff_edits_drafts_and_receives_but_cannot_place_or_cancel(client_as, po):
    client = client_as("staff")
    i = po.ids
    assert client.get("/purchasing/orders/new").status_code == 200
    assert client.get(f"/purchasing/orders/{i['draft']}/edit").status_code == 200
    assert client.post(f"/purchasing/orders/{i['draft']}/lines",
                       data={"product": "NUT", "quantity": "2"}).status_code == 303
    assert client.post(f"/purchasing/orders/{i['draft']}/place").status_code == 403
    assert client.post(f"/purchasing/orders/{i['order']}/cancel").status_code == 403
    token = receipt_token(client, i["order"])
    response = client.post(f"/purchasing/orders/{i['order']}/receive", data={
        "warehouse_id": i["main"], "receipt_token": token, f"qty-{i['line1']}": "1"})
    assert response.status_code == 303
    assert get_order(i["order"]).status == "partially_received"


def test_manager_places_and_cancels(client_as, po):
    client = client_as("manager")
    i = po.ids
    assert client.post(f"/purchasing/orders/{i['draft']}/place").status_code == 303
    assert get_order(i["draft"]).status == "ordered"
    assert client.post(f"/purchasing/orders/{i['draft']}/cancel").status_code == 303
    assert get_order(i["draft"]).status == "cancelled"
    # again: refused with a message, no 500
    response = client.post(f"/purchasing/orders/{i['draft']}/cancel", follow_redirects=True)
    assert b"only a draft or ordered purchase order can be cancelled" in response.data


def test_a_manager_closes_a_partly_received_po_short_after_a_confirmation(client_as, po):
    i = po.ids
    url = f"/purchasing/orders/{i['order']}/close"
    service.receive(company_id=po.company.id, user=None, order_id=i["order"],
                    quantities={i["line1"]: "4"}, warehouse_id=i["main"])
    staff, manager = client_as("staff"), client_as("manager")
    assert f'action="{url}"' not in staff.get(f"/purchasing/orders/{i['order']}").data.decode()
    assert staff.post(url).status_code == 403
    page = manager.get(f"/purchasing/orders/{i['order']}").data.decode()
    assert re.search(rf'action="{url}"[^>]*hx-confirm="Close {po.order.number} short\?', page)
    response = manager.post(url, follow_redirects=True)
    body = response.data.decode()
    assert f"{po.order.number} closed short: the rest is no longer expected." in body
    assert get_order(i["order"]).status == "closed"
    assert 'id="order-status"><span class="badge text-bg-warning">Closed short</span>' in body
    assert f'action="{url}"' not in body and "Receive goods" not in body
    history = manager.get(f"/admin/audit/history/purchase_order/{i['order']}").data.decode()
    assert "no longer expected: 6 x BOLT, 5 x NUT" in history
    # again: refused with a message
    response = manager.post(url, follow_redirects=True)
    assert b"only a partially received purchase order can be closed short" in response.data


# Company scope

def test_another_company_gets_404_on_every_route_with_an_id(other_company_client, po):
    i = po.ids
    c = other_company_client
    gets = [f"/purchasing/orders/{i['order']}", f"/purchasing/orders/{i['draft']}/edit",
            f"/purchasing/orders/{i['order']}/receive", f"/purchasing/orders/{i['order']}/print",
            f"/purchasing/orders/{i['order']}/pdf", f"/purchasing/suppliers/{i['supplier']}/orders"]
    posts = [f"/purchasing/orders/{i['draft']}/edit", f"/purchasing/orders/{i['draft']}/lines",
             f"/purchasing/orders/{i['draft']}/lines/{i['dline']}",
             f"/purchasing/orders/{i['draft']}/lines/{i['dline']}/delete",
             f"/purchasing/orders/{i['draft']}/place", f"/purchasing/orders/{i['order']}/cancel",
             f"/purchasing/orders/{i['order']}/receive"]
    for url in gets:
        assert c.get(url).status_code == 404, url
    for url in posts:
        assert c.post(url, data={"quantity": "1", f"qty-{i['line1']}": "1",
                                 "product": "BOLT"}).status_code == 404, url
    assert get_order(i["draft"]).status == "draft"
    assert count(StockMovement) == 0


def test_lists_and_pickers_show_only_own_company(other_company_client, po, other_company):
    SupplierFactory(company=other_company, name="Globex Own Supplier")
    body = other_company_client.get("/purchasing/orders").data.decode()
    assert po.order.number not in body
    options = other_company_client.get("/purchasing/suppliers/options?q=").data.decode()
    assert "Globex Own Supplier" in options and "Acme" not in options


def test_a_line_of_another_order_is_404(client_as, po):
    client = client_as("manager")
    i = po.ids
    assert client.post(f"/purchasing/orders/{i['draft']}/lines/{i['line1']}",
                       data={"quantity": "1", "unit_cost": "1"}).status_code == 404
    assert client.post(f"/purchasing/orders/{i['draft']}/lines/{i['line1']}/delete").status_code == 404


# Creating and editing

def test_staff_creates_a_po_from_the_form(staff_client, po):
    response = staff_client.post("/purchasing/orders/new", data={
        "supplier": f"Acme Supplies [#{po.ids['supplier']}]", "warehouse_id": po.ids["main"],
        "order_date": "2026-03-01", "expected_date": "2026-03-10", "notes": "Urgent"})
    assert response.status_code == 303
    order = db.session.scalar(select(PurchaseOrder).order_by(PurchaseOrder.id.desc()))
    assert response.headers["Location"].endswith(f"/purchasing/orders/{order.id}")
    assert order.number == "PO-2026-000003" and order.notes == "Urgent"


def test_the_supplier_can_be_typed_by_its_exact_name_without_javascript(staff_client, po):
    response = staff_client.post("/purchasing/orders/new", data={
        "supplier": "acme supplies", "warehouse_id": po.ids["main"], "order_date": "2026-03-01"})
    assert response.status_code == 303


def test_create_shows_all_errors_at_once_and_writes_nothing(staff_client, po):
    before = count(PurchaseOrder)
    response = staff_client.post("/purchasing/orders/new", data={
        "supplier": "Nobody [#999999]", "warehouse_id": "999999", "order_date": "not a date",
        "expected_date": "2026-13-45", "notes": "x" * 4000})
    assert response.status_code == 422
    body = response.data.decode()
    assert "Not a valid choice" in body
    assert "Not a valid date value" in body
    assert "Field cannot be longer than 2000 characters" in body
    assert count(PurchaseOrder) == before


def test_create_service_errors_are_shown_next_to_the_fields(staff_client, po):
    response = staff_client.post("/purchasing/orders/new", data={
        "supplier": "Nobody [#999999]", "warehouse_id": po.ids["main"],
        "order_date": "2026-03-05", "expected_date": "2026-03-01"})
    assert response.status_code == 422
    assert b"Choose a supplier from the list." in response.data
    assert b"cannot be before the order date" in response.data


def test_edit_changes_a_draft_but_not_an_ordered_po(staff_client, po):
    other = SupplierFactory(company=po.company, name="Beta Parts")
    response = staff_client.post(f"/purchasing/orders/{po.ids['draft']}/edit", data={
        "supplier": f"Beta Parts [#{other.id}]", "warehouse_id": po.ids["main"],
        "order_date": "2026-04-01", "notes": "changed"})
    assert response.status_code == 303
    assert get_order(po.ids["draft"]).supplier_id == other.id
    response = staff_client.get(f"/purchasing/orders/{po.ids['order']}/edit")
    assert response.status_code == 303


# Lines

def test_lines_are_added_changed_and_removed_in_place_with_htmx(staff_client, po):
    i = po.ids
    response = staff_client.post(f"/purchasing/orders/{i['draft']}/lines", headers=HX,
                                 data={"product": "NUT", "quantity": "4", "tax_rate": "10"})
    assert response.status_code == 200
    body = response.data.decode()
    assert body.lstrip().startswith(f'<div id="order-{i["draft"]}-lines">')
    assert 'id="flash" hx-swap-oob="true"' in body and "Added NUT." in body
    # BOLT 3 x 2.00 = 6.00; NUT 4 x 1.00 (cost price) = 4.00 + 10% tax
    assert f'id="order-{i["draft"]}-total">10.40' in body
    response = staff_client.post(f"/purchasing/orders/{i['draft']}/lines/{i['dline']}",
                                 headers=HX, data={"quantity": "5", "unit_cost": "2.50",
                                                   "tax_rate": "0"})
    assert response.status_code == 200
    assert f'id="order-{i["draft"]}-subtotal">16.50' in response.data.decode()
    response = staff_client.post(f"/purchasing/orders/{i['draft']}/lines/{i['dline']}/delete",
                                 headers=HX)
    assert response.status_code == 200 and "Line removed." in response.data.decode()
    assert get_order(i["draft"]).total == D("4.40")


def test_lines_work_without_javascript(staff_client, po):
    i = po.ids
    response = staff_client.post(f"/purchasing/orders/{i['draft']}/lines",
                                 data={"product": f"x [#{po.nut.id}]", "quantity": "1"})
    assert response.status_code == 303
    assert len(get_order(i["draft"]).items) == 2


@pytest.mark.parametrize("data,message", [
    ({"product": "NOPE", "quantity": "1"}, "No product with this SKU"),
    ({"product": "BOLT", "quantity": "abc"}, "Not a valid decimal value"),
    ({"product": "BOLT", "quantity": "-5"}, "Enter a quantity from 0.001 to"),
    ({"product": "BOLT", "quantity": "0"}, "Enter a quantity from 0.001 to"),
    ({"product": "BOLT", "quantity": "NaN"}, "Enter a number."),
    ({"product": "BOLT", "quantity": "1", "unit_cost": "-1"}, "Enter an amount from 0 to"),
    ({"product": "BOLT", "quantity": "1", "unit_cost": "1e20"}, "Enter an amount from 0 to"),
    ({"product": "BOLT", "quantity": "1.00001"}, "Use at most 3 decimals"),
    ({"product": "BOLT", "quantity": "1", "unit_cost": "1.005"}, "Use at most 2 decimals"),
    ({"product": "x" * 4000, "quantity": "1"}, "Field cannot be longer than 300"),
    ({}, "This field is required."),
])
def test_bad_line_input_is_refused_with_a_message_and_writes_nothing(staff_client, po, data,
                                                                     message):
    for headers in ({}, HX):
        response = staff_client.post(f"/purchasing/orders/{po.ids['draft']}/lines", data=data,
                                     headers=headers)
        assert response.status_code == 422
        assert message in response.data.decode()
    assert len(get_order(po.ids["draft"]).items) == 1


def test_bad_line_update_is_shown_on_the_line(staff_client, po):
    i = po.ids
    response = staff_client.post(f"/purchasing/orders/{i['draft']}/lines/{i['dline']}",
                                 headers=HX, data={"quantity": "lots", "unit_cost": "-3"})
    assert response.status_code == 422
    body = response.data.decode()
    assert 'value="lots"' in body and "Not a valid decimal value" in body
    assert get_order(i["draft"]).items[0].quantity == D("3")


def test_a_manager_amends_the_open_lines_of_an_ordered_po_in_place(client_as, po):
    i = po.ids
    service.receive(company_id=po.company.id, user=None, order_id=i["order"],
                    quantities={i["line1"]: "4"}, warehouse_id=i["main"])
    staff, manager = client_as("staff"), client_as("manager")
    lines = f"/purchasing/orders/{i['order']}/lines"
    page = staff.get(f"/purchasing/orders/{i['order']}").data.decode()
    assert f'id="line-{i["line1"]}-quantity"' not in page and 'id="line-add-form"' not in page
    page = manager.get(f"/purchasing/orders/{i['order']}").data.decode()
    assert f'id="line-{i["line1"]}-quantity"' in page and 'id="line-add-form"' in page
    assert f'action="{lines}/{i["line1"]}/delete"' not in page  # 4 received: it stays
    assert f'action="{lines}/{i["line2"]}/delete"' in page

    response = manager.post(f"{lines}/{i['line1']}", headers=HX,
                            data={"quantity": "3", "unit_cost": "3.00", "tax_rate": "0"})
    assert response.status_code == 422
    assert "At least 4: that much was received already." in response.data.decode()
    response = manager.post(f"{lines}/{i['line1']}", headers=HX,
                            data={"quantity": "8", "unit_cost": "2.50", "tax_rate": "0"})
    assert response.status_code == 200
    assert f'id="line-{i["line1"]}-open">4<' in response.data.decode()
    assert manager.post(lines, headers=HX, data={"product": "NUT", "quantity": "2"}
                        ).status_code == 200
    assert manager.post(f"{lines}/{i['line2']}/delete", headers=HX).status_code == 200
    response = manager.post(f"{lines}/{i['line1']}/delete", headers=HX)
    assert response.status_code == 409 and b"has received goods" in response.data
    order = get_order(i["order"])
    assert [(item.product.sku, item.quantity) for item in order.items] == [
        ("BOLT", D("8")), ("NUT", D("2"))]
    assert order.total == D("22.00")  # 8 x 2.50 + 2 x 1.00

    response = staff.post(lines, data={"product": "BOLT", "quantity": "1"}, headers=HX)
    assert response.status_code == 409
    assert b"Only a manager may change the lines" in response.data
    history = manager.get(f"/admin/audit/history/purchase_order/{i['order']}").data.decode()
    assert history.count(">amend<") == 3


def test_lines_of_a_received_or_cancelled_po_cannot_change(client_as, po):
    i = po.ids
    manager = client_as("manager")
    service.cancel_order(company_id=po.company.id, user=None, order_id=i["order"])
    assert f'id="line-{i["line1"]}-quantity"' not in manager.get(
        f"/purchasing/orders/{i['order']}").data.decode()
    response = manager.post(f"/purchasing/orders/{i['order']}/lines",
                            data={"product": "BOLT", "quantity": "1"}, headers=HX)
    assert response.status_code == 409
    assert b"only the lines of a draft, ordered or partially received" in response.data
    assert len(get_order(i["order"]).items) == 2


def test_placing_an_empty_draft_is_refused_with_a_message(client_as, po):
    empty = service.create_order(company_id=po.company.id, user=None,
                                 supplier_id=po.ids["supplier"], warehouse_id=po.ids["main"])
    response = client_as("manager").post(f"/purchasing/orders/{empty.id}/place",
                                         follow_redirects=True)
    assert b"Add at least one line before ordering." in response.data
    assert get_order(empty.id).status == "draft"


# Receiving

def test_receive_form_shows_open_quantities_defaulting_to_all(staff_client, po):
    i = po.ids
    service.receive(company_id=po.company.id, user=None, order_id=i["order"],
                    quantities={i["line1"]: "4"}, warehouse_id=i["main"])
    body = staff_client.get(f"/purchasing/orders/{i['order']}/receive").data.decode()
    assert f'id="open-{i["line1"]}">6<' in body
    assert f'name="qty-{i["line1"]}" value="6"' in body
    assert f'name="qty-{i["line2"]}" value="5"' in body


def test_receiving_through_the_page_raises_stock_and_a_replay_is_refused(staff_client, po):
    i = po.ids
    token = receipt_token(staff_client, i["order"])
    data = {"warehouse_id": i["main"], "receipt_token": token, "reference": "DN-1",
            f"qty-{i['line1']}": "4", f"qty-{i['line2']}": ""}
    assert staff_client.post(f"/purchasing/orders/{i['order']}/receive", data=data).status_code == 303
    replay = staff_client.post(f"/purchasing/orders/{i['order']}/receive", data=data,
                               follow_redirects=True)
    assert b"already recorded" in replay.data
    db.session.rollback()
    assert db.session.get(PurchaseOrderItem, i["line1"]).received_quantity == D("4")
    assert count(GoodsReceipt) == 1
    level = db.session.scalar(select(StockLevel).where(StockLevel.product_id == po.bolt.id))
    assert level.on_hand == D("4")
    assert stock.ledger_mismatches(po.company.id) == []


@pytest.mark.parametrize("qty,message", [("11", "only 10 still open"), ("abc", "Enter a number."),
                                         ("-1", "positive"), ("1" * 4000, "too large")])
def test_bad_receipt_quantities_are_shown_on_the_line(staff_client, po, qty, message):
    i = po.ids
    token = receipt_token(staff_client, i["order"])
    response = staff_client.post(f"/purchasing/orders/{i['order']}/receive", data={
        "warehouse_id": i["main"], "receipt_token": token, f"qty-{i['line1']}": qty})
    assert response.status_code == 422
    assert message in response.data.decode()
    assert f'value="{token}"' in response.data.decode()  # the same form can be sent again
    assert count(StockMovement) == 0


def banners(body: str) -> list[str]:
    """The text of each error banner (its messages are plain <div>s)."""
    return [" ".join(re.sub(r"<[^>]+>", " ", inner).split()) for inner in re.findall(
        r'<div class="alert alert-danger" role="alert">((?:[^<]|<div>[^<]*</div>)*)</div>', body)]


@pytest.mark.parametrize("quantities,banner", [
    ({"line1": "11"}, "Please correct the error below."),
    ({"line1": "abc", "line2": "9"}, "Please correct the errors below."),
    ({"line1": "0", "line2": ""}, "Enter a quantity to receive on at least one line."),
])
def test_a_receipt_error_shows_one_banner_that_agrees_with_the_lines(staff_client, po,
                                                                      quantities, banner):
    i = po.ids
    data = {"warehouse_id": i["main"], "receipt_token": receipt_token(staff_client, i["order"]),
            **{f"qty-{i[line]}": qty for line, qty in quantities.items()}}
    body = staff_client.post(f"/purchasing/orders/{i['order']}/receive", data=data
                             ).data.decode()
    assert body.count('class="alert alert-danger') == 1
    assert banners(body) == [banner]


def test_a_receipt_error_of_a_line_without_an_input_is_in_the_banner(staff_client, po):
    i = po.ids
    service.receive(company_id=po.company.id, user=None, order_id=i["order"],
                    quantities={i["line2"]: "5"}, warehouse_id=i["main"])
    data = {"warehouse_id": i["main"], "receipt_token": receipt_token(staff_client, i["order"]),
            f"qty-{i['line1']}": "1", f"qty-{i['line2']}": "1"}
    body = staff_client.post(f"/purchasing/orders/{i['order']}/receive", data=data
                             ).data.decode()
    assert banners(body) == ["Line 2 (NUT): only 0 still open, 1 given."]


@pytest.mark.parametrize("data", [
    {"warehouse_id": "999999"}, {"warehouse_id": "abc"}, {"receipt_token": ""},
    {"receipt_token": "x" * 400}, {"qty-999999": "1"}, {"reference": "r" * 4000}])
def test_bad_receipt_forms_never_500_and_write_nothing(staff_client, po, data):
    i = po.ids
    form = {"warehouse_id": i["main"], "receipt_token": "abc123", f"qty-{i['line1']}": "1"}
    form.update(data)
    response = staff_client.post(f"/purchasing/orders/{i['order']}/receive", data=form)
    assert response.status_code == 422
    assert count(StockMovement) == 0


def test_a_draft_cannot_be_received(staff_client, po):
    response = staff_client.get(f"/purchasing/orders/{po.ids['draft']}/receive")
    assert response.status_code == 303


# Lists, filters and fragments

@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_order_list_filters_sorts_and_pages(staff_client, po):
    other = SupplierFactory(company=po.company, name="Beta Parts")
    for n in range(25):
        PurchaseOrderFactory(company=po.company, supplier_id=other.id, warehouse_id=po.main.id,
                             number=f"PO-2025-{n:06d}", status="received",
                             order_date=__import__("datetime").date(2025, 1, 1 + n),
                             total=D(n))
    body = staff_client.get("/purchasing/orders?status=ordered").data.decode()
    assert po.order.number in body and po.draft.number not in body
    body = staff_client.get(f"/purchasing/orders?supplier=Acme+Supplies+[%23{po.supplier.id}]").data.decode()
    assert po.order.number in body and "PO-2025-" not in body
    body = staff_client.get("/purchasing/orders?supplier=beta&per_page=10").data.decode()
    assert "Rows 1–10 of 25" in body and po.order.number not in body
    body = staff_client.get("/purchasing/orders?date_from=2025-01-05&date_to=2025-01-07").data.decode()
    assert re.findall(r"PO-2025-\d+", body) == ["PO-2025-000006", "PO-2025-000005",
                                                "PO-2025-000004"]
    body = staff_client.get("/purchasing/orders?number=2025-00001&sort=number").data.decode()
    assert body.index("PO-2025-000010") < body.index("PO-2025-000019")
    body = staff_client.get("/purchasing/orders?sort=-total&supplier=beta").data.decode()
    assert body.index("PO-2025-000024") < body.index("PO-2025-000023")


@pytest.mark.parametrize("query", ["page=abc", "page=-4", "per_page=100000", "sort=notes",
                                   "sort=-;drop table x", "status=bogus", "supplier=" + "x" * 5000,
                                   "date_from=2026-99-99", "date_to=yesterday", "number=%27%22",
                                   "page=99999", "supplier=[%23abc]"])
def test_order_list_survives_bad_query_parameters(staff_client, po, query):
    assert staff_client.get(f"/purchasing/orders?{query}").status_code == 200


def test_htmx_gets_only_the_blocks(staff_client, po):
    response = staff_client.get("/purchasing/orders?status=ordered", headers=HX)
    assert response.data.lstrip().startswith(b'<div id="results">')
    assert b'<nav class="navbar' not in response.data
    assert "HX-Request" in response.headers["Vary"]
    response = staff_client.get(f"/purchasing/suppliers/{po.ids['supplier']}/orders", headers=HX)
    assert response.data.lstrip().startswith(b'<div id="supplier-orders">')
    assert po.order.number.encode() in response.data
    full = staff_client.get(f"/purchasing/suppliers/{po.ids['supplier']}/orders")
    assert b'<nav class="navbar' in full.data and b"Purchases from Acme Supplies" in full.data
    response = staff_client.get(f"/purchasing/orders/{po.ids['draft']}", headers=HX)
    assert response.data.lstrip().startswith(f'<div id="order-{po.ids["draft"]}-lines">'.encode())


def test_supplier_options_are_picker_values_of_active_suppliers(staff_client, po):
    SupplierFactory(company=po.company, name="Acme Archived", active=False)
    body = staff_client.get("/purchasing/suppliers/options?supplier=acm", headers=HX).data.decode()
    assert f'<option value="Acme Supplies [#{po.supplier.id}]">' in body
    assert "Archived" not in body
    assert staff_client.get("/purchasing/suppliers/options?q=" + "x" * 5000).status_code == 200


def test_unknown_ids_are_404(staff_client, po):
    for url in ("/purchasing/orders/999999", "/purchasing/orders/999999/print",
                "/purchasing/orders/999999/pdf",
                "/purchasing/suppliers/999999/orders", "/purchasing/orders/999999/receive"):
        assert staff_client.get(url).status_code == 404, url
    assert staff_client.post("/purchasing/orders/999999/place").status_code in (403, 404)


def test_print_page_shows_the_order(client_as, po):
    body = client_as("viewer").get(f"/purchasing/orders/{po.ids['order']}/print").data.decode()
    assert po.order.number in body and "Acme Supplies" in body and "BOLT" in body
    assert "css/print.css" in body and "navbar" not in body
    assert 'href="/purchasing/orders/%d/pdf"' % po.ids["order"] in body


# Reorder

def test_reorder_page_groups_and_creates_drafts(staff_client, po):
    beta = SupplierFactory(company=po.company, name="Beta Parts")
    washer = ProductFactory(company=po.company, sku="WASHER", min_stock=D("8"),
                            preferred_supplier_id=beta.id)
    orphan = ProductFactory(company=po.company, sku="ORPHAN", min_stock=D("2"))
    body = staff_client.get("/purchasing/reorder").data.decode()
    assert "Beta Parts" in body and "No preferred supplier" in body
    assert re.search(rf'value="{orphan.id}" id="pick-{orphan.id}"\s+aria-label="[^"]+" disabled', body)
    assert f'name="qty-{washer.id}" value="8"' in body
    response = staff_client.post("/purchasing/reorder", data={
        "warehouse_id": po.ids["main"], "product": [str(washer.id)], f"qty-{washer.id}": "12"})
    assert response.status_code == 303
    page = staff_client.get(response.headers["Location"]).data.decode()
    assert 'id="created-orders"' in page and "Beta Parts" in page
    db.session.rollback()
    created = db.session.scalar(select(PurchaseOrder).where(PurchaseOrder.supplier_id == beta.id))
    assert created.status == "draft" and created.items[0].quantity == D("12")


def test_reorder_refuses_a_product_without_supplier_and_bad_input(staff_client, po):
    orphan = ProductFactory(company=po.company, sku="ORPHAN", min_stock=D("2"))
    before = count(PurchaseOrder)
    for data in ({"product": [str(orphan.id)]}, {"product": ["abc", "99999999999999"]},
                 {"product": [str(orphan.id)], f"qty-{orphan.id}": "-1"},
                 {"product": [str(orphan.id)], "warehouse_id": "abc"}, {}):
        form = {"warehouse_id": po.ids["main"], **data}
        assert staff_client.post("/purchasing/reorder", data=form).status_code == 422, data
    assert count(PurchaseOrder) == before
    body = staff_client.post("/purchasing/reorder", data={
        "warehouse_id": po.ids["main"], "product": [str(orphan.id)]}).data.decode()
    assert "has no preferred supplier" in body
    assert staff_client.get("/purchasing/reorder?created=abc,1,,99999999999999999").status_code == 200


# Query counts: the same with 5 rows as with 60

def test_order_list_query_count_does_not_grow(staff_client, po, queries_for):
    def add(n):
        for _ in range(n):
            supplier = SupplierFactory(company=po.company)
            PurchaseOrderFactory(company=po.company, supplier_id=supplier.id,
                                 warehouse_id=po.main.id)
    add(3)
    few = queries_for(staff_client, "/purchasing/orders?per_page=100")
    few_hx = queries_for(staff_client, "/purchasing/orders?per_page=100&supplier=s", headers=HX)
    add(55)
    assert queries_for(staff_client, "/purchasing/orders?per_page=100") == few
    assert queries_for(staff_client, "/purchasing/orders?per_page=100&supplier=s",
                       headers=HX) == few_hx


def test_supplier_orders_query_count_does_not_grow(staff_client, po, queries_for):
    url = f"/purchasing/suppliers/{po.ids['supplier']}/orders?per_page=100"
    for _ in range(3):
        PurchaseOrderFactory(company=po.company, supplier_id=po.supplier.id, warehouse_id=po.main.id)
    few = queries_for(staff_client, url)
    for _ in range(55):
        PurchaseOrderFactory(company=po.company, supplier_id=po.supplier.id, warehouse_id=po.main.id)
    assert queries_for(staff_client, url) == few


@pytest.mark.parametrize("path", ["", "/print", "/receive"])
def test_detail_print_and_receive_query_counts_do_not_grow_with_lines(staff_client, po,
                                                                      queries_for, path):
    url = f"/purchasing/orders/{po.ids['order']}{path}"
    order = get_order(po.ids["order"])

    def add(n):
        for _ in range(n):
            PurchaseOrderItemFactory(company=po.company, order=order,
                                     product_id=ProductFactory(company=po.company).id)
    add(3)
    service.receive(company_id=po.company.id, user=None, order_id=po.ids["order"],
                    quantities={po.ids["line1"]: "1"}, warehouse_id=po.ids["main"])
    few = queries_for(staff_client, url)
    add(55)
    service.receive(company_id=po.company.id, user=None, order_id=po.ids["order"],
                    quantities={po.ids["line1"]: "1"}, warehouse_id=po.ids["main"])
    assert queries_for(staff_client, url) == few


def test_draft_detail_query_count_does_not_grow_with_lines(staff_client, po, queries_for):
    url = f"/purchasing/orders/{po.ids['draft']}"
    order = get_order(po.ids["draft"])
    for _ in range(4):
        PurchaseOrderItemFactory(company=po.company, order=order,
                                 product_id=ProductFactory(company=po.company).id)
    few = queries_for(staff_client, url)
    for _ in range(55):
        PurchaseOrderItemFactory(company=po.company, order=order,
                                 product_id=ProductFactory(company=po.company).id)
    assert queries_for(staff_client, url) == few


def test_reorder_query_count_does_not_grow(staff_client, po, queries_for):
    def add(n):
        for _ in range(n):
            ProductFactory(company=po.company, min_stock=D("5"),
                           preferred_supplier_id=SupplierFactory(company=po.company).id)
    add(5)
    few = queries_for(staff_client, "/purchasing/reorder")
    add(55)
    assert queries_for(staff_client, "/purchasing/reorder") == few


@pytest.mark.dialect_independent
def test_an_htmx_answer_replaces_the_flash_even_without_a_message_of_its_own(app):
    """_flash_oob.html: a new message (or none) replaces the old one; drawn inside a full
    page (no `message`), it sends nothing."""
    from flask import render_template

    with app.test_request_context():
        empty = render_template("_flash_oob.html", message=None)
        saved = render_template("_flash_oob.html", message="Saved.", category="success")
        inside = render_template("_flash_oob.html")
    assert '<div id="flash" hx-swap-oob="true">' in empty and "alert" not in empty
    assert '<div id="flash" hx-swap-oob="true">' in saved and "alert-success" in saved
    assert inside.strip() == ""
