"""Inventory: warehouses, stock levels, the movement ledger, and the stock forms.

Stock changes only through `erp.services.stock`; these views parse the forms, call one
stock use case, and show its refusals (InsufficientStock, validation) next to the fields.
"""
from __future__ import annotations

from flask import Blueprint, flash, request, url_for
from flask_login import current_user

from erp.auth import require_role
from erp.csv_io import export_limited
from erp.blueprints.inventory.forms import (StockCountForm, StockReceiveForm, StockTransferForm,
                                           WarehouseForm)
from erp.crud import Resource
from erp.forms import choices
from erp.lists import ARCHIVE_CHOICES
from erp.models import MOVEMENT_KINDS, Warehouse
from erp.parsing import parse_id
from erp.queries import inventory as queries
from erp.queries import lots as lot_queries
from erp.queries import valuation as valuation_queries
from erp.models.catalog import TRACKING
from erp.queries.catalog import category_choices
from erp.services import DomainError, ValidationError
from erp.services import inventory as inventory_service
from erp.services import lots, stock
from erp.services.catalog import find_product
from erp.web import apply_field_errors, form_status, redirect_after_post, render
from erp.i18n import _, _l

bp = Blueprint("inventory", __name__, url_prefix="/inventory")


# Warehouses

warehouses = Resource(
    name="warehouse", plural="warehouses", model=Warehouse, label=_l("Warehouse"),
    form=WarehouseForm, fields=("code", "name", "address"), templates="inventory/warehouse",
    nav="inventory/_nav.html", list_spec=queries.WAREHOUSES,
    list_context=lambda page, params: {"statuses": ARCHIVE_CHOICES},
    create=inventory_service.create_warehouse, update=inventory_service.update_warehouse,
    set_active=inventory_service.set_warehouse_active,
    delete=inventory_service.delete_warehouse,
    title=lambda warehouse: warehouse.code, detail_context=queries.warehouse_page,
).register(bp)


# Stock levels

@bp.route("/stock")
@require_role("viewer")
@export_limited
def stock_list():
    return queries.STOCK.response(
        "inventory/stock.html", low=queries.stock_low(),
        warehouses=queries.warehouse_choices(), categories=category_choices(),
        reorder_url=url_for("purchasing.reorder"),
        shortages_url=url_for("production.shortages"))


@bp.route("/available")
@require_role("viewer")
def stock_available():
    """The availability of the product typed in a document's add-line form, in the
    document's warehouse (`warehouse`), against the quantity typed (`quantity`)."""
    return render("inventory/_available.html", **queries.availability_hint(
        parse_id(request.args.get("warehouse", "")), request.args.get("product", ""),
        request.args.get("quantity", "")))


# Stock valuation

@bp.route("/valuation")
@require_role("viewer")
@export_limited
def valuation():
    """The value of the stock as of a day (`date`, today by default), grouped by product
    and warehouse, category or warehouse (`group`), filtered by warehouse and category."""
    return valuation_queries.SPECS[valuation_queries.group()].response(
        "inventory/valuation.html", context=valuation_queries.page_context,
        warehouses=queries.warehouse_choices(), categories=category_choices(),
        average=valuation_queries.average)


# The ledger

@bp.route("/movements")
@require_role("viewer")
@export_limited
def movement_list():
    return queries.MOVEMENTS.response(
        "inventory/movements.html",
        context=lambda page, params: {
            "product": queries.movement_product(params.filters["product"])
            if params.filters["product"] else None,
            "problems": queries.movement_problems(params)},
        warehouses=queries.warehouse_choices(), kinds=list(MOVEMENT_KINDS.items()))


# Lots and serial numbers

@bp.route("/lots")
@require_role("viewer")
def lot_list():
    return lot_queries.LOTS.response(
        "inventory/lots.html", trackings=[(k, v) for k, v in TRACKING.items() if k != "none"])


@bp.route("/lots/<int:lot_id>")
@require_role("viewer")
def lot_detail(lot_id: int):
    """Where the lot came from and where it went (erp/queries/lots.py)."""
    return render("inventory/lot_detail.html", **lot_queries.lot_page(lot_id))


# Stock forms (staff)

def _stock_form(form, *fields: str):
    warehouses = [(int(value), label) for value, label in
                  queries.warehouse_choices(active_only=True)]
    for name in fields:
        getattr(form, name).choices = choices(warehouses)
    if request.method == "GET":
        if not form.product.data and request.args.get("product"):
            form.product.data = request.args["product"][:300]
        warehouse = parse_id(request.args.get("warehouse", ""))
        if warehouse is not None and fields:
            getattr(form, fields[0]).data = warehouse
    return form, warehouses


