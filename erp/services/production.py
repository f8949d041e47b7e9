"""Production use cases: employees, bills of materials, production orders, work orders.

Every public write runs in one `atomic()` transaction and records an audit entry. A
production order moves planned -> in_progress -> done, or to cancelled; each transition
locks the order row first and re-checks its status, so a replay does nothing twice.
Stock changes only through `erp.services.stock`: start reserves the components, done
releases and consumes them and produces the product, all or nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased, joinedload, selectinload

from erp.collation import fold, folded
from erp.extensions import db
from erp.formatting import quantity as fmt
from erp.models import Product, StockLevel, User, Warehouse
from erp.models.base import ZERO, utcnow
from erp.models.production import EMPLOYEE_TEXT
from erp.models.production import (WORK_ORDER_STATUSES, BomLine, Employee, ProductionOrder,
                                   ProductionOrderComponent, WorkOrder)
from erp.models.quality import QualityInspection
from erp.services import (DomainError, InvalidTransition, NotFound, PermissionDenied,
                          ValidationError, atomic, audit, sequences, stock)
from erp.services import webhooks
from erp.services import forms as form_service
from erp.services import lots as lot_service
from erp.services.catalog import _delete, _named_by, _set_active, receive_at_cost
from erp.services.inventory import document_warehouse
from erp.services.stock import InsufficientStock
from erp.services.validation import clean_text, clean_texts
from erp.i18n import _

MAX_HOURS = Decimal("99999")
MONEY_STEP = Decimal("0.01")


# ---------------------------------------------------------------- helpers

def _require(user: User | None, role: str) -> None:
    if user is None or not user.has_role(role):
        raise PermissionDenied(_('Only a %(role)s may do this.', role=role))


def _text(value: str | None, *, field: str, max_length: int, required: bool = False,
          errors: dict[str, list[str]]) -> str:
    return clean_text(value, field, max_length, errors, required)


def _hours(value, *, field: str, errors: dict[str, list[str]]) -> Decimal:
    if value in (None, ""):
        return ZERO
    try:
        hours = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors.setdefault(field, []).append(_("Enter a number."))
        return ZERO
    if not hours.is_finite():
        errors.setdefault(field, []).append(_("Enter a number."))
        return ZERO
    if hours < 0:
        errors.setdefault(field, []).append(_("Enter zero or more hours."))
    elif hours > MAX_HOURS:
        errors.setdefault(field, []).append(_("The number is too large."))
    elif hours != hours.quantize(Decimal("0.001")):
        errors.setdefault(field, []).append(_("Use at most 3 decimals."))
    return hours.quantize(Decimal("0.001")) if hours.is_finite() and hours <= MAX_HOURS else ZERO


def _quantity(value, *, field: str, errors: dict[str, list[str]]) -> Decimal | None:
    try:
        return stock.to_quantity(value, field=field)
    except ValidationError as error:
        for name, messages in error.field_errors.items():
            errors.setdefault(name, []).extend(messages)
        return None


def _product(company_id: int, product_id: int | None, *, field: str,
             errors: dict[str, list[str]], stocked: bool = True) -> Product | None:
    if product_id is None:
        errors.setdefault(field, []).append(_("Choose a product."))
        return None
    product = db.session.scalar(select(Product).where(Product.id == product_id,
                                                      Product.company_id == company_id))
    if product is None:
        errors.setdefault(field, []).append(_("No such product."))
    elif stocked and not product.stocked:
        errors.setdefault(field, []).append(_("Services carry no stock."))
    return product


def _warehouse(company_id: int, warehouse_id: int | None, *, field: str,
               errors: dict[str, list[str]]) -> Warehouse | None:
    return document_warehouse(company_id, warehouse_id, errors, field=field)


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(field_errors=errors)


# ---------------------------------------------------------------- employees

def _employee_values(company_id: int, *, name, user_id, department, position, email, active,
                     employee_id: int | None = None) -> dict:
    errors: dict[str, list[str]] = {}
    values = clean_texts({"name": name, "department": department, "position": position,
                          "email": email}, EMPLOYEE_TEXT, errors) | {
        "active": bool(active),
        "user_id": None,
    }
    if values["email"] and "@" not in values["email"]:
        errors.setdefault("email", []).append(_("Enter an email address."))
    if user_id is not None:
        found = db.session.scalar(select(User.id).where(User.id == user_id,
                                                        User.company_id == company_id))
        if found is None:
            errors.setdefault("user_id", []).append(_("No such user."))
        else:
            taken = db.session.scalar(select(Employee.id).where(
                Employee.company_id == company_id, Employee.user_id == user_id,
                Employee.id != (employee_id or 0)))
            if taken is not None:
                errors.setdefault("user_id", []).append(
                    _("This user is already linked to another employee."))
            values["user_id"] = user_id
    _raise(errors)
    return values


def create_employee(*, company_id: int, user: User, name: str, user_id: int | None = None,
                    department: str = "", position: str = "", email: str = "",
                    active: bool = True) -> Employee:
    """Add an employee (optionally linked to a login user, once per company). Commits."""
    _require(user, "staff")
    with atomic():
        values = _employee_values(company_id, name=name, user_id=user_id, department=department,
                                  position=position, email=email, active=active)
        employee = Employee(company_id=company_id, **values)
        audit.created(employee, company_id=company_id, user=user, record_type="employee",
                      summary=f"Employee {employee.name} created")
    return employee


def update_employee(*, company_id: int, employee_id: int, user: User, name: str,
                    user_id: int | None = None, department: str = "", position: str = "",
                    email: str = "", active: bool = True) -> Employee:
    """Change an employee. Raises NotFound, ValidationError. Commits."""
    _require(user, "staff")
    with atomic():
        employee = db.session.scalar(select(Employee).where(
            Employee.id == employee_id, Employee.company_id == company_id))
        if employee is None:
            raise NotFound(_("No such employee."))
        values = _employee_values(company_id, name=name, user_id=user_id, department=department,
                                  position=position, email=email, active=active,
                                  employee_id=employee.id)
        audit.updated(employee, values, company_id=company_id, user=user,
                      record_type="employee", summary=lambda r: f"Employee {r.name} changed")
    return employee


def _get_employee(company_id: int, employee_id: int) -> Employee:
    employee = db.session.scalar(select(Employee).where(
        Employee.id == employee_id, Employee.company_id == company_id))
    if employee is None:
        raise NotFound(_("No such employee."))
    return employee


def set_employee_active(*, company_id: int, employee_id: int, active: bool,
                        user: User) -> Employee:
    """Archive or reactivate an employee (archived ones leave the pickers). Commits."""
    _require(user, "manager")
    return _set_active(lambda: _get_employee(company_id, employee_id), active,
                       company_id=company_id, user=user, record_type="employee")


def employee_in_use(company_id: int, employee_id: int) -> str | None:
    """Why an employee cannot be deleted (work orders assigned to them), or None."""
    return _named_by(WorkOrder, WorkOrder.employee_id, company_id, employee_id,
                     _("Work orders are assigned to this employee, so they cannot be deleted. "
                       "Archive them instead."))


def delete_employee(*, company_id: int, employee_id: int, user: User) -> None:
    """Delete an employee no work order names (that key would only be cleared, so it is
    checked here); InUse otherwise. Commits."""
    _require(user, "manager")
    employee = _get_employee(company_id, employee_id)
    _delete(employee, company_id=company_id, user=user, record_type="employee",
            label=employee.name, in_use=employee_in_use(company_id, employee.id))


def employee_of_user(company_id: int, user_id: int) -> Employee | None:
    return db.session.scalar(select(Employee).where(Employee.company_id == company_id,
                                                    Employee.user_id == user_id))


def search_employees(company_id: int, q: str, *, limit: int = 20) -> list[Employee]:
    """Active employees whose name contains `q`, for pickers."""
    stmt = select(Employee).where(Employee.company_id == company_id, Employee.active.is_(True))
    q = (q or "").strip()[:100]
    if q:
        stmt = stmt.where(folded(Employee.name).like(f"%{fold(q)}%"))
    return list(db.session.scalars(stmt.order_by(Employee.name, Employee.id).limit(limit)))


# ---------------------------------------------------------------- bills of materials

def _edges(company_id: int) -> dict[int, set[int]]:
    """Every BOM edge of the company (product -> components), in one query."""
    graph: dict[int, set[int]] = {}
    rows = db.session.execute(select(BomLine.product_id, BomLine.component_id).where(
        BomLine.company_id == company_id))
    for product_id, component_id in rows:
        graph.setdefault(product_id, set()).add(component_id)
    return graph


def _reaches(graph: dict[int, set[int]], start: int, target: int) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == target:
            return True
        if node in seen:
            continue
        seen.add(node)
        todo.extend(graph.get(node, ()))
    return False


def would_cycle(company_id: int, product_id: int, component_id: int) -> bool:
    """Whether making `product` need `component` closes a loop (A needs B needs ... A)."""
    if product_id == component_id:
        return True
    return _reaches(_edges(company_id), component_id, product_id)


def add_bom_line(*, company_id: int, user: User, product_id: int | None,
                 component_id: int | None, quantity) -> BomLine:
    """Add `quantity` of a component per unit of the product (adds to an existing line).

    Refuses services, other companies' products and cycles (ValidationError on the
    `component` field). Commits.
    """
    _require(user, "staff")
    errors: dict[str, list[str]] = {}
    qty = _quantity(quantity, field="quantity", errors=errors)
    with atomic():
        product = _product(company_id, product_id, field="component", errors=errors)
        component = _product(company_id, component_id, field="component", errors=errors)
        if product is not None and component is not None and not errors.get("component"):
            if product.id == component.id:
                errors.setdefault("component", []).append(
                    _('%(sku)s cannot be a component of itself.', sku=product.sku))
            elif would_cycle(company_id, product.id, component.id):
                errors.setdefault("component", []).append(
                    _('%(sku)s already needs %(sku2)s (directly or through its components): adding it would make a cycle.', sku=component.sku, sku2=product.sku))
        _raise(errors)
        # Serialise BOM edits of the company's product row: two concurrent additions
        # could otherwise each pass the cycle check and together close a loop.
        db.session.execute(select(Product.id).where(Product.id == product.id).with_for_update())
        line = db.session.scalar(select(BomLine).where(
            BomLine.company_id == company_id, BomLine.product_id == product.id,
            BomLine.component_id == component.id))
        if line is None:
            line = BomLine(company_id=company_id, product_id=product.id,
                           component_id=component.id, quantity=qty)
            db.session.add(line)
            action = "create"
        else:
            line.quantity = line.quantity + qty
            action = "update"
        db.session.flush()
        audit.record(company_id=company_id, user=user, action=action, record_type="bom_line",
                     record_id=line.id,
                     summary=f"BOM of {product.sku}: {component.sku} x {fmt(line.quantity)}")
    return line


def _bom_line(company_id: int, line_id: int, product_id: int | None = None) -> BomLine:
    line = db.session.scalar(select(BomLine).where(BomLine.id == line_id,
                                                   BomLine.company_id == company_id))
    if line is None or product_id not in (None, line.product_id):
        raise NotFound(_("No such BOM line."))
    return line


def update_bom_line(*, company_id: int, line_id: int, user: User, quantity,
                    product_id: int | None = None) -> BomLine:
    """Change a line's quantity per unit (of `product_id`'s BOM when given). Raises NotFound,
    ValidationError. Commits."""
    _require(user, "staff")
    errors: dict[str, list[str]] = {}
    qty = _quantity(quantity, field="quantity", errors=errors)
    _raise(errors)
    with atomic():
        line = _bom_line(company_id, line_id, product_id)
        changes = audit.diff(line, {"quantity": qty})
        if changes:
            audit.record(company_id=company_id, user=user, action="update",
                         record_type="bom_line", record_id=line.id,
                         summary="BOM line quantity changed", changes=changes)
    return line


def remove_bom_line(*, company_id: int, line_id: int, user: User,
                    product_id: int | None = None) -> int:
    """Delete a BOM line (of `product_id`'s BOM when given); returns the product id. Planned
    orders keep their snapshot. Commits."""
    _require(user, "staff")
    with atomic():
        line = _bom_line(company_id, line_id, product_id)
        product_id = line.product_id
        audit.record(company_id=company_id, user=user, action="delete", record_type="bom_line",
                     record_id=line.id, summary=f"BOM line removed (component #{line.component_id})")
        db.session.delete(line)
    return product_id


def rolled_up_costs(company_id: int, product_ids: list[int] | None = None) -> dict[int, Decimal]:
    """Material cost per unit: sum of component quantity x (its rolled-up cost if it has a
    BOM, else its cost price), recursively. Two queries, whatever the depth."""
    rows = db.session.execute(
        select(BomLine.product_id, BomLine.component_id, BomLine.quantity)
        .where(BomLine.company_id == company_id)).all()
    graph: dict[int, list[tuple[int, Decimal]]] = {}
    for product_id, component_id, quantity in rows:
        graph.setdefault(product_id, []).append((component_id, Decimal(quantity)))
    ids = {c for lines in graph.values() for c, _ in lines} | set(graph) | set(product_ids or ())
    prices = dict(db.session.execute(select(Product.id, Product.cost_price).where(
        Product.company_id == company_id, Product.id.in_(ids))).all()) if ids else {}
    memo: dict[int, Decimal] = {}

    def cost(node: int, path: frozenset) -> Decimal:
        if node in memo:
            return memo[node]
        if node not in graph or node in path:  # a leaf (or a cycle, refused on write)
            return Decimal(prices.get(node) or ZERO)
        total = sum((q * cost(c, path | {node}) for c, q in graph[node]), ZERO)
        memo[node] = total
        return total

    wanted = product_ids if product_ids is not None else list(graph)
    return {pid: cost(pid, frozenset()).quantize(MONEY_STEP) for pid in wanted}


def rolled_up_cost(company_id: int, product_id: int) -> Decimal:
    return rolled_up_costs(company_id, [product_id])[product_id]


# ---------------------------------------------------------------- production orders

def _lock_order(company_id: int, order_id: int) -> ProductionOrder:
    """The order row, locked until the transaction ends, with fresh values."""
    order = db.session.scalar(
        select(ProductionOrder)
        .where(ProductionOrder.id == order_id, ProductionOrder.company_id == company_id)
        .with_for_update()
        .execution_options(populate_existing=True))
    if order is None:
        raise NotFound(_("No such production order."))
    return order


def _order_values(company_id: int, *, product_id, quantity, component_warehouse_id,
                  output_warehouse_id, planned_start, planned_end, notes) -> tuple[dict, list]:
    errors: dict[str, list[str]] = {}
    qty = _quantity(quantity, field="quantity", errors=errors)
    product = _product(company_id, product_id, field="product", errors=errors)
    _warehouse(company_id, component_warehouse_id, field="component_warehouse_id", errors=errors)
    _warehouse(company_id, output_warehouse_id, field="output_warehouse_id", errors=errors)
    if not isinstance(planned_start, date):
        errors.setdefault("planned_start", []).append(_("Enter a date."))
    elif isinstance(planned_end, date) and planned_end < planned_start:
        errors.setdefault("planned_end", []).append(_("The end cannot be before the start."))
    notes = _text(notes, field="notes", max_length=2000, errors=errors)
    lines: list = []
    if product is not None and not errors.get("product"):
        lines = db.session.execute(select(BomLine.component_id, BomLine.quantity).where(
            BomLine.company_id == company_id, BomLine.product_id == product.id)
            .order_by(BomLine.id)).all()
        if not lines:
            errors.setdefault("product", []).append(
                _('%(sku)s has no bill of materials yet: add its components first.', sku=product.sku))
    _raise(errors)
    values = dict(product_id=product.id, quantity=qty,
                  component_warehouse_id=component_warehouse_id,
                  output_warehouse_id=output_warehouse_id, planned_start=planned_start,
                  planned_end=planned_end, notes=notes)
    return values, lines


def _explode(order: ProductionOrder, lines) -> None:
    """Snapshot the direct components: required = BOM quantity x order quantity."""
    order.components.clear()
    db.session.flush()
    for component_id, per_unit in lines:
        required = (Decimal(per_unit) * order.quantity).quantize(stock.QUANTITY_STEP)
        order.components.append(ProductionOrderComponent(
            company_id=order.company_id, component_id=component_id, quantity=required))


def create_order(*, company_id: int, user: User, product_id: int | None, quantity,
                 component_warehouse_id: int | None, output_warehouse_id: int | None,
                 planned_start: date | None, planned_end: date | None = None,
                 notes: str = "") -> ProductionOrder:
    """Plan a production order and snapshot one level of the product's BOM. Commits."""
    _require(user, "staff")
    with atomic():
        values, lines = _order_values(
            company_id, product_id=product_id, quantity=quantity,
            component_warehouse_id=component_warehouse_id,
            output_warehouse_id=output_warehouse_id, planned_start=planned_start,
            planned_end=planned_end, notes=notes)
        order = ProductionOrder(company_id=company_id, status="planned", created_by=user.id,
                                number=sequences.next_number(company_id, "MO"), **values)
        db.session.add(order)
        _explode(order, lines)
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="create",
                     record_type="production_order", record_id=order.id,
                     summary=f"Production order {order.number} planned")
    return order


