"""Turkish text (erp.collation): case-insensitive search with the Turkish I's and sorting in
Turkish order, on both databases, through the index they had before; and the Turkish demo
company of `flask seed-demo --locale tr`."""
from __future__ import annotations

import re

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from erp import collation, create_app
from erp.collation import fold, reader_order
from erp.extensions import db
from erp.models import Company, Product
from erp.models.sales import Customer
from erp.queries.search import product_matches
from tests.conftest import (TEST_DB, app_config, count_queries, login,
                            migrated_database_url)
from tests.factories.catalog import ProductFactory
from tests.factories.sales import CustomerFactory

NAMES = ["Zeytin", "İstanbul", "çelik", "STEEL", "Işık", "ilik", "Çelik", "ayna", "Ilık"]
# ICU's Turkish order (PostgreSQL's tr-TR-x-icu gives exactly this): ç after c, ı before i,
# I the capital of ı and İ of i, lower case first when only the case differs
TURKISH_ORDER = ["ayna", "çelik", "Çelik", "Ilık", "Işık", "ilik", "İstanbul", "STEEL",
                 "Zeytin"]
SEARCHES = [
    ("çelik", {"çelik", "Çelik"}), ("ÇELİK", {"çelik", "Çelik"}), ("Çel", {"çelik", "Çelik"}),
    ("istanbul", {"İstanbul"}), ("İSTANBUL", {"İstanbul"}), ("ISTANBUL", {"İstanbul"}),
    ("ışık", {"Işık"}), ("IŞIK", {"Işık"}), ("Işık", {"Işık"}),
    ("ış", {"Işık"}),  # shorter than a trigram: read, not through the index
    ("steel", {"STEEL"}), ("STEEL", {"STEEL"}), ("zeyt", {"Zeytin"}),
]


@pytest.fixture
def named(company, other_company):
    """A product (SKU TRK-<n>) and a customer of each name, and another company's."""
    for n, name in enumerate(NAMES, start=1):
        ProductFactory(company=company, sku=f"TRK-{n:02d}", name=name, barcode="")
        CustomerFactory(company=company, name=name)
    ProductFactory(company=other_company, sku="TRK-99", name="Çelik")
    CustomerFactory(company=other_company, name="Çelik Dış")
    db.session.commit()
    return {f"TRK-{n:02d}": name for n, name in enumerate(NAMES, start=1)}


def turkish_client(app, make_user, role="viewer"):
    return login(app.test_client(), make_user(role, language="tr").email)


def product_names(company, q: str) -> set[str]:
    return set(db.session.scalars(select(Product.name).where(
        Product.company_id == company.id, product_matches(q))))


def test_folding_makes_the_turkish_i_letters_one():
    assert fold("İstanbul") == fold("ISTANBUL") == fold("istanbul") == "istanbul"
    assert fold("Işık") == fold("IŞIK") == fold("ışık") == "işik"
    assert fold("Çelik") == fold("ÇELİK") == "çelik"
    assert fold("STEEL") == "steel"


def test_the_sort_key_follows_the_turkish_alphabet():
    assert sorted(NAMES, key=collation.sort_key) == TURKISH_ORDER
    letters = list("zyvüutşsrpöonmlkjiıhğgfedçcba")
    assert sorted(letters, key=collation.sort_key) == list("abcçdefgğhıijklmnoöprsştuüvyz")
    assert sorted(["B", "a", "Ç", "c", "10", "2", " x"], key=collation.sort_key) == [
        " x", "10", "2", "a", "B", "c", "Ç"]


@pytest.mark.parametrize("q, expected", SEARCHES)
def test_the_product_search_finds_each_case_of_the_turkish_letters(app, company, named, q,
                                                                   expected):
    assert product_names(company, q) == expected


@pytest.mark.parametrize("q, expected", SEARCHES)
def test_the_customer_list_searches_each_case_of_the_turkish_letters(app, company, named,
                                                                     client_as, q, expected):
    html = client_as("viewer").get(f"/sales/customers?q={q}").get_data(as_text=True)
    found = {name for name in NAMES if re.search(rf">\s*{re.escape(name)}\s*<", html)}
    assert found == expected
    assert "Çelik Dış" not in html  # another company's


