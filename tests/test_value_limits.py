"""Issue #16, item 13: one rule per kind of value (erp/models/fields.py), the same for every
document and for its form and its service: a tax rate and a discount from 0 to 100 %, a
price of 0 or more in cents, a quantity above 0 in thousandths."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models.production import BomLine
from erp.models.purchasing import PurchaseOrderItem
from erp.models.fields import DISCOUNT, PRICE, QUANTITY, TAX_RATE
from erp.models.sales import SalesOrderItem
from erp.services import ValidationError, production, purchasing, sales, validation
from tests.factories.catalog import ProductFactory, SupplierFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory

D = Decimal
HX = {"HX-Request": "true"}


class Docs:
    """A draft sales order and a draft purchase order with one line each, and a BOM."""


@pytest.fixture
def docs(app, company, make_user):
    d = Docs()
    d.company, d.user = company, make_user("manager")
    d.kw = dict(company_id=company.id, user=d.user)
    warehouse = WarehouseFactory(company=company, code="MAIN")
    d.product = ProductFactory(company=company, sku="WIDGET", sale_price=D("10"),
                               cost_price=D("4"))
    d.part = ProductFactory(company=company, sku="PART", kind="component")
    d.so = sales.create_order(customer_id=CustomerFactory(company=company).id,
                              warehouse_id=warehouse.id, **d.kw)
    d.so_line = sales.add_line(order_id=d.so.id, product_id=d.product.id, quantity="1", **d.kw)
    d.po = purchasing.create_order(supplier_id=SupplierFactory(company=company).id,
                                   warehouse_id=warehouse.id, **d.kw)
    d.po_line = purchasing.add_line(order_id=d.po.id, product_id=d.product.id, quantity="1",
                                    **d.kw)
    return d


# Each document's line services and line forms, with its own names for price and line id.
DOCUMENTS = {
    "sales": dict(price="unit_price", model=SalesOrderItem,
                  add=lambda d, **v: sales.add_line(order_id=d.so.id, product_id=d.product.id,
                                                    **d.kw, **v),
                  update=lambda d, **v: sales.update_line(order_id=d.so.id,
                                                          line_id=d.so_line.id, **d.kw, **v),
                  add_url=lambda d: f"/sales/orders/{d.so.id}/lines",
                  edit_url=lambda d: f"/sales/orders/{d.so.id}/lines/{d.so_line.id}"),
    "purchasing": dict(price="unit_cost", model=PurchaseOrderItem,
                       add=lambda d, **v: purchasing.add_line(
                           order_id=d.po.id, product_id=d.product.id, **d.kw, **v),
                       update=lambda d, **v: purchasing.update_line(
                           order_id=d.po.id, item_id=d.po_line.id, **d.kw,
                           **{"unit_cost": "4", "tax_rate": None, **v}),
                       add_url=lambda d: f"/purchasing/orders/{d.po.id}/lines",
                       edit_url=lambda d: f"/purchasing/orders/{d.po.id}/lines/{d.po_line.id}"),
}


def lines(model) -> list:
    db.session.rollback()
    return db.session.execute(select(model.id, model.quantity, model.tax_rate)
                              .order_by(model.id)).all()


def refusal(call) -> dict:
    with pytest.raises(ValidationError) as error:
        call()
    return error.value.field_errors


# --- the services -----------------------------------------------------------------------

@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("rate", ["101", "150", "1000", "-1"])
def test_every_document_refuses_a_tax_rate_beyond_100_with_the_same_message(docs, document,
                                                                          rate):
    doc = DOCUMENTS[document]
    before = lines(doc["model"])
    errors = refusal(lambda: doc["add"](docs, quantity="1", tax_rate=rate))
    assert errors["tax_rate"] == [TAX_RATE.message] == ["Enter a tax rate from 0 to 100 %."]
    errors = refusal(lambda: doc["update"](docs, quantity="1", tax_rate=rate))
    assert errors["tax_rate"] == [TAX_RATE.message]
    assert lines(doc["model"]) == before  # nothing written


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_document_takes_100_percent_tax_with_three_decimals(docs, document):
    line = DOCUMENTS[document]["add"](docs, quantity="1", tax_rate="100.000")
    assert line.tax_rate == D("100")
    errors = refusal(lambda: DOCUMENTS[document]["add"](docs, quantity="1", tax_rate="7.0001"))
    assert errors["tax_rate"] == ["Use at most 3 decimals."]


@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("price", ["-0.01", "1000000000000"])
def test_every_document_refuses_a_price_out_of_range_with_the_same_message(docs, document,
                                                                          price):
    doc = DOCUMENTS[document]
    errors = refusal(lambda: doc["add"](docs, quantity="1", **{doc["price"]: price}))
    assert errors[doc["price"]] == [PRICE.message]
    errors = refusal(lambda: doc["add"](docs, quantity="1", **{doc["price"]: "1.005"}))
    assert errors[doc["price"]] == ["Use at most 2 decimals."]


def test_a_sales_discount_beyond_100_is_refused(docs):
    errors = refusal(lambda: DOCUMENTS["sales"]["add"](docs, quantity="1",
                                                       discount_percent="101"))
    assert errors["discount_percent"] == [DISCOUNT.message]


@pytest.mark.parametrize("quantity", ["0", "-1", "1.0001", "1e12"])
def test_every_line_service_refuses_the_same_quantities(docs, quantity):
    calls = [lambda: DOCUMENTS["sales"]["add"](docs, quantity=quantity),
             lambda: DOCUMENTS["purchasing"]["add"](docs, quantity=quantity),
             lambda: production.add_bom_line(product_id=docs.product.id,
                                             component_id=docs.part.id, quantity=quantity,
                                             **docs.kw)]
    messages = [refusal(call)["quantity"] for call in calls]
    assert messages[0] == messages[1] == messages[2]


def test_a_rule_is_checked_the_same_way_everywhere():
    assert validation.ruled("100", TAX_RATE) == D("100")
    assert validation.ruled(" 0.001 ", QUANTITY) == D("0.001")
    for value, rule, message in [("100.001", TAX_RATE, TAX_RATE.message),
                                 ("0", QUANTITY, QUANTITY.message),
                                 ("abc", PRICE, "Enter a number."),
                                 ("NaN", DISCOUNT, "Enter a number."),
                                 ("1.001", PRICE, "Use at most 2 decimals.")]:
        with pytest.raises(validation.BadValue, match=message.replace(".", r"\.")):
            validation.ruled(value, rule)


# --- the forms --------------------------------------------------------------------------

@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_every_line_form_refuses_101_percent_tax_with_the_same_message(
        docs, staff_client, document, headers):
    doc = DOCUMENTS[document]
    before = lines(doc["model"])
    for url, data in ((doc["add_url"](docs), {"product": "WIDGET"}), (doc["edit_url"](docs), {})):
        response = staff_client.post(url, headers=headers, data={
            **data, "quantity": "1", doc["price"]: "4", "tax_rate": "101"})
        assert response.status_code == 422, url
        assert "Enter a tax rate from 0 to 100 %." in response.get_data(as_text=True), url
    assert lines(doc["model"]) == before


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_line_form_refuses_a_negative_price_and_a_zero_quantity_alike(
        docs, staff_client, document):
    doc = DOCUMENTS[document]
    response = staff_client.post(doc["add_url"](docs), data={
        "product": "WIDGET", "quantity": "0", doc["price"]: "-1"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert PRICE.message in body and QUANTITY.message in body


def test_the_bom_line_form_refuses_a_zero_quantity_with_the_same_message(docs, staff_client):
    response = staff_client.post(f"/production/boms/{docs.product.id}/lines",
                                 data={"component": "PART", "quantity": "0"})
    assert response.status_code == 422
    assert QUANTITY.message in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(BomLine)) == 0
