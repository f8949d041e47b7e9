"""Purchasing pages: purchase orders, their lines (edited in place with htmx), goods
receipts, the printable order, a supplier's purchase history and the reorder list."""
from __future__ import annotations

from functools import partial

from flask import Blueprint, abort, flash, request, url_for
from flask_login import current_user

from sqlalchemy.orm import joinedload, selectinload

from erp.auth import require_role
from erp.blueprints.catalog import views as catalog_views
from erp.blueprints.returns_pages import ReturnPages, register_return_pages
from erp.blueprints.purchasing.forms import (LineAddForm, LineEditForm, OrderForm, ReceiveForm,
                                             ReorderForm)
from erp.documents import header_form, register_actions
from erp.csv_io import export_limited
from erp.extensions import db
from erp.models.core import company_today
from erp.models.sales import Seller
from erp.pdf import register_printout
from erp.forms import choices
from erp.formatting import plural
from erp.lines import LineEditor, Pick, register_line_routes
from erp.models import Supplier, Warehouse
from erp.models.returns import PurchaseReturn
from erp.models.purchasing import (PO_STATUSES, GoodsReceipt, PurchaseOrder,
                                   PurchaseOrderItem, plain_number)
from erp.parsing import parse_id
from erp.queries import company_select, scoped_get, scoped_get_or_404
from erp.queries import purchasing as queries
from erp.queries import bills as bill_queries
from erp.queries import returns as return_queries
from erp.services import DomainError, ValidationError
from erp.services import catalog as catalog_service
from erp.services import purchasing as service
from erp.services import returns as return_service
from erp.web import by_line, line_inputs, redirect_after_post, render, split_line_errors
from erp.i18n import _

bp = Blueprint("purchasing", __name__, url_prefix="/purchasing")

STATUS_CHOICES = list(PO_STATUSES.items())


def _user():
    return current_user._get_current_object()


def _warehouse_choices() -> list[tuple[str, str]]:
    warehouses = db.session.scalars(
        company_select(Warehouse).where(Warehouse.active.is_(True))
        .order_by(Warehouse.code, Warehouse.id).limit(200))
    return [(str(w.id), str(w)) for w in warehouses]


def _supplier_label(supplier: Supplier) -> str:
    return supplier.picker_label


def _resolve_supplier(text: str | None) -> int | None:
    """The supplier a picker value names: "Name [#id]", or a unique exact name (no JS)."""
    supplier = catalog_service.find_supplier(current_user.company_id, text)
    return supplier.id if supplier is not None else None


def _order_options():
    return (joinedload(PurchaseOrder.supplier), joinedload(PurchaseOrder.warehouse),
            joinedload(PurchaseOrder.created_by),
            selectinload(PurchaseOrder.items).joinedload(PurchaseOrderItem.product),
            selectinload(PurchaseOrder.receipts).options(
                joinedload(GoodsReceipt.user), joinedload(GoodsReceipt.warehouse),
                selectinload(GoodsReceipt.lines)))


def _load_order(order_id: int) -> PurchaseOrder:
    return scoped_get_or_404(PurchaseOrder, order_id, *_order_options())


# Lists

@bp.route("/orders")
@require_role("viewer")
@export_limited
def order_list():
    return queries.ORDERS.response("purchasing/orders.html", statuses=STATUS_CHOICES)


@bp.route("/suppliers/<int:supplier_id>/orders")
@require_role("viewer")
def supplier_orders(supplier_id: int):
    """A supplier's purchase history: a full page, or only its block for htmx."""
    supplier = scoped_get_or_404(Supplier, supplier_id)
    return queries.SUPPLIER_ORDERS.response(
        "purchasing/supplier_orders.html", supplier=supplier, results_id="supplier-orders",
        base=company_select(PurchaseOrder).where(PurchaseOrder.supplier_id == supplier.id))


# the supplier picker of the order form: the catalog's (both URLs answer)
bp.add_url_rule("/suppliers/options", view_func=catalog_views.supplier_options)


# Create and edit the header

def _header_values(form: OrderForm) -> dict:
    return dict(supplier_id=_resolve_supplier(form.supplier.data),
                warehouse_id=parse_id(form.warehouse_id.data), order_date=form.order_date.data,
                expected_date=form.expected_date.data, notes=form.notes.data or "")


@bp.route("/orders/new", methods=["GET", "POST"])
@require_role("staff")
def order_create():
    form = OrderForm()
    form.warehouse_id.choices = choices(_warehouse_choices())
    if request.method == "GET":
        form.order_date.data = company_today(current_user.company)
        supplier = scoped_get(Supplier, parse_id(request.args.get("supplier_id")))
        if supplier is not None:
            form.supplier.data = _supplier_label(supplier)
    return header_form(
        "purchasing/order_form.html", form, _header_values,
        partial(service.create_order, company_id=current_user.company_id, user=_user()),
        detail="purchasing.order_detail",
        saved=lambda order: f"Purchase order {order.number} created. Add its lines.")


