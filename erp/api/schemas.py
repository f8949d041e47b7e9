"""What the API answers and accepts: marshmallow schemas (the OpenAPI document's
components). Money and quantities travel as decimal strings, never floats.

The schemas are read from the models, not restated: an answer's fields are typed from
the model's columns (`model_schema`), a record's text inputs take the limits its form and
service check (`text_inputs`, from the declared `erp.models.fields.Text`)."""
from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate
from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric

from erp.lists import ListSpec
from erp.models import (bills, catalog, inventory, invoices, money, production, purchasing,
                        quality, returns, sales, stock_documents, tasks)
from erp.models.fields import Text as TextField
from erp.queries import COUNT_CAP



def decimal_text(places: int, description: str | None = None, **kwargs) -> fields.Decimal:
    """A Decimal sent as text with `places` decimals, documented as such (not a number)."""
    described = {"description": description} if description else {}
    return fields.Decimal(as_string=True, places=places, metadata={
        "type": "string", "format": "decimal", "pattern": rf"^-?\d+\.\d{{{places}}}$",
        "example": "12." + "0" * places, **described}, **kwargs)


class Base(Schema):
    class Meta:
        unknown = EXCLUDE
        ordered = True

    @pre_load
    def refuse_nul(self, data, **kwargs):
        """A NUL character in a text is a 422 on its field: no field ever holds one and
        PostgreSQL refuses it (the pages answer 400 for one in a form: erp.web)."""
        if isinstance(data, Mapping):
            found = {key: ["A text cannot hold a NUL character."] for key, value in data.items()
                     if isinstance(value, str) and "\x00" in value}
            if found:
                raise ValidationError(found)
        return data


DECIMAL_TEXT = validate.Regexp(r"^-?\d{1,12}(\.\d{1,3})?$", error="Not a decimal number.")


def _id(**kwargs) -> fields.Integer:
    return fields.Integer(validate=validate.Range(min=1, max=2**31 - 1), **kwargs)


def _text(maximum: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(max=maximum), **kwargs)


def column_field(column) -> fields.Field:
    """The output field of a model's column, typed from it: a Numeric travels as decimal
    text with the column's scale, a nullable column may be null."""
    kind, none = column.type, {"allow_none": True} if column.nullable else {}
    if isinstance(kind, Numeric):
        return decimal_text(kind.scale, **none)
    for sql_type, field in ((Boolean, fields.Boolean), (Integer, fields.Integer),
                            (DateTime, fields.DateTime), (Date, fields.Date)):
        if isinstance(kind, sql_type) or isinstance(getattr(kind, "impl", None), sql_type):
            return field(**none)
    return fields.String(**none)


def model_schema(name: str, model, columns: str, base: type[Schema] = Base,
                 **more: fields.Field) -> type[Schema]:
    """The schema `name` of `model`'s `columns` (space-separated, in this order) as they are
    declared on the model, then `more` (what is not a column: a product's SKU ...)."""
    table = model.__table__
    declared = {column: column_field(table.c[column]) for column in columns.split()}
    return base.from_dict({**declared, **more}, name=name)


def detail(name: str, row: type[Schema], line: type[Schema], *, items: str = "items",
           **more: fields.Field) -> type[Schema]:
    """A document's record: its row, its lines (the model's `items`) and the steps the
    token's user may take."""
    return row.from_dict({"lines": fields.List(fields.Nested(line), attribute=items),
                          "actions": actions(), **more}, name=name)


def sku() -> fields.String:
    return fields.String(attribute="product.sku")


def actions() -> fields.Function:
    """The steps the token's user may take now on a document."""
    from flask_login import current_user

    return fields.Function(
        lambda document: [action.name for action in document.allowed_actions(current_user)],
        metadata={"type": "array", "items": {"type": "string"},
                  "description": "The steps the token's user may take now (POST .../<action>)."})


Category = model_schema("Category", catalog.Category, "id name parent_id description active")
Supplier = model_schema("Supplier", catalog.Supplier,
                        "id name contact_person email phone address tax_number active")
Product = model_schema("Product", catalog.Product,
                       "id sku name kind unit category_id preferred_supplier_id sale_price "
                       "cost_price min_stock barcode description active")
Warehouse = model_schema("Warehouse", inventory.Warehouse,
                         "id code name address active is_default")
