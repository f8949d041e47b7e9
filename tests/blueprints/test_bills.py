"""Supplier bill and supplier payment pages: a bill of what a purchase order received (its
"Create bill"), edited (never above what was received) and posted by a manager; a direct
bill with the line editor; the list (filters, overdue, CSV), print page and PDF; supplier
payments settling bills; the supplier's balance; the payables aging report; roles,
company scope, bad input, constant query counts and the pages in Turkish."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models.bills import Bill, BillLine, SupplierPayment
from erp.models.core import company_today
from erp.services import bills, invoices
from tests.blueprints.test_pdf import pdf_text
from tests.blueprints.test_sales import HX
from tests.conftest import login
from tests.factories.catalog import SupplierFactory
from tests.services.test_bills import env, posted, received  # noqa: F401  (the fixture)

D = Decimal


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_purchase_order_is_billed_for_what_it_received(client_as, env):
    order = received(env, receive={0: "6", 1: "100"})
    staff, manager = client_as("staff"), client_as("manager")
    page = staff.get(f"/purchasing/orders/{order.id}").get_data(as_text=True)
    assert 'id="order-bill"' in page
    question = staff.get(f"/money/purchase-orders/{order.id}/bill")
    assert question.status_code == 200 and "Create bill" in question.get_data(as_text=True)
    response = staff.post(f"/money/purchase-orders/{order.id}/bill")
    assert response.status_code == 303
    bill = db.session.scalar(select(Bill))
    assert response.headers["Location"].endswith(f"/money/bills/{bill.id}")
    assert bill.total == D("49.80") and bill.status == "draft"
    page = staff.get(f"/money/bills/{bill.id}").get_data(as_text=True)
    assert "Acme Steel" in page and order.number in page and 'name="quantity"' in page
    # the order's page lists it and offers no second bill
    page = staff.get(f"/purchasing/orders/{order.id}").get_data(as_text=True)
    assert f'id="order-bill-{bill.id}"' in page and 'id="order-bill"' not in page
    assert staff.post(f"/money/purchase-orders/{order.id}/bill").status_code == 303
    assert count(Bill) == 1
    # more than received: refused next to the line, nothing changes
    line = bill.items[0]
    response = staff.post(f"/money/bills/{bill.id}/lines/{line.id}",
                          data={"quantity": "7", "unit_price": "5.25", "discount_percent": "0",
                                "tax_rate": "20"})
    assert response.status_code == 422
    assert "Only 6 received and not billed" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(BillLine, line.id).quantity == D(6)
    response = staff.post(f"/money/bills/{bill.id}/lines/{line.id}",
                          data={"quantity": "5", "unit_price": "5.00", "discount_percent": "0",
                                "tax_rate": "20"}, headers=HX)
    assert response.status_code == 200 and f'id="bill-{bill.id}-totals"' in response.get_data(
        as_text=True)
    # staff may not post; a manager does
    assert staff.post(f"/money/bills/{bill.id}/post").status_code == 403
    assert manager.post(f"/money/bills/{bill.id}/post").status_code == 303
    db.session.rollback()
    bill = db.session.get(Bill, bill.id)
    assert bill.status == "open" and bill.bill_number.startswith("BILL-")
    assert bill.total == D("42.00")  # 5 x 5.00 + 20 % and 100 x 0.12
    # posted: the lines no longer change
    response = staff.post(f"/money/bills/{bill.id}/lines/{line.id}",
                          data={"quantity": "1", "unit_price": "1", "discount_percent": "0",
                                "tax_rate": "0"})
    assert response.status_code in (303, 409)
    db.session.rollback()
    assert db.session.get(BillLine, line.id).quantity == D(5)
    assert invoices.mismatches(env.company.id) == []


def test_a_direct_bill_with_the_line_editor_and_cancelling(client_as, env):
    staff = client_as("staff")
    assert staff.get(f"/money/bills/new?supplier_id={env.supplier.id}").status_code == 200
    response = staff.post("/money/bills/new", data={"supplier": "", "notes": ""})
    assert response.status_code == 422 and count(Bill) == 0
    response = staff.post("/money/bills/new", data={
        "supplier": env.supplier.picker_label, "supplier_reference": "ACME-77", "notes": "x"})
    assert response.status_code == 303
    bill = db.session.scalar(select(Bill))
    assert bill.supplier_reference == "ACME-77"
    for bad in ("-1", "abc", "99999999999999999"):
        response = staff.post(f"/money/bills/{bill.id}/lines",
                              data={"product": "STEEL", "quantity": bad})
        assert response.status_code == 422, bad
    assert count(BillLine) == 0
    response = staff.post(f"/money/bills/{bill.id}/lines", data={"product": "STEEL",
                                                                  "quantity": "3"})
    assert response.status_code == 303
    line = db.session.scalar(select(BillLine))
    assert line.unit_price == D("4.00")  # the product's cost price
    assert staff.post(f"/money/bills/{bill.id}/cancel").status_code == 303
    db.session.rollback()
    assert db.session.get(Bill, bill.id).status == "cancelled"


def test_print_page_and_pdf(client_as, env):
    bill = posted(env)
    viewer = client_as("viewer")
    html = viewer.get(f"/money/bills/{bill.id}/print").get_data(as_text=True)
    assert bill.bill_number in html and "Acme Steel" in html and "STEEL" in html
    assert "Supplier bill" in html and "doc-draft" not in html
    response = viewer.get(f"/money/bills/{bill.id}/pdf")
    text = pdf_text(response)
    assert bill.bill_number in text and "23.60" in text and "Acme Steel" in text
    assert response.headers["Content-Disposition"].endswith(f"{bill.bill_number}.pdf")


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_the_list_filters_overdue_and_exports(client_as, env):
    client = client_as("viewer")
    other = SupplierFactory(company=env.company, name="Other Supplies")
    late = posted(env)
    env.supplier = other
    fresh = posted(env)
    late.due_date = company_today(env.company.id) - timedelta(days=5)
    db.session.commit()
    draft = bills.create_bill(supplier_id=other.id, **env.kw)
    numbers = {late.number, fresh.number, f"Draft bill {draft.id}"}

    def shown(query: str) -> set[str]:
        html = client.get(f"/money/bills?{query}").get_data(as_text=True)
        return {number for number in numbers if number in html}

    assert shown("") == numbers
    assert shown("overdue=1") == {late.number}
    assert shown("status=draft") == {f"Draft bill {draft.id}"}
    assert shown("supplier=other+supp&status=open") == {fresh.number}
    assert shown("overdue=nonsense&date_from=garbage&supplier=") == numbers
    fragment = client.get("/money/bills?overdue=1", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and late.number in fragment
    lines = client.get("/money/bills?format=csv&status=open").get_data(
        as_text=True).splitlines()
    assert lines[0].lstrip("\ufeff").startswith("number,supplier_reference,bill_date")
    assert len(lines) == 3


def test_supplier_payments_settle_bills_and_show_on_the_supplier(client_as, env):
    first, second = posted(env), posted(env)  # 23.60 each
    manager = client_as("manager")
    assert client_as("staff").get("/money/supplier-payments/new").status_code == 403
    form = manager.get(f"/money/supplier-payments/new?supplier_id={env.supplier.id}"
                       f"&bill={first.id}").get_data(as_text=True)
    assert f'name="alloc-{first.id}" value="23.60"' in form and f'name="alloc-{second.id}"' in form
    data = {"supplier": env.supplier.picker_label, "payment_date": "2026-12-01",
            "amount": "30", "method": "bank_transfer", "reference": "TX-9"}
    for bad in ({"amount": "-1"}, {"amount": "abc"}, {"amount": "1e999"},
                {"amount": "99999999999999999"}, {f"alloc-{first.id}": "25"},
                {f"alloc-{first.id}": "23.60", f"alloc-{second.id}": "10"},
                {"payment_date": "never"}, {"method": "gold"}):
        response = manager.post("/money/supplier-payments/new", data={**data, **bad})
        assert response.status_code == 422, bad
    assert count(SupplierPayment) == 0
    response = manager.post("/money/supplier-payments/new", data={
        **data, f"alloc-{first.id}": "23.60", f"alloc-{second.id}": "5"})
    payment = db.session.scalar(select(SupplierPayment))
    assert response.headers["Location"].endswith(f"/money/supplier-payments/{payment.id}")
    assert payment.unallocated == D("1.40")
    page = client_as("viewer").get(f"/catalog/suppliers/{env.supplier.id}").get_data(
        as_text=True)
    assert 'id="supplier-balance">17.20' in page  # 18.60 open less 1.40 credit
    assert 'id="supplier-credit">1.40' in page and 'id="supplier-open-bills">1' in page
    manager.post(f"/money/supplier-payments/{payment.id}/allocate",
                 data={f"alloc-{second.id}": "1.40"})
    db.session.rollback()
    assert [db.session.get(Bill, b).status for b in (first.id, second.id)] == [
        "paid", "partly_paid"]
    page = client_as("viewer").get(f"/money/bills/{first.id}").get_data(as_text=True)
    assert payment.number in page
    assert manager.post(f"/money/supplier-payments/{payment.id}/reverse").status_code == 303
    db.session.rollback()
    assert [db.session.get(Bill, b).status for b in (first.id, second.id)] == ["open", "open"]
    assert invoices.mismatches(env.company.id) == []


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_the_payables_aging_report(client_as, env):
    today = company_today(env.company.id)
    amounts = {}
    for days, quantity in ((-3, "1"), (10, "2"), (45, "3"), (75, "4"), (120, "5")):
        bill = posted(env, quantity)
        bill.due_date = today - timedelta(days=days)
        amounts[days] = bill.total
    other = SupplierFactory(company=env.company, name="Beta Parts")
    env.supplier = other
    posted(env, "1")
    db.session.commit()
    viewer = client_as("viewer")
    html = viewer.get("/money/payables-aging").get_data(as_text=True)
    assert "Acme Steel" in html and "Beta Parts" in html and 'id="aging-totals"' in html
    assert html.index("Acme Steel") < html.index("Beta Parts")
    lines = viewer.get("/money/payables-aging?format=csv").get_data(as_text=True).splitlines()
    assert lines[0].lstrip("\ufeff") == ("supplier,supplier_id,current,days_1_30,days_31_60,"
                                          "days_61_90,over_90,total")
    acme = next(line for line in lines if line.startswith("Acme Steel"))
    assert acme.split(",")[2:] == [str(amounts[-3]), str(amounts[10]), str(amounts[45]),
                                   str(amounts[75]), str(amounts[120]),
                                   str(sum(amounts.values()))]
    only = viewer.get(f"/money/payables-aging?supplier={other.name}").get_data(as_text=True)
    assert "Beta Parts" in only and "Acme Steel" not in only
    unknown = viewer.get("/money/payables-aging?supplier=nobody&as_of=garbage")
    assert unknown.status_code == 200 and 'id="aging-empty"' in unknown.get_data(as_text=True)
    # as of a later day, the current bill is 1-30 days past due
    later = (today + timedelta(days=10)).isoformat()
    lines = viewer.get(f"/money/payables-aging?format=csv&as_of={later}&supplier=Acme+Steel"
                       ).get_data(as_text=True).splitlines()
    assert lines[1].split(",")[2] == "0.00" and len(lines) == 2


def test_the_payables_aging_is_served_from_the_cache_until_a_bill_or_a_supplier_changes(
        client_as, env, queries_for):
    posted(env, "2")
    viewer = client_as("viewer")
    first = queries_for(viewer, "/money/payables-aging")
    assert queries_for(viewer, "/money/payables-aging") == first - 2  # rows and totals
    env.supplier.name = "Acme Alloys"
    db.session.commit()
    assert "Acme Alloys" in viewer.get("/money/payables-aging").get_data(as_text=True)
    before = viewer.get("/money/payables-aging").get_data(as_text=True)
    posted(env, "3")
    after = viewer.get("/money/payables-aging").get_data(as_text=True)
    total = after.split('id="aging-totals"')[1]
    assert before.split('id="aging-totals"')[1] != total


def test_roles_and_another_companys_records(client_as, env, other_company,
                                            other_company_client):
    order = received(env)
    bill = bills.create_bill_from_order(order_id=order.id, **env.kw)
    open_bill = posted(env)
    payment = bills.record_supplier_payment(supplier_id=env.supplier.id, amount="5",
                                            allocations={open_bill.id: "5"}, **env.kw)
    viewer = client_as("viewer")
    readable = ["/money/bills", f"/money/bills/{bill.id}", f"/money/bills/{bill.id}/print",
                f"/money/bills/{bill.id}/pdf", "/money/supplier-payments",
                f"/money/supplier-payments/{payment.id}", "/money/payables-aging",
                f"/catalog/suppliers/{env.supplier.id}"]
    for url in readable:
        assert viewer.get(url).status_code == 200, url
    for url in ("/money/bills/new", "/money/supplier-payments/new",
                f"/money/purchase-orders/{order.id}/bill"):
        assert viewer.get(url).status_code == 403, url
    for url in (f"/money/bills/{bill.id}/post", f"/money/bills/{bill.id}/cancel",
                f"/money/bills/{bill.id}/lines", f"/money/purchase-orders/{order.id}/bill",
                f"/money/supplier-payments/{payment.id}/reverse",
                f"/money/supplier-payments/{payment.id}/allocate"):
        assert viewer.post(url, data={"product": "STEEL", "quantity": "1"}).status_code == 403
    staff = client_as("staff")
    for url in (f"/money/bills/{bill.id}/post", f"/money/supplier-payments/{payment.id}/reverse",
                f"/money/supplier-payments/{payment.id}/allocate"):
        assert staff.post(url).status_code == 403, url
    line = bill.items[0]
    for url in readable[1:4] + [f"/money/supplier-payments/{payment.id}",
                                f"/money/purchase-orders/{order.id}/bill",
                                f"/money/bills/{bill.id}/lines/{line.id}/remove"]:
        assert other_company_client.get(url).status_code == 404, url
    for url in (f"/money/bills/{bill.id}/post", f"/money/bills/{bill.id}/cancel",
                f"/money/bills/{bill.id}/lines", f"/money/bills/{bill.id}/lines/{line.id}",
                f"/money/bills/{bill.id}/lines/{line.id}/remove",
                f"/money/purchase-orders/{order.id}/bill",
                f"/money/supplier-payments/{payment.id}/reverse",
                f"/money/supplier-payments/{payment.id}/allocate"):
        assert other_company_client.post(url, data={"product": "STEEL", "quantity": "1"}
                                          ).status_code == 404, url
    for url in ("/money/bills", "/money/supplier-payments", "/money/payables-aging"):
        assert "Acme Steel" not in other_company_client.get(url).get_data(as_text=True), url
    # another company's supplier is no supplier; a payment on another company's bill is
    # refused and writes nothing
    response = other_company_client.post("/money/bills/new", data={
        "supplier": f"x [#{env.supplier.id}]"})
    assert response.status_code == 422
    theirs = SupplierFactory(company=other_company)
    response = other_company_client.post("/money/supplier-payments/new", data={
        "supplier": theirs.picker_label, "payment_date": "2026-12-01", "amount": "5",
        "method": "cash", f"alloc-{open_bill.id}": "5"})
    assert response.status_code == 422
    assert count(SupplierPayment) == 1
    db.session.rollback()
    assert db.session.get(Bill, open_bill.id).paid_total == D(5)


def test_list_and_record_query_counts_are_constant(client_as, env, queries_for):
    client = client_as("viewer")
    bill = posted(env)
    bills.record_supplier_payment(supplier_id=env.supplier.id, amount="5",
                                  allocations={bill.id: "5"}, **env.kw)
    pages = ["/money/bills?per_page=100", "/money/supplier-payments?per_page=100",
             "/money/payables-aging", f"/money/bills/{bill.id}",
             f"/catalog/suppliers/{env.supplier.id}"]
    before = [queries_for(client, url) for url in pages]
    hx = queries_for(client, "/money/bills?per_page=100&overdue=1", headers=HX)
    for _ in range(4):
        env.supplier = SupplierFactory(company=env.company)
        more = posted(env)
        bills.record_supplier_payment(supplier_id=env.supplier.id, amount="5",
                                      allocations={more.id: "5"}, **env.kw)
    wide = bills.create_bill(supplier_id=env.supplier.id, **env.kw)
    for product in (env.steel, env.bolt, env.steel):
        bills.add_line(bill_id=wide.id, product_id=product.id, quantity="1", **env.kw)
    bills.post_bill(bill_id=wide.id, **env.kw)
    pages[3] = f"/money/bills/{wide.id}"
    assert [queries_for(client, url) for url in pages] == before
    assert queries_for(client, "/money/bills?per_page=100&overdue=1", headers=HX) == hx
    assert client.get("/money/bills?page=500").status_code == 200


def test_the_pages_in_turkish(app, env, make_user):
    bill = posted(env)
    payment = bills.record_supplier_payment(supplier_id=env.supplier.id, amount="5",
                                            allocations={bill.id: "5"}, **env.kw)
    client = login(app.test_client(), make_user("manager", language="tr").email)
    for url in ("/money/bills", f"/money/bills/{bill.id}", "/money/bills/new",
                f"/money/bills/{bill.id}/print", "/money/supplier-payments",
                f"/money/supplier-payments/{payment.id}",
                f"/money/supplier-payments/new?supplier_id={env.supplier.id}",
                "/money/payables-aging", f"/catalog/suppliers/{env.supplier.id}"):
        response = client.get(url)
        assert response.status_code == 200, url
    assert "Tedarikçi faturaları" in client.get("/money/bills").get_data(as_text=True)
