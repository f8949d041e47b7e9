"""Reads of the catalog pages: the product, category and supplier lists as declarations,
and what a product's, category's and supplier's page shows besides the record."""
from __future__ import annotations

from decimal import Decimal

from flask_login import current_user
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import aliased, joinedload, raiseload

from erp.csv_io import dated_csv
from erp.extensions import db
from erp.lists import (Csv, Filter, ListSpec, archive_filter, attrs, choice_filter, contains,
                       id_filter)
from erp.models import (PRODUCT_KINDS, AuditEntry, Category, Product, StockLevel,
                        StockMovement, Supplier)
from erp.models.catalog import low_stock
from erp.models.inventory import Warehouse
from erp.queries import company_select, paginate
from erp.queries.search import product_matches

CHOICE_LIMIT = 500  # categories in a select; a company has tens, never thousands


def import_format_csv(kind: str) -> Csv:
    """A list's rows as CSV in the import's format (so the file imports back)."""
    from erp.services import imports as import_service

    return Csv(response=lambda stmt: dated_csv(
        kind, import_service.export_header(kind),
        import_service.export_rows(kind, current_user.company_id, stmt=stmt)))


# Statements of every list page of products and stock, built once per process with their
# values as parameters: SQLAlchemy keeps a statement's cache key on the statement, so each
# run skips building and keying a new select (~0.2 ms of CPU each, #17). The same SQL.
CATEGORY_CHOICES = (select(Category.id, Category.name)
                    .where(Category.company_id == bindparam("company_id"))
                    .order_by(Category.name, Category.id).limit(CHOICE_LIMIT))
STOCK_TOTALS = (select(StockLevel.product_id, func.sum(StockLevel.on_hand),
                       func.sum(StockLevel.reserved))
                .where(StockLevel.company_id == bindparam("company_id"),
                       StockLevel.product_id.in_(bindparam("product_ids", expanding=True)))
                .group_by(StockLevel.product_id))


def category_choices(*, exclude: int | None = None) -> list[tuple[str, str]]:
    """(id, name) of the company's categories for a select, by name."""
    rows = db.session.execute(CATEGORY_CHOICES, {"company_id": current_user.company_id})
    return [(str(cid), name) for cid, name in rows if cid != exclude]


def stock_totals(product_ids: list[int]) -> dict[int, tuple[Decimal, Decimal]]:
    """(on hand, reserved) over all warehouses for each product id: one grouped query."""
    if not product_ids:
        return {}
    rows = db.session.execute(STOCK_TOTALS, {"company_id": current_user.company_id,
                                             "product_ids": product_ids})
    return {pid: (Decimal(on_hand or 0), Decimal(reserved or 0))
            for pid, on_hand, reserved in rows}


PRODUCTS = ListSpec(
    model=Product,
    sorts={"sku": Product.sku, "name": Product.name, "kind": Product.kind,
           "price": Product.sale_price, "min_stock": Product.min_stock,
           "created": Product.created_at},
    default_sort="sku",
    collated=("sku", "name"),
    search=product_matches,
    filters=[id_filter("category", Product.category_id),
             choice_filter("kind", Product.kind, PRODUCT_KINDS),
             archive_filter(Product),
             Filter("low", lambda stmt, value: stmt.where(low_stock()) if value == "1" else stmt),
             id_filter("supplier", Product.preferred_supplier_id)],
    csv=import_format_csv("products"),
    options=[joinedload(Product.category), raiseload("*")],
    # a search shows "Rows 1-20" without a total: the page stops at its 21st match, while
    # counting the matches of a rare term would read every product (erp.queries.search)
    count_search=False,
)


def product_list_context(page, params) -> dict:
    return {"totals": stock_totals([p.id for p in page.items]),
            "categories": category_choices(), "kinds": list(PRODUCT_KINDS.items())}


def product_page(product: Product, params) -> dict:
    """A product's stock per warehouse, its totals and a page of its movements."""
    levels = list(db.session.scalars(
        select(StockLevel).join(StockLevel.warehouse)
        .where(StockLevel.company_id == current_user.company_id,
               StockLevel.product_id == product.id)
        .options(joinedload(StockLevel.warehouse), raiseload("*"))
        .order_by(Warehouse.code, StockLevel.id).limit(100)))
    movements = paginate(
        select(StockMovement)
        .where(StockMovement.company_id == current_user.company_id,
               StockMovement.product_id == product.id)
        .options(joinedload(StockMovement.warehouse), joinedload(StockMovement.user),
                 raiseload("*"))
        .order_by(StockMovement.created_at.desc(), StockMovement.id.desc()),
        page=params.page, per_page=params.per_page, count=False)
    zero = Decimal("0.000")
    totals = (sum((lv.on_hand for lv in levels), zero), sum((lv.reserved for lv in levels), zero))
    return {"levels": levels, "movements": movements, "params": params, "totals": totals,
            "revaluations": revaluations(product.id)}


def revaluations(product_id: int, limit: int = 5) -> list[AuditEntry]:
    """The product's latest cost revaluations (erp.services.catalog.revalue_product)."""
    return list(db.session.scalars(
        select(AuditEntry).where(AuditEntry.company_id == current_user.company_id,
                                 AuditEntry.record_type == "product",
                                 AuditEntry.record_id == product_id,
                                 AuditEntry.action == "revalue")
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit)))


def _category_csv(stmt):
    parent = aliased(Category)
    products = (select(func.count(Product.id)).where(Product.category_id == Category.id)
                .correlate(Category).scalar_subquery())
    return Csv("categories", [
        *attrs(Category, "id", "name"), ("parent", parent.name),
        ("description", Category.description), ("products", products),
        ("active", Category.active)],
        joins=[(parent, parent.id == Category.parent_id)]).export(stmt)


CATEGORIES = ListSpec(
    model=Category,
    sorts={"name": Category.name, "created": Category.created_at},
    default_sort="name",
    collated=("name",),
    search=contains(Category.name, Category.description),
    filters=[archive_filter(Category)],
    csv=Csv(response=_category_csv),
    options=[joinedload(Category.parent), raiseload("*")],
)


def category_list_context(page, params) -> dict:
    """How many products each category on the page has: one grouped query."""
    if not page.items:
        return {"counts": {}}
    return {"counts": dict(db.session.execute(
        select(Product.category_id, func.count())
        .where(Product.company_id == current_user.company_id,
               Product.category_id.in_([c.id for c in page.items]))
        .group_by(Product.category_id)).all())}


def category_page(category: Category) -> dict:
    children = list(db.session.scalars(
        company_select(Category).where(Category.parent_id == category.id)
        .options(raiseload("*")).order_by(Category.name, Category.id).limit(50)))
    return {"children": children, "products": products_where(Product.category_id == category.id)}


def products_where(criterion, limit: int = 20) -> list[Product]:
    """The first products (by SKU) that meet `criterion`, for a record's page."""
    return list(db.session.scalars(
        company_select(Product).where(criterion)
        .options(raiseload("*")).order_by(Product.sku, Product.id).limit(limit)))


SUPPLIERS = ListSpec(
    model=Supplier,
    sorts={"name": Supplier.name, "contact": Supplier.contact_person,
           "email": Supplier.email, "created": Supplier.created_at},
    default_sort="name",
    collated=("name", "contact"),
    search=contains(Supplier.name, Supplier.contact_person, Supplier.email,
                    Supplier.tax_number),
    filters=[archive_filter(Supplier)],
    csv=import_format_csv("suppliers"),
    options=[raiseload("*")],
)
