"""Catalog and warehouse services: validation, audit, archive, and the delete rules."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import AuditEntry, Category, Product, StockLevel, Supplier, Warehouse
from erp.services import NotFound, PermissionDenied, ValidationError
from erp.services import catalog, inventory, stock
from erp.services.catalog import InUse
from tests.factories.catalog import (CategoryFactory, ProductFactory, SupplierFactory,
                                     WarehouseFactory)
from tests.factories.inventory_helpers import put_stock, unnest_categories


@pytest.fixture
def user(make_user):
    return make_user("manager")


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_create_product_validates_every_field_at_once(company, user):
    ProductFactory(company=company, sku="TAKEN-1")
    with pytest.raises(ValidationError) as caught:
        catalog.create_product(company_id=company.id, user=user, sku="taken-1", name="x" * 4000,
                               kind="spaceship", unit="parsec", sale_price="-1",
                               cost_price="abc", min_stock="1.0001", category_id="999999",
                               barcode="b" * 65)
    errors = caught.value.field_errors
    assert set(errors) == {"sku", "name", "kind", "unit", "sale_price", "cost_price",
                           "min_stock", "category_id", "barcode"}
    assert "taken" in errors["sku"][0]
    assert count(Product) == 1


def test_create_and_update_a_product_write_audit_entries(company, user):
    category = CategoryFactory(company=company)
    product = catalog.create_product(company_id=company.id, user=user, sku="NEW-1", name="New",
                                     kind="component", unit="kg", sale_price=Decimal("2.50"),
                                     category_id=category.id)
    catalog.update_product(company_id=company.id, product_id=product.id, user=user, sku="NEW-1",
                           name="Renamed", kind="component", unit="kg", sale_price="3")
    db.session.rollback()
    product = db.session.get(Product, product.id)
    assert (product.name, product.sale_price, product.category_id) == ("Renamed", Decimal("3.00"), None)
    actions = db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.record_type == "product").order_by(AuditEntry.id)).all()
    assert actions == ["create", "update"]


def test_references_of_another_company_are_refused(company, other_company, user):
    foreign_category = CategoryFactory(company=other_company)
    foreign_supplier = SupplierFactory(company=other_company)
    with pytest.raises(ValidationError) as caught:
        catalog.create_product(company_id=company.id, user=user, sku="X", name="X",
                               category_id=foreign_category.id,
                               preferred_supplier_id=foreign_supplier.id)
    assert set(caught.value.field_errors) == {"category_id", "preferred_supplier_id"}
    theirs = ProductFactory(company=other_company)
    with pytest.raises(NotFound):
        catalog.update_product(company_id=company.id, product_id=theirs.id, user=user, sku="Y",
                               name="Y")


def test_an_unreferenced_product_is_deleted(company, user):
    product = ProductFactory(company=company)
    catalog.delete_product(company_id=company.id, product_id=product.id, user=user)
    assert count(Product) == 0


def test_a_product_with_movements_is_not_deleted_but_can_be_archived(company, user):
    product = ProductFactory(company=company)
    put_stock(product, WarehouseFactory(company=company), 5)
    with pytest.raises(InUse, match="Deactivate"):
        catalog.delete_product(company_id=company.id, product_id=product.id, user=user)
    assert count(Product) == 1
    catalog.set_product_active(company_id=company.id, product_id=product.id, active=False,
                               user=user)
    db.session.rollback()
    assert db.session.get(Product, product.id).active is False


def test_the_database_refusal_is_turned_into_in_use_and_rolled_back(company, user, monkeypatch):
    """Whatever table refers to the product (other modules add their own), the RESTRICT
    foreign key refuses the delete; nothing is half-deleted."""
    product = ProductFactory(company=company)
    warehouse = WarehouseFactory(company=company)
    put_stock(product, warehouse, 1)
    monkeypatch.setattr(catalog, "product_in_use", lambda *args: None)
    with pytest.raises(InUse):
        catalog.delete_product(company_id=company.id, product_id=product.id, user=user)
    assert count(Product) == 1 and count(StockLevel) == 1
    assert stock.ledger_mismatches(company.id) == []


@pytest.fixture
def nested(app):
    yield
    unnest_categories()


def test_category_rules(company, user, nested):
    parent = catalog.create_category(company_id=company.id, user=user, name="Parent")
    child = catalog.create_category(company_id=company.id, user=user, name="Child",
                                    parent_id=parent.id)
    with pytest.raises(ValidationError) as caught:
        catalog.create_category(company_id=company.id, user=user, name="parent")
    assert "name" in caught.value.field_errors
    with pytest.raises(ValidationError) as caught:  # no loops
        catalog.update_category(company_id=company.id, category_id=parent.id, user=user,
                                name="Parent", parent_id=child.id)
    assert "parent_id" in caught.value.field_errors
    with pytest.raises(InUse, match="subcategories"):
        catalog.delete_category(company_id=company.id, category_id=parent.id, user=user)
    ProductFactory(company=company, category_id=child.id)
    with pytest.raises(InUse, match="Products"):
        catalog.delete_category(company_id=company.id, category_id=child.id, user=user)
    empty = CategoryFactory(company=company)
    catalog.delete_category(company_id=company.id, category_id=empty.id, user=user)
    assert count(Category) == 2


def test_supplier_rules(company, user):
    with pytest.raises(ValidationError) as caught:
        catalog.create_supplier(company_id=company.id, user=user, name="", email="not-an-email",
                                phone="1" * 51)
    assert set(caught.value.field_errors) == {"name", "email", "phone"}
    supplier = catalog.create_supplier(company_id=company.id, user=user, name="Acme",
                                       email="a@b.example")
    ProductFactory(company=company, preferred_supplier_id=supplier.id)
    with pytest.raises(InUse):
        catalog.delete_supplier(company_id=company.id, supplier_id=supplier.id, user=user)
    unused = SupplierFactory(company=company)
    catalog.delete_supplier(company_id=company.id, supplier_id=unused.id, user=user)
    assert count(Supplier) == 1
    assert catalog.find_supplier(company.id, f"Acme [#{supplier.id}]").id == supplier.id
    assert catalog.find_supplier(company.id, "acme").id == supplier.id


def test_warehouse_rules(company, user):
    main = inventory.create_warehouse(company_id=company.id, user=user, code="main", name="Main")
    assert main.code == "MAIN"
    with pytest.raises(ValidationError) as caught:
        inventory.create_warehouse(company_id=company.id, user=user, code="Main", name="")
    assert set(caught.value.field_errors) == {"code", "name"}
    put_stock(ProductFactory(company=company), main, 1)
    with pytest.raises(InUse):
        inventory.delete_warehouse(company_id=company.id, warehouse_id=main.id, user=user)
    empty = WarehouseFactory(company=company)
    inventory.delete_warehouse(company_id=company.id, warehouse_id=empty.id, user=user)
    assert count(Warehouse) == 1
    with pytest.raises(InUse):  # it holds stock: move the stock first
        inventory.set_warehouse_active(company_id=company.id, warehouse_id=main.id,
                                       active=False, user=user)
    spare = WarehouseFactory(company=company)
    inventory.set_warehouse_active(company_id=company.id, warehouse_id=spare.id, active=False,
                                   user=user)
    db.session.rollback()
    assert db.session.get(Warehouse, main.id).active is True
    assert db.session.get(Warehouse, spare.id).active is False


def test_a_product_with_stock_cannot_become_a_service(company, user):
    product = ProductFactory(company=company)
    put_stock(product, WarehouseFactory(company=company), 2)
    with pytest.raises(ValidationError) as caught:
        catalog.update_product(company_id=company.id, product_id=product.id, user=user,
                               sku=product.sku, name=product.name, kind="service")
    assert "kind" in caught.value.field_errors


def test_seed_demo_builds_the_catalog_and_stock_through_the_ledger(runner, seeded_demo):
    result = seeded_demo
    assert result.exit_code == 0, result.output
    db.session.rollback()
    kinds = dict(db.session.execute(select(Product.kind, func.count()).group_by(Product.kind)).all())
    assert sum(kinds.values()) >= 180
    assert set(kinds) == {"raw_material", "component", "finished_good", "service"}
    assert count(Warehouse) == 3
    assert stock.ledger_mismatches() == []
    low = db.session.scalar(
        select(func.count()).select_from(Product).where(
            Product.kind != "service", Product.min_stock > 0,
            select(func.coalesce(func.sum(StockLevel.on_hand - StockLevel.reserved), 0))
            .where(StockLevel.product_id == Product.id).scalar_subquery() < Product.min_stock))
    assert low > 0
    again = runner.invoke(args=["seed-demo"])  # idempotent
    assert again.exit_code == 0 and "catalog:" not in again.output
    assert count(Warehouse) == 3


def _edit(product, user, **changes):
    values = dict(sku=product.sku, name=product.name, kind=product.kind, unit=product.unit,
                  sale_price=product.sale_price, cost_price=product.cost_price,
                  min_stock=product.min_stock) | changes
    return catalog.update_product(company_id=product.company_id, product_id=product.id,
                                  user=user, **values)


def test_staff_cannot_change_the_cost_of_a_product_with_stock(company, make_user):
    """Issue #16: staff overwrote the moving-average cost of a stocked product."""
    staff = make_user("staff")
    product = ProductFactory(company=company, sku="BOLT", unit="pcs", cost_price=Decimal("2.00"))
    _edit(product, staff, cost_price="2.50")  # no stock yet: the cost is just a field
    put_stock(product, WarehouseFactory(company=company), 40)
    with pytest.raises(ValidationError) as caught:
        _edit(product, staff, cost_price="9.99", name="Renamed")
    assert caught.value.field_errors["cost_price"] == [
        "BOLT has 40 pcs on hand: only a manager can change its cost, as a revaluation of "
        "that stock."]
    _edit(product, staff, name="Renamed")  # the other fields still change
    db.session.rollback()
    assert db.session.get(Product, product.id).cost_price == Decimal("2.50")