Customer = model_schema("Customer", sales.Customer,
                        "id name email phone billing_address shipping_address tax_number "
                        "credit_limit active")
StockLevel = model_schema(
    "StockLevel", inventory.StockLevel, "id product_id warehouse_id on_hand reserved", sku=sku(),
    warehouse=fields.String(attribute="warehouse.code"),
    available=fields.Function(lambda level: f"{level.on_hand - level.reserved:.3f}",
                              metadata={"type": "string", "format": "decimal"}))
StockMovement = model_schema(
    "StockMovement", inventory.StockMovement,
    "id created_at product_id warehouse_id kind quantity reference note source_type source_id",
    sku=sku(), warehouse=fields.String(attribute="warehouse.code"),
    lot=fields.Function(lambda movement: movement.lot.code if movement.lot else None,
                        allow_none=True, metadata={
                            "type": "string", "nullable": True,
                            "description": "The lot or serial number moved (a tracked "
                                           "product's)."}))
SalesOrderLine = model_schema(
    "SalesOrderLine", sales.SalesOrderItem,
    "id product_id quantity unit_price discount_percent tax_rate subtotal discount_amount "
    "tax_amount total", sku=sku())
SalesOrder = model_schema(
    "SalesOrder", sales.SalesOrder,
    "id number status customer_id warehouse_id order_date requested_date notes subtotal "
    "discount_total tax_total total invoice_number",
    customer=fields.String(attribute="customer.name"))
SalesOrderDetail = detail("SalesOrderDetail", SalesOrder, SalesOrderLine)
PurchaseOrderLine = model_schema(
    "PurchaseOrderLine", purchasing.PurchaseOrderItem,
    "id product_id quantity received_quantity unit_cost tax_rate line_subtotal line_tax "
    "line_total", sku=sku())
PurchaseOrder = model_schema(
    "PurchaseOrder", purchasing.PurchaseOrder,
    "id number status supplier_id warehouse_id order_date expected_date notes subtotal "
    "tax_total total", supplier=fields.String(attribute="supplier.name"))
PurchaseOrderDetail = detail("PurchaseOrderDetail", PurchaseOrder, PurchaseOrderLine)
ProductionOrder = model_schema(
    "ProductionOrder", production.ProductionOrder,
    "id number status product_id quantity component_warehouse_id output_warehouse_id "
    "planned_start planned_end notes", sku=sku())
ProductionOrderComponent = model_schema(
    "ProductionOrderComponent", production.ProductionOrderComponent,
    "id component_id quantity", sku=fields.String(attribute="component.sku"))
ProductionOrderDetail = ProductionOrder.from_dict({
    "components": fields.List(fields.Nested(ProductionOrderComponent), metadata={
        "description": "What completing it consumes; a tracked component's lots may be "
                       "named by its `id` (POST .../complete)."}),
    "quality_override_at": fields.DateTime(allow_none=True),
    "quality_override_reason": fields.String(metadata={
        "description": "Why a manager let it complete despite a failed inspection."}),
    "actions": actions()}, name="ProductionOrderDetail")

# --- receivables: invoices, credit notes, customer payments
PRICED_LINE = ("id product_id quantity unit_price discount_percent tax_rate subtotal "
               "discount_amount tax_amount total")


def number() -> fields.String:
    return fields.String(metadata={"description": "The document's number (a draft: "
                                                  "'Draft ... <id>', it has none yet)."})


def billed(name: str, model, line_model, columns: str, line_columns: str, *,
           party: str = "customer", stamped: str = "issued_at",
           **more: fields.Field) -> tuple[type[Schema], type[Schema], type[Schema]]:
    """An invoice-like document's row, line and detail: its own `columns`, then its
    `party` (a customer, a supplier), totals and when it was issued (`stamped`)."""
    line = model_schema(f"{name}Line", line_model, f"{PRICED_LINE} {line_columns}", sku=sku())
    row = model_schema(name, model, f"id {columns} status {party}_id subtotal discount_total "
                                    f"tax_total total {stamped}",
                       number=number(), **{party: fields.String(attribute=f"{party}.name")},
                       **more)
    return row, line, detail(f"{name}Detail", row, line)


