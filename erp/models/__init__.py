"""All models, imported here so that Alembic and `db.create_all()` see every table."""
from erp.models.audit import AuditEntry
from erp.models.core import ROLES, Company, DocumentSequence, User

__all__ = ["AuditEntry", "Company", "DocumentSequence", "ROLES", "User"]
