"""Money settings: tax codes, payment terms and due dates, the rate a sales line takes, tax
per rate, the seller on issued invoices, the logo, and companies made in the app."""
from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import Company, Product, User
from erp.models.audit import AuditEntry
from erp.models.invoices import Invoice
from erp.models.money import LOGO_MAX_BYTES, CompanyLogo, PaymentTerms, TaxCode
from erp.models.sales import IssuedDocument
from erp.services import DomainError, ValidationError
from erp.services import money, sales
from erp.services import users as user_service
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.core import CompanyFactory, UserFactory
from tests.factories.money import PaymentTermsFactory, TaxCodeFactory
from tests.factories.sales import CustomerFactory

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100
GIF = b"GIF89a" + b"\x00" * 100


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def terms(kind: str, days: int = 0) -> PaymentTerms:
    return PaymentTerms(name="t", kind=kind, days=days)


def _settings(company, **changes):
    values = {"company_id": company.id, "user": None, "name": company.name,
              "currency": company.currency, "timezone": company.timezone}
    return values | changes


# --- due dates --------------------------------------------------------------------------

@pytest.mark.parametrize("kind, days, issued, due", [
    ("receipt", 0, date(2026, 3, 15), date(2026, 3, 15)),
    ("net", 30, date(2026, 3, 15), date(2026, 4, 14)),
    ("net", 60, date(2026, 12, 15), date(2027, 2, 13)),  # across the year end
    ("net", 0, date(2026, 5, 1), date(2026, 5, 1)),
    ("end_of_month", 30, date(2026, 1, 15), date(2026, 3, 2)),  # Jan 31 + 30: past February
    ("end_of_month", 0, date(2026, 2, 3), date(2026, 2, 28)),  # February's last day
    ("end_of_month", 0, date(2028, 2, 3), date(2028, 2, 29)),  # a leap year
    ("end_of_month", 15, date(2026, 12, 31), date(2027, 1, 15)),  # the year end
    ("end_of_month", 10, date(2026, 11, 30), date(2026, 12, 10)),
])
def test_due_date_of_each_kind(kind, days, issued, due):
    assert money.due_date(terms(kind, days), issued) == due


def test_without_terms_an_invoice_is_due_on_receipt():
    assert money.due_date(None, date(2026, 7, 4)) == date(2026, 7, 4)


# --- tax codes and terms ----------------------------------------------------------------

def test_a_tax_code_is_created_with_its_rate(company):
    code = money.create_tax_code(company_id=company.id, user=None, name=" KDV 20 ", rate="20")
    assert (code.name, code.rate, code.active, code.is_default) == ("KDV 20", D("20"), True,
                                                                   False)
    assert code.label == "KDV 20 (20 %)"


@pytest.mark.parametrize("values, errors", [
    ({"name": "", "rate": "20"}, {"name"}),
    ({"name": "X", "rate": "101"}, {"rate"}),
    ({"name": "X", "rate": "-1"}, {"rate"}),
    ({"name": "X", "rate": "abc"}, {"rate"}),
    ({"name": "X", "rate": "NaN"}, {"rate"}),
    ({"name": "X", "rate": "1.0001"}, {"rate"}),
    ({"name": "X", "rate": ""}, {"rate"}),
    ({"name": "X" * 61, "rate": "x"}, {"name", "rate"}),  # every problem at once
])
def test_bad_tax_codes_are_refused_and_nothing_is_written(company, values, errors):
    with pytest.raises(ValidationError) as raised:
        money.create_tax_code(company_id=company.id, user=None, **values)
    assert set(raised.value.field_errors) == errors
    assert count(TaxCode) == 0


def test_a_tax_code_name_is_unique_per_company_in_any_case(company, other_company):
    money.create_tax_code(company_id=company.id, user=None, name="KDV 20", rate="20")
    with pytest.raises(ValidationError) as raised:
        money.create_tax_code(company_id=company.id, user=None, name="kdv 20", rate="18")
    assert raised.value.field_errors["name"] == ["A tax code named kdv 20 exists."]
    money.create_tax_code(company_id=other_company.id, user=None, name="KDV 20", rate="20")
    assert count(TaxCode) == 2


def test_another_companys_tax_code_is_not_found(company, other_company):
    code = TaxCodeFactory(company=other_company)
    with pytest.raises(DomainError):
        money.update_tax_code(company_id=company.id, tax_code_id=code.id, user=None,
                              name="Mine", rate="1")
    with pytest.raises(DomainError):
        money.set_tax_code_active(company_id=company.id, tax_code_id=code.id, active=False,
                                  user=None)
    db.session.expire_all()
    assert (code.name, code.active) != ("Mine", False)


