"""Production rules: BOM cycles and costs, the order workflow through the stock service,
all or nothing, quality blocking, and the ledger invariant after every step."""
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import AuditEntry, Product, StockLevel, StockMovement
from erp.models.production import BomLine, ProductionOrder, WorkOrder
from erp.services import (InvalidTransition, NotFound, PermissionDenied, ValidationError,
                          catalog, production, quality, stock)
from erp.services.stock import InsufficientStock
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.production import EmployeeFactory, make_order

D = Decimal


@pytest.fixture
def shop(app, company, make_user):
    """A bike (finished) made of a frame (component, itself made of tube) and 2 wheels."""
    manager = make_user("manager")
    staff = make_user("staff")
    tube = ProductFactory(company=company, sku="TUBE", kind="raw_material", cost_price=D("3.00"))
    frame = ProductFactory(company=company, sku="FRAME", kind="component", cost_price=D("50"))
    wheel = ProductFactory(company=company, sku="WHEEL", kind="component", cost_price=D("20.00"))
    bike = ProductFactory(company=company, sku="BIKE", kind="finished_good", cost_price=D("1"))
    main = WarehouseFactory(company=company, code="MAIN")
    out = WarehouseFactory(company=company, code="OUT")
    production.add_bom_line(company_id=company.id, user=staff, product_id=frame.id,
                            component_id=tube.id,
                            quantity="2.5")
    production.add_bom_line(company_id=company.id, user=staff, product_id=bike.id,
                            component_id=frame.id,
                            quantity="1")
    production.add_bom_line(company_id=company.id, user=staff, product_id=bike.id,
                            component_id=wheel.id,
                            quantity="2")

    class Shop:
        pass

    shop = Shop()
    shop.__dict__.update(company=company, manager=manager, staff=staff, tube=tube, frame=frame,
                         wheel=wheel, bike=bike, main=main, out=out)
    return shop


def receive(shop, product, quantity, warehouse=None):
    stock.receive(company_id=shop.company.id, product_id=product.id,
                  warehouse_id=(warehouse or shop.main).id, quantity=quantity, user=shop.manager)


def level(product, warehouse) -> tuple[Decimal, Decimal]:
    db.session.rollback()
    row = db.session.scalar(select(StockLevel).where(StockLevel.product_id == product.id,
                                                     StockLevel.warehouse_id == warehouse.id))
    return (row.on_hand, row.reserved) if row else (D(0), D(0))


def assert_ledger(shop):
    db.session.rollback()
    assert stock.ledger_mismatches(shop.company.id) == []
    assert (db.session.scalar(select(func.min(StockLevel.on_hand))) or 0) >= 0


# ---------------------------------------------------------------- BOM

def test_a_product_cannot_be_its_own_component(shop):
    with pytest.raises(ValidationError) as error:
        production.add_bom_line(company_id=shop.company.id, user=shop.staff,
                                product_id=shop.bike.id,
                                component_id=shop.bike.id, quantity="1")
    assert "itself" in error.value.field_errors["component"][0]


def test_a_direct_cycle_is_refused_with_a_clear_message(shop):
    with pytest.raises(ValidationError) as error:
        production.add_bom_line(company_id=shop.company.id, user=shop.staff,
                                product_id=shop.frame.id,
                                component_id=shop.bike.id, quantity="1")
    assert "cycle" in error.value.field_errors["component"][0]
    assert "BIKE already needs FRAME" in error.value.field_errors["component"][0]


def test_an_indirect_cycle_is_refused(shop):
    # tube -> bike would close bike -> frame -> tube -> bike
    with pytest.raises(ValidationError) as error:
        production.add_bom_line(company_id=shop.company.id, user=shop.staff,
                                product_id=shop.tube.id,
                                component_id=shop.bike.id, quantity="1")
    assert "cycle" in " ".join(error.value.field_errors["component"])
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(BomLine)) == 3


def test_the_same_component_twice_adds_to_the_line_and_diamonds_are_fine(shop):
    line = production.add_bom_line(company_id=shop.company.id, user=shop.staff,
                                   product_id=shop.bike.id,
                                   component_id=shop.wheel.id, quantity="1")
    assert line.quantity == D("3")
    # bike needs tube directly too (a diamond, not a cycle)
    production.add_bom_line(company_id=shop.company.id, user=shop.staff, product_id=shop.bike.id,
                            component_id=shop.tube.id, quantity="1")