def payment_schemas(name: str, model, allocation_model, document_key: str, party: str,
                    credit: str) -> tuple[type[Schema], type[Schema]]:
    """A payment's row and detail (with its allocations to `document_key` documents) on
    one shape for customers and suppliers."""
    allocation = model_schema(f"{name}Allocation", allocation_model,
                              f"id {document_key} amount")
    row = model_schema(
        name, model, f"id number status {party}_id payment_date amount method reference "
                     "allocated_total reversed_at",
        **{party: fields.String(attribute=f"{party}.name")},
        unallocated=decimal_text(2, credit))
    return row, row.from_dict({"allocations": fields.List(fields.Nested(allocation)),
                               "actions": actions()}, name=f"{name}Detail")


Invoice, InvoiceLine, InvoiceDetail = billed(
    "Invoice", invoices.Invoice, invoices.InvoiceLine,
    "invoice_number order_id invoice_date due_date notes credited_total paid_total",
    "order_item_id credited_quantity",
    balance=decimal_text(2, "What the customer still owes on it."))
CreditNote, CreditNoteLine, CreditNoteDetail = billed(
    "CreditNote", invoices.CreditNote, invoices.CreditNoteLine,
    "credit_number invoice_id credit_date reason", "invoice_line_id")
Payment, PaymentDetail = payment_schemas(
    "Payment", invoices.Payment, invoices.PaymentAllocation, "invoice_id", "customer",
    "The customer's credit from it.")

# --- payables: supplier bills and supplier payments
Bill, BillLine, BillDetail = billed(
    "Bill", bills.Bill, bills.BillLine,
    "bill_number supplier_reference order_id bill_date due_date notes paid_total",
    "order_item_id", party="supplier", stamped="posted_at",
    balance=decimal_text(2, "What we still owe the supplier on it."))
SupplierPayment, SupplierPaymentDetail = payment_schemas(
    "SupplierPayment", bills.SupplierPayment, bills.SupplierPaymentAllocation, "bill_id",
    "supplier", "Our credit with the supplier from it.")


# --- deliveries and returns
def goods_line(name: str, model, columns: str, source_line: str) -> type[Schema]:
    """A line moving goods of a document line (`source_line`), with the lots it names."""
    return model_schema(name, model, f"{columns} lots",
                        product_id=fields.Integer(attribute=f"{source_line}.product_id"),
                        sku=fields.String(attribute=f"{source_line}.product.sku"))


DeliveryNoteLine = goods_line("DeliveryNoteLine", sales.DeliveryNoteLine,
                              "id order_item_id quantity returned_quantity", "order_item")
DeliveryNote = model_schema(
    "DeliveryNote", sales.DeliveryNote,
    "id number status order_id customer_id warehouse_id delivery_date notes posted_at",
    customer=fields.String(attribute="customer.name"))
DeliveryNoteDetail = detail("DeliveryNoteDetail", DeliveryNote, DeliveryNoteLine, items="lines")


def credit_offers() -> fields.Function:
    """The open invoices that billed what a posted sales return took back (its page's
    offer of a credit note of each)."""
    from erp.queries.returns import invoices_to_credit

    return fields.Function(
        lambda record: [{"id": invoice.id, "number": invoice.number}
                        for invoice in invoices_to_credit(record)],
        metadata={"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "number": {"type": "string"}}},
            "description": "Open invoices that billed these goods: credit the customer "
                           "with POST /invoices/{id}/credit-notes."})


def return_schemas(name: str, model, line_model, line_columns: str, source_line: str,
                   columns: str, party: str, **more: fields.Field
                   ) -> tuple[type[Schema], type[Schema]]:
    """A return's list row and its detail with its lines (each line's product is that of
    the document line it returns, `source_line`) and the steps the token's user may take."""
    line = goods_line(f"{name}Line", line_model, line_columns, source_line)
    row = model_schema(name, model, "id number status warehouse_id return_date reason notes "
                                    "posted_at " + columns,
                       **{party: fields.String(attribute=f"{party}.name")})
    return row, detail(f"{name}Detail", row, line, items="lines", **more)


SalesReturn, SalesReturnDetail = return_schemas(
    "SalesReturn", returns.SalesReturn, returns.SalesReturnLine, "id delivery_line_id quantity",
    "delivery_line.order_item", "delivery_id customer_id", "customer",
    credit_invoices=credit_offers())
PurchaseReturn, PurchaseReturnDetail = return_schemas(
    "PurchaseReturn", returns.PurchaseReturn, returns.PurchaseReturnLine,
    "id order_item_id quantity", "order_item", "order_id supplier_id", "supplier")


