"""Pagination (erp.queries.paginate): deep pages read their ids first and must give exactly
the rows, in the order, that plain OFFSET paging gives; the capped count; another company's
rows never appear."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from erp.extensions import db
from erp.models.sales import SalesOrder
from erp.queries import COUNT_CAP, DEFERRED_FROM, paginate
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.inventory_helpers import put_stock
from tests.factories.sales import CustomerFactory, SalesOrderFactory

START = date(2026, 1, 1)


def _numbers(html: str) -> list[str]:
    return re.findall(r">(SO-TEST-\d+)<", html)


def _orders(company, n, customer):
    # few distinct dates, so the id tie-breaker decides most of the order
    warehouse = WarehouseFactory(company=company)
    for i in range(n):
        SalesOrderFactory(company=company, customer_id=customer.id, warehouse_id=warehouse.id,
                          order_date=START + timedelta(days=i % 7),
                          status=("draft", "confirmed", "shipped")[i % 3],
                          total=Decimal(i % 11))
    db.session.commit()


def test_every_page_of_the_orders_matches_offset_paging(app, company, other_company,
                                                        client_as):
    customer = CustomerFactory(company=company, name="Pager GmbH")
    _orders(company, 150, customer)
    _orders(other_company, 5, CustomerFactory(company=other_company))
    expected = [number for number, in db.session.execute(
        select(SalesOrder.number).where(SalesOrder.company_id == company.id)
        .order_by(SalesOrder.order_date.desc(), SalesOrder.id.desc()))]
    client = client_as("viewer")
    seen = []
    for page in range(1, 7):  # 25 a page: pages 5 and 6 start past DEFERRED_FROM rows
        html = client.get(f"/sales/orders?per_page=25&page={page}").get_data(as_text=True)
        seen += _numbers(html)
        assert "Pager GmbH" in html  # the customer is loaded on deep pages too
    assert seen == expected
    # a filter and another sort, on a deep page
    confirmed = [number for number, in db.session.execute(
        select(SalesOrder.number).where(SalesOrder.company_id == company.id,
                                        SalesOrder.status == "confirmed")
        .order_by(SalesOrder.total.asc(), SalesOrder.id.asc()))]
    html = client.get("/sales/orders?status=confirmed&sort=total&per_page=10&page=5"
                      ).get_data(as_text=True)
    assert _numbers(html) == confirmed[40:50]


def test_a_deep_page_costs_a_constant_number_of_queries(app, company, client_as,
                                                        queries_for):
    customer = CustomerFactory(company=company)
    _orders(company, 150, customer)
    client = client_as("viewer")
    first = queries_for(client, "/sales/orders?per_page=25&page=1")
    deep = queries_for(client, "/sales/orders?per_page=25&page=6")
    assert deep == first + 1  # the page's ids, then its rows


def test_paginate_directly_beyond_the_end_and_the_capped_count(app, company):
    customer = CustomerFactory(company=company)
    _orders(company, 120, customer)
    stmt = (select(SalesOrder).where(SalesOrder.company_id == company.id)
            .order_by(SalesOrder.id))
    deep = paginate(stmt, page=6, per_page=20)  # offset 100 = DEFERRED_FROM
    assert (deep.page - 1) * deep.per_page >= DEFERRED_FROM
    assert [o.number for o in deep.items] == [
        o.number for o in db.session.scalars(stmt.offset(100).limit(20))]
    assert deep.has_next is False and deep.total == 120
    beyond = paginate(stmt, page=50, per_page=20)
    assert beyond.items == [] and beyond.has_next is False
    assert paginate(stmt, page=1, per_page=20).total_label == "120"
    assert COUNT_CAP > 120


def test_a_deep_page_of_the_stock_levels(app, company, client_as):
    """The stock list eager-loads product, category and warehouse through its joins."""
    warehouse = WarehouseFactory(company=company, code="DEEP")
    for i in range(125):
        put_stock(ProductFactory(company=company, sku=f"DP-{i:04d}"), warehouse, i + 1)
    html = client_as("viewer").get("/inventory/stock?per_page=20&page=6&sort=sku"
                                   ).get_data(as_text=True)
    assert re.findall(r">(DP-\d{4})<", html) == [f"DP-{i:04d}" for i in range(100, 120)]
