"""The API's webhook endpoints (an admin's, as the webhooks pages): register (the secret once),
change, pause, resume, archive; the same address rule as the page (no server-side request
forgery); an endpoint's delivery log and a replay, delivered by a real worker to a real
local receiver; lists at a constant number of queries; schemathesis over these operations
with an admin's token (the suite's schema test runs with a manager's)."""
from __future__ import annotations

import pytest
import schemathesis
from sqlalchemy import func, select

from erp.extensions import db
from erp.models.jobs import WebhookDelivery, WebhookEndpoint
from erp.services import atomic, webhooks
from tests.api.test_api import assert_constant_list_queries, bearer
from tests.api.test_api_schema import check_operations
from tests.test_jobs import running_worker, wait_for
from tests.test_webhooks import Receiver, verify


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def loopback(app):
    """The admin setting that allows private addresses (the receiver is on 127.0.0.1)."""
    app.config.update(WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_RETRY_SECONDS=0.01)


def endpoints() -> int:
    return db.session.scalar(select(func.count()).select_from(WebhookEndpoint))


def test_an_admin_registers_changes_pauses_resumes_and_archives_an_endpoint(
        client, make_user, receiver, loopback):
    admin = bearer(make_user("admin"))
    created = client.post("/api/v1/webhooks", headers=admin, json={
        "url": receiver.url, "events": ["sales_order.confirmed"], "description": "shop"})
    assert created.status_code == 201, created.get_json()
    endpoint = created.get_json()
    assert endpoint["secret"].startswith("whsec_") and endpoint["state"] == "active"
    url = f"/api/v1/webhooks/{endpoint['id']}"
    shown = client.get(url, headers=admin).get_json()
    assert "secret" not in shown and shown["events"] == ["sales_order.confirmed"]
    assert "secret" not in client.get("/api/v1/webhooks", headers=admin).get_json()["items"][0]
    changed = client.patch(url, headers=admin, json={"events": ["invoice.issued",
                                                                "invoice.paid"]})
    assert changed.status_code == 200
    assert changed.get_json()["events"] == ["invoice.issued", "invoice.paid"]
    assert changed.get_json()["url"] == receiver.url  # the rest stays
    paused = client.post(f"{url}/pause", headers=admin).get_json()
    assert paused["state"] == "paused" and paused["paused_at"]
    assert client.post(f"{url}/resume", headers=admin).get_json()["state"] == "active"
    assert client.delete(url, headers=admin).status_code == 204
    assert client.get(url, headers=admin).get_json()["state"] == "archived"
    assert db.session.get(WebhookEndpoint, endpoint["id"]).secret == endpoint["secret"]


def test_the_address_rule_is_the_pages_no_private_or_odd_addresses(app, client, make_user):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    admin = bearer(make_user("admin"))
    for url in ("http://127.0.0.1:8000/hook", "http://169.254.169.254/latest", "ftp://x.example/",
                "http://user:pw@example.com/", "http://10.0.0.1/"):
        refused = client.post("/api/v1/webhooks", headers=admin,
                              json={"url": url, "events": ["invoice.paid"]})
        assert refused.status_code == 422 and "url" in refused.get_json()["errors"], url
    wrong = client.post("/api/v1/webhooks", headers=admin, json={"url": "", "events": []})
    assert set(wrong.get_json()["errors"]) == {"url", "events"}  # every field at once
    bad_event = client.post("/api/v1/webhooks", headers=admin,
                            json={"url": "https://example.com/", "events": ["nope"]})
    assert bad_event.status_code == 422 and "events" in bad_event.get_json()["errors"]
    assert endpoints() == 0


def test_a_patch_is_checked_by_the_same_rule(app, client, company, make_user):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    endpoint = webhooks.create_endpoint(company_id=company.id, user=make_user("admin"),
                                        url="http://127.0.0.1:9/hook", events=["bill.paid"])
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    refused = client.patch(f"/api/v1/webhooks/{endpoint.id}", headers=bearer(make_user("admin")),
                           json={"url": "http://192.168.1.10/hook"})
    assert refused.status_code == 422 and "url" in refused.get_json()["errors"]
    db.session.refresh(endpoint)
    assert endpoint.url == "http://127.0.0.1:9/hook"