def test_cost_rolls_up_across_two_levels(shop):
    # frame = 2.5 x 3.00 = 7.50 (its own cost price of 50 is ignored: it has a BOM)
    # bike = 1 x 7.50 + 2 x 20.00 = 47.50
    costs = production.rolled_up_costs(shop.company.id)
    assert costs[shop.frame.id] == D("7.50")
    assert costs[shop.bike.id] == D("47.50")
    assert production.rolled_up_cost(shop.company.id, shop.tube.id) == D("3.00")


def test_bom_lines_refuse_services_bad_quantities_and_other_companies(shop, other_company):
    service = ProductFactory(company=shop.company, kind="service")
    foreign = ProductFactory(company=other_company)
    for component_id, quantity, field in [(service.id, "1", "component"),
                                          (foreign.id, "1", "component"),
                                          (shop.tube.id, "-1", "quantity"),
                                          (shop.tube.id, "abc", "quantity"),
                                          (shop.tube.id, "NaN", "quantity")]:
        with pytest.raises(ValidationError) as error:
            production.add_bom_line(company_id=shop.company.id, user=shop.staff,
                                    product_id=shop.bike.id,
                                    component_id=component_id, quantity=quantity)
        assert field in error.value.field_errors


def test_viewers_cannot_edit_boms(shop, make_user):
    with pytest.raises(PermissionDenied):
        production.add_bom_line(company_id=shop.company.id, user=make_user("viewer"),
                                product_id=shop.bike.id, component_id=shop.tube.id, quantity="1")


def test_update_and_remove_a_line(shop):
    line = db.session.scalar(select(BomLine).where(BomLine.component_id == shop.wheel.id))
    production.update_bom_line(company_id=shop.company.id, line_id=line.id, user=shop.staff,
                               quantity="4")
    assert production.rolled_up_cost(shop.company.id, shop.bike.id) == D("87.50")
    production.remove_bom_line(company_id=shop.company.id, line_id=line.id, user=shop.staff)
    assert production.rolled_up_cost(shop.company.id, shop.bike.id) == D("7.50")
    with pytest.raises(NotFound):
        production.remove_bom_line(company_id=shop.company.id, line_id=line.id, user=shop.staff)


# ---------------------------------------------------------------- orders

def test_an_order_snapshots_one_level_of_the_bom_times_its_quantity(shop):
    order = make_order(shop.company, shop.staff, shop.bike, "3", warehouse=shop.main,
                       output=shop.out)
    assert order.number.startswith("MO-") and order.status == "planned"
    required = {c.component_id: c.quantity for c in order.components}
    assert required == {shop.frame.id: D("3"), shop.wheel.id: D("6")}  # no tube: one level
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.record_type == "production_order")) == 1


def test_an_order_needs_a_bom_and_valid_input(shop):
    with pytest.raises(ValidationError) as error:
        make_order(shop.company, shop.staff, shop.tube, "1", warehouse=shop.main)
    assert "no bill of materials" in error.value.field_errors["product"][0]
    with pytest.raises(ValidationError) as error:
        production.create_order(company_id=shop.company.id, user=shop.staff,
                                product_id=shop.bike.id,
                                quantity="-2", component_warehouse_id=999999,
                                output_warehouse_id=None, planned_start=None)
    assert set(error.value.field_errors) >= {"quantity", "component_warehouse_id",
                                              "output_warehouse_id", "planned_start"}
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ProductionOrder)) == 0


def test_check_availability_lists_every_component_with_its_shortage(shop):
    receive(shop, shop.frame, 1)
    order = make_order(shop.company, shop.staff, shop.bike, "2", warehouse=shop.main)
    rows = {a.component.sku: a for a in production.check_availability(shop.company.id, order.id)}
    assert (rows["FRAME"].required, rows["FRAME"].available, rows["FRAME"].shortage) == \
        (D(2), D(1), D(1))
    assert (rows["WHEEL"].required, rows["WHEEL"].available, rows["WHEEL"].shortage) == \
        (D(4), D(0), D(4))