@pytest.mark.parametrize("values, errors", [
    ({"name": "N", "kind": "net", "days": "366"}, {"days"}),
    ({"name": "N", "kind": "net", "days": "-1"}, {"days"}),
    ({"name": "N", "kind": "net", "days": "1.5"}, {"days"}),
    ({"name": "N", "kind": "net", "days": ""}, {"days"}),
    ({"name": "N", "kind": "weekly", "days": "7"}, {"kind"}),
    ({"name": "", "kind": "end_of_month", "days": "x"}, {"name", "days"}),
])
def test_bad_payment_terms_are_refused_and_nothing_is_written(company, values, errors):
    with pytest.raises(ValidationError) as raised:
        money.create_payment_terms(company_id=company.id, user=None, **values)
    assert set(raised.value.field_errors) == errors
    assert count(PaymentTerms) == 0


def test_terms_due_on_receipt_have_no_days(company):
    created = money.create_payment_terms(company_id=company.id, user=None, name="Cash",
                                         kind="receipt", days="45")
    assert (created.days, created.description) == (0, "Due on receipt")


def test_archiving_the_default_leaves_none_and_the_default_is_one_per_company(company):
    first, second = TaxCodeFactory(company=company), TaxCodeFactory(company=company)
    user_service.update_company(**_settings(company, default_tax_code_id=first.id))
    user_service.update_company(**_settings(company, default_tax_code_id=second.id))
    db.session.expire_all()
    assert (first.is_default, second.is_default) == (False, True)
    money.set_tax_code_active(company_id=company.id, tax_code_id=second.id, active=False,
                              user=None)
    db.session.expire_all()
    assert second.is_default is False
    with pytest.raises(ValidationError) as raised:  # archived: not a default
        user_service.update_company(**_settings(company, default_tax_code_id=second.id))
    assert "default_tax_code_id" in raised.value.field_errors


def test_a_tax_code_named_by_a_product_is_not_deleted(company):
    code = TaxCodeFactory(company=company)
    ProductFactory(company=company, tax_code_id=code.id)
    with pytest.raises(DomainError, match="Products name this tax code"):
        money.delete_tax_code(company_id=company.id, tax_code_id=code.id, user=None)
    unused = TaxCodeFactory(company=company)
    money.delete_tax_code(company_id=company.id, tax_code_id=unused.id, user=None)
    assert count(TaxCode) == 1


def test_terms_a_customer_has_are_not_deleted_and_a_customer_falls_back_to_the_default(
        company):
    net30 = PaymentTermsFactory(company=company, name="Net 30")
    net60 = PaymentTermsFactory(company=company, name="Net 60", days=60)
    own = CustomerFactory(company=company, payment_terms_id=net60.id)
    plain = CustomerFactory(company=company)
    assert money.customer_terms(company.id, plain) is None
    user_service.update_company(**_settings(company, default_payment_terms_id=net30.id))
    assert money.customer_terms(company.id, plain).id == net30.id
    assert money.customer_terms(company.id, own).id == net60.id
    with pytest.raises(DomainError, match="Customers have these payment terms"):
        money.delete_payment_terms(company_id=company.id, payment_terms_id=net60.id, user=None)


def test_a_customer_takes_only_its_companys_terms(company, other_company):
    foreign = PaymentTermsFactory(company=other_company)
    for bad in (foreign.id, "abc", "99999999999999999999"):
        with pytest.raises(ValidationError) as raised:
            sales.create_customer(company_id=company.id, user=None, name="X",
                                  payment_terms_id=bad)
        assert "payment_terms_id" in raised.value.field_errors
    mine = PaymentTermsFactory(company=company)
    customer = sales.create_customer(company_id=company.id, user=None, name="X",
                                     payment_terms_id=mine.id)
    assert customer.payment_terms_id == mine.id
    # an update without the field (e.g. an import) keeps the terms
    sales.update_customer(company_id=company.id, customer_id=customer.id, user=None, name="Y")
    db.session.expire_all()
    assert customer.payment_terms_id == mine.id


def test_a_product_takes_only_its_companys_tax_code(company, other_company):
    foreign = TaxCodeFactory(company=other_company)
    from erp.services import catalog
    with pytest.raises(ValidationError) as raised:
        catalog.create_product(company_id=company.id, user=None, sku="A", name="A",
                               tax_code_id=foreign.id)
    assert raised.value.field_errors == {"tax_code_id": ["Choose a tax code of this company."]}


# --- the rate of a line, tax per rate ---------------------------------------------------