def test_a_managers_cost_change_on_stock_is_a_recorded_revaluation(company, make_user):
    manager = make_user("manager")
    product = ProductFactory(company=company, sku="BOLT", cost_price=Decimal("2.00"))
    put_stock(product, WarehouseFactory(company=company), 40)
    with pytest.raises(PermissionDenied):
        catalog.revalue_product(company_id=company.id, product_id=product.id,
                                user=make_user("staff"), cost_price="3", reason="price list")
    with pytest.raises(ValidationError) as caught:
        catalog.revalue_product(company_id=company.id, product_id=product.id, user=manager,
                                cost_price="-1", reason=" ")
    assert set(caught.value.field_errors) == {"cost_price", "reason"}
    with pytest.raises(NotFound):
        catalog.revalue_product(company_id=company.id + 999, product_id=product.id,
                                user=manager, cost_price="3", reason="price list")
    catalog.revalue_product(company_id=company.id, product_id=product.id, user=manager,
                            cost_price="2.25", reason="Supplier price list 2026")
    _edit(product, manager, cost_price="2.40")  # through the form: a revaluation as well
    db.session.rollback()
    assert db.session.get(Product, product.id).cost_price == Decimal("2.40")
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.record_id == product.id, AuditEntry.action == "revalue")
        .order_by(AuditEntry.id)).all()
    assert [e.changes for e in entries] == [
        {"cost_price": ["2.00", "2.25"], "on_hand": ["40.000", "40.000"],
         "stock_value": ["80.00", "90.00"]},
        {"cost_price": ["2.25", "2.40"], "on_hand": ["40.000", "40.000"],
         "stock_value": ["90.00", "96.00"]}]
    assert {e.user_id for e in entries} == {manager.id}
    assert "Supplier price list 2026" in entries[0].summary and "+10.00" in entries[0].summary


def test_the_unit_of_a_product_with_movements_never_changes(company, make_user):
    product = ProductFactory(company=company, sku="ROPE", unit="m")
    _edit(product, make_user("staff"), unit="pcs")  # no movement yet: a plain field
    _edit(product, make_user("staff"), unit="m")
    warehouse = WarehouseFactory(company=company)
    put_stock(product, warehouse, 5)
    stock.issue(company_id=company.id, product_id=product.id, warehouse_id=warehouse.id,
                quantity=5, user=None)  # none on hand, yet the ledger is in metres
    for role in ("staff", "manager", "admin"):
        with pytest.raises(ValidationError) as caught:
            _edit(product, make_user(role), unit="kg")
        assert caught.value.field_errors["unit"] == [
            "ROPE has stock movements in m: its unit cannot change. Create a new product for "
            "the new unit."]
    db.session.rollback()
    assert db.session.get(Product, product.id).unit == "m"