def test_start_refuses_listing_all_shortages_and_reserves_nothing(shop):
    receive(shop, shop.frame, 5)
    order = make_order(shop.company, shop.staff, shop.bike, "2", warehouse=shop.main)
    receive(shop, shop.wheel, 1)
    with pytest.raises(InsufficientStock) as error:
        production.start_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    assert "WHEEL needs 4, 1 available" in str(error.value)
    assert level(shop.frame, shop.main) == (D(5), D(0))
    db.session.rollback()
    assert db.session.get(ProductionOrder, order.id).status == "planned"


def test_the_full_workflow_reserves_consumes_and_produces(shop):
    receive(shop, shop.frame, 5)
    receive(shop, shop.wheel, 10)
    order = make_order(shop.company, shop.staff, shop.bike, "2", warehouse=shop.main,
                       output=shop.out)
    assert_ledger(shop)
    production.start_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    assert level(shop.frame, shop.main) == (D(5), D(2))
    assert level(shop.wheel, shop.main) == (D(10), D(4))
    assert_ledger(shop)
    # a replay of start does nothing twice
    production.start_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    assert level(shop.wheel, shop.main) == (D(10), D(4))
    production.complete_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    assert level(shop.frame, shop.main) == (D(3), D(0))
    assert level(shop.wheel, shop.main) == (D(6), D(0))
    assert level(shop.bike, shop.out) == (D(2), D(0))
    assert_ledger(shop)
    production.complete_order(company_id=shop.company.id, order_id=order.id,
                              user=shop.manager)  # replay
    assert level(shop.bike, shop.out) == (D(2), D(0))
    movements = db.session.execute(select(StockMovement.kind, StockMovement.quantity,
                                          StockMovement.source_type, StockMovement.reference)
                                   .where(StockMovement.kind.like("production%"))
                                   .order_by(StockMovement.id)).all()
    assert [(k, q) for k, q, _, _ in movements] == [
        ("production_consume", D(-2)), ("production_consume", D(-4)),
        ("production_output", D(2))]
    assert {s for _, _, s, _ in movements} == {"production_order_component", "production_order"}
    assert {r for _, _, _, r in movements} == {order.number}
    with pytest.raises(InvalidTransition):
        production.cancel_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)


def test_completion_values_the_output_at_the_consumed_components_cost(shop):
    """Issue #16: the produced product kept its old cost (1.00) whatever its components
    cost. The output is valued at the consumed components' cost prices (their stock
    value, not a roll-up of their own BOMs), by moving average."""
    receive(shop, shop.frame, 5)
    receive(shop, shop.wheel, 10)
    first = make_order(shop.company, shop.staff, shop.bike, "2", warehouse=shop.main)
    production.start_order(company_id=shop.company.id, order_id=first.id, user=shop.manager)
    production.complete_order(company_id=shop.company.id, order_id=first.id, user=shop.manager)
    db.session.rollback()
    assert db.session.get(Product, shop.bike.id).cost_price == D("90.00")  # 1 x 50 + 2 x 20
    # dearer wheels (a manager's revaluation of the wheels in stock): 1 more bike at 100,
    # averaged with the 2 on hand at 90
    catalog.revalue_product(company_id=shop.company.id, product_id=shop.wheel.id,
                            user=shop.manager, cost_price="25.00", reason="Dearer wheels")
    second = make_order(shop.company, shop.staff, shop.bike, "1", warehouse=shop.main)
    production.start_order(company_id=shop.company.id, order_id=second.id, user=shop.manager)
    production.complete_order(company_id=shop.company.id, order_id=second.id, user=shop.manager)
    db.session.rollback()
    assert db.session.get(Product, shop.bike.id).cost_price == D("93.33")
    trail = db.session.scalars(select(AuditEntry).where(
        AuditEntry.record_type == "product", AuditEntry.record_id == shop.bike.id)
        .order_by(AuditEntry.id)).all()
    assert [e.changes["cost_price"] for e in trail] == [["1.00", "90.00"], ["90.00", "93.33"]]
    assert second.number in trail[-1].summary
    assert_ledger(shop)