# --- stock documents: transfers and count sheets
StockTransferLine = model_schema("StockTransferLine", stock_documents.StockTransferLine,
                                 "id product_id quantity", sku=sku())
StockTransfer = model_schema(
    "StockTransfer", stock_documents.StockTransfer,
    "id number status from_warehouse_id to_warehouse_id transfer_date notes posted_at",
    from_warehouse=fields.String(attribute="from_warehouse.code"),
    to_warehouse=fields.String(attribute="to_warehouse.code"))
StockTransferDetail = detail("StockTransferDetail", StockTransfer, StockTransferLine, items="lines")
StockCountLine = model_schema("StockCountLine", stock_documents.StockCountLine,
                              "id product_id expected counted adjusted", sku=sku())
StockCount = model_schema(
    "StockCount", stock_documents.StockCount,
    "id number status warehouse_id category_id count_date notes posted_at",
    warehouse=fields.String(attribute="warehouse.code"))
StockCountDetail = detail("StockCountDetail", StockCount, StockCountLine, items="lines")


# --- quality inspections
def optional(relation: str, attribute: str, kind: str, description: str = "") -> fields.Function:
    """`relation.attribute` of a record, null (not left out) when it has no `relation`."""
    def value(record):
        related = getattr(record, relation)
        return None if related is None else getattr(related, attribute)

    described = {"description": description} if description else {}
    return fields.Function(value, allow_none=True,
                           metadata={"type": kind, "nullable": True, **described})


QualityInspection = model_schema(
    "QualityInspection", quality.QualityInspection,
    "id inspected_on result product_id production_order_id receipt_reference inspector_id "
    "inspector_name notes supersedes_id",
    sku=optional("product", "sku", "string"),
    production_order=optional("production_order", "number", "string"),
    superseded_by_id=optional("superseded_by", "id", "integer",
                              "The re-inspection that replaced it (it no longer counts then)."))


# --- tasks
Task = model_schema(
    "Task", tasks.Todo,
    "id title description status priority due_date assignee_id created_by_id completed_at "
    "created_at", assignee=optional("assignee", "display_name", "string"))


# --- input ------------------------------------------------------------------------------

def text_inputs(model, declared: Mapping[str, TextField], *columns: str) -> dict:
    """Input fields for a record's declared texts (`erp.models.fields.Text`, the limits the
    form and the service check) and for other text `columns` of the model (their size)."""
    table = model.__table__
    return {**{name: _text(spec.limit) for name, spec in declared.items()},
            **{name: _text(table.c[name].type.length) for name in columns}}


def decimal_inputs(*names: str) -> dict:
    return {name: fields.String(validate=DECIMAL_TEXT) for name in names}


ProductIn = Base.from_dict({
    **text_inputs(catalog.Product, catalog.PRODUCT_TEXT, "kind", "unit"),
    **decimal_inputs("sale_price", "cost_price", "min_stock"),
    "category_id": _id(allow_none=True), "preferred_supplier_id": _id(allow_none=True)},
    name="ProductIn")
CategoryIn = Base.from_dict({**text_inputs(catalog.Category, catalog.CATEGORY_TEXT),
                             "parent_id": _id(allow_none=True)}, name="CategoryIn")
SupplierIn = Base.from_dict(text_inputs(catalog.Supplier, catalog.SUPPLIER_TEXT),
                            name="SupplierIn")
WarehouseIn = Base.from_dict(text_inputs(inventory.Warehouse, inventory.WAREHOUSE_TEXT),
                             name="WarehouseIn")
CustomerIn = Base.from_dict({**text_inputs(sales.Customer, sales.CUSTOMER_TEXT),
                             **decimal_inputs("credit_limit")}, name="CustomerIn")

Employee = model_schema("Employee", production.Employee,
                        "id name user_id department position email active")
EmployeeIn = Base.from_dict({
    **text_inputs(production.Employee, production.EMPLOYEE_TEXT),
    "name": _text(production.EMPLOYEE_TEXT["name"].limit, required=True),
    "user_id": _id(allow_none=True, metadata={"description": "Its login user, if any."}),
    "active": fields.Boolean()}, name="EmployeeIn")
TaxCode = model_schema("TaxCode", money.TaxCode, "id name rate active is_default")
TaxCodeIn = Base.from_dict({**text_inputs(money.TaxCode, money.TAX_CODE_TEXT),
                            **decimal_inputs("rate")}, name="TaxCodeIn")