def update_order(*, company_id: int, order_id: int, user: User, product_id: int | None,
                 quantity, component_warehouse_id: int | None, output_warehouse_id: int | None,
                 planned_start: date | None, planned_end: date | None = None,
                 notes: str = "") -> ProductionOrder:
    """Change a planned order; the components are snapshot again. Commits."""
    _require(user, "staff")
    with atomic():
        order = _lock_order(company_id, order_id)
        if not order.is_planned:
            raise InvalidTransition(_('%(number)s is %(value)s: only a planned order can be changed.', number=order.number, value=order.status_label.lower()))
        values, lines = _order_values(
            company_id, product_id=product_id, quantity=quantity,
            component_warehouse_id=component_warehouse_id,
            output_warehouse_id=output_warehouse_id, planned_start=planned_start,
            planned_end=planned_end, notes=notes)
        changes = audit.diff(order, values)
        _explode(order, lines)
        audit.record(company_id=company_id, user=user, action="update",
                     record_type="production_order", record_id=order.id,
                     summary=f"Production order {order.number} changed", changes=changes)
    return order


@dataclass
class Availability:
    component: Product
    line_id: int
    required: Decimal
    available: Decimal

    @property
    def shortage(self) -> Decimal:
        return max(self.required - self.available, ZERO)


