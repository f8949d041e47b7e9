"""The API's routes, made from the pages' declarations: lists are their ListSpecs (same
filters, sorts and capped pagination), master records their crud Resources (create and
update services), and a document's steps its workflow's transitions table
(erp/documents.py), role for role. No rule lives here."""
from __future__ import annotations

import hashlib
import inspect
from contextlib import contextmanager
from collections.abc import Callable
from decimal import Decimal
from functools import cache, wraps
from urllib.parse import urlencode

from flask import current_app, json, request
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import Schema
from marshmallow.fields import Integer
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from erp.api import current_api, cursor, problem
from erp.api import schemas as s
from erp.auth import require_role
from erp.blueprints.catalog import views as catalog_pages
from erp.blueprints.inventory import views as inventory_pages
from erp.blueprints.inventory import stock_documents as stock_document_pages
from erp.blueprints.money import payables as payable_pages
from erp.blueprints.money import views as money_pages
from erp.blueprints.production import views as production_pages
from erp.blueprints.purchasing import views as purchasing_pages
from erp.blueprints.sales import views as sales_pages
from erp.crud import Resource
from erp.lines import LineEditor
from erp.extensions import db
from erp.lists import ListSpec
from erp.models import role_rank
from erp.models.bills import Bill, BillLine, SupplierPayment
from erp.models.catalog import Product
from erp.models.inventory import StockMovement
from erp.models.invoices import CreditNote, CreditNoteLine, Invoice, InvoiceLine, Payment
from erp.models.production import BomLine, ProductionOrder, ProductionOrderComponent, WorkOrder
from erp.models.quality import QualityInspection
from erp.models.tasks import Todo
from erp.models.purchasing import PurchaseOrder, PurchaseOrderItem
from erp.models.returns import PurchaseReturn, PurchaseReturnLine, SalesReturn, SalesReturnLine
from erp.models.sales import DeliveryNote, DeliveryNoteLine, SalesOrder, SalesOrderItem
from erp.models.stock_documents import (StockCount, StockCountLine, StockTransfer,
                                        StockTransferLine)
from erp.models.core import company_today
from erp.queries import DEFERRED_FROM, company_select, paginate, scoped_get_or_404
from erp.queries.bills import BILLS, SUPPLIER_PAYMENTS
from erp.queries.inventory import MOVEMENTS, STOCK
from erp.queries.invoices import CREDIT_NOTES, INVOICES, PAYMENTS
from erp.queries.production import BOMS, MY_WORK_ORDERS, WORK_ORDERS
from erp.queries.production import ORDERS as PRODUCTION_ORDERS
from erp.queries.quality import INSPECTIONS
from erp.queries.purchasing import ORDERS as PURCHASE_ORDERS
from erp.queries.returns import PURCHASE_RETURNS, SALES_RETURNS
from erp.queries.sales import DELIVERIES, ORDERS
from erp.queries.stock_documents import COUNTS, TRANSFERS
from erp.queries.tasks import TASKS
from erp.services import (DomainError, NotFound, PermissionDenied, ValidationError,
                          atomic)
from erp.services import api_tokens
from erp.services import bills as bill_service
from erp.services import catalog as catalog_service
from erp.services import credit_notes as credit_note_service
from erp.services import forms as form_service
from erp.services import deliveries as delivery_service
from erp.services import invoices as invoice_service
from erp.services import lots as lot_service
from erp.services import payments as payment_service
from erp.services import production as production_service
from erp.services import purchasing as purchasing_service
from erp.services import returns as return_service
from erp.services import sales as sales_service
from erp.services import quality as quality_service
from erp.services import stock as stock_service
from erp.services import tasks as task_service
from erp.services import stock_documents as stock_document_service
from erp.i18n import _, _l

bp = Blueprint("api", __name__, url_prefix="/api/v1",
               description=_l("The ERP's JSON API. Authenticate with a personal API token."))


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    """A service's refusal: 422 with the fields, 403, 404 or 409 (the document's state)."""
    db.session.rollback()
    if isinstance(error, ValidationError):
        return problem(422, str(error), errors=error.field_errors)
    if isinstance(error, PermissionDenied):
        return problem(403, str(error))
    if isinstance(error, NotFound):
        return problem(404, str(error))
    return problem(409, str(error))  # InvalidTransition, or another rule of the record