def test_completion_refuses_while_work_orders_are_open_and_names_them(shop):
    receive(shop, shop.frame, 5)
    receive(shop, shop.wheel, 10)
    order = make_order(shop.company, shop.staff, shop.bike, "1", warehouse=shop.main)
    ids = {"company_id": shop.company.id, "user": shop.staff}
    cut, weld, paint = (production.create_work_order(order_id=order.id, name=name, sequence=n,
                                                     **ids)
                        for n, name in ((10, "Cut"), (20, "Weld"), (30, "Paint")))
    production.start_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    production.start_work_order(work_order_id=weld.id, **ids)
    production.finish_work_order(work_order_id=paint.id, **ids)
    with pytest.raises(InvalidTransition, match=r"work orders not done: Cut \(open\), "
                                                r"Weld \(in progress\)\."):
        production.complete_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    assert level(shop.frame, shop.main) == (D(5), D(1))  # nothing consumed
    assert level(shop.bike, shop.main) == (D(0), D(0))
    for work_order in (cut, weld):
        production.finish_work_order(work_order_id=work_order.id, **ids)
    production.complete_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    assert level(shop.bike, shop.main) == (D(1), D(0))
    # the steps of a done order stay done
    for move in (production.start_work_order, production.reopen_work_order):
        with pytest.raises(InvalidTransition, match="can no longer change"):
            move(work_order_id=cut.id, **ids)
    with pytest.raises(InvalidTransition, match="no new work orders"):
        production.create_work_order(order_id=order.id, name="Late", **ids)


def test_a_work_order_of_a_cancelled_order_cannot_be_started(shop):
    order = make_order(shop.company, shop.staff, shop.bike, "1", warehouse=shop.main)
    ids = {"company_id": shop.company.id, "user": shop.staff}
    step = production.create_work_order(order_id=order.id, name="Cut", **ids)
    production.cancel_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    for status in ("in_progress", "done"):
        with pytest.raises(InvalidTransition, match="is cancelled: its work orders"):
            production.set_work_order_status(work_order_id=step.id, status=status, **ids)
    db.session.rollback()
    assert db.session.get(WorkOrder, step.id).status == "open"


def test_complete_is_only_from_in_progress_and_only_for_managers(shop):
    order = make_order(shop.company, shop.staff, shop.bike, "1", warehouse=shop.main)
    with pytest.raises(InvalidTransition, match="only an order in progress"):
        production.complete_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    with pytest.raises(PermissionDenied):
        production.start_order(company_id=shop.company.id, order_id=order.id, user=shop.staff)
    with pytest.raises(NotFound):
        production.start_order(company_id=shop.company.id + 999, order_id=order.id,
                               user=shop.manager)


def test_a_failure_half_way_through_done_leaves_stock_untouched(shop, monkeypatch):
    receive(shop, shop.frame, 5)
    receive(shop, shop.wheel, 10)
    order = make_order(shop.company, shop.staff, shop.bike, "2", warehouse=shop.main,
                       output=shop.out)
    production.start_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    movements_before = db.session.scalar(select(func.count()).select_from(StockMovement))
    real_move = stock.move

    def failing_move(**kwargs):
        if kwargs["kind"] == "production_output":
            raise RuntimeError("disk full")
        return real_move(**kwargs)

    monkeypatch.setattr(stock, "move", failing_move)
    with pytest.raises(RuntimeError):
        production.complete_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    monkeypatch.undo()
    assert level(shop.frame, shop.main) == (D(5), D(2))
    assert level(shop.wheel, shop.main) == (D(10), D(4))
    assert level(shop.bike, shop.out) == (D(0), D(0))
    assert db.session.scalar(select(func.count()).select_from(StockMovement)) == movements_before
    assert db.session.get(ProductionOrder, order.id).status == "in_progress"
    assert_ledger(shop)
    production.complete_order(company_id=shop.company.id, order_id=order.id,
                              user=shop.manager)  # works after
    assert level(shop.bike, shop.out) == (D(2), D(0))


def test_cancel_releases_the_reservations(shop):
    receive(shop, shop.frame, 5)
    receive(shop, shop.wheel, 10)
    order = make_order(shop.company, shop.staff, shop.bike, "2", warehouse=shop.main)
    production.start_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    production.cancel_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    assert level(shop.frame, shop.main) == (D(5), D(0))
    assert level(shop.wheel, shop.main) == (D(10), D(0))
    assert_ledger(shop)
    with pytest.raises(InvalidTransition):
        production.start_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    planned = make_order(shop.company, shop.staff, shop.bike, "1", warehouse=shop.main)
    production.cancel_order(company_id=shop.company.id, order_id=planned.id, user=shop.manager)


