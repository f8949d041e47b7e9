"""All models, imported here so that Alembic and `db.create_all()` see every table.

One module per domain; import models from their module (`erp.models.catalog`) or here.
"""
from erp.models.audit import AuditEntry
from erp.models.catalog import PRODUCT_KINDS, Category, Product, Supplier
from erp.models.core import ROLES, Company, DocumentSequence, User, role_rank
from erp.models.inventory import (MOVEMENT_KINDS, StockLevel, StockMovement, StockValueDay,
                                  StockValueTotal, Warehouse)

# Domain modules added by later features register their tables by being imported here.
from erp.models import money, sales, purchasing, production, quality, tasks, forms  # noqa: E402,F401
from erp.models import returns  # noqa: E402,F401
from erp.models import invoices  # noqa: E402,F401
from erp.models import bills  # noqa: E402,F401
from erp.models import search  # noqa: E402,F401  (search indexes: DDL events)
from erp.models import api  # noqa: E402,F401
from erp.models import stock_documents  # noqa: E402,F401
from erp.models import jobs  # noqa: E402,F401

__all__ = ["AuditEntry", "Category", "Company", "DocumentSequence", "MOVEMENT_KINDS",
           "PRODUCT_KINDS", "Product", "ROLES", "StockLevel", "StockMovement", "StockValueDay", "StockValueTotal", "Supplier",
           "User", "Warehouse", "role_rank"]