def availability(order: ProductionOrder) -> list[Availability]:
    """Each component of the order: required, available in the component warehouse, shortage.

    One query for the stock levels (the order's components must be loaded). For an order
    in progress its own reservation counts as available to it.
    """
    ids = [c.component_id for c in order.components]
    levels = {}
    if ids:
        levels = {pid: (on_hand, reserved) for pid, on_hand, reserved in db.session.execute(
            select(StockLevel.product_id, StockLevel.on_hand, StockLevel.reserved).where(
                StockLevel.company_id == order.company_id,
                StockLevel.warehouse_id == order.component_warehouse_id,
                StockLevel.product_id.in_(ids)))}
    result = []
    for line in order.components:
        on_hand, reserved = levels.get(line.component_id, (ZERO, ZERO))
        available = Decimal(on_hand) - Decimal(reserved)
        if order.status == "in_progress":
            available += line.quantity
        result.append(Availability(component=line.component, line_id=line.id,
                                   required=line.quantity, available=max(available, ZERO)))
    return result


def check_availability(company_id: int, order_id: int) -> list[Availability]:
    """Availability of the order's components (read only). Raises NotFound."""
    order = db.session.scalar(
        select(ProductionOrder).where(ProductionOrder.id == order_id,
                                      ProductionOrder.company_id == company_id))
    if order is None:
        raise NotFound(_("No such production order."))
    return availability(order)


