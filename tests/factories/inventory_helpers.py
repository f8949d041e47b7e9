"""Helpers for catalog and inventory tests: stock put in through the stock service."""
from decimal import Decimal

from erp.services import stock


def put_stock(product, warehouse, quantity, user=None) -> None:
    """Receive `quantity` of `product` into `warehouse` (a real ledger line)."""
    stock.receive(company_id=product.company_id, product_id=product.id,
                  warehouse_id=warehouse.id, quantity=Decimal(str(quantity)), user=user)


def unnest_categories() -> None:
    """Clear parent links so the next test's clean-up can delete all categories at once
    (SQLite checks a RESTRICT self-reference row by row)."""
    from sqlalchemy import update

    from erp.extensions import db
    from erp.models import Category

    db.session.rollback()
    db.session.execute(update(Category).values(parent_id=None))
    db.session.commit()


def stock_shop(company, user, **product):
    """A company's product (BOLT-8, unit pcs, `product` overrides), two warehouses (MAIN,
    SPARE) and a customer, with the service keywords `kw` of `user`."""
    from types import SimpleNamespace

    from tests.factories.catalog import ProductFactory, WarehouseFactory
    from tests.factories.sales import CustomerFactory

    return SimpleNamespace(
        company=company, user=user, kw={"company_id": company.id, "user": user},
        product=ProductFactory(company=company, **{"sku": "BOLT-8", "unit": "pcs", **product}),
        main=WarehouseFactory(company=company, code="MAIN"),
        spare=WarehouseFactory(company=company, code="SPARE"),
        customer=CustomerFactory(company=company))
