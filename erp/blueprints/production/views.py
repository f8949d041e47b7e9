"""Production pages: employees, bills of materials, production orders, work orders, shortages.

Views parse input, call one service and choose the response; htmx requests get a block
of the same template (or a row partial) and plain requests a redirect after POST.
"""
from __future__ import annotations

from functools import partial

from flask import Blueprint, abort, flash, render_template, request
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from erp.auth import require_role
from erp.crud import Resource
from erp.parsing import parse_id
from erp.blueprints.production.forms import (BomLineForm, BomQuantityForm, EmployeeForm,
                                             OverrideForm, ProductionOrderForm, WorkOrderForm,
                                             WorkOrderStatusForm)
from erp.documents import header_form, register_actions
from erp.csv_io import export_limited
from erp.extensions import db
from erp.models.core import company_today
from erp.lines import LineEditor, Pick
from erp.models import Product, StockLevel, User, Warehouse
from erp.models.production import (ORDER_STATUSES, WORK_ORDER_STATUSES, BomLine, Employee,
                                   ProductionOrder, WorkOrder)
from erp.models.quality import QualityInspection
from erp.queries import production as queries
from erp.queries import Page, company_select, scoped_get, scoped_get_or_404
from erp.services import DomainError, ValidationError
from erp.services import forms as form_service
from erp.services import lots as lot_service
from erp.services import pickers
from erp.services import production as service
from erp.services.catalog import find_product
from erp.web import (ListParams, apply_field_errors, form_status, int_arg, is_htmx, picker_response,
                     redirect_after_post, render)
from erp.i18n import _, _l

bp = Blueprint("production", __name__, url_prefix="/production")


# ---------------------------------------------------------------- helpers

def _id_arg(name: str) -> int | None:
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return None
    return value if 0 < value < 2**31 else None


def _company_id() -> int:
    return current_user.company_id


def _resolve_employee(form_field) -> tuple[int | None, bool]:
    """(employee id, ok) for the text of an employee picker; empty text means none."""
    if not (form_field.data or "").strip():
        return None, True
    employee = pickers.resolve(Employee, _company_id(), form_field.data, Employee.name)
    if employee is None:
        form_field.errors = list(form_field.errors) + ["Choose an employee from the list."]
        return None, False
    return employee.id, True


def _warehouses() -> list[Warehouse]:
    return list(db.session.scalars(company_select(Warehouse).where(Warehouse.active.is_(True))
                                   .order_by(Warehouse.code, Warehouse.id).limit(200)))


def _int_or_none(text: str | None) -> int | None:
    try:
        value = int(text or "")
    except (TypeError, ValueError):
        return None
    return value if 0 < value < 2**31 else None


# ---------------------------------------------------------------- employees

def _company_users() -> list[User]:
    return list(db.session.scalars(company_select(User).order_by(User.email, User.id).limit(500)))


def _employee_form(form: EmployeeForm, employee: Employee | None) -> None:
    form.set_users(_company_users())
    if employee is not None and request.method == "GET":
        form.user_id.data = str(employee.user_id) if employee.user_id else ""


def _employee_values(form: EmployeeForm) -> dict:
    return {"name": form.name.data, "user_id": parse_id(form.user_id.data),
            "department": form.department.data, "position": form.position.data,
            "email": form.email.data, "active": form.active.data}


employees = Resource(
    name="employee", plural="employees", model=Employee, label=_l("Employee"), form=EmployeeForm,
    fields=(), templates="production/employee", nav="production/_nav.html",
    list_spec=queries.EMPLOYEES,
    list_context=lambda page, params: {"statuses": queries.EMPLOYEE_STATUSES},
    create=service.create_employee, update=service.update_employee,
    set_active=service.set_employee_active, delete=service.delete_employee,
    in_use=service.employee_in_use, title=lambda employee: employee.name,
    prepare_form=_employee_form, values=_employee_values,
    detail_options=[joinedload(Employee.user)], detail_context=queries.employee_page,
).register(bp)