PaymentTerms = model_schema("PaymentTerms", money.PaymentTerms,
                            "id name kind days active is_default")
PaymentTermsIn = Base.from_dict({
    **text_inputs(money.PaymentTerms, money.PAYMENT_TERMS_TEXT),
    "kind": fields.String(validate=validate.OneOf(list(money.TERMS_KINDS))),
    "days": fields.Integer(validate=validate.Range(min=0, max=365))}, name="PaymentTermsIn")


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


class PurchaseOrderLineIn(Base):
    product_id = _id(required=True)
    quantity = fields.String(required=True, validate=DECIMAL_TEXT)
    unit_cost = fields.String(validate=DECIMAL_TEXT,
                              metadata={"description": "Default: the product's cost price."})
    tax_rate = fields.String(validate=DECIMAL_TEXT)


class PurchaseOrderIn(Base):
    supplier_id = _id(required=True)
    warehouse_id = _id(required=True, metadata={"description": "Where its goods are received."})
    order_date = fields.Date(metadata={"description": "Default: the company's today."})
    expected_date = fields.Date()
    notes = fields.String(validate=validate.Length(max=2000))
    lines = fields.List(fields.Nested(PurchaseOrderLineIn), validate=validate.Length(max=200))


class ProductionOrderIn(Base):
    product_id = _id(required=True)
    quantity = fields.String(required=True, validate=DECIMAL_TEXT)
    component_warehouse_id = _id(required=True)
    output_warehouse_id = _id(required=True)
    planned_start = fields.Date(required=True)
    planned_end = fields.Date()
    notes = fields.String(validate=validate.Length(max=2000))


class InvoiceIn(Base):
    customer_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    notes = fields.String(validate=validate.Length(max=2000))
    lines = fields.List(fields.Nested(SalesOrderLineIn), validate=validate.Length(max=200))


def allocation_in(name: str, document_key: str) -> type[Schema]:
    return Base.from_dict({document_key: _id(required=True),
                           "amount": fields.String(required=True, validate=DECIMAL_TEXT)},
                          name=name)


AllocationIn = allocation_in("AllocationIn", "invoice_id")
BillAllocationIn = allocation_in("BillAllocationIn", "bill_id")


def allocations(schema: type[Schema], documents: str, rest: str, **kwargs) -> fields.List:
    """A payment's allocations: parts of its amount set against open `documents`."""
    return fields.List(fields.Nested(schema), validate=validate.Length(max=100), metadata={
        "description": f"Parts of the amount set against open {documents}; {rest}."}, **kwargs)


def payment_in(name: str, party: str, allocated: fields.List) -> type[Schema]:
    """A payment to record: its party, amount, date, method, reference and allocations."""
    return Base.from_dict({
        f"{party}_id": _id(required=True),
        "amount": fields.String(required=True, validate=DECIMAL_TEXT),
        "payment_date": fields.Date(metadata={"description": "Default: the company's today."}),
        "method": fields.String(validate=validate.OneOf(list(invoices.PAYMENT_METHODS))),
        "reference": fields.String(validate=validate.Length(max=100)),
        "allocations": allocated}, name=name)


PaymentIn = payment_in("PaymentIn", "customer", allocations(
    AllocationIn, "invoices of the customer", "the rest is the customer's credit"))
SupplierPaymentIn = payment_in("SupplierPaymentIn", "supplier", allocations(
    BillAllocationIn, "bills of the supplier", "the rest is our credit with the supplier"))
PaymentAllocateIn = Base.from_dict({"allocations": allocations(
    AllocationIn, "invoices of the customer", "the rest stays the customer's credit",
    required=True)}, name="PaymentAllocateIn")
SupplierPaymentAllocateIn = Base.from_dict({"allocations": allocations(
    BillAllocationIn, "bills of the supplier", "the rest stays our credit", required=True)},
    name="SupplierPaymentAllocateIn")


class BillIn(Base):
    supplier_id = _id(required=True)
    supplier_reference = fields.String(validate=validate.Length(max=60),
                                       metadata={"description": "The supplier's own number."})
    notes = fields.String(validate=validate.Length(max=2000))
    lines = fields.List(fields.Nested(SalesOrderLineIn), validate=validate.Length(max=200))