@pytest.fixture
def order_setup(company):
    warehouse = WarehouseFactory(company=company)
    customer = CustomerFactory(company=company)
    order = sales.create_order(company_id=company.id, user=None, customer_id=customer.id,
                               warehouse_id=warehouse.id)
    return order


def test_a_line_takes_its_products_code_else_the_default_else_zero(company, order_setup):
    kw = {"company_id": company.id, "order_id": order_setup.id, "user": None}
    kdv10 = TaxCodeFactory(company=company, name="KDV 10", rate=D("10"))
    kdv20 = TaxCodeFactory(company=company, name="KDV 20", rate=D("20"))
    coded = ProductFactory(company=company, kind="service", tax_code_id=kdv10.id)
    plain = ProductFactory(company=company, kind="service")
    assert sales.add_line(product_id=plain.id, quantity="1", **kw).tax_rate == D("0")
    user_service.update_company(**_settings(company, default_tax_code_id=kdv20.id))
    assert sales.add_line(product_id=plain.id, quantity="1", **kw).tax_rate == D("20")
    assert sales.add_line(product_id=coded.id, quantity="1", **kw).tax_rate == D("10")
    # a rate typed on the line wins
    assert sales.add_line(product_id=coded.id, quantity="1", tax_rate="1",
                          **kw).tax_rate == D("1")


def test_tax_per_rate_adds_up_to_the_orders_tax(company, order_setup):
    kw = {"company_id": company.id, "order_id": order_setup.id, "user": None}
    for quantity, price, rate in (("3", "3.33", "20"), ("1", "10.05", "20"), ("2", "7.77", "10"),
                                  ("1", "50", "1"), ("5", "1", "0")):
        product = ProductFactory(company=company, kind="service")
        sales.add_line(product_id=product.id, quantity=quantity, unit_price=price,
                       tax_rate=rate, **kw)
    db.session.expire_all()
    order = sales._lock_order(company.id, order_setup.id, with_items=True)
    rows = order.tax_by_rate
    assert [row.rate for row in rows] == [D("20"), D("10"), D("1"), D("0")]
    assert rows[0].base == D("9.99") + D("10.05") and rows[0].tax == D("2.00") + D("2.01")
    assert sum(row.tax for row in rows) == order.tax_total
    assert sum(row.base for row in rows) == order.net
    db.session.rollback()


def test_the_issued_invoice_keeps_the_sellers_legal_data(company, order_setup):
    user_service.update_company(**_settings(
        company, legal_name="Acme Manufacturing A.Ş.", address="Street 1\nİstanbul",
        tax_number="1234567890", bank_details="IBAN TR00", invoice_footer="Pay in 30 days"))
    kw = {"company_id": company.id, "order_id": order_setup.id, "user": None}
    product = ProductFactory(company=company, kind="service")
    sales.add_line(product_id=product.id, quantity="1", unit_price="100", tax_rate="20", **kw)
    for step in (sales.confirm_order, sales.ship_order, sales.invoice_order):
        step(**kw)
    user_service.update_company(**_settings(company, legal_name="Renamed", tax_number="999"))
    invoice = db.session.scalar(select(Invoice).where(Invoice.order_id == order_setup.id))
    doc = IssuedDocument.of(invoice, db.session.get(Company, company.id))
    assert doc.frozen
    assert (doc.seller.name, doc.seller.address, doc.seller.tax_number, doc.seller.bank_details,
            doc.seller.footer) == ("Acme Manufacturing A.Ş.", "Street 1\nİstanbul",
                                   "1234567890", "IBAN TR00", "Pay in 30 days")
    assert [(row.rate, row.base, row.tax) for row in doc.tax_by_rate] == [
        (D("20"), D("100.00"), D("20.00"))]


# --- company settings -------------------------------------------------------------------

def test_company_settings_are_checked_all_at_once_and_nothing_changes(company, other_company):
    foreign_code = TaxCodeFactory(company=other_company)
    foreign_terms = PaymentTermsFactory(company=other_company)
    with pytest.raises(ValidationError) as raised:
        user_service.update_company(**_settings(
            company, currency="XYZ", legal_name="L" * 201, tax_number="T" * 51,
            default_tax_code_id=foreign_code.id, default_payment_terms_id=foreign_terms.id))
    assert set(raised.value.field_errors) == {"currency", "legal_name", "tax_number",
                                              "default_tax_code_id",
                                              "default_payment_terms_id"}
    db.session.expire_all()
    assert (company.currency, company.legal_name) == ("EUR", "")
    assert (foreign_code.is_default, foreign_terms.is_default) == (False, False)


