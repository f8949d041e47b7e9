"""The pages of a purchase return's debit: a manager posts the return, its page names the
bill it debited, the bill's page and the supplier's statement show the debit lowering what
we owe; roles and company scope unchanged; the return page's query count is constant."""
from decimal import Decimal

from erp.extensions import db
from erp.models.bills import Bill
from erp.models.purchasing import PurchaseOrder
from erp.models.returns import PurchaseReturn
from erp.services import invoices, returns
from tests.services.test_bill_debits import posted_bill, steel_item
from tests.services.test_bills import env, received  # noqa: F401  (the fixture)

D = Decimal


def drafted(env, order, quantity="2") -> PurchaseReturn:
    return returns.create_purchase_return(
        order_id=order.id, quantities={steel_item(order).id: quantity},
        warehouse_id=env.warehouse.id, reason="Rusty", **env.kw)


def test_a_manager_posts_a_return_and_the_pages_show_the_debit(client_as, env):
    order = received(env)
    bill = posted_bill(env, order)
    made = drafted(env, order)
    assert client_as("viewer").post(f"/purchasing/returns/{made.id}/post").status_code == 403
    assert client_as("staff").post(f"/purchasing/returns/{made.id}/post").status_code == 403
    db.session.rollback()
    assert db.session.get(Bill, bill.id).debited_total == D(0)
    assert client_as("manager").post(f"/purchasing/returns/{made.id}/post").status_code == 303
    db.session.rollback()
    assert db.session.get(Bill, bill.id).debited_total == D("12.60")
    viewer = client_as("viewer")
    page = viewer.get(f"/purchasing/returns/{made.id}").get_data(as_text=True)
    assert f'href="/money/bills/{bill.id}"' in page and bill.bill_number in page
    assert f'id="return-{made.id}-debited">12.60' in page
    bill_page = viewer.get(f"/money/bills/{bill.id}").get_data(as_text=True)
    assert "Debited (returns)" in bill_page and f'id="bill-{bill.id}-balance">62.40' in bill_page
    statement = viewer.get(f"/catalog/suppliers/{env.supplier.id}/statement").get_data(
        as_text=True)
    assert f'id="statement-debit-{made.id}"' in statement
    assert f'href="/purchasing/returns/{made.id}"' in statement
    assert statement.index(f'id="statement-bill-{bill.id}"') < statement.index(
        f'id="statement-debit-{made.id}"')
    supplier = viewer.get(f"/catalog/suppliers/{env.supplier.id}").get_data(as_text=True)
    assert 'id="supplier-balance">62.40' in supplier
    assert invoices.mismatches(env.company.id) == []


def test_a_return_no_bill_billed_says_so(client_as, env):
    order = received(env)
    made = drafted(env, order)
    assert client_as("manager").post(f"/purchasing/returns/{made.id}/post").status_code == 303
    page = client_as("viewer").get(f"/purchasing/returns/{made.id}").get_data(as_text=True)
    assert "No posted bill billed these goods" in page


def test_another_companys_return_and_statement_are_not_found(env, other_company_client):
    order = received(env)
    posted_bill(env, order)
    made = drafted(env, order)
    for url in (f"/purchasing/returns/{made.id}",
                f"/catalog/suppliers/{env.supplier.id}/statement"):
        assert other_company_client.get(url).status_code == 404, url
    assert other_company_client.post(f"/purchasing/returns/{made.id}/post").status_code == 404
    db.session.rollback()
    assert db.session.get(PurchaseReturn, made.id).status == "draft"


def test_the_return_page_and_the_statement_make_a_constant_number_of_queries(
        client_as, env, queries_for):
    client = client_as("viewer")
    order = received(env)
    posted_bill(env, order)
    one = returns.create_purchase_return(
        order_id=order.id, quantities={steel_item(order).id: "1"},
        warehouse_id=env.warehouse.id, reason="Rusty", post=True, **env.kw)
    statement = f"/catalog/suppliers/{env.supplier.id}/statement"
    before = [queries_for(client, f"/purchasing/returns/{one.id}"), queries_for(client, statement)]
    order = db.session.get(PurchaseOrder, order.id)
    both = returns.create_purchase_return(
        order_id=order.id, quantities={item.id: "1" for item in order.items},
        warehouse_id=env.warehouse.id, reason="Rusty", post=True, **env.kw)
    for _ in range(3):
        returns.create_purchase_return(
            order_id=order.id, quantities={steel_item(order).id: "1"},
            warehouse_id=env.warehouse.id, reason="Rusty", post=True, **env.kw)
    assert [queries_for(client, f"/purchasing/returns/{both.id}"),
            queries_for(client, statement)] == before
