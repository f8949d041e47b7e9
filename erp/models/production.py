"""Production: employees, bills of materials (BOM lines), production orders, work orders.

A product's bill of materials is the set of its BomLines (product -> component, quantity
per unit); a component may have lines of its own (multi-level), never in a cycle.
A ProductionOrder snapshots ONE level of the BOM (its direct components) when planned;
sub-assemblies are made by their own production orders.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp.documents import Action, Document, Workflow
from erp.extensions import db
from erp.models.base import (ZERO, AwareDateTime, CompanyScoped, Quantity,
                             in_check)
from erp.models.catalog import Product
from erp.models.core import User
from erp.models.fields import Text as TextField
from erp.models.inventory import Warehouse
from erp.i18n import N_

ORDER_STATUSES = {
    "planned": N_("Planned"),
    "in_progress": N_("In progress"),
    "done": N_("Done"),
    "cancelled": N_("Cancelled"),
}
OPEN_STATUSES = ("planned", "in_progress")  # work still to do: cancel, override, add steps
STATUS_BADGES = {"planned": "secondary", "in_progress": "primary", "done": "success",
                 "cancelled": "dark"}
WORK_ORDER_STATUSES = {"open": N_("Open"), "in_progress": N_("In progress"), "done": N_("Done")}
WORK_ORDER_BADGES = {"open": "secondary", "in_progress": "primary", "done": "success"}

PRODUCTION_ORDER_FLOW = Workflow(
    noun=N_("order"), states=ORDER_STATUSES, badges=STATUS_BADGES, endpoint="production.order",
    actions=[
        Action("start", ("planned",), "in_progress", "manager", N_("Start"), "start_order",
               done=N_("{number} started: components reserved."), verb=N_("started"),
               confirm=N_("Start {number}? Its components will be reserved.")),
        Action("complete", ("in_progress",), "done", "manager", N_("Complete"), "complete_order",
               done=N_("{number} done: components consumed, product in stock at their cost."),
               refused=N_("only an order in progress can be completed"),
               confirm=N_("Complete {number}? Components are consumed and the product goes "
                       "into stock at their cost. Every work order must be done."),
               style="btn btn-success", lots=True),
        Action("cancel", OPEN_STATUSES, "cancelled", "manager", N_("Cancel order"), "cancel_order",
               done=N_("{number} cancelled."), verb=N_("cancelled"),
               confirm=N_("Cancel {number}? Reservations are released."),
               style="btn btn-outline-danger"),
        # a manager lets the order be completed despite a failed inspection: a form with a
        # reason, in the page's quality section
        Action("override", OPEN_STATUSES, None, "manager", N_("Override failed inspection"),
               "override_quality", verb=N_("overridden"), button=False),
    ])


def _order_open(work_order) -> str | None:
    """The steps of a done or cancelled production order are closed: none of them moves."""
    order = work_order.production_order
    if order.is_open:
        return None
    return (f"{order.number} is {order.status_label.lower()}: its work orders can no longer "
            "change.")


# A step may be reopened, and done straight from open: every move between states is a step,
# and only while its production order is open (planned or in progress).
WORK_ORDER_FLOW = Workflow(
    noun=N_("work order"), states=WORK_ORDER_STATUSES, badges=WORK_ORDER_BADGES,
    endpoint="production.workorder", id_arg="work_order_id",
    actions=[
        Action("start", ("open", "done"), "in_progress", "staff", N_("Start"), "start_work_order",
               done=N_("{number}: in progress."), verb=N_("started"), guard=_order_open),
        Action("finish", ("open", "in_progress"), "done", "staff", N_("Done"), "finish_work_order",
               done=N_("{number}: done."), verb=N_("finished"), style="btn btn-success",
               guard=_order_open),
        Action("reopen", ("in_progress", "done"), "open", "staff", N_("Reopen"), "reopen_work_order",
               done=N_("{number}: open."), verb=N_("reopened"), style="btn btn-outline-secondary",
               guard=_order_open),
    ])


EMPLOYEE_TEXT = {
    "name": TextField(200, required=True),
    "department": TextField(120),
    "position": TextField(120),
    "email": TextField(254),
}


class Employee(CompanyScoped, db.Model):
    __tablename__ = "employees"
    __table_args__ = (
        UniqueConstraint("company_id", "user_id"),
        Index("ix_employees_company_name", "company_id", "name"),
    )

    name: Mapped[str] = mapped_column(EMPLOYEE_TEXT["name"].column())
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, nullable=True)
    department: Mapped[str] = mapped_column(EMPLOYEE_TEXT["department"].column(), default="")
    position: Mapped[str] = mapped_column(EMPLOYEE_TEXT["position"].column(), default="")
    email: Mapped[str] = mapped_column(EMPLOYEE_TEXT["email"].column(), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    user: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return self.name


class BomLine(CompanyScoped, db.Model):
    """One line of a product's bill of materials: `quantity` of `component` per unit."""

    __tablename__ = "bom_lines"
    __table_args__ = (
        UniqueConstraint("company_id", "product_id", "component_id"),
        Index("ix_bom_lines_company_component", "company_id", "component_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("product_id <> component_id", name="not_self"),
    )

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"),
                                            index=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"),
                                              index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)

    product: Mapped[Product] = relationship(foreign_keys=[product_id])
    component: Mapped[Product] = relationship(foreign_keys=[component_id])

    @property
    def inputs(self) -> dict[str, str]:
        """Plain values for the line editor's inputs."""
        return {"quantity": format(self.quantity.normalize(), "f")}


