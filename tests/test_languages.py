"""Languages: who reads which one, the locale formats that follow it, complete catalogs."""
import re
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from erp import formatting
from erp.extensions import db
from erp.models import Company, Product, User
from tests.conftest import login
from tests.factories.catalog import ProductFactory

ROOT = Path(__file__).resolve().parents[1]


def test_formats_follow_the_language():
    assert formatting.money(Decimal("1234.565"), "TRY", "tr") == "1.234,57 TL"
    assert formatting.money(Decimal("1234.56"), "EUR", "tr") == "1.234,56 EUR"
    assert formatting.money(Decimal("1234.56"), "EUR") == "1,234.56 EUR"
    assert formatting.quantity(Decimal("1234.500"), "tr") == "1.234,5"
    assert formatting.quantity(Decimal("12.000"), "en") == "12"
    assert formatting.number(1234567, "tr") == "1.234.567"
    assert formatting.day(date(2026, 12, 2), "tr") == "2 Ara 2026"
    assert formatting.day(date(2025, 1, 11), "en") == "2025-01-11"
    noon = datetime(2026, 7, 13, 14, 5, tzinfo=ZoneInfo("Europe/Istanbul"))
    assert formatting.moment(noon, "tr") == "13 Tem 2026 14:05"
    assert formatting.moment(noon, "en") == "2026-07-13 14:05"


@pytest.mark.dialect_independent
def test_english_months_are_babels_without_its_locale_data():
    from babel.dates import format_date

    for number in range(1, 13):
        day = date(2026, number, 1)
        assert formatting.month(day) == format_date(day, "MMM y", locale="en")
    assert formatting.month(date(2026, 12, 1), "tr") == "Ara 2026"


def test_a_user_who_chooses_turkish_reads_turkish(app, make_user, company):
    ProductFactory(company=company, sku="TR-1", sale_price=Decimal("1234.50"))
    user = make_user("staff")
    client = login(app.test_client(), user.email)
    page = client.get("/").data.decode()
    assert '<html lang="en">' in page and ">Inventory<" in page

    response = client.post("/account/preferences", data={"language": "tr"})
    assert response.status_code == 303
    response = client.get(response.headers["Location"])
    page = response.data.decode()
    assert '<html lang="tr">' in page
    assert "Tercihleriniz kaydedildi." in page and ">Stok<" in page and "Çıkış yap" in page

    product_id = db.session.scalar(select(db.text("id")).select_from(db.text("products"))
                                   .where(db.text("sku = 'TR-1'")))
    page = client.get(f"/catalog/products/{product_id}").data.decode()
    assert "1.234,50" in page and "1,234.50" not in page


def test_the_company_default_applies_to_users_without_their_own(app, make_user, company,
                                                                   admin_client):
    staff = make_user("staff")
    chosen = make_user("staff", language="en")
    settings = admin_client.get("/admin/company")
    assert settings.status_code == 200 and 'name="default_language"' in settings.data.decode()
    company.default_language = "tr"
    db.session.commit()
    assert ">Pano<" in login(app.test_client(), staff.email).get("/").data.decode()
    assert ">Dashboard<" in login(app.test_client(), chosen.email).get("/").data.decode()
    # back to the company's default: blank
    client = login(app.test_client(), chosen.email)
    assert client.post("/account/preferences", data={"language": ""}).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, chosen.id).language is None
    assert ">Pano<" in client.get("/").data.decode()


def test_the_login_page_follows_the_browser(app):
    client = app.test_client()
    page = client.get("/login", headers={"Accept-Language": "tr-TR,tr;q=0.9,en;q=0.5"})
    assert '<html lang="tr">' in page.data.decode() and "Giriş yap" in page.data.decode()
    page = client.get("/login", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert '<html lang="en">' in page.data.decode() and "Log in" in page.data.decode()


def test_an_unknown_language_is_refused_and_nothing_is_written(app, make_user, company,
                                                               admin_client):
    user = make_user("viewer")
    client = login(app.test_client(), user.email)
    response = client.post("/account/preferences", data={"language": "xx"})
    assert response.status_code == 422
    assert "Choose a language from the list." in response.data.decode()
    response = admin_client.post("/admin/company", data={
        "name": company.name, "currency": company.currency, "timezone": company.timezone,
        "default_language": "klingon"})
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(User, user.id).language is None
    assert db.session.get(Company, company.id).default_language == "en"


def test_preferences_need_a_login(app):
    response = app.test_client().get("/account/preferences")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.dialect_independent
def test_every_marked_text_has_a_turkish_translation(tmp_path):
    """The sources' texts (extracted as `make messages` does) are all in the Turkish
    catalog, translated: a page that marks a new text arrives with its translation."""
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "extract",
                    "-F", "babel.cfg", "-k", "_l", "-k", "N_", "-o", str(pot), "."],
                   cwd=ROOT, check=True)
    with pot.open("rb") as handle:
        wanted = {message.id for message in read_po(handle) if message.id}
    with (ROOT / "erp/translations/tr/LC_MESSAGES/messages.po").open("rb") as handle:
        turkish = {message.id: message.string for message in read_po(handle, locale="tr")
                   if message.id}
    def translated(text) -> bool:  # a plural entry has a string per form
        string = turkish.get(text)
        return bool(string) if isinstance(string, str) or string is None else all(string)

    missing = sorted(str(text) for text in wanted if not translated(text))
    assert not missing, f"untranslated into Turkish (make messages, then translate): {missing}"
    assert len(wanted) > 30