def has_open_failure(company_id: int, order: ProductionOrder) -> bool:
    """A failed inspection of the order that no re-inspection superseded and no manager has
    overridden (an override covers the failures recorded before it)."""
    later = aliased(QualityInspection)
    stmt = select(QualityInspection.id).where(
        QualityInspection.company_id == company_id,
        QualityInspection.production_order_id == order.id,
        QualityInspection.result == "fail",
        ~select(later.id).where(later.supersedes_id == QualityInspection.id).exists())
    if order.quality_override_at is not None:
        stmt = stmt.where(QualityInspection.created_at > order.quality_override_at)
    return db.session.scalar(stmt.limit(1)) is not None


def start_order(*, company_id: int, order_id: int, user: User) -> ProductionOrder:
    """planned -> in_progress: reserve every component in the component warehouse.

    All or nothing: InsufficientStock names every short component. A replay of an order
    already started does nothing. Manager only. Commits.
    """
    with atomic():
        order = _lock_order(company_id, order_id)
        if not ProductionOrder.workflow.begin(order, "start", user):
            return order
        short = [a for a in availability(order) if a.shortage > 0]
        if short:
            raise InsufficientStock(
                f"Cannot start {order.number}, components are short: " + "; ".join(
                    f"{a.component.sku} needs {fmt(a.required)}, "
                    f"{fmt(a.available)} available" for a in short) + ".")
        for line in order.components:
            stock.reserve(company_id=company_id, product_id=line.component_id,
                          warehouse_id=order.component_warehouse_id, quantity=line.quantity)
        order.status = "in_progress"
        order.started_at = utcnow()
        audit.record(company_id=company_id, user=user, action="start",
                     record_type="production_order", record_id=order.id,
                     summary=f"Production order {order.number} started, components reserved",
                     changes={"status": ("planned", "in_progress")})
    return order


