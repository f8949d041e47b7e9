"""Webhooks: endpoints an admin registers, events sent after the commit by a real worker to
a real local HTTP server that checks the signature, retries with backoff, pausing, replay,
the delivery log, and the guard against server-side request forgery."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models.jobs import WebhookDelivery, WebhookEndpoint
from erp.services import ValidationError, atomic
from erp.services import sales as sales_service
from erp.services import stock as stock_service
from erp.services import webhooks
from tests.conftest import login
from tests.factories.inventory_helpers import put_stock, stock_shop
from tests.test_jobs import running_worker, wait_for


class Receiver:
    """A local HTTP server recording each POST; answers `status` (a list: one per request,
    the last one repeated)."""

    def __init__(self, statuses=(200,)) -> None:
        self.statuses = list(statuses)
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body,
                                          "path": self.path})
                status = (receiver.statuses.pop(0) if len(receiver.statuses) > 1
                          else receiver.statuses[0])
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks?x=1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(statuses=(200,)):
        made.append(Receiver(statuses))
        return made[-1]
    yield make
    for r in made:
        r.close()


@pytest.fixture
def local(app):
    """Webhooks to loopback allowed (the admin setting), fast retries."""
    app.config.update(WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_RETRY_SECONDS=0.01,
                      WEBHOOK_MAX_ATTEMPTS=3, WEBHOOK_PAUSE_AFTER=5)
    with running_worker(app) as queue:
        yield queue


def verify(secret: str, headers: dict, body: bytes) -> bool:
    parts = dict(item.split("=", 1) for item in headers["X-ERP-Signature"].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < 60


def endpoint_for(company, user, url, events=("sales_order.confirmed",)):
    return webhooks.create_endpoint(company_id=company.id, user=user, url=url,
                                    events=list(events))


def test_a_confirmed_order_is_sent_signed_after_the_commit(app, company, make_user, receiver,
                                                         local):
    manager = make_user("manager")
    server = receiver()
    endpoint = endpoint_for(company, manager, server.url,
                            ["sales_order.confirmed", "stock.below_minimum"])
    shop = stock_shop(company, manager, min_stock=Decimal("8"))
    put_stock(shop.product, shop.main, 10, manager)
    order = sales_service.create_order(company_id=company.id, user=manager,
                                       customer_id=shop.customer.id, warehouse_id=shop.main.id)
    sales_service.add_line(company_id=company.id, order_id=order.id, user=manager,
                           product_id=shop.product.id, quantity=Decimal("3"),
                           unit_price=Decimal("2"), tax_rate=Decimal("0"))
    sales_service.confirm_order(company_id=company.id, order_id=order.id, user=manager)
    wait_for(lambda: len(server.received) == 2, what="two deliveries")
    events = {}
    for request in server.received:
        assert verify(endpoint.secret, request["headers"], request["body"])
        assert request["path"] == "/hooks?x=1"
        events[request["headers"]["X-ERP-Event"]] = json.loads(request["body"])
    confirmed = events["sales_order.confirmed"]
    assert confirmed["data"]["number"] == order.number
    assert confirmed["data"]["status"] == "confirmed"
    low = events["stock.below_minimum"]["data"]
    assert low["sku"] == "BOLT-8" and Decimal(low["available"]) == 7
    wait_for(lambda: db.session.scalar(select(func.count()).select_from(WebhookDelivery)
                                       .where(WebhookDelivery.status == "delivered")) == 2)
    delivery = db.session.scalars(select(WebhookDelivery)).first()
    assert delivery.response_status == 200 and delivery.response_ms is not None


def test_a_rolled_back_change_sends_nothing(app, company, make_user, receiver, local):
    manager = make_user("manager")
    server = receiver()
    endpoint_for(company, manager, server.url)
    order = sales_service.create_order(company_id=company.id, user=manager,
                                       customer_id=stock_shop(company, manager).customer.id)
    with pytest.raises(RuntimeError):
        with atomic():
            webhooks.emit(company.id, "sales_order.confirmed", order)
            raise RuntimeError("the use case failed")
    time.sleep(0.5)
    assert server.received == []
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


def test_a_failing_endpoint_is_retried_with_backoff_then_failed_and_paused(
        app, company, make_user, receiver, local):
    app.config["WEBHOOK_PAUSE_AFTER"] = 3
    manager = make_user("manager")
    server = receiver([500])
    endpoint = endpoint_for(company, manager, server.url)
    with atomic():
        webhooks.emit(company.id, "sales_order.confirmed", None, number="SO-1")
    delivery = wait_for(lambda: db.session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.status == "failed")), what="the delivery to fail", timeout=30)
    assert delivery.attempts == 3 and delivery.response_status == 500
    assert delivery.error == "HTTP 500"
    assert len(server.received) == 3
    assert len({r["headers"]["X-ERP-Delivery"] for r in server.received}) == 1  # one id
    db.session.refresh(endpoint)
    assert endpoint.paused_at is not None and endpoint.state == "paused"
    with atomic():  # a paused endpoint gets no new deliveries
        webhooks.emit(company.id, "sales_order.confirmed", None, number="SO-2")
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 1


def test_the_admin_sees_the_log_resumes_the_endpoint_and_replays_a_delivery(
        app, company, make_user, receiver, local):
    admin_user = make_user("admin")
    admin = login(app.test_client(), admin_user.email)
    server = receiver([500, 200])
    app.config.update(WEBHOOK_MAX_ATTEMPTS=1, WEBHOOK_PAUSE_AFTER=1)
    endpoint = endpoint_for(company, admin_user, server.url)
    with atomic():
        webhooks.emit(company.id, "sales_order.confirmed", None, number="SO-9")
    failed = wait_for(lambda: db.session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.status == "failed")))
    page = admin.get(f"/admin/webhooks/{endpoint.id}")
    assert page.status_code == 200
    assert b"HTTP 500" in page.data and b"paused" in page.data
    assert endpoint.secret.encode() in page.data
    refused = admin.post(f"/admin/webhooks/deliveries/{failed.id}/replay", follow_redirects=True)
    assert b"resume it first" in refused.data
    assert admin.post(f"/admin/webhooks/{endpoint.id}/state",
                      data={"state": "active"}).status_code == 303
    assert admin.post(f"/admin/webhooks/deliveries/{failed.id}/replay").status_code == 303
    wait_for(lambda: len(server.received) == 2)
    assert server.received[0]["body"] == server.received[1]["body"]  # the same event
    wait_for(lambda: db.session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.status == "delivered")))
    db.session.refresh(endpoint)
    assert endpoint.failures == 0 and endpoint.state == "active"


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/x", "http://localhost/x", "http://10.1.2.3/", "http://192.168.0.9/",
    "http://169.254.169.254/latest/meta-data", "http://[::1]/", "http://0.0.0.0/",
    "http://100.64.0.1/", "ftp://example.com/", "file:///etc/passwd", "http://user:pw@example.com/",
    "javascript:alert(1)", "http://[fe80::1]/", "http://224.0.0.1/", "https://example.com:99999/",
])
def test_only_public_http_addresses_are_accepted(app, company, make_user, url):
    with pytest.raises(ValidationError) as refused:
        webhooks.create_endpoint(company_id=company.id, user=make_user("admin"), url=url,
                                 events=["sales_order.confirmed"])
    assert "url" in refused.value.field_errors
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_every_address_a_host_resolves_to_is_checked(monkeypatch):
    import socket

    def resolve(host, port, **kwargs):  # a public and a private answer for one name
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(webhooks.UnsafeUrl, match="10.0.0.7"):
        webhooks.check_url("https://rebind.example/", allow_private=False)
    assert webhooks.check_url("https://rebind.example/", allow_private=True)[2] == [
        "10.0.0.7", "93.184.215.14"]


def test_a_delivery_to_an_address_that_turned_private_is_refused(app, company, make_user,
                                                                  receiver, local):
    manager = make_user("manager")
    server = receiver()
    endpoint_for(company, manager, server.url)  # allowed when it was registered
    app.config.update(WEBHOOK_ALLOW_PRIVATE=False, WEBHOOK_MAX_ATTEMPTS=1)
    with atomic():
        webhooks.emit(company.id, "sales_order.confirmed", None, number="SO-3")
    delivery = wait_for(lambda: db.session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.status == "failed")))
    assert "not a public address" in delivery.error
    assert server.received == []


def test_the_endpoint_form_shows_every_error_next_to_its_field(app, admin_client):
    response = admin_client.post("/admin/webhooks/new", data={"url": "http://10.0.0.1/"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "not a public address" in html and "Choose at least one event." in html
    response = admin_client.post("/admin/webhooks/new", data={
        "url": "https://example.com/hook", "events": ["nonsense"]})
    assert "Choose events from the list." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_webhook_pages_are_for_the_company_admin_only(app, company, make_user, client_as,
                                                     other_company_client, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    endpoint = endpoint_for(company, make_user("admin"), "http://127.0.0.1:9/")
    with atomic():
        webhooks.emit(company.id, "sales_order.confirmed", None, number="SO-4")
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    for url in (f"/admin/webhooks/{endpoint.id}",):
        assert other_company_client.get(url).status_code == 404
        assert client_as("manager").get(url).status_code == 403
    assert other_company_client.post(f"/admin/webhooks/{endpoint.id}/state",
                                     data={"state": "paused"}).status_code == 404
    assert other_company_client.post(
        f"/admin/webhooks/deliveries/{delivery.id}/replay").status_code == 404
    assert client_as("manager").get("/admin/webhooks").status_code == 403
    db.session.refresh(endpoint)
    assert endpoint.state == "active"


def test_the_delivery_log_costs_the_same_for_more_rows_and_pages_deep(
        app, company, make_user, admin_client, queries_for, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    endpoint = endpoint_for(company, make_user("admin"), "http://127.0.0.1:9/")
    for n in range(3):
        with atomic():
            webhooks.emit(company.id, "sales_order.confirmed", None, number=f"SO-{n}")
    url = f"/admin/webhooks/{endpoint.id}"
    few = queries_for(admin_client, url)
    for n in range(30):
        with atomic():
            webhooks.emit(company.id, "sales_order.confirmed", None, number=f"SO-x{n}")
    assert queries_for(admin_client, url + "?per_page=100") == few
    assert queries_for(admin_client, "/admin/webhooks") == queries_for(
        admin_client, "/admin/webhooks?per_page=100")
    deep = admin_client.get(url + "?page=2&per_page=20")
    assert deep.status_code == 200 and deep.data.count(b'id="delivery-') == 13


def test_stock_going_below_its_minimum_is_an_event_once(app, company, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    manager = make_user("manager")
    endpoint_for(company, manager, "http://127.0.0.1:9/", ["stock.below_minimum"])
    shop = stock_shop(company, manager, min_stock=Decimal("5"))
    put_stock(shop.product, shop.main, 6, manager)
    for _ in range(3):  # 5 (not below), 4 (below: the event), 3 (still below: none)
        stock_service.issue(company_id=company.id, product_id=shop.product.id,
                            warehouse_id=shop.main.id, quantity=Decimal("1"), user=manager)
    events = db.session.scalars(select(WebhookDelivery.body)).all()
    assert len(events) == 1 and json.loads(events[0])["data"]["available"] == "4.000"


def test_an_issued_and_then_paid_invoice_are_events(app, company, make_user, monkeypatch):
    """`invoice.issued` when a manager issues it, `invoice.paid` once payments (or credit
    notes) leave nothing open: written with the change, sent after the commit."""
    from erp.services import invoices, payments

    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    manager = make_user("manager")
    endpoint_for(company, manager, "http://127.0.0.1:9/", ["invoice.issued", "invoice.paid"])
    shop = stock_shop(company, manager)
    invoice = invoices.create_invoice(company_id=company.id, user=manager,
                                      customer_id=shop.customer.id)
    invoices.add_line(company_id=company.id, invoice_id=invoice.id, user=manager,
                      product_id=shop.product.id, quantity="2", unit_price="10", tax_rate="0")

    def events():
        return [json.loads(body) for body in db.session.scalars(
            select(WebhookDelivery.body).order_by(WebhookDelivery.id))]

    assert events() == []  # a draft is no event
    invoices.issue_invoice(company_id=company.id, invoice_id=invoice.id, user=manager)
    [issued] = events()
    assert issued["event"] == "invoice.issued"
    assert issued["data"]["number"].startswith("INV-") and issued["data"]["status"] == "issued"
    assert issued["data"]["total"] == "20.00" and issued["data"]["customer_id"] == shop.customer.id
    payments.record_payment(company_id=company.id, user=manager, customer_id=shop.customer.id,
                            amount="5", allocations={invoice.id: "5"})
    assert len(events()) == 1  # partly paid: not yet
    with pytest.raises(ValidationError):  # refused: rolled back, nothing recorded
        payments.record_payment(company_id=company.id, user=manager,
                                customer_id=shop.customer.id, amount="15",
                                allocations={invoice.id: "16"})
    assert len(events()) == 1
    payments.record_payment(company_id=company.id, user=manager, customer_id=shop.customer.id,
                            amount="15", allocations={invoice.id: "15"})
    paid = events()[1]
    assert paid["event"] == "invoice.paid" and paid["data"]["status"] == "paid"
    assert paid["data"]["paid_total"] == "20.00"


def test_a_posted_and_then_paid_supplier_bill_are_events(app, company, make_user, monkeypatch):
    """`bill.posted` when a manager posts it, `bill.paid` once supplier payments leave
    nothing open (a partial payment is no event)."""
    from erp.services import bills
    from tests.factories.catalog import SupplierFactory

    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    manager = make_user("manager")
    endpoint_for(company, manager, "http://127.0.0.1:9/", ["bill.posted", "bill.paid"])
    shop = stock_shop(company, manager)
    supplier = SupplierFactory(company=company)
    db.session.commit()
    bill = bills.create_bill(company_id=company.id, user=manager, supplier_id=supplier.id)
    bills.add_line(company_id=company.id, bill_id=bill.id, user=manager,
                   product_id=shop.product.id, quantity="2", unit_price="10", tax_rate="0")

    def events():
        return [json.loads(body) for body in db.session.scalars(
            select(WebhookDelivery.body).order_by(WebhookDelivery.id))]

    assert events() == []  # a draft is no event
    bills.post_bill(company_id=company.id, bill_id=bill.id, user=manager)
    [posted] = events()
    assert posted["event"] == "bill.posted" and posted["data"]["status"] == "open"
    assert posted["data"]["total"] == "20.00" and posted["data"]["supplier_id"] == supplier.id
    bills.record_supplier_payment(company_id=company.id, user=manager,
                                  supplier_id=supplier.id, amount="5",
                                  allocations={bill.id: "5"})
    assert len(events()) == 1  # partly paid: not yet
    bills.record_supplier_payment(company_id=company.id, user=manager,
                                  supplier_id=supplier.id, amount="15",
                                  allocations={bill.id: "15"})
    paid = events()[1]
    assert paid["event"] == "bill.paid" and paid["data"]["status"] == "paid"
    assert paid["data"]["paid_total"] == "20.00"