def guarded(role: str, model=None):
    """The role (require_role), then, for a route of one record, that the record is the
    company's (404), before the body is read: another company's id is a 404, never a 422."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if model is not None:
                scoped_get_or_404(model, kwargs["record_id"])
            return view(*args, **kwargs)
        return require_role(role)(wrapped)
    return decorator


# --- the document -----------------------------------------------------------------------

@bp.route("/openapi.json")
@require_role("viewer")
def openapi_json():
    """This document (OpenAPI 3)."""
    return current_api().spec.to_dict()


# --- lists and records ------------------------------------------------------------------

def page_body(spec: ListSpec, base: Callable[[], Select] | None = None) -> dict:
    """One page of `spec`'s list (of the rows of `base` when given, as a page passes its
    own), read as its page reads it, with next/previous links.
    Past the first pages, the `next` link of a list ordered by a column of its own is a
    `cursor` (erp/api/cursor.py): that page starts after the last row, uncounted and
    without a page number."""
    params = spec.params()
    # the plain order in every language: a cursor compares plain values (erp/api/cursor.py)
    stmt = spec.select(params, base() if base else None, reader_order=False)
    args = request.args.to_dict()
    given = args.pop("cursor", None)
    keyset = cursor.supports(spec, params.sort_key)
    if given:
        if not keyset:
            abort(422, message=_("This list and sort take page numbers, not a cursor."))
        try:
            stmt = stmt.where(cursor.after(spec, params.sort, given))
        except cursor.BadCursor:
            abort(422, message=_("The cursor is not one this list gave for this sort."))
    page = spec.page(params, stmt) if not given else paginate(
        stmt.options(*spec.options) if spec.options else stmt, page=1,
        per_page=params.per_page, count=False)

    def link(**values) -> str:
        return f"{request.base_url}?{urlencode({**args, **values})}"

    following = None
    if page.has_next:
        deep = given or page.page * page.per_page >= DEFERRED_FROM  # as `paginate` sees it
        token = (cursor.encode(spec, params.sort, page.items[-1])
                 if keyset and deep else None)
        following = (link(cursor=token, sort=params.sort) if token
                     else link(page=page.page + 1))
    return {"items": page.items, "page": None if given else page.page,
            "per_page": page.per_page, "has_next": page.has_next, "total": page.total,
            "next": following,
            "previous": link(page=page.page - 1) if page.page > 1 and not given else None}


def read_resource(path: str, name: str, spec: ListSpec, schema: type, *,
                  model=None, detail_options: Callable[[], list] | None = None,
                  detail_schema: type | None = None, patch=None, delete=None,
                  base: Callable[[], Select] | None = None) -> None:
    """GET `path` (the list) and, with `model`, GET `path/<id>` (one record of the company;
    another company's answers 404), with `patch` (schema, function, role) PATCH and with
    `delete` (function, role) DELETE on the same rule: one rule per address, so an id beyond
    64 bits is a 404 for every method (werkzeug answers 405 when a rule of another method
    matched the address before the id's converter refused it)."""
    query = s.list_query_schema(name, spec)
    page = s.page_schema(schema)

    def listing(_args):
        return page_body(spec, base)

    listing.__name__ = f"{name.lower()}_list"
    listing.__doc__ = f"The {name} list: the page's filters, sorts and pagination."
    bp.route(path, endpoint=listing.__name__, methods=["GET"])(
        bp.arguments(query, location="query")(bp.response(200, page)(
            require_role("viewer")(listing))))
    if model is None:
        return

    def detail(record_id: int):
        options = detail_options() if detail_options else []
        return scoped_get_or_404(model, record_id, *options)

    detail.__doc__ = f"One {name} record."
    endpoint = f"{name.lower()}_detail"
    if patch is None:
        detail.__name__ = endpoint
        bp.route(f"{path}/<int:record_id>", endpoint=endpoint, methods=["GET"])(
            bp.response(200, detail_schema or schema)(require_role("viewer")(detail)))
        return
    patch_schema, change, role = patch

    def get(self, record_id: int):
        return detail(record_id)

    def patch_(self, data: dict, record_id: int):
        return change(data, record_id)

    get.__doc__, patch_.__doc__ = detail.__doc__, change.__doc__
    methods = {"get": require_role("viewer")(bp.response(200, detail_schema or schema)(get)),
               "patch": guarded(role, model)(bp.arguments(patch_schema)(
                   bp.response(200, detail_schema or schema)(patch_)))}
    roles = {"GET": "viewer", "PATCH": role}
    if delete is not None:
        remove, roles["DELETE"] = delete

        def delete_(self, record_id: int):
            return remove(record_id)

        delete_.__doc__ = remove.__doc__
        methods["delete"] = guarded(roles["DELETE"], model)(bp.response(204)(delete_))
    view = type(f"{name}Record", (MethodView,), methods)
    view.decorators = [method_roles(roles)]
    bp.route(f"{path}/<int:record_id>", endpoint=endpoint)(view)


def method_roles(roles: dict[str, str]):
    """Mark a view of several methods with each one's role (`method_roles`) and, for the
    URL-map tests, the lowest as its `required_role`; each method checks its own."""
    def mark(view):
        view.method_roles = dict(roles)
        view.required_role = min(roles.values(), key=role_rank)
        return view
    return mark


def master_resource(resource: Resource, schema: type, input_schema: type) -> None:
    """A master record kind from its page declaration (erp/crud.py Resource): the list and
    records, POST to create and PATCH to change (staff, as on the pages), through the
    resource's own create and update services."""
    name = schema.__name__
    path = f"/{resource.plural}"
    # what the page's edit form sends (e.g. a customer's `active`), so a PATCH keeps it
    keys = list(dict.fromkeys([*resource.fields, *input_schema().fields]))
    id_arg = f"{resource.name}_id"

    def create(data: dict):
        record = resource.create(company_id=current_user.company_id, user=current_user, **data)
        return _json(schema().dump(record), 201)

    def change(data: dict, record_id: int):
        record = scoped_get_or_404(resource.model, record_id)
        values = {key: getattr(record, key) for key in keys} | data  # PATCH: the rest stays
        ids = {key for key, field in input_schema().fields.items()
               if isinstance(field, Integer)}  # a reference: None is none, "" is not a number
        values = {key: ("" if key not in ids else None) if value is None
                  else str(value) if isinstance(value, Decimal) else value
                  for key, value in values.items()}
        record = resource.update(company_id=current_user.company_id, user=current_user,
                                 **{id_arg: record_id}, **values)
        return _json(schema().dump(record), 200)

    create.__name__, create.__doc__ = f"{name.lower()}_create", f"Create a {resource.label.lower()}."
    change.__doc__ = f"Change some values of a {resource.label.lower()} (the rest stays)."
    bp.route(path, endpoint=create.__name__, methods=["POST"])(guarded(resource.edit_role)(
        bp.arguments(input_schema)(bp.response(201, schema)(create))))
    def delete(record_id: int):
        resource.delete(company_id=current_user.company_id, user=current_user,
                        **{id_arg: record_id})
        return "", 204

    delete.__doc__ = (f"Delete a {resource.label.lower()} no document uses (409 when one "
                      "does: archive it instead); a manager's, as on the pages.")
    read_resource(path, name, resource.list_spec, schema, model=resource.model, patch=(
        type(f"{name}Patch", (input_schema,), {})(partial=True), change, resource.edit_role),
        delete=(delete, "manager") if resource.delete is not None else None)
    if resource.set_active is not None:
        def set_active(data: dict, record_id: int):
            record = resource.set_active(company_id=current_user.company_id, user=current_user,
                                         active=data["active"], **{id_arg: record_id})
            return _json(schema().dump(record or scoped_get_or_404(resource.model, record_id)),
                         200)

        set_active.__name__ = f"{name.lower()}_active"
        set_active.__doc__ = (f"Archive (`active` false) or restore a {resource.label.lower()}"
                              "; a manager's, as on the pages.")
        bp.route(f"{path}/<int:record_id>/active", methods=["POST"])(
            guarded("manager", resource.model)(bp.arguments(s.ActiveIn)(
                bp.response(200, schema)(set_active))))


master_resource(catalog_pages.products, s.Product, s.ProductIn)
master_resource(catalog_pages.categories, s.Category, s.CategoryIn)
master_resource(catalog_pages.suppliers, s.Supplier, s.SupplierIn)
master_resource(inventory_pages.warehouses, s.Warehouse, s.WarehouseIn)
master_resource(sales_pages.customers, s.Customer, s.CustomerIn)
master_resource(production_pages.employees, s.Employee, s.EmployeeIn)
master_resource(money_pages.tax_codes, s.TaxCode, s.TaxCodeIn)
master_resource(money_pages.payment_terms, s.PaymentTerms, s.PaymentTermsIn)
read_resource("/stock-levels", "StockLevel", STOCK, s.StockLevel)
read_resource("/stock-movements", "StockMovement", MOVEMENTS, s.StockMovement)
# --- idempotent writes ------------------------------------------------------------------

def idempotent(run: Callable[[], tuple[int, dict]], content: bytes | None = None):
    """Answer a POST that creates a document or moves stock. With an `Idempotency-Key`
    header, the work and the key (with its answer) commit in one transaction: a retry, or
    a concurrent twin whose key then collides, gets the first answer and changes nothing.
    The same key on another request is refused (422). `content`: what identifies the
    request instead of its body (an upload's file, whose multipart boundary changes)."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        status, body = run()
        return _json(body, status)
    if len(key) > api_tokens.IDEMPOTENCY_KEY_MAX or not key.isprintable():
        return problem(400, f"An Idempotency-Key is at most {api_tokens.IDEMPOTENCY_KEY_MAX} "
                            "printable characters.")
    identity = request.get_data() if content is None else content
    fingerprint = (f"{request.method} {request.path} "
                   + hashlib.sha256(identity).hexdigest()[:32])
    ids = {"company_id": current_user.company_id, "user_id": current_user.id, "key": key}

    def replay():
        stored = api_tokens.stored_answer(**ids)
        if stored is None:
            return None
        if stored.request != fingerprint:
            return problem(422, "This Idempotency-Key was used for another request.")
        response = current_app.response_class(stored.body, status=stored.status,
                                              mimetype="application/json")
        response.headers["Idempotent-Replayed"] = "true"
        return response

    answer = replay()
    if answer is not None:
        return answer
    try:
        with atomic():
            status, body = run()  # its services join this transaction
            db.session.add(api_tokens.IdempotencyKey(request=fingerprint, status=status,
                                                     body=json.dumps(body), **ids))
    except IntegrityError:  # a concurrent request with the key committed first
        db.session.rollback()
        answer = replay()
        if answer is not None:
            return answer
        raise
    return _json(body, status)


def _json(body: dict, status: int):
    """A body dumped already (it is what an idempotency key stores): sent as it is."""
    return current_app.response_class(json.dumps(body), status=status,
                                      mimetype="application/json")


IDEMPOTENCY_HEADER = {"in": "header", "name": "Idempotency-Key", "required": False,
                      "schema": {"type": "string", "maxLength": 200},
                      "description": "A retried request with the same key does nothing again "
                                     "and gets the first answer."}


def idempotent_post(path: str, role: str, body: type | None, answer: type, model=None,
                    status: int = 201):
    """A POST that creates a document or moves stock: its role and record (`guarded`), its
    body and answer schemas, and the Idempotency-Key header in the document (the view
    answers through `idempotent`)."""
    def decorator(view):
        documented = bp.doc(parameters=[IDEMPOTENCY_HEADER])(
            bp.response(status, answer)(view))
        if body is not None:  # None: a step that takes no body
            documented = bp.arguments(body)(documented)
        return bp.route(path, methods=["POST"])(guarded(role, model)(documented))
    return decorator


# --- sales orders -----------------------------------------------------------------------

def document_resource(path: str, name: str, model, spec: ListSpec, schema: type,
                      detail_schema: type, detail_options: Callable[[], list],
                      service_module, routed: tuple[str, ...] = (),
                      header: tuple[Schema, Callable] | None = None) -> Callable[[int], dict]:
    """The list and records of a document, and one POST route per step of its workflow
    (`<path>/<id>/<action>`) for the action's role, answered by the service the table
    names: the pages' `register_actions`, as JSON. Steps that need more than the document
    (a receipt's quantities, an override's reason), and those `routed` names (a service
    passing `**kwargs` on), are left to routes of their own. With `header` (its PATCH
    body, the service of the page's edit form) PATCH `<path>/<id>` changes the header.
    Returns the function that dumps one document as its detail."""
    workflow = model.workflow

    def body(record_id: int) -> dict:
        db.session.expire_all()
        return detail_schema().dump(scoped_get_or_404(model, record_id, *detail_options()))

    read_resource(path, name, spec, schema, model=model, detail_schema=detail_schema,
                  detail_options=detail_options, patch=header and header_patch(
                      model, workflow.id_arg, *header, body))

    for action in workflow.actions.values():
        service = getattr(service_module, action.service)
        extra = [p for p in inspect.signature(service).parameters.values()
                 if p.name not in ("company_id", "user", workflow.id_arg)
                 and p.default is inspect.Parameter.empty
                 and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        if extra or action.name in routed:
            continue

        def view(*data: dict, record_id: int, action=action, service=service):
            lines = data[0].get("lines", []) if data else []
            lots = {"lots": line_values(lines, "lots")} if action.lots else {}

            def run():
                with lines_named(lines):
                    service(company_id=current_user.company_id, user=current_user,
                            **{workflow.id_arg: record_id}, **lots)
                return 200, body(record_id)
            return idempotent(run)

        view.__name__ = f"{name.lower()}_{action.name}"
        view.__doc__ = (f"{action.label}: from {' or '.join(action.sources)} to "
                        f"{action.target or 'the same state'}; needs the {action.role} role. "
                        "409 from another state."
                        + (" A tracked line's lots may be named (`lines`); the others take "
                           "their first-expiring lots. A bad lot is a 422 on its line, "
                           "nothing moved." if action.lots else ""))
        # a step that moves tracked stock takes the lots the page's form names (`Action.lots`)
        idempotent_post(f"{path}/<int:record_id>/{action.name}", action.role,
                        s.LotsIn if action.lots else None, detail_schema, model,
                        status=200)(view)
    return body


def header_patch(model, id_arg: str, patch_schema: Schema, update: Callable,
                 body: Callable[[int], dict]) -> tuple[Schema, Callable, str]:
    """PATCH of a document's header, as its page's edit form (staff, as the pages): the
    values not sent stay, the service the form calls decides (409 in a state that may not
    change, 422 with the fields, nothing written); answered with the document's detail."""
    keys = list(patch_schema.fields)

    def change(data: dict, record_id: int):
        document = scoped_get_or_404(model, record_id)
        values = {key: getattr(document, key) for key in keys} | data
        values = {key: str(value) if isinstance(value, Decimal) else value
                  for key, value in values.items()}
        update(company_id=current_user.company_id, user=current_user,
               **{id_arg: record_id}, **values)
        return _json(body(record_id), 200)

    change.__doc__ = (f"Change some of the header of a {model.__name__} (the rest stays), as "
                      "its page's edit form; 409 in a state that may not change.")
    return patch_schema, change, "staff"


LINE_INPUTS = {"qty-": "quantity", "lot-": "lots", "expiry-": "expiry"}


def line_values(lines: list[dict], key: str) -> dict:
    """{document line id: value} of the body's `lines` that give `key` (a service's
    quantities, lots, expiries: what the pages read from `<prefix><line id>` inputs)."""
    return {line["line_id"]: line[key] for line in lines if key in line}


@contextmanager
def lines_named(lines: list[dict]):
    """A service's errors on the pages' per-line inputs (`qty-<line id>`, `lot-<line id>`,
    `expiry-<line id>`) as the body's fields (`lines.<n>.quantity`, `.lots`, `.expiry`)."""
    try:
        yield
    except ValidationError as error:
        where = {str(line["line_id"]): index for index, line in enumerate(lines)}
        fields: dict[str, list[str]] = {}
        for key, messages in error.field_errors.items():
            for prefix, field in LINE_INPUTS.items():
                if key.startswith(prefix) and key[len(prefix):] in where:
                    key = f"lines.{where[key[len(prefix):]]}.{field}"
                    break
            fields.setdefault(key, []).extend(messages)
        raise ValidationError(str(error), fields) from error


def with_lines(party, items, *path) -> Callable[[], list]:
    """The loader options of a document's detail: its party, its lines and, along `path`
    (relationships one after the other), their products."""
    def options() -> list:
        lines = selectinload(items)
        for step in path:
            lines = lines.joinedload(step)
        return [joinedload(party), lines]
    return options


_sales_order_body = document_resource(
    "/sales-orders", "SalesOrder", SalesOrder, ORDERS, s.SalesOrder, s.SalesOrderDetail,
    with_lines(SalesOrder.customer, SalesOrder.items, SalesOrderItem.product), sales_service,
    routed=("deliver",),  # POST /sales-orders/<id>/deliveries
    header=(s.header_in(s.SalesOrderIn), sales_service.update_order))
_purchase_order_body = document_resource(
    "/purchase-orders", "PurchaseOrder", PurchaseOrder, PURCHASE_ORDERS, s.PurchaseOrder,
    s.PurchaseOrderDetail,
    with_lines(PurchaseOrder.supplier, PurchaseOrder.items, PurchaseOrderItem.product),
    purchasing_service,
    header=(s.header_in(s.PurchaseOrderIn), purchasing_service.update_order))
_production_order_body = document_resource(
    "/production-orders", "ProductionOrder", ProductionOrder, PRODUCTION_ORDERS,
    s.ProductionOrder, s.ProductionOrderDetail, lambda: [
        joinedload(ProductionOrder.product),
        selectinload(ProductionOrder.components).joinedload(ProductionOrderComponent.component)],
    production_service,
    header=(s.header_in(s.ProductionOrderIn), production_service.update_order))
_invoice_body = document_resource(
    "/invoices", "Invoice", Invoice, INVOICES, s.Invoice, s.InvoiceDetail,
    with_lines(Invoice.customer, Invoice.items, InvoiceLine.product), invoice_service)
_credit_note_body = document_resource(
    "/credit-notes", "CreditNote", CreditNote, CREDIT_NOTES, s.CreditNote, s.CreditNoteDetail,
    with_lines(CreditNote.customer, CreditNote.items, CreditNoteLine.product),
    credit_note_service)
_payment_body = document_resource(
    "/payments", "Payment", Payment, PAYMENTS, s.Payment, s.PaymentDetail,
    lambda: [joinedload(Payment.customer), selectinload(Payment.allocations)],
    payment_service)
_bill_body = document_resource(
    "/bills", "Bill", Bill, BILLS, s.Bill, s.BillDetail,
    with_lines(Bill.supplier, Bill.items, BillLine.product), bill_service)
_supplier_payment_body = document_resource(
    "/supplier-payments", "SupplierPayment", SupplierPayment, SUPPLIER_PAYMENTS,
    s.SupplierPayment, s.SupplierPaymentDetail,
    lambda: [joinedload(SupplierPayment.supplier), selectinload(SupplierPayment.allocations)],
    bill_service)
_delivery_body = document_resource(
    "/delivery-notes", "DeliveryNote", DeliveryNote, DELIVERIES, s.DeliveryNote,
    s.DeliveryNoteDetail, with_lines(DeliveryNote.customer, DeliveryNote.lines,
                                     DeliveryNoteLine.order_item, SalesOrderItem.product),
    delivery_service)
_sales_return_body = document_resource(
    "/sales-returns", "SalesReturn", SalesReturn, SALES_RETURNS, s.SalesReturn,
    s.SalesReturnDetail, with_lines(SalesReturn.customer, SalesReturn.lines,
                                    SalesReturnLine.delivery_line, DeliveryNoteLine.order_item,
                                    SalesOrderItem.product), return_service)
_purchase_return_body = document_resource(
    "/purchase-returns", "PurchaseReturn", PurchaseReturn, PURCHASE_RETURNS, s.PurchaseReturn,
    s.PurchaseReturnDetail, with_lines(PurchaseReturn.supplier, PurchaseReturn.lines,
                                       PurchaseReturnLine.order_item, PurchaseOrderItem.product),
    return_service)
_transfer_body = document_resource(
    "/stock-transfers", "StockTransfer", StockTransfer, TRANSFERS, s.StockTransfer,
    s.StockTransferDetail, lambda: [
        joinedload(StockTransfer.from_warehouse), joinedload(StockTransfer.to_warehouse),
        selectinload(StockTransfer.lines).joinedload(StockTransferLine.product)],
    stock_document_service,
    header=(s.header_in(s.StockTransferIn), stock_document_service.update_transfer))
_count_body = document_resource(
    "/stock-counts", "StockCount", StockCount, COUNTS, s.StockCount, s.StockCountDetail,
    lambda: [joinedload(StockCount.warehouse),
             selectinload(StockCount.lines).joinedload(StockCountLine.product)],
    stock_document_service)
# recording and allocating a payment are a manager's, as on the pages
# (/money/payments/new, /money/supplier-payments/<id>/allocate)
PAYMENT_ROLE = "manager"


def create_with_lines(data: dict, create: Callable, add_line: Callable, id_arg: str,
                      body: Callable[[int], dict]):
    """A draft document (`create`) and its lines (`add_line` each), all or nothing: every
    line's invalid fields at once (`lines.<n>.<field>`); answered with `body`."""
    def run():
        with atomic():
            lines = data.pop("lines", [])
            document = create(company_id=current_user.company_id, user=current_user, **data)
            add_lines(lines, add_line, **{id_arg: document.id})
            return 201, body(document.id)
    return idempotent(run)


def add_lines(lines: list[dict], add_line: Callable, **ids) -> None:
    """`add_line` for each of the body's `lines`, in the caller's transaction; then one
    ValidationError with every line's invalid fields (`lines.<n>.<field>`)."""
    errors: dict = {}
    for index, line in enumerate(lines):
        try:
            add_line(company_id=current_user.company_id, user=current_user, **ids, **line)
        except ValidationError as error:
            for field, messages in error.field_errors.items():
                errors[f"lines.{index}.{field}"] = messages
    if errors:
        raise ValidationError(_("A line has invalid values: see errors."), errors)


@idempotent_post("/sales-orders", "staff", s.SalesOrderIn, s.SalesOrderDetail)
def salesorder_create(data: dict):
    """Create a draft sales order with its lines (all or nothing)."""
    return create_with_lines(data, sales_service.create_order, sales_service.add_line,
                             "order_id", _sales_order_body)


@idempotent_post("/purchase-orders", "staff", s.PurchaseOrderIn, s.PurchaseOrderDetail)
def purchaseorder_create(data: dict):
    """Create a draft purchase order with its lines (all or nothing); a manager places it
    (POST /purchase-orders/<id>/place)."""
    return create_with_lines(data, purchasing_service.create_order, purchasing_service.add_line,
                             "order_id", _purchase_order_body)


@idempotent_post("/production-orders", "staff", s.ProductionOrderIn, s.ProductionOrderDetail)
def productionorder_create(data: dict):
    """Plan a production order (its components are the product's bill of materials)."""
    def run():
        order = production_service.create_order(company_id=current_user.company_id,
                                                user=current_user, **data)
        return 201, _production_order_body(order.id)
    return idempotent(run)


@idempotent_post("/invoices", "staff", s.InvoiceIn, s.InvoiceDetail)
def invoice_create(data: dict):
    """Create a direct draft invoice for a customer with its lines (all or nothing); a
    manager issues it (POST /invoices/<id>/issue)."""
    return create_with_lines(data, invoice_service.create_invoice, invoice_service.add_line,
                             "invoice_id", _invoice_body)


@idempotent_post("/invoices/<int:record_id>/credit-notes", "staff", s.CreditNoteIn,
                 s.CreditNoteDetail, Invoice)
def invoice_credit(data: dict, record_id: int):
    """Draft a credit note of some of an issued invoice's quantities (never more than was
    invoiced and not yet credited, nor more than it still asks for); a manager issues it
    (POST /credit-notes/<id>/issue)."""
    def run():
        note = credit_note_service.create_credit_note(
            company_id=current_user.company_id, user=current_user, invoice_id=record_id,
            quantities={line["line_id"]: line["quantity"] for line in data["lines"]},
            reason=data.get("reason", ""))
        return 201, _credit_note_body(note.id)
    return idempotent(run)


@idempotent_post("/payments", PAYMENT_ROLE, s.PaymentIn, s.PaymentDetail)
def payment_create(data: dict):
    """Record a customer's payment and allocate it to open invoices of the customer (the
    rest is the customer's credit); every invalid field at once, nothing written then."""
    def run():
        allocations = {line["invoice_id"]: line["amount"]
                       for line in data.pop("allocations", [])}
        payment = payment_service.record_payment(
            company_id=current_user.company_id, user=current_user, allocations=allocations,
            **data)
        return 201, _payment_body(payment.id)
    return idempotent(run)


@idempotent_post("/payments/<int:record_id>/allocate", PAYMENT_ROLE, s.PaymentAllocateIn,
                 s.PaymentDetail, Payment, status=200)
def payment_allocate(data: dict, record_id: int):
    """Allocate what a recorded payment has left (the customer's credit) to open invoices
    of its customer."""
    return allocate(data, record_id, payment_service.allocate_payment, "invoice_id",
                    _payment_body)


def allocate(data: dict, payment_id: int, service: Callable, document_key: str,
             body: Callable[[int], dict]):
    def run():
        service(company_id=current_user.company_id, user=current_user, payment_id=payment_id,
                allocations={line[document_key]: line["amount"]
                             for line in data["allocations"]})
        return 200, body(payment_id)
    return idempotent(run)


# --- payables ---------------------------------------------------------------------------

@idempotent_post("/bills", "staff", s.BillIn, s.BillDetail)
def bill_create(data: dict):
    """Create a direct draft bill of a supplier with its lines (all or nothing); a manager
    posts it (POST /bills/<id>/post)."""
    return create_with_lines(data, bill_service.create_bill, bill_service.add_line,
                             "bill_id", _bill_body)


@idempotent_post("/purchase-orders/<int:record_id>/bills", "staff", None, s.BillDetail,
                 PurchaseOrder)
def purchaseorder_bill(record_id: int):
    """Draft the bill of what a purchase order received and no bill takes yet, at the
    order's costs (409 when there is nothing to bill); a manager posts it."""
    def run():
        bill = bill_service.create_bill_from_order(
            company_id=current_user.company_id, order_id=record_id, user=current_user)
        return 201, _bill_body(bill.id)
    return idempotent(run)


@idempotent_post("/supplier-payments", PAYMENT_ROLE, s.SupplierPaymentIn,
                 s.SupplierPaymentDetail)
def supplierpayment_create(data: dict):
    """Record a payment to a supplier and allocate it to open bills of the supplier (the
    rest is our credit with the supplier); every invalid field at once, nothing written
    then."""
    def run():
        allocations = {line["bill_id"]: line["amount"] for line in data.pop("allocations", [])}
        payment = bill_service.record_supplier_payment(
            company_id=current_user.company_id, user=current_user, allocations=allocations,
            **data)
        return 201, _supplier_payment_body(payment.id)
    return idempotent(run)


@idempotent_post("/supplier-payments/<int:record_id>/allocate", PAYMENT_ROLE,
                 s.SupplierPaymentAllocateIn, s.SupplierPaymentDetail, SupplierPayment,
                 status=200)
def supplierpayment_allocate(data: dict, record_id: int):
    """Allocate what a recorded supplier payment has left (our credit with the supplier) to
    open bills of the supplier."""
    return allocate(data, record_id, bill_service.allocate_supplier_payment, "bill_id",
                    _supplier_payment_body)


@idempotent_post("/purchase-orders/<int:record_id>/receive",
                 PurchaseOrder.workflow.actions["receive"].role, s.ReceiptIn,
                 s.PurchaseOrderDetail, PurchaseOrder)
def purchaseorder_receive(data: dict, record_id: int):
    """Receive goods of an ordered purchase order (stock in, at the lines' cost)."""
    order = scoped_get_or_404(PurchaseOrder, record_id)
    warehouse_id = data.get("warehouse_id") or order.warehouse_id

    def run():
        with lines_named(data["lines"]):
            purchasing_service.receive(
                company_id=current_user.company_id, user=current_user, order_id=record_id,
                quantities=line_values(data["lines"], "quantity"),
                lots=line_values(data["lines"], "lots"),
                expiries=line_values(data["lines"], "expiry"),
                warehouse_id=warehouse_id, reference=data.get("reference", ""))
        return 201, _purchase_order_body(record_id)
    return idempotent(run)


# --- deliveries and returns ------------------------------------------------------------

@idempotent_post("/sales-orders/<int:record_id>/deliveries",
                 SalesOrder.workflow.actions["deliver"].role, s.DeliveryIn,
                 s.DeliveryNoteDetail, SalesOrder)
def salesorder_deliver(data: dict, record_id: int):
    """Deliver some of what is left to ship on a confirmed or partly shipped order, from its
    warehouse: a draft delivery note (staff post it: POST /delivery-notes/<id>/post), or
    posted at once (`post`). A tracked line names its lots (else the first-expiring); a
    quantity over what is left, a wrong lot or a serial number twice is a 422 on its line,
    nothing written. "Ship all" is POST /sales-orders/<id>/ship."""
    def run():
        lines = data["lines"]
        with lines_named(lines):
            delivery = sales_service.create_delivery(
                company_id=current_user.company_id, user=current_user, order_id=record_id,
                quantities=line_values(lines, "quantity"), lots=line_values(lines, "lots"),
                delivery_date=data.get("delivery_date"), notes=data.get("notes", ""),
                post=data["post"])
        return 201, _delivery_body(delivery.id)
    return idempotent(run)


def return_create(path: str, document_model, create: Callable, id_arg: str,
                  body: Callable[[int], dict], answer: type, doc: str) -> None:
    """POST `<path>/<id>/returns`: a return against one document, as its page's form makes
    it (erp/blueprints/returns_pages.py), into (out of) the document's warehouse unless
    another is named."""
    def view(data: dict, record_id: int):
        def run():
            lines = data["lines"]
            warehouse_id = data.get("warehouse_id") or scoped_get_or_404(
                document_model, record_id).warehouse_id
            with lines_named(lines):
                created = create(
                    company_id=current_user.company_id, user=current_user,
                    quantities=line_values(lines, "quantity"), lots=line_values(lines, "lots"),
                    warehouse_id=warehouse_id, reason=data["reason"],
                    return_date=data.get("return_date"), notes=data.get("notes", ""),
                    post=data["post"], **{id_arg: record_id})
            return 201, body(created.id)
        return idempotent(run)

    view.__name__ = f"{document_model.__name__.lower()}_return"
    view.__doc__ = doc
    idempotent_post(f"{path}/<int:record_id>/returns", return_service.DRAFT_ROLE, s.ReturnIn,
                    answer, document_model)(view)


return_create(
    "/delivery-notes", DeliveryNote, return_service.create_sales_return, "delivery_id",
    _sales_return_body, s.SalesReturnDetail,
    """Draft a return of some of a posted delivery note's goods (never more than delivered
    minus returned; a tracked line names the lots coming back among those it shipped), or
    post it at once (`post`, a manager's). A manager posts or cancels a draft; once posted,
    `credit_invoices` offers the credit note of the invoices that billed the goods.""")
return_create(
    "/purchase-orders", PurchaseOrder, return_service.create_purchase_return, "order_id",
    _purchase_return_body, s.PurchaseReturnDetail,
    """Draft a return to the supplier of some of a purchase order's received goods (never
    more than received minus returned; a tracked line names the lots going back among those
    it received that the warehouse still holds), or post it at once (`post`, a
    manager's).""")


# --- stock documents: transfers and count sheets ------------------------------------------

@idempotent_post("/stock-transfers", StockTransfer.workflow.edits["draft"], s.StockTransferIn,
                 s.StockTransferDetail)
def stocktransfer_create(data: dict):
    """Draft a transfer between two warehouses with its lines (all or nothing); a manager
    posts it (POST /stock-transfers/<id>/post): the stock moves then."""
    return create_with_lines(data, stock_document_service.create_transfer,
                             stock_document_service.add_transfer_line, "transfer_id",
                             _transfer_body)


@idempotent_post("/stock-counts", StockCount.workflow.edits["draft"], s.StockCountIn,
                 s.StockCountDetail)
def stockcount_create(data: dict):
    """Make a draft count sheet of a warehouse (of one category when given): a line per
    stocked product with what the ledger holds now (`expected`)."""
    def run():
        count = stock_document_service.create_count(company_id=current_user.company_id,
                                                    user=current_user, **data)
        return 201, _count_body(count.id)
    return idempotent(run)


@idempotent_post("/stock-counts/<int:record_id>/counts", StockCount.workflow.edits["draft"],
                 s.CountedIn, s.StockCountDetail, StockCount, status=200)
def stockcount_counted(data: dict, record_id: int):
    """Enter what was counted of each product on a draft sheet (all or nothing); a manager
    posts it (POST /stock-counts/<id>/post): every counted difference is adjusted then."""
    def run():
        with atomic():
            add_lines(data["lines"], stock_document_service.add_count_line, count_id=record_id)
        return 200, _count_body(record_id)
    return idempotent(run)


# --- quality inspections ---------------------------------------------------------------

read_resource("/quality-inspections", "QualityInspection", INSPECTIONS, s.QualityInspection,
              model=QualityInspection, detail_options=lambda: [
                  joinedload(QualityInspection.product),
                  joinedload(QualityInspection.production_order),
                  joinedload(QualityInspection.superseded_by)])


def _inspection_body(inspection_id: int) -> dict:
    db.session.expire_all()
    return s.QualityInspection().dump(scoped_get_or_404(
        QualityInspection, inspection_id, joinedload(QualityInspection.product),
        joinedload(QualityInspection.production_order),
        joinedload(QualityInspection.superseded_by)))


@idempotent_post("/quality-inspections", "staff", s.InspectionIn, s.QualityInspection)
def qualityinspection_create(data: dict):
    """Record an inspection of a product, a production order or a receipt (the token's user
    is the inspector). A product whose inspections are filled on a custom form is refused
    (422): its form's answers decide, on the form page."""
    def run():
        product = (db.session.scalar(company_select(Product).where(
            Product.id == data["product_id"])) if data.get("product_id") else None)
        custom_form = (form_service.inspection_form(current_user.company_id, product)
                       if product is not None and not data.get("production_order_id") else None)
        if custom_form is not None:
            raise ValidationError(field_errors={"product_id": [_(
                "This product is inspected with the form “%(name)s”: fill it in.",
                name=custom_form.name)]})
        inspection = quality_service.create_inspection(
            company_id=current_user.company_id, user=current_user,
            inspected_on=data.pop("inspected_on", None) or company_today(current_user.company_id),
            **data)
        return 201, _inspection_body(inspection.id)
    return idempotent(run)


@idempotent_post("/quality-inspections/<int:record_id>/supersede", "staff", s.ReinspectionIn,
                 s.QualityInspection, QualityInspection)
def qualityinspection_supersede(data: dict, record_id: int):
    """Record a re-inspection of what this inspection inspected: the new one supersedes it
    (a recorded result is never edited); 409 when it is superseded already."""
    def run():
        inspection = quality_service.supersede_inspection(
            company_id=current_user.company_id, user=current_user, inspection_id=record_id,
            inspected_on=data.pop("inspected_on", None) or company_today(current_user.company_id),
            **data)
        return 201, _inspection_body(inspection.id)
    return idempotent(run)


# --- tasks ------------------------------------------------------------------------------
# One's own tasks (assigned or created) for staff and viewers, every task of the company
# for a manager: the list's `view` (mine, created, all) and the services' rules.

read_resource("/tasks", "Task", TASKS, s.Task)
TASK_FIELDS = ("title", "description", "assignee_id", "due_date", "priority")


def _task(task_id: int) -> dict:
    db.session.expire_all()
    task = task_service.get_task(company_id=current_user.company_id, task_id=task_id,
                                 user=current_user)  # NotFound: a task the user may not see
    return s.Task().dump(task)


@idempotent_post("/tasks", "staff", s.TaskIn, s.Task)
def task_create(data: dict):
    """Create a task, created by the token's user."""
    def run():
        task = task_service.create_task(company_id=current_user.company_id, user=current_user,
                                        **data)
        return 201, _task(task.id)
    return idempotent(run)


def task_get(self, record_id: int):
    """One task the token's user may see (another's: 404)."""
    return _json(_task(record_id), 200)


def task_patch(self, data: dict, record_id: int):
    """Change some of a task's fields (the rest stays): one's own, or any as a manager."""
    task = task_service.get_task(company_id=current_user.company_id, task_id=record_id,
                                 user=current_user)
    values = {key: getattr(task, key) for key in TASK_FIELDS} | data
    task_service.update_task(company_id=current_user.company_id, task_id=record_id,
                             user=current_user, **values)
    return _json(_task(record_id), 200)


def task_delete(self, record_id: int):
    """Delete a task (a manager's, as on the pages)."""
    task_service.delete_task(company_id=current_user.company_id, task_id=record_id,
                             user=current_user)
    return "", 204


TaskRecord = type("TaskRecord", (MethodView,), {
    "get": require_role("viewer")(bp.response(200, s.Task)(task_get)),
    "patch": guarded("staff", Todo)(bp.arguments(type("TaskPatch", (s.TaskIn,), {})(
        partial=True))(bp.response(200, s.Task)(task_patch))),
    "delete": guarded("manager", Todo)(bp.response(204)(task_delete))})
TaskRecord.decorators = [method_roles({"GET": "viewer", "PATCH": "staff", "DELETE": "manager"})]
bp.route("/tasks/<int:record_id>", endpoint="task_detail")(TaskRecord)


@bp.route("/tasks/<int:record_id>/status", methods=["POST"])
@guarded("staff", Todo)
@bp.arguments(s.TaskStatusIn)
@bp.response(200, s.Task)
def task_status(data: dict, record_id: int):
    """Move a task to open, in progress or done (one's own, or any as a manager)."""
    task_service.change_status(company_id=current_user.company_id, task_id=record_id,
                               user=current_user, status=data["status"])
    return _json(_task(record_id), 200)


# --- lines of a draft (the pages' line editors, erp/lines.py) ----------------------------

def line_resource(path: str, editor: LineEditor, line_in: type,
                  body: Callable[[int], dict], answer: type, name: str | None = None) -> None:
    """`POST <path>/<id>/lines` adds a line, `PATCH .../lines/<line id>` changes some of its
    values (the rest stays) and `DELETE` removes it, through the editor's three services
    (which say in which states and for which role the lines may change: 409, 403);
    each answers the document."""
    name = name or editor.model.__name__.lower()
    changes = line_change(line_in)
    ids = lambda record_id: {"company_id": current_user.company_id,  # noqa: E731
                             "user": current_user, editor.doc_key: record_id}

    def line_of(record_id: int, line_id: int):
        line = scoped_get_or_404(editor.line_model, line_id)
        if getattr(line, editor.doc_key) != record_id:
            raise NotFound(_("No such line."))
        return line

    def add(data: dict, record_id: int):
        def run():
            editor.add(**ids(record_id), **data)
            return 201, body(record_id)
        return idempotent(run)

    def change(data: dict, record_id: int, line_id: int):
        line = line_of(record_id, line_id)
        values = {key: "" if getattr(line, key) is None else str(getattr(line, key))
                  for key in changes.fields} | data
        editor.update(**ids(record_id), **{editor.line_key: line_id}, **values)
        return _json(body(record_id), 200)

    def remove(record_id: int, line_id: int):
        line_of(record_id, line_id)
        editor.remove(**ids(record_id), **{editor.line_key: line_id})
        return _json(body(record_id), 200)


    add.__name__, add.__doc__ = f"{name}_line_add", "Add a line (a draft's, as on its page)."
    change.__doc__ = "Change some values of a line (the rest stays)."
    remove.__doc__ = "Remove a line."
    idempotent_post(f"{path}/<int:record_id>/lines", "staff", line_in, answer,
                    editor.model)(add)
    view = type(f"{editor.model.__name__}LineRecord", (MethodView,), {
        "patch": guarded("staff", editor.model)(bp.arguments(changes)(
            bp.response(200, answer)(lambda self, data, **kw: change(data, **kw)))),
        "delete": guarded("staff", editor.model)(bp.response(200, answer)(
            lambda self, **kw: remove(**kw)))})
    view.patch.__doc__, view.delete.__doc__ = change.__doc__, remove.__doc__
    view.decorators = [method_roles({"PATCH": "staff", "DELETE": "staff"})]
    bp.route(f"{path}/<int:record_id>/lines/<int:line_id>", endpoint=f"{name}_line")(view)


@cache
def line_change(line_in: type) -> Schema:
    """A line's PATCH body: its add body, every field optional, the product (a BOM line's
    component) fixed."""
    return type(f"{line_in.__name__}Change", (line_in,), {})(
        partial=True, exclude=[key for key in ("product_id", "component_id")
                               if key in line_in().fields])


line_resource("/sales-orders", sales_pages.LINES, s.SalesOrderLineIn, _sales_order_body,
              s.SalesOrderDetail)
line_resource("/purchase-orders", purchasing_pages.LINES, s.PurchaseOrderLineIn,
              _purchase_order_body, s.PurchaseOrderDetail)
line_resource("/invoices", money_pages.INVOICE_LINES, s.SalesOrderLineIn, _invoice_body,
              s.InvoiceDetail)
line_resource("/bills", payable_pages.BILL_LINES, s.SalesOrderLineIn, _bill_body, s.BillDetail)
line_resource("/stock-transfers", stock_document_pages.TRANSFER_LINES, s.TransferLineIn,
              _transfer_body, s.StockTransferDetail)
line_resource("/stock-counts", stock_document_pages.COUNT_LINES, s.CountedLineIn, _count_body,
              s.StockCountDetail)  # one product's count (the page's line editor)


# --- stock ------------------------------------------------------------------------------

@idempotent_post("/stock-movements", "staff", s.StockMoveIn, s.StockMoveOut)
def stockmovement_create(data: dict):
    """Post a receipt, an issue or a transfer through the stock service, as the pages' stock
    forms: a tracked product names its `lot` (a receipt makes it, with its `expiry`); an
    untracked one names none (422 on `lot`)."""
    def run():
        common = {"company_id": current_user.company_id, "user": current_user,
                  "product_id": data["product_id"], "quantity": data["quantity"],
                  "note": data.get("note", ""), "lot": data.get("lot")}
        scoped_get_or_404(Product, data["product_id"])
        if data["kind"] == "transfer":
            if not data.get("to_warehouse_id"):
                raise ValidationError(field_errors={"to_warehouse_id": [
                    "A transfer needs the warehouse it goes to."]})
            moved = lot_service.with_lot(stock_service.transfer,
                                         from_warehouse_id=data["warehouse_id"],
                                         to_warehouse_id=data["to_warehouse_id"], **common)
        else:
            receipt = data["kind"] == "receipt"
            moved = (lot_service.with_lot(
                stock_service.receive if receipt else stock_service.issue,
                warehouse_id=data["warehouse_id"], expiry=data.get("expiry"), create=receipt,
                **common),)
        return 201, _movements([movement.id for movement in moved])
    return idempotent(run)


def _movements(ids: list[int]) -> dict:
    """The answer of a stock write: its movements, as the movement list shows them."""
    movements = db.session.scalars(
        select(StockMovement).where(StockMovement.company_id == current_user.company_id,
                                    StockMovement.id.in_(ids))
        .options(*MOVEMENTS.options).order_by(StockMovement.id)).all()
    return s.StockMoveOut().dump({"movements": movements})


# --- the pages' remaining actions (#21): production --------------------------------------
# Work orders are documents of their own workflow (start, finish, reopen: staff); the
# production order page adds them and names their status; a product's bill of materials
# is edited by the page's line editor (erp/blueprints/production/views.py BOM_LINES).

_work_order_body = document_resource(
    "/work-orders", "WorkOrder", WorkOrder, WORK_ORDERS, s.WorkOrder, s.WorkOrderDetail,
    lambda: [joinedload(WorkOrder.production_order).joinedload(ProductionOrder.product),
             joinedload(WorkOrder.employee)],
    production_service,
    header=(type("WorkOrderChangeIn", (s.WorkOrderIn,), {})(partial=True),
            production_service.update_work_order))


def _my_work_orders() -> Select:
    """The work orders of the token's user's employee (none without one), as the page."""
    employee = production_service.employee_of_user(current_user.company_id, current_user.id)
    return company_select(WorkOrder).where(
        WorkOrder.employee_id == (employee.id if employee else -1))


read_resource("/work-orders/mine", "MyWorkOrder", MY_WORK_ORDERS, s.WorkOrder,
              base=_my_work_orders)


@bp.route("/production-shortages", methods=["GET"])
@require_role("viewer")
@bp.arguments(s.ShortagesQuery, location="query")
@bp.response(200, s.ShortagePage)
def production_shortages(args: dict):
    """The shortages page: components short for planned production, per component and
    component warehouse (required by planned orders minus available), largest first; 50
    rows a page, as the page."""
    page, per_page = args.get("page", 1), SHORTAGES_PER_PAGE
    rows = production_service.component_shortages(current_user.company_id,
                                                  limit=per_page + 1,
                                                  offset=(page - 1) * per_page)
    following = (f"{request.base_url}?{urlencode({'page': page + 1})}"
                 if len(rows) > per_page else None)
    return _json(s.ShortagePage().dump({
        "items": rows[:per_page], "page": page, "per_page": per_page,
        "has_next": following is not None, "total": None, "next": following,
        "previous": f"{request.base_url}?{urlencode({'page': page - 1})}" if page > 1
        else None}), 200)


SHORTAGES_PER_PAGE = 50  # erp/blueprints/production/views.py shortages


@idempotent_post("/production-orders/<int:record_id>/work-orders", "staff", s.WorkOrderIn,
                 s.WorkOrderDetail, ProductionOrder)
def productionorder_work_order(data: dict, record_id: int):
    """Add a step (work order) to a production order that is not done or cancelled (409
    then)."""
    def run():
        work_order = production_service.create_work_order(
            company_id=current_user.company_id, user=current_user, order_id=record_id, **data)
        return 201, _work_order_body(work_order.id)
    return idempotent(run)


@bp.route("/work-orders/<int:record_id>/status", methods=["POST"])
@guarded("staff", WorkOrder)
@bp.arguments(s.WorkOrderStatusIn)
@bp.response(200, s.WorkOrderDetail)
def workorder_status(data: dict, record_id: int):
    """Move a work order to open, in progress or done, as the page's status menu: the step
    of its workflow that leads there (the status it has already changes nothing)."""
    production_service.set_work_order_status(company_id=current_user.company_id,
                                             work_order_id=record_id, user=current_user,
                                             status=data["status"])
    return _json(_work_order_body(record_id), 200)


@bp.route("/work-orders/<int:record_id>/form", methods=["POST"])
@guarded("manager", WorkOrder)
@bp.arguments(s.WorkOrderFormIn)
@bp.response(200, s.WorkOrderDetail)
def workorder_form(data: dict, record_id: int):
    """Name the custom form a work order asks for before it is finished (null: none), a
    manager's, as on the work order's page."""
    form_service.set_work_order_form(company_id=current_user.company_id, user=current_user,
                                     work_order_id=record_id, form_id=data["form_id"])
    return _json(_work_order_body(record_id), 200)


@bp.route("/production-orders/<int:record_id>/override", methods=["POST"])
@guarded(ProductionOrder.workflow.actions["override"].role, ProductionOrder)
@bp.arguments(s.OverrideIn)
@bp.response(200, s.ProductionOrderDetail)
def productionorder_override(data: dict, record_id: int):
    """Let a production order with a failed inspection be completed, saying why (a
    manager's, as on the page; 409 when it has no failed inspection to override)."""
    production_service.override_quality(company_id=current_user.company_id, order_id=record_id,
                                        user=current_user, reason=data["reason"])
    return _json(_production_order_body(record_id), 200)


read_resource("/boms", "Bom", BOMS, s.BomRow)


def _bom_body(product_id: int) -> dict:
    db.session.expire_all()
    product = scoped_get_or_404(Product, product_id)
    lines = db.session.scalars(
        company_select(BomLine).where(BomLine.product_id == product.id)
        .options(joinedload(BomLine.component)).order_by(BomLine.id)).all()
    return s.Bom().dump({"product_id": product.id, "sku": product.sku, "name": product.name,
                         "lines": lines})


@bp.route("/boms/<int:record_id>", methods=["GET"])
@require_role("viewer")
@bp.response(200, s.Bom)
def bom_detail(record_id: int):
    """A product's bill of materials (a product without one: no lines)."""
    return _json(_bom_body(record_id), 200)


line_resource("/boms", production_pages.BOM_LINES, s.BomLineIn, _bom_body, s.Bom, name="bom")


# --- the pages' remaining actions (#21): stock --------------------------------------------

@idempotent_post("/stock-adjustments", "staff", s.AdjustIn, s.StockMoveOut)
def stock_adjust(data: dict):
    """A quick count, as the stock count page: what is counted becomes on hand (of the
    lot, for a tracked product), the difference is the movement (none when it matches);
    a count below what orders reserve is refused (409), nothing written."""
    def run():
        scoped_get_or_404(Product, data["product_id"])
        movement = lot_service.with_lot(
            stock_service.adjust, company_id=current_user.company_id, user=current_user,
            product_id=data["product_id"], lot=data.get("lot"),
            warehouse_id=data["warehouse_id"], counted=data["counted"],
            note=data.get("note", ""))
        return 201, _movements([movement.id] if movement is not None else [])
    return idempotent(run)


@bp.route("/products/<int:record_id>/revalue", methods=["POST"])
@guarded("manager", Product)
@bp.arguments(s.RevalueIn)
@bp.response(200, s.Product)
def product_revalue(data: dict, record_id: int):
    """Set the cost of a stocked product, saying why: a recorded revaluation (a manager's,
    as on the page); the same cost again is a 422."""
    product = catalog_service.revalue_product(
        company_id=current_user.company_id, product_id=record_id, user=current_user,
        cost_price=data["cost_price"], reason=data["reason"])
    return _json(s.Product().dump(product), 200)


@bp.route("/reorder-suggestions", methods=["GET"])
@require_role("viewer")
@bp.response(200, s.ReorderSuggestions)
def reorder_suggestions():
    """The reorder page's rows: active stocked products whose available stock is below
    their minimum, with what open purchase orders bring and the suggested quantity, by
    preferred supplier (at most `limit` rows, one query)."""
    rows = purchasing_service.reorder_rows(current_user.company_id)
    return _json(s.ReorderSuggestions().dump({
        "items": [row for _supplier, group in purchasing_service.group_by_supplier(rows)
                  for row in group], "limit": purchasing_service.REORDER_LIMIT}), 200)


@idempotent_post("/reorder-suggestions/purchase-orders", "staff", s.ReorderIn, s.ReorderOut)
def reorder_create(data: dict):
    """Order suggested products, as the reorder page: one draft purchase order per
    preferred supplier, each line at the given quantity or the suggestion; a product that
    is not low, has no (active) preferred supplier or nothing to order is a 422 on its
    line, nothing created."""
    def run():
        lines = [{"line_id": line["product_id"], **line} for line in data["lines"]]
        with lines_named(lines):
            created = purchasing_service.create_reorder_drafts(
                company_id=current_user.company_id, user=current_user,
                product_ids=[line["product_id"] for line in lines],
                warehouse_id=data["warehouse_id"],
                quantities={line["product_id"]: line.get("quantity") for line in lines})
        db.session.expire_all()
        orders = db.session.scalars(
            company_select(PurchaseOrder).where(PurchaseOrder.id.in_([o.id for o in created]))
            .options(joinedload(PurchaseOrder.supplier)).order_by(PurchaseOrder.id)).all()
        return 201, s.ReorderOut().dump({"purchase_orders": orders})
    return idempotent(run)
