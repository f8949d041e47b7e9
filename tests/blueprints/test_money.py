"""Money settings pages: tax codes and payment terms (roles, company scope, bad input, query
counts), the company settings with the seller's data, logo and defaults, new companies,
the product and customer fields, and tax per rate on the order page and the invoice."""
import io
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import Company, Product, User
from erp.models.invoices import Invoice
from erp.models.money import CompanyLogo, PaymentTerms, TaxCode
from erp.models.sales import Customer
from erp.services import money, sales
from erp.services import users as user_service
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.core import UserFactory
from tests.factories.money import PaymentTermsFactory, TaxCodeFactory
from tests.factories.sales import CustomerFactory

HX = {"HX-Request": "true"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def records(company):
    return {"/money/tax-codes": TaxCodeFactory(company=company, name="KDV 20"),
            "/money/payment-terms": PaymentTermsFactory(company=company, name="Net 30")}


def test_viewers_read_staff_may_not_change_managers_do(client_as, records):
    viewer, staff, manager = client_as("viewer"), client_as("staff"), client_as("manager")
    for base, record in records.items():
        for url in (base, f"{base}/{record.id}"):
            assert viewer.get(url).status_code == 200, url
        for client in (viewer, staff):
            assert client.get(f"{base}/new").status_code == 403
            assert client.post(f"{base}/new", data={"name": "X"}).status_code == 403
            assert client.post(f"{base}/{record.id}/edit", data={"name": "X"}).status_code == 403
            assert client.post(f"{base}/{record.id}/active", data={"active": "0"}).status_code == 403
        assert manager.get(f"{base}/new").status_code == 200
    assert (count(TaxCode), count(PaymentTerms)) == (1, 1)
    page = viewer.get("/money/tax-codes").get_data(as_text=True)
    assert "KDV 20" in page and "New tax code" not in page
    assert "New tax code" in manager.get("/money/tax-codes").get_data(as_text=True)


def test_another_company_gets_404_and_changes_nothing(other_company_client, records):
    for base, record in records.items():
        for url in (f"{base}/{record.id}", f"{base}/{record.id}/edit", f"{base}/{record.id}/delete"):
            assert other_company_client.get(url).status_code == 404, url
        for url in (f"{base}/{record.id}/edit", f"{base}/{record.id}/active",
                    f"{base}/{record.id}/delete"):
            assert other_company_client.post(url, data={"name": "Hijack", "rate": "1",
                                                        "kind": "net", "days": "1"}
                                             ).status_code == 404, url
        assert record.name not in other_company_client.get(base).get_data(as_text=True)
    db.session.rollback()
    assert [code.name for code in db.session.scalars(select(TaxCode))] == ["KDV 20"]
    assert db.session.scalar(select(PaymentTerms.active)) is True


def test_a_manager_creates_edits_archives_and_deletes_a_tax_code(client_as, company):
    manager = client_as("manager")
    response = manager.post("/money/tax-codes/new", data={"name": "KDV 10", "rate": "10"})
    assert response.status_code == 303
    code = db.session.scalar(select(TaxCode))
    assert (code.name, code.rate) == ("KDV 10", D("10"))
    assert manager.post(f"/money/tax-codes/{code.id}/edit",
                        data={"name": "KDV 8", "rate": "8"}).status_code == 303
    assert manager.post(f"/money/tax-codes/{code.id}/active", data={"active": "0"}
                        ).status_code == 303
    db.session.rollback()
    assert (code.name, code.rate, code.active) == ("KDV 8", D("8"), False)
    row = f'id="tax-code-{code.id}"'
    assert row not in manager.get("/money/tax-codes").get_data(as_text=True)
    assert row in manager.get("/money/tax-codes?status=archived").get_data(as_text=True)
    assert 'id="confirm-delete"' in manager.get(f"/money/tax-codes/{code.id}/delete").get_data(
        as_text=True)
    assert manager.post(f"/money/tax-codes/{code.id}/delete").status_code == 303
    assert count(TaxCode) == 0


@pytest.mark.parametrize("data, message", [
    ({"name": "X", "rate": "101"}, "Enter a tax rate from 0 to 100 %."),
    ({"name": "X", "rate": "abc"}, "Not a valid decimal value."),
    ({"name": "", "rate": "5"}, "This field is required."),
    ({"name": "X", "rate": ""}, "Enter the rate."),
])
def test_bad_tax_code_input_is_answered_next_to_the_field(client_as, company, data, message):
    response = client_as("manager").post("/money/tax-codes/new", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(TaxCode) == 0


def test_payment_terms_are_created_and_bad_days_refused(client_as, company):
    manager = client_as("manager")
    response = manager.post("/money/payment-terms/new",
                            data={"name": "EOM 30", "kind": "end_of_month", "days": "30"})
    assert response.status_code == 303
    terms = db.session.scalar(select(PaymentTerms))
    assert (terms.kind, terms.days) == ("end_of_month", 30)
    page = manager.get(f"/money/payment-terms/{terms.id}").get_data(as_text=True)
    assert "30 days after the end of the month" in page
    for days in ("400", "-3", "x", "99999999999999999999999"):
        response = manager.post("/money/payment-terms/new",
                                data={"name": "Bad", "kind": "net", "days": days})
        assert response.status_code == 422, days
    response = manager.post("/money/payment-terms/new",
                            data={"name": "Bad", "kind": "fortnightly", "days": "1"})
    assert response.status_code == 422
    assert count(PaymentTerms) == 1


@pytest.mark.parametrize("base, make", [
    ("/money/tax-codes", lambda company: TaxCodeFactory(company=company)),
    ("/money/payment-terms", lambda company: PaymentTermsFactory(company=company)),
])
def test_list_query_counts_do_not_grow(client_as, company, queries_for, base, make):
    viewer = client_as("viewer")
    for _ in range(3):
        make(company)
    few = queries_for(viewer, f"{base}?per_page=100")
    few_hx = queries_for(viewer, f"{base}?per_page=100&q=e", headers=HX)
    for _ in range(40):
        make(company)
    assert queries_for(viewer, f"{base}?per_page=100") == few
    assert queries_for(viewer, f"{base}?per_page=100&q=e", headers=HX) == few_hx
    assert queries_for(viewer, f"{base}?page=2") == few


def test_the_list_answers_htmx_with_its_results_and_csv(client_as, records):
    viewer = client_as("viewer")
    fragment = viewer.get("/money/payment-terms?kind=net", headers=HX).get_data(as_text=True)
    assert "Net 30" in fragment and "<html" not in fragment
    assert "Net 30" not in viewer.get("/money/payment-terms?kind=receipt").get_data(as_text=True)
    csv = viewer.get("/money/tax-codes?format=csv")
    assert csv.mimetype == "text/csv" and "KDV 20" in csv.get_data(as_text=True)


# --- company settings -------------------------------------------------------------------

def settings(company, **changes) -> dict:
    return {"name": company.name, "currency": company.currency,
            "timezone": company.timezone} | changes


def test_an_admin_saves_the_sellers_data_and_the_defaults(admin_client, company):
    code = TaxCodeFactory(company=company, name="KDV 20")
    terms = PaymentTermsFactory(company=company, name="Net 30")
    page = admin_client.get("/admin/company").get_data(as_text=True)
    assert "KDV 20 (20 %)" in page and "Net 30" in page and "TRY · Turkish lira" in page
    response = admin_client.post("/admin/company", data=settings(
        company, legal_name="Acme A.Ş.", address="Street 1\nİstanbul", tax_number="123",
        currency="TRY", bank_details="IBAN TR00", invoice_footer="Thanks",
        default_tax_code_id=str(code.id), default_payment_terms_id=str(terms.id)))
    assert response.status_code == 303
    db.session.rollback()
    company = db.session.get(Company, company.id)
    assert (company.legal_name, company.address, company.tax_number, company.currency,
            company.bank_details, company.invoice_footer) == (
        "Acme A.Ş.", "Street 1\nİstanbul", "123", "TRY", "IBAN TR00", "Thanks")
    assert (code.is_default, terms.is_default) == (True, True)


def test_bad_settings_are_answered_together_and_nothing_changes(admin_client, company,
                                                              other_company):
    foreign = TaxCodeFactory(company=other_company)
    response = admin_client.post("/admin/company", data=settings(
        company, currency="XYZ", legal_name="Fine", default_tax_code_id=str(foreign.id)))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choose a currency from the list." in page
    assert "Choose an active tax code of this company." in page
    response = admin_client.post("/admin/company", data=settings(company, legal_name="x" * 300))
    assert response.status_code == 422
    assert "Field cannot be longer than 200 characters." in response.get_data(as_text=True)
    db.session.rollback()
    assert (db.session.get(Company, company.id).currency, foreign.is_default) == ("EUR", False)


def test_only_admins_change_the_settings_and_the_logo(client_as):
    manager = client_as("manager")
    assert manager.get("/admin/company").status_code == 403
    assert manager.post("/admin/company/logo",
                        data={"logo": (io.BytesIO(PNG), "logo.png")}).status_code == 403
    assert manager.post("/admin/company/logo/delete").status_code == 403
    assert count(CompanyLogo) == 0


def test_the_logo_is_uploaded_served_to_its_company_only_and_removed(client_as, company,
                                                                    other_company):
    admin = client_as("admin")
    response = admin.post("/admin/company/logo", data={"logo": (io.BytesIO(PNG), "x.gif")},
                          content_type="multipart/form-data")
    assert response.status_code == 303
    viewer = client_as("viewer")
    served = viewer.get("/company/logo")
    assert (served.status_code, served.mimetype, served.data) == (200, "image/png", PNG)
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert 'id="company-logo"' in admin.get("/admin/company").get_data(as_text=True)
    # another company's users get their own company's logo: none
    assert client_as("viewer", company=other_company).get("/company/logo").status_code == 404
    assert "Remove the company" in admin.get("/admin/company/logo/delete").get_data(as_text=True)
    assert admin.post("/admin/company/logo/delete").status_code == 303
    assert viewer.get("/company/logo").status_code == 404


@pytest.mark.parametrize("data, message", [
    (b"GIF89a" + b"\x00" * 64, "Upload a PNG or JPEG image."),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * (600 * 1024), "use at most 512 KB"),
])
def test_a_bad_logo_is_answered_on_the_page(admin_client, company, data, message):
    response = admin_client.post("/admin/company/logo",
                                 data={"logo": (io.BytesIO(data), "logo.png")},
                                 content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert f'value="{company.name}"' in page  # the settings form keeps the company's values
    assert count(CompanyLogo) == 0


def test_a_logo_post_without_a_file_is_answered(admin_client):
    response = admin_client.post("/admin/company/logo", data={},
                                 content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose an image file." in response.get_data(as_text=True)


# --- new companies ----------------------------------------------------------------------

NEW_COMPANY = {"name": "Newco", "currency": "TRY", "timezone": "Europe/Istanbul",
               "admin_email": "boss@newco.example", "admin_name": "Boss",
               "admin_password": "a long enough secret"}


def test_a_company_admin_cannot_create_companies(client_as):
    admin = client_as("admin")
    assert admin.get("/admin/companies/new").status_code == 403
    assert admin.post("/admin/companies/new", data=NEW_COMPANY).status_code == 403
    assert 'id="new-company"' not in admin.get("/admin/company").get_data(as_text=True)
    assert count(Company) == 1


def test_an_installation_admin_creates_a_company_whose_data_stays_apart(app, company, client,
                                                                       ):
    from tests.conftest import login
    root = UserFactory(company=company, role="admin", is_superuser=True)
    TaxCodeFactory(company=company, name="Mine only")
    client = login(app.test_client(), root.email)
    assert 'id="new-company"' in client.get("/admin/company").get_data(as_text=True)
    response = client.post("/admin/companies/new", data=NEW_COMPANY)
    assert response.status_code == 303
    created = db.session.scalar(select(Company).where(Company.name == "Newco"))
    boss = db.session.scalar(select(User).where(User.email == "boss@newco.example"))
    assert (boss.company_id, boss.role, created.currency) == (created.id, "admin", "TRY")
    # the creator still works in their own company; the new admin sees only theirs
    assert "Mine only" in client.get("/money/tax-codes").get_data(as_text=True)
    boss_client = login(app.test_client(), boss.email, "a long enough secret")
    assert "Mine only" not in boss_client.get("/money/tax-codes").get_data(as_text=True)
    response = client.post("/admin/companies/new", data=NEW_COMPANY)  # taken name and email
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "A company named &#39;Newco&#39; exists." in page
    assert "A user with this email exists." in page
    assert count(Company) == 2


# --- products, customers, orders and invoices -------------------------------------------

def test_a_product_names_its_tax_code_on_its_form(client_as, company, other_company):
    code = TaxCodeFactory(company=company, name="KDV 10", rate=D("10"))
    foreign = TaxCodeFactory(company=other_company, name="Foreign code")
    staff = client_as("staff")
    form = staff.get("/catalog/products/new").get_data(as_text=True)
    assert "KDV 10 (10 %)" in form and "Foreign code" not in form
    data = {"sku": "T-1", "name": "Taxed", "kind": "service", "unit": "pcs",
            "tax_code_id": str(code.id)}
    assert staff.post("/catalog/products/new", data=data).status_code == 303
    product = db.session.scalar(select(Product).where(Product.sku == "T-1"))
    assert product.tax_code_id == code.id
    page = staff.get(f"/catalog/products/{product.id}").get_data(as_text=True)
    assert "KDV 10 (10 %)" in page
    response = staff.post(f"/catalog/products/{product.id}/edit",
                          data=data | {"tax_code_id": str(foreign.id)})
    assert response.status_code == 422
    assert "Choose a tax code of this company." in response.get_data(as_text=True)


def test_a_customer_gets_payment_terms_on_its_form(client_as, company):
    terms = PaymentTermsFactory(company=company, name="Net 60", days=60)
    staff = client_as("staff")
    assert "The company&#39;s default" in staff.get("/sales/customers/new").get_data(as_text=True)
    response = staff.post("/sales/customers/new",
                          data={"name": "Termed", "payment_terms_id": str(terms.id)})
    assert response.status_code == 303
    customer = db.session.scalar(select(Customer).where(Customer.name == "Termed"))
    assert customer.payment_terms_id == terms.id
    assert "Net 60" in staff.get(f"/sales/customers/{customer.id}").get_data(as_text=True)
    response = staff.post(f"/sales/customers/{customer.id}/edit",
                          data={"name": "Termed", "payment_terms_id": "999999"})
    assert response.status_code == 422
    assert "Choose payment terms of this company." in response.get_data(as_text=True)


def _invoiced_order(company):
    kdv20 = TaxCodeFactory(company=company, name="KDV 20", rate=D("20"))
    kdv10 = TaxCodeFactory(company=company, name="KDV 10", rate=D("10"))
    user_service.update_company(company_id=company.id, user=None, name=company.name,
                                currency="TRY", timezone="UTC", default_tax_code_id=kdv20.id,
                                legal_name="Acme Sanayi A.Ş.", address="Street 9\nİzmir",
                                tax_number="TAX-777", bank_details="IBAN TR12",
                                invoice_footer="Footer words")
    warehouse = WarehouseFactory(company=company)
    customer = CustomerFactory(company=company)
    kw = {"company_id": company.id, "user": None}
    order = sales.create_order(customer_id=customer.id, warehouse_id=warehouse.id, **kw)
    standard = ProductFactory(company=company, kind="service")
    reduced = ProductFactory(company=company, kind="service", tax_code_id=kdv10.id)
    sales.add_line(order_id=order.id, product_id=standard.id, quantity="2", unit_price="50", **kw)
    sales.add_line(order_id=order.id, product_id=reduced.id, quantity="1", unit_price="30", **kw)
    return order, kw


def test_the_order_page_shows_tax_per_rate(client_as, company):
    order, _kw = _invoiced_order(company)
    page = client_as("viewer").get(f"/sales/orders/{order.id}").get_data(as_text=True)
    assert "20 % on 100.00" in page and "10 % on 30.00" in page


def test_the_invoice_shows_the_sellers_legal_data_logo_and_tax_per_rate(client_as, company):
    order, kw = _invoiced_order(company)
    for step in (sales.confirm_order, sales.ship_order, sales.invoice_order):
        step(order_id=order.id, **kw)
    money.set_logo(company_id=company.id, user=None, data=PNG)
    invoice_id = db.session.scalar(select(Invoice.id).where(Invoice.order_id == order.id))
    page = client_as("viewer").get(f"/money/invoices/{invoice_id}/print").get_data(
        as_text=True)
    for text in ("Acme Sanayi A.Ş.", "Street 9\nİzmir", "Tax number: TAX-777", "IBAN TR12",
                 "Footer words", 'id="doc-tax-by-rate"',
                 'class="doc-logo" src="data:image/png;base64,'):  # embedded: the PDF too
        assert text in page, text
    assert page.count('<td class="num">20</td>') + page.count('<td class="num">10</td>') >= 2
    assert "33.00" in page and "20.00" in page  # the tax of each rate


def test_the_order_confirmation_shows_the_seller_too(client_as, company):
    order, _kw = _invoiced_order(company)
    page = client_as("viewer").get(f"/sales/orders/{order.id}/print").get_data(as_text=True)
    assert "Acme Sanayi A.Ş." in page and "Tax number: TAX-777" in page
    assert 'class="doc-logo"' not in page  # no logo uploaded
