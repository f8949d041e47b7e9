"""Purchase orders and their lines (drafts; use the service to place and receive)."""
from datetime import date
from decimal import Decimal

import factory

from erp.models.purchasing import PurchaseOrder, PurchaseOrderItem
from tests.factories.catalog import ProductFactory, SupplierFactory, WarehouseFactory
from tests.factories.base import id_of
from tests.factories.core import CompanyScopedFactory


class PurchaseOrderFactory(CompanyScopedFactory):
    class Meta:
        model = PurchaseOrder

    number = factory.Sequence(lambda n: f"PO-TEST-{n:06d}")
    supplier_id = factory.LazyAttribute(lambda o: id_of(SupplierFactory(company=o.company)))
    warehouse_id = factory.LazyAttribute(lambda o: id_of(WarehouseFactory(company=o.company)))
    order_date = factory.LazyFunction(date.today)
    status = "draft"
    subtotal = Decimal("0")
    tax_total = Decimal("0")
    total = Decimal("0")


class PurchaseOrderItemFactory(CompanyScopedFactory):
    """A line; pass `order=` (its totals are not recomputed: use the service for that)."""

    class Meta:
        model = PurchaseOrderItem

    class Params:
        order = factory.SubFactory(PurchaseOrderFactory,
                                   company=factory.SelfAttribute("..company"))

    order_id = factory.LazyAttribute(lambda o: id_of(o.order))
    product_id = factory.LazyAttribute(lambda o: id_of(ProductFactory(company=o.company)))
    quantity = Decimal("10")
    received_quantity = Decimal("0")
    unit_cost = Decimal("5.00")
    tax_rate = Decimal("0")
    line_subtotal = Decimal("50.00")
    line_tax = Decimal("0")
    line_total = Decimal("50.00")