def complete_order(*, company_id: int, order_id: int, user: User,
                   lots: dict | None = None) -> ProductionOrder:
    """in_progress -> done: consume the components and produce the product, all or nothing.

    Refused (InvalidTransition) while a failed inspection is not overridden, and while a
    work order is not done (naming them). Each reservation is released and the component
    issued (production_consume): a tracked component from the lots `lots` ({component line
    id: text}) names, each holding its quantity in the component warehouse (else one
    ValidationError naming every bad line, fields `lot-<line id>`), or from its
    first-expiring lots where none is named. Then the product is received in the output
    warehouse (production_output) valued at the consumed components' cost prices: its cost price
    moves by moving average, as a purchase receipt's does. Manager only. Commits.
    """
    with atomic():
        order = _lock_order(company_id, order_id)
        if not ProductionOrder.workflow.begin(order, "complete", user):
            return order
        if has_open_failure(company_id, order):
            raise InvalidTransition(
                _('%(number)s has a failed quality inspection: a manager must override it before the order can be completed.', number=order.number))
        unfinished = db.session.scalars(
            select(WorkOrder).where(WorkOrder.company_id == company_id,
                                    WorkOrder.production_order_id == order.id,
                                    WorkOrder.status != "done")
            .order_by(WorkOrder.sequence, WorkOrder.id)).all()
        if unfinished:
            raise InvalidTransition(
                f"{order.number} has work orders not done: " + ", ".join(
                    f"{w.name} ({w.status_label.lower()})" for w in unfinished)
                + ". Finish them before completing the order.")
        picked = lot_service.choose_lines(
            company_id, order.component_warehouse,
            [(line.id, line.component, line.quantity, f"{order.number} ({line.component.sku})")
             for line in order.components
             if (lot_service.for_line(lots or {}, line.id) or "").strip()], lots)
        consumed = ZERO  # the value the components leave their warehouse with
        for line in order.components:
            stock.release(company_id=company_id, product_id=line.component_id,
                          warehouse_id=order.component_warehouse_id, quantity=line.quantity)
            source = stock.Source("production_order_component", line.id, order.number)
            if line.component.tracked:  # the lots picked, else first-expiring ones
                moved = lot_service.move_picks(
                    picked.get(line.id) or lot_service.auto_picks(
                        company_id, line.component, order.component_warehouse,
                        line.quantity, what=order.number),
                    sign=-1, company_id=company_id, product_id=line.component_id,
                    warehouse_id=order.component_warehouse_id, kind="production_consume",
                    user=user, source=source)
            else:
                moved = [stock.move(company_id=company_id, product_id=line.component_id,
                                    warehouse_id=order.component_warehouse_id,
                                    quantity=-line.quantity, kind="production_consume",
                                    user=user, source=source)]
            consumed -= sum((movement.value for movement in moved), ZERO)
        outputs = _output_lots(order)
        left = consumed  # the output's lots share the value; the last takes the cents left
        for index, (lot_id, quantity) in enumerate(outputs):
            share = (left if index == len(outputs) - 1
                     else (consumed * quantity / order.quantity).quantize(MONEY_STEP))
            left -= share
            receive_at_cost(company_id=company_id, user=user, product_id=order.product_id,
                            warehouse_id=order.output_warehouse_id, quantity=quantity,
                            unit_cost=consumed / order.quantity, kind="production_output",
                            source=stock.Source("production_order", order.id, order.number),
                            lot_id=lot_id, value=share)
        order.status = "done"
        order.completed_at = utcnow()
        webhooks.emit(company_id, "production_order.done", order)
        audit.record(company_id=company_id, user=user, action="complete",
                     record_type="production_order", record_id=order.id,
                     summary=f"Production order {order.number} done: components consumed, "
                             f"{fmt(order.quantity)} produced at "
                             f"{(consumed / order.quantity).quantize(MONEY_STEP)} a unit",
                     changes={"status": ("in_progress", "done")})
    return order


