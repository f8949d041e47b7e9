"""Product search (erp.queries.search): any part of the SKU, name or barcode, any case, on
both databases; the SQLite FTS5 table follows inserts, renames and deletes."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models import Product
from erp.queries.search import product_matches
from erp.services import catalog as catalog_service
from tests.factories.catalog import ProductFactory


def found(company, q: str) -> list[str]:
    return list(db.session.scalars(
        select(Product.sku).where(Product.company_id == company.id, product_matches(q))
        .order_by(Product.sku)))


@pytest.fixture
def products(company, other_company):
    ProductFactory(company=company, sku="BR-001", name="Steel Bracket 40 mm", barcode="4006381333931")
    ProductFactory(company=company, sku="HG-002", name="Oak Hinge", barcode="")
    ProductFactory(company=company, sku="LP-003", name='Oak lamp "Deluxe" 100% wool', barcode="")
    ProductFactory(company=other_company, sku="BR-999", name="Foreign bracket")
    db.session.commit()


@pytest.mark.parametrize("q, expected", [
    ("bracket", ["BR-001"]),           # in the name, other case
    ("BRACK", ["BR-001"]),
    ("hg-0", ["HG-002"]),              # in the SKU
    ("6381333", ["BR-001"]),           # in the barcode
    ("oak", ["HG-002", "LP-003"]),
    ("oak lamp", ["LP-003"]),          # a phrase, as written
    ('"deluxe"', ["LP-003"]),          # quotes are text, not syntax
    ("100%", ["LP-003"]),
    ("oa", ["HG-002", "LP-003"]),      # shorter than a trigram
    ("zq", []),
    ("nothing like it", []),
    ("AND OR NOT *", []),              # FTS5 operators are text too
])
def test_substrings_of_sku_name_and_barcode(app, company, products, q, expected):
    assert found(company, q) == expected


def test_the_index_follows_renames_and_deletes(app, company, products, make_user):
    admin = make_user("admin")
    product = db.session.scalar(select(Product).where(Product.sku == "HG-002"))
    catalog_service.update_product(company_id=company.id, product_id=product.id, user=admin,
                                   sku="HG-002", name="Brass Hinge", kind=product.kind,
                                   unit=product.unit)
    db.session.rollback()
    assert found(company, "oak") == ["LP-003"]
    assert found(company, "brass") == ["HG-002"]
    db.session.delete(db.session.get(Product, product.id))
    db.session.commit()
    assert found(company, "brass") == []
    ProductFactory(company=company, sku="NW-004", name="Brass nut")
    db.session.commit()
    assert found(company, "brass") == ["NW-004"]


def test_the_list_pages_search_through_it(app, company, products, client_as):
    client = client_as("viewer")
    html = client.get("/catalog/products?q=BRACKET").get_data(as_text=True)
    assert "BR-001" in html
    assert "BR-999" not in html  # another company's product
    assert "HG-002" not in client.get("/catalog/products?q=bracket").get_data(as_text=True)
    options = client.get("/catalog/products/options?q=hinge").get_data(as_text=True)
    assert "HG-002" in options and "BR-001" not in options


def test_a_search_pages_without_counting_every_match(app, company, products, client_as):
    client = client_as("viewer")
    assert re.search(r"Rows 1–3 of 3\b", client.get("/catalog/products").get_data(as_text=True))
    html = client.get("/catalog/products?q=oak").get_data(as_text=True)
    assert "Rows 1–2" in html and "Rows 1–2 of" not in html