@bp.route("/employees/options")
@require_role("viewer")
def employee_options():
    """Active employees by name."""
    return picker_response(Employee, Employee.name, hint=lambda employee: " · ".join(
        filter(None, (employee.department, employee.position))))


# ---------------------------------------------------------------- bills of materials

@bp.route("/boms")
@require_role("viewer")
@export_limited
def bom_list():
    return queries.BOMS.response("production/boms.html", context=queries.bom_list_context)


@bp.route("/boms/open")
@require_role("viewer")
def bom_open():
    """Go to the BOM of the product typed into the picker (a new BOM starts empty)."""
    product = find_product(_company_id(), request.args.get("product", "")[:300])
    if product is None:
        flash(_("No such product: type its SKU or pick it from the list."), "danger")
        return redirect_after_post("production.bom_list")
    return redirect_after_post("production.bom_detail", product_id=product.id)


def _bom_context(product: Product) -> dict:
    lines = list(db.session.scalars(
        company_select(BomLine).where(BomLine.product_id == product.id)
        .options(joinedload(BomLine.component)).order_by(BomLine.id)))
    costs = service.rolled_up_costs(_company_id(), [product.id] + [l.component_id for l in lines])
    has_bom = set(db.session.scalars(
        select(BomLine.product_id).where(BomLine.company_id == _company_id(),
                                         BomLine.product_id.in_([l.component_id for l in lines]))
        .distinct())) if lines else set()
    used_in = list(db.session.scalars(
        company_select(BomLine).where(BomLine.component_id == product.id)
        .options(joinedload(BomLine.product)).order_by(BomLine.id).limit(50)))
    ids = [product.id] + [l.component_id for l in lines]
    on_hand = dict(db.session.execute(
        select(StockLevel.product_id, func.sum(StockLevel.on_hand))
        .where(StockLevel.company_id == _company_id(), StockLevel.product_id.in_(ids))
        .group_by(StockLevel.product_id)).all())
    return dict(lines=lines, costs=costs, has_bom=has_bom, used_in=used_in, on_hand=on_hand)


BOM_LINES = LineEditor(
    model=Product, line_model=BomLine, doc_name="product", doc_key="product_id",
    line_key="line_id", detail="production.bom_detail", template="production/bom_detail.html",
    endpoints=("production.bom_line_add", "production.bom_line_update",
               "production.bom_line_remove"),
    load=lambda product_id: scoped_get_or_404(Product, product_id), add_form=BomLineForm,
    edit_form=BomQuantityForm, add=service.add_bom_line, update=service.update_bom_line,
    remove=service.remove_bom_line,
    pick=Pick("component", "component_id",
              "No such product: type its SKU or pick it from the list."),
    section="bom-{id}-lines", row_prefix="bom-line-", context=_bom_context, nested=False,
    added=lambda line: f"{line.component.sku} x {line.quantity.normalize():f} per unit.",
    saved="Quantity changed.", save_label="Change")


@bp.route("/boms/<int:product_id>")
@require_role("viewer")
def bom_detail(product_id: int):
    product = scoped_get_or_404(Product, product_id)
    return render("production/bom_detail.html", **BOM_LINES.page_context(product))


@bp.route("/boms/<int:product_id>/lines", methods=["POST"])
@require_role("staff")
def bom_line_add(product_id: int):
    return BOM_LINES.add_line(product_id)


@bp.route("/boms/lines/<int:line_id>", methods=["POST"])
@require_role("staff")
def bom_line_update(line_id: int):
    return BOM_LINES.update_line(None, line_id)


@bp.route("/boms/lines/<int:line_id>/remove", methods=["GET", "POST"])
@require_role("staff")
def bom_line_remove(line_id: int):
    return BOM_LINES.remove_view(None, line_id)  # GET: the question first (no JavaScript)


# ---------------------------------------------------------------- production orders

@bp.route("/orders")
@require_role("viewer")
@export_limited
def order_list():
    return queries.ORDERS.response("production/orders.html", statuses=ORDER_STATUSES)