class ReceiptLineIn(Base):
    line_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    quantity = fields.String(required=True, validate=DECIMAL_TEXT)


def distinct_lines(lines: list) -> None:
    """Each document line at most once in a body (the pages have one input per line)."""
    ids = [line.get("line_id") for line in lines]
    if len(ids) != len(set(ids)):
        raise ValidationError("Name each line once.")


def lines_in(line: type[Schema], description: str, *, required: bool = True) -> fields.List:
    return fields.List(fields.Nested(line), required=required,
                       validate=[validate.Length(min=1 if required else 0, max=500),
                                 distinct_lines],
                       metadata={"description": description})


LOTS = fields.String(validate=validate.Length(max=sales.LOTS_TEXT_MAX), metadata={
    "description": "A tracked product's lots or serial numbers, as the page's field takes "
                   "them: 'L1: 3, L2: 2' (lots) or 'S1 S2' (serial numbers). A delivery and "
                   "a receipt need them; Ship all, a completion and a return take the "
                   "first-expiring (first shipped) where none are named."})


class LotsLineIn(Base):
    line_id = _id(required=True)
    lots = LOTS


class GoodsLineIn(ReceiptLineIn):
    lots = LOTS


class ReceivedLineIn(GoodsLineIn):
    expiry = fields.String(validate=validate.Length(max=10), metadata={
        "description": "A new lot's expiry date (YYYY-MM-DD)."})


class ReceiptIn(Base):
    warehouse_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                                  metadata={"description": "Default: the order's warehouse."})
    reference = fields.String(validate=validate.Length(max=60),
                              metadata={"description": "The delivery note."})
    lines = lines_in(ReceivedLineIn, "The order's lines (`line_id`) and the quantity of each "
                                     "received, with its lots for a tracked product.")


class LotsIn(Base):
    lines = lines_in(LotsLineIn, "The lines (`line_id`) whose lots are named; the others "
                                 "take their first-expiring lots.", required=False)


def goods_in(name: str, dated: str, posted: str, lines: str, **more: fields.Field
             ) -> type[Schema]:
    """A document moving goods of another's lines (a delivery, a return): its date
    (`dated`), notes, whether it is posted at once and its lines with their lots."""
    return Base.from_dict({
        **more, dated: fields.Date(metadata={"description": "Default: the company's today."}),
        "notes": fields.String(validate=validate.Length(max=2000)),
        "post": fields.Boolean(load_default=False, metadata={
            "description": f"Post it at once ({posted}); else a draft."}),
        "lines": lines_in(GoodsLineIn, f"{lines} and the quantity of each, with its lots "
                                       "for a tracked product.")}, name=name)


DeliveryIn = goods_in("DeliveryIn", "delivery_date", "its stock leaves",
                      "The order's lines (`line_id`) to deliver")
ReturnIn = goods_in(
    "ReturnIn", "return_date", "a manager's: the stock moves",
    "The document's lines (`line_id`) returned",
    warehouse_id=_id(metadata={"description": "Where the goods come back into (go back "
                                              "from). Default: the document's warehouse."}),
    reason=fields.String(required=True, validate=validate.Length(max=returns.REASON_MAX)))


class CreditNoteIn(Base):
    reason = fields.String(validate=validate.Length(max=2000))
    lines = fields.List(fields.Nested(ReceiptLineIn), required=True,
                        validate=validate.Length(min=1, max=500),
                        metadata={"description": "The invoice's lines (`line_id`) and the "
                                                 "quantity of each to credit."})


class TransferLineIn(Base):
    product_id = _id(required=True)
    quantity = fields.String(required=True, validate=DECIMAL_TEXT)


class StockTransferIn(Base):
    from_warehouse_id = _id(required=True)
    to_warehouse_id = _id(required=True)
    transfer_date = fields.Date(metadata={"description": "Default: the company's today."})
    notes = fields.String(validate=validate.Length(max=stock_documents.NOTES_MAX))
    lines = fields.List(fields.Nested(TransferLineIn), validate=validate.Length(max=200),
                        metadata={"description": "A product named twice adds up on one line."})


class StockCountIn(Base):
    warehouse_id = _id(required=True)
    category_id = _id(metadata={"description": "Only this category's products."})
    count_date = fields.Date(metadata={"description": "Default: the company's today."})
    notes = fields.String(validate=validate.Length(max=stock_documents.NOTES_MAX))


