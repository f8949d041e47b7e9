"""The API does what the delivery and return pages do (#21): a delivery note of a sales
order with its lines and lots (a draft, or posted at once), posted or cancelled by the
pages' roles, the order's `sales_order.shipped` webhook as from the page; "Ship all" and a
production order's completion with the lots named; receipts with lots; sales and purchase
returns with lines and lots, posted and cancelled by a manager, the credit-note offer.
A wrong lot, too many, a serial number twice: 422 on the line with the service's message,
nothing written. Idempotency keys, roles, another company's records 404, list costs."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models.purchasing import PurchaseOrderItem
from erp.models.returns import PurchaseReturn, SalesReturn
from erp.models.sales import DeliveryNote
from erp.models.jobs import WebhookDelivery
from erp.services import invoices, purchasing, webhooks
from tests.api.test_api import assert_constant_list_queries, assert_foreign, bearer
from tests.services.test_lot_choice import started_kit
from tests.services.test_lots import (confirmed, counts, deliver, held, shop,  # noqa: F401
                                      _supplier)
from tests.services.test_sales import assert_ledger, env, fresh  # noqa: F401

D = Decimal


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def items(order) -> tuple[int, int]:
    """The order's PASTE and SCOPE line ids."""
    by_product = {item.product.sku: item.id for item in order.items}
    return by_product["PASTE"], by_product["SCOPE"]


def messages(response) -> str:
    return " ".join(m for ms in response.get_json()["errors"].values() for m in ms)


