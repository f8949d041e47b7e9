"""The supplier side of the money pages: a supplier's statement (its page, print page and
PDF, on the customer statement's code), a supplier's default payment terms (chosen on its
form, taken by its bills' due dates) and the dashboard's payables due this week; each with
its roles, company scope and constant query counts."""
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from erp.extensions import db
from erp.models.bills import Bill
from erp.models.catalog import Supplier
from erp.models.core import company_today
from erp.services import bills
from tests.blueprints.test_pdf import pdf_text
from tests.factories.catalog import SupplierFactory
from tests.factories.money import PaymentTermsFactory
from tests.services.test_bills import env  # noqa: F401  (the fixture)

D = Decimal


def posted_on(env, days_ago: int, quantity="2", cost="10.00", supplier=None) -> Bill:
    """A bill of `quantity` x `cost` at 18 % posted `days_ago` days before today."""
    bill = bills.create_bill(supplier_id=(supplier or env.supplier).id, **env.kw)
    bills.add_line(bill_id=bill.id, product_id=env.steel.id, quantity=quantity,
                   unit_price=cost, tax_rate="18", **env.kw)
    day = company_today(env.company.id) - timedelta(days=days_ago)
    return bills.post_bill(bill_id=bill.id, on=day, **env.kw)


def pay(env, amount, days_ago=0, allocations=None):
    return bills.record_supplier_payment(
        supplier_id=env.supplier.id, amount=amount,
        payment_date=company_today(env.company.id) - timedelta(days=days_ago),
        allocations=allocations or {}, **env.kw)


def history(env):
    """A bill before the period (23.60), and in it: a bill (47.20), a payment on the old
    one, and a payment that was reversed."""
    old = posted_on(env, 100)
    new = posted_on(env, 10, quantity="4")
    paid = pay(env, "20.00", 5, {str(old.id): "20.00"})
    undone = pay(env, "10.00", 2)
    bills.reverse_supplier_payment(payment_id=undone.id, **env.kw)
    db.session.rollback()
    return old, new, paid, undone


def test_the_supplier_statement_runs_a_balance(client_as, env):
    old, new, paid, undone = history(env)
    viewer = client_as("viewer")
    page = viewer.get(f"/catalog/suppliers/{env.supplier.id}").get_data(as_text=True)
    assert f'href="/catalog/suppliers/{env.supplier.id}/statement"' in page
    html = viewer.get(f"/catalog/suppliers/{env.supplier.id}/statement").get_data(as_text=True)
    assert 'id="statement-opening"' in html and old.bill_number not in html
    assert ">Billed</th>" in html and ">Paid and returned</th>" in html
    order = [html.index(f'id="statement-{kind}-{id_}"') for kind, id_ in (
        ("bill", new.id), ("payment", paid.id), ("payment", undone.id),
        ("reversal", undone.id))]
    assert order == sorted(order)
    assert f'href="/money/bills/{new.id}"' in html
    assert f'href="/money/supplier-payments/{paid.id}"' in html
    rows = html.split('<tr id="statement-')
    balances = [row.split("</tr>")[0].rsplit('text-end">', 1)[1].split("<")[0]
                for row in rows[1:6]]
    # opening 23.60; +47.20; -20; -10; +10
    assert balances == ["23.60", "70.80", "50.80", "40.80", "50.80"]
    assert "50.80" in html.split('id="statement-closing"')[1]
    # the supplier page's balance agrees with the closing balance
    assert 'id="supplier-balance">50.80' in page
    today = company_today(env.company.id)
    start = (today - timedelta(days=200)).isoformat()
    end = (today - timedelta(days=50)).isoformat()
    html = viewer.get(f"/catalog/suppliers/{env.supplier.id}/statement?start={start}&end={end}"
                      ).get_data(as_text=True)
    assert old.bill_number in html and new.bill_number not in html
    bad = viewer.get(f"/catalog/suppliers/{env.supplier.id}/statement?start=garbage")
    assert bad.status_code == 200 and "not understood" in bad.get_data(as_text=True)


def test_the_supplier_statement_prints_and_downloads_as_pdf(client_as, env):
    old, new, paid, undone = history(env)
    viewer = client_as("viewer")
    url = f"/catalog/suppliers/{env.supplier.id}/statement"
    html = viewer.get(f"{url}/print").get_data(as_text=True)
    assert "Acme Steel" in html and new.bill_number in html and 'id="pdf-button"' in html
    response = viewer.get(f"{url}/pdf")
    text = pdf_text(response)
    assert "STATEMENT" in text.upper() and new.bill_number in text and paid.number in text
    assert "50.80" in text and "Opening balance" in text and "Supplier" in text
    assert response.headers["Content-Disposition"].endswith(
        f"statement-{env.supplier.id}-{company_today(env.company.id).isoformat()}.pdf")