def test_a_failed_inspection_blocks_done_until_a_manager_overrides(shop):
    receive(shop, shop.frame, 5)
    receive(shop, shop.wheel, 10)
    order = make_order(shop.company, shop.staff, shop.bike, "1", warehouse=shop.main)
    production.start_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    quality.create_inspection(company_id=shop.company.id, user=shop.staff, result="fail",
                              inspected_on=order.planned_start, production_order_id=order.id,
                              notes="Scratched paint")
    with pytest.raises(InvalidTransition, match="failed quality inspection"):
        production.complete_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    with pytest.raises(ValidationError):
        production.override_quality(company_id=shop.company.id, order_id=order.id,
                                    user=shop.manager, reason=" ")
    with pytest.raises(PermissionDenied):
        production.override_quality(company_id=shop.company.id, order_id=order.id,
                                    user=shop.staff, reason="ok")
    production.override_quality(company_id=shop.company.id, order_id=order.id, user=shop.manager,
                                reason="Cosmetic only, customer agreed")
    db.session.rollback()
    order = db.session.get(ProductionOrder, order.id)
    assert order.quality_override_by == shop.manager.id
    assert order.quality_override_reason == "Cosmetic only, customer agreed"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "quality_override"))
    assert entry.record_id == order.id and "Cosmetic" in entry.summary
    production.complete_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    assert level(shop.bike, shop.main) == (D(1), D(0))
    assert_ledger(shop)


def test_a_new_failure_after_an_override_blocks_again(shop):
    receive(shop, shop.frame, 5)
    receive(shop, shop.wheel, 10)
    order = make_order(shop.company, shop.staff, shop.bike, "1", warehouse=shop.main)
    production.start_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    quality.create_inspection(company_id=shop.company.id, user=shop.staff, result="fail",
                              inspected_on=order.planned_start, production_order_id=order.id)
    production.override_quality(company_id=shop.company.id, order_id=order.id, user=shop.manager,
                                reason="ok")
    with pytest.raises(InvalidTransition, match="no failed inspection"):
        production.override_quality(company_id=shop.company.id, order_id=order.id,
                                    user=shop.manager, reason="again")
    quality.create_inspection(company_id=shop.company.id, user=shop.staff, result="fail",
                              inspected_on=order.planned_start, production_order_id=order.id)
    with pytest.raises(InvalidTransition):
        production.complete_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)


def test_only_a_superseding_inspection_clears_a_failure_not_an_unrelated_pass(shop):
    """The gate counts the latest inspection of each chain: a re-inspection that
    supersedes the failure clears it; a pass recorded beside it does not."""
    receive(shop, shop.frame, 5)
    receive(shop, shop.wheel, 10)
    order = make_order(shop.company, shop.staff, shop.bike, "1", warehouse=shop.main)
    production.start_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    failed = quality.create_inspection(company_id=shop.company.id, user=shop.staff,
                                       result="fail", inspected_on=order.planned_start,
                                       production_order_id=order.id)
    quality.create_inspection(company_id=shop.company.id, user=shop.staff, result="pass",
                              inspected_on=order.planned_start, production_order_id=order.id)
    with pytest.raises(InvalidTransition, match="failed quality inspection"):
        production.complete_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    again = quality.supersede_inspection(company_id=shop.company.id, inspection_id=failed.id,
                                         user=shop.staff, result="fail",
                                         inspected_on=order.planned_start)
    with pytest.raises(InvalidTransition, match="failed quality inspection"):
        production.complete_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    quality.supersede_inspection(company_id=shop.company.id, inspection_id=again.id,
                                 user=shop.staff, result="pass",
                                 inspected_on=order.planned_start, notes="Repainted")
    production.complete_order(company_id=shop.company.id, order_id=order.id, user=shop.manager)
    assert level(shop.bike, shop.main) == (D(1), D(0))


def test_planned_orders_can_be_changed_and_are_snapshot_again(shop):
    order = make_order(shop.company, shop.staff, shop.bike, "1", warehouse=shop.main)
    production.update_order(company_id=shop.company.id, order_id=order.id, user=shop.staff,
                            product_id=shop.bike.id,
                            quantity="5", component_warehouse_id=shop.main.id,
                            output_warehouse_id=shop.out.id, planned_start=order.planned_start)
    db.session.rollback()
    order = db.session.get(ProductionOrder, order.id)
    assert {c.quantity for c in order.components} == {D(5), D(10)}
    assert order.output_warehouse_id == shop.out.id


