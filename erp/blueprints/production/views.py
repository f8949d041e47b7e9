"""Production pages: employees, bills of materials, production orders, work orders, shortages.

Views parse input, call one service and choose the response; htmx requests get a block
of the same template (or a row partial) and plain requests a redirect after POST.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, render_template, request
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased, joinedload

from erp.auth import require_role
from erp.crud import Resource
from erp.parsing import parse_id
from erp.queries import production as production_queries
from erp.blueprints.production.forms import (BomLineForm, clean, BomQuantityForm, EmployeeForm,
                                             OverrideForm, ProductionOrderForm, WorkOrderForm,
                                             WorkOrderStatusForm)
from erp.csv_io import export_csv, export_limited, wants_csv
from erp.extensions import db
from erp.models import Product, StockLevel, User, Warehouse
from erp.models.production import (ORDER_STATUSES, WORK_ORDER_STATUSES, BomLine, Employee,
                                   ProductionOrder, WorkOrder)
from erp.models.quality import QualityInspection
from erp.queries.search import product_matches
from erp.queries import Page, company_select, paginate, scoped_get_or_404
from erp.services import DomainError, ValidationError
from erp.services import production as service
from erp.services.catalog import find_product, picked_id
from erp.web import (ListParams, apply_field_errors, form_status, int_arg, is_htmx, picker_query,
                     redirect_after_post, render)

bp = Blueprint("production", __name__, url_prefix="/production")


# ---------------------------------------------------------------- helpers

def parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        return None


def _id_arg(name: str) -> int | None:
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return None
    return value if 0 < value < 2**31 else None


def list_params(**kwargs) -> ListParams:
    """ListParams without NUL characters (PostgreSQL refuses them in strings)."""
    params = ListParams.from_request(**kwargs)
    params.q = params.q.replace("\x00", "")
    params.filters = {k: v.replace("\x00", "") for k, v in params.filters.items()}
    return params


def _text_arg(text: str) -> str:
    return text.replace("\x00", "")


def _company_id() -> int:
    return current_user.company_id


def _resolve_employee(form_field) -> tuple[int | None, bool]:
    """(employee id, ok) for the text of an employee picker; empty text means none."""
    text = (form_field.data or "").strip()
    if not text:
        return None, True
    employee_id = picked_id(text)
    stmt = select(Employee.id).where(Employee.company_id == _company_id())
    if employee_id is not None:
        found = db.session.scalar(stmt.where(Employee.id == employee_id))
    else:
        found = db.session.scalar(stmt.where(func.lower(Employee.name) == text.lower()).limit(1))
    if found is None:
        form_field.errors = list(form_field.errors) + ["Choose an employee from the list."]
        return None, False
    return found, True


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
    clean(form)
    form.set_users(_company_users())
    if employee is not None and request.method == "GET":
        form.user_id.data = str(employee.user_id) if employee.user_id else ""


def _employee_values(form: EmployeeForm) -> dict:
    return {"name": form.name.data, "user_id": parse_id(form.user_id.data),
            "department": form.department.data, "position": form.position.data,
            "email": form.email.data, "active": form.active.data}


employees = Resource(
    name="employee", plural="employees", model=Employee, label="Employee", form=EmployeeForm,
    fields=(), templates="production/employee", nav="production/_nav.html",
    list_spec=production_queries.EMPLOYEES,
    list_context=lambda page, params: {"statuses": production_queries.EMPLOYEE_STATUSES},
    create=lambda company_id, user, **values: service.create_employee(
        company_id, user=user, **values),
    update=lambda company_id, employee_id, user, **values: service.update_employee(
        company_id, employee_id, user=user, **values),
    set_active=service.set_employee_active, delete=service.delete_employee,
    in_use=service.employee_in_use, title=lambda employee: employee.name,
    prepare_form=_employee_form, values=_employee_values,
    detail_options=[joinedload(Employee.user)], detail_context=production_queries.employee_page,
).register(bp)


@bp.route("/employees/options")
@require_role("viewer")
def employee_options():
    """Picker suggestions: <option value="Name [#id]"> for an employee picker's datalist."""
    employees = service.search_employees(_company_id(), _text_arg(picker_query()))
    return render_template("production/_employee_options.html", employees=employees)