class ProductionOrder(Document, CompanyScoped, db.Model):
    __tablename__ = "production_orders"
    __table_args__ = (
        UniqueConstraint("company_id", "number"),
        Index("ix_production_orders_company_product_status", "company_id", "product_id", "status"),
        Index("ix_production_orders_company_status_start", "company_id", "status",
              "planned_start"),
        Index("ix_production_orders_company_start", "company_id", "planned_start"),
        # newest first (the order picker): SQLite's (company_id) index did this through the
        # rowid it holds; an index of its own does it on PostgreSQL too
        Index("ix_production_orders_company_newest", "company_id", "id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        in_check("status", ORDER_STATUSES),
    )

    number: Mapped[str] = mapped_column(String(30))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"),
                                            index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    component_warehouse_id: Mapped[int] = mapped_column(
        ForeignKey("warehouses.id", ondelete="RESTRICT"), index=True)
    output_warehouse_id: Mapped[int] = mapped_column(
        ForeignKey("warehouses.id", ondelete="RESTRICT"), index=True)
    planned_start: Mapped[date] = mapped_column(Date)
    planned_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="planned")
    notes: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    # A manager let the order be completed despite a failed inspection.
    quality_override_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, nullable=True)
    quality_override_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    quality_override_reason: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, nullable=True)

    product: Mapped[Product] = relationship()
    component_warehouse: Mapped[Warehouse] = relationship(foreign_keys=[component_warehouse_id])
    output_warehouse: Mapped[Warehouse] = relationship(foreign_keys=[output_warehouse_id])
    creator: Mapped[User | None] = relationship(foreign_keys=[created_by])
    override_user: Mapped[User | None] = relationship(foreign_keys=[quality_override_by])
    components: Mapped[list[ProductionOrderComponent]] = relationship(
        back_populates="production_order", cascade="all, delete-orphan",
        order_by="ProductionOrderComponent.id")
    work_orders: Mapped[list[WorkOrder]] = relationship(
        back_populates="production_order", cascade="all, delete-orphan",
        order_by="(WorkOrder.sequence, WorkOrder.id)")

    workflow = PRODUCTION_ORDER_FLOW

    @property
    def is_planned(self) -> bool:
        """Not started yet: the order (quantity, warehouses, dates) may still change."""
        return self.status == "planned"

    @property
    def is_open(self) -> bool:
        """Work still to do: its components' availability matters and steps may be added."""
        return self.status in OPEN_STATUSES

    @property
    def picker_label(self) -> str:
        return self.number

    def __str__(self) -> str:
        return self.number


class ProductionOrderComponent(CompanyScoped, db.Model):
    """A direct component of an order: required = BOM quantity x order quantity (a snapshot)."""

    __tablename__ = "production_order_components"
    __table_args__ = (
        Index("ix_production_order_components_company_component", "company_id", "component_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    production_order_id: Mapped[int] = mapped_column(
        ForeignKey("production_orders.id", ondelete="CASCADE"), index=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"),
                                              index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity, default=ZERO)

    production_order: Mapped[ProductionOrder] = relationship(back_populates="components")
    component: Mapped[Product] = relationship()


class WorkOrder(Document, CompanyScoped, db.Model):
    """A step of a production order, assigned to an employee."""

    __tablename__ = "work_orders"
    __table_args__ = (
        Index("ix_work_orders_company_status", "company_id", "status"),
        Index("ix_work_orders_company_employee_status", "company_id", "employee_id", "status"),
        in_check("status", WORK_ORDER_STATUSES),
        CheckConstraint("planned_hours >= 0", name="planned_hours_not_negative"),
        CheckConstraint("actual_hours >= 0", name="actual_hours_not_negative"),
    )

    production_order_id: Mapped[int] = mapped_column(
        ForeignKey("production_orders.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    employee_id: Mapped[int | None] = mapped_column(
        ForeignKey("employees.id", ondelete="SET NULL"), index=True, nullable=True)
    planned_hours: Mapped[Decimal] = mapped_column(Quantity, default=ZERO)
    actual_hours: Mapped[Decimal] = mapped_column(Quantity, default=ZERO)
    status: Mapped[str] = mapped_column(String(20), default="open")
    sequence: Mapped[int] = mapped_column(Integer, default=10)

    production_order: Mapped[ProductionOrder] = relationship(back_populates="work_orders")
    employee: Mapped[Employee | None] = relationship()

    workflow = WORK_ORDER_FLOW

    @property
    def number(self) -> str:
        """The step's name, in the workflow's messages."""
        return self.name

    def action_to(self, status: str) -> str | None:
        """The step that leads from the work order's state to `status` (None: none does)."""
        return next((action.name for action in self.workflow.actions.values()
                     if action.target == status and self.status in action.sources), None)