def test_supplier_statement_roles_scope_and_query_count(client_as, env, other_company_client,
                                                        queries_for):
    url = f"/catalog/suppliers/{env.supplier.id}/statement"
    for suffix in ("", "/print", "/pdf"):
        assert other_company_client.get(url + suffix).status_code == 404
    anonymous = client_as("viewer").application.test_client()
    assert anonymous.get(url).status_code in (302, 303)
    viewer = client_as("viewer")
    posted_on(env, 3)
    few = queries_for(viewer, url)
    for days in (1, 2, 4):
        bill = posted_on(env, days)
        pay(env, "5.00", days, {str(bill.id): "5.00"})
    assert queries_for(viewer, url) == few


def test_a_supplier_has_payment_terms_that_its_bills_are_due_under(client_as, env,
                                                                   other_company):
    net45 = PaymentTermsFactory(company=env.company, name="Net 45", days=45)
    default = PaymentTermsFactory(company=env.company, name="Net 10", days=10, is_default=True)
    foreign = PaymentTermsFactory(company=other_company, name="Theirs", days=5)
    db.session.commit()
    manager = client_as("manager")
    form = manager.get(f"/catalog/suppliers/{env.supplier.id}/edit").get_data(as_text=True)
    assert "The company&#39;s default (Net 10)" in form and "Net 45" in form
    assert "Theirs" not in form
    response = manager.post(f"/catalog/suppliers/{env.supplier.id}/edit",
                            data={"name": "Acme Steel", "payment_terms_id": str(foreign.id)})
    assert response.status_code == 422
    assert "Choose payment terms of this company." in response.get_data(as_text=True)
    response = manager.post(f"/catalog/suppliers/{env.supplier.id}/edit",
                            data={"name": "Acme Steel", "payment_terms_id": str(net45.id)})
    assert response.status_code == 303
    db.session.rollback()
    assert db.session.get(Supplier, env.supplier.id).payment_terms_id == net45.id
    page = manager.get(f"/catalog/suppliers/{env.supplier.id}").get_data(as_text=True)
    assert 'id="supplier-payment-terms">Net 45' in page
    bill = posted_on(env, 0)
    today = company_today(env.company.id)
    assert bill.due_date == today + timedelta(days=45)
    # terms a supplier names cannot be deleted
    response = manager.post(f"/money/payment-terms/{net45.id}/delete")
    assert db.session.get(type(net45), net45.id) is not None, response.status_code
    # another supplier with none: the company's default
    env.supplier = SupplierFactory(company=env.company, name="Beta Parts")
    db.session.commit()
    assert posted_on(env, 0).due_date == today + timedelta(days=10)
    response = manager.post("/catalog/suppliers/new",
                            data={"name": "Gamma", "payment_terms_id": ""})
    assert response.status_code == 303
    gamma = db.session.scalar(select(Supplier).where(Supplier.name == "Gamma"))
    assert gamma.payment_terms_id is None
    assert default.is_default


def due_in(env, days: int, quantity="1") -> Bill:
    """A posted bill (quantity x 11.80 with tax) due `days` days from today."""
    bill = posted_on(env, 0, quantity=quantity)
    bill.due_date = company_today(env.company.id) + timedelta(days=days)
    db.session.commit()
    return bill


def test_the_dashboard_shows_payables_due_this_week(client_as, env, other_company_client):
    viewer = client_as("viewer")
    html = viewer.get("/").get_data(as_text=True)
    assert 'id="figure-payables-week"' in html
    assert 'href="/money/bills?overdue=week"' in html
    late = due_in(env, -2, "1")      # 11.80, overdue: shown apart
    soon = due_in(env, 0, "2")       # 23.60
    due_in(env, 6, "3")              # 35.40, the seventh day
    far = due_in(env, 7, "4")        # 47.20, next week
    draft = bills.create_bill(supplier_id=env.supplier.id, **env.kw)
    html = viewer.get("/").get_data(as_text=True)
    tile = html.split('id="figure-payables-week"')[1].split("</div>\n</div>")[0]
    assert "59.00" in tile and "2 bills due in the next 7 days" in tile
    assert "· 11.80 EUR overdue" in tile
    # the other company's dashboard has none of it
    other = other_company_client.get("/").get_data(as_text=True)
    assert "59.00" not in other.split('id="figure-payables-week"')[1].split("</div>\n</div>")[0]
    # a payment invalidates the cached figure
    bills.record_supplier_payment(supplier_id=env.supplier.id, amount="23.60",
                                  allocations={str(soon.id): "23.60"}, **env.kw)
    html = viewer.get("/").get_data(as_text=True)
    tile = html.split('id="figure-payables-week"')[1].split("</div>\n</div>")[0]
    assert "35.40" in tile and "1 bill due in the next 7 days" in tile
    # the tile's list: open bills due from today through the sixth day
    listed = viewer.get("/money/bills?overdue=week").get_data(as_text=True)
    assert late.number not in listed and far.number not in listed
    assert f"Draft bill {draft.id}" not in listed and soon.number not in listed  # paid
    assert 'value="week" selected' in listed


def test_payables_figures_query_count_is_constant(client_as, env, queries_for):
    viewer = client_as("viewer")
    due_in(env, 1)
    few = queries_for(viewer, "/money/bills?overdue=week")
    for days in (2, 3, 4):
        due_in(env, days)
    assert queries_for(viewer, "/money/bills?overdue=week") == few