# ---------------------------------------------------------------- bills of materials

@bp.route("/boms")
@require_role("viewer")
@export_limited
def bom_list():
    params = list_params(sort_keys=["sku", "name"], default_sort="sku")
    counts = (select(BomLine.product_id, func.count(BomLine.id).label("lines"))
              .where(BomLine.company_id == _company_id())
              .group_by(BomLine.product_id).subquery())
    stmt = (select(Product, counts.c.lines).join(counts, counts.c.product_id == Product.id)
            .where(Product.company_id == _company_id()))
    if params.q:
        stmt = stmt.where(product_matches(params.q))
    column = Product.sku if params.sort_key == "sku" else Product.name
    stmt = stmt.order_by(column.desc() if params.descending else column.asc(), Product.id)
    if wants_csv():
        costs = service.rolled_up_costs(_company_id())  # two queries, every BOM at once
        return export_csv("boms", stmt, [
            ("sku", Product.sku), ("product", Product.name), ("kind", Product.kind),
            ("components", counts.c.lines),
            ("rolled_up_cost", Product.id),  # the id, replaced by its cost below
            ("cost_price", Product.cost_price), ("product_id", Product.id)],
            row=lambda r: [*r[:4], costs.get(r[4]), *r[5:]])
    rows = db.session.execute(stmt.limit(params.per_page + 1)
                              .offset((params.page - 1) * params.per_page)).all()
    page = Page(items=rows[:params.per_page], page=params.page, per_page=params.per_page,
                has_next=len(rows) > params.per_page)
    costs = service.rolled_up_costs(_company_id(), [p.id for p, _ in page.items])
    return render("production/boms.html", block="results", page=page, params=params,
                  costs=costs, open_error=None)


@bp.route("/boms/open")
@require_role("viewer")
def bom_open():
    """Go to the BOM of the product typed into the picker (a new BOM starts empty)."""
    product = find_product(_company_id(), _text_arg(request.args.get("product", "")[:300]))
    if product is None:
        flash("No such product: type its SKU or pick it from the list.", "danger")
        return redirect_after_post("production.bom_list")
    return redirect_after_post("production.bom_detail", product_id=product.id)


def _bom_context(product: Product, form: BomLineForm | None = None) -> dict:
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
    return dict(product=product, lines=lines, costs=costs, has_bom=has_bom, used_in=used_in,
                on_hand=on_hand,
                form=form or BomLineForm(formdata=None), can_edit=current_user.has_role("staff"))


@bp.route("/boms/<int:product_id>")
@require_role("viewer")
def bom_detail(product_id: int):
    product = scoped_get_or_404(Product, product_id)
    return render("production/bom_detail.html", **_bom_context(product))


def _bom_response(product: Product, form: BomLineForm | None = None, *, status: int = 200,
                  message: str | None = None, category: str = "success"):
    context = _bom_context(product, form)
    if is_htmx():
        return render("production/bom_detail.html", block="lines", status=status,
                      message=message, category=category, **context)
    if status != 200:
        return render("production/bom_detail.html", status=status, **context)
    if message:
        flash(message, category)
    return redirect_after_post("production.bom_detail", product_id=product.id)


@bp.route("/boms/<int:product_id>/lines", methods=["POST"])
@require_role("staff")
def bom_line_add(product_id: int):
    product = scoped_get_or_404(Product, product_id)
    form = clean(BomLineForm())
    if form.validate_on_submit():
        component = find_product(_company_id(), form.component.data)
        if component is None:
            form.component.errors = ["No such product: type its SKU or pick it from the list."]
        else:
            try:
                line = service.add_bom_line(_company_id(), user=current_user,
                                            product_id=product.id, component_id=component.id,
                                            quantity=str(form.quantity.data))
            except ValidationError as error:
                apply_field_errors(form, error)
            else:
                return _bom_response(product, message=f"{component.sku} x "
                                     f"{line.quantity.normalize():f} per unit.")
    return _bom_response(product, form, status=422)