def test_the_product_list_and_picker_search_the_turkish_letters(app, company, named,
                                                                client_as):
    client = client_as("viewer")
    html = client.get("/catalog/products?q=ışık").get_data(as_text=True)
    assert "TRK-05" in html and "TRK-09" not in html and "TRK-99" not in html
    html = client.get("/catalog/products?q=ÇELİK").get_data(as_text=True)
    assert "TRK-03" in html and "TRK-07" in html and "TRK-99" not in html
    options = client.get("/sales/customers/options?q=ISTANBUL").get_data(as_text=True)
    assert "İstanbul" in options and "Zeytin" not in options


def _order(html: str, pattern: str) -> list[str]:
    seen: list[str] = []
    for match in re.findall(pattern, html):
        if match not in seen:
            seen.append(match)
    return seen


def test_a_turkish_reader_sees_products_and_customers_in_turkish_order(app, company, named,
                                                                        make_user):
    client = turkish_client(app, make_user)
    html = client.get("/catalog/products?sort=name").get_data(as_text=True)
    assert [named[sku] for sku in _order(html, r"TRK-\d\d")] == TURKISH_ORDER
    html = client.get("/catalog/products?sort=-name").get_data(as_text=True)
    assert [named[sku] for sku in _order(html, r"TRK-\d\d")] == TURKISH_ORDER[::-1]
    names = "|".join(re.escape(name) for name in NAMES)
    html = client.get("/sales/customers?sort=name").get_data(as_text=True)
    assert _order(html, rf">\s*({names})\s*<") == TURKISH_ORDER


def test_an_english_reader_keeps_the_plain_indexed_order(app, company, named, client_as,
                                                         make_user):
    english = client_as("viewer")
    client = turkish_client(app, make_user)
    client.get("/catalog/products?sort=name")  # the first asks PostgreSQL for its collations
    with count_queries() as plain:
        assert english.get("/catalog/products?sort=name").status_code == 200
    with count_queries() as turkish:
        assert client.get("/catalog/products?sort=name").status_code == 200
    assert not any("COLLATE" in s for s in plain.statements)
    assert any("COLLATE" in s for s in turkish.statements)
    assert turkish.count == plain.count  # the same queries, only ordered differently


@pytest.mark.parametrize("url", ["/catalog/categories?sort=name", "/catalog/suppliers?sort=name",
                                 "/inventory/warehouses?sort=name",
                                 "/production/employees?sort=name", "/catalog/products?sort=sku",
                                 "/production/boms?sort=name"])
def test_the_other_name_sorts_answer_in_turkish_too(app, company, make_user, url):
    client = turkish_client(app, make_user, "manager")
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    assert any("COLLATE" in s for s in counter.statements)