def _resolve_product(form):
    product = find_product(current_user.company_id, form.product.data)
    if product is None:
        form.product.errors = list(form.product.errors) + [
            "No such product: type its SKU or pick it from the list."]
    return product


def _show_stock_error(form, error: DomainError, quantity_field: str) -> None:
    """A refusal from the stock service, next to the field it concerns."""
    if isinstance(error, stock.InsufficientStock):
        getattr(form, quantity_field).errors = list(getattr(form, quantity_field).errors) + [str(error)]
        return
    if isinstance(error, ValidationError):
        if "product_id" in error.field_errors:
            error.field_errors["product"] = error.field_errors.pop("product_id")
        apply_field_errors(form, error)
        return
    form.form_errors.append(str(error))


@bp.route("/count", methods=["GET", "POST"])
@require_role("staff")
def stock_count():
    """A stock count: the counted quantity becomes on-hand; the difference is the movement."""
    form, warehouses = _stock_form(StockCountForm(), "warehouse_id")
    if form.validate_on_submit() and (product := _resolve_product(form)) is not None:
        try:
            movement = lots.with_lot(stock.adjust, company_id=current_user.company_id,
                                     product_id=product.id, lot=form.lot.data,
                                     warehouse_id=form.warehouse_id.data,
                                     counted=form.counted.data, user=current_user,
                                     note=form.note.data or "")
        except DomainError as error:
            _show_stock_error(form, error, "counted")
        else:
            if movement is None:
                flash(_('%(sku)s: the count matches the stock; nothing changed.', sku=product.sku), "info")
            else:
                sign = "+" if movement.quantity > 0 else ""
                flash(_('%(sku)s counted: %(sign)s%(value)s adjusted.', sku=product.sku, sign=sign, value=format(movement.quantity.normalize(), 'f')), "success")
            return redirect_after_post("inventory.stock_count",
                                       warehouse=form.warehouse_id.data)
    return render("inventory/stock_count.html", form=form, warehouses=warehouses,
                  status=form_status(form))


@bp.route("/transfer", methods=["GET", "POST"])
@require_role("staff")
def stock_transfer():
    """Move stock between warehouses: two ledger lines, one transaction."""
    form, warehouses = _stock_form(StockTransferForm(), "from_warehouse_id", "to_warehouse_id")
    if form.validate_on_submit() and (product := _resolve_product(form)) is not None:
        try:
            lots.with_lot(stock.transfer, company_id=current_user.company_id,
                          product_id=product.id, lot=form.lot.data, from_warehouse_id=form.from_warehouse_id.data,
                           to_warehouse_id=form.to_warehouse_id.data,
                           quantity=form.quantity.data, user=current_user,
                           note=form.note.data or "")
        except DomainError as error:
            _show_stock_error(form, error, "quantity")
        else:
            flash(_('Transferred %(value)s %(unit)s of %(sku)s.', value=format(form.quantity.data.normalize(), 'f'), unit=product.unit, sku=product.sku), "success")
            return redirect_after_post("catalog.product_detail", product_id=product.id)
    return render("inventory/stock_transfer.html", form=form, warehouses=warehouses,
                  status=form_status(form))


@bp.route("/receive", methods=["GET", "POST"])
@require_role("staff")
def stock_receive():
    """A manual receipt or issue (stock in or out without a document)."""
    form, warehouses = _stock_form(StockReceiveForm(), "warehouse_id")
    if request.method == "GET" and request.args.get("direction") == "issue":
        form.direction.data = "issue"
    if form.validate_on_submit() and (product := _resolve_product(form)) is not None:
        use_case = stock.issue if form.direction.data == "issue" else stock.receive
        try:
            lots.with_lot(use_case, company_id=current_user.company_id, product_id=product.id,
                          lot=form.lot.data, expiry=form.expiry.data,
                          create=use_case is stock.receive,
                          warehouse_id=form.warehouse_id.data, quantity=form.quantity.data,
                          user=current_user, note=form.note.data or "")
        except DomainError as error:
            _show_stock_error(form, error, "quantity")
        else:
            moved = dict(value=format(form.quantity.data.normalize(), 'f'), unit=product.unit, sku=product.sku)
            flash(_('Issued %(value)s %(unit)s of %(sku)s.', **moved) if form.direction.data == "issue"
                  else _('Received %(value)s %(unit)s of %(sku)s.', **moved),
                  "success")
            return redirect_after_post("catalog.product_detail", product_id=product.id)
    return render("inventory/stock_receive.html", form=form, warehouses=warehouses,
                  status=form_status(form))


# Count sheets and transfers: their pages register on `bp` (kept in their own module)
from erp.blueprints.inventory import stock_documents  # noqa: E402,F401