@bp.route("/boms/lines/<int:line_id>", methods=["POST"])
@require_role("staff")
def bom_line_update(line_id: int):
    line = scoped_get_or_404(BomLine, line_id, joinedload(BomLine.product))
    product = line.product
    form = clean(BomQuantityForm())
    if form.validate_on_submit():
        try:
            service.update_bom_line(_company_id(), line.id, user=current_user,
                                    quantity=str(form.quantity.data))
            return _bom_response(product, message="Quantity changed.")
        except ValidationError as error:
            apply_field_errors(form, error)
    message = "; ".join(m for messages in form.errors.values() for m in messages)
    return _bom_response(product, message=f"Not changed: {message}", category="danger")


@bp.route("/boms/lines/<int:line_id>/remove", methods=["POST"])
@require_role("staff")
def bom_line_remove(line_id: int):
    line = scoped_get_or_404(BomLine, line_id, joinedload(BomLine.product))
    product = line.product
    service.remove_bom_line(_company_id(), line.id, user=current_user)
    return _bom_response(product, message="Line removed.")


# ---------------------------------------------------------------- production orders

ORDER_SORTS = {"number": ProductionOrder.number, "start": ProductionOrder.planned_start,
               "end": ProductionOrder.planned_end, "status": ProductionOrder.status,
               "quantity": ProductionOrder.quantity}


@bp.route("/orders")
@require_role("viewer")
@export_limited
def order_list():
    params = list_params(sort_keys=list(ORDER_SORTS), default_sort="-start",
                                     filters=["status", "product", "from", "to"])
    stmt = company_select(ProductionOrder).options(
        joinedload(ProductionOrder.product), joinedload(ProductionOrder.component_warehouse),
        joinedload(ProductionOrder.output_warehouse))
    if params.q:
        stmt = stmt.where(func.lower(ProductionOrder.number).like(f"%{params.q.lower()}%"))
    if params.filters["status"] in ORDER_STATUSES:
        stmt = stmt.where(ProductionOrder.status == params.filters["status"])
    product = None
    if params.filters["product"]:
        product = find_product(_company_id(), params.filters["product"])
        stmt = stmt.where(ProductionOrder.product_id == (product.id if product else -1))
    start, end = parse_date(params.filters["from"]), parse_date(params.filters["to"])
    if start:
        stmt = stmt.where(ProductionOrder.planned_start >= start)
    if end:
        stmt = stmt.where(ProductionOrder.planned_start <= end)
    column = ORDER_SORTS[params.sort_key]
    stmt = stmt.order_by(column.desc() if params.descending else column.asc(),
                         ProductionOrder.id.desc() if params.descending else ProductionOrder.id)
    if wants_csv():
        return _export_orders(stmt)
    page = paginate(stmt, page=params.page, per_page=params.per_page)
    return render("production/orders.html", block="results", page=page, params=params,
                  statuses=ORDER_STATUSES)


def _export_orders(stmt):
    product = aliased(Product)
    source, output = aliased(Warehouse), aliased(Warehouse)
    return export_csv("production-orders", stmt, [
        ("number", ProductionOrder.number), ("sku", product.sku), ("product", product.name),
        ("quantity", ProductionOrder.quantity), ("status", ProductionOrder.status),
        ("planned_start", ProductionOrder.planned_start),
        ("planned_end", ProductionOrder.planned_end), ("component_warehouse", source.code),
        ("output_warehouse", output.code), ("started_at", ProductionOrder.started_at),
        ("completed_at", ProductionOrder.completed_at), ("id", ProductionOrder.id)],
        joins=[(product, product.id == ProductionOrder.product_id),
               (source, source.id == ProductionOrder.component_warehouse_id),
               (output, output.id == ProductionOrder.output_warehouse_id)])


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
    form = clean(ProductionOrderForm())
    form.set_warehouses(_warehouses())
    if request.method == "GET":
        form.planned_start.data = date.today()
        product_id = _id_arg("product")
        if product_id:
            product = db.session.scalar(company_select(Product).where(Product.id == product_id))
            if product is not None:
                form.product.data = product.sku
    valid = form.validate_on_submit()
    values = _order_form_values(form) if request.method == "POST" else None
    if valid:
        if values is not None:
            try:
                order = service.create_order(_company_id(), user=current_user, **values)
            except ValidationError as error:
                apply_field_errors(form, error)
            else:
                flash(f"Production order {order.number} planned.", "success")
                return redirect_after_post("production.order_detail", order_id=order.id)
    return render("production/order_form.html", form=form, order=None,
                  status=form_status(form))