def _order_form_values(form: ProductionOrderForm) -> dict | None:
    product = find_product(_company_id(), form.product.data)
    if product is None:
        if not form.product.data:
            return None  # "Choose a product." is said already
        form.product.errors = list(form.product.errors) + [
            "No such product: type its SKU or pick it from the list."]
        return None
    return dict(product_id=product.id, quantity=str(form.quantity.data),
                component_warehouse_id=_int_or_none(form.component_warehouse_id.data),
                output_warehouse_id=_int_or_none(form.output_warehouse_id.data),
                planned_start=form.planned_start.data, planned_end=form.planned_end.data,
                notes=form.notes.data or "")


@bp.route("/orders/new", methods=["GET", "POST"])
@require_role("staff")
def order_create():
    form = ProductionOrderForm()
    form.set_warehouses(_warehouses())
    if request.method == "GET":
        form.planned_start.data = company_today(current_user.company)
        product = scoped_get(Product, _id_arg("product"))
        if product is not None:
            form.product.data = product.sku
    return header_form(
        "production/order_form.html", form, _order_form_values,
        partial(service.create_order, company_id=_company_id(), user=current_user),
        detail="production.order_detail",
        saved=lambda order: f"Production order {order.number} planned.")


@bp.route("/orders/<int:order_id>/edit", methods=["GET", "POST"])
@require_role("staff")
def order_edit(order_id: int):
    order = scoped_get_or_404(ProductionOrder, order_id, joinedload(ProductionOrder.product))
    form = ProductionOrderForm(obj=None if request.method == "POST" else order)
    form.set_warehouses(_warehouses())
    if request.method == "GET":
        form.product.data = order.product.sku
        form.component_warehouse_id.data = str(order.component_warehouse_id)
        form.output_warehouse_id.data = str(order.output_warehouse_id)
    return header_form(
        "production/order_form.html", form, _order_form_values,
        partial(service.update_order, company_id=_company_id(), order_id=order.id,
                user=current_user),
        detail="production.order_detail",
        saved=lambda _: f"Production order {order.number} saved.", document=order,
        refused=None if order.is_planned else f"{order.number} is "
        f"{order.status_label.lower()}: only a planned order can be changed.")


def _consume_lots(order: ProductionOrder) -> list[tuple]:
    """The tracked components completing the order consumes, with the first-expiring lots
    of the component warehouse suggested (for a manager, while the order is in progress)."""
    tracked = [line for line in order.components if line.component.tracked]
    if not tracked or not order.can("complete", current_user):
        return []
    texts = lot_service.suggest(order.company_id, order.component_warehouse_id,
                                [(line.id, line.component, line.quantity) for line in tracked])
    return [(line.id, line.component, line.quantity, texts.get(line.id, "")) for line in tracked]


def _order_context(order_id: int, **extra) -> dict:
    order = service.load_order(_company_id(), order_id)
    if order is None:
        abort(404)
    inspections = list(db.session.scalars(
        company_select(QualityInspection).where(QualityInspection.production_order_id == order.id)
        .options(joinedload(QualityInspection.superseded_by))
        .order_by(QualityInspection.inspected_on.desc(), QualityInspection.id.desc()).limit(50)))
    context = dict(order=order, availability=service.availability(order),
                   inspections=inspections,
                   blocked=any(i.result == "fail" and i.superseded_by is None
                               for i in inspections)
                   and service.has_open_failure(_company_id(), order),
                   work_order_form=WorkOrderForm(formdata=None),
                   override_form=OverrideForm(formdata=None), statuses=WORK_ORDER_STATUSES,
                   show_availability=False, consume_lots=_consume_lots(order))
    context.update(extra)
    return context


@bp.route("/orders/<int:order_id>")
@require_role("viewer")
def order_detail(order_id: int):
    return render("production/order_detail.html", **_order_context(order_id))


@bp.route("/orders/<int:order_id>/availability")
@require_role("viewer")
def order_availability(order_id: int):
    """The component check: a block of the detail page for htmx, the whole page otherwise."""
    return render("production/order_detail.html", block="availability",
                  **_order_context(order_id, show_availability=True))


register_actions(bp, ProductionOrder, service, detail="production.order_detail",
                 names=("start", "complete", "cancel"))


