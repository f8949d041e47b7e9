"""Sales records: customers and orders (orders with lines go through the service)."""
from datetime import date
from decimal import Decimal

import factory

from erp.models.sales import Customer, SalesOrder
from tests.factories.base import id_of
from tests.factories.core import CompanyScopedFactory


class CustomerFactory(CompanyScopedFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n:04d}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone = "+1 555 0100"
    billing_address = "1 Main Street\nSpringfield"
    shipping_address = ""
    tax_number = factory.Sequence(lambda n: f"TX{n:06d}")
    credit_limit = Decimal("0")  # no limit, like a new customer (the credit tests set one)
    active = True


class SalesOrderFactory(CompanyScopedFactory):
    """A bare draft order without lines (numbers are not from the sequence: fast lists)."""

    class Meta:
        model = SalesOrder

    number = factory.Sequence(lambda n: f"SO-TEST-{n:06d}")
    customer_id = factory.LazyAttribute(lambda o: id_of(CustomerFactory(company=o.company)))
    warehouse_id = None
    order_date = factory.LazyFunction(date.today)
    status = "draft"
    notes = ""
    subtotal = Decimal("0")
    discount_total = Decimal("0")
    tax_total = Decimal("0")
    total = Decimal("0")
