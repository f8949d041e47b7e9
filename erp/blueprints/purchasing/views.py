"""Purchasing pages: purchase orders, their lines (edited in place with htmx), goods
receipts, the printable order, a supplier's purchase history and the reorder list."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func
from sqlalchemy.orm import aliased, joinedload, selectinload

from erp.auth import require_role
from erp.blueprints.purchasing.forms import (LineAddForm, LineEditForm, OrderForm, ReceiveForm,
                                             ReorderForm)
from erp.documents import register_actions
from erp.csv_io import export_csv, export_limited, wants_csv
from erp.extensions import db
from erp.forms import choices
from erp.models import Supplier, Warehouse
from erp.models.purchasing import (PO_STATUSES, GoodsReceipt, PurchaseOrder,
                                   PurchaseOrderItem, plain_number)
from erp.queries import company_select, paginate, scoped_get_or_404
from erp.services import DomainError, NotFound, ValidationError
from erp.services import catalog as catalog_service
from erp.services import purchasing as service
from erp.web import (ListParams, apply_field_errors, form_status, is_htmx, picker_query,
                     redirect_after_post, render)

bp = Blueprint("purchasing", __name__, url_prefix="/purchasing")

ORDER_SORTS = {"date": PurchaseOrder.order_date, "number": PurchaseOrder.number,
               "total": PurchaseOrder.total}
STATUS_CHOICES = list(PO_STATUSES.items())


def _user():
    return current_user._get_current_object()


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _warehouse_choices() -> list[tuple[str, str]]:
    warehouses = db.session.scalars(
        company_select(Warehouse).where(Warehouse.active.is_(True))
        .order_by(Warehouse.code, Warehouse.id).limit(200))
    return [(str(w.id), str(w)) for w in warehouses]


def _supplier_label(supplier: Supplier) -> str:
    return f"{supplier.name} [#{supplier.id}]"


def _resolve_supplier(text: str | None) -> int | None:
    """The supplier a picker value names: "Name [#id]", or a unique exact name (no JS)."""
    supplier_id = catalog_service.picked_id(text)
    if supplier_id is not None:
        return supplier_id
    name = (text or "").strip().lower()
    if not name:
        return None
    found = list(db.session.scalars(company_select(Supplier)
                                    .where(func.lower(Supplier.name) == name).limit(2)))
    return found[0].id if len(found) == 1 else None


def _order_options():
    return (joinedload(PurchaseOrder.supplier), joinedload(PurchaseOrder.warehouse),
            joinedload(PurchaseOrder.created_by),
            selectinload(PurchaseOrder.items).joinedload(PurchaseOrderItem.product),
            selectinload(PurchaseOrder.receipts).options(
                joinedload(GoodsReceipt.user), joinedload(GoodsReceipt.warehouse),
                selectinload(GoodsReceipt.lines)))


def _load_order(order_id: int) -> PurchaseOrder:
    return scoped_get_or_404(PurchaseOrder, order_id, *_order_options())


def _orders_stmt(params: ListParams, *, supplier_id: int | None = None):
    stmt = company_select(PurchaseOrder).options(joinedload(PurchaseOrder.supplier))
    filters = params.filters
    if filters.get("status") in PO_STATUSES:
        stmt = stmt.where(PurchaseOrder.status == filters["status"])
    if supplier_id is not None:
        stmt = stmt.where(PurchaseOrder.supplier_id == supplier_id)
    elif filters.get("supplier"):
        picked = catalog_service.picked_id(filters["supplier"])
        if picked is not None:
            stmt = stmt.where(PurchaseOrder.supplier_id == picked)
        else:
            like = f"%{filters['supplier'].lower()}%"
            stmt = stmt.join(Supplier, Supplier.id == PurchaseOrder.supplier_id).where(
                func.lower(Supplier.name).like(like))
    date_from = _parse_date(filters.get("date_from", ""))
    date_to = _parse_date(filters.get("date_to", ""))
    if date_from:
        stmt = stmt.where(PurchaseOrder.order_date >= date_from)
    if date_to:
        stmt = stmt.where(PurchaseOrder.order_date <= date_to)
    if filters.get("number"):
        stmt = stmt.where(func.lower(PurchaseOrder.number).like(
            f"%{filters['number'].lower()}%"))
    column = ORDER_SORTS[params.sort_key]
    direction = column.desc() if params.descending else column.asc()
    id_direction = PurchaseOrder.id.desc() if params.descending else PurchaseOrder.id.asc()
    return stmt.order_by(direction, id_direction)


# Lists

@bp.route("/orders")
@require_role("viewer")
@export_limited
def order_list():
    params = ListParams.from_request(sort_keys=list(ORDER_SORTS), default_sort="-date",
                                     filters=["status", "supplier", "date_from", "date_to",
                                              "number"])
    if wants_csv():
        return _export_orders(_orders_stmt(params))
    page = paginate(_orders_stmt(params), page=params.page, per_page=params.per_page)
    return render("purchasing/orders.html", block="results", page=page, params=params,
                  statuses=STATUS_CHOICES)


def _export_orders(stmt):
    supplier = aliased(Supplier)  # the page may join Supplier itself (supplier name filter)
    warehouse = aliased(Warehouse)
    return export_csv("purchase-orders", stmt, [
        ("number", PurchaseOrder.number), ("order_date", PurchaseOrder.order_date),
        ("supplier", supplier.name), ("expected_date", PurchaseOrder.expected_date),
        ("status", PurchaseOrder.status), ("warehouse", warehouse.code),
        ("subtotal", PurchaseOrder.subtotal), ("tax", PurchaseOrder.tax_total),
        ("total", PurchaseOrder.total), ("id", PurchaseOrder.id),
        ("supplier_id", PurchaseOrder.supplier_id)],
        joins=[(supplier, supplier.id == PurchaseOrder.supplier_id),
               (warehouse, warehouse.id == PurchaseOrder.warehouse_id)])


@bp.route("/suppliers/<int:supplier_id>/orders")
@require_role("viewer")
def supplier_orders(supplier_id: int):
    """A supplier's purchase history: a full page, or only its block for htmx (the
    supplier page loads it with hx-get)."""
    supplier = scoped_get_or_404(Supplier, supplier_id)
    params = ListParams.from_request(sort_keys=list(ORDER_SORTS), default_sort="-date",
                                     filters=["status"], per_page_default=10)
    page = paginate(_orders_stmt(params, supplier_id=supplier.id), page=params.page,
                    per_page=params.per_page)
    return render("purchasing/supplier_orders.html", block="supplier_orders", page=page,
                  params=params, supplier=supplier)


@bp.route("/suppliers/options")
@require_role("viewer")
def supplier_options():
    """Picker suggestions: <option value="Name [#id]"> for active suppliers."""
    q = picker_query().strip()
    stmt = company_select(Supplier).where(Supplier.active.is_(True))
    if q and catalog_service.picked_id(q) is None:
        stmt = stmt.where(func.lower(Supplier.name).like(f"%{q.lower()}%"))
    suppliers = db.session.scalars(stmt.order_by(Supplier.name, Supplier.id).limit(20))
    return render_template("purchasing/_supplier_options.html", suppliers=list(suppliers))


# Create and edit the header

@bp.route("/orders/new", methods=["GET", "POST"])
@require_role("staff")
def order_create():
    form = OrderForm()
    form.warehouse_id.choices = choices(_warehouse_choices())
    if request.method == "GET":
        form.order_date.data = date.today()
        supplier_id = request.args.get("supplier_id", "")
        if supplier_id.isascii() and supplier_id.isdigit() and len(supplier_id) < 12:
            supplier = db.session.scalar(company_select(Supplier).where(
                Supplier.id == int(supplier_id)))
            if supplier is not None:
                form.supplier.data = _supplier_label(supplier)
    if form.validate_on_submit():
        try:
            order = service.create_order(
                company_id=current_user.company_id, user=_user(),
                supplier_id=_resolve_supplier(form.supplier.data),
                warehouse_id=int(form.warehouse_id.data), order_date=form.order_date.data,
                expected_date=form.expected_date.data, notes=form.notes.data or "")
        except ValidationError as error:
            apply_field_errors(form, error)
        else:
            flash(f"Purchase order {order.number} created. Add its lines.", "success")
            return redirect_after_post("purchasing.order_detail", order_id=order.id)
    status = form_status(form)
    return render("purchasing/order_form.html", form=form, order=None, status=status)


@bp.route("/orders/<int:order_id>/edit", methods=["GET", "POST"])
@require_role("staff")
def order_edit(order_id: int):
    order = scoped_get_or_404(PurchaseOrder, order_id, joinedload(PurchaseOrder.supplier))
    if not order.is_draft:
        flash(f"{order.number} is {order.status_label.lower()}; only a draft can be changed.",
              "warning")
        return redirect_after_post("purchasing.order_detail", order_id=order.id)
    form = OrderForm()
    form.warehouse_id.choices = choices(_warehouse_choices())
    if request.method == "GET":
        form.supplier.data = _supplier_label(order.supplier)
        form.warehouse_id.data = str(order.warehouse_id)
        form.order_date.data = order.order_date
        form.expected_date.data = order.expected_date
        form.notes.data = order.notes
    if form.validate_on_submit():
        try:
            service.update_order(
                company_id=current_user.company_id, user=_user(), order_id=order.id,
                supplier_id=_resolve_supplier(form.supplier.data),
                warehouse_id=int(form.warehouse_id.data), order_date=form.order_date.data,
                expected_date=form.expected_date.data, notes=form.notes.data or "")
        except ValidationError as error:
            apply_field_errors(form, error)
        except DomainError as error:
            flash(str(error), "danger")
            return redirect_after_post("purchasing.order_detail", order_id=order_id)
        else:
            flash(f"{order.number} saved.", "success")
            return redirect_after_post("purchasing.order_detail", order_id=order_id)
    status = form_status(form)
    return render("purchasing/order_form.html", form=form, order=order, status=status)


# Detail and lines

@bp.route("/orders/<int:order_id>")
@require_role("viewer")
def order_detail(order_id: int):
    order = _load_order(order_id)
    return render("purchasing/order_detail.html", block="lines", order=order,
                  add_form=LineAddForm(formdata=None), line_errors={}, line_values={})


def _lines_response(order_id: int, *, message: str | None, category: str = "success",
                    add_form=None, line_errors=None, line_values=None, status: int = 200):
    """After a line change: the lines block for htmx (message out of band); without
    JavaScript a redirect on success, or the whole page with the errors (422)."""
    if not is_htmx() and status < 400:
        if message:
            flash(message, category)
        return redirect_after_post("purchasing.order_detail", order_id=order_id)
    db.session.rollback()  # end the write transaction; read the order as committed
    order = _load_order(order_id)
    context = dict(order=order, add_form=add_form or LineAddForm(formdata=None),
                   line_errors=line_errors or {}, line_values=line_values or {})
    if is_htmx():
        body = render_template("purchasing/_lines.html", message=message, category=category,
                               **context)
        return body, status
    if message:
        flash(message, category)
    return render("purchasing/order_detail.html", status=status, **context)


@bp.route("/orders/<int:order_id>/lines", methods=["POST"])
@require_role("staff")
def line_add(order_id: int):
    order = scoped_get_or_404(PurchaseOrder, order_id)
    form = LineAddForm()
    product = None
    if form.validate_on_submit():
        product = catalog_service.find_product(current_user.company_id, form.product.data)
        if product is None:
            form.product.errors = ["No product with this SKU; pick one from the list."]
    if product is not None:
        try:
            service.add_line(
                company_id=current_user.company_id, user=_user(), order_id=order.id,
                product_id=product.id, quantity=form.quantity.data,
                unit_cost=form.unit_cost.data, tax_rate=form.tax_rate.data)
        except ValidationError as error:
            apply_field_errors(form, error)
        except DomainError as error:
            return _lines_response(order_id, message=str(error), category="danger",
                                   status=409)
        else:
            return _lines_response(order_id, message=f"Added {product.sku}.")
    return _lines_response(order_id, message="Please correct the line.", category="danger",
                           add_form=form, status=422)


@bp.route("/orders/<int:order_id>/lines/<int:item_id>", methods=["POST"])
@require_role("staff")
def line_update(order_id: int, item_id: int):
    order = scoped_get_or_404(PurchaseOrder, order_id)
    form = LineEditForm()
    if form.validate_on_submit():
        try:
            service.update_line(company_id=current_user.company_id, user=_user(),
                                order_id=order.id, item_id=item_id,
                                quantity=form.quantity.data, unit_cost=form.unit_cost.data,
                                tax_rate=form.tax_rate.data)
        except NotFound:
            abort(404)
        except ValidationError as error:
            apply_field_errors(form, error)
        except DomainError as error:
            return _lines_response(order_id, message=str(error), category="danger",
                                   status=409)
        else:
            return _lines_response(order_id, message="Line saved.")
    errors = {name: list(messages) for name, messages in form.errors.items()}
    return _lines_response(order_id, message="Please correct the line.", category="danger",
                           line_errors={item_id: errors},
                           line_values={item_id: {k: request.form.get(k, "")[:40] for k in
                                                  ("quantity", "unit_cost", "tax_rate")}},
                           status=422)


@bp.route("/orders/<int:order_id>/lines/<int:item_id>/delete", methods=["POST"])
@require_role("staff")
def line_delete(order_id: int, item_id: int):
    order = scoped_get_or_404(PurchaseOrder, order_id)
    try:
        service.remove_line(company_id=current_user.company_id, user=_user(),
                            order_id=order.id, item_id=item_id)
    except NotFound:
        abort(404)
    except DomainError as error:
        return _lines_response(order_id, message=str(error), category="danger", status=409)
    return _lines_response(order_id, message="Line removed.")


# Status changes

register_actions(bp, PurchaseOrder, service, detail="purchasing.order_detail",
                 names=("place", "cancel"))


def _receive_post(order: PurchaseOrder, form: ReceiveForm, values: dict[str, str]):
    """Receive the submitted quantities: a redirect when done (or refused as a whole),
    else the errors per line (also put on the form)."""
    submitted = {key: request.form.get(key, "")[:40] for key in request.form
                 if key.startswith("qty-")}
    values.update(submitted)
    if not form.validate_on_submit():
        return None, {}
    try:
        receipt = service.receive(
            company_id=current_user.company_id, user=_user(), order_id=order.id,
            quantities={key[4:]: value for key, value in submitted.items()},
            warehouse_id=int(form.warehouse_id.data),
            token=form.receipt_token.data, reference=form.reference.data or "")
    except service.ReceiptReplayed as error:
        flash(str(error), "warning")
    except ValidationError as error:
        line_errors = {k: v for k, v in error.field_errors.items() if k.startswith("qty-")}
        apply_field_errors(form, ValidationError(
            str(error), {k: v for k, v in error.field_errors.items()
                         if not k.startswith("qty-")}))
        if line_errors and not form.form_errors:
            form.form_errors.append("Some quantities cannot be received.")
        return None, line_errors
    except DomainError as error:
        flash(str(error), "danger")
    else:
        flash(f"{receipt.number}: received {len(receipt.lines)} line(s) into "
              f"{receipt.warehouse.code}.", "success")
    return redirect_after_post("purchasing.order_detail", order_id=order.id), {}


@bp.route("/orders/<int:order_id>/receive", methods=["GET", "POST"])
@require_role("staff")
def order_receive(order_id: int):
    """GET: each line's open quantity with an input (default: all of it) and a warehouse;
    POST: receive them, once per form (the hidden one-time token)."""
    order = _load_order(order_id)
    if not order.can("receive"):
        flash(f"{order.number} is {order.status_label.lower()}; there is nothing to receive.",
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


@bp.route("/orders/<int:order_id>/print")
@require_role("viewer")
def order_print(order_id: int):
    order = _load_order(order_id)
    return render("purchasing/print.html", order=order)


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
        if form.validate_on_submit():
            try:
                created = service.create_reorder_drafts(
                    company_id=current_user.company_id, user=_user(),
                    product_ids=sorted(selected), warehouse_id=int(form.warehouse_id.data),
                    quantities={pid: submitted.get(pid) for pid in selected})
            except ValidationError as error:
                errors = error.field_errors
                if not errors:
                    form.form_errors.append(str(error))
            else:
                flash(f"Created {len(created)} draft purchase order(s).", "success")
                return redirect_after_post(
                    url_for("purchasing.reorder",
                            created=",".join(str(o.id) for o in created)))
    created_ids = [int(v) for v in request.args.get("created", "").split(",")[:50]
                   if v.isascii() and v.isdigit() and len(v) < 12]
    created_orders = []
    if created_ids:
        created_orders = list(db.session.scalars(
            company_select(PurchaseOrder).where(PurchaseOrder.id.in_(created_ids))
            .options(joinedload(PurchaseOrder.supplier)).order_by(PurchaseOrder.id)))
    rows = service.reorder_rows(current_user.company_id)
    status = 422 if (errors or form.errors) else 200
    return render("purchasing/reorder.html", form=form,
                  groups=service.group_by_supplier(rows), row_count=len(rows),
                  limit=service.REORDER_LIMIT, errors=errors, selected=selected,
                  submitted=submitted, created_orders=created_orders, status=status)
