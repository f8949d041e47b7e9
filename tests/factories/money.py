"""Money settings: tax codes and payment terms."""
from decimal import Decimal

import factory

from erp.models.money import PaymentTerms, TaxCode
from tests.factories.core import CompanyScopedFactory


class TaxCodeFactory(CompanyScopedFactory):
    class Meta:
        model = TaxCode

    name = factory.Sequence(lambda n: f"Tax {n:04d}")
    rate = Decimal("20")
    active = True
    is_default = False


class PaymentTermsFactory(CompanyScopedFactory):
    class Meta:
        model = PaymentTerms

    name = factory.Sequence(lambda n: f"Terms {n:04d}")
    kind = "net"
    days = 30
    active = True
    is_default = False
