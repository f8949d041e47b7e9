"""Issue #16, item 12: times are stored in UTC and shown in the company's time zone; the
default date of a new document is the company's today (a company setting, IANA name)."""
import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models import AuditEntry, Company
from erp.models.core import company_today
from erp.services import ValidationError, purchasing, sales
from erp.services import users as user_service
from erp.templating import when
from tests.factories.catalog import SupplierFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory

ISTANBUL = ZoneInfo("Europe/Istanbul")  # UTC+3 all year


def zone_away_from_utc_day() -> str:
    """A zone whose date differs from the UTC date right now: UTC+14 from 10:00 UTC on,
    UTC-11 before 11:00 UTC (so a default taken from the server's UTC day is caught)."""
    return "Pacific/Kiritimati" if datetime.now(timezone.utc).hour >= 10 else "Pacific/Pago_Pago"


def today_in(zone_name: str) -> set[date]:
    """The zone's today (both, should the test run across its midnight)."""
    return {datetime.now(ZoneInfo(zone_name)).date()}


@pytest.fixture
def turkish_company(company):
    company.timezone = "Europe/Istanbul"
    db.session.commit()
    return company


def test_an_invoice_issued_just_after_midnight_in_turkey_shows_that_day(
        client_as, turkish_company, make_user):
    user = make_user("manager")
    warehouse = WarehouseFactory(company=turkish_company)
    customer = CustomerFactory(company=turkish_company)
    order = sales.create_order(company_id=turkish_company.id, user=user,
                               customer_id=customer.id, warehouse_id=warehouse.id,
                               order_date="2026-03-02")
    # 00:30 on 2 March in Istanbul is 21:30 on 1 March in UTC
    order.invoice_number, order.status = "INV-2026-000001", "invoiced"
    order.invoiced_at = datetime(2026, 3, 1, 21, 30, tzinfo=timezone.utc)
    db.session.commit()
    page = client_as("viewer").get(f"/sales/orders/{order.id}").get_data(as_text=True)
    assert 'Invoiced</dt><dd class="col-sm-9">2026-03-02 00:30' in page
    assert "2026-03-01 21:30" not in page


def test_another_company_sees_its_own_zone(client_as, company, other_company, make_user):
    company.timezone, other_company.timezone = "Europe/Istanbul", "America/New_York"
    db.session.commit()
    for viewer_company, shown in ((company, "2026-03-02 00:30"),
                                  (other_company, "2026-03-01 16:30")):
        user = make_user("admin", company=viewer_company,
                         last_login_at=datetime(2026, 3, 1, 21, 30, tzinfo=timezone.utc))
        client = client_as("admin", company=viewer_company)
        page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
        assert f'Last login</dt><dd class="col-sm-9">{shown}' in page


def test_the_when_filter_converts_datetimes_and_leaves_dates_alone(app):
    instant = datetime(2026, 3, 1, 21, 30, tzinfo=timezone.utc)
    assert when(instant, ISTANBUL) == "2026-03-02 00:30"
    assert when(instant.replace(tzinfo=None), ISTANBUL) == "2026-03-02 00:30"  # naive is UTC
    assert when(date(2026, 3, 1), ISTANBUL) == "2026-03-01"
    assert when(None) == ""
    with app.test_request_context():  # nobody logged in: UTC
        assert when(instant) == "2026-03-01 21:30"


def test_a_time_of_another_zone_is_stored_as_utc(app, company):
    """SQLite keeps the wall time without its offset: the column converts to UTC first."""
    company.created_at = datetime(2026, 3, 2, 0, 30, tzinfo=ISTANBUL)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Company, company.id).created_at
    assert stored == datetime(2026, 3, 1, 21, 30, tzinfo=timezone.utc)
    assert stored.utcoffset() == timedelta(0)


# --- "today" is the company's ----------------------------------------------------------

def test_company_today_is_the_date_in_the_company_zone(company):
    company.timezone = zone_away_from_utc_day()
    db.session.commit()
    assert company_today(company) in today_in(company.timezone)
    assert company_today(company.id) in today_in(company.timezone)
    assert company_today(company) != datetime.now(timezone.utc).date()


@pytest.mark.parametrize("url, field", [
    ("/sales/orders/new", "order_date"),
    ("/purchasing/orders/new", "order_date"),
    ("/production/orders/new", "planned_start"),
    ("/quality/inspections/new", "inspected_on"),
])
def test_a_new_document_form_proposes_the_company_today(client_as, company, url, field):
    company.timezone = zone_away_from_utc_day()
    db.session.commit()
    WarehouseFactory(company=company)
    page = client_as("staff").get(url).get_data(as_text=True)
    assert any(re.search(f'name="{field}"[^>]*value="{day.isoformat()}"', page)
               for day in today_in(company.timezone)), page