@bp.route("/orders/<int:order_id>/override", methods=["POST"])
@require_role("manager")
def order_override(order_id: int):
    order = scoped_get_or_404(ProductionOrder, order_id)
    form = OverrideForm()
    if form.validate_on_submit():
        try:
            service.override_quality(company_id=_company_id(), order_id=order.id,
                                     user=current_user,
                                     reason=form.reason.data)
        except ValidationError as error:
            apply_field_errors(form, error)
        except DomainError as error:
            flash(str(error), "danger")
            return redirect_after_post("production.order_detail", order_id=order.id)
        else:
            flash(_('Failed inspection of %(number)s overridden.', number=order.number), "success")
            return redirect_after_post("production.order_detail", order_id=order.id)
    return render("production/order_detail.html", status=422,
                  **_order_context(order.id, override_form=form))


@bp.route("/orders/options")
@require_role("viewer")
def order_options():
    """Production orders by number, newest first."""
    return picker_response(ProductionOrder, ProductionOrder.number, active_only=False,
                           order_by=[ProductionOrder.id.desc()],
                           options=[joinedload(ProductionOrder.product)],
                           hint=lambda order: f"{order.product.sku} · {order.status_label}")


# ---------------------------------------------------------------- work orders

@bp.route("/work-orders")
@require_role("viewer")
@export_limited
def workorder_list():
    return queries.WORK_ORDERS.response(
        "production/work_orders.html", statuses=WORK_ORDER_STATUSES, mine=False,
        employees=queries.work_order_employees(), employee=None)


@bp.route("/work-orders/mine")
@require_role("viewer")
@export_limited
def my_workorders():
    employee = service.employee_of_user(_company_id(), current_user.id)
    return queries.MY_WORK_ORDERS.response(
        "production/work_orders.html", statuses=WORK_ORDER_STATUSES, mine=True, employees=[],
        employee=employee, base=company_select(WorkOrder).where(
            WorkOrder.employee_id == (employee.id if employee else -1)))


def _work_order_values(form: WorkOrderForm, employee_id: int | None) -> dict:
    return dict(name=form.name.data, employee_id=employee_id,
                planned_hours=form.planned_hours.data, actual_hours=form.actual_hours.data,
                sequence=form.sequence.data)


@bp.route("/orders/<int:order_id>/work-orders", methods=["POST"])
@require_role("staff")
def workorder_create(order_id: int):
    order = scoped_get_or_404(ProductionOrder, order_id)
    form = WorkOrderForm()
    status = 422
    valid = form.validate_on_submit()
    employee_id, ok = _resolve_employee(form.employee)  # all errors at once
    if valid:
        if ok:
            try:
                service.create_work_order(
                    company_id=_company_id(), order_id=order.id, user=current_user,
                    **_work_order_values(form, employee_id))
            except ValidationError as error:
                apply_field_errors(form, error)
            except DomainError as error:
                form.form_errors.append(str(error))
            else:
                if not is_htmx():
                    flash(_('Work order %(data)s added.', data=form.name.data), "success")
                    return redirect_after_post("production.order_detail", order_id=order.id)
                form, status = WorkOrderForm(formdata=None), 200
    return render("production/order_detail.html", block="work_orders", status=status,
                  **_order_context(order.id, work_order_form=form))


@bp.route("/work-orders/<int:work_order_id>")
@require_role("viewer")
def workorder_detail(work_order_id: int):
    work_order = scoped_get_or_404(
        WorkOrder, work_order_id,
        joinedload(WorkOrder.production_order).joinedload(ProductionOrder.product),
        joinedload(WorkOrder.employee))
    return render("production/workorder_detail.html", work_order=work_order,
                  asked_form=form_service.work_order_form(_company_id(), work_order.id),
                  submissions=form_service.work_order_submissions(_company_id(), work_order.id),
                  form_choices=form_service.form_choices(_company_id())
                  if current_user.has_role("manager") else [])


