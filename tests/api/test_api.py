"""The JSON API: tokens, scope, roles, lists, problems, idempotency, rate-limit headers."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models.inventory import StockLevel, StockMovement
from erp.models.sales import SalesOrder
from erp.services import api_tokens
from tests.conftest import count_queries, login
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.inventory_helpers import put_stock
from tests.factories.sales import CustomerFactory


def bearer(user, **options) -> dict:
    _token, secret = api_tokens.create_token(company_id=user.company_id, user=user,
                                             name="test", **options)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def shop(company, make_user):
    warehouse = WarehouseFactory(company=company, code="MAIN")
    product = ProductFactory(company=company, sku="BOLT-1", sale_price=Decimal("2.50"))
    customer = CustomerFactory(company=company, name="Buyer Ltd")
    manager = make_user("manager")
    put_stock(product, warehouse, Decimal("10"), manager)
    db.session.commit()
    return dict(warehouse=warehouse, product=product, customer=customer, manager=manager)


def test_no_token_is_401_problem_and_a_session_cookie_does_not_count(client, make_user):
    user = make_user("admin")
    login(client, user.email)  # a logged-in browser session...
    response = client.get("/api/v1/products")
    assert response.status_code == 401  # ...is not an API credential
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["status"] == 401
    assert client.get("/api/v1/products", headers={"Authorization": "Bearer erp_nope"}
                      ).status_code == 401


def test_token_lifecycle_shown_once_hashed_revocable_and_expiring(app, client, make_user):
    user = make_user("viewer")
    token, secret = api_tokens.create_token(company_id=user.company_id, user=user, name="sync")
    assert secret not in token.token_hash and token.token_hash == api_tokens.hash_secret(secret)
    headers = {"Authorization": f"Bearer {secret}"}
    answer = client.get("/api/v1/products", headers=headers)
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers  # no session
    assert client.post("/api/v1/nowhere", headers=headers).status_code == 404
    api_tokens.revoke_token(company_id=user.company_id, token_id=token.id, user=user)
    assert client.get("/api/v1/products", headers=headers).status_code == 401
    expiring, secret2 = api_tokens.create_token(company_id=user.company_id, user=user, name="x",
                                                expires_on=date.today() + timedelta(days=2))
    assert client.get("/api/v1/products", headers={"Authorization": f"Bearer {secret2}"}
                      ).status_code == 200
    expiring.expires_at = expiring.created_at - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/products", headers={"Authorization": f"Bearer {secret2}"}
                      ).status_code == 401
    with pytest.raises(api_tokens.ValidationError):
        api_tokens.create_token(company_id=user.company_id, user=user, name=" ",
                                expires_on=date.today() - timedelta(days=1))
    with pytest.raises(api_tokens.ValidationError) as refused:  # found by the fuzz test: a 500
        api_tokens.create_token(company_id=user.company_id, user=user, name="far",
                                expires_on=date(9999, 12, 31))
    assert "ten years" in refused.value.field_errors["expires_on"][0]


def test_tokens_page_creates_shows_once_and_revokes(app, make_user):
    user = make_user("staff")
    browser = login(app.test_client(), user.email)
    page = browser.post("/account/tokens", data={"name": "shop", "read_only": "y"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "erp_" in html and "not shown again" in html
    secret = html.split('id="new-token">')[1].split("<")[0]
    headers = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/api/v1/customers", headers=headers).status_code == 200
    assert secret not in browser.get("/account/tokens").get_data(as_text=True)
    token_id = api_tokens.user_tokens(user.company_id, user.id)[0].id
    assert "Revoke the token shop?" in browser.get(
        f"/account/tokens/{token_id}/revoke").get_data(as_text=True)
    assert browser.post(f"/account/tokens/{token_id}/revoke").status_code == 303
    assert app.test_client().get("/api/v1/customers", headers=headers).status_code == 401
    other = make_user("staff")
    assert login(app.test_client(), other.email).post(
        f"/account/tokens/{token_id}/revoke").status_code == 404


def test_read_only_token_reads_but_does_not_write(client, shop):
    headers = bearer(shop["manager"], read_only=True)
    assert client.get("/api/v1/sales-orders", headers=headers).status_code == 200
    response = client.post("/api/v1/sales-orders", json={"customer_id": shop["customer"].id},
                           headers=headers)
    assert response.status_code == 403 and "read-only" in response.get_json()["detail"]
    assert db.session.scalar(select(func.count()).select_from(SalesOrder)) == 0


def test_another_companys_records_are_404(client, shop, other_company, make_user):
    stranger = bearer(make_user("admin", company=other_company))
    for url in (f"/api/v1/products/{shop['product'].id}", f"/api/v1/customers/{shop['customer'].id}",
                f"/api/v1/warehouses/{shop['warehouse'].id}"):
        response = client.get(url, headers=stranger)
        assert response.status_code == 404, url
        assert response.mimetype == "application/problem+json"
    assert client.get("/api/v1/products", headers=stranger).get_json()["items"] == []
    assert client.get("/api/v1/stock-levels", headers=stranger).get_json()["items"] == []
    order = client.post("/api/v1/sales-orders", headers=bearer(shop["manager"]),
                        json={"customer_id": shop["customer"].id}).get_json()
    assert client.post(f"/api/v1/sales-orders/{order['id']}/cancel",
                       headers=stranger).status_code == 404
    # a customer of another company cannot be ordered for
    response = client.post("/api/v1/sales-orders", headers=stranger,
                           json={"customer_id": shop["customer"].id})
    assert response.status_code == 422 and "customer" in response.get_json()["errors"]


def test_sales_order_create_and_its_workflow_actions_by_role(client, shop, make_user):
    staff = bearer(make_user("staff"))
    manager = bearer(shop["manager"])
    body = {"customer_id": shop["customer"].id, "warehouse_id": shop["warehouse"].id,
            "lines": [{"product_id": shop["product"].id, "quantity": "4"}]}
    created = client.post("/api/v1/sales-orders", json=body, headers=staff)
    assert created.status_code == 201, created.get_json()
    order = created.get_json()
    assert order["status"] == "draft" and order["lines"][0]["unit_price"] == "2.50"
    assert order["total"] == order["lines"][0]["total"]
    # confirming is a manager's step in the workflow table: staff get 403
    refused = client.post(f"/api/v1/sales-orders/{order['id']}/confirm", headers=staff)
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    confirmed = client.post(f"/api/v1/sales-orders/{order['id']}/confirm", headers=manager)
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "confirmed"
    assert "ship" in confirmed.get_json()["actions"]
    level = db.session.scalar(select(StockLevel))
    db.session.refresh(level)
    assert level.reserved == Decimal("4")
    # a step from a state it does not start from: 409 with the workflow's message
    wrong = client.post(f"/api/v1/sales-orders/{order['id']}/invoice", headers=manager)
    assert wrong.status_code == 409 and "can be invoiced" in wrong.get_json()["detail"]
    shipped = client.post(f"/api/v1/sales-orders/{order['id']}/ship", headers=manager)
    assert shipped.get_json()["status"] == "shipped"


def test_bad_input_is_a_422_problem_with_every_field_and_nothing_written(client, shop):
    headers = bearer(shop["manager"])
    response = client.post("/api/v1/sales-orders", headers=headers, json={
        "customer_id": shop["customer"].id,
        "lines": [{"product_id": shop["product"].id, "quantity": "abc"}]})
    assert response.status_code == 422
    problem = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert "lines" in problem["errors"]
    response = client.post("/api/v1/sales-orders", headers=headers, json={
        "customer_id": shop["customer"].id,
        "lines": [{"product_id": shop["product"].id, "quantity": "-5"}]})
    assert response.status_code == 422
    assert "lines.0.quantity" in response.get_json()["errors"]
    assert db.session.scalar(select(func.count()).select_from(SalesOrder)) == 0  # all or nothing
    assert client.post("/api/v1/sales-orders", headers=headers, data="not json",
                       content_type="application/json").status_code in (400, 422)
    assert client.get("/api/v1/products?sort=nope", headers=headers).status_code == 422
    assert client.get("/api/v1/products?per_page=1000", headers=headers).status_code == 422
    assert client.get("/api/v1/nothing", headers=headers).mimetype == "application/problem+json"


def test_idempotency_key_never_creates_twice(client, shop):
    headers = {**bearer(shop["manager"]), "Idempotency-Key": "order-42"}
    body = {"customer_id": shop["customer"].id}
    first = client.post("/api/v1/sales-orders", json=body, headers=headers)
    again = client.post("/api/v1/sales-orders", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, (first.get_json(), again.get_json())
    assert first.get_json() == again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert db.session.scalar(select(func.count()).select_from(SalesOrder)) == 1
    other = client.post("/api/v1/sales-orders", json={**body, "notes": "x"}, headers=headers)
    assert other.status_code == 422  # the same key for another request
    move = {"kind": "receipt", "product_id": shop["product"].id,
            "warehouse_id": shop["warehouse"].id, "quantity": "3"}
    key = {**headers, "Idempotency-Key": "receipt-1"}
    assert client.post("/api/v1/stock-movements", json=move, headers=key).status_code == 201
    assert client.post("/api/v1/stock-movements", json=move, headers=key).status_code == 201
    level = db.session.scalar(select(StockLevel))
    db.session.refresh(level)
    assert level.on_hand == Decimal("13")


def test_stock_receipt_issue_and_transfer_go_through_the_stock_service(client, shop, company):
    headers = bearer(shop["manager"])
    other = WarehouseFactory(company=company, code="SIDE")
    db.session.commit()
    base = {"product_id": shop["product"].id, "warehouse_id": shop["warehouse"].id}
    moved = client.post("/api/v1/stock-movements", headers=headers,
                        json={**base, "kind": "transfer", "quantity": "4",
                              "to_warehouse_id": other.id})
    assert moved.status_code == 201
    assert [m["quantity"] for m in moved.get_json()["movements"]] == ["-4.000", "4.000"]
    too_much = client.post("/api/v1/stock-movements", headers=headers,
                           json={**base, "kind": "issue", "quantity": "100"})
    assert too_much.status_code in (409, 422)
    assert db.session.scalar(select(func.count()).select_from(StockMovement)) == 3
    levels = client.get("/api/v1/stock-levels?sort=warehouse", headers=headers).get_json()
    assert [(row["warehouse"], row["on_hand"]) for row in levels["items"]] == [
        ("MAIN", "6.000"), ("SIDE", "4.000")]


def test_lists_filter_sort_page_and_cost_a_constant_number_of_queries(client, shop, company):
    headers = bearer(shop["manager"])
    for i in range(30):
        ProductFactory(company=company, sku=f"P-{i:03}")
        CustomerFactory(company=company)
    db.session.commit()
    first = client.get("/api/v1/products?per_page=10&sort=-sku", headers=headers).get_json()
    assert len(first["items"]) == 10 and first["has_next"] and first["total"] == 31
    assert first["items"][0]["sku"] == "P-029"
    second = client.get(first["next"].split("localhost")[1], headers=headers).get_json()
    assert second["items"][0]["sku"] == "P-019" and second["previous"]
    assert_constant_list_queries(client, headers, (
        "/api/v1/products", "/api/v1/customers", "/api/v1/stock-levels",
        "/api/v1/stock-movements", "/api/v1/sales-orders", "/api/v1/warehouses",
        "/api/v1/categories", "/api/v1/suppliers", "/api/v1/purchase-orders",
        "/api/v1/production-orders"))


def test_rate_limit_is_per_token_with_headers_on_the_api_only(app, client, make_user):
    app.config["RATELIMIT_API"] = "3 per minute"
    user = make_user("viewer")
    one, two = bearer(user), bearer(user)
    answers = [client.get("/api/v1/warehouses", headers=one) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["RateLimit-Limit"] == "3"
    assert answers[0].headers["RateLimit-Remaining"] == "2"
    assert answers[3].mimetype == "application/problem+json"
    assert client.get("/api/v1/warehouses", headers=two).status_code == 200  # its own budget
    page = login(app.test_client(), user.email).get("/catalog/products")
    assert not any(name.lower().startswith(("ratelimit", "x-ratelimit")) for name, _ in page.headers)


def test_openapi_document_and_admin_docs_page(app, client, make_user):
    headers = bearer(make_user("viewer"))
    document = client.get("/api/v1/openapi.json", headers=headers).get_json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/sales-orders/{record_id}/confirm" in document["paths"]
    admin = login(app.test_client(), make_user("admin").email)
    page = admin.get("/admin/api-docs")
    assert page.status_code == 200 and "swagger-ui" in page.get_data(as_text=True)
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert admin.get("/admin/api-docs/openapi.json").get_json()["openapi"].startswith("3.")
    staff = login(app.test_client(), make_user("staff").email)
    assert staff.get("/admin/api-docs").status_code == 403


def test_purchase_order_place_and_receive_with_an_idempotency_key(client, company, make_user):
    from erp.models.purchasing import PurchaseOrder
    from tests.factories.purchasing import PurchaseOrderFactory, PurchaseOrderItemFactory

    manager = make_user("manager")
    order = PurchaseOrderFactory(company=company)
    line = PurchaseOrderItemFactory(company=company, order=order)
    db.session.commit()
    staff, boss = bearer(make_user("staff")), bearer(manager)
    assert client.post(f"/api/v1/purchase-orders/{order.id}/place", headers=staff
                       ).status_code == 403  # placing is a manager's step
    placed = client.post(f"/api/v1/purchase-orders/{order.id}/place", headers=boss)
    assert placed.status_code == 200 and placed.get_json()["status"] == "ordered"
    assert "receive" in placed.get_json()["actions"]
    receipt = {"lines": [{"line_id": line.id, "quantity": "4"}], "reference": "DN-1"}
    key = {**staff, "Idempotency-Key": "dn-1"}
    first = client.post(f"/api/v1/purchase-orders/{order.id}/receive", json=receipt, headers=key)
    again = client.post(f"/api/v1/purchase-orders/{order.id}/receive", json=receipt, headers=key)
    assert first.status_code == again.status_code == 201, (first.get_json(), again.get_json())
    assert first.get_json()["lines"][0]["received_quantity"] == "4.000"
    assert again.get_json() == first.get_json()
    assert db.session.scalar(select(func.sum(StockMovement.quantity))) == Decimal("4")
    too_much = client.post(f"/api/v1/purchase-orders/{order.id}/receive", headers=staff,
                           json={"lines": [{"line_id": line.id, "quantity": "99"}]})
    assert too_much.status_code == 422 and too_much.get_json()["errors"]
    listed = client.get("/api/v1/purchase-orders?status=partially_received", headers=staff)
    assert [o["number"] for o in listed.get_json()["items"]] == [
        db.session.get(PurchaseOrder, order.id).number]


def test_production_orders_are_listed_and_their_steps_follow_the_workflow(client, company,
                                                                         make_user):
    from tests.factories.production import BomLineFactory, make_order

    manager = make_user("manager")
    warehouse = WarehouseFactory(company=company)
    product, component = ProductFactory(company=company), ProductFactory(company=company)
    BomLineFactory(company=company, product_id=product.id, component_id=component.id,
                   quantity=Decimal("2"))
    put_stock(component, warehouse, Decimal("10"), manager)
    db.session.commit()
    order = make_order(company, manager, product, "3", warehouse=warehouse)
    headers = bearer(manager)
    listed = client.get("/api/v1/production-orders?status=planned", headers=headers).get_json()
    assert [row["id"] for row in listed["items"]] == [order.id]
    started = client.post(f"/api/v1/production-orders/{order.id}/start", headers=headers)
    assert started.status_code == 200 and started.get_json()["status"] == "in_progress"
    done = client.post(f"/api/v1/production-orders/{order.id}/complete", headers=headers)
    assert done.get_json()["status"] == "done"
    again = client.post(f"/api/v1/production-orders/{order.id}/start", headers=headers)
    assert again.status_code == 409


def test_master_records_are_created_and_patched_through_their_services(client, company,
                                                                       make_user):
    staff, viewer = bearer(make_user("staff")), bearer(make_user("viewer"))
    body = {"sku": "NUT-9", "name": "Nut", "sale_price": "0.40", "unit": "pcs"}
    assert client.post("/api/v1/products", json=body, headers=viewer).status_code == 403
    created = client.post("/api/v1/products", json=body, headers=staff)
    assert created.status_code == 201, created.get_json()
    product = created.get_json()
    assert product["sale_price"] == "0.40" and product["kind"] == "finished_good"
    taken = client.post("/api/v1/products", json=body, headers=staff)
    assert taken.status_code == 422 and "sku" in taken.get_json()["errors"]
    patched = client.patch(f"/api/v1/products/{product['id']}", json={"sale_price": "0.45"},
                           headers=staff)
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["sale_price"] == "0.45" and patched.get_json()["name"] == "Nut"
    bad = client.patch(f"/api/v1/products/{product['id']}", json={"sale_price": "-1"},
                       headers=staff)
    assert bad.status_code == 422 and "sale_price" in bad.get_json()["errors"]
    customer = client.post("/api/v1/customers", json={"name": "Acme Retail",
                                                     "credit_limit": "500"}, headers=staff)
    assert customer.status_code == 201 and customer.get_json()["credit_limit"] == "500.00"
    from erp.services.sales import set_customer_active

    customer_id = customer.get_json()["id"]
    set_customer_active(company_id=company.id, customer_id=customer_id, active=False, user=None)
    renamed = client.patch(f"/api/v1/customers/{customer_id}",
                           json={"email": "buy@acme.test"}, headers=staff).get_json()
    assert renamed["email"] == "buy@acme.test" and renamed["credit_limit"] == "500.00"
    assert renamed["active"] is False  # what the PATCH does not name stays
    warehouse = client.post("/api/v1/warehouses", json={"code": "W2", "name": "Two"},
                            headers=staff)
    assert warehouse.status_code == 201


@pytest.mark.postgresql_only
def test_concurrent_requests_with_one_idempotency_key_create_one_order(app, shop):
    import threading

    headers = {**bearer(shop["manager"]), "Idempotency-Key": "burst-1"}
    body = {"customer_id": shop["customer"].id}
    db.session.commit()
    barrier = threading.Barrier(6)
    answers = []

    def post():
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            response = client.post("/api/v1/sales-orders", json=body, headers=headers)
            answers.append((response.status_code, (response.get_json() or {}).get("id")))
            db.session.remove()

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 6 and {status for status, _ in answers} == {201}
    assert len({order_id for _, order_id in answers}) == 1
    assert db.session.scalar(select(func.count()).select_from(SalesOrder)) == 1


def assert_foreign(client, headers, calls, lists, body: dict) -> None:
    """Another company's token (`headers`): each (method, url) of `calls` answers 404
    (sent `body`), and each list of `lists` is empty."""
    for method, url in calls:
        response = client.open(url, method=method, headers=headers, json=body)
        assert response.status_code == 404, (method, url)
    for url in lists:
        assert client.get(url, headers=headers).get_json()["items"] == [], url


def assert_posted_once(client, url: str, headers: dict, body: dict, key: str,
                       status: int = 201) -> dict:
    """The POST sent twice with the Idempotency-Key `key`: `status` and the same answer, the
    second replayed. Returns the answer."""
    sent = {**headers, "Idempotency-Key": key}
    first = client.post(url, headers=sent, json=body)
    again = client.post(url, headers=sent, json=body)
    assert first.status_code == again.status_code == status, first.get_json()
    assert again.get_json() == first.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    return first.get_json()


def assert_constant_list_queries(client, headers, urls, per_pages=(5, 50)) -> None:
    """Each list costs the same few queries whatever its page size."""
    counts = {}
    for url in urls:
        for per_page in per_pages:
            with count_queries() as counter:
                assert client.get(f"{url}?per_page={per_page}", headers=headers).status_code == 200
            counts.setdefault(url, set()).add(counter.count)
    assert all(len(found) == 1 for found in counts.values()), counts
    assert max(max(found) for found in counts.values()) <= 5, counts


def assert_cursor_pages(client, headers, path: str, sort: str, *, rows: int) -> None:
    """Following a list's `next` links gives the rows that page numbers give, in the same
    order, and the pages past the first hundred rows go by cursor."""
    offset = []
    for page in range(1, rows // 20 + 2):
        offset += [row["id"] for row in client.get(
            f"{path}?per_page=20&sort={sort}&page={page}", headers=headers).get_json()["items"]]
    followed, url, cursors = [], f"{path}?per_page=20&sort={sort}", 0
    while url:
        body = client.get(url, headers=headers).get_json()
        followed += [row["id"] for row in body["items"]]
        url = body["next"] and body["next"].split("localhost", 1)[1]
        cursors += bool(url and "cursor=" in url)
    assert followed == offset and len(followed) == rows, sort
    assert cursors >= 1, sort


def test_deep_pages_follow_cursor_links_in_the_lists_own_order(client, shop, company):
    from tests.factories.sales import SalesOrderFactory

    headers = bearer(shop["manager"])
    start = date(2026, 1, 1)
    for i in range(130):  # few distinct dates: the id decides most of the order
        SalesOrderFactory(company=company, customer_id=shop["customer"].id,
                          warehouse_id=shop["warehouse"].id,
                          order_date=start + timedelta(days=i % 4), total=Decimal(i % 7))
    db.session.commit()
    for sort in ("-date", "total", "-total", "number"):
        assert_cursor_pages(client, headers, "/api/v1/sales-orders", sort, rows=130)
    bad = client.get("/api/v1/sales-orders?sort=-date&cursor=nonsense", headers=headers)
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert client.get("/api/v1/stock-levels?cursor=x", headers=headers).status_code == 422


def test_every_api_write_refuses_the_roles_below_its_own(app, client, make_user):
    from erp.models import ROLES, role_rank

    tokens = {role: bearer(make_user(role)) for role in ROLES}
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        view = app.view_functions[rule.endpoint]
        url = rule.build({arg: 1 for arg in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
            required = getattr(view, "method_roles", {}).get(method, view.required_role)
            for role in ROLES:
                if role_rank(role) >= role_rank(required):
                    continue
                response = client.open(url, method=method, json={}, headers=tokens[role])
                assert response.status_code == 403, f"{role} {method} {url}"
                checked += 1
    assert checked >= 20


def test_master_records_are_archived_restored_and_deleted_by_a_manager(client, shop,
                                                                      make_user,
                                                                      other_company):
    from erp.models import Product

    staff, manager = bearer(make_user("staff")), bearer(shop["manager"])
    product = client.post("/api/v1/products", headers=staff,
                          json={"sku": "SPARE-1", "name": "Spare"}).get_json()
    url = f"/api/v1/products/{product['id']}"
    assert client.post(f"{url}/active", headers=staff, json={"active": False}
                       ).status_code == 403
    archived = client.post(f"{url}/active", headers=manager, json={"active": False})
    assert archived.status_code == 200 and archived.get_json()["active"] is False
    restored = client.post(f"{url}/active", headers=manager, json={"active": True})
    assert restored.get_json()["active"] is True
    stranger = bearer(make_user("admin", company=other_company))
    assert client.delete(url, headers=stranger).status_code == 404
    assert client.post(f"{url}/active", headers=stranger, json={"active": False}
                       ).status_code == 404
    # a product with stock movements is in use: 409, archive it instead
    used = client.delete(f"/api/v1/products/{shop['product'].id}", headers=manager)
    assert used.status_code == 409 and used.mimetype == "application/problem+json"
    assert client.delete(url, headers=staff).status_code == 403
    assert client.delete(url, headers=manager).status_code == 204
    assert client.get(url, headers=manager).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Product)) == 1


def test_employees_tax_codes_and_payment_terms_follow_their_pages_roles(client, company,
                                                                       make_user,
                                                                       other_company):
    staff, manager = bearer(make_user("staff")), bearer(make_user("manager"))
    linked = make_user("staff")
    employee = client.post("/api/v1/employees", headers=staff, json={
        "name": "Ayşe Demir", "department": "Assembly", "user_id": linked.id})
    assert employee.status_code == 201, employee.get_json()
    url = f"/api/v1/employees/{employee.get_json()['id']}"
    moved = client.patch(url, headers=staff, json={"position": "Lead"}).get_json()
    assert (moved["position"], moved["user_id"], moved["department"]) == (
        "Lead", linked.id, "Assembly")  # what the PATCH does not name stays
    unlinked = client.patch(url, headers=staff, json={"user_id": None})
    assert unlinked.status_code == 200 and unlinked.get_json()["user_id"] is None
    # tax codes and payment terms are a manager's, as on the pages
    body = {"name": "VAT 10", "rate": "10"}
    assert client.post("/api/v1/tax-codes", headers=staff, json=body).status_code == 403
    code = client.post("/api/v1/tax-codes", headers=manager, json=body)
    assert code.status_code == 201 and code.get_json()["rate"] == "10.000", code.get_json()
    terms = client.post("/api/v1/payment-terms", headers=manager,
                        json={"name": "Net 30", "kind": "net", "days": 30})
    assert terms.status_code == 201, terms.get_json()
    bad = client.post("/api/v1/payment-terms", headers=manager,
                      json={"name": "Net 30", "kind": "net", "days": 30})
    assert bad.status_code == 422 and "name" in bad.get_json()["errors"]
    stranger = bearer(make_user("admin", company=other_company))
    assert client.get(url, headers=stranger).status_code == 404
    assert client.get("/api/v1/tax-codes", headers=stranger).get_json()["items"] == []
    assert_constant_list_queries(client, manager, (
        "/api/v1/employees", "/api/v1/tax-codes", "/api/v1/payment-terms"))


@pytest.mark.dialect_independent
def test_a_nul_character_in_a_json_text_is_a_422_on_its_field(client, make_user):
    """Found by the fuzz test on PostgreSQL (an employee's position): a 500 before."""
    headers = bearer(make_user("staff"))
    response = client.post("/api/v1/employees", headers=headers,
                           json={"name": "Ayşe", "position": "\u0000"})
    assert response.status_code == 422 and "position" in response.get_json()["errors"]
    nested = client.post("/api/v1/sales-orders", headers=headers, json={
        "customer_id": 1, "lines": [{"product_id": 1, "quantity": "1\u0000"}]})
    assert nested.status_code == 422