@bp.route("/orders/<int:order_id>/edit", methods=["GET", "POST"])
@require_role("staff")
def order_edit(order_id: int):
    order = scoped_get_or_404(ProductionOrder, order_id, joinedload(ProductionOrder.product))
    if order.status != "planned":
        flash(f"{order.number} is {order.status_label.lower()}: only a planned order can be "
              "changed.", "warning")
        return redirect_after_post("production.order_detail", order_id=order.id)
    form = clean(ProductionOrderForm(obj=None if request.method == "POST" else order))
    form.set_warehouses(_warehouses())
    if request.method == "GET":
        form.product.data = order.product.sku
        form.component_warehouse_id.data = str(order.component_warehouse_id)
        form.output_warehouse_id.data = str(order.output_warehouse_id)
    valid = form.validate_on_submit()
    values = _order_form_values(form) if request.method == "POST" else None
    if valid:
        if values is not None:
            try:
                service.update_order(_company_id(), order.id, user=current_user, **values)
            except ValidationError as error:
                apply_field_errors(form, error)
            except DomainError as error:
                flash(str(error), "danger")
                return redirect_after_post("production.order_detail", order_id=order.id)
            else:
                flash(f"Production order {order.number} saved.", "success")
                return redirect_after_post("production.order_detail", order_id=order.id)
    return render("production/order_form.html", form=form, order=order,
                  status=form_status(form))


def _order_context(order_id: int, **extra) -> dict:
    order = service.load_order(_company_id(), order_id)
    if order is None:
        abort(404)
    inspections = list(db.session.scalars(
        company_select(QualityInspection).where(QualityInspection.production_order_id == order.id)
        .order_by(QualityInspection.inspected_on.desc(), QualityInspection.id.desc()).limit(50)))
    context = dict(order=order, availability=service.availability(order),
                   inspections=inspections,
                   blocked=any(i.result == "fail" for i in inspections)
                   and service.has_open_failure(_company_id(), order),
                   work_order_form=WorkOrderForm(formdata=None),
                   override_form=OverrideForm(formdata=None), statuses=WORK_ORDER_STATUSES,
                   show_availability=False)
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


def _transition(order_id: int, action, done_message: str):
    order = scoped_get_or_404(ProductionOrder, order_id)
    try:
        action(_company_id(), order.id, user=current_user)
        flash(done_message.format(number=order.number), "success")
    except DomainError as error:
        flash(str(error), "danger")
    return redirect_after_post("production.order_detail", order_id=order.id)


@bp.route("/orders/<int:order_id>/start", methods=["POST"])
@require_role("manager")
def order_start(order_id: int):
    return _transition(order_id, service.start_order,
                       "{number} started: components reserved.")


@bp.route("/orders/<int:order_id>/complete", methods=["POST"])
@require_role("manager")
def order_complete(order_id: int):
    return _transition(order_id, service.complete_order,
                       "{number} done: components consumed, product in stock.")


@bp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@require_role("manager")
def order_cancel(order_id: int):
    return _transition(order_id, service.cancel_order, "{number} cancelled.")


