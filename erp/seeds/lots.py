"""Demo lots and serial numbers: a lot-tracked thermal paste received in two batches
with expiry dates and a serial-tracked oscilloscope received with its serial numbers, one
order shipped in two deliveries (from a batch, then by serial number), and a production
order whose serial-tracked kits consumed paste batches, all through the services, so a lot
page traces from the supplier to the customers and through production. Idempotent."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from erp.extensions import db
from erp.models import Company, Product, Supplier, User, Warehouse
from erp.models.money import TaxCode
from erp.models.sales import Customer, SalesOrderItem
from erp.services import DomainError, atomic, catalog, deliveries, production, purchasing, sales

PASTE, SCOPE, KIT = "LOT-PASTE-TH", "SER-SCOPE-X1", "SER-KIT-TH"


def seed(company: Company, admin: User | None) -> str | None:
    cid = company.id
    if db.session.scalar(select(Product.id).where(Product.company_id == cid,
                                                  Product.sku == PASTE)):
        return None
    warehouse = db.session.scalar(select(Warehouse).where(
        Warehouse.company_id == cid, Warehouse.active.is_(True)).order_by(Warehouse.code))
    supplier = db.session.scalar(select(Supplier).where(
        Supplier.company_id == cid, Supplier.active.is_(True)).order_by(Supplier.id))
    customers = list(db.session.scalars(select(Customer).where(
        Customer.company_id == cid, Customer.active.is_(True)).order_by(Customer.id).limit(2)))
    if warehouse is None or supplier is None or len(customers) < 2:
        return None
    kw = {"company_id": cid, "user": admin}
    # the demo's products all name a tax code (the money step set them before this one)
    tax_code_id = db.session.scalar(select(TaxCode.id).where(
        TaxCode.company_id == cid, TaxCode.is_default.is_(True)))
    with atomic():  # one transaction; the use cases nest inside it and only flush
        paste, scope, kit = (catalog.create_product(
            sku=sku, name=name, kind=kind, unit="pcs", tracking=tracking,
            cost_price=Decimal(cost), sale_price=Decimal(sale), preferred_supplier_id=supplier.id,
            tax_code_id=tax_code_id, **kw) for sku, name, kind, tracking, cost, sale in (
                (PASTE, "Thermal paste 5 g (batch tracked)", "raw_material", "lot", "2.40", "0"),
                (SCOPE, "Oscilloscope X1 (serial numbers)", "finished_good", "serial", "310.00",
                 "489.00"),
                (KIT, "Cooling kit (serial numbers)", "finished_good", "serial", "0", "39.00")))
        today = date.today()
        order = purchasing.create_order(supplier_id=supplier.id, warehouse_id=warehouse.id,
                                        order_date=today - timedelta(days=20), **kw)
        paste_line = purchasing.add_line(order_id=order.id, product_id=paste.id, quantity="40",
                                         **kw)
        scope_line = purchasing.add_line(order_id=order.id, product_id=scope.id, quantity="4",
                                         **kw)
        purchasing.place_order(order_id=order.id, **kw)
        receipt = purchasing.receive(
            order_id=order.id, warehouse_id=warehouse.id, reference="Supplier DN 4711",
            quantities={paste_line.id: "40", scope_line.id: "4"},
            lots={paste_line.id: "TP-2401: 25, TP-2402: 15",
                  scope_line.id: "X1-0001, X1-0002, X1-0003, X1-0004"},
            expiries={paste_line.id: (today + timedelta(days=300)).isoformat()}, **kw)
        made = [receipt.number]
        sold = sales.create_order(customer_id=customers[0].id, warehouse_id=warehouse.id, **kw)
        sales.add_line(order_id=sold.id, product_id=paste.id, quantity="12", **kw)
        sales.add_line(order_id=sold.id, product_id=scope.id, quantity="2", **kw)
        sales.confirm_order(order_id=sold.id, **kw)
        items = dict(db.session.execute(select(SalesOrderItem.product_id, SalesOrderItem.id)
                                        .where(SalesOrderItem.order_id == sold.id)).all())
        for quantities, lots in (({paste.id: "5", scope.id: "1"},
                                  {paste.id: "TP-2401", scope.id: "X1-0002"}),
                                 ({paste.id: "7", scope.id: "1"},
                                  {paste.id: "TP-2401", scope.id: "X1-0003"})):
            made.append(deliveries.create_delivery(
                order_id=sold.id, quantities={items[p]: q for p, q in quantities.items()},
                lots={items[p]: text for p, text in lots.items()}, post=True, **kw).number)
        production.add_bom_line(product_id=kit.id, component_id=paste.id, quantity="2", **kw)
        kits = production.create_order(product_id=kit.id, quantity="3",
                                       component_warehouse_id=warehouse.id,
                                       output_warehouse_id=warehouse.id,
                                       planned_start=today - timedelta(days=2), **kw)
    try:  # each its own transaction: a rule of a later module may stop the order
        production.start_order(order_id=kits.id, **kw)
        production.complete_order(order_id=kits.id, **kw)
        made.append(kits.number)
    except DomainError:
        pass
    return "tracked products with lots and serial numbers: " + ", ".join(made)