def _output_lots(order: ProductionOrder) -> list[tuple[int | None, Decimal]]:
    """What the order's output moves under: a lot named after the order (lot tracking), a
    serial number per unit (<number>-001, ...), or none for an untracked product."""
    product = order.product
    if not product.tracked:
        return [(None, order.quantity)]
    if product.serial:
        if order.quantity != order.quantity.to_integral_value():
            raise ValidationError(_('%(sku)s is tracked by serial number: produce whole units, not %(value)s.', sku=product.sku, value=fmt(order.quantity)))
        width = max(3, len(str(int(order.quantity))))
        picks = [(f"{order.number}-{n:0{width}d}", Decimal(1))
                 for n in range(1, int(order.quantity) + 1)]
    else:
        picks = [(order.number, order.quantity)]
    return [(lot.id, qty) for lot, qty in lot_service.resolve(
        order.company_id, product, picks, field="quantity", create=True)]


def cancel_order(*, company_id: int, order_id: int, user: User) -> ProductionOrder:
    """planned or in_progress -> cancelled; releases the reservations. Manager only. Commits."""
    with atomic():
        order = _lock_order(company_id, order_id)
        if not ProductionOrder.workflow.begin(order, "cancel", user):
            return order
        previous = order.status
        if previous == "in_progress":
            for line in order.components:
                stock.release(company_id=company_id, product_id=line.component_id,
                              warehouse_id=order.component_warehouse_id, quantity=line.quantity)
        order.status = "cancelled"
        order.cancelled_at = utcnow()
        audit.record(company_id=company_id, user=user, action="cancel",
                     record_type="production_order", record_id=order.id,
                     summary=f"Production order {order.number} cancelled",
                     changes={"status": (previous, "cancelled")})
    return order


def override_quality(*, company_id: int, order_id: int, user: User,
                     reason: str) -> ProductionOrder:
    """A manager lets the order be completed despite its failed inspections (recorded on the
    order and in the audit trail). Raises ValidationError without a reason. Commits."""
    _require(user, ProductionOrder.workflow.actions["override"].role)
    errors: dict[str, list[str]] = {}
    reason = _text(reason, field="reason", max_length=500, required=True, errors=errors)
    _raise(errors)
    with atomic():
        order = _lock_order(company_id, order_id)
        ProductionOrder.workflow.begin(order, "override", user)
        if not has_open_failure(company_id, order):
            raise InvalidTransition(_('%(number)s has no failed inspection to override.', number=order.number))
        order.quality_override_by = user.id
        order.quality_override_at = utcnow()
        order.quality_override_reason = reason
        audit.record(company_id=company_id, user=user, action="quality_override",
                     record_type="production_order", record_id=order.id,
                     summary=f"Failed inspection of {order.number} overridden: {reason}",
                     changes={"quality_override_reason": ("", reason)})
    return order