def test_a_turkish_user_types_decimals_with_a_comma(app, make_user):
    user = make_user("staff", language="tr")
    client = login(app.test_client(), user.email)
    response = client.post("/catalog/products/new", data={
        "sku": "VIRGUL-1", "name": "Çelik boru", "kind": "component", "unit": "kg",
        "sale_price": "1.234,5", "cost_price": "7,25", "min_stock": "3.5", "barcode": "",
        "description": ""})
    assert response.status_code == 303, response.data.decode()[:2000]
    db.session.rollback()
    product = db.session.scalar(select(Product).where(Product.sku == "VIRGUL-1"))
    assert (product.sale_price, product.cost_price, product.min_stock) == (
        Decimal("1234.50"), Decimal("7.25"), Decimal("3.5"))
    response = client.post("/catalog/products/new", data={
        "sku": "VIRGUL-2", "name": "Bozuk", "kind": "component", "unit": "kg",
        "sale_price": "12,3,4", "cost_price": "0", "min_stock": "0", "description": ""})
    assert response.status_code == 422
    assert db.session.scalar(select(Product).where(Product.sku == "VIRGUL-2")) is None


def test_every_form_reads_decimals_in_the_readers_language():
    """A form that took WTForms' own DecimalField would refuse a Turkish user's 12,5."""
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "erp").rglob("*.py")
                 if path != ROOT / "erp/forms.py"
                 if re.search(r"from wtforms(?:\.fields)? import (?:\([^)]*|[^\n]*)\bDecimalField\b|"
                              r"wtforms\.DecimalField\(", path.read_text())]
    assert not offenders, f"use erp.forms.DecimalField in {offenders}"


def test_the_shared_pieces_of_every_page_speak_turkish(app, make_user, company):
    ProductFactory(company=company)
    client = login(app.test_client(), make_user("manager", language="tr").email)
    page = client.get("/catalog/products").data.decode()
    assert "Filtrele" in page and "CSV olarak dışa aktar" in page and "Satır 1–1 / 1" in page
    missing = client.get("/catalog/products/999999999")
    assert missing.status_code == 404 and "Bulunamadı" in missing.data.decode()


@pytest.mark.dialect_independent
def test_every_page_without_arguments_renders_in_turkish(app, make_user, company):
    """A Turkish catalog entry that breaks its placeholders, or a template whose marked
    text does not render, answers 500 in Turkish only."""
    user = make_user("admin", language="tr", is_superuser=True)
    client = login(app.test_client(), user.email)
    failures = []
    for rule in app.url_map.iter_rules():
        if ("GET" not in rule.methods or rule.arguments or rule.endpoint == "static"
                or rule.rule.startswith("/api/") or rule.endpoint.startswith("auth.")):
            continue
        response = client.get(rule.rule)
        if response.status_code >= 500:
            failures.append((rule.rule, response.status_code))
    assert not failures


def test_the_cached_dashboard_parts_follow_the_readers_language(app, make_user, company):
    """The dashboard's parts are kept rendered per company: one read in English must not be
    served to a Turkish reader (nor the other way round)."""
    ProductFactory(company=company)
    english = login(app.test_client(), make_user("manager").email)
    turkish = login(app.test_client(), make_user("manager", language="tr").email)
    assert "Active products" in english.get("/").data.decode()
    page = turkish.get("/").data.decode()
    assert "Etkin ürünler" in page and "Active products" not in page
    assert "Active products" in english.get("/").data.decode()


def test_no_template_shows_a_text_that_bypasses_gettext(app):
    """Every English word a template shows (between tags, or in a title, placeholder,
    aria-label or alt) goes through gettext; a new page with a bare text fails here."""
    tags = re.compile(r"<(script|style)\b.*?</\1>|<!--.*?-->|<[^>]*>", re.S)
    shown_attributes = re.compile(r'\b(title|placeholder|aria-label|alt)="([^"{]*[A-Za-z][^"{]*)"')
    not_prose = re.compile(r"&#?\w+;|[\w-]+=\"[^\"]*\"|[\w-]+='[^']*'"  # entities, attributes
                           r"|\b[a-z0-9]+(?:-[a-z0-9]+)+\b"             # CSS classes
                           r"|/api/v1/\S*|\b(?:table|api|openapi|json)\b")  # classes, paths
    offenders = {}
    for path in sorted((ROOT / "erp/templates").rglob("*.html")):
        data = "".join(value for _, kind, value in app.jinja_env.lex(path.read_text())
                       if kind == "data")
        words = [f'{name}="{value}"' for name, value in shown_attributes.findall(data)]
        words += re.findall(r"[A-Za-z]{2,}", not_prose.sub(" ", tags.sub(" ", data)))
        if words:
            offenders[str(path.relative_to(ROOT))] = words[:10]
    assert not offenders, f"mark these texts with _(): {offenders}"