def test_a_company_keeps_a_currency_that_is_not_on_the_list(company):
    company.currency = "ISK"
    db.session.commit()
    user_service.update_company(**_settings(company, currency="ISK", legal_name="Acme hf."))
    with pytest.raises(ValidationError):
        user_service.update_company(**_settings(company, currency="XXX"))
    user_service.update_company(**_settings(company, currency="try"))
    db.session.expire_all()
    assert company.currency == "TRY"


# --- the logo ---------------------------------------------------------------------------

def test_a_png_or_jpeg_logo_is_stored_and_replaced(company):
    assert money.set_logo(company_id=company.id, user=None, data=PNG).content_type == "image/png"
    assert money.set_logo(company_id=company.id, user=None, data=JPEG).content_type == "image/jpeg"
    assert count(CompanyLogo) == 1
    assert money.get_logo(company.id).data == JPEG
    money.remove_logo(company_id=company.id, user=None)
    assert not money.has_logo(company.id)
    money.remove_logo(company_id=company.id, user=None)  # again: nothing to do


@pytest.mark.parametrize("data, message", [
    (GIF, "Upload a PNG or JPEG image."),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "Upload a PNG or JPEG image."),
    (b"", "Choose an image file."),
    (PNG + b"\x00" * LOGO_MAX_BYTES, "use at most 512 KB"),
])
def test_a_bad_logo_is_refused_and_the_old_one_kept(company, data, message):
    money.set_logo(company_id=company.id, user=None, data=PNG)
    with pytest.raises(ValidationError) as raised:
        money.set_logo(company_id=company.id, user=None, data=data)
    assert message in raised.value.field_errors["logo"][0]
    assert money.get_logo(company.id).data == PNG


def test_a_logo_leaves_with_its_company(company):
    money.set_logo(company_id=company.id, user=None, data=PNG)
    db.session.delete(db.session.get(Company, company.id))
    db.session.commit()
    assert count(CompanyLogo) == 0


# --- new companies ----------------------------------------------------------------------

def test_a_new_company_comes_with_its_first_admin(company):
    creator = UserFactory(company=company, role="admin", is_superuser=True)
    created, admin = user_service.create_company_with_admin(
        name="Newco", timezone="Europe/Istanbul", currency="TRY",
        admin_email="Boss@Newco.example", admin_password="a long enough secret",
        admin_name="Boss", user=creator)
    assert (created.name, created.currency, created.timezone) == ("Newco", "TRY",
                                                                 "Europe/Istanbul")
    assert (admin.company_id, admin.role, admin.email) == (created.id, "admin",
                                                          "boss@newco.example")
    summary = db.session.scalar(select(AuditEntry.summary).where(
        AuditEntry.company_id == company.id, AuditEntry.record_type == "Company"))
    assert summary == "Created company Newco with admin boss@newco.example"


def test_a_new_company_with_bad_fields_writes_nothing_and_says_everything(company):
    creator = UserFactory(company=company, role="admin", is_superuser=True)
    with pytest.raises(ValidationError) as raised:
        user_service.create_company_with_admin(
            name=company.name, timezone="Mars/Base", currency="ABC",
            admin_email=creator.email, admin_password="short", user=creator)
    assert set(raised.value.field_errors) == {"name", "timezone", "currency", "admin_email",
                                              "admin_password"}
    assert (count(Company), count(User)) == (1, 1)
    # a good company with a bad admin: neither is written
    with pytest.raises(ValidationError):
        user_service.create_company_with_admin(
            name="Fine Name", timezone="UTC", currency="EUR", admin_email="not-an-email",
            admin_password="a long enough secret", user=creator)
    assert (count(Company), count(User)) == (1, 1)


def test_the_demo_has_kdv_codes_terms_and_the_sellers_data(seeded_demo):
    assert seeded_demo.exit_code == 0, seeded_demo.output
    from erp.seeds import DEMO_COMPANY
    company = db.session.scalar(select(Company).where(Company.name == DEMO_COMPANY))
    codes = {code.name: (code.rate, code.is_default) for code in db.session.scalars(
        select(TaxCode).where(TaxCode.company_id == company.id))}
    assert codes == {"KDV 20": (D("20"), True), "KDV 10": (D("10"), False),
                     "KDV 1": (D("1"), False), "KDV 0": (D("0"), False)}
    default_terms = db.session.scalar(select(PaymentTerms.name).where(
        PaymentTerms.company_id == company.id, PaymentTerms.is_default.is_(True)))
    assert default_terms == "Net 30"
    assert company.legal_name and company.tax_number and company.address
    untaxed = db.session.scalar(select(func.count()).select_from(Product).where(
        Product.company_id == company.id, Product.tax_code_id.is_(None)))
    assert untaxed == 0