def test_orders_created_without_a_date_get_the_company_today(company, make_user):
    company.timezone = zone_away_from_utc_day()
    db.session.commit()
    user = make_user("manager")
    warehouse = WarehouseFactory(company=company)
    so = sales.create_order(company_id=company.id, user=user, warehouse_id=warehouse.id,
                            customer_id=CustomerFactory(company=company).id)
    po = purchasing.create_order(company_id=company.id, user=user, warehouse_id=warehouse.id,
                                 supplier_id=SupplierFactory(company=company).id)
    assert so.order_date in today_in(company.timezone)
    assert po.order_date in today_in(company.timezone)


# --- the company setting ---------------------------------------------------------------

def test_companies_are_in_utc_until_an_admin_sets_a_zone(app):
    company = user_service.create_company("Fresh Start Ltd")
    assert company.timezone == "UTC"


def test_the_demo_company_is_in_istanbul(seeded_demo):
    assert seeded_demo.exit_code == 0, seeded_demo.output
    demo = db.session.scalar(select(Company).where(Company.name == "Demo Company"))
    assert demo.timezone == "Europe/Istanbul"


def test_an_admin_sets_the_company_time_zone(admin_client, company):
    page = admin_client.get("/admin/company").get_data(as_text=True)
    assert '<option value="Europe/Istanbul">' in page
    response = admin_client.post("/admin/company", data={
        "name": company.name, "currency": "try", "timezone": "Europe/Istanbul"})
    assert response.status_code == 303
    db.session.expire_all()
    saved = db.session.get(Company, company.id)
    assert (saved.timezone, saved.currency) == ("Europe/Istanbul", "TRY")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.record_type == "Company"))
    assert entry.changes["timezone"] == ["UTC", "Europe/Istanbul"]


def test_an_unknown_time_zone_is_refused_and_nothing_changes(admin_client, company):
    response = admin_client.post("/admin/company", data={
        "name": "Renamed", "currency": "EU", "timezone": "Mars/Olympus_Mons"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choose a time zone from the list" in page
    assert "Choose a currency from the list." in page  # all problems at once
    db.session.expire_all()
    saved = db.session.get(Company, company.id)
    assert (saved.name, saved.timezone) == ("Acme Manufacturing", "UTC")


def test_the_service_refuses_an_unknown_zone_and_a_taken_name(company, other_company):
    with pytest.raises(ValidationError) as error:
        user_service.update_company(company_id=company.id, user=None, name=other_company.name,
                                    currency="EUR", timezone="../etc/passwd")
    assert set(error.value.field_errors) == {"name", "timezone"}


@pytest.mark.parametrize("role", ["viewer", "staff", "manager"])
def test_only_admins_change_company_settings(client_as, company, role):
    client = client_as(role)
    assert client.get("/admin/company").status_code == 403
    response = client.post("/admin/company", data={
        "name": company.name, "currency": "EUR", "timezone": "Europe/Istanbul"})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Company, company.id).timezone == "UTC"


def test_an_admin_changes_only_their_own_company(client_as, company, other_company):
    login_client = client_as("admin", company=other_company)
    login_client.post("/admin/company", data={
        "name": other_company.name, "currency": "USD", "timezone": "America/New_York"})
    db.session.expire_all()
    assert db.session.get(Company, company.id).timezone == "UTC"
    assert db.session.get(Company, other_company.id).timezone == "America/New_York"


# --- day filters of lists of times ------------------------------------------------------

def test_a_day_filter_takes_the_day_the_list_shows(admin_client, turkish_company, make_user):
    """An entry shown at 2026-03-02 00:30 (Istanbul) is on 2 March for the date filters,
    though it is 1 March 21:30 in UTC."""
    from erp.models import StockMovement
    from erp.services import audit, stock
    from tests.factories.catalog import ProductFactory

    user = make_user("manager")
    entry = audit.record(company_id=turkish_company.id, user=user, action="update",
                         record_type="Product", record_id=1, summary="after-midnight")
    warehouse = WarehouseFactory(company=turkish_company)
    product = ProductFactory(company=turkish_company, sku="BOLT")
    movement = stock.receive(company_id=turkish_company.id, product_id=product.id,
                             warehouse_id=warehouse.id, quantity=1, user=user)
    entry.created_at = db.session.get(StockMovement, movement.id).created_at = datetime(
        2026, 3, 1, 21, 30, tzinfo=timezone.utc)
    db.session.commit()
    for url, marker in ((f"/admin/audit?", "after-midnight"),
                        (f"/inventory/movements?", f'id="movement-{movement.id}"')):
        def shown(query):
            return marker in admin_client.get(url + query).get_data(as_text=True)

        assert shown("date_from=2026-03-02") and shown("date_to=2026-03-02"), url
        assert not shown("date_to=2026-03-01") and not shown("date_from=2026-03-03"), url