@bp.route("/orders/<int:order_id>/edit", methods=["GET", "POST"])
@require_role("staff")
def order_edit(order_id: int):
    order = scoped_get_or_404(PurchaseOrder, order_id, joinedload(PurchaseOrder.supplier))
    form = OrderForm()
    form.warehouse_id.choices = choices(_warehouse_choices())
    if request.method == "GET":
        form.supplier.data = _supplier_label(order.supplier)
        form.warehouse_id.data = str(order.warehouse_id)
        form.order_date.data = order.order_date
        form.expected_date.data = order.expected_date
        form.notes.data = order.notes
    return header_form(
        "purchasing/order_form.html", form, _header_values,
        partial(service.update_order, company_id=current_user.company_id, user=_user(),
                order_id=order.id),
        detail="purchasing.order_detail", saved=lambda _: f"{order.number} saved.",
        document=order, refused=None if order.is_draft else
        f"{order.number} is {order.status_label.lower()}; only a draft can be changed.")


# Detail and lines

LINES = LineEditor(
    model=PurchaseOrder, line_model=PurchaseOrderItem, doc_name="order", doc_key="order_id",
    line_key="item_id", detail="purchasing.order_detail",
    template="purchasing/order_detail.html",
    endpoints=("purchasing.line_add", "purchasing.line_update", "purchasing.line_delete"),
    load=_load_order, add_form=LineAddForm, edit_form=LineEditForm, add=service.add_line,
    update=service.update_line, remove=service.remove_line,
    pick=Pick("product", "product_id", "No product with this SKU; pick one from the list."),
    section="order-{id}-lines", role=PurchaseOrder.workflow.edit_role,
    added=lambda item: f"Added {item.product.sku}.", not_added="Please correct the line.",
    not_saved="Please correct the line.",
    context=lambda order: {"return_kind": return_queries.PURCHASE,
                           "bills": bill_queries.order_bills(order),
                           "purchase_returns": return_queries.returns_of(
                               PurchaseReturn, PurchaseReturn.order_id, order.id,
                               order.company_id) if order.receipts else None})


@bp.route("/orders/<int:order_id>")
@require_role("viewer")
def order_detail(order_id: int):
    order = _load_order(order_id)
    return render("purchasing/order_detail.html", block="lines", **LINES.page_context(order))


register_line_routes(bp, LINES, url="/orders/<int:order_id>/lines",
                     line_url="/orders/<int:order_id>/lines/<int:item_id>", remove="delete")


# Status changes

register_actions(bp, PurchaseOrder, service, detail="purchasing.order_detail",
                 names=("place", "cancel", "close"))


def _receive_post(order: PurchaseOrder, form: ReceiveForm, values: dict[str, str]):
    """Receive the submitted quantities: a redirect when done (or refused as a whole),
    else the errors per line (also put on the form)."""
    submitted = line_inputs("qty-", "lot-", "expiry-")
    values.update(submitted)
    if not form.validate_on_submit():
        return None, {}
    try:
        receipt = service.receive(
            company_id=current_user.company_id, user=_user(), order_id=order.id,
            quantities=by_line(submitted, "qty-"), lots=by_line(submitted, "lot-"),
            expiries=by_line(submitted, "expiry-"), warehouse_id=int(form.warehouse_id.data),
            token=form.receipt_token.data, reference=form.reference.data or "")
    except service.ReceiptReplayed as error:
        flash(str(error), "warning")
    except ValidationError as error:
        return None, split_line_errors(
            form, error, {f"{prefix}{item.id}" for item in order.items if item.open_quantity > 0
                          for prefix in ("qty-", "lot-", "expiry-")})
    except DomainError as error:
        flash(str(error), "danger")
    else:
        flash(_('%(number)s: received %(value)s into %(code)s.', number=receipt.number, value=plural(len(receipt.lines), 'line'), code=receipt.warehouse.code), "success")
    return redirect_after_post("purchasing.order_detail", order_id=order.id), {}


