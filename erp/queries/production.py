"""Reads of the production pages: the employee list as a declaration and an employee's page."""
from __future__ import annotations

from sqlalchemy import Select
from sqlalchemy.orm import joinedload

from erp.extensions import db
from erp.lists import Csv, Filter, ListSpec, contains
from erp.models import User
from erp.models.production import WORK_ORDER_STATUSES, Employee, ProductionOrder, WorkOrder
from erp.queries import company_select

EMPLOYEE_STATUSES = [("active", "Active"), ("inactive", "Inactive")]


def _employee_status(stmt: Select, value: str) -> Select:
    """All employees by default; `active`, or `inactive` (also `archived`)."""
    if value == "active":
        return stmt.where(Employee.active.is_(True))
    if value in ("inactive", "archived"):
        return stmt.where(Employee.active.is_(False))
    return stmt


EMPLOYEES = ListSpec(
    model=Employee,
    sorts={"name": Employee.name, "department": Employee.department,
           "position": Employee.position},
    default_sort="name",
    search=contains(Employee.name, Employee.department, Employee.position),
    filters=[Filter("status", _employee_status)],
    csv=Csv("employees", [
        ("id", Employee.id), ("name", Employee.name), ("department", Employee.department),
        ("position", Employee.position), ("email", Employee.email),
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
