"""What the API answers and accepts: marshmallow schemas (the OpenAPI document's
components). Money and quantities travel as decimal strings, never floats."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from erp.lists import ListSpec
from erp.queries import COUNT_CAP



def decimal_text(places: int, **kwargs) -> fields.Decimal:
    """A Decimal sent as text with `places` decimals, documented as such (not a number)."""
    return fields.Decimal(as_string=True, places=places, metadata={
        "type": "string", "format": "decimal", "pattern": rf"^-?\d+\.\d{{{places}}}$",
        "example": "12." + "0" * places}, **kwargs)


def Money(**kwargs) -> fields.Decimal:  # noqa: N802  (reads like a field class)
    return decimal_text(2, **kwargs)


def Quantity(**kwargs) -> fields.Decimal:  # noqa: N802
    return decimal_text(3, **kwargs)


class Base(Schema):
    class Meta:
        unknown = EXCLUDE
        ordered = True


ACTIONS = fields.Method("_actions", metadata={
    "type": "array", "items": {"type": "string"},
    "description": "The steps the token's user may take now (POST .../<action>)."})


class WithActions:
    def _actions(self, document) -> list[str]:
        from flask_login import current_user

        return [action.name for action in document.allowed_actions(current_user)]


class Category(Base):
    id = fields.Integer()
    name = fields.String()
    parent_id = fields.Integer(allow_none=True)
    description = fields.String()
    active = fields.Boolean()


class Supplier(Base):
    id = fields.Integer()
    name = fields.String()
    contact_person = fields.String()
    email = fields.String()
    phone = fields.String()
    address = fields.String()
    tax_number = fields.String()
    active = fields.Boolean()


class Product(Base):
    id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    kind = fields.String()
    unit = fields.String()
    category_id = fields.Integer(allow_none=True)
    preferred_supplier_id = fields.Integer(allow_none=True)
    sale_price = Money()
    cost_price = Money()
    min_stock = Quantity()
    barcode = fields.String()
    description = fields.String()
    active = fields.Boolean()


class Warehouse(Base):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    address = fields.String()
    active = fields.Boolean()
    is_default = fields.Boolean()


class Customer(Base):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()
    phone = fields.String()
    billing_address = fields.String()
    shipping_address = fields.String()
    tax_number = fields.String()
    credit_limit = Money()
    active = fields.Boolean()


class StockLevel(Base):
    id = fields.Integer()
    product_id = fields.Integer()
    sku = fields.String(attribute="product.sku")
    warehouse_id = fields.Integer()
    warehouse = fields.String(attribute="warehouse.code")
    on_hand = Quantity()
    reserved = Quantity()
    available = fields.Method("_available", metadata={"type": "string", "format": "decimal"})

    def _available(self, level) -> str:
        return f"{level.on_hand - level.reserved:.3f}"


class StockMovement(Base):
    id = fields.Integer()
    created_at = fields.DateTime()
    product_id = fields.Integer()
    sku = fields.String(attribute="product.sku")
    warehouse_id = fields.Integer()
    warehouse = fields.String(attribute="warehouse.code")
    kind = fields.String()
    quantity = Quantity()
    reference = fields.String()
    note = fields.String()
    source_type = fields.String(allow_none=True)
    source_id = fields.Integer(allow_none=True)


class SalesOrderLine(Base):
    id = fields.Integer()
    product_id = fields.Integer()
    sku = fields.String(attribute="product.sku")
    quantity = Quantity()
    unit_price = Money()
    discount_percent = decimal_text(3)
    tax_rate = decimal_text(3)
    subtotal = Money()
    discount_amount = Money()
    tax_amount = Money()
    total = Money()


class SalesOrder(Base):
    id = fields.Integer()
    number = fields.String()
    status = fields.String()
    customer_id = fields.Integer()
    customer = fields.String(attribute="customer.name")
    warehouse_id = fields.Integer()
    order_date = fields.Date()
    requested_date = fields.Date(allow_none=True)
    notes = fields.String()
    subtotal = Money()
    discount_total = Money()
    tax_total = Money()
    total = Money()
    invoice_number = fields.String(allow_none=True)


class SalesOrderDetail(WithActions, SalesOrder):
    lines = fields.List(fields.Nested(SalesOrderLine), attribute="items")
    actions = ACTIONS


class PurchaseOrderLine(Base):
    id = fields.Integer()
    product_id = fields.Integer()
    sku = fields.String(attribute="product.sku")
    quantity = Quantity()
    received_quantity = Quantity()
    unit_cost = Money()
    tax_rate = decimal_text(3)
    line_subtotal = Money()
    line_tax = Money()
    line_total = Money()


class PurchaseOrder(Base):
    id = fields.Integer()
    number = fields.String()
    status = fields.String()
    supplier_id = fields.Integer()
    supplier = fields.String(attribute="supplier.name")
    warehouse_id = fields.Integer()
    order_date = fields.Date()
    expected_date = fields.Date(allow_none=True)
    notes = fields.String()
    subtotal = Money()
    tax_total = Money()
    total = Money()


class PurchaseOrderDetail(WithActions, PurchaseOrder):
    lines = fields.List(fields.Nested(PurchaseOrderLine), attribute="items")
    actions = ACTIONS


class ProductionOrder(Base):
    id = fields.Integer()
    number = fields.String()
    status = fields.String()
    product_id = fields.Integer()
    sku = fields.String(attribute="product.sku")
    quantity = Quantity()
    component_warehouse_id = fields.Integer()
    output_warehouse_id = fields.Integer()
    planned_start = fields.Date()
    planned_end = fields.Date(allow_none=True)
    notes = fields.String()


class ProductionOrderDetail(WithActions, ProductionOrder):
    actions = ACTIONS


# --- input ------------------------------------------------------------------------------

DECIMAL_TEXT = validate.Regexp(r"^-?\d{1,12}(\.\d{1,3})?$", error="Not a decimal number.")


def _id(**kwargs) -> fields.Integer:
    return fields.Integer(validate=validate.Range(min=1, max=2**31 - 1), **kwargs)


def _text(maximum: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(max=maximum), **kwargs)


class ProductIn(Base):
    """A product's values; the service checks them as the page's form does."""

    sku = _text(60)
    name = _text(200)
    kind = _text(20)
    unit = _text(20)
    sale_price = fields.String(validate=DECIMAL_TEXT)
    cost_price = fields.String(validate=DECIMAL_TEXT)
    min_stock = fields.String(validate=DECIMAL_TEXT)
    barcode = _text(60)
    description = _text(2000)
    category_id = _id(allow_none=True)
    preferred_supplier_id = _id(allow_none=True)


class CategoryIn(Base):
    name = _text(200)
    description = _text(2000)
    parent_id = _id(allow_none=True)


class SupplierIn(Base):
    name = _text(200)
    contact_person = _text(200)
    email = _text(254)
    phone = _text(60)
    tax_number = _text(60)
    address = _text(2000)


class WarehouseIn(Base):
    code = _text(30)
    name = _text(200)
    address = _text(2000)


class CustomerIn(Base):
    name = _text(200)
    email = _text(254)
    phone = _text(60)
    tax_number = _text(60)
    billing_address = _text(2000)
    shipping_address = _text(2000)
    credit_limit = fields.String(validate=DECIMAL_TEXT)


class SalesOrderLineIn(Base):
    product_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    quantity = fields.String(required=True, validate=DECIMAL_TEXT)
    unit_price = fields.String(validate=DECIMAL_TEXT)
    discount_percent = fields.String(validate=DECIMAL_TEXT)
    tax_rate = fields.String(validate=DECIMAL_TEXT)


class SalesOrderIn(Base):
    customer_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    warehouse_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    order_date = fields.Date()
    requested_date = fields.Date()
    notes = fields.String(validate=validate.Length(max=2000))
    lines = fields.List(fields.Nested(SalesOrderLineIn), validate=validate.Length(max=200))


class ReceiptLineIn(Base):
    line_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    quantity = fields.String(required=True, validate=DECIMAL_TEXT)


class ReceiptIn(Base):
    warehouse_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                                  metadata={"description": "Default: the order's warehouse."})
    reference = fields.String(validate=validate.Length(max=60),
                              metadata={"description": "The delivery note."})
    lines = fields.List(fields.Nested(ReceiptLineIn), required=True,
                        validate=validate.Length(min=1, max=500))


class StockMoveIn(Base):
    kind = fields.String(required=True, validate=validate.OneOf(["receipt", "issue", "transfer"]))
    product_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    warehouse_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1),
                                  metadata={"description": "From this warehouse, for a transfer."})
    to_warehouse_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                                     metadata={"description": "A transfer's destination."})
    quantity = fields.String(required=True, validate=DECIMAL_TEXT)
    note = fields.String(validate=validate.Length(max=300))


class StockMoveOut(Base):
    movements = fields.List(fields.Nested(StockMovement))


# --- lists ------------------------------------------------------------------------------

def page_schema(item: type[Schema]) -> type[Schema]:
    """A page of a list: its rows and the links to the next and previous pages."""
    return type(f"{item.__name__}Page", (Base,), {
        "items": fields.List(fields.Nested(item)),
        "page": fields.Integer(allow_none=True, metadata={
            "description": "null on a page reached by a cursor"}),
        "per_page": fields.Integer(),
        "has_next": fields.Boolean(),
        "total": fields.Integer(allow_none=True, metadata={
            "description": f"The number of rows, counted up to {COUNT_CAP + 1} "
                           f"(more: {COUNT_CAP + 1}); null when not counted."}),
        "next": fields.String(allow_none=True),
        "previous": fields.String(allow_none=True),
    })


def list_query_schema(name: str, spec: ListSpec) -> type[Schema]:
    """The query parameters of a list, from its ListSpec: the same search, filters, sort
    keys and page sizes as its page (values a filter cannot read are ignored there too)."""
    sorts = sorted(spec.sorts)
    attrs = {
        "sort": fields.String(validate=validate.OneOf(sorts + [f"-{key}" for key in sorts]),
                              metadata={"description": f"Default {spec.default_sort}; "
                                                       "'-key' sorts descending."}),
        "page": fields.Integer(validate=validate.Range(min=1, max=100_000)),
        "per_page": fields.Integer(validate=validate.Range(min=1, max=100)),
        "cursor": fields.String(validate=validate.Length(max=400), metadata={
            "description": "Where the page starts: from a `next` link (lists ordered by "
                           "a column of their own)."}),
    }
    if spec.search is not None:
        attrs["q"] = fields.String(validate=validate.Length(max=100),
                                   metadata={"description": "Search text."})
    for name_ in [f.name for f in spec.filters] + list(spec.extra_filters):
        attrs[name_] = fields.String(validate=validate.Length(max=100))
    return type(f"{name}Query", (Base,), attrs)