@bp.route("/orders/<int:order_id>/receive", methods=["GET", "POST"])
@require_role("staff")
def order_receive(order_id: int):
    """GET: each line's open quantity with an input (default: all of it) and a warehouse;
    POST: receive them, once per form (the hidden one-time token)."""
    order = _load_order(order_id)
    if not order.can("receive"):
        flash(_('%(number)s is %(value)s; there is nothing to receive.', number=order.number, value=order.status_label.lower()),
              "warning")
        return redirect_after_post("purchasing.order_detail", order_id=order.id)
    form = ReceiveForm()
    form.warehouse_id.choices = choices(_warehouse_choices())
    values = {f"qty-{item.id}": plain_number(item.open_quantity) if item.open_quantity else ""
              for item in order.items}
    line_errors: dict[str, list[str]] = {}
    if request.method == "GET":
        form.warehouse_id.data = str(order.warehouse_id)
    else:
        done, line_errors = _receive_post(order, form, values)
        if done is not None:
            return done
    if not form.receipt_token.data:
        form.receipt_token.data = service.new_receipt_token()
    status = 422 if (form.errors or line_errors) else 200
    return render("purchasing/receive.html", form=form, order=order, values=values,
                  line_errors=line_errors, status=status)


register_printout(bp, "order", "/orders/<int:order_id>", "purchasing/print.html",
                  lambda order_id: {"order": _load_order(order_id),
                                    "seller": Seller.of(current_user.company)},
                  lambda document: document["order"].number)


# Reordering

@bp.route("/reorder", methods=["GET", "POST"])
@require_role("viewer")
def reorder():
    """Low-stock products by preferred supplier; POST makes one draft PO per supplier."""
    form = ReorderForm()
    form.warehouse_id.choices = choices(_warehouse_choices())
    errors: dict[str, list[str]] = {}
    selected: set[int] = set()
    submitted: dict[int, str] = {}
    if request.method == "POST":
        if not current_user.has_role("staff"):
            abort(403)
        selected = {int(v) for v in request.form.getlist("product")
                    if v.isascii() and v.isdigit() and len(v) < 12}
        submitted = {int(k[4:]): request.form[k][:40] for k in request.form
                     if k.startswith("qty-") and k[4:].isascii() and k[4:].isdigit() and len(k) < 16}
        done, errors = _reorder_post(form, selected, submitted)
        if done is not None:
            return done
    rows = service.reorder_rows(current_user.company_id)
    status = 422 if (errors or form.errors) else 200
    return render("purchasing/reorder.html", form=form,
                  groups=service.group_by_supplier(rows), row_count=len(rows),
                  limit=service.REORDER_LIMIT, errors=errors, selected=selected,
                  submitted=submitted, created_orders=_created_orders(), status=status)


def _reorder_post(form: ReorderForm, selected: set[int], submitted: dict[int, str]):
    """Make the drafts: the redirect to the list of them, else (None, errors per field)."""
    if not form.validate_on_submit():
        return None, {}
    try:
        created = service.create_reorder_drafts(
            company_id=current_user.company_id, user=_user(),
            product_ids=sorted(selected), warehouse_id=int(form.warehouse_id.data),
            quantities={pid: submitted.get(pid) for pid in selected})
    except ValidationError as error:
        if not error.field_errors:
            form.form_errors.append(str(error))
        return None, error.field_errors
    flash(_('Created %(value)s.', value=plural(len(created), 'draft purchase order')), "success")
    return redirect_after_post(
        url_for("purchasing.reorder", created=",".join(str(o.id) for o in created))), {}


def _created_orders() -> list[PurchaseOrder]:
    """The drafts the last POST made (`created`, their ids), to link to."""
    created_ids = [int(v) for v in request.args.get("created", "").split(",")[:50]
                   if v.isascii() and v.isdigit() and len(v) < 12]
    if not created_ids:
        return []
    return list(db.session.scalars(
        company_select(PurchaseOrder).where(PurchaseOrder.id.in_(created_ids))
        .options(joinedload(PurchaseOrder.supplier)).order_by(PurchaseOrder.id)))


# Goods receipts: the same shape as the sales delivery notes

@bp.route("/receipts")
@require_role("viewer")
@export_limited
def receipt_list():
    return queries.RECEIPTS.response("purchasing/receipts.html",
                                     warehouses=_warehouse_choices())


@bp.route("/receipts/<int:receipt_id>")
@require_role("viewer")
def receipt_detail(receipt_id: int):
    return render("purchasing/receipt_detail.html", receipt=queries.receipt_page(receipt_id))


# Purchase returns (erp/blueprints/returns_pages.py)

register_return_pages(bp, ReturnPages(
    kind=return_queries.PURCHASE, model=PurchaseReturn,
    list_spec=return_queries.PURCHASE_RETURNS, page=return_queries.purchase_return_page,
    document=return_queries.order_for_return, lines=lambda order: order.items,
    create=return_service.create_purchase_return, id_arg="order_id",
    url="/orders/<int:document_id>/return",
    default_warehouse=lambda order: order.warehouse_id,
    refused=return_service.PURCHASE.refused), prefix="")