# ---------------------------------------------------------------- work orders

def _work_order_values(company_id: int, *, name, employee_id, planned_hours, actual_hours,
                       sequence) -> dict:
    errors: dict[str, list[str]] = {}
    values = {
        "name": _text(name, field="name", max_length=200, required=True, errors=errors),
        "planned_hours": _hours(planned_hours, field="planned_hours", errors=errors),
        "actual_hours": _hours(actual_hours, field="actual_hours", errors=errors),
        "employee_id": None,
    }
    try:
        values["sequence"] = int(sequence if sequence not in (None, "") else 10)
        if not 0 <= values["sequence"] <= 10000:
            raise ValueError
    except (TypeError, ValueError):
        errors.setdefault("sequence", []).append(_("Enter a whole number from 0 to 10000."))
    if employee_id is not None:
        found = db.session.scalar(select(Employee.id).where(Employee.id == employee_id,
                                                            Employee.company_id == company_id))
        if found is None:
            errors.setdefault("employee", []).append(_("No such employee."))
        values["employee_id"] = employee_id
    _raise(errors)
    return values


def create_work_order(*, company_id: int, order_id: int, user: User, name: str,
                      employee_id: int | None = None, planned_hours=None, actual_hours=None,
                      sequence=10) -> WorkOrder:
    """Add a step to a production order that is not done or cancelled. Commits."""
    _require(user, "staff")
    with atomic():
        order = _lock_order(company_id, order_id)
        if not order.is_open:
            raise InvalidTransition(_('%(number)s is %(value)s: no new work orders.', number=order.number, value=order.status_label.lower()))
        values = _work_order_values(company_id, name=name, employee_id=employee_id,
                                    planned_hours=planned_hours, actual_hours=actual_hours,
                                    sequence=sequence)
        work_order = WorkOrder(company_id=company_id, production_order_id=order.id,
                               status="open", **values)
        audit.created(work_order, company_id=company_id, user=user, record_type="work_order",
                      summary=f"Work order {work_order.name} added to {order.number}")
    return work_order


def _work_order(company_id: int, work_order_id: int) -> WorkOrder:
    work_order = db.session.scalar(select(WorkOrder).where(WorkOrder.id == work_order_id,
                                                           WorkOrder.company_id == company_id)
                                   .with_for_update())
    if work_order is None:
        raise NotFound(_("No such work order."))
    return work_order


def update_work_order(*, company_id: int, work_order_id: int, user: User, name: str,
                      employee_id: int | None = None, planned_hours=None, actual_hours=None,
                      sequence=10) -> WorkOrder:
    """Change a work order. Commits."""
    _require(user, "staff")
    with atomic():
        work_order = _work_order(company_id, work_order_id)
        values = _work_order_values(company_id, name=name, employee_id=employee_id,
                                    planned_hours=planned_hours, actual_hours=actual_hours,
                                    sequence=sequence)
        audit.updated(work_order, values, company_id=company_id, user=user,
                      record_type="work_order", summary=lambda r: f"Work order {r.name} changed")
    return work_order


def _move_work_order(company_id: int, work_order_id: int, user: User, action: str) -> WorkOrder:
    """Take step `action` of WORK_ORDER_FLOW (a replay does nothing). Commits."""
    with atomic():
        work_order = _work_order(company_id, work_order_id)
        # the production order's lock too: completing it (which checks its steps) and a
        # step's move take turns, so no step moves once the order is done
        _lock_order(company_id, work_order.production_order_id)
        if WorkOrder.workflow.actions[action].target == "done" and work_order.status != "done":
            missing = form_service.work_order_form_missing(company_id, work_order)
            if missing:
                raise DomainError(missing)
        if not WorkOrder.workflow.begin(work_order, action, user):
            return work_order
        changes = audit.diff(work_order, {"status": WorkOrder.workflow.actions[action].target})
        audit.record(company_id=company_id, user=user, action="status",
                     record_type="work_order", record_id=work_order.id,
                     summary=f"Work order {work_order.name}: {work_order.status_label}",
                     changes=changes)
    return work_order


def start_work_order(*, company_id: int, work_order_id: int, user: User) -> WorkOrder:
    """open or done -> in_progress. Staff. Commits."""
    return _move_work_order(company_id, work_order_id, user, "start")