@bp.route("/orders/<int:order_id>/override", methods=["POST"])
@require_role("manager")
def order_override(order_id: int):
    order = scoped_get_or_404(ProductionOrder, order_id)
    form = clean(OverrideForm())
    if form.validate_on_submit():
        try:
            service.override_quality(_company_id(), order.id, user=current_user,
                                     reason=form.reason.data)
        except ValidationError as error:
            apply_field_errors(form, error)
        except DomainError as error:
            flash(str(error), "danger")
            return redirect_after_post("production.order_detail", order_id=order.id)
        else:
            flash(f"Failed inspection of {order.number} overridden.", "success")
            return redirect_after_post("production.order_detail", order_id=order.id)
    return render("production/order_detail.html", status=422,
                  **_order_context(order.id, override_form=form))


@bp.route("/orders/options")
@require_role("viewer")
def order_options():
    """Picker suggestions: production order numbers."""
    q = _text_arg(picker_query()).strip().lower()
    stmt = company_select(ProductionOrder).options(joinedload(ProductionOrder.product))
    if q:
        stmt = stmt.where(func.lower(ProductionOrder.number).like(f"%{q}%"))
    orders = list(db.session.scalars(stmt.order_by(ProductionOrder.id.desc()).limit(20)))
    return render_template("production/_order_options.html", orders=orders)


# ---------------------------------------------------------------- work orders

WORK_ORDER_SORTS = {"name": WorkOrder.name, "status": WorkOrder.status,
                    "planned": WorkOrder.planned_hours, "actual": WorkOrder.actual_hours,
                    "sequence": WorkOrder.sequence}


def _work_order_stmt(params: ListParams):
    stmt = company_select(WorkOrder).options(
        joinedload(WorkOrder.production_order).joinedload(ProductionOrder.product),
        joinedload(WorkOrder.employee))
    if params.q:
        stmt = stmt.where(func.lower(WorkOrder.name).like(f"%{params.q.lower()}%"))
    if params.filters.get("status") in WORK_ORDER_STATUSES:
        stmt = stmt.where(WorkOrder.status == params.filters["status"])
    column = WORK_ORDER_SORTS[params.sort_key]
    return stmt, column


def _export_work_orders(stmt):
    order, product, employee = aliased(ProductionOrder), aliased(Product), aliased(Employee)
    return export_csv("work-orders", stmt, [
        ("id", WorkOrder.id), ("production_order", order.number), ("sku", product.sku),
        ("sequence", WorkOrder.sequence), ("name", WorkOrder.name),
        ("employee", employee.name), ("status", WorkOrder.status),
        ("planned_hours", WorkOrder.planned_hours), ("actual_hours", WorkOrder.actual_hours)],
        joins=[(order, order.id == WorkOrder.production_order_id),
               (product, product.id == order.product_id),
               (employee, employee.id == WorkOrder.employee_id)])


@bp.route("/work-orders")
@require_role("viewer")
@export_limited
def workorder_list():
    params = list_params(sort_keys=list(WORK_ORDER_SORTS), default_sort="sequence",
                                     filters=["status", "employee"])
    stmt, column = _work_order_stmt(params)
    employee = None
    if params.filters["employee"]:
        employee_id = _int_or_none(params.filters["employee"])
        stmt = stmt.where(WorkOrder.employee_id == (employee_id or -1))
    employees = list(db.session.scalars(company_select(Employee).where(Employee.active.is_(True))
                                        .order_by(Employee.name, Employee.id).limit(200)))
    stmt = stmt.order_by(column.desc() if params.descending else column.asc(),
                         WorkOrder.id.desc())
    if wants_csv():
        return _export_work_orders(stmt)
    page = paginate(stmt, page=params.page, per_page=params.per_page)
    return render("production/work_orders.html", block="results", page=page, params=params,
                  statuses=WORK_ORDER_STATUSES, employees=employees, employee=employee,
                  mine=False, endpoint="production.workorder_list")