def test_webhooks_are_an_admins_of_the_company_with_a_token_that_writes(
        client, company, other_company, make_user, loopback):
    endpoint = webhooks.create_endpoint(company_id=company.id, user=make_user("admin"),
                                        url="http://127.0.0.1:9/hook", events=["bill.paid"])
    manager = bearer(make_user("manager"))
    assert client.get("/api/v1/webhooks", headers=manager).status_code == 403
    assert client.post("/api/v1/webhooks", headers=manager, json={
        "url": "http://127.0.0.1:9/x", "events": ["bill.paid"]}).status_code == 403
    assert client.get(f"/api/v1/webhooks/{endpoint.id}", headers=manager).status_code == 403
    read_only = bearer(make_user("admin"), read_only=True)
    assert client.get(f"/api/v1/webhooks/{endpoint.id}", headers=read_only).status_code == 200
    assert client.post(f"/api/v1/webhooks/{endpoint.id}/pause",
                       headers=read_only).status_code == 403
    stranger = bearer(make_user("admin", company=other_company))
    url = f"/api/v1/webhooks/{endpoint.id}"
    for method, path in (("GET", url), ("PATCH", url), ("DELETE", url), ("POST", f"{url}/pause"),
                         ("POST", f"{url}/resume"), ("GET", f"{url}/deliveries")):
        assert client.open(path, method=method, headers=stranger, json={
            "events": ["bill.posted"]}).status_code == 404, (method, path)
    assert client.get("/api/v1/webhooks", headers=stranger).get_json()["items"] == []
    db.session.refresh(endpoint)
    assert endpoint.state == "active" and endpoint.events == ["bill.paid"]


def test_the_delivery_log_and_a_replay_reach_the_receiver_signed(
        app, client, company, make_user, receiver, loopback, other_company):
    admin = bearer(make_user("admin"))
    with running_worker(app):
        endpoint = client.post("/api/v1/webhooks", headers=admin, json={
            "url": receiver.url, "events": ["invoice.paid"]}).get_json()
        with atomic():
            webhooks.emit(company.id, "invoice.paid", None, number="INV-1")
        wait_for(lambda: db.session.scalar(select(WebhookDelivery.status)) == "delivered")
        log = client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=admin)
        [delivery] = log.get_json()["items"]
        assert delivery["status"] == "delivered" and delivery["response_status"] == 200
        assert delivery["response_ms"] is not None and delivery["event"] == "invoice.paid"
        stranger = bearer(make_user("admin", company=other_company))
        assert client.post(f"/api/v1/webhook-deliveries/{delivery['id']}/replay",
                           headers=stranger).status_code == 404
        replayed = client.post(f"/api/v1/webhook-deliveries/{delivery['id']}/replay",
                               headers=admin | {"Idempotency-Key": "replay-1"})
        assert replayed.status_code == 201 and replayed.get_json()["body"] == delivery["body"]
        again = client.post(f"/api/v1/webhook-deliveries/{delivery['id']}/replay",
                            headers=admin | {"Idempotency-Key": "replay-1"})
        assert again.get_json()["id"] == replayed.get_json()["id"]  # replayed once
        wait_for(lambda: len(receiver.received) == 2, what="the replay")
    assert all(verify(endpoint["secret"], request["headers"], request["body"])
               for request in receiver.received)
    filtered = client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries?status=failed",
                          headers=admin).get_json()
    assert filtered["items"] == []
    client.post(f"/api/v1/webhooks/{endpoint['id']}/pause", headers=admin)
    paused = client.post(f"/api/v1/webhook-deliveries/{delivery['id']}/replay", headers=admin)
    assert paused.status_code == 409 and "resume" in paused.get_json()["detail"]


def test_the_webhook_lists_cost_a_constant_number_of_queries(client, company, make_user,
                                                            loopback):
    admin_user = make_user("admin")
    for number in range(4):
        endpoint = webhooks.create_endpoint(company_id=company.id, user=admin_user,
                                            url=f"http://127.0.0.1:9/{number}",
                                            events=["bill.paid"])
    for _ in range(4):
        db.session.add(WebhookDelivery(company_id=company.id, endpoint_id=endpoint.id,
                                       event="bill.paid", body="{}", status="failed"))
    db.session.commit()
    headers = bearer(admin_user)
    client.get("/api/v1/webhooks", headers=headers)  # the token's first use is noted
    assert_constant_list_queries(client, headers, (
        "/api/v1/webhooks", f"/api/v1/webhooks/{endpoint.id}/deliveries"), per_pages=(1, 4))


def test_schemathesis_finds_no_fault_in_the_admin_operations(app, company, make_user):
    """The webhook and job operations are an admin's: the suite's schema test (a manager's
    token) only sees their 403s; here they run with an admin's, the forms' and imports'
    too (the imports' multipart uploads included)."""
    headers = bearer(make_user("admin"))
    app.config["RATELIMIT_API"] = "100000 per minute"
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False  # generated hosts: never a request out
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=headers)
    checked = check_operations(schema.include(path_regex=r"/(webhook|jobs|forms|imports)"),
                               headers)
    assert len(checked) >= 20, checked