class CountedLineIn(Base):
    product_id = _id(required=True)
    counted = fields.String(required=True, validate=DECIMAL_TEXT)


class CountedIn(Base):
    lines = fields.List(fields.Nested(CountedLineIn), required=True,
                        validate=validate.Length(min=1, max=500), metadata={
                            "description": "What was counted of each product; a product the "
                                           "sheet does not list is added to it."})


class ReinspectionIn(Base):
    result = fields.String(required=True, validate=validate.OneOf(list(quality.RESULTS)))
    inspected_on = fields.Date(metadata={"description": "Default: the company's today."})
    notes = fields.String(validate=validate.Length(max=2000))


class InspectionIn(ReinspectionIn):
    product_id = _id(metadata={"description": "What was inspected: a product, a production "
                                              "order (its product) or a receipt."})
    production_order_id = _id()
    receipt_reference = fields.String(validate=validate.Length(max=60))


class ActiveIn(Base):
    active = fields.Boolean(required=True, metadata={"description": "false archives, true "
                                                                    "restores."})


class TaskIn(Base):
    title = fields.String(required=True, validate=validate.Length(max=200))
    description = fields.String(validate=validate.Length(max=5000))
    assignee_id = _id(allow_none=True, metadata={"description": "An active user of the "
                                                              "company; null: nobody."})
    due_date = fields.Date(allow_none=True)
    priority = fields.String(validate=validate.OneOf(list(tasks.TASK_PRIORITIES)))


class TaskStatusIn(Base):
    status = fields.String(required=True, validate=validate.OneOf(list(tasks.TASK_STATUSES)))


class StockMoveIn(Base):
    kind = fields.String(required=True, validate=validate.OneOf(["receipt", "issue", "transfer"]))
    product_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    warehouse_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1),
                                  metadata={"description": "From this warehouse, for a transfer."})
    to_warehouse_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                                     metadata={"description": "A transfer's destination."})
    quantity = fields.String(required=True, validate=DECIMAL_TEXT)
    note = fields.String(validate=validate.Length(max=300))
    lot = fields.String(validate=validate.Length(max=inventory.LOT_CODE_MAX), metadata={
        "description": "A tracked product's lot or serial number (one a movement): a "
                       "receipt makes a new one; an issue or a transfer takes one held."})
    expiry = fields.String(validate=validate.Length(max=10), metadata={
        "description": "A new lot's expiry date (YYYY-MM-DD), on a receipt."})


class StockMoveOut(Base):
    movements = fields.List(fields.Nested(StockMovement))


# --- lists ------------------------------------------------------------------------------

@cache  # one page schema per row schema, however many lists show those rows
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


# --- the pages' remaining actions (#21): document headers, production, stock -------------

def header_in(schema: type[Schema]) -> Schema:
    """A draft's header PATCH body: the create body's header fields, each optional (the
    rest stays), without its lines (they have their own routes); a date the create body
    may leave out may be null, as the edit form's field may be emptied."""
    clearable = {name: fields.Date(allow_none=True, metadata=field.metadata)
                 for name, field in schema._declared_fields.items()
                 if isinstance(field, fields.Date) and not field.required}
    return type(f"{schema.__name__.removesuffix('In')}HeaderIn", (schema,), clearable)(
        partial=True, exclude=[key for key in ("lines",) if key in schema().fields])


WorkOrder = model_schema(
    "WorkOrder", production.WorkOrder,
    "id name status production_order_id employee_id planned_hours actual_hours sequence",
    production_order=fields.String(attribute="production_order.number"),
    sku=fields.String(attribute="production_order.product.sku"),
    employee=optional("employee", "name", "string"))
WorkOrderDetail = WorkOrder.from_dict({"actions": actions()}, name="WorkOrderDetail")


class WorkOrderIn(Base):
    name = fields.String(required=True, validate=validate.Length(max=200))
    employee_id = _id(allow_none=True, metadata={"description": "null: nobody."})
    planned_hours = fields.String(validate=DECIMAL_TEXT)
    actual_hours = fields.String(validate=DECIMAL_TEXT)
    sequence = fields.Integer(validate=validate.Range(min=0, max=10_000))


class WorkOrderStatusIn(Base):
    status = fields.String(required=True,
                           validate=validate.OneOf(list(production.WORK_ORDER_STATUSES)))


