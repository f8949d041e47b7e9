"""Inventory: warehouses, stock levels, the movement ledger, and the stock forms.

Stock changes only through `erp.services.stock`; these views parse the forms, call one
stock use case, and show its refusals (InsufficientStock, validation) next to the fields.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from flask import Blueprint, flash, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager, joinedload, raiseload

from erp.auth import require_role
from erp.lists import ARCHIVE_CHOICES as STATUS_CHOICES, archive_filter
from erp.parsing import parse_id as _id_filter
from erp.queries.catalog import category_choices
from erp.blueprints.inventory.forms import (StockCountForm, StockReceiveForm, StockTransferForm,
                                           WarehouseForm)
from erp.csv_io import export_csv, export_limited, wants_csv
from erp.extensions import db
from erp.forms import choices
from erp.models import (MOVEMENT_KINDS, Category, Product, StockLevel, StockMovement, User,
                        Warehouse)
from erp.queries.search import product_matches
from erp.queries import company_select, paginate, scoped_get_or_404
from erp.services import DomainError, ValidationError
from erp.services import inventory as inventory_service
from erp.services import stock
from erp.services.catalog import find_product
from erp.web import ListParams, form_status, apply_field_errors, redirect_after_post, render

bp = Blueprint("inventory", __name__, url_prefix="/inventory")


# Warehouses

WAREHOUSE_SORTS = {"code": Warehouse.code, "name": Warehouse.name,
                   "created": Warehouse.created_at}


@bp.route("/warehouses")
@require_role("viewer")
@export_limited
def warehouse_list():
    params = ListParams.from_request(sort_keys=list(WAREHOUSE_SORTS), default_sort="code",
                                     filters=["status"])
    stmt = company_select(Warehouse).options(raiseload("*"))
    if params.q:
        like = f"%{params.q.lower()}%"
        stmt = stmt.where(or_(func.lower(Warehouse.code).like(like),
                              func.lower(Warehouse.name).like(like),
                              func.lower(Warehouse.address).like(like)))
    stmt = archive_filter(Warehouse).apply(stmt, params.filters["status"])
    column = WAREHOUSE_SORTS[params.sort_key]
    stmt = stmt.order_by(column.desc() if params.descending else column.asc(), Warehouse.id)
    if wants_csv():
        return export_csv("warehouses", stmt, [
            ("id", Warehouse.id), ("code", Warehouse.code), ("name", Warehouse.name),
            ("address", Warehouse.address), ("active", Warehouse.active)])
    page = paginate(stmt, page=params.page, per_page=params.per_page)
    return render("inventory/warehouses.html", block="results", page=page, params=params,
                  statuses=STATUS_CHOICES)


def _save_warehouse(form: WarehouseForm, warehouse_id: int | None):
    if not form.validate_on_submit():
        return None
    values = {"code": form.code.data, "name": form.name.data, "address": form.address.data}
    try:
        if warehouse_id is None:
            return inventory_service.create_warehouse(company_id=current_user.company_id,
                                                      user=current_user, **values)
        return inventory_service.update_warehouse(company_id=current_user.company_id,
                                                  warehouse_id=warehouse_id, user=current_user,
                                                  **values)
    except ValidationError as error:
        apply_field_errors(form, error)
    return None


@bp.route("/warehouses/new", methods=["GET", "POST"])
@require_role("staff")
def warehouse_create():
    form = WarehouseForm()
    warehouse = _save_warehouse(form, None)
    if warehouse is not None:
        flash(f"Warehouse {warehouse.code} created.", "success")
        return redirect_after_post("inventory.warehouse_detail", warehouse_id=warehouse.id)
    return render("inventory/warehouse_form.html", form=form, warehouse=None,
                  status=form_status(form))


@bp.route("/warehouses/<int:warehouse_id>")
@require_role("viewer")
def warehouse_detail(warehouse_id: int):
    warehouse = scoped_get_or_404(Warehouse, warehouse_id)
    company_id = current_user.company_id
    summary = db.session.execute(
        select(func.count(StockLevel.id), func.coalesce(func.sum(StockLevel.on_hand), 0),
               func.coalesce(func.sum(StockLevel.reserved), 0))
        .where(StockLevel.company_id == company_id, StockLevel.warehouse_id == warehouse.id,
               StockLevel.on_hand != 0)).one()
    movements = list(db.session.scalars(
        select(StockMovement)
        .where(StockMovement.company_id == company_id, StockMovement.warehouse_id == warehouse.id)
        .options(joinedload(StockMovement.product), joinedload(StockMovement.user),
                 raiseload("*"))
        .order_by(StockMovement.created_at.desc(), StockMovement.id.desc()).limit(10)))
    return render("inventory/warehouse_detail.html", warehouse=warehouse, summary=summary,
                  movements=movements)


@bp.route("/warehouses/<int:warehouse_id>/edit", methods=["GET", "POST"])
@require_role("staff")
def warehouse_edit(warehouse_id: int):
    warehouse = scoped_get_or_404(Warehouse, warehouse_id)
    form = WarehouseForm(obj=warehouse) if request.method == "GET" else WarehouseForm()
    saved = _save_warehouse(form, warehouse.id)
    if saved is not None:
        flash(f"Warehouse {saved.code} saved.", "success")
        return redirect_after_post("inventory.warehouse_detail", warehouse_id=saved.id)
    return render("inventory/warehouse_form.html", form=form, warehouse=warehouse,
                  status=form_status(form))


@bp.route("/warehouses/<int:warehouse_id>/active", methods=["POST"])
@require_role("manager")
def warehouse_deactivate(warehouse_id: int):
    """Archive (active=0) or reactivate (active=1) a warehouse."""
    warehouse = scoped_get_or_404(Warehouse, warehouse_id)
    active = request.form.get("active") == "1"
    inventory_service.set_warehouse_active(company_id=current_user.company_id,
                                           warehouse_id=warehouse.id, active=active,
                                           user=current_user)
    flash(f"{warehouse.code} {'reactivated' if active else 'archived'}.", "success")
    return redirect_after_post("inventory.warehouse_detail", warehouse_id=warehouse.id)


@bp.route("/warehouses/<int:warehouse_id>/delete", methods=["GET", "POST"])
@require_role("manager")
def warehouse_delete(warehouse_id: int):
    warehouse = scoped_get_or_404(Warehouse, warehouse_id)
    if request.method == "POST":
        try:
            inventory_service.delete_warehouse(company_id=current_user.company_id,
                                               warehouse_id=warehouse.id, user=current_user)
        except DomainError as error:
            flash(str(error), "danger")
            return redirect_after_post("inventory.warehouse_detail", warehouse_id=warehouse_id)
        flash(f"Warehouse {warehouse.code} deleted.", "success")
        return redirect_after_post("inventory.warehouse_list")
    return render("inventory/warehouse_delete.html", warehouse=warehouse)


# Stock levels

STOCK_SORTS = {"sku": Product.sku, "name": Product.name, "warehouse": Warehouse.code,
               "on_hand": StockLevel.on_hand, "reserved": StockLevel.reserved,
               "available": StockLevel.on_hand - StockLevel.reserved}


def _warehouse_choices(company_id: int, *, active_only: bool = False) -> list[tuple[str, str]]:
    stmt = (select(Warehouse.id, Warehouse.code, Warehouse.name)
            .where(Warehouse.company_id == company_id).order_by(Warehouse.code).limit(200))
    if active_only:
        stmt = stmt.where(Warehouse.active.is_(True))
    return [(str(wid), f"{code} · {name}") for wid, code, name in db.session.execute(stmt)]


@bp.route("/stock")
@require_role("viewer")
@export_limited
def stock_list():
    params = ListParams.from_request(sort_keys=list(STOCK_SORTS), default_sort="sku",
                                     filters=["warehouse", "category", "low", "zero"])
    company_id = current_user.company_id
    # From the products in SKU order into their levels by the unique (company, product,
    # warehouse) index: the default order needs no sort of all levels, and the ids of a deep
    # page need no other table. Warehouse and category are loaded with the page's rows.
    stmt = (select(StockLevel).select_from(Product)
            .join(StockLevel, (StockLevel.product_id == Product.id)
                  & (StockLevel.company_id == Product.company_id))
            .where(Product.company_id == company_id)
            .options(contains_eager(StockLevel.product).joinedload(Product.category),
                     joinedload(StockLevel.warehouse), raiseload("*")))
    if params.q:
        stmt = stmt.where(product_matches(params.q))
    if (warehouse_id := _id_filter(params.filters["warehouse"])) is not None:
        stmt = stmt.where(StockLevel.warehouse_id == warehouse_id)
    if (category_id := _id_filter(params.filters["category"])) is not None:
        stmt = stmt.where(Product.category_id == category_id)
    low = params.filters["low"] == "1"
    if low:
        stmt = stmt.where(Product.min_stock > 0,
                          StockLevel.on_hand - StockLevel.reserved < Product.min_stock)
    elif params.filters["zero"] != "1":
        stmt = stmt.where((StockLevel.on_hand != 0) | (StockLevel.reserved != 0))
    if params.sort_key == "warehouse":
        stmt = stmt.join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
    # ties broken in the order the indexes give (a SKU is unique, a name is not)
    ties = {"sku": (StockLevel.warehouse_id,),
            "name": (Product.id, StockLevel.warehouse_id)}.get(params.sort_key, (StockLevel.id,))
    keys = (STOCK_SORTS[params.sort_key], *ties)
    stmt = stmt.order_by(*(key.desc() if params.descending else key.asc() for key in keys))
    if wants_csv():
        if params.sort_key != "warehouse":
            stmt = stmt.join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        return export_csv("stock", stmt.outerjoin(Product.category), [
            ("sku", Product.sku), ("product", Product.name), ("category", Category.name),
            ("warehouse", Warehouse.code), ("unit", Product.unit),
            ("on_hand", StockLevel.on_hand), ("reserved", StockLevel.reserved),
            ("available", StockLevel.on_hand - StockLevel.reserved),
            ("min_stock", Product.min_stock), ("product_id", Product.id),
            ("warehouse_id", Warehouse.id)])
    # a search shows no total, as the product list (counting a rare term reads everything)
    page = paginate(stmt, page=params.page, per_page=params.per_page, count=not params.q)
    return render("inventory/stock.html", block="results", page=page, params=params, low=low,
                  warehouses=_warehouse_choices(company_id),
                  categories=category_choices(),
                  reorder_url=url_for("purchasing.reorder"),
                  shortages_url=url_for("production.shortages"))


# The ledger

MOVEMENT_SORTS = {"created": StockMovement.created_at}


def _date_arg(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.route("/movements")
@require_role("viewer")
@export_limited
def movement_list():
    params = ListParams.from_request(sort_keys=list(MOVEMENT_SORTS), default_sort="-created",
                                     filters=["product", "warehouse", "kind", "date_from",
                                              "date_to"])
    company_id = current_user.company_id
    problems = []
    stmt = (select(StockMovement).where(StockMovement.company_id == company_id)
            .options(joinedload(StockMovement.product), joinedload(StockMovement.warehouse),
                     joinedload(StockMovement.user), raiseload("*")))
    product = None
    if params.filters["product"]:
        product = find_product(company_id, params.filters["product"])
        if product is None:
            problems.append(f"No product {params.filters['product']!r}: showing all products.")
        else:
            stmt = stmt.where(StockMovement.product_id == product.id)
    if (warehouse_id := _id_filter(params.filters["warehouse"])) is not None:
        stmt = stmt.where(StockMovement.warehouse_id == warehouse_id)
    if params.filters["kind"] in MOVEMENT_KINDS:
        stmt = stmt.where(StockMovement.kind == params.filters["kind"])
    for name, label in (("date_from", "From"), ("date_to", "To")):
        if params.filters[name] and _date_arg(params.filters[name]) is None:
            problems.append(f"{label} date {params.filters[name]!r} is not a date (YYYY-MM-DD): ignored.")
    if (start := _date_arg(params.filters["date_from"])) is not None:
        stmt = stmt.where(StockMovement.created_at >= datetime.combine(start, time.min, timezone.utc))
    if (end := _date_arg(params.filters["date_to"])) is not None:
        end_at = datetime.combine(end, time.min, timezone.utc) + timedelta(days=1)
        stmt = stmt.where(StockMovement.created_at < end_at)
    if params.descending:
        stmt = stmt.order_by(StockMovement.created_at.desc(), StockMovement.id.desc())
    else:
        stmt = stmt.order_by(StockMovement.created_at.asc(), StockMovement.id.asc())
    if wants_csv():
        return _export_movements(stmt)
    page = paginate(stmt, page=params.page, per_page=params.per_page)
    return render("inventory/movements.html", block="results", page=page, params=params,
                  product=product, problems=problems,
                  warehouses=_warehouse_choices(company_id), kinds=list(MOVEMENT_KINDS.items()))


def _export_movements(stmt):
    return export_csv("movements", stmt, [
        ("id", StockMovement.id), ("created_at", StockMovement.created_at),
        ("sku", Product.sku), ("product", Product.name), ("warehouse", Warehouse.code),
        ("kind", StockMovement.kind), ("quantity", StockMovement.quantity),
        ("reference", StockMovement.reference), ("note", StockMovement.note),
        ("user", User.email), ("source_type", StockMovement.source_type),
        ("source_id", StockMovement.source_id)],
        joins=[(Product, Product.id == StockMovement.product_id),
               (Warehouse, Warehouse.id == StockMovement.warehouse_id),
               (User, User.id == StockMovement.user_id)])


# Stock forms (staff)

def _stock_form(form, *fields: str):
    warehouses = [(int(value), label) for value, label in
                  _warehouse_choices(current_user.company_id, active_only=True)]
    for name in fields:
        getattr(form, name).choices = choices(warehouses)
    if request.method == "GET":
        if not form.product.data and request.args.get("product"):
            form.product.data = request.args["product"][:300]
        warehouse = _id_filter(request.args.get("warehouse", ""))
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
            movement = stock.adjust(company_id=current_user.company_id, product_id=product.id,
                                    warehouse_id=form.warehouse_id.data,
                                    counted=form.counted.data, user=current_user,
                                    note=form.note.data or "")
        except DomainError as error:
            _show_stock_error(form, error, "counted")
        else:
            if movement is None:
                flash(f"{product.sku}: the count matches the stock; nothing changed.", "info")
            else:
                sign = "+" if movement.quantity > 0 else ""
                flash(f"{product.sku} counted: {sign}{movement.quantity.normalize():f} "
                      f"adjusted.", "success")
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
            stock.transfer(company_id=current_user.company_id, product_id=product.id,
                           from_warehouse_id=form.from_warehouse_id.data,
                           to_warehouse_id=form.to_warehouse_id.data,
                           quantity=form.quantity.data, user=current_user,
                           note=form.note.data or "")
        except DomainError as error:
            _show_stock_error(form, error, "quantity")
        else:
            flash(f"Transferred {form.quantity.data.normalize():f} {product.unit} of "
                  f"{product.sku}.", "success")
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
            use_case(company_id=current_user.company_id, product_id=product.id,
                     warehouse_id=form.warehouse_id.data, quantity=form.quantity.data,
                     user=current_user, note=form.note.data or "")
        except DomainError as error:
            _show_stock_error(form, error, "quantity")
        else:
            verb = "Issued" if form.direction.data == "issue" else "Received"
            flash(f"{verb} {form.quantity.data.normalize():f} {product.unit} of {product.sku}.",
                  "success")
            return redirect_after_post("catalog.product_detail", product_id=product.id)
    return render("inventory/stock_receive.html", form=form, warehouses=warehouses,
                  status=form_status(form))
