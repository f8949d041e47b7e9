"""Demo production data: employees, multi-level BOMs, production orders in every state.

Runs through the services (the stock ledger stays exact); does nothing if the company
has employees already, or if the catalog has no products to build from.
"""
from __future__ import annotations

import random
import sys
from datetime import date, timedelta

from sqlalchemy import select

from erp.extensions import db
from erp.models import Product, User, Warehouse
from erp.models.production import BomLine, Employee
from erp.seeds.turkish import slug, words
from erp.services import production, stock

EMPLOYEES = [("Alice Assembler", "Assembly", "Team lead"), ("Bob Builder", "Assembly", "Operator"),
             ("Carla Cutter", "Machining", "Machinist"), ("Dan Tester", "Quality", "Inspector")]
STEPS = ["Cut", "Assemble", "Test", "Pack"]


def seed(company, admin: User | None) -> str | None:
    if db.session.scalar(select(Employee.id).where(Employee.company_id == company.id).limit(1)):
        return None
    products = list(db.session.scalars(select(Product).where(
        Product.company_id == company.id, Product.active.is_(True),
        Product.kind != "service").order_by(Product.id)))
    finished = [p for p in products if p.kind == "finished_good"][:3]
    components = [p for p in products if p.kind == "component"][:4]
    materials = [p for p in products if p.kind == "raw_material"][:6]
    if not finished or len(components) + len(materials) < 2:
        return None
    rng = random.Random(6)
    warehouse = db.session.scalar(select(Warehouse).where(Warehouse.company_id == company.id)
                                  .order_by(Warehouse.id))
    if warehouse is None:
        warehouse = Warehouse(company_id=company.id, code="MAIN", name="Main warehouse")
        db.session.add(warehouse)
        db.session.commit()
    user = admin

    employees = []
    w = words(company, sys.modules[__name__])
    for i, (name, department, position) in enumerate(w.EMPLOYEES):
        employees.append(production.create_employee(
            company_id=company.id, user=user, name=name, department=department, position=position,
            email=slug(name.split()[0]) + "@example.com",
            user_id=admin.id if i == 0 and admin is not None else None))

    lines = 0
    existing = set(db.session.execute(select(BomLine.product_id, BomLine.component_id).where(
        BomLine.company_id == company.id)).all())
    # sub-assemblies: components made of raw materials (two levels, never a cycle)
    for component in components[:2]:
        for material in rng.sample(materials, min(2, len(materials))):
            if (component.id, material.id) not in existing:
                production.add_bom_line(company_id=company.id, user=user, product_id=component.id,
                                        component_id=material.id, quantity=rng.choice(["0.5", "2", "3"]))
                lines += 1
    parts = components + materials
    for product in finished:
        for part in rng.sample(parts, min(3, len(parts))):
            if (product.id, part.id) not in existing:
                production.add_bom_line(company_id=company.id, user=user, product_id=product.id,
                                        component_id=part.id, quantity=rng.choice(["1", "2", "4"]))
                lines += 1

    today = date.today()
    orders = []
    for i, status in enumerate(["done", "in_progress", "planned", "planned", "cancelled"]):
        product = finished[i % len(finished)]
        order = production.create_order(
            company_id=company.id, user=user, product_id=product.id, quantity=str(rng.randint(2,
            5)),
            component_warehouse_id=warehouse.id, output_warehouse_id=warehouse.id,
            planned_start=today + timedelta(days=i * 3 - 6),
            planned_end=today + timedelta(days=i * 3 - 2),
            notes="Demo order")
        orders.append((order, status))
        for seq, step in enumerate(w.STEPS[:rng.randint(2, 4)], start=1):
            work_order = production.create_work_order(
                company_id=company.id, order_id=order.id, user=user, name=step,
                employee_id=employees[seq % len(employees)].id,
                planned_hours=str(rng.choice([1, 2, 4])), sequence=seq * 10)
            if status == "done" or (status == "in_progress" and seq == 1):
                production.set_work_order_status(company_id=company.id,
                                                 work_order_id=work_order.id, user=user,
                                                 status="done")
        if status in ("done", "in_progress"):
            for component in order.components:  # give the components stock first
                stock.receive(company_id=company.id, product_id=component.component_id,
                              warehouse_id=warehouse.id, quantity=component.quantity,
                              user=user, note=f"Demo stock for {order.number}")
            production.start_order(company_id=company.id, order_id=order.id, user=user)
        if status == "done":
            production.complete_order(company_id=company.id, order_id=order.id, user=user)
        if status == "cancelled":
            production.cancel_order(company_id=company.id, order_id=order.id, user=user)
    return (f"{len(employees)} employees, {lines} BOM lines, {len(orders)} production orders "
            f"(planned, in progress, done, cancelled)")
