"""Reads of the production pages: the bill of materials, production order, work order and
employee lists as declarations, and an employee's page."""
from __future__ import annotations

from flask_login import current_user
from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased, joinedload

from erp.csv_io import export_csv
from erp.extensions import db
from erp.lists import (Csv, ListSpec, archive_filter, attrs, choice_filter, contains, date_range,
                       id_filter, product_filter)
from erp.models import Product, User, Warehouse
from erp.models.production import (ORDER_STATUSES, WORK_ORDER_STATUSES, BomLine, Employee,
                                   ProductionOrder, WorkOrder)
from erp.queries import company_select
from erp.queries.search import product_matches
from erp.services import production as service


def _boms() -> Select:
    """(product, number of BOM lines) of the products that have a bill of materials."""
    counts = (select(BomLine.product_id, func.count(BomLine.id).label("lines"))
              .where(BomLine.company_id == current_user.company_id)
              .group_by(BomLine.product_id).subquery())
    return (select(Product, counts.c.lines).join(counts, counts.c.product_id == Product.id)
            .where(Product.company_id == current_user.company_id))


def _boms_csv(stmt: Select):
    costs = service.rolled_up_costs(current_user.company_id)  # two queries, every BOM at once
    return export_csv("boms", stmt, [
        ("sku", Product.sku), ("product", Product.name), ("kind", Product.kind),
        ("components", stmt.selected_columns.lines),
        ("rolled_up_cost", Product.id),  # the id, replaced by its cost below
        ("cost_price", Product.cost_price), ("product_id", Product.id)],
        row=lambda r: [*r[:4], costs.get(r[4]), *r[5:]])


BOMS = ListSpec(
    model=Product,
    sorts={"sku": Product.sku, "name": Product.name},
    default_sort="sku",
    collated=("sku", "name"),
    search=product_matches,
    base=_boms,
    csv=Csv(response=_boms_csv),
    rows=True,
)


def bom_list_context(page, params) -> dict:
    return {"costs": service.rolled_up_costs(current_user.company_id,
                                             [p.id for p, _ in page.items]),
            "open_error": None}


def _orders_csv() -> Csv:
    product = aliased(Product)
    source, output = aliased(Warehouse), aliased(Warehouse)
    return Csv("production-orders", [
        ("number", ProductionOrder.number), ("sku", product.sku), ("product", product.name),
        *attrs(ProductionOrder, "quantity", "status", "planned_start", "planned_end"),
        ("component_warehouse", source.code), ("output_warehouse", output.code),
        *attrs(ProductionOrder, "started_at", "completed_at", "id")],
        joins=[(product, product.id == ProductionOrder.product_id),
               (source, source.id == ProductionOrder.component_warehouse_id),
               (output, output.id == ProductionOrder.output_warehouse_id)])


ORDERS = ListSpec(
    model=ProductionOrder,
    sorts={"number": ProductionOrder.number, "start": ProductionOrder.planned_start,
           "end": ProductionOrder.planned_end, "status": ProductionOrder.status,
           "quantity": ProductionOrder.quantity},
    default_sort="-start",
    stable_desc=True,
    search=contains(ProductionOrder.number),
    filters=[choice_filter("status", ProductionOrder.status, ORDER_STATUSES),
             product_filter("product", ProductionOrder.product_id),
             *date_range(ProductionOrder.planned_start, ("from", "to"))],
    csv=_orders_csv(),
    options=[joinedload(ProductionOrder.product),
             joinedload(ProductionOrder.component_warehouse),
             joinedload(ProductionOrder.output_warehouse)],
)


def _work_orders_csv() -> Csv:
    order, product, employee = aliased(ProductionOrder), aliased(Product), aliased(Employee)
    return Csv("work-orders", [
        ("id", WorkOrder.id), ("production_order", order.number), ("sku", product.sku),
        *attrs(WorkOrder, "sequence", "name"),
        ("employee", employee.name), *attrs(WorkOrder, "status", "planned_hours",
                                            "actual_hours")],
        joins=[(order, order.id == WorkOrder.production_order_id),
               (product, product.id == order.product_id),
               (employee, employee.id == WorkOrder.employee_id)])


_WORK_ORDERS = dict(
    model=WorkOrder,
    sorts={"name": WorkOrder.name, "status": WorkOrder.status,
           "planned": WorkOrder.planned_hours, "actual": WorkOrder.actual_hours,
           "sequence": WorkOrder.sequence},
    default_sort="sequence",
    id_desc=True,
    search=contains(WorkOrder.name),
    csv=_work_orders_csv(),
    options=[joinedload(WorkOrder.production_order).joinedload(ProductionOrder.product),
             joinedload(WorkOrder.employee)],
)
WORK_ORDERS = ListSpec(filters=[choice_filter("status", WorkOrder.status, WORK_ORDER_STATUSES),
                                id_filter("employee", WorkOrder.employee_id)],
                       **_WORK_ORDERS)
# the work orders of the signed-in user's employee (the view passes them as the base)
MY_WORK_ORDERS = ListSpec(filters=[choice_filter("status", WorkOrder.status,
                                                 WORK_ORDER_STATUSES)], **_WORK_ORDERS)


def work_order_employees() -> list[Employee]:
    """The active employees, for the employee filter."""
    return list(db.session.scalars(company_select(Employee).where(Employee.active.is_(True))
                                   .order_by(Employee.name, Employee.id).limit(200)))


EMPLOYEE_STATUSES = [("active", "Active"), ("inactive", "Inactive")]

EMPLOYEES = ListSpec(
    model=Employee,
    sorts={"name": Employee.name, "department": Employee.department,
           "position": Employee.position},
    default_sort="name",
    collated=("name", "department", "position"),
    search=contains(Employee.name, Employee.department, Employee.position),
    filters=[archive_filter(Employee, default="all")],  # every employee unless asked
    csv=Csv("employees", [
        *attrs(Employee, "id", "name", "department", "position", "email"),
        ("user", User.email), ("active", Employee.active)],
        joins=[(User, User.id == Employee.user_id)]),
    options=[joinedload(Employee.user)],
)


def employee_page(employee: Employee) -> dict:
    """An employee's last work orders."""
    work_orders = list(db.session.scalars(
        company_select(WorkOrder).where(WorkOrder.employee_id == employee.id)
        .options(joinedload(WorkOrder.production_order).joinedload(ProductionOrder.product),
                 joinedload(WorkOrder.employee))
        .order_by(WorkOrder.id.desc()).limit(20)))
    return {"work_orders": work_orders, "statuses": WORK_ORDER_STATUSES}
