"""Catalog and inventory records."""
from decimal import Decimal

import factory

from erp.models import Category, Product, Supplier, Warehouse
from tests.factories.core import CompanyScopedFactory


class CategoryFactory(CompanyScopedFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")


class SupplierFactory(CompanyScopedFactory):
    class Meta:
        model = Supplier

    name = factory.Sequence(lambda n: f"Supplier {n}")
    email = factory.Sequence(lambda n: f"supplier{n}@example.com")


class ProductFactory(CompanyScopedFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    kind = "finished_good"
    unit = "pcs"
    sale_price = Decimal("10.00")
    cost_price = Decimal("6.00")
    min_stock = Decimal("0")


class WarehouseFactory(CompanyScopedFactory):
    class Meta:
        model = Warehouse

    code = factory.Sequence(lambda n: f"WH{n}")
    name = factory.Sequence(lambda n: f"Warehouse {n}")