@bp.route("/work-orders/<int:work_order_id>/form", methods=["POST"])
@require_role("manager")
def workorder_form(work_order_id: int):
    """Name (or clear) the custom form the work order asks for before it is finished."""
    work_order = scoped_get_or_404(WorkOrder, work_order_id)
    form_id = parse_id(request.form.get("form_id"))
    if request.form.get("form_id") and form_id is None:
        flash(_("Choose an active form."), "danger")
    else:
        try:
            form_service.set_work_order_form(company_id=_company_id(), user=current_user,
                                             work_order_id=work_order.id, form_id=form_id)
        except ValidationError as error:
            flash(" ".join(str(m) for ms in error.field_errors.values() for m in ms)
                  or str(error), "danger")
        else:
            flash(_("Work order %(name)s: form saved.", name=work_order.name) if form_id
                  else _("Work order %(name)s: no form asked for.", name=work_order.name), "success")
    return redirect_after_post("production.workorder_detail", work_order_id=work_order.id)


register_actions(bp, WorkOrder, service, detail="production.workorder_detail",
                 url="/work-orders/<int:work_order_id>")


@bp.route("/work-orders/<int:work_order_id>/edit", methods=["GET", "POST"])
@require_role("staff")
def workorder_edit(work_order_id: int):
    work_order = scoped_get_or_404(WorkOrder, work_order_id, joinedload(WorkOrder.employee),
                                   joinedload(WorkOrder.production_order))
    form = WorkOrderForm(obj=None if request.method == "POST" else work_order)
    if request.method == "GET":
        form.employee.data = work_order.employee.picker_label if work_order.employee else ""
    valid = form.validate_on_submit()
    employee_id, ok = _resolve_employee(form.employee) if request.method == "POST" else (None, 1)
    if valid:
        if ok:
            try:
                service.update_work_order(
                    company_id=_company_id(), work_order_id=work_order.id, user=current_user,
                    **_work_order_values(form, employee_id))
            except ValidationError as error:
                apply_field_errors(form, error)
            else:
                flash(_('Work order %(name)s saved.', name=work_order.name), "success")
                return redirect_after_post("production.order_detail",
                                           order_id=work_order.production_order_id)
    return render("production/workorder_form.html", form=form, work_order=work_order,
                  status=form_status(form))


@bp.route("/work-orders/<int:work_order_id>/status", methods=["POST"])
@require_role("staff")
def workorder_status(work_order_id: int):
    work_order = scoped_get_or_404(WorkOrder, work_order_id)
    form = WorkOrderStatusForm()
    message, category = None, "success"
    if form.validate_on_submit():
        try:
            service.set_work_order_status(company_id=_company_id(), work_order_id=work_order.id,
                                          user=current_user,
                                          status=form.status.data)
            message = f"{work_order.name}: {WORK_ORDER_STATUSES[form.status.data].lower()}."
        except DomainError as error:
            message, category = str(error), "danger"
    else:
        message, category = "Choose a valid status.", "danger"
    if is_htmx():  # the row, changed in place, with the message out of band
        db.session.expire_all()
        row = db.session.scalar(company_select(WorkOrder).where(WorkOrder.id == work_order.id)
                                .options(joinedload(WorkOrder.production_order)
                                         .joinedload(ProductionOrder.product),
                                         joinedload(WorkOrder.employee)))
        return render_template("production/_workorder_row.html", wo=row,
                               statuses=WORK_ORDER_STATUSES, message=message,
                               category=category)
    flash(message, category)
    return redirect_after_post("production.order_detail", order_id=work_order.production_order_id)


# ---------------------------------------------------------------- shortages

@bp.route("/shortages")
@require_role("viewer")
def shortages():
    """Components short for planned production, per component and warehouse."""
    page_number = int_arg("page", 1, maximum=10_000)
    per_page = 50
    rows = service.component_shortages(_company_id(), limit=per_page + 1,
                                       offset=(page_number - 1) * per_page)
    params = ListParams(page=page_number, per_page=per_page, sort="shortage",
                        endpoint="production.shortages")
    page = Page(items=rows[:per_page], page=page_number, per_page=per_page,
                has_next=len(rows) > per_page)
    return render("production/shortages.html", block="results", page=page, params=params)