@bp.route("/work-orders/mine")
@require_role("viewer")
@export_limited
def my_workorders():
    params = list_params(sort_keys=list(WORK_ORDER_SORTS), default_sort="sequence",
                                     filters=["status"])
    employee = service.employee_of_user(_company_id(), current_user.id)
    if wants_csv():
        stmt, column = _work_order_stmt(params)
        return _export_work_orders(stmt.where(
            WorkOrder.employee_id == (employee.id if employee else -1)).order_by(
            column.desc() if params.descending else column.asc(), WorkOrder.id.desc()))
    page = Page(items=[], page=params.page, per_page=params.per_page, has_next=False)
    if employee is not None:
        stmt, column = _work_order_stmt(params)
        stmt = stmt.where(WorkOrder.employee_id == employee.id).order_by(
            column.desc() if params.descending else column.asc(), WorkOrder.id.desc())
        page = paginate(stmt, page=params.page, per_page=params.per_page)
    return render("production/work_orders.html", block="results", page=page, params=params,
                  statuses=WORK_ORDER_STATUSES, employees=[], employee=employee, mine=True,
                  endpoint="production.my_workorders")


@bp.route("/orders/<int:order_id>/work-orders", methods=["POST"])
@require_role("staff")
def workorder_create(order_id: int):
    order = scoped_get_or_404(ProductionOrder, order_id)
    form = clean(WorkOrderForm())
    status = 422
    valid = form.validate_on_submit()
    employee_id, ok = _resolve_employee(form.employee)  # all errors at once
    if valid:
        if ok:
            try:
                service.create_work_order(
                    _company_id(), order.id, user=current_user, name=form.name.data,
                    employee_id=employee_id, planned_hours=form.planned_hours.data,
                    actual_hours=form.actual_hours.data, sequence=form.sequence.data)
            except ValidationError as error:
                apply_field_errors(form, error)
            except DomainError as error:
                form.form_errors.append(str(error))
            else:
                if not is_htmx():
                    flash(f"Work order {form.name.data} added.", "success")
                    return redirect_after_post("production.order_detail", order_id=order.id)
                form, status = WorkOrderForm(formdata=None), 200
    return render("production/order_detail.html", block="work_orders", status=status,
                  **_order_context(order.id, work_order_form=form))


@bp.route("/work-orders/<int:work_order_id>/edit", methods=["GET", "POST"])
@require_role("staff")
def workorder_edit(work_order_id: int):
    work_order = scoped_get_or_404(WorkOrder, work_order_id, joinedload(WorkOrder.employee),
                                   joinedload(WorkOrder.production_order))
    form = clean(WorkOrderForm(obj=None if request.method == "POST" else work_order))
    if request.method == "GET":
        form.employee.data = work_order.employee.picker_label if work_order.employee else ""
    valid = form.validate_on_submit()
    employee_id, ok = _resolve_employee(form.employee) if request.method == "POST" else (None, 1)
    if valid:
        if ok:
            try:
                service.update_work_order(
                    _company_id(), work_order.id, user=current_user, name=form.name.data,
                    employee_id=employee_id, planned_hours=form.planned_hours.data,
                    actual_hours=form.actual_hours.data, sequence=form.sequence.data)
            except ValidationError as error:
                apply_field_errors(form, error)
            else:
                flash(f"Work order {work_order.name} saved.", "success")
                return redirect_after_post("production.order_detail",
                                           order_id=work_order.production_order_id)
    return render("production/workorder_form.html", form=form, work_order=work_order,
                  status=form_status(form))


@bp.route("/work-orders/<int:work_order_id>/status", methods=["POST"])
@require_role("staff")
def workorder_status(work_order_id: int):
    work_order = scoped_get_or_404(WorkOrder, work_order_id)
    form = clean(WorkOrderStatusForm())
    message, category = None, "success"
    if form.validate_on_submit():
        try:
            service.set_work_order_status(_company_id(), work_order.id, user=current_user,
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
    params = ListParams(page=page_number, per_page=per_page, sort="shortage")
    page = Page(items=rows[:per_page], page=page_number, per_page=per_page,
                has_next=len(rows) > per_page)
    return render("production/shortages.html", block="results", page=page, params=params)

