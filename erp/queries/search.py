"""Product search: a substring of the SKU, name or barcode, served by an index on both
databases (erp/models/search.py)."""
from __future__ import annotations

from sqlalchemy import ColumnElement, column, literal_column, or_, select, table

from erp.collation import fold, folded
from erp.extensions import db
from erp.models import Product
from erp.models.search import SEARCH_TABLE

TRIGRAM = 3  # shorter terms have no trigram: they are matched by reading the rows


def product_matches(q: str) -> ColumnElement[bool]:
    """A WHERE criterion: products whose SKU, name or barcode contains `q` (any case, the
    Turkish I's included: erp.collation)."""
    q = fold(q)
    like = f"%{q}%"
    scan = or_(folded(Product.sku).like(like), folded(Product.name).like(like),
               folded(Product.barcode).like(like))
    if db.session.get_bind().dialect.name != "sqlite" or len(q) < TRIGRAM:
        return scan  # PostgreSQL: the pg_trgm indexes on the folded columns serve this LIKE
    # SQLite: the FTS5 trigram table; a quoted phrase matches it as a substring. `id + 0`
    # keeps the planner from fetching every match by id and sorting them: it walks the
    # list's ordering index instead and checks each id against the matches (11 ms instead
    # of 23 for a word in 11,000 of 200,000 names; 5 ms for a rare one)
    phrase = '"' + q.replace('"', '""') + '"'
    fts = table(SEARCH_TABLE, column("rowid"))
    return (Product.id + 0).in_(
        select(fts.c.rowid).where(literal_column(SEARCH_TABLE).match(phrase)))
