"""Every document's transitions table, walked: the service, the route and the buttons agree.

For each action of each document (SalesOrder, DeliveryNote, PurchaseOrder, ProductionOrder,
WorkOrder)
and each state of its workflow:
- the service refuses a user below the action's role (PermissionDenied) and a state the
  action does not start from (InvalidTransition; the target state itself is a no-op when
  the action may be replayed), and runs from its source states;
- the action's route answers 403 to a user below its role, and changes the document only
  from a source state;
- the record page shows the action's button exactly when the user may take it.
Documents are built directly in each state with the factories (valid for the step: lines,
non-stocked products, no components, a failed inspection for the override). Work orders
are walked under an open production order and under a done and a cancelled one, where
the action's guard refuses every step.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

import pytest
from flask import url_for
from sqlalchemy import func, select

from erp.documents import Action
from erp.extensions import db
from erp.models.invoices import Invoice
from erp.models.core import ROLES
from erp.models.production import ProductionOrder, WorkOrder
from erp.models.purchasing import PurchaseOrder
from erp.models.sales import DeliveryNote, DeliveryNoteLine, SalesOrder, SalesOrderItem
from erp.services import InvalidTransition, PermissionDenied
from erp.services import production as production_service
from erp.services import purchasing as purchasing_service
from erp.services import deliveries as delivery_service
from erp.services import sales as sales_service
from tests.conftest import login
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.production import InspectionFactory, WorkOrderFactory, bulk_orders
from tests.factories.purchasing import PurchaseOrderFactory, PurchaseOrderItemFactory
from tests.factories.sales import SalesOrderFactory

# The state machines are Python (erp/documents.py); the services' SQL runs on both databases
# in tests/services.
pytestmark = pytest.mark.dialect_independent  # the same on every database: SQLite pass only

SHIPPED = {"partly_shipped": "1", "closed": "1", "shipped": "2", "invoiced": "2"}


def _sales_order(company, state: str) -> SalesOrder:
    warehouse = WarehouseFactory(company=company)
    order = SalesOrderFactory(company=company, status=state, warehouse_id=warehouse.id)
    product = ProductFactory(company=company, kind="service")  # no stock to reserve or issue
    db.session.add(SalesOrderItem(
        company_id=company.id, order_id=order.id, product_id=product.id, quantity=Decimal("2"),
        unit_price=Decimal("10"), subtotal=Decimal("20"), total=Decimal("20"),
        # what a (partly) shipped order sent: what its invoice step invoices
        shipped_quantity=Decimal(SHIPPED.get(state, "0")),
        invoiced_quantity=Decimal("2" if state == "invoiced" else "0")))
    db.session.commit()
    return order


def _delivery(company, state: str) -> DeliveryNote:
    order = _sales_order(company, "confirmed")
    delivery = DeliveryNote(
        company_id=company.id, number=f"DN-T-{order.id}", order_id=order.id,
        customer_id=order.customer_id, warehouse_id=order.warehouse_id,
        delivery_date=order.order_date, status=state,
        lines=[DeliveryNoteLine(company_id=company.id, order_item_id=order.items[0].id,
                                quantity=Decimal("1"))])
    db.session.add(delivery)
    db.session.commit()
    return delivery


def _purchase_order(company, state: str) -> PurchaseOrder:
    order = PurchaseOrderFactory(company=company, status=state)
    received = {"partially_received": "4", "received": "10", "closed": "4"}.get(state, "0")
    PurchaseOrderItemFactory(company=company, order=order, received_quantity=Decimal(received))
    return order


def _production_order(company, state: str) -> ProductionOrder:
    warehouse = WarehouseFactory(company=company)
    [order] = bulk_orders(company, ProductFactory(company=company), warehouse, 1, status=state)
    return order


def _work_order(company, state: str, *, order_state: str = "in_progress") -> WorkOrder:
    mo = _production_order(company, order_state)
    return WorkOrderFactory(company=company, production_order_id=mo.id, status=state)


def _receive_form(order: PurchaseOrder) -> dict:
    return {"warehouse_id": str(order.warehouse_id), "receipt_token": f"t-{order.id}",
            **{f"qty-{item.id}": "1" for item in order.items}}


def _failed_inspection(order: ProductionOrder) -> None:
    InspectionFactory(company_id=order.company_id, product_id=order.product_id,
                      production_order_id=order.id, result="fail")


@dataclass
class Kind:
    model: type
    service: Any
    detail: str                                   # the record page's endpoint
    build: Callable[[Any, str], Any]              # (company, state) -> a document
    form: dict[str, Callable[[Any], dict]]        # action -> the route's form data
    service_args: dict[str, Callable[[Any], dict]]  # action -> the service's extra args
    prepare: dict[str, Callable[[Any], None]]     # action -> what the step needs first
    closed: bool = False  # the guard refuses every step (a work order of a done order)


KINDS = {
    "sales": Kind(
        SalesOrder, sales_service, "sales.order_detail", _sales_order,
        form={"deliver": lambda order: {"delivery_date": "2026-12-01", "post": "1",
                                        **{f"qty-{item.id}": "1" for item in order.items}}},
        service_args={"deliver": lambda order: {
            "quantities": {item.id: "1" for item in order.items}}},
        prepare={}),
    "delivery": Kind(DeliveryNote, delivery_service, "sales.delivery_detail", _delivery,
                     {}, {}, {}),
    "purchasing": Kind(
        PurchaseOrder, purchasing_service, "purchasing.order_detail", _purchase_order,
        form={"receive": _receive_form},
        service_args={"receive": lambda order: {
            "quantities": {item.id: "1" for item in order.items},
            "warehouse_id": order.warehouse_id}},
        prepare={}),
    "production": Kind(
        ProductionOrder, production_service, "production.order_detail", _production_order,
        form={"override": lambda order: {"reason": "Accepted by the customer"}},
        service_args={"override": lambda order: {"reason": "Accepted by the customer"}},
        prepare={"override": _failed_inspection}),
    "work_order": Kind(WorkOrder, production_service, "production.workorder_detail",
                       _work_order, {}, {}, {}),
    # the steps of a production order that is done or cancelled never move
    **{f"work_order_of_{closed}": Kind(
        WorkOrder, production_service, "production.workorder_detail",
        lambda company, state, closed=closed: _work_order(company, state, order_state=closed),
        {}, {}, {}, closed=True) for closed in ("done", "cancelled")},
}
CASES = [(kind, name) for kind, spec in KINDS.items() for name in spec.model.workflow.actions]


def _lower(role: str) -> str:
    return ROLES[ROLES.index(role) - 1]


def _document(kind: Kind, company, state: str, action: Action):
    document = kind.build(company, state)
    if action.name in kind.prepare:
        kind.prepare[action.name](document)
    return document


def _state(kind: Kind, document_id: int) -> tuple:
    db.session.expire_all()
    document = db.session.get(kind.model, document_id)
    # a step without a target leaves a trace of its own: a receipt, a delivery, an override
    invoices = db.session.scalar(select(func.count()).select_from(Invoice).where(
        Invoice.order_id == document_id)) if kind.model is SalesOrder else 0
    return (document.status, len(getattr(document, "receipts", ())),
            len(getattr(document, "deliveries", ())),
            getattr(document, "quality_override_at", None), invoices)


def _moved(kind: Kind, action: Action, before: tuple, after: tuple) -> bool:
    """Whether the step ran: the target reached, or (no target) the document changed."""
    if action.target is not None:
        return after[0] == action.target and before[0] != action.target
    return after != before


@pytest.mark.parametrize(("kind_name", "action_name"), CASES,
                         ids=[f"{k}-{a}" for k, a in CASES])
def test_service_route_and_button_agree(app, company, make_user, kind_name, action_name):
    kind = KINDS[kind_name]
    workflow = kind.model.workflow
    action = workflow.actions[action_name]
    user, lower = make_user(action.role), make_user(_lower(action.role))
    client, lower_client = (login(app.test_client(), u.email) for u in (user, lower))
    call = getattr(kind.service, action.service)
    for state in workflow.states:
        allowed = state in action.sources and not kind.closed
        # the service
        document = _document(kind, company, state, action)
        ids = {"company_id": company.id, workflow.id_arg: document.id}
        extra = kind.service_args.get(action.name, lambda d: {})(document)
        with pytest.raises(PermissionDenied):
            call(user=lower, **ids, **extra)
        before = _state(kind, document.id)
        if allowed:
            call(user=user, **ids, **extra)
            assert _moved(kind, action, before, _state(kind, document.id)), state
        elif action.replay and state == action.target:
            call(user=user, **ids, **extra)  # a replay: nothing happens
            assert _state(kind, document.id) == before
        else:
            with pytest.raises(InvalidTransition):
                call(user=user, **ids, **extra)
            db.session.rollback()
            assert _state(kind, document.id) == before, state
        # the record page and the route
        document = _document(kind, company, state, action)
        with app.test_request_context():
            url = url_for(workflow.url_endpoint(action), **{workflow.id_arg: document.id})
            page = url_for(kind.detail, **{workflow.id_arg: document.id})
        marker = f'href="{url}"' if action.page else f'action="{url}"'
        if action.button:
            assert (marker in client.get(page).get_data(as_text=True)) is allowed, state
        assert marker not in lower_client.get(page).get_data(as_text=True), state
        form = kind.form.get(action.name, lambda d: {})(document)
        assert lower_client.post(url, data=form).status_code == 403
        before = _state(kind, document.id)
        response = client.post(url, data=form)
        assert response.status_code in (302, 303), (state, response.status_code)
        after = _state(kind, document.id)
        assert _moved(kind, action, before, after) is allowed, (state, before, after)