def test_shortages_are_aggregated_by_component_and_warehouse(shop):
    receive(shop, shop.wheel, 3)
    make_order(shop.company, shop.staff, shop.bike, "1", warehouse=shop.main)
    make_order(shop.company, shop.staff, shop.bike, "2", warehouse=shop.main)
    rows = {r["product"].sku: r for r in production.component_shortages(shop.company.id)}
    assert rows["FRAME"]["shortage"] == D(3) and rows["FRAME"]["orders"] == 2
    assert rows["WHEEL"]["shortage"] == D(3)  # 6 needed, 3 available


def test_work_orders_and_employees(shop, make_user):
    order = make_order(shop.company, shop.staff, shop.bike, "1", warehouse=shop.main)
    user = make_user("staff")
    employee = production.create_employee(company_id=shop.company.id, user=shop.staff, name="Eve",
                                          user_id=user.id)
    with pytest.raises(ValidationError) as error:
        production.create_employee(company_id=shop.company.id, user=shop.staff, name="Dup",
                                   user_id=user.id)
    assert "already linked" in error.value.field_errors["user_id"][0]
    work_order = production.create_work_order(company_id=shop.company.id, order_id=order.id,
                                              user=shop.staff,
                                              name="Weld", employee_id=employee.id,
                                              planned_hours="1.5")
    production.set_work_order_status(company_id=shop.company.id, work_order_id=work_order.id,
                                     user=shop.staff,
                                     status="done")
    with pytest.raises(ValidationError):
        production.set_work_order_status(company_id=shop.company.id, work_order_id=work_order.id,
                                         user=shop.staff,
                                         status="bogus")
    with pytest.raises(ValidationError) as error:
        production.create_work_order(company_id=shop.company.id, order_id=order.id,
                                     user=shop.staff, name="",
                                     planned_hours="-1", actual_hours="NaN",
                                     employee_id=EmployeeFactory(company=shop.company).id + 99)
    assert set(error.value.field_errors) == {"name", "planned_hours", "actual_hours", "employee"}
    assert production.employee_of_user(shop.company.id, user.id).id == employee.id


# ---------------------------------------------------------------- concurrency

def _run(app, fn, errors, results):
    with app.app_context():
        try:
            fn()
            results.append("ok")
        except (InsufficientStock, InvalidTransition) as exc:
            results.append(type(exc).__name__)
        except Exception as exc:  # pragma: no cover - reported by the test
            errors.append(repr(exc))
        finally:
            db.session.remove()


def _race(app, fns):
    errors, results = [], []
    barrier = threading.Barrier(len(fns))

    def wrapped(fn):
        def go():
            barrier.wait()
            fn()
        return go

    threads = [threading.Thread(target=_run, args=(app, wrapped(fn), errors, results))
               for fn in fns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


@pytest.mark.postgresql_only
def test_two_orders_racing_for_too_few_components_never_go_negative(shop, app):
    from erp.models import User

    receive(shop, shop.frame, 3)
    receive(shop, shop.wheel, 6)  # enough for 3 bikes; two orders want 2 each
    company_id, manager_id = shop.company.id, shop.manager.id
    first, second = (make_order(shop.company, shop.staff, shop.bike, "2",
                                warehouse=shop.main).id for _ in range(2))

    def action(fn, order_id):
        def run():
            fn(company_id=company_id, order_id=order_id, user=db.session.get(User, manager_id))
        return run

    results = _race(app, [action(production.start_order, first),
                          action(production.start_order, second)])
    assert sorted(results) == ["InsufficientStock", "ok"]
    assert_ledger(shop)
    assert level(shop.frame, shop.main) == (D(3), D(2))
    winner = next(o for o in (first, second)
                  if db.session.get(ProductionOrder, o).status == "in_progress")
    loser = second if winner == first else first
    # done twice (a replay) while the loser tries to start again: never negative
    results = _race(app, [action(production.complete_order, winner),
                          action(production.start_order, loser),
                          action(production.complete_order, winner)])
    assert sorted(results) == ["InsufficientStock", "ok", "ok"]
    assert_ledger(shop)
    assert level(shop.frame, shop.main) == (D(1), D(0))
    assert level(shop.wheel, shop.main) == (D(2), D(0))
    assert level(shop.bike, shop.main) == (D(2), D(0))
    assert db.session.scalar(select(func.count()).select_from(StockMovement).where(
        StockMovement.kind == "production_output")) == 1
