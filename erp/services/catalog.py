"""Catalog use cases: categories, products, suppliers."""
from __future__ import annotations

import re

from sqlalchemy import func, or_, select

from erp.extensions import db
from erp.models import Product

PICKED_ID = re.compile(r"\[#(\d+)\]\s*$")


def picked_id(text: str | None) -> int | None:
    """The id in a picker value such as 'Acme Ltd [#42]' (see the `picker` macro)."""
    match = PICKED_ID.search(text or "")
    return int(match.group(1)) if match else None


def find_product(company_id: int, text: str | None) -> Product | None:
    """The product a picker value names: its SKU (case-insensitive), or 'anything [#id]'."""
    text = (text or "").strip()
    if not text:
        return None
    product_id = picked_id(text)
    stmt = select(Product).where(Product.company_id == company_id)
    if product_id is not None:
        return db.session.scalar(stmt.where(Product.id == product_id))
    sku = text.split(" · ")[0].strip()
    return db.session.scalar(stmt.where(func.lower(Product.sku) == sku.lower()))


def search_products(company_id: int, q: str, *, limit: int = 20, stocked_only: bool = False,
                    active_only: bool = True) -> list[Product]:
    """Products whose SKU, name or barcode contains `q`, for pickers (bounded, indexed order)."""
    stmt = select(Product).where(Product.company_id == company_id)
    if active_only:
        stmt = stmt.where(Product.active.is_(True))
    if stocked_only:
        stmt = stmt.where(Product.kind != "service")
    q = (q or "").strip()[:100]
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(Product.sku).like(like), func.lower(Product.name).like(like),
                              Product.barcode == q))
    return list(db.session.scalars(stmt.order_by(Product.sku, Product.id).limit(limit)))
