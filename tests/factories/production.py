"""Production and quality records. Production orders go through the service (numbers,
component snapshot); the simple records are plain factories."""
from datetime import date
from decimal import Decimal

import factory

from erp.models.production import BomLine, Employee, WorkOrder
from erp.models.quality import QualityInspection
from erp.services import production as production_service
from tests.factories.core import CompanyScopedFactory


class EmployeeFactory(CompanyScopedFactory):
    class Meta:
        model = Employee

    name = factory.Sequence(lambda n: f"Employee {n}")
    department = "Assembly"
    position = "Operator"
    active = True


class BomLineFactory(CompanyScopedFactory):
    """Pass product_id and component_id (no cycle check: use the service for that)."""

    class Meta:
        model = BomLine

    quantity = Decimal("1")


class WorkOrderFactory(CompanyScopedFactory):
    class Meta:
        model = WorkOrder

    name = factory.Sequence(lambda n: f"Step {n}")
    status = "open"
    sequence = 10
    planned_hours = Decimal("2")
    actual_hours = Decimal("0")


class InspectionFactory(CompanyScopedFactory):
    class Meta:
        model = QualityInspection

    inspected_on = factory.LazyFunction(date.today)
    result = "pass"
    inspector_name = "Inspector"


def make_order(company, user, product, quantity="1", *, warehouse, output=None,
               planned_start=None, **kwargs):
    """A planned production order through the service (the product needs BOM lines)."""
    return production_service.create_order(
        company_id=company.id, user=user, product_id=product.id, quantity=quantity,
        component_warehouse_id=warehouse.id, output_warehouse_id=(output or warehouse).id,
        planned_start=planned_start or date.today(), **kwargs)


def bulk_orders(company, product, warehouse, n, *, status="planned", components=(),
                start=None):
    """`n` orders inserted directly (fast, for list sizes); numbers are not from the sequence.
    `components` are (product, quantity) pairs snapshot on each order."""
    from erp.extensions import db
    from erp.models.production import ProductionOrder, ProductionOrderComponent

    orders = []
    for i in range(n):
        order = ProductionOrder(
            company_id=company.id, number=f"MO-BULK-{product.id}-{status}-{i:05d}",
            product_id=product.id, quantity=Decimal("1"), component_warehouse_id=warehouse.id,
            output_warehouse_id=warehouse.id, planned_start=start or date.today(), status=status)
        order.components = [ProductionOrderComponent(company_id=company.id,
                                                     component_id=c.id, quantity=Decimal(q))
                            for c, q in components]
        orders.append(order)
    db.session.add_all(orders)
    db.session.commit()
    return orders