def finish_work_order(*, company_id: int, work_order_id: int, user: User) -> WorkOrder:
    """open or in_progress -> done. Staff. Commits."""
    return _move_work_order(company_id, work_order_id, user, "finish")


def reopen_work_order(*, company_id: int, work_order_id: int, user: User) -> WorkOrder:
    """in_progress or done -> open. Staff. Commits."""
    return _move_work_order(company_id, work_order_id, user, "reopen")


def set_work_order_status(*, company_id: int, work_order_id: int, user: User,
                          status: str) -> WorkOrder:
    """open / in_progress / done, in any order (a step may be reopened): the step of
    WORK_ORDER_FLOW that leads there. The status it already has changes nothing. Commits."""
    _require(user, "staff")
    if status not in WORK_ORDER_STATUSES:
        raise ValidationError(field_errors={"status": ["Choose a valid status."]})
    with atomic():
        work_order = _work_order(company_id, work_order_id)
        action = work_order.action_to(status)
        if action is None:  # already there
            return work_order
        return _move_work_order(company_id, work_order_id, user, action)


# ---------------------------------------------------------------- shortages

def shortages_query(company_id: int):
    """Components short for planned production, per component and warehouse, in one grouped
    query: required by planned orders minus available (on hand - reserved). Orders in
    progress have reserved theirs already; their quantity is shown for information."""
    planned = func.sum(case((ProductionOrder.status == "planned",
                             ProductionOrderComponent.quantity), else_=0))
    in_progress = func.sum(case((ProductionOrder.status == "in_progress",
                                 ProductionOrderComponent.quantity), else_=0))
    on_hand = func.coalesce(func.max(StockLevel.on_hand), 0)
    reserved = func.coalesce(func.max(StockLevel.reserved), 0)
    shortage = planned - (on_hand - reserved)
    return (
        select(ProductionOrderComponent.component_id.label("component_id"),
               ProductionOrder.component_warehouse_id.label("warehouse_id"),
               planned.label("planned"), in_progress.label("in_progress"),
               on_hand.label("on_hand"), reserved.label("reserved"),
               shortage.label("shortage"),
               func.count(func.distinct(ProductionOrder.id)).label("orders"))
        .join(ProductionOrder, ProductionOrder.id == ProductionOrderComponent.production_order_id)
        .outerjoin(StockLevel, and_(
            StockLevel.company_id == ProductionOrderComponent.company_id,
            StockLevel.product_id == ProductionOrderComponent.component_id,
            StockLevel.warehouse_id == ProductionOrder.component_warehouse_id))
        .where(ProductionOrderComponent.company_id == company_id,
               ProductionOrder.company_id == company_id,
               ProductionOrder.status.in_(("planned", "in_progress")))
        .group_by(ProductionOrderComponent.component_id, ProductionOrder.component_warehouse_id)
        .having(shortage > 0)
    )


def component_shortages(company_id: int, *, limit: int = 100, offset: int = 0) -> list[dict]:
    """Rows of `shortages_query` with their product and warehouse (three queries)."""
    stmt = shortages_query(company_id).subquery()
    rows = db.session.execute(
        select(stmt).order_by(stmt.c.shortage.desc(), stmt.c.component_id, stmt.c.warehouse_id)
        .limit(limit).offset(offset)).mappings().all()
    product_ids = {r["component_id"] for r in rows}
    warehouse_ids = {r["warehouse_id"] for r in rows}
    products = {p.id: p for p in db.session.scalars(
        select(Product).where(Product.id.in_(product_ids)))} if rows else {}
    warehouses = {w.id: w for w in db.session.scalars(
        select(Warehouse).where(Warehouse.id.in_(warehouse_ids)))} if rows else {}
    return [dict(r, product=products[r["component_id"]], warehouse=warehouses[r["warehouse_id"]],
                 shortage=Decimal(r["shortage"]).quantize(stock.QUANTITY_STEP),
                 planned=Decimal(r["planned"]), in_progress=Decimal(r["in_progress"]),
                 available=Decimal(r["on_hand"]) - Decimal(r["reserved"]))
            for r in rows]


def load_order(company_id: int, order_id: int) -> ProductionOrder | None:
    """An order with what its page shows, eagerly loaded."""
    return db.session.scalar(
        select(ProductionOrder)
        .where(ProductionOrder.id == order_id, ProductionOrder.company_id == company_id)
        .options(joinedload(ProductionOrder.product),
                 joinedload(ProductionOrder.component_warehouse),
                 joinedload(ProductionOrder.output_warehouse),
                 joinedload(ProductionOrder.override_user),
                 selectinload(ProductionOrder.components)
                 .joinedload(ProductionOrderComponent.component),
                 selectinload(ProductionOrder.work_orders).joinedload(WorkOrder.employee)))