def _plan(sql, order: bool = False) -> str:
    conn = db.session.connection()
    if TEST_DB == "postgresql":
        # a test's table is tiny: sequential scans (and, for an order, bitmap scans and
        # sorts) are priced out so the plan shows which index serves the query
        settings = ("enable_seqscan",) + (("enable_bitmapscan", "enable_sort") if order else ())
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            conn.execute(text(f"SET LOCAL {setting} = {'off' if setting in settings else 'on'}"))
        rows = conn.execute(text("EXPLAIN " + sql)).scalars()
    else:
        rows = (row[-1] for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
    return "\n".join(rows)


def _sql(stmt) -> str:
    return str(stmt.compile(db.session.get_bind(), compile_kwargs={"literal_binds": True}))


def test_the_folded_search_and_the_turkish_order_are_served_by_indexes(app, company, named):
    # the planner walks a tiny table's b-tree; with no other way the trigram index is used
    search = _plan(_sql(select(Product.id).where(product_matches("ışık"))))
    if TEST_DB == "postgresql":
        assert "ix_products_trgm_name" in search, search
    else:
        assert "products_search VIRTUAL TABLE" in search, search
    for model, column, index in ((Product, Product.name, "ix_products_company_name_tr"),
                                 (Product, Product.sku, "ix_products_company_sku_tr"),
                                 (Customer, Customer.name, "ix_customers_company_name_tr")):
        for where in (model.active.is_(True), model.id > 0):  # active, or all of them
            order = _plan(_sql(select(model.id).where(model.company_id == company.id, where)
                               .order_by(reader_order(column, db.session.get_bind(), "tr"),
                                         model.id).limit(21)), order=True)
            assert index in order and "Sort" not in order and "B-TREE" not in order, order
    db.session.rollback()


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_0029_folds_the_search_index_of_existing_products(tmp_path, redis_url):
    app = create_app(app_config(migrated_database_url(tmp_path, "erp_turkish"), redis_url,
                                tmp_path))
    with app.app_context():
        downgrade(revision="0029_turkish_search-1")
        company_id = db.session.execute(text(
            "INSERT INTO companies (name, currency, timezone, default_language, created_at, "
            "updated_at) VALUES ('Eski', 'TRY', 'UTC', 'tr', CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP) RETURNING id")).scalar_one()
        company = db.session.get(Company, company_id)
        ProductFactory(company=company, sku="ESK-1", name="Işıklı ayna", barcode="")
        ProductFactory(company=company, sku="ESK-2", name="İstanbul çeliği", barcode="")
        db.session.commit()
        upgrade()
        assert product_names(company, "IŞIK") == {"Işıklı ayna"}
        assert product_names(company, "istanbul ÇELİ") == {"İstanbul çeliği"}
        db.session.remove()
        downgrade(revision="0029_turkish_search-1")
        upgrade()
        db.session.remove()
        db.engine.dispose()


@pytest.mark.dialect_independent  # seeding is plain inserts; the searches above run on both
def test_seed_demo_makes_the_turkish_demo_company(app, runner):
    result = runner.invoke(args=["seed-demo", "--locale", "tr"])
    assert result.exit_code == 0, result.output
    assert "admin@ornek.example.com" in result.output
    company = db.session.scalar(select(Company).where(Company.name == "Örnek Mobilya"))
    assert (company.default_language, company.currency, company.timezone) == (
        "tr", "TRY", "Europe/Istanbul")
    customers = set(db.session.scalars(select(Customer.name).where(
        Customer.company_id == company.id)))
    assert any(name.startswith("Işık ") for name in customers)
    assert any(name.startswith("İstanbul Ofis ") for name in customers)
    products = set(db.session.scalars(select(Product.name).where(
        Product.company_id == company.id)))
    assert "Çelik sac 2 mm" in products and "Montaj hizmeti" in products

    client = login(app.test_client(), "admin@ornek.example.com", "admin")
    for url in ["/", "/catalog/products?sort=name", "/catalog/categories",
                "/catalog/suppliers", "/sales/customers?q=ışık", "/inventory/warehouses",
                "/production/employees", "/sales/orders", "/tasks"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert '<html lang="tr">' in response.get_data(as_text=True), url
    html = client.get("/catalog/products?q=çelik sac").get_data(as_text=True)
    assert "Çelik sac 2 mm" in html and "TL" in client.get("/").get_data(as_text=True)
    html = client.get("/production/employees").get_data(as_text=True)
    assert "Ümran Işık" in html

    again = runner.invoke(args=["seed-demo", "--locale", "tr"])  # keeps what exists
    assert again.exit_code == 0
    assert db.session.scalar(select(db.func.count()).select_from(Customer).where(
        Customer.company_id == company.id)) == len(customers)


def test_seed_demo_refuses_an_unknown_locale(app, runner):
    result = runner.invoke(args=["seed-demo", "--locale", "de"])
    assert result.exit_code != 0 and "de" in result.output


def test_the_api_keeps_the_plain_order_its_cursors_compare(app, client, company, named,
                                                           make_user):
    from tests.api.test_api import bearer

    headers = bearer(make_user("viewer", language="tr"))
    with count_queries() as counter:
        response = client.get("/api/v1/products?sort=name", headers=headers)
    assert response.status_code == 200
    assert not any("COLLATE" in s for s in counter.statements)