class WorkOrderFormIn(Base):
    form_id = _id(required=True, allow_none=True,
                  metadata={"description": "An active form of the company; null: none."})


class OverrideIn(Base):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


BomLine = model_schema("BomLine", production.BomLine, "id component_id quantity",
                       sku=fields.String(attribute="component.sku"),
                       component=fields.String(attribute="component.name"))
Bom = Base.from_dict({
    "product_id": fields.Integer(), "sku": fields.String(), "name": fields.String(),
    "lines": fields.List(fields.Nested(BomLine), metadata={
        "description": "What one unit of the product takes of each component."})},
    name="Bom")


def _row(index: int, attribute: str, kind: str) -> fields.Function:
    return fields.Function(lambda row: getattr(row[0], attribute) if index == 0 else row[index],
                           metadata={"type": kind})


BomRow = Base.from_dict({"product_id": _row(0, "id", "integer"), "sku": _row(0, "sku", "string"),
                         "name": _row(0, "name", "string"), "lines": _row(1, "", "integer")},
                        name="BomRow")


class BomLineIn(Base):
    component_id = _id(required=True, metadata={"description": "Fixed once on the BOM; a "
                                                               "component added twice adds up."})
    quantity = fields.String(required=True, validate=DECIMAL_TEXT,
                             metadata={"description": "Per unit of the product."})


class AdjustIn(Base):
    product_id = _id(required=True)
    warehouse_id = _id(required=True)
    counted = fields.String(required=True, validate=DECIMAL_TEXT, metadata={
        "description": "What is there now (of the lot, for a tracked product)."})
    lot = fields.String(validate=validate.Length(max=inventory.LOT_CODE_MAX))
    note = fields.String(validate=validate.Length(max=300))


class RevalueIn(Base):
    cost_price = fields.String(required=True, validate=DECIMAL_TEXT)
    reason = fields.String(required=True, validate=validate.Length(max=200))


ReorderSuggestion = Base.from_dict({
    "product_id": fields.Integer(attribute="product.id"),
    "sku": fields.String(attribute="product.sku"),
    "name": fields.String(attribute="product.name"),
    "supplier_id": fields.Integer(attribute="product.preferred_supplier_id", allow_none=True),
    "supplier": optional("supplier", "name", "string"),
    "min_stock": decimal_text(3, attribute="product.min_stock"),
    "on_hand": decimal_text(3), "reserved": decimal_text(3), "available": decimal_text(3),
    "on_order": decimal_text(3), "suggested": decimal_text(3)}, name="ReorderSuggestion")
ReorderSuggestions = Base.from_dict({
    "items": fields.List(fields.Nested(ReorderSuggestion)),
    "limit": fields.Integer(metadata={"description": "At most this many rows."})},
    name="ReorderSuggestions")


Shortage = Base.from_dict({
    "component_id": fields.Integer(), "sku": fields.String(attribute="product.sku"),
    "name": fields.String(attribute="product.name"), "warehouse_id": fields.Integer(),
    "warehouse": fields.String(attribute="warehouse.code"),
    "planned": decimal_text(3, "Required by planned orders."),
    "in_progress": decimal_text(3, "Reserved by orders in progress (for information)."),
    "available": decimal_text(3, "On hand minus reserved."),
    "shortage": decimal_text(3), "orders": fields.Integer(metadata={
        "description": "The planned or in-progress orders that need it."})}, name="Shortage")
ShortagePage = page_schema(Shortage)
ShortagesQuery = Base.from_dict({"page": fields.Integer(validate=validate.Range(
    min=1, max=10_000))}, name="ShortagesQuery")


class ReorderLineIn(Base):
    product_id = _id(required=True)
    quantity = fields.String(validate=DECIMAL_TEXT,
                             metadata={"description": "Default: the suggestion."})


def distinct_products(lines: list) -> None:
    ids = [line.get("product_id") for line in lines]
    if len(ids) != len(set(ids)):
        raise ValidationError("Name each product once.")


class ReorderIn(Base):
    warehouse_id = _id(required=True, metadata={"description": "Where the goods are received."})
    lines = fields.List(fields.Nested(ReorderLineIn), required=True,
                        validate=[validate.Length(min=1, max=500), distinct_products])


class ReorderOut(Base):
    purchase_orders = fields.List(fields.Nested(PurchaseOrder),
                                  metadata={"description": "One draft per supplier."})