def test_a_delivery_is_drafted_with_its_lots_posted_and_the_order_shipped_event_fires(
        app, client, shop, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    webhooks.create_endpoint(company_id=shop.company.id, user=shop.user,
                             url="http://127.0.0.1:9/", events=["sales_order.shipped"])
    order = confirmed(shop, [(shop.paste, "5"), (shop.scope, "2")])
    paste, scope = items(order)
    staff = bearer(make_user("staff"))
    body = {"notes": "By API", "lines": [
        {"line_id": paste, "quantity": "5", "lots": "P1: 2, P2: 3"},
        {"line_id": scope, "quantity": "2", "lots": "S3, S1"}]}
    url = f"/api/v1/sales-orders/{order.id}/deliveries"
    key = {**staff, "Idempotency-Key": "dn-1"}
    first = client.post(url, headers=key, json=body)
    again = client.post(url, headers=key, json=body)
    assert first.status_code == again.status_code == 201, first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json() == first.get_json()
    delivery = first.get_json()
    assert delivery["status"] == "draft" and delivery["number"].startswith("DN-")
    assert [(line["sku"], line["quantity"], line["lots"]) for line in delivery["lines"]] == [
        ("PASTE", "5.000", "P1: 2, P2: 3"), ("SCOPE", "2.000", "S3, S1")]
    assert delivery["actions"] == ["post", "cancel"] and count(DeliveryNote) == 1
    assert count(WebhookDelivery) == 0  # a draft ships nothing
    viewer = bearer(make_user("viewer"))
    assert client.post(url, headers=viewer, json=body).status_code == 403
    assert client.post(f"/api/v1/delivery-notes/{delivery['id']}/post",
                       headers=viewer).status_code == 403
    posted = client.post(f"/api/v1/delivery-notes/{delivery['id']}/post",
                         headers={**staff, "Idempotency-Key": "post-dn-1"})
    assert posted.status_code == 200, posted.get_json()
    assert posted.get_json()["status"] == "posted" and posted.get_json()["actions"] == []
    assert fresh(order.id).status == "shipped"
    assert [held(code, shop.warehouse) for code in ("P1", "P2", "S1", "S3", "S2")] == [
        D(4), D(1), D(0), D(0), D(1)]
    [event] = [json.loads(text) for text in db.session.scalars(select(WebhookDelivery.body))]
    assert event["event"] == "sales_order.shipped" and event["data"]["id"] == order.id
    # a posted delivery is never cancelled (409), and posting again changes nothing
    assert client.post(f"/api/v1/delivery-notes/{delivery['id']}/cancel",
                       headers=staff).status_code == 409
    assert client.post(f"/api/v1/delivery-notes/{delivery['id']}/post",
                       headers=staff).status_code == 200
    assert count(WebhookDelivery) == 1
    assert_ledger(shop)


def test_a_delivery_posted_at_once_ships_part_and_a_draft_is_cancelled(client, shop,
                                                                      make_user):
    order = confirmed(shop, [(shop.paste, "5")])
    [paste] = [item.id for item in order.items]
    staff = bearer(make_user("staff"))
    url = f"/api/v1/sales-orders/{order.id}/deliveries"
    # as on the page, a tracked line names its lots (the page prefills the first-expiring)
    unnamed = client.post(url, headers=staff, json={"post": True, "lines": [
        {"line_id": paste, "quantity": "2"}]})
    assert unnamed.status_code == 422 and "tracked by lot" in messages(unnamed)
    part = client.post(url, headers=staff, json={"post": True, "lines": [
        {"line_id": paste, "quantity": "2", "lots": "P2"}]})
    assert part.status_code == 201, part.get_json()
    assert part.get_json()["status"] == "posted" and part.get_json()["lines"][0]["lots"] == "P2"
    assert fresh(order.id).status == "partly_shipped"
    draft = client.post(url, headers=staff, json={"lines": [
        {"line_id": paste, "quantity": "3", "lots": "P1: 3"}]}).get_json()
    cancelled = client.post(f"/api/v1/delivery-notes/{draft['id']}/cancel", headers=staff)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert held("P1", shop.warehouse) == D(6) and held("P2", shop.warehouse) == D(2)
    listed = client.get("/api/v1/delivery-notes?status=posted", headers=staff).get_json()
    assert [row["id"] for row in listed["items"]] == [part.get_json()["id"]]


@pytest.mark.parametrize("paste, scope, field, message", [
    ("S1: 5", "S2 S3", "lines.0.lots", "no lot S1 of PASTE"),       # another product's lot
    ("P2: 5", "S2 S3", "lines.0.lots", "lot P2 holds 4 in MAIN"),    # more than the lot holds
    ("P1: 5", "S2 S2", "lines.1.lots", "serial number S2 is named twice"),
    ("P1: 4", "S2 S3", "lines.0.lots", "the lots add up to 4, the quantity is 5"),
])
def test_a_bad_lot_is_a_422_on_its_line_and_nothing_is_written(client, shop, paste, scope,
                                                             field, message):
    order = confirmed(shop, [(shop.paste, "5"), (shop.scope, "2")])
    ids = items(order)
    before = counts()
    response = client.post(
        f"/api/v1/sales-orders/{order.id}/deliveries", headers=bearer(shop.user),
        json={"post": True, "lines": [
            {"line_id": ids[0], "quantity": "5", "lots": paste},
            {"line_id": ids[1], "quantity": "2", "lots": scope}]})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert message in " ".join(response.get_json()["errors"][field])
    assert counts() == before and count(DeliveryNote) == 0
    assert fresh(order.id).status == "confirmed"
    # "Ship all" refuses the same picks, on the same fields
    shipped = client.post(f"/api/v1/sales-orders/{order.id}/ship", headers=bearer(shop.user),
                          json={"lines": [{"line_id": ids[0], "lots": paste},
                                          {"line_id": ids[1], "lots": scope}]})
    assert shipped.status_code == 422 and message in " ".join(shipped.get_json()["errors"][field])
    assert counts() == before and fresh(order.id).status == "confirmed"


def test_too_much_a_line_twice_or_another_orders_line_is_a_422(client, shop):
    order = confirmed(shop, [(shop.paste, "5")])
    [paste] = [item.id for item in order.items]
    url = f"/api/v1/sales-orders/{order.id}/deliveries"
    headers = bearer(shop.user)
    too_much = client.post(url, headers=headers, json={"lines": [
        {"line_id": paste, "quantity": "6", "lots": "P1: 6"}]})
    assert too_much.status_code == 422
    assert "only 5 left to ship" in " ".join(too_much.get_json()["errors"]["lines.0.quantity"])
    twice = client.post(url, headers=headers, json={"lines": [
        {"line_id": paste, "quantity": "1"}, {"line_id": paste, "quantity": "1"}]})
    assert twice.status_code == 422 and "lines" in twice.get_json()["errors"]
    stranger = client.post(url, headers=headers, json={"lines": [
        {"line_id": 999999, "quantity": "1"}]})
    assert stranger.status_code == 422 and stranger.get_json()["errors"]["lines.0.quantity"]
    assert count(DeliveryNote) == 0


def test_ship_all_and_a_production_orders_completion_take_the_lots_named(client, shop):
    manager = bearer(shop.user)
    order = confirmed(shop, [(shop.paste, "5"), (shop.scope, "2")])
    paste, scope = items(order)
    shipped = client.post(f"/api/v1/sales-orders/{order.id}/ship", headers=manager,
                          json={"lines": [{"line_id": paste, "lots": "P1: 5"},
                                          {"line_id": scope, "lots": "S2 S3"}]})
    assert shipped.status_code == 200, shipped.get_json()
    assert shipped.get_json()["status"] == "shipped"
    assert (held("P1", shop.warehouse), held("P2", shop.warehouse)) == (D(1), D(4))
    assert held("S1", shop.warehouse) == D(1) and held("S2", shop.warehouse) == D(0)
    kit, lines = started_kit(shop, {shop.paste: "1"})
    detail = client.get(f"/api/v1/production-orders/{kit.id}", headers=manager).get_json()
    assert [(c["id"], c["sku"], c["quantity"]) for c in detail["components"]] == [
        (lines[shop.paste.id], "PASTE", "3.000")]
    done = client.post(f"/api/v1/production-orders/{kit.id}/complete", headers=manager,
                       json={"lines": [{"line_id": lines[shop.paste.id], "lots": "P2: 3"}]})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "done" and held("P2", shop.warehouse) == D(1)
    assert_ledger(shop)


def delivered(shop):
    order = confirmed(shop, [(shop.paste, "5"), (shop.scope, "2")])
    delivery = deliver(shop, order, {shop.paste: "5", shop.scope: "2"},
                       {shop.paste: "P1: 2, P2: 3", shop.scope: "S3, S1"})
    return order, delivery, {line.order_item.product_id: line.id for line in delivery.lines}


def test_a_sales_return_comes_back_with_its_lots_and_offers_the_credit_note(client, shop,
                                                                            make_user):
    order, delivery, lines = delivered(shop)
    invoice = invoices.create_invoice_from_order(company_id=shop.company.id, order_id=order.id,
                                                 user=shop.user)
    invoices.issue_invoice(company_id=shop.company.id, invoice_id=invoice.id, user=shop.user)
    staff, manager = bearer(make_user("staff")), bearer(shop.user)
    url = f"/api/v1/delivery-notes/{delivery.id}/returns"
    body = {"warehouse_id": shop.spare.id, "reason": "Damaged", "lines": [
        {"line_id": lines[shop.paste.id], "quantity": "2", "lots": "P2: 2"},
        {"line_id": lines[shop.scope.id], "quantity": "1", "lots": "S1"}]}
    # posting at once is a manager's: refused for staff, nothing written
    assert client.post(url, headers=staff, json={**body, "post": True}).status_code == 403
    assert count(SalesReturn) == 0
    key = {**staff, "Idempotency-Key": "ret-1"}
    first = client.post(url, headers=key, json=body)
    again = client.post(url, headers=key, json=body)
    assert first.status_code == again.status_code == 201, first.get_json()
    assert again.get_json() == first.get_json() and count(SalesReturn) == 1
    draft = first.get_json()
    assert draft["status"] == "draft" and draft["warehouse_id"] == shop.spare.id
    assert [(line["sku"], line["lots"]) for line in draft["lines"]] == [
        ("PASTE", "P2"), ("SCOPE", "S1")]
    assert draft["actions"] == [] and draft["credit_invoices"] == []  # staff; not posted
    assert client.post(f"/api/v1/sales-returns/{draft['id']}/post",
                       headers=staff).status_code == 403
    posted = client.post(f"/api/v1/sales-returns/{draft['id']}/post", headers=manager)
    assert posted.status_code == 200, posted.get_json()
    assert posted.get_json()["status"] == "posted"
    assert (held("P2", shop.spare), held("S1", shop.spare)) == (D(2), D(1))
    number = db.session.get(type(invoice), invoice.id).number
    assert posted.get_json()["credit_invoices"] == [{"id": invoice.id, "number": number}]
    # the offer's step: a credit note of the invoice
    credit = client.post(f"/api/v1/invoices/{invoice.id}/credit-notes", headers=staff, json={
        "reason": "Returned", "lines": [{"line_id": invoice.items[0].id, "quantity": "2"}]})
    assert credit.status_code == 201, credit.get_json()
    assert_ledger(shop)


def test_a_serial_number_comes_back_once_and_a_bad_return_writes_nothing(client, shop):
    _order, delivery, lines = delivered(shop)
    manager = bearer(shop.user)
    url = f"/api/v1/delivery-notes/{delivery.id}/returns"
    body = {"reason": "Broken", "post": True, "warehouse_id": shop.spare.id, "lines": [
        {"line_id": lines[shop.scope.id], "quantity": "1", "lots": "S3"}]}
    assert client.post(url, headers=manager, json=body).status_code == 201
    before = (counts(), count(SalesReturn))
    twice = client.post(url, headers=manager, json=body)
    assert twice.status_code == 422 and "S3 is not among the lots" in messages(twice)
    assert list(twice.get_json()["errors"]) == ["lines.0.lots"]
    too_many = client.post(url, headers=manager, json={**body, "lines": [
        {"line_id": lines[shop.paste.id], "quantity": "9"}]})
    assert too_many.status_code == 422 and "only 5 can be returned" in messages(too_many)
    no_reason = client.post(url, headers=manager, json={**body, "reason": " "})
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["errors"]
    assert (counts(), count(SalesReturn)) == before


def test_a_receipt_names_its_lots_and_a_purchase_return_sends_them_back(client, shop,
                                                                       make_user):
    manager, staff = bearer(shop.user), bearer(make_user("staff"))
    order = purchasing.create_order(supplier_id=_supplier(shop), warehouse_id=shop.warehouse.id,
                                    **shop.kw)
    item = purchasing.add_line(order_id=order.id, product_id=shop.paste.id, quantity="5",
                               unit_cost="2.00", **shop.kw)
    purchasing.place_order(order_id=order.id, **shop.kw)
    item_id = item.id
    receive = f"/api/v1/purchase-orders/{order.id}/receive"
    bad = client.post(receive, headers=staff, json={"lines": [
        {"line_id": item_id, "quantity": "5", "lots": "PX: 3, PY: 1"}]})
    assert bad.status_code == 422 and "add up to 4, the quantity is 5" in " ".join(bad.get_json()["errors"][
        "lines.0.lots"])
    received = client.post(receive, headers=staff, json={"lines": [
        {"line_id": item_id, "quantity": "5", "lots": "PX: 3, PY: 2", "expiry": "2031-01-31"}]})
    assert received.status_code == 201, received.get_json()
    assert (held("PX", shop.warehouse), held("PY", shop.warehouse)) == (D(3), D(2))
    url = f"/api/v1/purchase-orders/{order.id}/returns"
    wrong = client.post(url, headers=manager, json={"reason": "Wrong batch", "post": True,
                                                    "lines": [{"line_id": item_id,
                                                               "quantity": "2", "lots": "P1"}]})
    assert wrong.status_code == 422 and "P1 is not among the lots" in messages(wrong)
    draft = client.post(url, headers=staff, json={"reason": "Wrong batch", "lines": [
        {"line_id": item_id, "quantity": "2", "lots": "PY"}]})
    assert draft.status_code == 201, draft.get_json()
    sent = draft.get_json()
    assert sent["warehouse_id"] == shop.warehouse.id and sent["lines"][0]["lots"] == "PY"
    assert client.post(f"/api/v1/purchase-returns/{sent['id']}/post",
                       headers=staff).status_code == 403
    posted = client.post(f"/api/v1/purchase-returns/{sent['id']}/post", headers=manager)
    assert posted.status_code == 200 and posted.get_json()["status"] == "posted"
    assert held("PY", shop.warehouse) == D(0)
    other = client.post(url, headers=staff, json={"reason": "Spare", "lines": [
        {"line_id": item_id, "quantity": "1", "lots": "PX"}]}).get_json()
    cancelled = client.post(f"/api/v1/purchase-returns/{other['id']}/cancel", headers=manager)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert db.session.get(PurchaseOrderItem, item_id).returned_quantity == D(2)
    assert_ledger(shop)


def test_another_companys_deliveries_and_returns_are_404(client, shop, make_user,
                                                        other_company):
    order, delivery, lines = delivered(shop)
    manager = bearer(shop.user)
    pending = confirmed(shop, [(shop.paste, "1")])
    returned = client.post(f"/api/v1/delivery-notes/{delivery.id}/returns", headers=manager,
                           json={"reason": "x", "lines": [
                               {"line_id": lines[shop.paste.id], "quantity": "1"}]}).get_json()
    purchase = purchasing.create_order(supplier_id=_supplier(shop),
                                       warehouse_id=shop.warehouse.id, **shop.kw)
    stranger = bearer(make_user("admin", company=other_company))
    assert_foreign(client, stranger, (
        ("POST", f"/api/v1/sales-orders/{pending.id}/deliveries"),
        ("POST", f"/api/v1/sales-orders/{pending.id}/ship"),
        ("GET", f"/api/v1/delivery-notes/{delivery.id}"),
        ("POST", f"/api/v1/delivery-notes/{delivery.id}/post"),
        ("POST", f"/api/v1/delivery-notes/{delivery.id}/cancel"),
        ("POST", f"/api/v1/delivery-notes/{delivery.id}/returns"),
        ("GET", f"/api/v1/sales-returns/{returned['id']}"),
        ("POST", f"/api/v1/sales-returns/{returned['id']}/post"),
        ("POST", f"/api/v1/sales-returns/{returned['id']}/cancel"),
        ("POST", f"/api/v1/purchase-orders/{purchase.id}/returns")),
        ("/api/v1/delivery-notes", "/api/v1/sales-returns", "/api/v1/purchase-returns"),
        {"reason": "x", "lines": [{"line_id": lines[shop.paste.id], "quantity": "1"}]})
    assert count(SalesReturn) == 1 and count(PurchaseReturn) == 0
    assert count(DeliveryNote) == 1 and fresh(pending.id).status == "confirmed"


def test_delivery_and_return_lists_cost_the_same_for_more_rows(client, shop):
    manager = bearer(shop.user)
    for code in ("P1", "P1", "P2"):
        order = confirmed(shop, [(shop.paste, "1")])
        delivery = deliver(shop, order, {shop.paste: "1"}, {shop.paste: code})
        client.post(f"/api/v1/delivery-notes/{delivery.id}/returns", headers=manager, json={
            "reason": "x", "lines": [{"line_id": delivery.lines[0].id, "quantity": "1"}]})
    assert count(SalesReturn) == 3 and count(DeliveryNote) == 3
    assert_constant_list_queries(client, manager, (
        "/api/v1/delivery-notes", "/api/v1/sales-returns", "/api/v1/purchase-returns"),
        per_pages=(1, 50))
